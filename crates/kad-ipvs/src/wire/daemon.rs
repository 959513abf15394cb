//! The connection-sync daemon messages (`IPVS_CMD_NEW_DAEMON`, `DEL_DAEMON`, `GET_DAEMON`),
//! byte for byte as ipvsadm 1.31 sends them (captured with strace in the ip_vs VM), and the
//! parser of the kernel's `GET_DAEMON` dump. The daemon attributes sit in a nested
//! `IPVS_CMD_ATTR_DAEMON` with `NLA_F_NESTED` set, as ipvsadm sets it; the port is in host
//! byte order (unlike a service's port), the IPv4 group in network order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{attrs, cmd, find, genl, get_addr, get_string, get_u16, get_u32, need, Attrs};
use super::{split_genl, WireError};

const CMD_ATTR_DAEMON: u16 = 3;
const NLA_F_NESTED: u16 = 0x8000;

const DAEMON_STATE: u16 = 1;
const DAEMON_MCAST_IFN: u16 = 2;
const DAEMON_SYNC_ID: u16 = 3;
const DAEMON_SYNC_MAXLEN: u16 = 4;
const DAEMON_MCAST_GROUP: u16 = 5;
const DAEMON_MCAST_GROUP6: u16 = 6;
const DAEMON_MCAST_PORT: u16 = 7;
const DAEMON_MCAST_TTL: u16 = 8;

/// The kernel's longest interface name for a sync daemon, NUL included (`IP_VS_IFNAME_MAXLEN`).
pub const IFNAME_MAX: usize = 16;

/// Which of the two sync daemons (`IP_VS_STATE_MASTER`, `IP_VS_STATE_BACKUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Sends the connection table.
    Master,
    /// Receives it.
    Backup,
}

impl Role {
    /// The kernel's number.
    pub fn code(self) -> u32 {
        match self {
            Role::Master => 1,
            Role::Backup => 2,
        }
    }

    /// As `ipvsadm -L --daemon` names it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Backup => "backup",
        }
    }
}

/// One sync daemon. In a request, `None` leaves a setting to the kernel (maxlen from the MTU,
/// port 8848, ttl 1, group 224.0.0.81); the kernel's dump fills every one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    /// Master or backup.
    pub role: Role,
    /// Interface (`mcast=`).
    pub interface: String,
    /// Sync id (`syncid=`).
    pub sync_id: u32,
    /// Largest payload (`maxlen=`).
    pub maxlen: Option<u16>,
    /// UDP port (`port=`).
    pub port: Option<u16>,
    /// Multicast TTL (`ttl=`).
    pub ttl: Option<u8>,
    /// Multicast group (`group=`).
    pub group: Option<IpAddr>,
}

/// The kernel's multicast group when none is given.
pub const DEFAULT_GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81));
/// The kernel's port when none is given.
pub const DEFAULT_PORT: u16 = 8848;
/// The kernel's TTL when none is given.
pub const DEFAULT_TTL: u8 = 1;

impl SyncDaemon {
    /// True if the running daemon `kernel` is what `self` asks for (a setting left to the
    /// kernel matches the kernel's default; an unset maxlen matches any).
    pub fn satisfied_by(&self, kernel: &SyncDaemon) -> bool {
        self.role == kernel.role
            && self.interface == kernel.interface
            && self.sync_id == kernel.sync_id
            && self.maxlen.is_none_or(|m| kernel.maxlen == Some(m))
            && kernel.port == Some(self.port.unwrap_or(DEFAULT_PORT))
            && kernel.ttl == Some(self.ttl.unwrap_or(DEFAULT_TTL))
            && kernel.group == Some(self.group.unwrap_or(DEFAULT_GROUP))
    }

    /// The line `ipvsadm -L --daemon` prints for this daemon (`default` for a setting left to the kernel).
    pub fn ipvsadm_line(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "default".into());
        format!(
            "{} sync daemon (mcast={}, syncid={}, maxlen={}, group={}, port={}, ttl={})",
            self.role.name(),
            self.interface,
            self.sync_id,
            opt(self.maxlen.map(|v| v.to_string())),
            opt(self.group.map(|v| v.to_string())),
            opt(self.port.map(|v| v.to_string())),
            opt(self.ttl.map(|v| v.to_string())),
        )
    }
}

fn nested_flagged(a: &mut Attrs, kind: u16, inner: Attrs) {
    a.put(kind | NLA_F_NESTED, &inner.0);
}

/// `IPVS_CMD_NEW_DAEMON`: starts `d` (attributes in ipvsadm's order).
pub fn new_daemon(d: &SyncDaemon) -> Vec<u8> {
    let mut inner = Attrs::default();
    inner
        .u32(DAEMON_STATE, d.role.code())
        .string(DAEMON_MCAST_IFN, &d.interface)
        .u32(DAEMON_SYNC_ID, d.sync_id);
    if let Some(m) = d.maxlen {
        inner.u16(DAEMON_SYNC_MAXLEN, m);
    }
    if let Some(p) = d.port {
        inner.u16(DAEMON_MCAST_PORT, p);
    }
    if let Some(t) = d.ttl {
        inner.put(DAEMON_MCAST_TTL, &[t]);
    }
    match d.group {
        Some(IpAddr::V4(g)) => {
            inner.put(DAEMON_MCAST_GROUP, &g.octets());
        }
        Some(IpAddr::V6(g)) => {
            inner.put(DAEMON_MCAST_GROUP6, &g.octets());
        }
        None => {}
    }
    let mut a = Attrs::default();
    nested_flagged(&mut a, CMD_ATTR_DAEMON, inner);
    genl(cmd::NEW_DAEMON, a)
}

/// `IPVS_CMD_DEL_DAEMON`: stops the `role` daemon (with an empty interface and sync id 0, as
/// ipvsadm sends it).
pub fn del_daemon(role: Role) -> Vec<u8> {
    let mut inner = Attrs::default();
    inner
        .u32(DAEMON_STATE, role.code())
        .string(DAEMON_MCAST_IFN, "")
        .u32(DAEMON_SYNC_ID, 0);
    let mut a = Attrs::default();
    nested_flagged(&mut a, CMD_ATTR_DAEMON, inner);
    genl(cmd::DEL_DAEMON, a)
}

/// A daemon from one message of a `GET_DAEMON` dump.
pub fn parse_daemon(payload: &[u8]) -> Result<SyncDaemon, WireError> {
    let (_, top) = split_genl(payload)?;
    let list = attrs(need(&top, CMD_ATTR_DAEMON, "sync daemon")?)?;
    let role = match get_u32(need(&list, DAEMON_STATE, "daemon state")?, "daemon state")? {
        1 => Role::Master,
        2 => Role::Backup,
        n => return Err(WireError(format!("sync daemon state {n}"))),
    };
    let group = match (
        find(&list, DAEMON_MCAST_GROUP),
        find(&list, DAEMON_MCAST_GROUP6),
    ) {
        (_, Some(b)) => match get_addr(b, true, "group6")? {
            IpAddr::V6(a) if a != Ipv6Addr::UNSPECIFIED => Some(IpAddr::V6(a)),
            _ => find(&list, DAEMON_MCAST_GROUP)
                .map(|b| get_addr(b, false, "group"))
                .transpose()?,
        },
        (Some(b), None) => Some(get_addr(b, false, "group")?),
        (None, None) => None,
    };
    Ok(SyncDaemon {
        role,
        interface: get_string(need(&list, DAEMON_MCAST_IFN, "daemon interface")?),
        sync_id: get_u32(need(&list, DAEMON_SYNC_ID, "sync id")?, "sync id")?,
        maxlen: find(&list, DAEMON_SYNC_MAXLEN)
            .map(|b| get_u16(b, "maxlen"))
            .transpose()?,
        port: find(&list, DAEMON_MCAST_PORT)
            .map(|b| get_u16(b, "port"))
            .transpose()?,
        ttl: find(&list, DAEMON_MCAST_TTL)
            .map(|b| {
                b.first()
                    .copied()
                    .ok_or_else(|| WireError("ttl: 0 bytes".into()))
            })
            .transpose()?,
        group,
    })
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    /// `ipvsadm --start-daemon master --mcast-interface vethA --syncid 9 --sync-maxlen 1400
    /// --mcast-port 8849 --mcast-ttl 3 --mcast-group 224.0.0.83` (strace, ip_vs VM).
    const IPVSADM_START_MASTER: [u8; 68] = [
        0x09, 0x01, 0x00, 0x00, 0x40, 0x00, 0x03, 0x80, 0x08, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x0a, 0x00, 0x02, 0x00, 0x76, 0x65, 0x74, 0x68, 0x41, 0x00, 0x00, 0x00, 0x08, 0x00,
        0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x06, 0x00, 0x04, 0x00, 0x78, 0x05, 0x00, 0x00, 0x06,
        0x00, 0x07, 0x00, 0x91, 0x22, 0x00, 0x00, 0x05, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x05, 0x00, 0xe0, 0x00, 0x00, 0x53,
    ];
    /// `ipvsadm --stop-daemon master`.
    const IPVSADM_STOP_MASTER: [u8; 32] = [
        0x0a, 0x01, 0x00, 0x00, 0x1c, 0x00, 0x03, 0x80, 0x08, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x05, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ];
    /// `ipvsadm --start-daemon backup --mcast-interface vethA`.
    const IPVSADM_START_BACKUP: [u8; 36] = [
        0x09, 0x01, 0x00, 0x00, 0x20, 0x00, 0x03, 0x80, 0x08, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
        0x00, 0x0a, 0x00, 0x02, 0x00, 0x76, 0x65, 0x74, 0x68, 0x41, 0x00, 0x00, 0x00, 0x08, 0x00,
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn master() -> SyncDaemon {
        SyncDaemon {
            role: Role::Master,
            interface: "vethA".into(),
            sync_id: 9,
            maxlen: Some(1400),
            port: Some(8849),
            ttl: Some(3),
            group: Some(IpAddr::from([224, 0, 0, 83])),
        }
    }

    #[test]
    fn messages_are_ipvsadms_bytes() {
        assert_eq!(new_daemon(&master()), IPVSADM_START_MASTER);
        assert_eq!(del_daemon(Role::Master), IPVSADM_STOP_MASTER);
        let backup = SyncDaemon {
            role: Role::Backup,
            interface: "vethA".into(),
            sync_id: 0,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        assert_eq!(new_daemon(&backup), IPVSADM_START_BACKUP);
        assert_eq!(super::super::bare(cmd::GET_DAEMON), [11, 1, 0, 0]);
    }

    #[test]
    fn a_dump_reply_parses_and_garbage_is_an_error() {
        // The kernel's dump carries the same attributes (nested flag masked off when split).
        assert_eq!(parse_daemon(&IPVSADM_START_MASTER), Ok(master()));
        let mut v6 = master();
        v6.group = Some("ff02::1:5".parse().expect("v6"));
        assert_eq!(parse_daemon(&new_daemon(&v6)), Ok(v6.clone()));
        assert_eq!(
            v6.ipvsadm_line(),
            "master sync daemon (mcast=vethA, syncid=9, maxlen=1400, group=ff02::1:5, port=8849, ttl=3)"
        );
        for n in 0..IPVSADM_START_MASTER.len() {
            let _ = parse_daemon(&IPVSADM_START_MASTER[..n]);
        }
        let mut bad_state = IPVSADM_START_MASTER;
        bad_state[12] = 7;
        assert!(parse_daemon(&bad_state).is_err());
        assert!(parse_daemon(&IPVSADM_STOP_MASTER[..8]).is_err());
        let mut empty_ttl = IPVSADM_START_MASTER.to_vec();
        empty_ttl[52] = 4; // the TTL attribute without its byte
        assert!(parse_daemon(&empty_ttl).is_err());
    }

    #[test]
    fn defaults_left_to_the_kernel_match_what_it_reports() {
        let mut want = master();
        want.maxlen = None;
        want.port = None;
        want.ttl = None;
        want.group = None;
        let mut kernel = master();
        kernel.maxlen = Some(1472);
        kernel.port = Some(DEFAULT_PORT);
        kernel.ttl = Some(DEFAULT_TTL);
        kernel.group = Some(DEFAULT_GROUP);
        assert!(want.satisfied_by(&kernel));
        kernel.port = Some(8849);
        assert!(!want.satisfied_by(&kernel));
        assert!(master().satisfied_by(&master()));
        let mut other_role = master();
        other_role.role = Role::Backup;
        assert!(!master().satisfied_by(&other_role));
    }
}
