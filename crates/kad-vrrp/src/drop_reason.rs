//! Why a received packet was dropped. Each reason feeds one of keepalived's counters in
//! keepalived.stats (or kad's "no instance" table) and names the drop in log lines and in the
//! replay tests' transcripts.

/// A reason to drop a received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Shorter than its headers, or a length field that does not match (Packet Errors: Length).
    PacketLen,
    /// A VRRP version the decoder does not know (Packet Errors: Invalid Type).
    VersionUnknown,
    /// Not an advertisement, or an AH header not followed by VRRP (Invalid Type).
    InvalidType,
    /// Wrong checksum.
    Checksum,
    /// Source and destination of different address families.
    Family,
    /// Advertisement interval 0 (Packet Errors: Advertisement Interval).
    ZeroInterval,
    /// An AH header that does not verify, a wrong SPI or a replayed sequence number
    /// (Authentication Errors: Failure), seen before the instance is known.
    AhFailure,
    /// An IPv4 or IPv6 header the link's socket cannot have delivered.
    BadIpHeader,
    /// No instance on that link has the VRID.
    UnknownVrid,
    /// A multicast advert with a TTL / hop limit other than 255, or a unicast one outside its
    /// peer's `min_ttl`..`max_ttl` (Packet Errors: TTL).
    Ttl,
    /// Another VRRP version than the instance runs (Invalid Type).
    Version,
    /// Another authentication type (Authentication Errors: Type Mismatch).
    AuthType,
    /// A wrong password, or an AH ICV that does not verify (Authentication Errors: Failure).
    Auth,
    /// Another advertisement interval than ours (VRRPv2; Advertisement Interval).
    Interval,
    /// An AH sequence number already seen (Authentication Errors: Failure).
    AuthSeq,
    /// A unicast advert from an address outside the instance's unicast_peer list, with
    /// `check_unicast_src` (or a peer's `min_ttl`/`max_ttl`) on.
    UnknownUnicastPeer,
    /// The advert's address list differs from our `virtual_ipaddress` (Packet Errors:
    /// Address List); not checked with `skip_check_adv_addr` when it comes from our master.
    AddressList,
}

impl DropReason {
    /// The name in logs, the stats dump's "no instance" lines and replay transcripts.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::PacketLen => "packet_len_err",
            DropReason::VersionUnknown => "version_err",
            DropReason::InvalidType => "invalid_type_rcvd",
            DropReason::Checksum => "checksum_err",
            DropReason::Family => "family_err",
            DropReason::ZeroInterval => "advert_interval_err",
            DropReason::AhFailure => "auth_failure",
            DropReason::BadIpHeader => "bad_ip_header",
            DropReason::UnknownVrid => "unknown_vrid",
            DropReason::Ttl => "ttl",
            DropReason::Version => "version",
            DropReason::AuthType => "auth_type",
            DropReason::Auth => "auth",
            DropReason::Interval => "interval",
            DropReason::AuthSeq => "auth_seq",
            DropReason::UnknownUnicastPeer => "unknown_unicast_peer",
            DropReason::AddressList => "addr_list_err",
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
