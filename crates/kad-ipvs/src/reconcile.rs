//! `reconcile(desired, kernel, owned)`: the fewest changes that make the kernel's table hold
//! what kad wants, touching only kad's services (pure: the caller applies the changes).

use std::collections::BTreeSet;

use crate::model::{Dest, Service, ServiceKey, Table};

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
}
