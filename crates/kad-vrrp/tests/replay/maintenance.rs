//! Maintenance (`kadctl maintenance NAME on|off`): a MASTER leaves with a priority-0 advert
//! and drops its VIPs, then sits BACKUP at effective priority 0 however long no advert comes;
//! `off` makes it an ordinary BACKUP that takes over again.

use crate::election::{ONE, TO_MASTER};
use crate::Replay;

#[test]
fn a_master_in_maintenance_leaves_with_priority_0_and_stays_backup_until_off() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(TO_MASTER);
    r.run(
        "
> at 4 maintenance VI_1 on
< advert VI_1 prio 0 to 224.0.0.18
< del VI_1 192.0.2.100/24@2
< VI_1 BACKUP 100
= VI_1 state BACKUP
= VI_1 effective 0
= VI_1 priority 100
# No master-down timer: silence for a minute does not make it MASTER (the GARP burst
# planned at 8.609 s only goes to a MASTER).
> at 60 timer
= VI_1 state BACKUP
# A peer's adverts, even at a lower priority, are listened to; priority 0 starts nothing.
> at 61 advert 192.0.2.2 prio 50
> at 62 advert 192.0.2.2 prio 0
> at 70 timer
= VI_1 state BACKUP
= deadline none
# Off: an ordinary BACKUP, whose master-down timer runs out 3.609 s later.
> at 80 maintenance VI_1 off
= VI_1 effective 100
= deadline 83.609
> next
< advert VI_1 prio 100 to 224.0.0.18
< ...
= VI_1 state MASTER
",
    );
}

#[test]
fn maintenance_of_a_backup_keeps_it_backup_and_unknown_names_change_nothing() {
    let mut r = Replay::new(&[("a", ONE)]);
    r.run(
        "
> start
< ...
> at 1 maintenance VI_9 on
= deadline 3.609
> at 1 maintenance VI_1 on
= VI_1 state BACKUP
= deadline none
> at 10 timer
= VI_1 state BACKUP
# A reload keeps the instance, and its maintenance.
> at 11 reload a
< ...
> at 30 timer
= VI_1 state BACKUP
= VI_1 effective 0
",
    );
}
