//! `reconcile(desired, kernel, owned)`: the fewest changes that make the kernel's table hold
//! what kad wants, touching only kad's services (pure: the caller applies the changes).

use std::collections::BTreeSet;

use crate::model::{Dest, Service, ServiceKey, Table};
use crate::wire::daemon::{Role, SyncDaemon};

/// One change to the kernel's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add a service.
    AddService(Service),
    /// Edit a service's scheduler, flags or persistence.
    EditService(Service),
    /// Delete a service (and its destinations).
    DelService(ServiceKey),
    /// Add a destination.
    AddDest(ServiceKey, Dest),
    /// Edit a destination's forwarding, weight or thresholds.
    EditDest(ServiceKey, Dest),
    /// Delete a destination.
    DelDest(ServiceKey, Dest),
}

/// The changes from `kernel` to `desired`. Services in `desired` are kad's; so are those in
/// `owned` (what kad configured before), which are deleted when no longer desired. Every other
/// service in the kernel is left alone, as are its destinations.
pub fn reconcile(desired: &Table, kernel: &Table, owned: &BTreeSet<ServiceKey>) -> Vec<Change> {
    let mut out = Vec::new();
    for key in owned {
        if !desired.services.contains_key(key) && kernel.services.contains_key(key) {
            out.push(Change::DelService(key.clone()));
        }
    }
    for (key, (svc, dests)) in &desired.services {
        let Some((ksvc, kdests)) = kernel.services.get(key) else {
            out.push(Change::AddService(svc.clone()));
            out.extend(
                dests
                    .values()
                    .map(|d| Change::AddDest(key.clone(), d.clone())),
            );
            continue;
        };
        if ksvc != svc {
            out.push(Change::EditService(svc.clone()));
        }
        for (at, kd) in kdests {
            if !dests.contains_key(at) {
                out.push(Change::DelDest(key.clone(), kd.clone()));
            }
        }
        for (at, d) in dests {
            match kdests.get(at) {
                None => out.push(Change::AddDest(key.clone(), d.clone())),
                Some(kd) if !kd.same_settings(d) => {
                    out.push(Change::EditDest(key.clone(), d.clone()))
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// The changes that remove kad's services (graceful stop, keepalived's behaviour).
pub fn remove_owned(kernel: &Table, owned: &BTreeSet<ServiceKey>) -> Vec<Change> {
    owned
        .iter()
        .filter(|k| kernel.services.contains_key(*k))
        .map(|k| Change::DelService(k.clone()))
        .collect()
}

/// One change to the connection-sync daemons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonChange {
    /// Stop the daemon of this role.
    Stop(Role),
    /// Start this daemon.
    Start(SyncDaemon),
}

/// The changes that make the kernel's sync daemons (`running`) what kad wants: a daemon that
/// differs is stopped and started again; one kad no longer wants is stopped only if kad
/// started it (`owned`). Stops come first (the kernel holds one master and one backup).
pub fn reconcile_daemons(
    want: &[SyncDaemon],
    running: &[SyncDaemon],
    owned: &BTreeSet<Role>,
) -> Vec<DaemonChange> {
    let mut stops = Vec::new();
    let mut starts = Vec::new();
    for role in [Role::Master, Role::Backup] {
        let w = want.iter().find(|d| d.role == role);
        let r = running.iter().find(|d| d.role == role);
        match (w, r) {
            (Some(w), Some(r)) if w.satisfied_by(r) => {}
            (Some(w), Some(_)) => {
                stops.push(DaemonChange::Stop(role));
                starts.push(DaemonChange::Start(w.clone()));
            }
            (Some(w), None) => starts.push(DaemonChange::Start(w.clone())),
            (None, Some(_)) if owned.contains(&role) => stops.push(DaemonChange::Stop(role)),
            (None, _) => {}
        }
    }
    stops.extend(starts);
    stops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Forward, PROTO_TCP};
    use std::net::IpAddr;

    fn key(last: u8) -> ServiceKey {
        ServiceKey::Addr {
            proto: PROTO_TCP,
            addr: IpAddr::from([192, 0, 2, last]),
            port: 80,
        }
    }

    fn svc(last: u8, sched: &str) -> Service {
        Service {
            key: key(last),
            scheduler: sched.into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        }
    }

    fn dest(last: u8, weight: u32) -> Dest {
        Dest::new(
            IpAddr::from([198, 51, 100, last]),
            8080,
            Forward::Route,
            weight,
        )
    }

    fn table(entries: &[(Service, Vec<Dest>)]) -> Table {
        let mut t = Table::default();
        for (s, ds) in entries {
            t.add_service(s.clone());
            for d in ds {
                t.add_dest(&s.key, d.clone());
            }
        }
        t
    }

    #[test]
    fn an_empty_kernel_gets_everything() {
        let want = table(&[(svc(1, "rr"), vec![dest(1, 1), dest(2, 1)])]);
        let changes = reconcile(&want, &Table::default(), &BTreeSet::new());
        assert_eq!(
            changes,
            [
                Change::AddService(svc(1, "rr")),
                Change::AddDest(key(1), dest(1, 1)),
                Change::AddDest(key(1), dest(2, 1)),
            ]
        );
    }

    #[test]
    fn only_differences_are_applied_and_foreign_services_are_left_alone() {
        let mut busy = dest(1, 1);
        busy.active = 42; // counters never cause a change
        let kernel = table(&[
            (svc(1, "rr"), vec![busy, dest(2, 1), dest(3, 1)]),
            (svc(9, "wlc"), vec![dest(9, 1)]), // someone else's
            (svc(5, "rr"), vec![]),            // kad's, no longer wanted
        ]);
        let want = table(&[(svc(1, "wrr"), vec![dest(1, 1), dest(2, 0), dest(4, 1)])]);
        let owned: BTreeSet<_> = [key(1), key(5)].into();
        assert_eq!(
            reconcile(&want, &kernel, &owned),
            [
                Change::DelService(key(5)),
                Change::EditService(svc(1, "wrr")),
                Change::DelDest(key(1), dest(3, 1)),
                Change::EditDest(key(1), dest(2, 0)),
                Change::AddDest(key(1), dest(4, 1)),
            ]
        );
        assert!(reconcile(&kernel, &kernel, &owned).is_empty());
        assert_eq!(
            remove_owned(&kernel, &owned),
            [Change::DelService(key(1)), Change::DelService(key(5))]
        );
    }

    #[test]
    fn hand_made_damage_to_kads_services_is_repaired_and_foreign_ones_are_not() {
        // What kad applied last: service 1 with two destinations, service 2 with one.
        let want = table(&[
            (svc(1, "rr"), vec![dest(1, 1), dest(2, 3)]),
            (svc(2, "rr"), vec![dest(1, 1)]),
        ]);
        let owned: BTreeSet<_> = want.services.keys().cloned().collect();
        // By hand: `ipvsadm -D` of service 2, `-d` of 198.51.100.1 from service 1, `-e -w 9`
        // of 198.51.100.2, `-E -s wlc` of service 1; a foreign service 9 and a foreign
        // destination added to nothing of kad's.
        let kernel = table(&[
            (svc(1, "wlc"), vec![dest(2, 9)]),
            (svc(9, "wlc"), vec![dest(9, 1)]),
        ]);
        assert_eq!(
            reconcile(&want, &kernel, &owned),
            [
                Change::EditService(svc(1, "rr")),
                Change::AddDest(key(1), dest(1, 1)),
                Change::EditDest(key(1), dest(2, 3)),
                Change::AddService(svc(2, "rr")),
                Change::AddDest(key(2), dest(1, 1)),
            ]
        );
        // Undamaged: nothing to repair, whatever the connection counters say.
        let mut busy = want.clone();
        if let Some((_, d)) = busy.services.get_mut(&key(1)) {
            d.values_mut().for_each(|d| d.active = 7);
        }
        assert!(reconcile(&want, &busy, &owned).is_empty());
    }

    fn daemon(role: Role, id: u32) -> SyncDaemon {
        SyncDaemon {
            role,
            interface: "eth0".into(),
            sync_id: id,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        }
    }

    /// A daemon as the kernel reports it (every default filled in).
    fn running(role: Role, id: u32) -> SyncDaemon {
        SyncDaemon {
            maxlen: Some(1472),
            port: Some(8848),
            ttl: Some(1),
            group: Some(IpAddr::from([224, 0, 0, 81])),
            ..daemon(role, id)
        }
    }

    #[test]
    fn sync_daemons_follow_the_wanted_role() {
        let none = BTreeSet::new();
        let both: BTreeSet<_> = [Role::Master, Role::Backup].into();
        // Start: backup.
        assert_eq!(
            reconcile_daemons(&[daemon(Role::Backup, 51)], &[], &none),
            [DaemonChange::Start(daemon(Role::Backup, 51))]
        );
        // Became MASTER: the backup stops, the master starts (keepalived 2.2.7 runs one).
        assert_eq!(
            reconcile_daemons(
                &[daemon(Role::Master, 51)],
                &[running(Role::Backup, 51)],
                &both
            ),
            [
                DaemonChange::Stop(Role::Backup),
                DaemonChange::Start(daemon(Role::Master, 51))
            ]
        );
        // Already right: nothing.
        assert!(reconcile_daemons(
            &[daemon(Role::Master, 51)],
            &[running(Role::Master, 51)],
            &both
        )
        .is_empty());
        // A different sync id: restarted; someone else's daemon kad does not want: left.
        assert_eq!(
            reconcile_daemons(
                &[daemon(Role::Master, 7)],
                &[running(Role::Master, 51), running(Role::Backup, 3)],
                &none
            ),
            [
                DaemonChange::Stop(Role::Master),
                DaemonChange::Start(daemon(Role::Master, 7))
            ]
        );
        // Stop: kad's daemons go.
        assert_eq!(
            reconcile_daemons(&[], &[running(Role::Master, 51)], &both),
            [DaemonChange::Stop(Role::Master)]
        );
    }
}
