//! What a caller calls the options a message points the user to.
//!
//! A few messages say what to do next: skip the rows of unknown patients, declare a column
//! absent, correct a parameter override, name a mapped file relative to the extract folder. The
//! library does not know what its caller calls those options (a command line has flags, an
//! embedding program its own settings), so the caller says, once
//! ([`Scan::option_names`](crate::Scan::option_names), [`CompileOptions::names`]); by default
//! they are the library's own names. The command line gives its flags, so its messages name
//! them (`--skip-orphans`) while the library's text names none.
//!
//! [`CompileOptions::names`]: crate::compile::CompileOptions::names

/// The names a caller gives the options messages point to (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionNames {
    /// Skipping event and registration rows whose patient is not in `patients`
    /// ([`LoadOptions::skip_orphans`](crate::extract::LoadOptions::skip_orphans)).
    pub skip_orphans: &'static str,
    /// Declaring a field absent, written before its `TABLE.FIELD`
    /// ([`LoadOptions::absent`](crate::extract::LoadOptions::absent)).
    pub absent: &'static str,
    /// A parameter override, written before its `NAME` or `NAME=VALUE`
    /// ([`CompileOptions::params`](crate::compile::CompileOptions::params)).
    pub param: &'static str,
    /// The extract folder, which a mapping's file names are relative to.
    pub data: &'static str,
}

impl OptionNames {
    /// The library's own names: the fields of `LoadOptions` and `CompileOptions`.
    pub const LIBRARY: OptionNames = OptionNames {
        skip_orphans: "skip_orphans",
        absent: "absent",
        param: "param",
        data: "the extract folder",
    };
}

impl Default for OptionNames {
    fn default() -> Self {
        OptionNames::LIBRARY
    }
}
