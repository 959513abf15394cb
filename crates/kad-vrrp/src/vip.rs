//! Virtual addresses through rtnetlink (neli): add on becoming MASTER, delete on leaving it.
//! Adding an address that is there, or deleting one that is not, is not an error.

use std::net::IpAddr;

use std::fmt::{Debug, Display};

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{Ifa, IfaF, Ifla, IflaInfo, IflaVlan, RtAddrFamily, RtScope, Rtm};
use neli::consts::socket::NlFamily;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder, Ifinfomsg, IfinfomsgBuilder, Rtattr, RtattrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, RtBuffer};
use neli::utils::Groups;
use neli::{FromBytesWithInput, Size, ToBytes};

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

/// `IFLA_MACVLAN_MODE` and `MACVLAN_MODE_PRIVATE` (linux/if_link.h), keepalived's mode.
const IFLA_MACVLAN_MODE: u16 = 1;
const MACVLAN_MODE_PRIVATE: u32 = 1;

/// One route attribute; a failure is reported through `err`.
pub(crate) fn attr<T, P>(
    kind: T,
    payload: P,
    err: &dyn Fn(&dyn Display) -> NlError,
) -> Result<Rtattr<T, Buffer>, NlError>
where
    T: Size,
    P: Size + ToBytes,
{
    RtattrBuilder::default()
        .rta_type(kind)
        .rta_payload(payload)
        .build()
        .map_err(|e| err(&e))
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
        let flags = NlmF::REQUEST | NlmF::ACK | NlmF::CREATE | NlmF::EXCL;
        self.address(Rtm::Newaddr, flags, ifindex, vip, libc::EEXIST)
    }

    /// Removes `vip` from interface `ifindex`.
    pub fn del(&self, ifindex: u32, vip: &Vip) -> Result<(), NlError> {
        let flags = NlmF::REQUEST | NlmF::ACK;
        self.address(Rtm::Deladdr, flags, ifindex, vip, libc::EADDRNOTAVAIL)
    }

    fn address(
        &self,
        kind: Rtm,
        flags: NlmF,
        ifindex: u32,
        vip: &Vip,
        benign: i32,
    ) -> Result<(), NlError> {
        let err = |e: &dyn Display| NlError(format!("{kind:?} {}/{}: {e}", vip.addr, vip.prefix));
        let mut attrs = RtBuffer::new();
        attrs.push(attr(Ifa::Local, octets(vip.addr), &err)?);
        attrs.push(attr(Ifa::Address, octets(vip.addr), &err)?);
        if let Some(b) = vip.broadcast {
            attrs.push(attr(Ifa::Broadcast, octets(b), &err)?);
        }
        if let Some(l) = &vip.label {
            attrs.push(attr(Ifa::Label, format!("{l}\0"), &err)?);
        }
        let (family, ifa_flags) = if vip.addr.is_ipv6() {
            (RtAddrFamily::Inet6, IfaF::NODAD)
        } else {
            (RtAddrFamily::Inet, IfaF::empty())
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
        self.exchange(kind, flags, msg, benign, &err)
    }

    /// Creates macvlan `name` (private mode) on interface `parent` with address `mac`, down
    /// (its sysctls are set before [`Netlink::set_up`] brings it up).
    pub fn create_macvlan(&self, name: &str, parent: u32, mac: [u8; 6]) -> Result<(), NlError> {
        let err = |e: &dyn Display| NlError(format!("create macvlan {name}: {e}"));
        let mut data = RtBuffer::<IflaVlan, Buffer>::new();
        data.push(attr(
            IflaVlan::UnrecognizedConst(IFLA_MACVLAN_MODE),
            MACVLAN_MODE_PRIVATE,
            &err,
        )?);
        let mut info = RtBuffer::<IflaInfo, Buffer>::new();
        info.push(attr(IflaInfo::Kind, "macvlan\0", &err)?);
        info.push(attr(IflaInfo::Data, data, &err)?);
        let mut attrs = RtBuffer::<Ifla, Buffer>::new();
        attrs.push(attr(Ifla::Ifname, format!("{name}\0"), &err)?);
        attrs.push(attr(Ifla::Link, parent, &err)?);
        attrs.push(attr(Ifla::Address, mac.to_vec(), &err)?);
        attrs.push(attr(Ifla::Linkinfo, info, &err)?);
        let msg: Ifinfomsg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .rtattrs(attrs)
            .build()
            .map_err(|e| err(&e))?;
        let flags = NlmF::REQUEST | NlmF::ACK | NlmF::CREATE | NlmF::EXCL;
        self.exchange(Rtm::Newlink, flags, msg, 0, &err)
    }

    /// Brings interface `index` up.
    pub fn set_up(&self, index: u32) -> Result<(), NlError> {
        let err = |e: &dyn Display| NlError(format!("set link {index} up: {e}"));
        let msg: Ifinfomsg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_index(index as i32)
            .up()
            .build()
            .map_err(|e| err(&e))?;
        self.exchange(Rtm::Newlink, NlmF::REQUEST | NlmF::ACK, msg, 0, &err)
    }

    /// Deletes interface `index` (an interface that is already gone is not an error).
    pub fn delete_link(&self, index: u32) -> Result<(), NlError> {
        let err = |e: &dyn Display| NlError(format!("delete link {index}: {e}"));
        let msg: Ifinfomsg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_index(index as i32)
            .build()
            .map_err(|e| err(&e))?;
        self.exchange(
            Rtm::Dellink,
            NlmF::REQUEST | NlmF::ACK,
            msg,
            libc::ENODEV,
            &err,
        )
    }

    /// Sends one request and reads its acknowledgement; an error code other than 0 and
    /// `benign` (the "already so" answer of this request) is returned.
    pub(crate) fn exchange<P>(
        &self,
        kind: Rtm,
        flags: NlmF,
        msg: P,
        benign: i32,
        err: &dyn Fn(&dyn Display) -> NlError,
    ) -> Result<(), NlError>
    where
        P: Size + ToBytes + FromBytesWithInput<Input = usize> + Debug,
    {
        let hdr = NlmsghdrBuilder::default()
            .nl_type(kind)
            .nl_flags(flags)
            .nl_payload(NlPayload::Payload(msg))
            .build()
            .map_err(|e| err(&e))?;
        self.sock.send(&hdr).map_err(|e| err(&e))?;
        let (msgs, _) = self.sock.recv::<u16, P>().map_err(|e| err(&e))?;
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
