//! kadctl: talks to a running kad over its control socket (one JSON line each way, see
//! docs/OPERATIONS.md): status, runtime weight overrides, maintenance, reload.
#![deny(missing_docs)]

#[path = "../man.rs"]
mod man;
mod table;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kad_ipc::control::{Reply, Request};

/// Largest reply kadctl reads (a status of some 100,000 real servers).
const MAX_REPLY: u64 = 64 << 20;

/// kadctl: control a running kad.
#[derive(Debug, Parser)]
#[command(name = "kadctl", version)]
struct Cli {
    /// kad's control socket.
    #[arg(long, value_name = "PATH", default_value = "/run/kad/kad.sock")]
    socket: PathBuf,
    /// Seconds to wait for kad's reply.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    timeout: f64,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// VRRP instances and real servers (a table, or JSON with --json).
    Status {
        /// The documented JSON contract instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Reload the configuration; a refused file's diagnostics are printed (exit status 1).
    Reload,
    /// Take a VRRP instance out of service (priority 0, BACKUP) or put it back.
    Maintenance {
        /// The vrrp_instance name.
        instance: String,
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Give a real server weight 0 (no new connections) until undrained.
    Drain {
        /// Virtual server: IP:PORT, IP:PORT/udp or fwmark:N.
        vs: String,
        /// Real server: IP:PORT.
        rs: String,
    },
    /// Clear a drain or a weight override.
    Undrain {
        /// Virtual server.
        vs: String,
        /// Real server.
        rs: String,
    },
    /// Set a real server's weight until undrained (or kad restarts).
    Weight {
        /// Virtual server.
        vs: String,
        /// Real server.
        rs: String,
        /// The weight (0-65535).
        weight: u32,
    },
}

fn main() {
    // Packaging (make deb): kadctl(8) and kadctl-VERB(8), rendered from the clap definitions above.
    if std::env::args_os().nth(1).is_some_and(|a| a == man::FLAG) {
        use clap::CommandFactory;
        std::process::exit(man::print(Cli::command()));
    }
    let cli = Cli::parse();
    let (request, json) = match cli.verb {
        Verb::Status { json } => (Request::Status, json),
        Verb::Reload => (Request::Reload, false),
        Verb::Maintenance { instance, state } => (
            Request::Maintenance {
                instance,
                on: state == "on",
            },
            false,
        ),
        Verb::Drain { vs, rs } => (Request::Drain { vs, rs }, false),
        Verb::Undrain { vs, rs } => (Request::Undrain { vs, rs }, false),
        Verb::Weight { vs, rs, weight } => (Request::Weight { vs, rs, weight }, false),
    };
    // NaN (`--timeout nan`) would make from_secs_f64 panic: it counts as the longest wait.
    let secs = if cli.timeout.is_nan() {
        3600.0
    } else {
        cli.timeout.clamp(0.1, 3600.0)
    };
    let timeout = Duration::from_secs_f64(secs);
    let reply = match ask(&cli.socket, &request, timeout) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kadctl: {}: {e}", cli.socket.display());
            std::process::exit(1);
        }
    };
    let code = match reply {
        Reply::Status(status) if json => {
            match serde_json::to_string_pretty(&status) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("kadctl: {e}"),
            }
            0
        }
        Reply::Status(status) => {
            print!("{}", table::render(&status));
            0
        }
        Reply::Ok => 0,
        Reply::Refused(lines) => {
            eprintln!("kadctl: reload refused; kad runs on with its previous configuration:");
            for l in lines {
                eprintln!("{l}");
            }
            1
        }
        Reply::Error(e) => {
            eprintln!("kadctl: {e}");
            1
        }
    };
    std::process::exit(code);
}

/// Sends `request` and reads the reply line.
fn ask(path: &PathBuf, request: &Request, timeout: Duration) -> Result<Reply, String> {
    let mut s = UnixStream::connect(path).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    s.write_all(&line).map_err(|e| format!("sending: {e}"))?;
    let mut text = Vec::new();
    s.take(MAX_REPLY)
        .read_to_end(&mut text)
        .map_err(|e| format!("reading the reply: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("bad reply: {e}"))
}
