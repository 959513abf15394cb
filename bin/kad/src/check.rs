//! `kad -t` (check the configuration), `kad --dump-json` (print the normalized configuration)
//! and `kad -d` (log the configuration once at start).

use std::path::Path;

use kad_core::config::{self, Config, ParseOptions, Parsed};

/// Parses `path`, printing every diagnostic to stderr (the parser's, then the script-security
/// warnings); also returns how many script-security warnings were printed.
pub fn load(path: &Path, config_id: &str) -> (Parsed, usize) {
    let options = ParseOptions {
        config_id: config_id.to_string(),
        interface_exists: Some(interface_exists),
    };
    let mut parsed = config::parse_file(path, &options);
    for line in parsed.rendered() {
        eprintln!("{line}");
    }
    let mut script_warnings = 0;
    if let Some(cfg) = parsed.config.as_mut() {
        for line in crate::daemon::apply_script_user(cfg, path, false) {
            eprintln!("{line}");
            script_warnings += 1;
        }
        for e in crate::daemon::fifo_owner::drop_unknown_owners(cfg) {
            eprintln!("{}: warning: {e}", path.display());
            script_warnings += 1;
        }
    }
    (parsed, script_warnings)
}

/// True if the network interface exists in this network namespace.
pub fn interface_exists(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && name != "."
        && name != ".."
        && Path::new("/sys/class/net").join(name).exists()
}

/// `kad -t`: diagnostics to stderr, a one-line summary to stdout; exit status 0 or 5.
pub fn config_test(path: &Path, config_id: &str) -> i32 {
    let (parsed, script_warnings) = load(path, config_id);
    let warnings = parsed.diagnostics.len() - error_count(&parsed) + script_warnings;
    match &parsed.config {
        Some(cfg) => {
            println!(
                "{}: configuration OK: {}; {} warning(s)",
                path.display(),
                summary(cfg),
                warnings
            );
            crate::exit::Exit::Ok.code()
        }
        None => {
            println!(
                "{}: configuration has {} error(s) and {} warning(s)",
                path.display(),
                error_count(&parsed),
                warnings
            );
            crate::exit::Exit::ConfigError.code()
        }
    }
}

/// `kad --dump-json`: the normalized configuration as JSON on stdout.
pub fn dump(path: &Path, config_id: &str) -> i32 {
    let (parsed, _) = load(path, config_id);
    match parsed.config {
        Some(cfg) => match serde_json::to_string_pretty(&cfg) {
            Ok(json) => {
                println!("{json}");
                crate::exit::Exit::Ok.code()
            }
            Err(e) => {
                eprintln!("kad: cannot serialize the configuration: {e}");
                1
            }
        },
        None => crate::exit::Exit::ConfigError.code(),
    }
}

/// `-t=FILE`: the diagnostics go to FILE (appended) instead of stderr; if FILE cannot be
/// opened they stay on stderr, after a warning.
pub fn report_to(file: &Path) {
    use std::os::fd::AsRawFd;
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        // SAFETY: dup2 onto stderr's descriptor; `f` stays open until after the call.
        Ok(f) => unsafe {
            libc::dup2(f.as_raw_fd(), libc::STDERR_FILENO);
        },
        Err(e) => eprintln!(
            "kad: cannot open {}: {e}; reporting on stderr",
            file.display()
        ),
    }
}

/// `kad -d`: logs the parsed configuration once, in keepalived's dump layout (the text
/// SIGUSR1 writes to /tmp/keepalived.data), and the virtual servers in one line.
pub fn log_config(cfg: &Config) {
    let text = kad_vrrp::dump::data(cfg, &Default::default(), None);
    for line in text.lines() {
        log::info!("{line}");
    }
    log::info!("------< LVS Topology >------");
    log::info!(" {}", summary(cfg));
}

fn error_count(parsed: &Parsed) -> usize {
    parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == config::Severity::Error)
        .count()
}

/// One line saying what the configuration holds.
pub fn summary(cfg: &Config) -> String {
    let vips: usize = cfg
        .vrrp_instances
        .iter()
        .map(|i| i.virtual_ipaddress.len())
        .sum();
    let reals: usize = cfg
        .virtual_servers
        .iter()
        .map(|v| v.real_servers.len())
        .sum();
    let checkers: usize = cfg
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .map(|r| r.checkers.len())
        .sum();
    format!(
        "{} vrrp_instance(s) with {} VIP(s), {} sync group(s), {} vrrp_script(s), {} virtual_server(s) with {} real_server(s) and {} checker(s)",
        cfg.vrrp_instances.len(),
        vips,
        cfg.sync_groups.len(),
        cfg.vrrp_scripts.len(),
        cfg.virtual_servers.len(),
        reals,
        checkers
    )
}

/// `--list-ipvs`: the kernel's IPVS table in `ipvsadm -Ln`'s layout.
pub fn list_ipvs() -> i32 {
    let listed = kad_ipvs::Ipvs::open().and_then(|mut ipvs| {
        let (version, size) = ipvs.info()?;
        Ok(kad_ipvs::listing::render(version, size, &ipvs.list()?))
    });
    match listed {
        Ok(text) => {
            print!("{text}");
            crate::exit::Exit::Ok.code()
        }
        Err(e) => {
            eprintln!("kad: {e}");
            crate::exit::Exit::Failure.code()
        }
    }
}
