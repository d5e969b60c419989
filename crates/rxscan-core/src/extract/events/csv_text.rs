//! A CSV file's text after its header, a window of whole lines at a time: memory-mapped for a
//! plain file; for a compressed one (`.gz`, `.zst`), decompressed by a thread of its own into
//! reused buffers, one window ahead of the scan, never to disk (leaf: knows nothing of rows).
//!
//! Decompression is sequential; run on the thread that scans, it would stop the parallel
//! scan of each window while the next is inflated. On its own thread it overlaps the scan of
//! the window before, and at most three windows (decoding, queued, being scanned) are in
//! memory.

use std::io::{Read, Seek, SeekFrom};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};

use crate::extract::files::{open_text, Compression};

/// Decompressed text per window: smaller than a memory-mapped window (this one is resident).
const STREAM_WINDOW: usize = 64 << 20;

pub(super) enum Text {
    Mapped {
        file: std::fs::File,
        pos: usize,
        len: usize,
        size: usize,
    },
    Stream {
        /// The decoder thread's windows, in order; closed at the end of the text.
        windows: Receiver<std::io::Result<Vec<u8>>>,
        /// Buffers handed back to the decoder ([`Text::recycle`]): a window is decompressed
        /// into memory already faulted in, not a fresh allocation each time.
        spares: Sender<Vec<u8>>,
    },
}

/// One window's bytes (whole lines from 0 to the cut).
pub(super) enum Window {
    Map(memmap2::Mmap),
    Buf(Vec<u8>),
}

impl std::ops::Deref for Window {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Window::Map(m) => m,
            Window::Buf(b) => b,
        }
    }
}

/// The decoder thread's state: the stream and the bytes read past the last window's cut.
struct Decoder {
    reader: Box<dyn Read + Send>,
    carry: Vec<u8>,
    eof: bool,
}

impl Decoder {
    /// The next window of about `size` bytes of whole lines, in `buf`; `None` at the end.
    fn next(&mut self, mut buf: Vec<u8>, size: usize) -> std::io::Result<Option<Vec<u8>>> {
        buf.clear();
        buf.reserve(size + (1 << 16));
        buf.append(&mut self.carry);
        loop {
            if self.eof {
                return Ok((!buf.is_empty()).then_some(buf));
            }
            let want = size.saturating_sub(buf.len()).max(1 << 16) as u64;
            let got = (&mut self.reader).take(want).read_to_end(&mut buf)?;
            self.eof = (got as u64) < want;
            if !self.eof {
                if let Some(i) = memchr::memrchr(b'\n', &buf) {
                    self.carry.extend_from_slice(&buf[i + 1..]);
                    buf.truncate(i + 1);
                    return Ok(Some(buf));
                }
            }
        }
    }
}

impl Text {
    /// The text of `path` after its header line, to be read `size` bytes at a time (a
    /// compressed file: at most [`STREAM_WINDOW`]).
    pub(super) fn open(path: &std::path::Path, size: usize) -> std::io::Result<Text> {
        if Compression::of(path) != Compression::None {
            let mut reader = open_text(path)?;
            // Skip the header line, through its newline.
            let mut byte = [0u8; 1];
            let mut header = 0usize;
            while reader.read(&mut byte)? == 1 && byte[0] != b'\n' {
                header += 1;
                if header > 1 << 20 {
                    return Err(std::io::Error::other(
                        "the header line is longer than 1 MiB",
                    ));
                }
            }
            let size = size.min(STREAM_WINDOW);
            let (window_tx, windows) = sync_channel(1);
            let (spares, spare_rx) = channel::<Vec<u8>>();
            let mut decoder = Decoder {
                reader,
                carry: Vec::new(),
                eof: false,
            };
            // Ends at the end of the text, on an error (sent), or when the scan stops
            // listening (an error in the rows: the receiver is dropped).
            std::thread::Builder::new()
                .name("rxscan-decompress".into())
                .spawn(move || loop {
                    let buf = spare_rx.try_recv().unwrap_or_default();
                    let Some(next) = decoder.next(buf, size).transpose() else {
                        break; // the end: dropping the sender closes the channel
                    };
                    let failed = next.is_err();
                    if window_tx.send(next).is_err() || failed {
                        break;
                    }
                })?;
            return Ok(Text::Stream { windows, spares });
        }
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len() as usize;
        // The data starts after the header line.
        let pos = {
            let mut head = Vec::new();
            (&mut file).take(1 << 20).read_to_end(&mut head)?;
            match memchr::memchr(b'\n', &head) {
                Some(i) => i + 1,
                None if head.len() < 1 << 20 => len, // a header and no rows
                None => {
                    return Err(std::io::Error::other(
                        "the header line is longer than 1 MiB",
                    ))
                }
            }
        };
        Ok(Text::Mapped {
            file,
            pos,
            len,
            size,
        })
    }

    /// The next window, grown until it holds a line end (or reaches the end), and where its
    /// last whole line ends; `None` at the end.
    pub(super) fn window(&mut self) -> std::io::Result<Option<(Window, usize)>> {
        match self {
            Text::Mapped {
                file,
                pos,
                len,
                size,
            } => {
                if *pos >= *len {
                    return Ok(None);
                }
                let mut size = *size;
                loop {
                    // SAFETY: the map is read-only and dropped before the next; rxscan does not
                    // write the file, and a file changed by another process while it is scanned
                    // is outside what any reader can promise.
                    let map = unsafe {
                        memmap2::MmapOptions::new()
                            .offset(*pos as u64)
                            .len(size.min(*len - *pos))
                            .map(&*file)
                    }?;
                    let cut = if *pos + map.len() == *len {
                        Some(map.len())
                    } else {
                        memchr::memrchr(b'\n', &map).map(|i| i + 1)
                    };
                    if let Some(cut) = cut {
                        *pos += cut;
                        return Ok(Some((Window::Map(map), cut)));
                    }
                    size = size.saturating_mul(2);
                }
            }
            Text::Stream { windows, .. } => match windows.recv() {
                Ok(w) => {
                    let w = w?;
                    let n = w.len();
                    Ok(Some((Window::Buf(w), n)))
                }
                Err(_) => Ok(None), // the decoder finished
            },
        }
    }

    /// Take back a window's buffer for a later window.
    pub(super) fn recycle(&mut self, window: Window) {
        if let (Text::Stream { spares, .. }, Window::Buf(buf)) = (self, window) {
            let _ = spares.send(buf);
        }
    }

    /// All the text from `tail` (the end of the current window) to the end of the file (a
    /// quoted field may hold a line end: the rest is parsed whole).
    pub(super) fn rest(&mut self, tail: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Text::Mapped { file, pos, len, .. } => {
                let start = *pos - tail.len();
                let mut rest = Vec::with_capacity(*len - start);
                file.seek(SeekFrom::Start(start as u64))?;
                file.read_to_end(&mut rest)?;
                Ok(rest)
            }
            Text::Stream { windows, .. } => {
                let mut rest = tail.to_vec();
                for w in windows.iter() {
                    rest.extend_from_slice(&w?);
                }
                Ok(rest)
            }
        }
    }
}
