//! kad's exit statuses, one place: keepalived's where it has one, sysexits(3) otherwise.

/// Why kad (or one of its children) exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Exit {
    /// Clean stop, or `-t` found no error.
    Ok = 0,
    /// The daemon could not start or stopped on an error.
    Failure = 1,
    /// A bad command line.
    Usage = 2,
    /// `-t` found errors in the configuration (keepalived uses 5 too).
    ConfigError = 5,
    /// A child's channel to the parent broke (the parent respawns it).
    ChildIpc = kad_ipc::EXIT_IPC,
    /// A child that can never run (EX_CONFIG): the parent stops instead of respawning.
    ChildFatal = 78,
}

impl Exit {
    /// The process exit status.
    pub const fn code(self) -> i32 {
        self as i32
    }
}
