//! kad: the binary. Parses flags and hands over to the config checker, the parent watchdog or,
//! when the parent re-executes it, a child.
#![deny(missing_docs)]

mod check;
mod cli;
mod daemon;
mod exit;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if cli.version {
        println!("kad {}", env!("CARGO_PKG_VERSION"));
        return;
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
        None if cli.config_test => check::config_test(&path, &config_id),
        None if cli.dump_conf => check::dump(&path, &config_id),
        None => daemon::run_parent(&cli, config_id),
    };
    std::process::exit(status);
}
