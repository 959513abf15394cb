//! The engine's receive side: bounded reads, decoding, the checks of RFC 3768 §7.1 /
//! RFC 5798 §7.1 (TTL, version, interval, authentication including AH) with keepalived's
//! unicast rules (any TTL unless `min_ttl`/`max_ttl`, the source checked only with
//! `check_unicast_src`) and its address-list check (`skip_check_adv_addr`), and the drop
//! counters.
//!
//! Flood safety: a readable socket is read at most [`PACKETS_PER_WAKEUP`] packets at a time
//! ([`Effect::Read`]); a socket with more waiting goes on the backlog, which
//! [`Engine::next_deadline`] reports as due at once, so the loop runs the protocol timers and
//! the parent's messages before the next batch. A flood of adverts therefore never delays our
//! own adverts by more than one batch.

use crate::drop_reason::DropReason;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use kad_core::config::model::{AuthType, VrrpInstance};

use super::input::{Frame, Source};
use super::{interval_cs, Effect, Engine};
use crate::ah::{self, PROTO_AH};
use crate::instance::{Event, State};
use crate::net::parse_ipv4;
use crate::packet::{Advert, Auth, PROTO_VRRP};

/// Most packets read from one socket per wakeup before timers and IPC get their turn.
pub const PACKETS_PER_WAKEUP: usize = 64;

/// Shortest time between two log lines about dropped packets of one kind.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);

/// A received advert's envelope: source, destination, TTL / hop limit.
pub(super) struct Envelope {
    pub(super) src: IpAddr,
    pub(super) dst: IpAddr,
    pub(super) ttl: u8,
}

impl Engine {
    /// A socket is readable: read a bounded batch.
    pub(super) fn readable(&mut self, source: Source) {
        if source.link < self.links.len() {
            self.emit(Effect::Read {
                source,
                max: PACKETS_PER_WAKEUP,
            });
        }
    }

    /// The end of a batch: a socket that may have more goes on the backlog, due at once.
    pub(super) fn read_done(&mut self, source: Source, more: bool, now: Instant) {
        if more && !self.backlog.contains(&source) {
            self.backlog.push(source);
            self.backlog_at.get_or_insert(now);
        }
    }

    /// Asks for the sockets left on the backlog by earlier batches (after the timers ran).
    pub(super) fn drain_backlog(&mut self) {
        self.backlog_at = None;
        for source in std::mem::take(&mut self.backlog) {
            self.readable(source);
        }
    }

    /// One packet read from `source`.
    pub(super) fn packet(&mut self, source: Source, frame: Frame<'_>, now: Instant) {
        let l = source.link;
        if l >= self.links.len() {
            return;
        }
        let (env, bytes) = match frame {
            Frame::V4(p) => {
                let proto = if source.ah { PROTO_AH } else { PROTO_VRRP };
                let Some(m) = parse_ipv4(p, proto) else {
                    self.count_drop(DropReason::BadIpHeader);
                    return;
                };
                let env = Envelope {
                    src: IpAddr::V4(m.src),
                    dst: IpAddr::V4(m.dst),
                    ttl: m.ttl,
                };
                // Under AH the ICV covers the IPv4 header: the whole packet goes on.
                let range = if source.ah {
                    0..m.payload_end
                } else {
                    m.payload_at..m.payload_end
                };
                let Some(bytes) = p.get(range) else {
                    self.count_drop(DropReason::BadIpHeader);
                    return;
                };
                (env, bytes)
            }
            Frame::V6 {
                src,
                dst,
                hop_limit,
                payload,
            } => {
                let env = Envelope {
                    src: IpAddr::V6(src),
                    dst: IpAddr::V6(dst),
                    ttl: hop_limit,
                };
                (env, payload)
            }
        };
        if source.ah {
            self.receive_ah(l, &env, bytes, now);
        } else {
            self.receive(l, &env, bytes, None, now);
        }
    }

    /// Counts a drop that matches no instance.
    pub(super) fn count_drop(&mut self, reason: DropReason) {
        let n = self.drops.entry(reason).or_insert(0);
        *n = n.saturating_add(1);
        self.emit(Effect::Drop {
            instance: None,
            reason,
            log: None,
        });
    }

    /// An AH packet (IPv4 header, AH, VRRP): layout checked here, ICV and sequence number
    /// in [`Engine::check_advert`] once the instance (and so the key) is known.
    fn receive_ah(&mut self, l: usize, env: &Envelope, packet: &[u8], now: Instant) {
        if env.src == self.links[l].src {
            return;
        }
        match ah::Received::parse(packet) {
            Ok(rx) => self.receive(l, env, rx.vrrp(), Some(&rx), now),
            Err(e) => {
                // The VRID sits after the IPv4 and AH headers, if the packet is that long.
                let vrid = packet.get(ah::IPV4_LEN + ah::AH_LEN + 1).copied();
                self.drop_malformed(l, vrid, e.counter(), e.to_string(), now);
            }
        }
    }

    fn receive(
        &mut self,
        l: usize,
        env: &Envelope,
        msg: &[u8],
        ah: Option<&ah::Received>,
        now: Instant,
    ) {
        if env.src == self.links[l].src {
            return;
        }
        let advert = match Advert::parse(msg, env.src, env.dst) {
            Ok(a) => a,
            Err(e) => {
                self.drop_malformed(l, msg.get(1).copied(), e.counter(), e.to_string(), now);
                return;
            }
        };
        let Some(i) = self
            .instances
            .iter()
            .position(|r| r.link == Some(l) && r.cfg.vrid == advert.vrid)
        else {
            self.count_drop(DropReason::UnknownVrid);
            return;
        };
        let src = env.src;
        if let Some(line) = self.outside_peers(i, src) {
            // Counted with the drops that match no instance (the peer is not ours).
            let n = self
                .drops
                .entry(DropReason::UnknownUnicastPeer)
                .or_insert(0);
            *n = n.saturating_add(1);
            self.warn_limited(i, DropReason::UnknownUnicastPeer, now, line);
            return;
        }
        self.instances[i].stats.advert_rcvd += 1;
        if let Some((reason, line)) = self.check_advert(i, env, &advert, ah) {
            self.warn_limited(i, reason, now, line);
            return;
        }
        let r = &mut self.instances[i];
        if advert.priority == 0 {
            r.stats.pri_zero_rcvd += 1;
        }
        if r.machine.state() == State::Master && advert.priority == r.machine.priority() {
            // Two masters of one VRID at equal priority: the RFC tie-break settles it below;
            // kad makes it visible (counted always, logged once per episode).
            r.stats.split_brain += 1;
            if !r.split_brain_logged {
                r.split_brain_logged = true;
                log::warn!(
                    "({}) split brain: {src} is also MASTER with equal priority {}; the higher address keeps the role",
                    r.cfg.name,
                    advert.priority
                );
            }
        }
        let ev = Event::Advert {
            src,
            priority: advert.priority,
            interval: Duration::from_millis(u64::from(advert.interval_cs) * 10),
        };
        self.feed(i, now, ev);
    }

    /// Reports a drop for instance `i` (counted by the caller) with a log line at most once
    /// per [`DROP_LOG_EVERY`] for each instance and reason.
    fn warn_limited(&mut self, i: usize, reason: DropReason, now: Instant, line: String) {
        let last = self.logged.get(&(i, reason));
        let log = last
            .is_none_or(|t| now.saturating_duration_since(*t) >= DROP_LOG_EVERY)
            .then(|| {
                self.logged.insert((i, reason), now);
                format!("{line} (further such drops are counted, logged at most every 10 s)")
            });
        let instance = Some(self.instances[i].cfg.name.clone());
        self.emit(Effect::Drop {
            instance,
            reason,
            log,
        });
    }

    /// Checks an advert for instance `i`; a drop reason (counted here) and log line, or None.
    /// `ah` is the AH envelope the advert came in, if any.
    fn check_advert(
        &mut self,
        i: usize,
        env: &Envelope,
        advert: &Advert,
        ah: Option<&ah::Received>,
    ) -> Option<(DropReason, String)> {
        let r = &mut self.instances[i];
        let src = env.src;
        let name = &r.cfg.name;
        if let Some(line) = ttl_check(&r.cfg, env) {
            r.stats.ip_ttl_err += 1;
            return Some((DropReason::Ttl, line));
        }
        if advert.version != r.cfg.version {
            r.stats.invalid_type_rcvd += 1;
            let line = format!(
                "({name}) advert from {src} is VRRPv{}, we run v{}; dropped",
                advert.version, r.cfg.version
            );
            return Some((DropReason::Version, line));
        }
        if r.cfg.version == 2 {
            let want = match &r.cfg.authentication {
                Some(a) if a.auth_type == AuthType::Pass => Auth::pass(&a.auth_pass),
                Some(_) => Auth::Ah,
                None => Auth::None,
            };
            if std::mem::discriminant(&want) != std::mem::discriminant(&advert.auth) {
                r.stats.authtype_mismatch += 1;
                return Some((
                    DropReason::AuthType,
                    format!("({name}) advert from {src} has another authentication type; dropped"),
                ));
            }
            let verified = match (&want, ah, &r.ah_key) {
                (Auth::Ah, Some(rx), Some(key)) => rx.verify(key).map_err(|e| e.to_string()),
                // Authentication type 2 outside an AH header: nothing vouches for it.
                (Auth::Ah, _, _) => Err("type AH but not inside an AH header".to_string()),
                _ if want != advert.auth => Err("wrong password".to_string()),
                _ => Ok(()),
            };
            if let Err(why) = verified {
                r.stats.auth_failure += 1;
                return Some((
                    DropReason::Auth,
                    format!("({name}) advert from {src} failed authentication ({why}); dropped"),
                ));
            }
            let ours = interval_cs(r.cfg.advert_int);
            if advert.interval_cs != ours {
                r.stats.advert_interval_err += 1;
                let line = format!(
                    "({name}) advert interval mismatch from {src}: {} cs, ours {ours} cs; dropped",
                    advert.interval_cs
                );
                return Some((DropReason::Interval, line));
            }
        }
        if let Some(line) = address_check(r, env.src, advert) {
            r.stats.addr_list_err += 1;
            return Some((DropReason::AddressList, line));
        }
        if r.cfg.version == 2 {
            if let Some(rx) = ah {
                if let Err(e) = r.ah_seq.accept(rx.seq) {
                    r.stats.auth_failure += 1;
                    return Some((
                        DropReason::AuthSeq,
                        format!("({name}) advert from {src}: {e}; dropped"),
                    ));
                }
            }
        }
        None
    }

    /// keepalived's source check of a unicast instance `i`: with `check_unicast_src` (or a
    /// `min_ttl`/`max_ttl` on a peer, which turns it on) an advert from outside `unicast_peer`
    /// is dropped (the log line, keepalived's words); otherwise it is heard like any other.
    fn outside_peers(&self, i: usize, src: IpAddr) -> Option<String> {
        let r = &self.instances[i];
        let peers = &r.cfg.unicast_peers;
        let check = r.cfg.check_unicast_src
            || peers
                .iter()
                .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
        (!r.peers.is_empty() && check && !r.peers.contains(&src)).then(|| {
            format!(
                "({}) unicast source address {src} not a unicast peer",
                r.cfg.name
            )
        })
    }

    /// A packet that does not decode: counted on the instance of its VRID if there is one
    /// (`counter` names the kind), else by reason.
    fn drop_malformed(
        &mut self,
        l: usize,
        vrid: Option<u8>,
        counter: DropReason,
        what: String,
        now: Instant,
    ) {
        let Some(i) = self
            .instances
            .iter()
            .position(|r| r.link == Some(l) && Some(r.cfg.vrid) == vrid)
        else {
            self.count_drop(counter);
            return;
        };
        let r = &mut self.instances[i];
        match counter {
            DropReason::InvalidType | DropReason::VersionUnknown => r.stats.invalid_type_rcvd += 1,
            DropReason::AhFailure => r.stats.auth_failure += 1,
            DropReason::ZeroInterval => r.stats.advert_interval_err += 1,
            _ => r.stats.packet_len_err += 1,
        }
        let line = format!("({}) dropped a malformed advert: {what}", r.cfg.name);
        self.warn_limited(i, counter, now, line);
    }
}

/// keepalived's address-list check (measured on 2.2.7): every `virtual_ipaddress` of ours
/// must be in the advert and the counts must match, else the advert is dropped. With
/// `skip_check_adv_addr` an advert from the master we already follow is not checked.
fn address_check(r: &super::Running, src: IpAddr, advert: &Advert) -> Option<String> {
    if r.cfg.skip_check_adv_addr && r.machine.master() == Some(src) {
        return None;
    }
    let name = &r.cfg.name;
    let vrid = r.cfg.vrid;
    let ours = &r.cfg.virtual_ipaddress;
    if let Some(missing) = ours.iter().find(|v| !advert.addresses.contains(&v.addr)) {
        return Some(format!(
            "({name}) ip address associated with VRID {vrid} not present in MASTER advert: {}",
            missing.addr
        ));
    }
    (advert.addresses.len() != ours.len()).then(|| {
        format!(
            "({name}) advert from {src} has {} addresses, we have {}; dropped",
            advert.addresses.len(),
            ours.len()
        )
    })
}

/// The TTL / hop-limit rule, as keepalived 2.2.7 applies it: a multicast advert must come with
/// 255 (it cannot have crossed a router); a unicast advert may have crossed routers, so any
/// TTL is heard unless its peer's `unicast_peer` line gives `min_ttl` / `max_ttl` (an omitted
/// bound is 0 / 255). The drop's log line (keepalived's words), or None.
fn ttl_check(cfg: &VrrpInstance, env: &Envelope) -> Option<String> {
    let name = &cfg.name;
    let ttl = env.ttl;
    if cfg.unicast_peers.is_empty() {
        return (ttl != 255)
            .then(|| format!("({name}) invalid TTL/HL. Received {ttl} and expect 255"));
    }
    let peer = cfg.unicast_peers.iter().find(|p| p.addr == env.src)?;
    let (min, max) = (peer.min_ttl.unwrap_or(0), peer.max_ttl.unwrap_or(255));
    (ttl < min || ttl > max).then(|| format!("({name}) TTL/HL {ttl} not in range {min} - {max}"))
}
