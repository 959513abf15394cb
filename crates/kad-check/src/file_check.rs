//! FILE_CHECK: reads the number in a `track_file`'s file at each check.
//!
//! kad's rule (keepalived watches the file with inotify; kad reads it every `delay_loop`):
//! the value is multiplied by the checker's `weight` (else the track_file's), negated with
//! `reverse`. With a multiplier of 0, value 0 is up and anything else down. Otherwise a
//! `dynamic` checker is up and adds the product to the real server's weight; a plain one is up
//! while the product is not negative. A missing or unreadable file is down.

use kad_core::config::model::{CheckKind, Config, TrackFile};

use crate::health::Verdict;

/// Judges one value read from the file.
pub fn judge(value: i64, multiplier: i64, reverse: bool, dynamic: bool) -> Verdict {
    if multiplier == 0 {
        return if value == 0 {
            Verdict::up("value 0")
        } else {
            Verdict::down(format!("value {value}"))
        };
    }
    let product = value.saturating_mul(multiplier) * if reverse { -1 } else { 1 };
    if dynamic {
        return Verdict {
            ok: true,
            reason: format!("value {value}: weight {product:+}").into(),
            weight_delta: Some(product),
        };
    }
    if product < 0 {
        Verdict::down(format!("value {value}"))
    } else {
        Verdict::up(format!("value {value}"))
    }
}

fn read(t: &TrackFile) -> Result<i64, String> {
    let text = std::fs::read_to_string(&t.file).map_err(|e| format!("{}: {e}", t.file))?;
    let first = text.split_whitespace().next().unwrap_or("0");
    first
        .parse::<i64>()
        .map_err(|_| format!("{}: not a number: {first:.20}", t.file))
}

/// The result of a FILE_CHECK now.
pub fn verdict(config: &Config, kind: &CheckKind) -> Verdict {
    let CheckKind::File {
        track_file,
        dynamic,
        weight,
        reverse,
    } = kind
    else {
        return Verdict::down("not a FILE_CHECK");
    };
    let Some(t) = config.track_files.iter().find(|t| *t.name == **track_file) else {
        return Verdict::down(format!("no track_file named {track_file}"));
    };
    match read(t) {
        Ok(v) => judge(
            v,
            weight.unwrap_or(t.weight),
            *reverse || t.reverse,
            *dynamic,
        ),
        Err(e) => Verdict::down(e),
    }
}

/// Writes each `init_file` value (where the file is missing, or always with `overwrite`).
pub fn init_files(config: &Config) {
    for t in &config.track_files {
        if let Some((value, overwrite)) = t.init {
            if overwrite || !std::path::Path::new(&t.file).exists() {
                if let Err(e) = std::fs::write(&t.file, format!("{value}\n")) {
                    log::error!("track_file {}: cannot write {}: {e}", t.name, t.file);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_states_and_weights() {
        assert!(judge(0, 0, false, false).ok);
        assert!(!judge(3, 0, false, false).ok);
        assert!(judge(3, 2, false, false).ok);
        assert!(!judge(3, 2, true, false).ok);
        assert_eq!(judge(3, 2, false, true).weight_delta, Some(6));
        assert_eq!(judge(3, 2, true, true).weight_delta, Some(-6));
    }
}
