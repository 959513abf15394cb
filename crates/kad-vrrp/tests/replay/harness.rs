//! The replay harness: a keepalived.conf and an event script in, the engine's effects out,
//! compared line by line. No root, no sockets: the harness plays the executor (it answers
//! OpenLink, CreateVmac and SendAdvert as a working system would, and serves queued packets
//! to Read).
//!
//! Script lines:
//! - `> [at SECS] INPUT` feeds an input (at SECS seconds after the start, else at the
//!   current time). INPUT is `start [CONF]`, `reload CONF`, `shutdown`, `timer`, `next`
//!   (advance to the engine's next deadline, then timer), `script NAME ok|fail`,
//!   `maintenance NAME on|off`, `link IFACE up|down`, `addr-deleted IFACE ADDR`, `advert SRC [FIELD VALUE]...` (one
//!   packet, see [`Replay::advert`]), `queue N advert ...` (N packets waiting on the socket,
//!   no input), `readable [ah] IFACE`, `garbage IFACE` (a packet too short for IPv4),
//!   `break IFACE` (its sockets will fail to open; no input), `mtu IFACE N` (its MTU from
//!   the next start or reload on; no input).
//! - `< EFFECT` the next effect of the last input, in order; `< ...` ignores the rest. Every
//!   effect must be listed (or `...`).
//! - `= WHAT VALUE` checks state: `= INSTANCE state S`, `= INSTANCE priority P`,
//!   `= INSTANCE COUNTER N` (dump counter names), `= INSTANCE ah_seq N`,
//!   `= INSTANCE advertised N` / `excluded N` (its VIPs in and out of the advert), `= drops REASON N`,
//!   `= time SECS`, `= deadline SECS|none`, `= log TEXT` (the last drop log line starts with
//!   TEXT), `= sent count N` / `= sent len N` (the last advert sent: its address count
//!   byte, its VRRP length).
//! - `#` comments and blank lines.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kad_core::config::{parse_file, Config, ParseOptions};
use kad_vrrp::ah;
use kad_vrrp::engine::{Effect, Engine, Facts, Frame, Iface, Input, Source};
use kad_vrrp::packet::{Advert, Auth};

/// The harness's interfaces: name, index, IPv4 address.
const IFACES: [(&str, u32, [u8; 4]); 3] = [
    ("eth0", 2, [192, 0, 2, 1]),
    ("eth1", 3, [198, 51, 100, 1]),
    ("dummy0", 4, [192, 0, 2, 201]),
];

/// An engine and the executor it would have.
pub struct Replay {
    engine: Engine,
    configs: HashMap<String, Config>,
    facts: Facts,
    t0: Instant,
    now: Instant,
    /// Links opened so far: name and index by link number.
    links: Vec<String>,
    /// Packets waiting on each socket.
    queued: HashMap<Source, VecDeque<Vec<u8>>>,
    vmacs: u32,
    /// Interfaces whose sockets fail to open.
    broken: Vec<String>,
    /// The last drop log line.
    last_log: Option<String>,
    /// The VRRP message of the last advert sent (IPv4 without AH: as emitted).
    last_sent: Vec<u8>,
}

fn write_config(text: &str) -> Config {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kad-replay-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path: PathBuf = dir.join("keepalived.conf");
    std::fs::write(&path, text).expect("write config");
    let parsed = parse_file(&path, &ParseOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    let rendered = parsed.rendered();
    parsed
        .config
        .unwrap_or_else(|| panic!("config does not parse: {rendered:?}"))
}

fn secs(t: &str) -> Duration {
    Duration::from_secs_f64(t.parse().unwrap_or_else(|_| panic!("bad time {t}")))
}

impl Replay {
    /// A harness for the named configurations.
    pub fn new(configs: &[(&str, &str)]) -> Replay {
        let mut facts = Facts::default();
        for (name, index, v4) in IFACES {
            facts.ifaces.insert(
                name.to_string(),
                Iface {
                    index,
                    mac: [0x52, 0x54, 0, 0, 0, index as u8],
                    running: true,
                    ipv4: Some(Ipv4Addr::from(v4)),
                    ipv6_ll: None,
                    mtu: Some(1500),
                },
            );
        }
        let t0 = Instant::now();
        Replay {
            engine: Engine::new(),
            configs: configs
                .iter()
                .map(|(n, t)| (n.to_string(), write_config(t)))
                .collect(),
            facts,
            t0,
            now: t0,
            links: Vec::new(),
            queued: HashMap::new(),
            vmacs: 0,
            broken: Vec::new(),
            last_log: None,
            last_sent: Vec::new(),
        }
    }

    /// Runs a script (see the module docs); panics with the line and what differed.
    pub fn run(&mut self, script: &str) {
        let mut got: VecDeque<String> = VecDeque::new();
        let mut last = String::new();
        let mut open = false;
        for (n, raw) in script.lines().enumerate() {
            let line = raw.trim();
            let at = |what: &str| format!("script line {}: `{line}`: {what}", n + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(want) = line.strip_prefix('<') {
                let want = want.trim();
                if want == "..." {
                    got.clear();
                    continue;
                }
                match got.pop_front() {
                    Some(g) if g == want => {}
                    Some(g) => panic!("{}", at(&format!("after `{last}` got `{g}`"))),
                    None => panic!("{}", at(&format!("`{last}` had no more effects"))),
                }
                continue;
            }
            if let Some(check) = line.strip_prefix('=') {
                if let Err(e) = self.check(check.trim()) {
                    panic!("{}", at(&e));
                }
                continue;
            }
            if open && !got.is_empty() {
                panic!(
                    "{}",
                    at(&format!("`{last}` had effects not listed: {:?}", got))
                );
            }
            let input = line
                .strip_prefix('>')
                .unwrap_or_else(|| panic!("{}", at("a line starts with >, < or =")));
            got = self.input(input.trim()).into();
            last = input.trim().to_string();
            open = true;
        }
        if open && !got.is_empty() {
            panic!("the script's last input `{last}` had effects not listed: {got:?}");
        }
    }

    fn link_of(&self, ifname: &str) -> usize {
        self.links
            .iter()
            .position(|l| l == ifname)
            .unwrap_or_else(|| panic!("no link on {ifname}"))
    }

    /// Feeds one script input; returns the rendered effects.
    fn input(&mut self, text: &str) -> Vec<String> {
        let mut words: Vec<&str> = text.split_whitespace().collect();
        if words.first() == Some(&"at") {
            self.now = self.t0 + secs(words.get(1).expect("at SECS"));
            words.drain(..2);
        }
        let mut out = Vec::new();
        match words.as_slice() {
            [] => {}
            ["start", rest @ ..] => {
                let name = rest.first().copied().unwrap_or("a");
                let config = self.configs.get(name).expect("config").clone();
                let facts = self.facts.clone();
                self.feed(
                    Input::Start {
                        config: &config,
                        facts,
                    },
                    &mut out,
                );
            }
            ["reload", name] => {
                let config = self.configs.get(*name).expect("config").clone();
                let facts = self.facts.clone();
                self.feed(
                    Input::Reload {
                        config: &config,
                        facts,
                    },
                    &mut out,
                );
            }
            ["shutdown"] => self.feed(Input::Shutdown, &mut out),
            ["timer"] => self.feed(Input::Timer, &mut out),
            ["next"] => {
                self.now = self.engine.next_deadline().expect("a deadline");
                self.feed(Input::Timer, &mut out);
            }
            ["script", name, ok] => {
                let ok = *ok == "ok";
                self.feed(Input::Script { name, ok }, &mut out);
            }
            ["maintenance", name, on] => {
                let on = *on == "on";
                self.feed(Input::Maintenance { name, on }, &mut out);
            }
            ["link", name, up] => {
                let up = *up == "up";
                let f = self.facts.ifaces.get_mut(*name).expect("interface");
                f.running = up;
                let index = f.index;
                let name = Some(name.to_string());
                self.feed(Input::Link { index, name, up }, &mut out);
            }
            ["addr-deleted", name, addr] => {
                let index = self.facts.ifaces[*name].index;
                let addr: IpAddr = addr.parse().expect("address");
                self.feed(Input::AddressDeleted { index, addr }, &mut out);
            }
            ["advert", rest @ ..] => {
                let (source, frame) = self.advert(rest);
                let frame = Frame::V4(&frame);
                self.feed(Input::Packet { source, frame }, &mut out);
            }
            ["queue", n, "advert", rest @ ..] => {
                for _ in 0..n.parse::<usize>().expect("count") {
                    let (source, frame) = self.advert(rest);
                    self.queued.entry(source).or_default().push_back(frame);
                }
            }
            ["break", name] => self.broken.push(name.to_string()),
            ["mtu", name, n] => {
                let f = self.facts.ifaces.get_mut(*name).expect("interface");
                f.mtu = Some(n.parse().expect("mtu"));
            }
            ["garbage", name] => {
                // Too short for an IPv4 header.
                let link = self.link_of(name);
                let source = Source { link, ah: false };
                let frame = Frame::V4(&[0x45, 0, 0, 8, 1, 2, 3, 4]);
                self.feed(Input::Packet { source, frame }, &mut out);
            }
            ["readable", "ah", name] => {
                let link = self.link_of(name);
                self.feed(Input::Readable(Source { link, ah: true }), &mut out);
            }
            ["readable", name] => {
                let link = self.link_of(name);
                self.feed(Input::Readable(Source { link, ah: false }), &mut out);
            }
            _ => panic!("unknown input `{text}`"),
        }
        out
    }

    /// An IPv4 advert from `SRC` with optional fields: `to DST` (224.0.0.18), `on IFACE`
    /// (eth0), `vrid N` (1), `prio P` (100), `ttl T` (255), `int CS` (100), `ver V` (2),
    /// `pass PW`, `ah PW` with `seq N`, `addrs A,B` (see [`Replay::advert_addresses`]),
    /// `badsum`.
    pub fn advert(&self, words: &[&str]) -> (Source, Vec<u8>) {
        let src: Ipv4Addr = words.first().expect("source").parse().expect("source");
        let mut field: HashMap<&str, &str> = HashMap::new();
        let mut badsum = false;
        let mut rest = words.get(1..).unwrap_or_default().iter();
        while let Some(k) = rest.next() {
            if *k == "badsum" {
                badsum = true;
                continue;
            }
            field.insert(k, rest.next().expect("a value"));
        }
        let get = |k: &str, d: &'static str| field.get(k).copied().unwrap_or(d);
        let dst: Ipv4Addr = get("to", "224.0.0.18").parse().expect("to");
        let ah_pass = field.get("ah").copied();
        let auth = match (field.get("pass"), ah_pass) {
            (Some(p), _) => Auth::pass(p),
            (None, Some(_)) => Auth::Ah,
            _ => Auth::None,
        };
        let advert = Advert {
            version: get("ver", "2").parse().expect("ver"),
            vrid: get("vrid", "1").parse().expect("vrid"),
            priority: get("prio", "100").parse().expect("prio"),
            interval_cs: get("int", "100").parse().expect("int"),
            addresses: self.advert_addresses(&field),
            auth,
        };
        let mut msg = advert.emit(IpAddr::V4(src), IpAddr::V4(dst));
        if badsum {
            msg[6] ^= 0xff;
        }
        let link = self.link_of(get("on", "eth0"));
        if let Some(pw) = ah_pass {
            let seal = ah::Seal {
                src,
                dst,
                id: 7,
                seq: get("seq", "1").parse().expect("seq"),
                ttl: get("ttl", "255").parse().expect("ttl"),
            };
            let packet = ah::seal(&ah::Key::new(pw), &seal, &msg);
            return (Source { link, ah: true }, packet);
        }
        let total = (20 + msg.len()) as u16;
        let mut p = vec![0x45, 0xc0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[
            0,
            1,
            0,
            0,
            get("ttl", "255").parse().expect("ttl"),
            112,
            0,
            0,
        ]);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(&msg);
        (Source { link, ah: false }, p)
    }

    /// The addresses of an advert: `addrs A,B,...` (`none` for none), else those of the
    /// running instance with that VRID on that interface, else 192.0.2.100.
    fn advert_addresses(&self, field: &HashMap<&str, &str>) -> Vec<IpAddr> {
        if let Some(list) = field.get("addrs") {
            return list
                .split(',')
                .filter(|a| *a != "none")
                .map(|a| a.parse().expect("addrs"))
                .collect();
        }
        let vrid: u8 = field.get("vrid").unwrap_or(&"1").parse().expect("vrid");
        let on = field.get("on").copied().unwrap_or("eth0");
        self.engine
            .instances
            .iter()
            .find(|r| r.cfg.vrid == vrid && r.cfg.interface == on)
            .map(|r| r.cfg.virtual_ipaddress.iter().map(|v| v.addr).collect())
            .unwrap_or_else(|| vec![IpAddr::from([192, 0, 2, 100])])
    }

    /// Feeds an input and plays the executor for its effects: each carried out in order, the
    /// answers (link opened, vmac created, advert sent) fed once the list is done.
    fn feed(&mut self, input: Input<'_>, out: &mut Vec<String>) {
        let mut answers = VecDeque::new();
        for e in self.engine.handle(self.now, input) {
            answers.extend(self.carry_out(e, out));
        }
        while let Some(a) = answers.pop_front() {
            for e in self.engine.handle(self.now, a) {
                answers.extend(self.carry_out(e, out));
            }
        }
    }

    fn carry_out(&mut self, e: Effect, out: &mut Vec<String>) -> Option<Input<'static>> {
        out.push(self.render(&e));
        match e {
            Effect::Drop {
                log: Some(line), ..
            } => {
                self.last_log = Some(line);
                None
            }
            Effect::OpenLink { link, ifname, .. } => {
                assert_eq!(link, self.links.len(), "links are numbered in order");
                let ok = !self.broken.contains(&ifname);
                self.links.push(ifname);
                Some(Input::LinkOpened { link, ok })
            }
            Effect::CreateVmac { instance, mac, .. } => {
                self.vmacs += 1;
                let iface = Iface {
                    index: 100 + self.vmacs,
                    mac,
                    running: true,
                    ipv4: None,
                    ipv6_ll: None,
                    mtu: Some(1500),
                };
                let iface = Some(iface);
                Some(Input::VmacCreated { instance, iface })
            }
            Effect::SendAdvert {
                instance,
                priority,
                packets,
                ..
            } => {
                if let Some((_, msg)) = packets.first() {
                    self.last_sent.clone_from(msg);
                }
                Some(Input::Sent {
                    instance,
                    priority,
                    error: None,
                })
            }
            Effect::Read { source, max } => {
                let mut read = 0;
                while read < max {
                    let Some(p) = self.queued.get_mut(&source).and_then(VecDeque::pop_front) else {
                        break;
                    };
                    read += 1;
                    let frame = Frame::V4(&p);
                    self.feed(Input::Packet { source, frame }, out);
                }
                let more = read == max;
                self.feed(Input::ReadDone { source, more }, out);
                None
            }
            _ => None,
        }
    }

    fn render(&self, e: &Effect) -> String {
        let vips = |v: &[(u32, kad_vrrp::vip::Vip)]| {
            v.iter()
                .map(|(i, v)| format!("{}/{}@{i}", v.addr, v.prefix))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let src = |s: &Source| {
            let name = self.links.get(s.link).map(String::as_str).unwrap_or("?");
            if s.ah {
                format!("{name} ah")
            } else {
                name.to_string()
            }
        };
        match e {
            Effect::OpenLink {
                ifname, src, join, ..
            } => match join {
                Some(g) => format!("open {ifname} from {src} join {g}"),
                None => format!("open {ifname} from {src}"),
            },
            Effect::JoinGroup { link, group } => format!("join {} {group}", self.links[*link]),
            Effect::OpenAh { link, join } => match join {
                Some(g) => format!("open ah {} join {g}", self.links[*link]),
                None => format!("open ah {}", self.links[*link]),
            },
            Effect::Read { source, max } => format!("read {} max {max}", src(source)),
            Effect::SendAdvert {
                instance,
                priority,
                ah,
                ttl,
                packets,
                ..
            } => {
                let name = instance;
                let to: Vec<String> = packets.iter().map(|(d, _)| d.to_string()).collect();
                let seq = packets
                    .first()
                    .filter(|_| *ah)
                    .and_then(|(_, p)| p.get(28..32))
                    .map(|b| format!(" ah seq {}", u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
                    .unwrap_or_default();
                // The TTL shows only where it is not the default 255 (`unicast_ttl`).
                let ttl = if *ttl == 255 {
                    String::new()
                } else {
                    format!(" ttl {ttl}")
                };
                format!(
                    "advert {name} prio {priority}{seq}{ttl} to {}",
                    to.join(",")
                )
            }
            Effect::AddVips { instance, vips: v } => format!("add {instance} {}", vips(v)),
            Effect::DelVips { instance, vips: v } => format!("del {instance} {}", vips(v)),
            Effect::Routes {
                instance,
                add,
                routes,
                rules,
            } => {
                let mut s = format!("{} routes {instance}", if *add { "add" } else { "del" });
                for (oif, r) in routes {
                    s += &format!(" {}/{}", r.dst.0, r.dst.1);
                    if let Some(i) = oif {
                        s += &format!("@{i}");
                    }
                }
                if !rules.is_empty() {
                    s += " rules";
                    for r in rules {
                        s += &format!(" {}", r.priority);
                    }
                }
                s
            }
            Effect::Garp { port, addr } => format!("garp {} {addr}", port.name),
            Effect::CreateVmac {
                name, base_name, ..
            } => format!("vmac {name} on {base_name}"),
            Effect::DeleteVmac { name, .. } => format!("delete vmac {name}"),
            Effect::MasterRxLowerPri { instance } => format!("notify lower {instance}"),
            Effect::StateChange {
                name,
                state,
                priority,
            } => format!("{name} {} {priority}", state.name()),
            Effect::Drop {
                instance,
                reason,
                log,
            } => {
                let mut s = format!("drop {reason}");
                if let Some(i) = instance {
                    s += &format!(" {i}");
                }
                if log.is_some() {
                    s += " logged";
                }
                s
            }
        }
    }

    fn check(&self, text: &str) -> Result<(), String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let rel = |t: Instant| format!("{:.3}", t.duration_since(self.t0).as_secs_f64());
        let (what, want) = match words.as_slice() {
            ["time", t] => (rel(self.now), format!("{:.3}", secs(t).as_secs_f64())),
            ["deadline", "none"] => (
                self.engine
                    .next_deadline()
                    .map(rel)
                    .unwrap_or("none".into()),
                "none".into(),
            ),
            ["deadline", t] => (
                self.engine
                    .next_deadline()
                    .map(rel)
                    .unwrap_or("none".into()),
                format!("{:.3}", secs(t).as_secs_f64()),
            ),
            ["log", text @ ..] => {
                let want = text.join(" ");
                let got = self.last_log.clone().unwrap_or_default();
                let got = if got.starts_with(&want) {
                    want.clone()
                } else {
                    got
                };
                (got, want)
            }
            ["sent", "count", n] => (
                self.last_sent.get(3).map_or("none".into(), u8::to_string),
                n.to_string(),
            ),
            ["sent", "len", n] => (self.last_sent.len().to_string(), n.to_string()),
            ["drops", reason, n] => (
                self.engine
                    .drops
                    .iter()
                    .find(|(r, _)| r.name() == *reason)
                    .map_or(0, |(_, n)| *n)
                    .to_string(),
                n.to_string(),
            ),
            [name, field, value] => {
                let r = self
                    .engine
                    .instance(name)
                    .ok_or(format!("no instance {name}"))?;
                let got = match *field {
                    "state" => r.machine.state().name().to_string(),
                    "priority" => r.machine.priority().to_string(),
                    "effective" => r.machine.effective_priority().to_string(),
                    "ah_seq" => r.ah_seq().to_string(),
                    "advertised" => r.cfg.virtual_ipaddress.len().to_string(),
                    "excluded" => r.cfg.virtual_ipaddress_excluded.len().to_string(),
                    counter => serde_json::to_value(&r.stats)
                        .ok()
                        .and_then(|v| v.get(counter).map(|c| c.to_string()))
                        .ok_or(format!("no counter {counter}"))?,
                };
                (got, value.to_string())
            }
            _ => return Err("unknown check".into()),
        };
        if what == want {
            Ok(())
        } else {
            Err(format!("got {what}, want {want}"))
        }
    }
}
