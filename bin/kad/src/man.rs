//! Man pages (section 8) rendered from a binary's clap definitions, so the command line has
//! one source: `kad --print-man DIR` writes DIR/kad.8, `kadctl --print-man DIR` writes
//! DIR/kadctl.8 and a DIR/kadctl-VERB.8 per verb (the pages kadctl.8 refers to), for
//! `make deb`. The flag is read before clap parses: it is not part of either command line, so
//! the pages do not show it and kadctl's required verb does not stand in its way.

use std::path::Path;

/// The first argument that writes the man pages instead of running.
pub const FLAG: &str = "--print-man";

/// Writes the pages of `cmd` and of its verbs into the directory named by the argument after
/// [`FLAG`]; returns the exit status.
pub fn print(cmd: clap::Command) -> i32 {
    let Some(dir) = std::env::args_os().nth(2) else {
        eprintln!("usage: {FLAG} DIR");
        return 2;
    };
    let version = cmd.get_version().unwrap_or_default().to_string();
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    match write_pages(cmd, Path::new(&dir), &version) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!(
                "cannot write the man pages into {}: {e}",
                dir.to_string_lossy()
            );
            1
        }
    }
}

fn write_pages(cmd: clap::Command, dir: &Path, version: &str) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, version)?;
    }
    // .TH's date field carries the version: an empty field would be dropped and shift the
    // others, and a build date would make the package unreproducible.
    clap_mangen::Man::new(cmd)
        .section("8")
        .date(version)
        .source("kad")
        .manual("System Administration")
        .generate_to(dir)
        .map(drop)
}
