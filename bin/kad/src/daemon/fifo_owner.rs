//! Notify FIFOs with an owner (`*_notify_fifo PATH USER [GROUP]`), as keepalived 2.2.7 makes
//! them: created 0600 and given to USER (GROUP, or USER's primary group), so a `*_script`
//! running as that user can read it; one found there keeps its owner and mode. The children
//! hold no CAP_CHOWN and may not open a FIFO they do not own, so the parent creates and opens
//! these at start and each child inherits the descriptors at exec
//! ([`kad_ipc::fifo::INHERIT_ENV`]). An unknown user or group drops the FIFO and its script
//! from the configuration (keepalived: "Invalid user/group for … fifo - ignoring").

use std::os::unix::io::RawFd;
use std::path::Path;

use kad_core::config::model::NotifyFifo;
use kad_core::config::Config;
use kad_ipc::fifo::{encode_inherited, FifoWriter};

/// The owned FIFOs the parent holds open for its children.
#[derive(Debug, Default)]
pub struct OwnedFifos {
    writers: Vec<FifoWriter>,
}

/// The uid and gid of `user` and `group` (default: the user's primary group).
fn resolve(user: &str, group: Option<&str>) -> Result<(u32, u32), String> {
    let u = nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .ok_or_else(|| format!("user '{user}' does not exist"))?;
    let gid = match group {
        Some(g) => {
            nix::unistd::Group::from_name(g)
                .ok()
                .flatten()
                .ok_or_else(|| format!("group '{g}' does not exist"))?
                .gid
        }
        None => u.gid,
    };
    Ok((u.uid.as_raw(), gid.as_raw()))
}

/// The three FIFOs of `config`, with their keyword.
fn fifos(config: &mut Config) -> [(&'static str, &mut NotifyFifo); 3] {
    let f = &mut config.global.fifos;
    [
        ("notify_fifo", &mut f.all),
        ("vrrp_notify_fifo", &mut f.vrrp),
        ("lvs_notify_fifo", &mut f.lvs),
    ]
}

/// The owner of `fifo`, if it has one; an unknown user or group clears the FIFO and its
/// script, and is the `Err` message.
fn owner(keyword: &str, fifo: &mut NotifyFifo) -> Result<Option<(String, u32, u32)>, String> {
    let (Some(path), Some(user)) = (fifo.path.clone(), fifo.user.as_deref()) else {
        return Ok(None);
    };
    match resolve(user, fifo.group.as_deref()) {
        Ok((uid, gid)) => Ok(Some((path, uid, gid))),
        Err(e) => {
            *fifo = NotifyFifo::default();
            Err(format!(
                "{keyword} {path}: {e}; invalid user/group - ignoring the FIFO"
            ))
        }
    }
}

/// Removes the FIFOs (and their scripts) whose owner does not exist; one message each
/// (`kad -t`, and the parent's log at start and at a reload).
pub fn drop_unknown_owners(config: &mut Config) -> Vec<String> {
    fifos(config)
        .into_iter()
        .filter_map(|(keyword, fifo)| owner(keyword, fifo).err())
        .collect()
}

impl OwnedFifos {
    /// At start: creates and opens every FIFO of `config` that has an owner (a FIFO that
    /// cannot be made is logged; its children then open the path themselves).
    pub fn open(config: &mut Config) -> OwnedFifos {
        let mut me = OwnedFifos::default();
        for (keyword, fifo) in fifos(config) {
            let (path, uid, gid) = match owner(keyword, fifo) {
                Ok(Some(o)) => o,
                Ok(None) => continue,
                Err(e) => {
                    log::error!("{e}");
                    continue;
                }
            };
            if me.writers.iter().any(|w| w.path() == Path::new(&path)) {
                continue;
            }
            match FifoWriter::create_owned(Path::new(&path), uid, gid) {
                Ok(w) => me.writers.push(w),
                Err(e) => log::error!("{keyword} {path}: {e}"),
            }
        }
        me
    }

    /// At a reload: drops FIFOs whose owner is unknown; one not held since start is left to
    /// the children (created root-owned, logged).
    pub fn reload(&self, config: &mut Config) {
        for (keyword, fifo) in fifos(config) {
            match owner(keyword, fifo) {
                Ok(Some((path, _, _)))
                    if !self.writers.iter().any(|w| w.path() == Path::new(&path)) =>
                {
                    log::warn!(
                        "{keyword} {path}: new at a reload, its owner is applied at the next start"
                    );
                }
                Ok(_) => {}
                Err(e) => log::error!("{e}"),
            }
        }
    }

    /// The descriptors a child inherits and the [`kad_ipc::fifo::INHERIT_ENV`] value naming them.
    pub fn inherit(&self) -> (Vec<RawFd>, String) {
        (
            self.writers.iter().map(FifoWriter::raw_fd).collect(),
            encode_inherited(&self.writers),
        )
    }

    /// At stop: closes them, removing those created at start.
    pub fn close(&mut self) {
        for w in self.writers.drain(..) {
            w.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fifo(path: &str, user: Option<&str>, group: Option<&str>) -> NotifyFifo {
        NotifyFifo {
            path: Some(path.into()),
            user: user.map(Into::into),
            group: group.map(Into::into),
            script: None,
        }
    }

    #[test]
    fn an_unknown_owner_drops_the_fifo_and_a_known_one_resolves() {
        let mut c = Config::default();
        c.global.fifos.all = fifo("/run/a.fifo", Some("root"), None);
        c.global.fifos.vrrp = fifo("/run/v.fifo", Some("kad-no-such-user"), None);
        c.global.fifos.lvs = fifo("/run/l.fifo", Some("root"), Some("kad-no-such-group"));
        let msgs = drop_unknown_owners(&mut c);
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("user 'kad-no-such-user' does not exist"));
        assert!(msgs[1].contains("group 'kad-no-such-group' does not exist"));
        assert_eq!(c.global.fifos.vrrp, NotifyFifo::default());
        assert_eq!(c.global.fifos.lvs, NotifyFifo::default());
        assert_eq!(resolve("root", None), Ok((0, 0)));
        assert_eq!(
            owner("notify_fifo", &mut c.global.fifos.all),
            Ok(Some(("/run/a.fifo".into(), 0, 0)))
        );
    }
}
