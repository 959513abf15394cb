//! One VRRP instance as a pure state machine (RFC 5798 §6.4, with keepalived 2.2.7's
//! behaviour where the RFC leaves room): `handle(now, event) -> actions`. No sockets, no clock:
//! the caller feeds events with the current time and carries out the actions, and asks
//! [`Instance::next_deadline`] when to call back with [`Event::Timer`].
//!
//! keepalived's choices followed here (measured in shared/lab): `state MASTER` does not skip
//! the wait — every instance starts in BACKUP and takes over when the master-down timer fires,
//! except an address owner (priority 255), which becomes MASTER at once; a MASTER that hears a
//! lower priority answers at once with its own advert.
//!
//! The address owner (configured priority 255) follows RFC 5798 §6.4: its priority is 255 for
//! good (tracking cannot lower it); as MASTER it answers a priority-0 advert with its own,
//! never yields to a lower priority, and yields only to another owner with a higher primary
//! address (§6.4.3); should it be BACKUP, it always preempts a lower priority, whatever
//! `nopreempt` or `preempt_delay` say (§6.1, Preempt_Mode).

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Protocol state (shared with the IPC messages and the checker).
pub use kad_core::state::VrrpState as State;

/// What the configuration says about an instance (resolved).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Configured priority (1..=255).
    pub priority: u8,
    /// Our advertisement interval.
    pub advert_int: Duration,
    /// False with `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay`.
    pub preempt_delay: Duration,
    /// Our primary address (source of our adverts), for the equal-priority tie-break.
    pub primary: IpAddr,
    /// `down_timer_adverts` (3).
    pub down_timer_adverts: u32,
    /// `lower_prio_no_advert`: a MASTER hearing a lower priority does not answer it.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`: a MASTER sends one advert before yielding to a higher one.
    pub higher_prio_send_advert: bool,
}

/// An input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Start (the interface is up and nothing is in fault).
    Start,
    /// Graceful stop.
    Shutdown,
    /// A valid advertisement for our VRID from another router.
    Advert {
        /// Its source address.
        src: IpAddr,
        /// Its priority.
        priority: u8,
        /// Its advertisement interval.
        interval: Duration,
    },
    /// [`Instance::next_deadline`] has passed.
    Timer,
    /// Something tracked went down (interface, script with weight 0).
    FaultOn,
    /// Everything tracked is up again.
    FaultOff,
    /// The effective priority changed (weighted tracking).
    Priority(u8),
    /// A sync-group peer became MASTER: a BACKUP member follows at once.
    GroupMaster,
    /// A sync-group peer fell back to BACKUP: a MASTER member follows.
    GroupBackup,
    /// A tracked VIP was deleted from under a MASTER: it leaves (priority 0, no addresses),
    /// and takes over again after its skew time unless another router does.
    VipGone,
    /// `kadctl maintenance`: on, a MASTER gives up (priority-0 advert, addresses removed)
    /// and the instance stays BACKUP at effective priority 0; off, it is an ordinary BACKUP.
    Maintenance(bool),
}

/// An output the caller carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send an advertisement with this priority (0 when giving up mastership).
    SendAdvert {
        /// Priority to put in it.
        priority: u8,
    },
    /// Install the virtual addresses.
    AddAddresses,
    /// Remove the virtual addresses.
    RemoveAddresses,
    /// Announce the addresses (gratuitous ARP / unsolicited NA).
    Announce,
    /// A MASTER heard a lower priority (GARP bursts, `notify_master_rx_lower_pri`).
    HeardLower {
        /// The advert's source.
        src: IpAddr,
        /// Its priority.
        priority: u8,
        /// An advert was sent back (not `lower_prio_no_advert`).
        answered: bool,
    },
    /// The state changed (for logs, notify scripts, counters).
    Transition {
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
}

/// The instance.
#[derive(Debug, Clone)]
pub struct Instance {
    settings: Settings,
    state: State,
    priority: u8,
    master_adver_int: Duration,
    /// Master-down timer (BACKUP).
    down_at: Option<Instant>,
    /// Next advert (MASTER).
    advert_at: Option<Instant>,
    /// While set and in the future, lower-priority masters are still accepted (preempt_delay).
    preempt_after: Option<Instant>,
    /// The master we listen to, if known.
    master: Option<IpAddr>,
    /// In maintenance: never MASTER, effective priority 0.
    maintenance: bool,
}

impl Instance {
    /// A new instance in [`State::Init`].
    pub fn new(settings: Settings) -> Self {
        let priority = settings.priority;
        let master_adver_int = settings.advert_int;
        Instance {
            settings,
            state: State::Init,
            priority,
            master_adver_int,
            down_at: None,
            advert_at: None,
            preempt_after: None,
            master: None,
            maintenance: false,
        }
    }

    /// Applies reloaded settings without a transition; the effective priority follows a
    /// changed base priority.
    pub fn reconfigure(&mut self, settings: Settings) {
        if settings.priority != self.settings.priority {
            self.priority = settings.priority;
        }
        self.settings = settings;
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Effective priority.
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// The priority shown as effective: 0 in maintenance, else [`Instance::priority`].
    pub fn effective_priority(&self) -> u8 {
        if self.maintenance {
            0
        } else {
            self.priority
        }
    }

    /// In maintenance ([`Event::Maintenance`]).
    pub fn maintenance(&self) -> bool {
        self.maintenance
    }

    /// The master we last accepted an advert from.
    pub fn master(&self) -> Option<IpAddr> {
        self.master
    }

    /// When to deliver [`Event::Timer`].
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Backup => self.down_at,
            State::Master => self.advert_at,
            _ => None,
        }
    }

    /// Skew_Time = ((256 − priority) × Master_Adver_Interval) / 256.
    pub fn skew_time(&self) -> Duration {
        self.master_adver_int * (256 - u32::from(self.priority)) / 256
    }

    /// Master_Down_Interval = down_timer_adverts × Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        self.master_adver_int * self.settings.down_timer_adverts + self.skew_time()
    }

    /// Feeds one event; returns what to do, in order.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match (self.state, event) {
            (_, Event::Priority(p)) => self.priority = if self.is_owner() { 255 } else { p.max(1) },
            (_, Event::Maintenance(on)) => self.set_maintenance(now, on, &mut out),
            (State::Stop, _) => {}
            (State::Init | State::Fault, Event::Start | Event::FaultOff) => {
                self.start(now, &mut out)
            }
            (State::Init, Event::FaultOn) => self.goto(State::Fault, &mut out),
            (State::Init | State::Fault, Event::Shutdown) => self.goto(State::Stop, &mut out),
            (State::Init | State::Fault, _) => {}

            (State::Backup, Event::Timer) => {
                if self.down_at.is_some_and(|t| now >= t) {
                    self.become_master(now, &mut out);
                }
            }
            (
                State::Backup,
                Event::Advert {
                    src,
                    priority,
                    interval,
                },
            ) => {
                if priority == 0 {
                    self.down_at = Some(now + self.skew_time());
                } else if priority >= self.priority
                    || (!self.is_owner() && (!self.settings.preempt || self.preempt_held(now)))
                {
                    self.master = Some(src);
                    self.master_adver_int = interval;
                    self.down_at = Some(now + self.master_down_interval());
                }
            }
            (State::Backup, Event::FaultOn) => {
                self.down_at = None;
                self.goto(State::Fault, &mut out);
            }
            (State::Backup, Event::Shutdown) => {
                self.down_at = None;
                self.goto(State::Stop, &mut out);
            }
            (State::Backup, Event::GroupMaster) => {
                if !self.maintenance {
                    self.become_master(now, &mut out)
                }
            }
            (
                State::Backup,
                Event::Start | Event::FaultOff | Event::GroupBackup | Event::VipGone,
            ) => {}

            (State::Master, Event::Timer) => {
                if self.advert_at.is_some_and(|t| now >= t) {
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    self.advert_at = Some(now + self.settings.advert_int);
                }
            }
            (
                State::Master,
                Event::Advert {
                    src,
                    priority,
                    interval,
                },
            ) => {
                let wins = priority > self.priority
                    || (priority == self.priority && ip_above(src, self.settings.primary));
                if priority == 0 {
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    self.advert_at = Some(now + self.settings.advert_int);
                } else if wins {
                    if self.settings.higher_prio_send_advert {
                        out.push(Action::SendAdvert {
                            priority: self.priority,
                        });
                    }
                    self.advert_at = None;
                    self.master = Some(src);
                    self.master_adver_int = interval;
                    self.down_at = Some(now + self.master_down_interval());
                    out.push(Action::RemoveAddresses);
                    self.goto(State::Backup, &mut out);
                } else {
                    // keepalived: a lower-priority router is told at once who is master, with
                    // one extra advert (the regular ones keep their pace), and GARPs.
                    // An equal priority from a lower address is only answered.
                    let lower = priority < self.priority;
                    let answered = !(lower && self.settings.lower_prio_no_advert);
                    if answered {
                        out.push(Action::SendAdvert {
                            priority: self.priority,
                        });
                    }
                    if lower {
                        out.push(Action::HeardLower {
                            src,
                            priority,
                            answered,
                        });
                    }
                }
            }
            (State::Master, Event::FaultOn) => {
                self.advert_at = None;
                out.push(Action::SendAdvert { priority: 0 });
                out.push(Action::RemoveAddresses);
                self.goto(State::Fault, &mut out);
            }
            (State::Master, Event::Shutdown) => {
                self.advert_at = None;
                out.push(Action::SendAdvert { priority: 0 });
                out.push(Action::RemoveAddresses);
                self.goto(State::Stop, &mut out);
            }
            (State::Master, Event::VipGone) => {
                self.advert_at = None;
                self.master = None;
                self.down_at = Some(now + self.skew_time());
                out.push(Action::SendAdvert { priority: 0 });
                out.push(Action::RemoveAddresses);
                self.goto(State::Backup, &mut out);
            }
            (State::Master, Event::GroupBackup) => {
                self.advert_at = None;
                self.down_at = Some(now + self.master_down_interval());
                out.push(Action::RemoveAddresses);
                self.goto(State::Backup, &mut out);
            }
            (State::Master, Event::Start | Event::FaultOff | Event::GroupMaster) => {}
        }
        if self.maintenance && self.state == State::Backup {
            // A BACKUP in maintenance never takes over: no master-down timer.
            self.down_at = None;
        }
        out
    }

    fn set_maintenance(&mut self, now: Instant, on: bool, out: &mut Vec<Action>) {
        if self.maintenance == on {
            return;
        }
        self.maintenance = on;
        match (self.state, on) {
            (State::Master, true) => {
                self.advert_at = None;
                out.push(Action::SendAdvert { priority: 0 });
                out.push(Action::RemoveAddresses);
                self.goto(State::Backup, out);
            }
            (State::Backup, false) => {
                self.down_at = Some(now + self.master_down_interval());
            }
            _ => {}
        }
    }

    fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.master = None;
        self.master_adver_int = self.settings.advert_int;
        if self.priority == 255 && !self.maintenance {
            self.become_master(now, out);
            return;
        }
        if self.settings.preempt && !self.settings.preempt_delay.is_zero() {
            self.preempt_after = Some(now + self.settings.preempt_delay);
        }
        self.down_at = Some(now + self.master_down_interval());
        self.goto(State::Backup, out);
    }

    fn become_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.down_at = None;
        self.master = None;
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        out.push(Action::AddAddresses);
        out.push(Action::Announce);
        self.advert_at = Some(now + self.settings.advert_int);
        self.goto(State::Master, out);
    }

    /// The address owner (configured priority 255).
    pub fn is_owner(&self) -> bool {
        self.settings.priority == 255
    }

    /// preempt_delay: lower-priority masters are accepted until the delay has passed.
    fn preempt_held(&self, now: Instant) -> bool {
        self.preempt_after.is_some_and(|t| now < t)
    }

    fn goto(&mut self, to: State, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        out.push(Action::Transition { from, to });
    }
}

/// The RFC's tie-break: the higher primary address wins (compared as unsigned integers).
fn ip_above(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(a) > u32::from(b),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(a) > u128::from(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
