//! `kad -t` run as a user runs it, on the bad-config corpus, keepalived's samples and conf/.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace dir")
}

/// Runs `kad -t -f FILE` (with `extra` flags); returns (exit code, stderr).
fn kad_t(file: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kad"))
        .args(extra)
        .arg("-t")
        .arg("-f")
        .arg(file)
        .output()
        .expect("run kad");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Each broken file ends with `# expect: LINE:COL: SEVERITY: MESSAGE`; kad must print exactly
/// that diagnostic for the file, and exit 5 for an error or 0 for a warning-only case.
#[test]
fn bad_config_corpus_gives_each_expected_diagnostic() {
    let dir = workspace().join("tests/bad-configs");
    let files: Vec<PathBuf> = files_in(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    assert!(files.len() >= 30, "corpus has only {} files", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read corpus file");
        let expect = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no '# expect:' line", file.display()))
            .replace("{DIR}", &dir.display().to_string());
        let (code, stderr) = kad_t(&file, &[]);
        let wanted = format!("{}:{}", file.display(), expect);
        assert!(
            stderr.lines().any(|l| l == wanted),
            "{}: expected the diagnostic\n  {wanted}\ngot:\n{stderr}",
            file.display()
        );
        let want_code = if expect.contains(": error: ") { 5 } else { 0 };
        assert_eq!(
            code,
            want_code,
            "{}: exit status; stderr:\n{stderr}",
            file.display()
        );
    }
}

/// Warnings allowed on keepalived's own samples: features kad documents as unsupported, facts
/// of this machine (interfaces), and the warnings keepalived itself gives on the same files.
fn allowed_warning(line: &str) -> bool {
    [
        "is not supported by kad",
        "is parsed but not acted on by kad",
        // keepalived 2.2.7 gives the same warning for a rule without a priority.
        "Rule has no preference specified - setting to 16384.",
        "does not exist on this machine",
        "has no 'script' to run; removed",
        "is not a defined vrrp_script; ignored",
        // keepalived 2.2.7 says the same on every file with scripts and no script security.
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
    ]
    .iter()
    .any(|a| line.contains(a))
}

#[test]
fn keepalived_samples_pass() {
    let dir = match std::env::var_os("KAD_SAMPLES_DIR") {
        Some(d) => PathBuf::from(d),
        None => workspace().join("../shared/keepalived-samples"),
    };
    // No samples is a failure, never a silent pass.
    assert!(
        dir.is_dir(),
        "keepalived's samples are not at {}: set KAD_SAMPLES_DIR to a directory of \
         keepalived.conf* files (`make test` sets it to ../shared/keepalived-samples)",
        dir.display()
    );
    let samples: Vec<PathBuf> = files_in(&dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("keepalived.conf"))
        })
        .collect();
    assert!(
        !samples.is_empty(),
        "no keepalived.conf* in {}",
        dir.display()
    );
    for file in samples {
        let (code, stderr) = kad_t(&file, &[]);
        assert_eq!(code, 0, "{} fails kad -t:\n{stderr}", file.display());
        for line in stderr.lines() {
            assert!(
                allowed_warning(line),
                "{}: unexpected diagnostic: {line}",
                file.display()
            );
        }
    }
}

/// The real-world corpus (tests/corpus/) passes `kad -t` run as a user (its interfaces need not
/// exist); the comparison with keepalived's warnings runs as root in `tests/corpus.rs`.
#[test]
fn real_world_corpus_passes() {
    let files: Vec<PathBuf> = files_in(&workspace().join("tests/corpus"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    assert!(files.len() >= 6, "corpus has {} files", files.len());
    for file in files {
        let (code, stderr) = kad_t(&file, &[]);
        assert_eq!(code, 0, "{} fails kad -t:\n{stderr}", file.display());
        assert!(
            !stderr.contains(": error: "),
            "{}: {stderr}",
            file.display()
        );
    }
}

#[test]
fn conditional_sample_follows_the_config_id() {
    let dir = workspace().join("tests/configs");
    let file = dir.join("conditional.conf");
    let run = |id: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_kad"))
            .args(["--dump-json", "-i", id, "-f"])
            .arg(&file)
            .output()
            .expect("run kad --dump-json");
        assert!(out.status.success(), "kad --dump-json -i {id} failed");
        let cfg: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("kad --dump-json prints JSON");
        cfg["vrrp_instances"][0]["priority"]
            .as_u64()
            .expect("priority")
    };
    assert_eq!(run("high"), 170);
    assert_eq!(run("low"), 85);
    assert_eq!(run("other"), 100);
}

#[test]
fn project_examples_pass_without_warnings() {
    let dir = workspace().join("conf");
    let examples: Vec<PathBuf> = files_in(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    assert!(examples.len() >= 7, "conf/ has {} examples", examples.len());
    for file in examples {
        let (code, stderr) = kad_t(&file, &["-i", "node1"]);
        assert_eq!(code, 0, "{} fails kad -t:\n{stderr}", file.display());
        for line in stderr.lines() {
            assert!(
                line.contains("does not exist on this machine"),
                "{}: unexpected diagnostic: {line}",
                file.display()
            );
        }
    }
}

#[test]
fn missing_config_file_is_a_clear_error() {
    let (code, stderr) = kad_t(Path::new("/nonexistent/kad.conf"), &[]);
    assert_eq!(code, 5);
    assert!(
        stderr.contains("/nonexistent/kad.conf:1:1: error: cannot read configuration file"),
        "{stderr}"
    );
}

/// The summary's warning count is every warning printed, script-security ones included.
#[test]
fn the_summary_counts_every_warning_printed() {
    let file = workspace().join("tests/corpus/kubeadm-ha.conf");
    let out = Command::new(env!("CARGO_BIN_EXE_kad"))
        .args(["-t", "-f"])
        .arg(&file)
        .output()
        .expect("run kad");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let printed = stderr.lines().filter(|l| l.contains("warning")).count();
    assert!(
        stderr.contains("SECURITY VIOLATION"),
        "the file has scripts without script security: {stderr}"
    );
    assert!(
        stdout.contains(&format!("; {printed} warning(s)")),
        "stdout {stdout:?} does not count the {printed} warning(s) of {stderr}"
    );
}
