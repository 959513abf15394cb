//! kad: the binary. Parses flags (keepalived's, see [`compat`]) and hands over to the config
//! checker, the parent watchdog or, when the parent re-executes it, a child.
#![deny(missing_docs)]

mod check;
mod cli;
mod compat;
mod daemon;
mod exit;
mod man;

use std::path::PathBuf;

use clap::Parser;

fn main() {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    // keepalived's -T turns it into genhash, reading the rest of the line as genhash's.
    if let Some(first) = std::env::args().nth(1) {
        if first == "-T" || first.starts_with("--genhash") {
            eprintln!("kad: genhash (-T/--genhash) is not part of kad; use keepalived's genhash");
            std::process::exit(exit::Exit::Failure.code());
        }
    }
    // Packaging (make deb): kad(8), rendered from the clap definitions (cli.rs).
    if std::env::args_os().nth(1).is_some_and(|a| a == man::FLAG) {
        use clap::CommandFactory;
        std::process::exit(man::print(cli::Cli::command()));
    }
    let mut cli = cli::Cli::parse();
    cli.as_keepalived = compat::is_keepalived_name(&argv0);
    if let Some(name) = &cli.signum {
        std::process::exit(match compat::signum(name) {
            Some(n) => {
                println!("{n}");
                exit::Exit::Ok.code()
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                exit::Exit::Failure.code()
            }
        });
    }
    if cli.version {
        if cli.as_keepalived {
            eprint!("{}", compat::keepalived_banner());
        } else {
            println!("kad {}", env!("CARGO_PKG_VERSION"));
        }
        return;
    }
    if let Some(value) = &cli.log_facility_arg {
        match compat::parse_facility(value, cli.child.is_some()) {
            Ok(f) => cli.log_facility = f,
            Err(e) => eprintln!("kad: warning: {e}"),
        }
    }
    if cli.child.is_none() {
        apply_process_options(&mut cli);
    }
    let path = cli.config_path();
    let config_id = cli
        .config_id
        .clone()
        .unwrap_or_else(kad_core::config::default_config_id);
    let status = match cli.child.as_deref() {
        Some("vrrp") => daemon::run_child(&cli, daemon::ChildKind::Vrrp),
        Some("checker") => daemon::run_child(&cli, daemon::ChildKind::Checker),
        Some(other) => {
            eprintln!("kad: unknown child kind '{other}'");
            exit::Exit::Usage.code()
        }
        None if cli.list_ipvs => check::list_ipvs(),
        None if cli.config_test.is_some() => {
            let report = cli.config_test.as_deref().unwrap_or_default();
            if !report.is_empty() {
                check::report_to(&PathBuf::from(report));
            }
            check::config_test(&path, &config_id)
        }
        None if cli.dump_json => check::dump(&path, &config_id),
        None => daemon::run_parent(&cli, config_id),
    };
    std::process::exit(status);
}

/// The parent's share of the command line: warnings for ignored options, `-G`, `-u`, and
/// keepalived's pidfiles when started as `keepalived`.
fn apply_process_options(cli: &mut cli::Cli) {
    for w in compat::ignored_options(cli) {
        eprintln!("kad: warning: {w}");
    }
    if cli.no_syslog {
        // Inherited by the children, which read it when they set up logging.
        std::env::set_var(kad_core::logging::NO_SYSLOG_ENV, "1");
    }
    if let Some(value) = &cli.umask {
        match compat::parse_umask(value) {
            // SAFETY: umask only sets this process's file creation mask.
            Some(mask) => unsafe {
                libc::umask(mask as libc::mode_t);
            },
            None => {
                eprintln!("kad: warning: invalid umask '{value}' (octal, at most 0777); ignored")
            }
        }
    }
    if cli.as_keepalived {
        let [parent, vrrp, checker] = compat::KEEPALIVED_PIDFILES.map(PathBuf::from);
        cli.pid_file.get_or_insert(parent);
        cli.vrrp_pid_file.get_or_insert(vrrp);
        cli.checkers_pid_file.get_or_insert(checker);
    }
}
