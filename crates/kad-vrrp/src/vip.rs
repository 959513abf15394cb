//! Virtual addresses through rtnetlink (neli): add on becoming MASTER, delete on leaving it.
//! Adding an address that is there, or deleting one that is not, is not an error.

use std::net::IpAddr;

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{Ifa, IfaF, RtAddrFamily, RtScope, Rtm};
use neli::consts::socket::NlFamily;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder, RtattrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::RtBuffer;
use neli::utils::Groups;

/// An address to manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// Address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// Broadcast (IPv4).
    pub broadcast: Option<IpAddr>,
    /// Label (IPv4 alias name).
    pub label: Option<String>,
    /// Scope as a number (0 global, 253 link, 254 host, 200 site).
    pub scope: u8,
}

/// A netlink failure.
#[derive(Debug)]
pub struct NlError(pub String);

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A route netlink socket.
pub struct Netlink {
    sock: NlSocketHandle,
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn scope(n: u8) -> RtScope {
    match n {
        253 => RtScope::Link,
        254 => RtScope::Host,
        200 => RtScope::Site,
        255 => RtScope::Nowhere,
        _ => RtScope::Universe,
    }
}

impl Netlink {
    /// Connects to NETLINK_ROUTE.
    pub fn open() -> Result<Netlink, NlError> {
        let sock = NlSocketHandle::connect(NlFamily::Route, None, Groups::empty())
            .map_err(|e| NlError(format!("netlink connect: {e}")))?;
        Ok(Netlink { sock })
    }

    /// Adds `vip` to interface `ifindex`.
    pub fn add(&self, ifindex: u32, vip: &Vip) -> Result<(), NlError> {
        self.request(
            Rtm::Newaddr,
            NlmF::REQUEST | NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
            ifindex,
            vip,
            libc::EEXIST,
        )
    }

    /// Removes `vip` from interface `ifindex`.
    pub fn del(&self, ifindex: u32, vip: &Vip) -> Result<(), NlError> {
        self.request(
            Rtm::Deladdr,
            NlmF::REQUEST | NlmF::ACK,
            ifindex,
            vip,
            libc::EADDRNOTAVAIL,
        )
    }

    fn request(
        &self,
        kind: Rtm,
        flags: NlmF,
        ifindex: u32,
        vip: &Vip,
        benign: i32,
    ) -> Result<(), NlError> {
        let err = |e: &dyn std::fmt::Display| {
            NlError(format!("{kind:?} {}/{}: {e}", vip.addr, vip.prefix))
        };
        let mut attrs = RtBuffer::new();
        let bytes = octets(vip.addr);
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Ifa::Local)
                .rta_payload(bytes.clone())
                .build()
                .map_err(|e| err(&e))?,
        );
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Ifa::Address)
                .rta_payload(bytes)
                .build()
                .map_err(|e| err(&e))?,
        );
        if let Some(b) = vip.broadcast {
            attrs.push(
                RtattrBuilder::default()
                    .rta_type(Ifa::Broadcast)
                    .rta_payload(octets(b))
                    .build()
                    .map_err(|e| err(&e))?,
            );
        }
        if let Some(l) = &vip.label {
            attrs.push(
                RtattrBuilder::default()
                    .rta_type(Ifa::Label)
                    .rta_payload(format!("{l}\0"))
                    .build()
                    .map_err(|e| err(&e))?,
            );
        }
        let family = if vip.addr.is_ipv6() {
            RtAddrFamily::Inet6
        } else {
            RtAddrFamily::Inet
        };
        let ifa_flags = if vip.addr.is_ipv6() {
            IfaF::NODAD
        } else {
            IfaF::empty()
        };
        let msg: Ifaddrmsg = IfaddrmsgBuilder::default()
            .ifa_family(family)
            .ifa_prefixlen(vip.prefix)
            .ifa_flags(ifa_flags)
            .ifa_scope(scope(vip.scope))
            .ifa_index(ifindex)
            .rtattrs(attrs)
            .build()
            .map_err(|e| err(&e))?;
        let hdr = NlmsghdrBuilder::default()
            .nl_type(kind)
            .nl_flags(flags)
            .nl_payload(NlPayload::Payload(msg))
            .build()
            .map_err(|e| err(&e))?;
        self.sock.send(&hdr).map_err(|e| err(&e))?;
        let (msgs, _) = self.sock.recv::<u16, Ifaddrmsg>().map_err(|e| err(&e))?;
        for m in msgs {
            let m = m.map_err(|e| err(&e))?;
            if let NlPayload::Err(e) = m.nl_payload() {
                let code = -*e.error();
                if code != 0 && code != benign {
                    return Err(err(&std::io::Error::from_raw_os_error(code)));
                }
            }
        }
        Ok(())
    }
}

/// `IFLA_MACVLAN_MODE` and `MACVLAN_MODE_PRIVATE` (linux/if_link.h), keepalived's mode.
const IFLA_MACVLAN_MODE: u16 = 1;
const MACVLAN_MODE_PRIVATE: u32 = 1;

impl Netlink {
    /// Creates macvlan `name` (private mode) on interface `parent` with address `mac`, up.
    pub fn create_macvlan(&self, name: &str, parent: u32, mac: [u8; 6]) -> Result<(), NlError> {
        use neli::consts::rtnl::{Ifla, IflaInfo, IflaVlan};
        use neli::rtnl::{Ifinfomsg, IfinfomsgBuilder};
        use neli::types::Buffer;
        let err = |e: &dyn std::fmt::Display| NlError(format!("create macvlan {name}: {e}"));
        let mut data = RtBuffer::<IflaVlan, Buffer>::new();
        data.push(
            RtattrBuilder::default()
                .rta_type(IflaVlan::UnrecognizedConst(IFLA_MACVLAN_MODE))
                .rta_payload(MACVLAN_MODE_PRIVATE)
                .build()
                .map_err(|e| err(&e))?,
        );
        let mut info = RtBuffer::<IflaInfo, Buffer>::new();
        info.push(
            RtattrBuilder::default()
                .rta_type(IflaInfo::Kind)
                .rta_payload("macvlan\0")
                .build()
                .map_err(|e| err(&e))?,
        );
        info.push(
            RtattrBuilder::default()
                .rta_type(IflaInfo::Data)
                .rta_payload(data)
                .build()
                .map_err(|e| err(&e))?,
        );
        let mut attrs = RtBuffer::<Ifla, Buffer>::new();
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Ifla::Ifname)
                .rta_payload(format!("{name}\0"))
                .build()
                .map_err(|e| err(&e))?,
        );
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Ifla::Link)
                .rta_payload(parent)
                .build()
                .map_err(|e| err(&e))?,
        );
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Ifla::Address)
                .rta_payload(mac.to_vec())
                .build()
                .map_err(|e| err(&e))?,
        );
        attrs.push(
            RtattrBuilder::default()
                .rta_type(Ifla::Linkinfo)
                .rta_payload(info)
                .build()
                .map_err(|e| err(&e))?,
        );
        let msg: Ifinfomsg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .up()
            .rtattrs(attrs)
            .build()
            .map_err(|e| err(&e))?;
        self.link_request(
            Rtm::Newlink,
            NlmF::REQUEST | NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
            msg,
            0,
            &err,
        )
    }

    /// Deletes interface `index` (an interface that is already gone is not an error).
    pub fn delete_link(&self, index: u32) -> Result<(), NlError> {
        use neli::rtnl::{Ifinfomsg, IfinfomsgBuilder};
        let err = |e: &dyn std::fmt::Display| NlError(format!("delete link {index}: {e}"));
        let msg: Ifinfomsg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_index(index as i32)
            .build()
            .map_err(|e| err(&e))?;
        self.link_request(
            Rtm::Dellink,
            NlmF::REQUEST | NlmF::ACK,
            msg,
            libc::ENODEV,
            &err,
        )
    }

    fn link_request(
        &self,
        kind: Rtm,
        flags: NlmF,
        msg: neli::rtnl::Ifinfomsg,
        benign: i32,
        err: &dyn Fn(&dyn std::fmt::Display) -> NlError,
    ) -> Result<(), NlError> {
        let hdr = NlmsghdrBuilder::default()
            .nl_type(kind)
            .nl_flags(flags)
            .nl_payload(NlPayload::Payload(msg))
            .build()
            .map_err(|e| err(&e))?;
        self.sock.send(&hdr).map_err(|e| err(&e))?;
        let (msgs, _) = self
            .sock
            .recv::<u16, neli::rtnl::Ifinfomsg>()
            .map_err(|e| err(&e))?;
        for m in msgs {
            let m = m.map_err(|e| err(&e))?;
            if let NlPayload::Err(e) = m.nl_payload() {
                let code = -*e.error();
                if code != 0 && code != benign {
                    return Err(err(&std::io::Error::from_raw_os_error(code)));
                }
            }
        }
        Ok(())
    }
}
