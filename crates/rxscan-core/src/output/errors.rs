//! `errors.txt`: the practice folders of a batch scan that failed under `--keep-going`, one
//! line each with its error. Under suppression only the folder names: an error quotes the
//! offending value and its line, which has no place in a folder meant for sharing (the full
//! messages are on the terminal).

use std::io::{self, Write};

use super::RenderInput;
use crate::results::Suppression;

pub fn write(input: &RenderInput, w: &mut dyn Write) -> io::Result<()> {
    for failed in input.failed_folders {
        match input.suppression {
            Suppression::None => writeln!(w, "{failed}")?,
            Suppression::Redact7Round5 => writeln!(
                w,
                "practice folder {}: failed (the error is on the terminal of the run)",
                failed.folder.name
            )?,
        }
    }
    Ok(())
}
