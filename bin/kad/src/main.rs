//! kad: the binary. Parses flags and hands over to the config checker or, later, the daemon.
#![deny(missing_docs)]

mod check;
mod cli;

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
    let status = if cli.config_test {
        check::config_test(&path, &config_id)
    } else if cli.dump_conf {
        check::dump(&path, &config_id)
    } else {
        eprintln!(
            "kad: the daemon is not built yet; use -t to check a configuration or -d to print it"
        );
        2
    };
    std::process::exit(status);
}
