//! Unit tests of the RFC 5798 state machine (injected clock).
use super::*;

const SEC: Duration = Duration::from_secs(1);

fn settings(priority: u8) -> Settings {
    Settings {
        priority,
        advert_int: SEC,
        preempt: true,
        preempt_delay: Duration::ZERO,
        primary: "192.0.2.11".parse().expect("ip"),
        down_timer_adverts: 3,
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
    }
}

fn advert(src: &str, priority: u8) -> Event {
    Event::Advert {
        src: src.parse().expect("ip"),
        priority,
        interval: SEC,
    }
}

fn tr(from: State, to: State) -> Action {
    Action::Transition { from, to }
}

fn started(priority: u8) -> (Instance, Instant) {
    let t0 = Instant::now();
    let mut i = Instance::new(settings(priority));
    i.handle(t0, Event::Start);
    (i, t0)
}

fn master(priority: u8) -> (Instance, Instant) {
    let (mut i, _) = started(priority);
    let t = i.next_deadline().expect("down timer");
    i.handle(t, Event::Timer);
    assert_eq!(i.state(), State::Master);
    (i, t)
}

#[test]
fn timers_follow_rfc_5798() {
    let (i, t0) = started(100);
    assert_eq!(i.skew_time(), Duration::from_micros(609_375));
    assert_eq!(
        i.master_down_interval(),
        Duration::from_micros(3_609_375),
        "keepalived dumps 3609375 usecs"
    );
    assert_eq!(
        i.next_deadline(),
        Some(t0 + Duration::from_micros(3_609_375))
    );
    let (i, _) = started(200);
    assert_eq!(i.master_down_interval(), Duration::from_micros(3_218_750));
}

#[test]
fn init_start_goes_backup_and_owner_goes_master() {
    let t0 = Instant::now();
    let mut i = Instance::new(settings(100));
    assert_eq!(i.handle(t0, Event::Start), [tr(State::Init, State::Backup)]);
    let mut owner = Instance::new(settings(255));
    assert_eq!(
        owner.handle(t0, Event::Start),
        [
            Action::SendAdvert { priority: 255 },
            Action::AddAddresses,
            Action::Announce,
            tr(State::Init, State::Master)
        ]
    );
    assert_eq!(owner.next_deadline(), Some(t0 + SEC));
}

#[test]
fn backup_becomes_master_when_the_master_down_timer_fires() {
    let (mut i, t0) = started(100);
    let early = t0 + Duration::from_secs(3);
    assert!(
        i.handle(early, Event::Timer).is_empty(),
        "a timer before the deadline does nothing"
    );
    let t = i.next_deadline().expect("deadline");
    assert_eq!(
        i.handle(t, Event::Timer),
        [
            Action::SendAdvert { priority: 100 },
            Action::AddAddresses,
            Action::Announce,
            tr(State::Backup, State::Master)
        ]
    );
    assert_eq!(i.next_deadline(), Some(t + SEC));
}

#[test]
fn backup_accepts_higher_or_equal_priority_and_resets_its_timer() {
    let (mut i, t0) = started(100);
    let t1 = t0 + Duration::from_secs(2);
    assert!(i.handle(t1, advert("192.0.2.12", 150)).is_empty());
    assert_eq!(i.next_deadline(), Some(t1 + i.master_down_interval()));
    assert_eq!(i.master(), Some("192.0.2.12".parse().expect("ip")));
    let t2 = t1 + SEC;
    i.handle(t2, advert("192.0.2.12", 100));
    assert_eq!(
        i.next_deadline(),
        Some(t2 + i.master_down_interval()),
        "equal priority is accepted"
    );
}

#[test]
fn backup_with_preempt_ignores_lower_priority_and_takes_over() {
    let (mut i, t0) = started(150);
    let deadline = i.next_deadline().expect("deadline");
    i.handle(t0 + SEC, advert("192.0.2.12", 100));
    assert_eq!(
        i.next_deadline(),
        Some(deadline),
        "a lower priority does not reset the timer"
    );
}

#[test]
fn nopreempt_backup_accepts_lower_priority() {
    let t0 = Instant::now();
    let mut s = settings(150);
    s.preempt = false;
    let mut i = Instance::new(s);
    i.handle(t0, Event::Start);
    let t1 = t0 + SEC;
    i.handle(t1, advert("192.0.2.12", 100));
    assert_eq!(i.next_deadline(), Some(t1 + i.master_down_interval()));
}

#[test]
fn preempt_delay_holds_a_lower_priority_master_for_a_while() {
    let t0 = Instant::now();
    let mut s = settings(150);
    s.preempt_delay = Duration::from_secs(10);
    let mut i = Instance::new(s);
    i.handle(t0, Event::Start);
    let t1 = t0 + Duration::from_secs(5);
    i.handle(t1, advert("192.0.2.12", 100));
    assert_eq!(
        i.next_deadline(),
        Some(t1 + i.master_down_interval()),
        "held during the delay"
    );
    let t2 = t0 + Duration::from_secs(11);
    i.handle(t2, advert("192.0.2.12", 100));
    assert_eq!(
        i.next_deadline(),
        Some(t1 + i.master_down_interval()),
        "ignored after it"
    );
}

#[test]
fn backup_hearing_priority_zero_takes_over_after_skew_time() {
    let (mut i, t0) = started(100);
    let t1 = t0 + SEC;
    i.handle(t1, advert("192.0.2.12", 150));
    let t2 = t1 + SEC;
    assert!(i.handle(t2, advert("192.0.2.12", 0)).is_empty());
    assert_eq!(i.next_deadline(), Some(t2 + i.skew_time()));
    let acts = i.handle(t2 + i.skew_time(), Event::Timer);
    assert!(acts.contains(&tr(State::Backup, State::Master)));
}

#[test]
fn master_advertises_every_interval() {
    let (mut i, t) = master(100);
    let next = t + SEC;
    assert_eq!(
        i.handle(next, Event::Timer),
        [Action::SendAdvert { priority: 100 }]
    );
    assert_eq!(i.next_deadline(), Some(next + SEC));
}

#[test]
fn master_yields_to_higher_priority() {
    let (mut i, t) = master(100);
    let t1 = t + Duration::from_millis(300);
    assert_eq!(
        i.handle(t1, advert("192.0.2.12", 200)),
        [Action::RemoveAddresses, tr(State::Master, State::Backup)]
    );
    assert_eq!(i.next_deadline(), Some(t1 + i.master_down_interval()));
}

#[test]
fn equal_priority_tie_goes_to_the_higher_address() {
    let (mut i, t) = master(100);
    assert_eq!(
        i.handle(t, advert("192.0.2.5", 100)),
        [Action::SendAdvert { priority: 100 }],
        "lower address loses"
    );
    let acts = i.handle(t, advert("192.0.2.200", 100));
    assert!(
        acts.contains(&tr(State::Master, State::Backup)),
        "higher address wins"
    );
}

fn heard_lower(src: &str, priority: u8, answered: bool) -> Action {
    Action::HeardLower {
        src: src.parse().expect("ip"),
        priority,
        answered,
    }
}

#[test]
fn master_answers_lower_priority_and_priority_zero_with_an_advert() {
    let (mut i, t) = master(150);
    let t1 = t + Duration::from_millis(200);
    assert_eq!(
        i.handle(t1, advert("192.0.2.12", 100)),
        [
            Action::SendAdvert { priority: 150 },
            heard_lower("192.0.2.12", 100, true)
        ]
    );
    assert_eq!(i.next_deadline(), Some(t + SEC), "an extra advert");
    assert_eq!(
        i.handle(t1, advert("192.0.2.12", 0)),
        [Action::SendAdvert { priority: 150 }]
    );
    assert_eq!(i.state(), State::Master);
}

#[test]
fn shutdown_of_a_master_sends_priority_zero_and_removes_addresses() {
    let (mut i, t) = master(100);
    assert_eq!(
        i.handle(t, Event::Shutdown),
        [
            Action::SendAdvert { priority: 0 },
            Action::RemoveAddresses,
            tr(State::Master, State::Stop)
        ]
    );
    assert_eq!(i.next_deadline(), None);
    assert!(i.handle(t, Event::Start).is_empty(), "stopped for good");
}

#[test]
fn shutdown_of_a_backup_is_quiet() {
    let (mut i, t0) = started(100);
    assert_eq!(
        i.handle(t0, Event::Shutdown),
        [tr(State::Backup, State::Stop)]
    );
}

#[test]
fn faults_take_the_instance_down_and_back() {
    let (mut i, t) = master(100);
    assert_eq!(
        i.handle(t, Event::FaultOn),
        [
            Action::SendAdvert { priority: 0 },
            Action::RemoveAddresses,
            tr(State::Master, State::Fault)
        ]
    );
    assert_eq!(i.next_deadline(), None);
    assert!(
        i.handle(t, advert("192.0.2.12", 200)).is_empty(),
        "FAULT ignores adverts"
    );
    assert_eq!(
        i.handle(t, Event::FaultOff),
        [tr(State::Fault, State::Backup)]
    );
    let (mut b, t0) = started(100);
    assert_eq!(
        b.handle(t0, Event::FaultOn),
        [tr(State::Backup, State::Fault)]
    );
    let mut fresh = Instance::new(settings(100));
    assert_eq!(
        fresh.handle(t0, Event::FaultOn),
        [tr(State::Init, State::Fault)]
    );
}

#[test]
fn sync_group_events_move_a_member_with_its_group() {
    let (mut b, t0) = started(100);
    assert_eq!(
        b.handle(t0, Event::GroupMaster),
        [
            Action::SendAdvert { priority: 100 },
            Action::AddAddresses,
            Action::Announce,
            tr(State::Backup, State::Master)
        ]
    );
    assert_eq!(b.handle(t0, Event::GroupMaster), [], "already master");
    assert_eq!(
        b.handle(t0, Event::GroupBackup),
        [Action::RemoveAddresses, tr(State::Master, State::Backup)]
    );
    assert_eq!(b.next_deadline(), Some(t0 + b.master_down_interval()));
    let mut f = Instance::new(settings(100));
    f.handle(t0, Event::FaultOn);
    assert!(
        f.handle(t0, Event::GroupMaster).is_empty(),
        "FAULT does not follow the group up"
    );
}

#[test]
fn priority_changes_apply_to_later_decisions() {
    let (mut i, t0) = started(100);
    i.handle(t0, Event::Priority(200));
    assert_eq!(i.priority(), 200);
    let deadline = i.next_deadline().expect("deadline");
    i.handle(t0 + SEC, advert("192.0.2.12", 150));
    assert_eq!(
        i.next_deadline(),
        Some(deadline),
        "150 is now lower: preempt ignores it"
    );
    i.handle(t0, Event::Priority(0));
    assert_eq!(i.priority(), 1, "effective priority is clamped to 1..");
}

#[test]
fn an_owner_keeps_priority_255_whatever_tracking_says() {
    let (mut i, t) = master(255);
    assert!(i.handle(t, Event::Priority(100)).is_empty());
    assert_eq!(i.priority(), 255);
    assert_eq!(
        i.handle(t, advert("192.0.2.200", 200)),
        [
            Action::SendAdvert { priority: 255 },
            heard_lower("192.0.2.200", 200, true)
        ],
        "a lower priority never takes the owner's place"
    );
    assert_eq!(i.state(), State::Master);
}

#[test]
fn an_owner_as_master_follows_rfc_5798_6_4_3() {
    let (mut i, t) = started(255);
    assert_eq!(
        i.state(),
        State::Master,
        "§6.4.1: the owner starts as MASTER"
    );
    let t1 = t + Duration::from_millis(400);
    assert_eq!(
        i.handle(t1, advert("192.0.2.12", 0)),
        [Action::SendAdvert { priority: 255 }],
        "priority 0: send an advert, reset the Adver_Timer"
    );
    assert_eq!(i.next_deadline(), Some(t1 + SEC));
    for p in [1, 100, 254] {
        i.handle(t1, advert("192.0.2.200", p));
        assert_eq!(i.state(), State::Master, "priority {p} is lower");
    }
    i.handle(t1, advert("192.0.2.5", 255));
    assert_eq!(
        i.state(),
        State::Master,
        "another owner with a lower address"
    );
    let acts = i.handle(t1, advert("192.0.2.200", 255));
    assert!(
        acts.contains(&tr(State::Master, State::Backup)),
        "another owner with a higher address wins the tie-break"
    );
}

#[test]
fn an_owner_in_backup_always_preempts() {
    let t0 = Instant::now();
    let mut s = settings(255);
    s.preempt = false;
    s.preempt_delay = Duration::from_secs(30);
    let mut i = Instance::new(s);
    i.handle(t0, Event::Start);
    // A sync group pulled it down to BACKUP.
    i.handle(t0, Event::GroupBackup);
    assert_eq!(i.state(), State::Backup);
    let deadline = i.next_deadline().expect("down timer");
    i.handle(t0 + SEC, advert("192.0.2.12", 200));
    assert_eq!(
        i.next_deadline(),
        Some(deadline),
        "nopreempt and preempt_delay do not hold the owner back"
    );
    let acts = i.handle(deadline, Event::Timer);
    assert!(acts.contains(&tr(State::Backup, State::Master)));
}

#[test]
fn v3_backup_learns_the_masters_interval() {
    let (mut i, t0) = started(100);
    let t1 = t0 + SEC;
    i.handle(
        t1,
        Event::Advert {
            src: "192.0.2.12".parse().expect("ip"),
            priority: 150,
            interval: Duration::from_millis(100),
        },
    );
    assert_eq!(
        i.master_down_interval(),
        Duration::from_nanos(360_937_500),
        "3 x 100 ms + 156/256 x 100 ms"
    );
}
