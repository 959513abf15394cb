//! Keeps the kernel's IPVS table in step with the checkers' desired table (kad-ipvs).
//!
//! The first sync reads the kernel's table and reconciles; later ones diff the new desired
//! table against the last one applied, so a checker transition sends just the one change
//! (no table dump per transition). DR and TUN destinations take the service's port. A graceful
//! stop removes kad's services (`lvs_flush_on_stop`: flushes the whole table); `lvs_flush`
//! flushes it when a checker first reaches IPVS (at start and at a respawn after a death, never
//! at a reload, as keepalived 2.2.7); `lvs_timeouts` are set over the kernel's values at
//! start, which are restored at stop. Without ip_vs in
//! the kernel, one log line says so and the checkers go on (keepalived's checker would exit).
//! Every `kad_lvs_repair_interval` and at SIGUSR1 kad's own services are read back from the
//! kernel and repaired (a kad extension), a few at a time ([`crate::repair_pace`]); the
//! connection-sync daemons are started and stopped
//! here too (`lvs_sync_daemon`, [`crate::sync_daemon`]).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Instant;

use kad_core::config::model::{
    Config, GlobalDefs, GroupEntry, LvsMethod, Protocol, ServiceKey as CfgKey, VirtualServer,
};
use kad_core::config::values::range_addresses;
use kad_ipvs::model::{
    flags, Dest, Forward, Service, ServiceKey, Table, PROTO_SCTP, PROTO_TCP, PROTO_UDP,
};
use kad_ipvs::socket::describe_change;
use kad_ipvs::wire::daemon::{Role, SyncDaemon};
use kad_ipvs::wire::Timeouts;
use kad_ipvs::{reconcile, reconcile_daemons, Change, DaemonChange, Ipvs};

use crate::repair_pace::RepairPace;
use crate::table::Destination;

fn forward(m: LvsMethod) -> Forward {
    match m {
        LvsMethod::Nat => Forward::Masq,
        LvsMethod::Dr => Forward::Route,
        LvsMethod::Tun => Forward::Tunnel,
    }
}

/// The IPVS services a virtual server stands for (a group expands to several).
pub fn service_keys(config: &Config, vs: &VirtualServer) -> Vec<ServiceKey> {
    let proto = match vs.protocol {
        Protocol::Tcp => PROTO_TCP,
        Protocol::Udp => PROTO_UDP,
        Protocol::Sctp => PROTO_SCTP,
    };
    match &vs.key {
        CfgKey::Addr { addr, .. } => vec![ServiceKey::Addr {
            proto,
            addr: *addr,
            port: crate::table::vs_port(vs),
        }],
        CfgKey::Fwmark(mark) => vec![ServiceKey::Fwmark {
            mark: *mark,
            ipv6: vs.ipv6,
        }],
        CfgKey::Group(name) => {
            let Some(g) = config
                .virtual_server_groups
                .iter()
                .find(|g| &g.name == name)
            else {
                return vec![];
            };
            let mut keys = Vec::new();
            for e in &g.entries {
                match e {
                    GroupEntry::Fwmark { mark, ipv6 } => keys.push(ServiceKey::Fwmark {
                        mark: *mark,
                        ipv6: *ipv6,
                    }),
                    GroupEntry::Range { first, last, port } => {
                        for addr in range_addresses(*first, *last) {
                            keys.push(ServiceKey::Addr {
                                proto,
                                addr,
                                port: port.unwrap_or(0),
                            });
                        }
                    }
                }
            }
            keys
        }
    }
}

/// The IPVS service settings of a virtual server for `key`.
fn service(vs: &VirtualServer, key: ServiceKey) -> Service {
    let mut fl = 0;
    if vs.persistence_timeout.is_some() {
        fl |= flags::PERSISTENT;
    }
    for f in &vs.flags {
        fl |= match f.as_str() {
            "ops" => flags::ONEPACKET,
            "sh-fallback" | "mh-fallback" | "flag-1" => flags::SCHED1,
            "sh-port" | "mh-port" | "flag-2" => flags::SCHED2,
            "flag-3" => flags::SCHED3,
            _ => 0,
        };
    }
    let ipv6 = key.is_ipv6();
    let netmask = match vs.persistence_granularity {
        Some(IpAddr::V4(m)) if !ipv6 => u32::from_ne_bytes(m.octets()),
        _ if ipv6 => 128,
        _ => u32::MAX,
    };
    Service {
        key,
        scheduler: vs.scheduler.clone(),
        flags: fl,
        timeout: vs.persistence_timeout.unwrap_or(0),
        netmask,
        pe_name: vs.persistence_engine.clone(),
    }
}

/// A destination's port: the configured one for NAT; for DR and TUN the service's (0 for a
/// fwmark service), as keepalived and ipvsadm set it — the packet is not rewritten, so any
/// other port would be meaningless, and a reload that only changes it changes nothing.
fn dest_port(key: &ServiceKey, fwd: Forward, configured: u16) -> u16 {
    match (fwd, key) {
        (Forward::Masq, _) => configured,
        (_, ServiceKey::Addr { port, .. }) => *port,
        (_, ServiceKey::Fwmark { .. }) => 0,
    }
}

/// The desired kernel table from the config and each virtual server's destinations.
pub fn desired(config: &Config, destinations: &[&[Destination]]) -> Table {
    let mut t = Table::default();
    for (vs, dests) in config.virtual_servers.iter().zip(destinations) {
        for key in service_keys(config, vs) {
            t.add_service(service(vs, key.clone()));
            for d in dests.iter() {
                let fwd = forward(d.method);
                let mut dest = Dest::new(d.addr, dest_port(&key, fwd, d.port), fwd, d.weight);
                dest.upper = d.upper_threshold;
                dest.lower = d.lower_threshold;
                t.add_dest(&key, dest);
            }
        }
    }
    t
}

/// The global_defs settings the kernel link acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Settings {
    /// `lvs_flush`: flush the whole table when IPVS is first reached.
    flush_at_start: bool,
    /// `lvs_flush_on_stop` (without VS): flush the whole table at stop, foreign services too.
    flush_on_stop: bool,
    /// `lvs_timeouts` (0: as the kernel had it when kad started).
    timeouts: Timeouts,
}

/// The link between the checkers and the kernel.
#[derive(Default)]
pub struct IpvsSync {
    ipvs: Option<Ipvs>,
    tried: bool,
    /// What the kernel holds of kad's, as last applied (`None` before the first sync, and
    /// after a change the kernel refused: the kernel is read again next time).
    applied: Option<Table>,
    /// The services kad put in the kernel and has not seen removed: kept through a refused
    /// change, so later syncs, repairs and the stop still treat them as kad's.
    owned: BTreeSet<ServiceKey>,
    settings: Settings,
    /// The kernel's timeouts before kad changed them (restored at stop).
    saved_timeouts: Option<Timeouts>,
    /// The timeouts kad last set.
    applied_timeouts: Option<Timeouts>,
    /// The sync daemons kad started (stopped at exit or when no longer configured).
    daemons_owned: BTreeSet<Role>,
    /// When the kernel's table is read back and repaired (`kad_lvs_repair_interval`, SIGUSR1).
    pace: RepairPace<ServiceKey>,
    /// `lvs_flush` no longer applies when IPVS is reached: this checker was restarted for a
    /// reload, or reloaded before IPVS was reached (keepalived never flushes at a reload).
    no_start_flush: bool,
}

impl IpvsSync {
    /// True once the kernel's IPVS was reached.
    pub fn available(&self) -> bool {
        self.ipvs.is_some()
    }

    /// The kernel's IPVS, once reached (the metrics read its counters).
    pub fn kernel(&mut self) -> Option<&mut Ipvs> {
        self.ipvs.as_mut()
    }

    /// False once IPVS was found missing: no desired table needs building any more.
    pub fn wanted(&self) -> bool {
        !self.tried || self.ipvs.is_some()
    }

    /// A reload tries the kernel again if IPVS was missing (ip_vs may have been loaded since),
    /// without `lvs_flush`: only a start flushes.
    pub fn retry_after_reload(&mut self) {
        self.no_start_flush = true;
        if self.ipvs.is_none() {
            self.tried = false;
        }
    }

    /// This checker replaces one the parent restarted for a reload: `lvs_flush` does not apply
    /// (a respawn after a death is a start and flushes again, as keepalived's does).
    pub fn skip_start_flush(&mut self) {
        self.no_start_flush = true;
    }

    /// Takes `lvs_flush`, `lvs_flush_on_stop` and `lvs_timeouts` from the (re)loaded config.
    pub fn configure(&mut self, g: &GlobalDefs) {
        let t = g.lvs_timeouts;
        self.settings = Settings {
            flush_at_start: g.lvs_flush,
            flush_on_stop: g.lvs_flush_on_stop,
            timeouts: Timeouts {
                tcp: t.tcp.unwrap_or(0),
                tcpfin: t.tcpfin.unwrap_or(0),
                udp: t.udp.unwrap_or(0),
            },
        };
        // A (re)load restarts the repair timer at the configured interval.
        self.pace.configure(g.lvs_repair_interval, Instant::now());
    }

    /// True when the configured timeouts are not what kad last set.
    pub fn settings_pending(&self) -> bool {
        self.wanted() && self.wanted_timeouts() != self.applied_timeouts
    }

    /// The timeouts the kernel should have: the configured ones over those it had at start
    /// (`None`: kad never changes them).
    fn wanted_timeouts(&self) -> Option<Timeouts> {
        let c = self.settings.timeouts;
        if c == Timeouts::default() && self.saved_timeouts.is_none() {
            return None;
        }
        let base = self.saved_timeouts.unwrap_or_default();
        let pick = |v: u32, b: u32| if v != 0 { v } else { b };
        Some(Timeouts {
            tcp: pick(c.tcp, base.tcp),
            tcpfin: pick(c.tcpfin, base.tcpfin),
            udp: pick(c.udp, base.udp),
        })
    }

    /// Opens the IPVS family once; with `lvs_flush` (and not after a reload), empties the
    /// kernel's table then.
    fn open(&mut self) -> Option<&mut Ipvs> {
        if !self.tried {
            self.tried = true;
            match Ipvs::open() {
                Ok(mut i) => {
                    if self.settings.flush_at_start && !self.no_start_flush {
                        match i.flush() {
                            Ok(()) => log::info!("IPVS: flushed the table at start (lvs_flush)"),
                            Err(e) => log::error!("IPVS: lvs_flush: {e}"),
                        }
                    }
                    self.ipvs = Some(i);
                }
                Err(e) => {
                    log::warn!("{e}; checkers keep running, the desired table is in the dumps")
                }
            }
        }
        self.ipvs.as_mut()
    }

    /// Sets the kernel's timeouts to [`IpvsSync::wanted_timeouts`], reading the ones to
    /// restore at stop first.
    fn sync_timeouts(&mut self) {
        if self.settings.timeouts != Timeouts::default() && self.saved_timeouts.is_none() {
            let Some(ipvs) = self.ipvs.as_mut() else {
                return;
            };
            match ipvs.timeouts() {
                Ok(t) => self.saved_timeouts = Some(t),
                Err(e) => {
                    log::error!("IPVS: cannot read the timeouts: {e}");
                    return;
                }
            }
        }
        let want = self.wanted_timeouts();
        if want == self.applied_timeouts {
            return;
        }
        let (Some(t), Some(ipvs)) = (want, self.ipvs.as_mut()) else {
            return;
        };
        match ipvs.set_timeouts(t) {
            Ok(()) => {
                log::info!(
                    "IPVS: timeouts tcp {} tcpfin {} udp {}",
                    t.tcp,
                    t.tcpfin,
                    t.udp
                );
                self.applied_timeouts = want;
            }
            Err(e) => log::error!("IPVS: {e}"),
        }
    }

    /// Brings the kernel to `want`. Returns the number of changes sent.
    pub fn sync(&mut self, want: &Table) -> usize {
        if self.open().is_none() {
            return 0;
        }
        self.sync_timeouts();
        let Some(ipvs) = self.ipvs.as_mut() else {
            return 0;
        };
        let (base, owned) = match &self.applied {
            Some(t) => (t.clone(), t.services.keys().cloned().collect()),
            None => match ipvs.table() {
                Ok(k) => (k, self.owned.clone()),
                Err(e) => {
                    log::error!("IPVS: cannot read the kernel table: {e}");
                    return 0;
                }
            },
        };
        let changes = reconcile(want, &base, &owned);
        let failed = ipvs.apply_all(&changes);
        for c in &changes {
            log::debug!("IPVS: {c:?}");
        }
        self.after_apply(want, owned, failed);
        changes.len()
    }

    /// Records the outcome of applying `want` over the services `owned` before it: all done,
    /// `want` is what the kernel holds of kad's; else the kernel is read again next time
    /// (rather than trusting a partly applied diff) and every service kad may still have there
    /// stays kad's.
    fn after_apply(&mut self, want: &Table, mut owned: BTreeSet<ServiceKey>, failed: usize) {
        if failed > 0 {
            owned.extend(want.services.keys().cloned());
            self.owned = owned;
            self.applied = None;
        } else {
            self.owned = want.services.keys().cloned().collect();
            self.applied = Some(want.clone());
        }
    }

    /// When the next repair step is due.
    pub fn next_repair(&self) -> Option<Instant> {
        self.pace.next_due().filter(|_| self.ipvs.is_some())
    }

    /// True when a repair step is due at `now`.
    pub fn repair_due(&self, now: Instant) -> bool {
        self.ipvs.is_some() && self.pace.is_due(now)
    }

    /// Starts a repair pass at once (SIGUSR1).
    pub fn repair_now(&mut self, now: Instant) {
        self.pace.start_now(now);
    }

    /// True when the last applied table is known (a repair step can compare against it).
    pub fn knows_applied(&self) -> bool {
        self.applied.is_some()
    }

    /// kad extension (keepalived does not): one step of a repair pass (see
    /// [`crate::repair_pace`]). Reads the next services of kad's back from the kernel and
    /// restores what kad wants of them (a service or destination deleted by hand, an edited
    /// weight or scheduler), logging each repair. Foreign services are never touched. The
    /// wanted table is the one applied last, or `fresh` when none is known; call after the
    /// pending changes reached the kernel. Returns the number of repairs sent.
    pub fn repair_step(&mut self, fresh: Option<&Table>, now: Instant) -> usize {
        let Some(ipvs) = self.ipvs.as_mut() else {
            return 0;
        };
        let Some(want) = fresh.or(self.applied.as_ref()) else {
            return 0;
        };
        let owned = &self.owned;
        let Some(keys) = self.pace.take_step(now, || {
            let mut all: BTreeSet<ServiceKey> = owned.clone();
            all.extend(want.services.keys().cloned());
            all.into_iter().collect()
        }) else {
            return 0;
        };
        let started = Instant::now();
        let mut want_part = Table::default();
        for key in &keys {
            if let Some(entry) = want.services.get(key) {
                want_part.services.insert(key.clone(), entry.clone());
            }
        }
        let owned_part: BTreeSet<ServiceKey> = keys
            .iter()
            .filter(|k| owned.contains(*k))
            .cloned()
            .collect();
        let changes = match ipvs.read_services(&keys) {
            Ok(kernel) => reconcile(&want_part, &kernel, &owned_part),
            Err(e) => {
                log::error!("IPVS: cannot read the kernel table to repair it: {e}");
                Vec::new()
            }
        };
        for c in &changes {
            log::warn!(
                "IPVS: the kernel table differs from kad's; repairing: {}",
                describe_change(c)
            );
        }
        let failed = ipvs.apply_all(&changes);
        if failed > 0 {
            // As after a refused sync: the kernel is read again next time.
            self.owned.extend(want_part.services.into_keys());
            self.applied = None;
        }
        self.pace.step_done(Instant::now(), started.elapsed());
        changes.len()
    }

    /// Starts and stops the kernel's connection-sync daemons so that `want` run (see
    /// [`crate::sync_daemon::wanted`]); the kernel's own list is read each time, so a
    /// respawned checker picks up what is running.
    pub fn sync_daemons(&mut self, want: &[SyncDaemon]) {
        if want.is_empty() && self.daemons_owned.is_empty() {
            return;
        }
        if self.ipvs.is_none() && !self.tried {
            // Only the sync daemon needs IPVS here (-P): no lvs_flush applies.
            self.tried = true;
            match Ipvs::open() {
                Ok(i) => self.ipvs = Some(i),
                Err(e) => log::warn!("{e}; lvs_sync_daemon not started"),
            }
        }
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        let running = match ipvs.daemons() {
            Ok(r) => r,
            Err(e) => {
                log::error!("IPVS: cannot list the sync daemons: {e}");
                return;
            }
        };
        // With lvs_sync_daemon set, kad runs this namespace's sync daemons (as keepalived): both
        // roles are its own, also those a previous checker started before it was respawned.
        let owned = if want.is_empty() {
            self.daemons_owned.clone()
        } else {
            self.daemons_owned = want.iter().map(|d| d.role).collect();
            [Role::Master, Role::Backup].into()
        };
        for change in reconcile_daemons(want, &running, &owned) {
            match change {
                DaemonChange::Stop(role) => match ipvs.stop_daemon(role) {
                    Ok(()) => {
                        log::info!("IPVS: stopped the {} sync daemon", role.name());
                        if want.is_empty() {
                            self.daemons_owned.remove(&role);
                        }
                    }
                    Err(e) => log::error!("IPVS: {e}"),
                },
                DaemonChange::Start(d) => match ipvs.start_daemon(&d) {
                    Ok(()) => log::info!("IPVS: started the {}", d.ipvsadm_line()),
                    Err(e) => log::error!("IPVS: {e}"),
                },
            }
        }
    }

    /// Graceful stop: removes kad's services (with `lvs_flush_on_stop`, flushes the whole
    /// table in one command, as keepalived) and restores the timeouts kad changed.
    pub fn remove_all(&mut self) {
        self.sync_daemons(&[]);
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        if self.settings.flush_on_stop {
            match ipvs.flush() {
                Ok(()) => log::info!("IPVS: flushed the table (lvs_flush_on_stop)"),
                Err(e) => log::error!("IPVS: lvs_flush_on_stop: {e}"),
            }
        } else if self.applied.is_some() || !self.owned.is_empty() {
            let keys = match self.applied.as_ref() {
                Some(t) => t.services.keys().cloned().collect(),
                None => self.owned.clone(),
            };
            let changes: Vec<Change> = keys.into_iter().map(Change::DelService).collect();
            let failed = ipvs.apply_all(&changes);
            log::info!("IPVS: removed {} service(s) of kad", changes.len() - failed);
        }
        self.applied = None;
        self.owned.clear();
        if let (Some(t), Some(_)) = (self.saved_timeouts, self.applied_timeouts) {
            match ipvs.set_timeouts(t) {
                Ok(()) => log::info!(
                    "IPVS: timeouts restored to tcp {} tcpfin {} udp {}",
                    t.tcp,
                    t.tcpfin,
                    t.udp
                ),
                Err(e) => log::error!("IPVS: {e}"),
            }
            self.applied_timeouts = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kad_core::config::{parse_file, ParseOptions};

    fn config(text: &str) -> Config {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kad-ipvs-sync-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("kad.conf");
        std::fs::write(&path, text).expect("write");
        let parsed = parse_file(&path, &ParseOptions::default());
        let _ = std::fs::remove_dir_all(&dir);
        parsed.config.expect("valid config")
    }

    /// Every real server up at weight 1.
    fn table(cfg: &Config) -> Table {
        let dests: Vec<Vec<Destination>> = cfg
            .virtual_servers
            .iter()
            .map(|vs| {
                vs.real_servers
                    .iter()
                    .map(|r| Destination {
                        addr: r.addr,
                        port: r.port.unwrap_or(0),
                        method: r.lvs_method,
                        weight: 1,
                        upper_threshold: 0,
                        lower_threshold: 0,
                        sorry: false,
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&[Destination]> = dests.iter().map(Vec::as_slice).collect();
        desired(cfg, &refs)
    }

    /// A refused change keeps every service kad may have in the kernel as kad's (so a later
    /// sync, repair or the stop still removes them); a full success owns exactly what it wants.
    #[test]
    fn a_refused_change_keeps_kads_services_owned() {
        let vs = |addr: &str| {
            format!("virtual_server {addr} 80 {{\n protocol TCP\n real_server 192.0.2.9 80 {{\n }}\n}}\n")
        };
        let a = table(&config(&(vs("198.51.100.1") + &vs("198.51.100.2"))));
        let b = table(&config(&(vs("198.51.100.2") + &vs("198.51.100.3"))));
        let keys = |t: &Table| t.services.keys().cloned().collect::<BTreeSet<_>>();
        let mut sync = IpvsSync::default();
        sync.after_apply(&a, BTreeSet::new(), 0);
        assert_eq!(sync.owned, keys(&a));
        assert!(sync.applied.is_some());
        sync.after_apply(&b, keys(&a), 1);
        assert!(sync.applied.is_none());
        let all: BTreeSet<_> = keys(&a).union(&keys(&b)).cloned().collect();
        assert_eq!(sync.owned.len(), 3);
        assert_eq!(sync.owned, all);
        sync.after_apply(&b, sync.owned.clone(), 0);
        assert_eq!(sync.owned, keys(&b));
    }

    fn ports(t: &Table) -> Vec<(String, u16)> {
        t.services
            .iter()
            .flat_map(|(k, (_, d))| d.keys().map(move |(_, p)| (format!("{k:?}"), *p)))
            .collect()
    }

    const DR: &str = "virtual_server 192.0.2.1 53 {\n protocol UDP\n lb_kind DR\n real_server 198.51.100.1 5353\n}\n\
        virtual_server 192.0.2.2 53 {\n protocol UDP\n lb_kind TUN\n real_server 198.51.100.1 5353\n}\n\
        virtual_server fwmark 7 {\n lb_kind DR\n real_server 198.51.100.1 80\n}\n\
        virtual_server fwmark 8 {\n real_server 198.51.100.1 80\n}\n\
        virtual_server 192.0.2.3 80 {\n protocol TCP\n real_server 198.51.100.1 8080\n}\n";

    #[test]
    fn dr_and_tun_destinations_take_the_service_port() {
        let got: Vec<u16> = ports(&table(&config(DR)))
            .into_iter()
            .map(|p| p.1)
            .collect();
        // TCP before UDP. keepalived 2.2.7 in the VM: 53 Route, 53 Tunnel, 8080 Masq, FWM 7 :0 Route, FWM 8 :80 Masq.
        assert_eq!(got, [8080, 53, 53, 0, 80]);
    }

    #[test]
    fn a_reload_changing_only_a_dr_real_servers_port_changes_nothing() {
        let old = table(&config(DR));
        let new = table(&config(
            &DR.replace("5353", "5354").replace(" 80\n}", " 81\n}\n"),
        ));
        let owned = old.services.keys().cloned().collect();
        let changes = reconcile(&new, &old, &owned);
        // Only the NAT fwmark destination (80 -> 81) moves: one delete and one add.
        assert_eq!(changes.len(), 2, "{changes:?}");
    }

    #[test]
    fn group_ranges_expand_to_every_address() {
        let cfg = config(
            "virtual_server_group g {\n 10.7.8.8/30 80\n 10.7.8.254-10.7.9.1 81\n}\n\
             virtual_server group g {\n protocol TCP\n real_server 127.0.0.1 8080\n}\n",
        );
        let keys = service_keys(&cfg, &cfg.virtual_servers[0]);
        let text: Vec<String> = keys
            .iter()
            .map(|k| match k {
                ServiceKey::Addr { addr, port, .. } => format!("{addr}:{port}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            text,
            [
                "10.7.8.8:80",
                "10.7.8.9:80",
                "10.7.8.10:80",
                "10.7.8.11:80",
                "10.7.8.254:81",
                "10.7.8.255:81",
                "10.7.9.0:81",
                "10.7.9.1:81"
            ]
        );
    }
}
