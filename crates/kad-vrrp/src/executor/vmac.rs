//! The sysctls keepalived 2.2.7 sets when it creates a vmac (measured, see
//! docs/reference/keepalived-2.2.7.md §1), so that a vmac speaks only for its VIPs and the
//! virtual MAC never leaves a BACKUP:
//!
//! - on the vmac: `arp_ignore=1` (answer ARP only for addresses on the vmac itself, the
//!   VIPs), `accept_local=1`, `promote_secondaries=1`; for an IPv4 instance also IPv6
//!   `addr_gen_mode=1` (none) and `disable_ipv6=1`, written while the link is still down so no
//!   link-local address (hence no MLD report, router solicitation or DAD) is ever made;
//! - on the base interface: `arp_ignore=1` and `arp_filter=1`. Like keepalived, kad does not
//!   restore these when it stops (they stay set).
//!
//! One addition of kad's, which keepalived 2.2.7 does not make: `arp_announce=2` on the base
//! (not restored either). Without it the MASTER's base interface, resolving a client to answer
//! it from the VIP, sends "who-has CLIENT tell VIP" from the base's own MAC, and the client
//! then sends the VIP's traffic to the base MAC instead of the virtual MAC.

/// (path, value) of each sysctl to write, in order, for vmac `vmac` on `base`.
pub(super) fn sysctls(vmac: &str, base: &str, ipv4: bool) -> Vec<(String, &'static str)> {
    let v4 = |dev: &str, key: &str| format!("/proc/sys/net/ipv4/conf/{dev}/{key}");
    let v6 = |key: &str| format!("/proc/sys/net/ipv6/conf/{vmac}/{key}");
    let mut out = Vec::new();
    if ipv4 {
        out.push((v6("addr_gen_mode"), "1"));
        out.push((v6("disable_ipv6"), "1"));
    }
    out.push((v4(vmac, "arp_ignore"), "1"));
    out.push((v4(vmac, "accept_local"), "1"));
    out.push((v4(vmac, "promote_secondaries"), "1"));
    out.push((v4(base, "arp_ignore"), "1"));
    out.push((v4(base, "arp_filter"), "1"));
    out.push((v4(base, "arp_announce"), "2"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_vmac_gets_no_ipv6_before_the_arp_settings() {
        let s = sysctls("vrrp.51", "eth0", true);
        let paths: Vec<&str> = s.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/proc/sys/net/ipv6/conf/vrrp.51/addr_gen_mode",
                "/proc/sys/net/ipv6/conf/vrrp.51/disable_ipv6",
                "/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore",
                "/proc/sys/net/ipv4/conf/vrrp.51/accept_local",
                "/proc/sys/net/ipv4/conf/vrrp.51/promote_secondaries",
                "/proc/sys/net/ipv4/conf/eth0/arp_ignore",
                "/proc/sys/net/ipv4/conf/eth0/arp_filter",
                "/proc/sys/net/ipv4/conf/eth0/arp_announce",
            ]
        );
        assert!(s
            .iter()
            .all(|(p, v)| *v == "1" || p.ends_with("arp_announce")));
        assert!(!sysctls("vrrp.51", "eth0", false)
            .iter()
            .any(|(p, _)| p.contains("ipv6")));
    }
}
