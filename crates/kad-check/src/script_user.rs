//! Who runs a script that names no user, and what is said about it: keepalived 2.2.7's rule
//! (measured, docs/reference/keepalived-2.2.7.md section 3). With no `script_user` (and no
//! `user` on the script), scripts run as `keepalived_script` if that user exists, else as
//! root; "SECURITY VIOLATION" is logged whenever scripts are configured without
//! `enable_script_security`. With `enable_script_security` and no default user, a vrrp_script
//! is removed (the instances tracking it ignore it) and notify scripts are dropped.
//!
//! [`apply`] is pure: the caller says whether `keepalived_script` exists
//! ([`default_user_exists`]) and logs or prints what it returns.

use kad_core::config::model::{CheckKind, Config, Notify, Script};

/// The user scripts run as by default, where it exists (keepalived's name).
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Whether [`DEFAULT_SCRIPT_USER`] exists on this machine.
pub fn default_user_exists() -> bool {
    nix::unistd::User::from_name(DEFAULT_SCRIPT_USER)
        .ok()
        .flatten()
        .is_some()
}

/// True if `config` has any user program (vrrp_script, notify script, MISC_CHECK,
/// real-server or quorum notify).
pub fn has_scripts(config: &Config) -> bool {
    let notify = |n: &Notify| notify_slots(n).iter().any(|s| s.is_some());
    !config.vrrp_scripts.is_empty()
        || config.vrrp_instances.iter().any(|i| notify(&i.notify))
        || config.sync_groups.iter().any(|g| notify(&g.notify))
        || config.virtual_servers.iter().any(|vs| {
            vs.quorum_up.is_some()
                || vs.quorum_down.is_some()
                || vs.real_servers.iter().any(|rs| {
                    rs.notify_up.is_some()
                        || rs.notify_down.is_some()
                        || rs
                            .checkers
                            .iter()
                            .any(|c| matches!(c.kind, CheckKind::Misc { .. }))
                })
        })
}

fn notify_slots(n: &Notify) -> [&Option<Script>; 6] {
    [
        &n.master,
        &n.backup,
        &n.fault,
        &n.stop,
        &n.any,
        &n.master_rx_lower_pri,
    ]
}

fn notify_slots_mut(n: &mut Notify) -> [&mut Option<Script>; 6] {
    [
        &mut n.master,
        &mut n.backup,
        &mut n.fault,
        &mut n.stop,
        &mut n.any,
        &mut n.master_rx_lower_pri,
    ]
}

/// Applies the default-user rule to `config` and returns keepalived's warnings, in its order
/// and words. `user_exists`: [`DEFAULT_SCRIPT_USER`] exists. `at_start`: the daemon is starting
/// (keepalived's `-t` leaves out the "does not exist" line).
///
/// With `enable_script_security` and no default user, vrrp_scripts and VRRP notify scripts
/// with no `user` of their own are removed from `config` (MISC_CHECK and real-server notify
/// scripts are refused when they would run, see [`crate::script::resolve_user`]).
pub fn apply(config: &mut Config, user_exists: bool, at_start: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !has_scripts(config) {
        return out;
    }
    let g = &config.global;
    let no_default = g.script_user.is_none() && !user_exists;
    if no_default && at_start {
        out.push(format!(
            "Script user '{DEFAULT_SCRIPT_USER}' does not exist"
        ));
    }
    if !g.enable_script_security {
        out.push(
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
                .into(),
        );
        return out;
    }
    if !no_default {
        return out;
    }
    let mut removed = Vec::new();
    config.vrrp_scripts.retain(|s| {
        if s.script.user.is_some() {
            return true;
        }
        out.push(format!(
            "Unable to set default user {DEFAULT_SCRIPT_USER} for script"
        ));
        out.push(format!(
            "Unable to set default user for vrrp script {} - removing",
            s.name
        ));
        removed.push(s.name.clone());
        false
    });
    let owners = config
        .vrrp_instances
        .iter_mut()
        .map(|i| (&i.name, &mut i.track_script))
        .chain(
            config
                .sync_groups
                .iter_mut()
                .map(|g| (&g.name, &mut g.track_script)),
        );
    for (name, tracked) in owners {
        tracked.retain(|t| {
            let gone = removed.contains(&t.name);
            if gone {
                out.push(format!(
                    "({name}) track script {} not found, ignoring...",
                    t.name
                ));
            }
            !gone
        });
    }
    let notifies = config
        .vrrp_instances
        .iter_mut()
        .map(|i| &mut i.notify)
        .chain(config.sync_groups.iter_mut().map(|g| &mut g.notify));
    for n in notifies {
        for slot in notify_slots_mut(n) {
            if slot.as_ref().is_some_and(|s| s.user.is_none()) {
                let program = slot
                    .as_ref()
                    .and_then(|s| crate::script::split_command(&s.command).into_iter().next())
                    .unwrap_or_default();
                out.push(format!(
                    "Failed to set default user for notify script {program} - ignoring"
                ));
                *slot = None;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(global: &str) -> Config {
        let dir = std::env::temp_dir().join(format!(
            "kad-script-user-{}-{}",
            std::process::id(),
            global.len()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("k.conf");
        std::fs::write(
            &path,
            format!(
                "global_defs {{\n{global}\n}}\n\
                 vrrp_script chk {{\n script \"/bin/chk.sh a\"\n}}\n\
                 vrrp_script own {{\n script /bin/own.sh\n user nobody\n}}\n\
                 vrrp_instance VI_1 {{\n interface lo\n virtual_router_id 61\n\
                 track_script {{\n  chk\n  own\n }}\n\
                 notify_master \"/bin/notify.sh x master\"\n notify /bin/notify.sh\n}}\n"
            ),
        )
        .expect("config");
        let parsed = kad_core::config::parse_file(&path, &Default::default());
        let _ = std::fs::remove_dir_all(&dir);
        parsed.config.expect("valid")
    }

    const VIOLATION: &str =
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.";

    #[test]
    fn without_a_user_or_security_scripts_run_as_root_with_keepalived_s_warnings() {
        let mut c = config("");
        let before = c.clone();
        assert_eq!(
            apply(&mut c, false, true),
            [
                "Script user 'keepalived_script' does not exist".to_string(),
                VIOLATION.into()
            ]
        );
        assert_eq!(c, before, "nothing is removed");
        // `-t` says only the violation; with the user present, only the violation too.
        assert_eq!(apply(&mut c, false, false), [VIOLATION]);
        assert_eq!(apply(&mut c, true, true), [VIOLATION]);
        let mut c = config("script_user nobody");
        assert_eq!(apply(&mut c, false, true), [VIOLATION]);
    }

    #[test]
    fn security_without_a_default_user_removes_scripts_as_keepalived_does() {
        let mut c = config("enable_script_security");
        assert_eq!(
            apply(&mut c, false, true),
            [
                "Script user 'keepalived_script' does not exist",
                "Unable to set default user keepalived_script for script",
                "Unable to set default user for vrrp script chk - removing",
                "(VI_1) track script chk not found, ignoring...",
                "Failed to set default user for notify script /bin/notify.sh - ignoring",
                "Failed to set default user for notify script /bin/notify.sh - ignoring",
            ]
        );
        let names: Vec<&str> = c.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["own"], "a script with its own user stays");
        let tracked: Vec<&str> = c.vrrp_instances[0]
            .track_script
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(tracked, ["own"]);
        assert!(c.vrrp_instances[0].notify.master.is_none());
        assert!(c.vrrp_instances[0].notify.any.is_none());
    }

    #[test]
    fn security_with_a_default_user_says_nothing_and_keeps_everything() {
        for (global, exists) in [
            ("enable_script_security", true),
            ("enable_script_security\nscript_user root", false),
        ] {
            let mut c = config(global);
            let before = c.clone();
            assert!(apply(&mut c, exists, true).is_empty(), "{global}");
            assert_eq!(c, before);
        }
    }

    #[test]
    fn a_config_without_scripts_draws_no_warning() {
        let mut c = Config::default();
        assert!(apply(&mut c, false, true).is_empty());
    }
}
