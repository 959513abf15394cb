//! The ip_vs VM (tests/ipvs-vm/run-in-vm): a test re-runs itself inside it, and `ipvsadm`
//! is the witness there.

use std::process::Command;

use super::as_root;

/// True inside the VM (run-in-vm sets IPVS_VM).
pub fn in_vm() -> bool {
    std::env::var_os("IPVS_VM").is_some()
}

/// On the host: runs test `name` of this test binary inside the VM (KAD_BIN and KAD_CTL_BIN
/// name the binaries there) and asserts it passed. Returns true when the caller is inside the
/// VM and must do the work.
pub fn inside_vm(name: &str) -> bool {
    if in_vm() {
        return true;
    }
    as_root();
    let runner = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/ipvs-vm/run-in-vm");
    let exe = std::env::current_exe().expect("test binary");
    let status = Command::new(runner)
        .args(["-t", "500", "--"])
        .arg(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("KAD_BIN", env!("CARGO_BIN_EXE_kad"))
        .env("KAD_CTL_BIN", env!("CARGO_BIN_EXE_kadctl"))
        .status()
        .expect("run-in-vm");
    assert!(
        status.success(),
        "{name} failed inside the ip_vs VM: {status}"
    );
    false
}

/// `ipvsadm ARGS` (in the current namespace); its stdout, or a panic with its stderr.
pub fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .expect("ipvsadm");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
