//! Our adverts: the message (v2 PASS, v3 checksum per destination), sealed in AH with the
//! instance's sequence number and the link's IPv4 identification under `auth_type AH`.

use std::net::IpAddr;

use kad_core::config::model::AuthType;

use super::{interval_cs, Effect, Engine};
use crate::ah;
use crate::packet::{Advert, Auth};

impl Engine {
    /// Builds instance `i`'s advert with `priority` for each destination on link `l`.
    pub(super) fn send_advert(&mut self, i: usize, l: usize, priority: u8) {
        let r = &mut self.instances[i];
        let auth = match (&r.cfg.authentication, r.cfg.version) {
            (Some(a), 2) if a.auth_type == AuthType::Pass => Auth::pass(&a.auth_pass),
            _ if r.ah_key.is_some() => Auth::Ah,
            _ => Auth::None,
        };
        let seq = r.ah_key.as_ref().map(|_| r.ah_seq.next_send());
        let advert = Advert {
            version: r.cfg.version,
            vrid: r.cfg.vrid,
            priority,
            interval_cs: interval_cs(r.cfg.advert_int),
            addresses: r.cfg.virtual_ipaddress.iter().map(|v| v.addr).collect(),
            auth,
        };
        // Multicast adverts leave with TTL 255; unicast ones with `unicast_ttl` (default 255).
        let (targets, ttl): (Vec<IpAddr>, u8) = if r.peers.is_empty() {
            (vec![r.group], 255)
        } else {
            (r.peers.clone(), r.cfg.unicast_ttl.unwrap_or(255))
        };
        let link = &mut self.links[l];
        let mut packets = Vec::with_capacity(targets.len());
        for dst in targets {
            // The v3 checksum covers the destination: one message per peer.
            let msg = advert.emit(link.src, dst);
            let bytes = match (dst, link.src, &r.ah_key, seq) {
                (IpAddr::V4(d), IpAddr::V4(src), Some(key), Some(seq)) => {
                    link.ip_id = link.ip_id.wrapping_add(1).max(1);
                    let seal = ah::Seal {
                        src,
                        dst: d,
                        id: link.ip_id,
                        seq,
                        ttl,
                    };
                    ah::seal(key, &seal, &msg)
                }
                _ => msg,
            };
            packets.push((dst, bytes));
        }
        let ah = r.ah_key.is_some() && link.src.is_ipv4();
        let instance = r.cfg.name.clone();
        self.emit(Effect::SendAdvert {
            instance,
            link: l,
            priority,
            ah,
            ttl,
            packets,
        });
    }

    /// Counts a sent advert, or logs why it was not.
    pub(super) fn sent(&mut self, name: &str, priority: u8, error: Option<String>) {
        let Some(r) = self.instances.iter_mut().find(|r| r.cfg.name == name) else {
            return;
        };
        match error {
            None => {
                r.stats.advert_sent += 1;
                if priority == 0 {
                    r.stats.pri_zero_sent += 1;
                }
            }
            Some(e) => log::warn!("({}) sending advert: {e}", r.cfg.name),
        }
    }
}
