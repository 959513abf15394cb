//! Routes and rules. `virtual_routes` / `virtual_rules` follow MASTER: added after the VIPs
//! (a route may use a VIP as `src`), removed before them. `static_ipaddress`, `static_routes`
//! and `static_rules` are added at start, brought in line with the new configuration on a
//! reload, and removed at stop, as keepalived 2.2.7 does (measured: none is left after it
//! stops). Deleting them by hand is not noticed: every route and rule behaves as `no_track`.

use kad_core::config::model::Config;
use kad_core::config::route::{Route, Rule};

use super::lifecycle::vip_of;
use super::{Effect, Engine};
use crate::vip::Vip;

/// The name static effects carry in place of an instance's.
const STATIC: &str = "static";

/// What the static blocks installed, placed (interface indices resolved).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Statics {
    addrs: Vec<(u32, Vip)>,
    routes: Vec<(Option<u32>, Route)>,
    rules: Vec<Rule>,
}

fn minus<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

impl Engine {
    /// `routes` with the index of each one's `dev`; a route whose `dev` does not exist is
    /// left out with an error (it would go elsewhere without it).
    fn place_routes(&self, owner: &str, routes: &[Route]) -> Vec<(Option<u32>, Route)> {
        let mut out = Vec::new();
        for r in routes {
            match r.dev.as_deref().map(|d| (d, self.facts.index(d))) {
                Some((dev, None)) => log::error!(
                    "({owner}) route {}/{}: no interface {dev}; not added",
                    r.dst.0,
                    r.dst.1
                ),
                Some((_, index)) => out.push((index, r.clone())),
                None => out.push((None, r.clone())),
            }
        }
        out
    }

    /// Emits the effect for `routes` and `rules` of `owner` unless both are empty.
    fn emit_routes(
        &mut self,
        owner: &str,
        add: bool,
        routes: Vec<(Option<u32>, Route)>,
        rules: Vec<Rule>,
    ) {
        if routes.is_empty() && rules.is_empty() {
            return;
        }
        self.emit(Effect::Routes {
            instance: owner.to_string(),
            add,
            routes,
            rules,
        });
    }

    /// Adds (`add`) or removes the `virtual_routes` and `virtual_rules` of instance `i`.
    pub(super) fn virtual_routes(&mut self, i: usize, add: bool) {
        let cfg = &self.instances[i].cfg;
        let (name, rules) = (cfg.name.clone(), cfg.virtual_rules.clone());
        let routes = self.place_routes(&name, &cfg.virtual_routes);
        self.emit_routes(&name, add, routes, rules);
    }

    /// Reloaded instance `i` (MASTER) changed its routes or rules from `old_routes` /
    /// `old_rules`: removes those gone, adds those new.
    pub(super) fn virtual_routes_diff(&mut self, i: usize, old_routes: &[Route], old: &[Rule]) {
        let cfg = &self.instances[i].cfg;
        let name = cfg.name.clone();
        let gone = self.place_routes(&name, &minus(old_routes, &cfg.virtual_routes));
        let new = self.place_routes(&name, &minus(&cfg.virtual_routes, old_routes));
        let (rules_gone, rules_new) = (
            minus(old, &cfg.virtual_rules),
            minus(&cfg.virtual_rules, old),
        );
        self.emit_routes(&name, false, gone, rules_gone);
        self.emit_routes(&name, true, new, rules_new);
    }

    /// Installs the static blocks of `config`: what a previous configuration installed and
    /// this one drops is removed first; everything configured is (re-)added (adding what is
    /// there is not an error).
    pub(super) fn apply_statics(&mut self, config: &Config) {
        let mut addrs = Vec::new();
        for a in &config.static_ipaddress {
            let dev = a.dev.as_deref().unwrap_or("");
            match self.facts.index(dev) {
                Some(index) => addrs.push((index, vip_of(a))),
                None => log::error!(
                    "({STATIC}) address {}: no interface {dev}; not added",
                    a.addr
                ),
            }
        }
        let new = Statics {
            routes: self.place_routes(STATIC, &config.static_routes),
            rules: config.static_rules.clone(),
            addrs,
        };
        let old = std::mem::take(&mut self.statics);
        let gone = Statics {
            addrs: minus(&old.addrs, &new.addrs),
            routes: minus(&old.routes, &new.routes),
            rules: minus(&old.rules, &new.rules),
        };
        self.remove_statics(gone);
        if !new.addrs.is_empty() {
            let vips = new.addrs.clone();
            self.emit(Effect::AddVips {
                instance: STATIC.into(),
                vips,
            });
        }
        self.emit_routes(STATIC, true, new.routes.clone(), new.rules.clone());
        self.statics = new;
    }

    /// Removes the static blocks installed (at stop).
    pub(super) fn drop_statics(&mut self) {
        let s = std::mem::take(&mut self.statics);
        self.remove_statics(s);
    }

    /// Removes rules, then routes, then addresses.
    fn remove_statics(&mut self, s: Statics) {
        self.emit_routes(STATIC, false, s.routes, s.rules);
        if !s.addrs.is_empty() {
            self.emit(Effect::DelVips {
                instance: STATIC.into(),
                vips: s.addrs,
            });
        }
    }
}
