//! More VIPs than one advert carries: as keepalived 2.2.7 does (docs/reference section 10),
//! the first ones the advert can hold (255, or fewer on a small MTU) are advertised and
//! checked in received adverts; the rest are installed as MASTER but never advertised.

use crate::Replay;

/// VRID 1 on eth0, priority 100, `n` /32 VIPs 198.51.100.1 onwards.
fn many(n: usize) -> String {
    let vips: String = addresses(n)
        .iter()
        .map(|a| format!("        {a}/32\n"))
        .collect();
    format!("vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 1\n    priority 100\n    advert_int 1\n    virtual_ipaddress {{\n{vips}    }}\n}}\n")
}

fn addresses(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("198.51.{}.{}", 100 + i / 250, i % 250 + 1))
        .collect()
}

#[test]
fn three_hundred_vips_advertise_255_and_hear_keepalived_s_255() {
    let mut r = Replay::new(&[("a", &many(300))]);
    let first = addresses(255).join(",");
    r.run(&format!(
        "
> start
< ...
= VI_1 advertised 255
= VI_1 excluded 45
# keepalived's master sends the same 255 (its excess went to eVIPs too): heard, the down
# timer restarts.
> at 1 advert 192.0.2.2 prio 150 addrs {first}
= VI_1 state BACKUP
= deadline 4.609
# All 300 listed cannot be sent: the count byte would wrap.
> next
< advert VI_1 prio 100 to 224.0.0.18
< ...
= VI_1 state MASTER
= sent count 255
= sent len 1036
"
    ));
}

#[test]
fn a_small_mtu_lowers_the_limit_as_in_keepalived() {
    let mut r = Replay::new(&[("a", &many(200))]);
    r.run(
        "
> mtu eth0 600
> start
< ...
= VI_1 advertised 137
= VI_1 excluded 63
> next
< advert VI_1 prio 100 to 224.0.0.18
< ...
= sent count 137
= sent len 564
",
    );
}

#[test]
fn up_to_255_vips_are_all_advertised() {
    let mut r = Replay::new(&[("a", &many(255))]);
    r.run(
        "
> start
< ...
= VI_1 advertised 255
= VI_1 excluded 0
> next
< advert VI_1 prio 100 to 224.0.0.18
< ...
= sent count 255
",
    );
}
