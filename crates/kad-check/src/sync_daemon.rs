//! `lvs_sync_daemon`: which connection-sync daemons the kernel should run (pure).
//!
//! As keepalived 2.2.7 (measured in the ip_vs VM with `ipvsadm -L --daemon`): with a VRRP
//! instance named, only the master daemon runs while that instance is MASTER and only the
//! backup daemon otherwise (from start, before the instance reports); without one, both run
//! as long as the daemon does. Neither runs after a graceful stop. The sync id defaults to the
//! instance's VRID, or 0 without an instance.
//!
//! Until the checker knows the instance's state (the VRRP child reports it from start, the
//! parent replays it to a respawned checker) nothing changes: a respawned checker must not
//! swap a running master daemon for a backup one in between.

use std::collections::BTreeMap;

use kad_core::config::Config;
use kad_core::state::VrrpState;
use kad_ipvs::wire::daemon::{Role, SyncDaemon};

/// The daemons `config` asks for, given the last known state of each VRRP instance; `None`
/// while the named instance's state is not known yet (leave the kernel as it is).
pub fn wanted(config: &Config, states: &BTreeMap<String, VrrpState>) -> Option<Vec<SyncDaemon>> {
    let Some(c) = config.global.lvs_sync_daemon.as_ref() else {
        return Some(Vec::new());
    };
    let vrid = c.instance.as_ref().and_then(|name| {
        config
            .vrrp_instances
            .iter()
            .find(|i| &i.name == name)
            .map(|i| i.vrid)
    });
    let daemon = |role| SyncDaemon {
        role,
        interface: c.interface.clone(),
        sync_id: u32::from(c.id.or(vrid).unwrap_or(0)),
        maxlen: c.maxlen,
        port: c.port,
        ttl: c.ttl,
        group: c.group,
    };
    Some(match &c.instance {
        None => vec![daemon(Role::Master), daemon(Role::Backup)],
        Some(name) => match states.get(name) {
            Some(VrrpState::Master) => vec![daemon(Role::Master)],
            // An instance the config does not have never reports: backup, as at start.
            None if vrid.is_some() => return None,
            _ => vec![daemon(Role::Backup)],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kad_core::config::{parse_file, ParseOptions};

    fn config(text: &str) -> Config {
        let dir = std::env::temp_dir().join(format!("kad-sync-daemon-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(format!("{}.conf", text.len()));
        std::fs::write(&path, text).expect("write");
        let parsed = parse_file(&path, &ParseOptions::default());
        let _ = std::fs::remove_file(&path);
        parsed.config.expect("valid config")
    }

    const INSTANCE: &str = "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n";

    fn lines(d: Option<Vec<SyncDaemon>>) -> Vec<String> {
        d.expect("decided")
            .iter()
            .map(|d| format!("{} {} {}", d.role.name(), d.interface, d.sync_id))
            .collect()
    }

    #[test]
    fn the_named_instance_decides_master_or_backup() {
        let cfg = config(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_1\n}}\n{INSTANCE}"
        ));
        let mut states = BTreeMap::new();
        // Not reported yet: leave the kernel alone (a respawned checker before the replay).
        assert_eq!(wanted(&cfg, &states), None);
        for s in [VrrpState::Init, VrrpState::Backup] {
            states.insert("VI_1".to_string(), s);
            assert_eq!(lines(wanted(&cfg, &states)), ["backup eth0 51"]);
        }
        states.insert("VI_1".to_string(), VrrpState::Master);
        assert_eq!(lines(wanted(&cfg, &states)), ["master eth0 51"]);
        for s in [VrrpState::Backup, VrrpState::Fault, VrrpState::Stop] {
            states.insert("VI_1".to_string(), s);
            assert_eq!(lines(wanted(&cfg, &states)), ["backup eth0 51"]);
        }
        // A name no instance has: backup.
        let cfg = config(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_9\n}}\n{INSTANCE}"
        ));
        assert_eq!(lines(wanted(&cfg, &BTreeMap::new())), ["backup eth0 0"]);
    }

    #[test]
    fn options_and_no_instance() {
        let cfg = config(&format!(
            "global_defs {{\n lvs_sync_daemon eth1 inst VI_1 id 7 maxlen 1400 port 8849 ttl 2 group ff02::1:5\n}}\n{INSTANCE}"
        ));
        let mut states = BTreeMap::new();
        states.insert("VI_1".to_string(), VrrpState::Backup);
        let d = wanted(&cfg, &states).expect("decided");
        assert_eq!(lines(Some(d.clone())), ["backup eth1 7"]);
        assert_eq!(
            (d[0].maxlen, d[0].port, d[0].ttl, d[0].group),
            (
                Some(1400),
                Some(8849),
                Some(2),
                Some("ff02::1:5".parse().expect("v6"))
            )
        );
        let both = config("global_defs {\n lvs_sync_daemon eth0\n}\n");
        assert_eq!(
            lines(wanted(&both, &BTreeMap::new())),
            ["master eth0 0", "backup eth0 0"]
        );
        assert_eq!(wanted(&config(INSTANCE), &BTreeMap::new()), Some(vec![]));
    }
}
