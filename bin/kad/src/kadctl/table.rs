//! `kadctl status`'s human table.

use kad_ipc::status::Status;

/// Rows under a header, each column as wide as its widest cell.
fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for r in std::iter::once(&head).chain(rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn dash(s: &str) -> String {
    if s.is_empty() { "-" } else { s }.to_string()
}

/// The status as two tables: VRRP instances, then real servers.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    if !status.vrrp.is_empty() {
        let rows: Vec<Vec<String>> = status
            .vrrp
            .iter()
            .map(|i| {
                vec![
                    i.name.clone(),
                    i.state.clone(),
                    i.priority.to_string(),
                    i.effective_priority.to_string(),
                    yes(i.maintenance),
                    i.interface.clone(),
                    i.virtual_router_id.to_string(),
                    dash(&i.master_seen),
                    dash(&i.vips.join(",")),
                ]
            })
            .collect();
        out.push_str(&columns(
            &[
                "INSTANCE",
                "STATE",
                "PRIO",
                "EFFECTIVE",
                "MAINT",
                "IFACE",
                "VRID",
                "MASTER SEEN",
                "VIPS",
            ],
            &rows,
        ));
    }
    if !status.virtual_servers.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let mut rows = Vec::new();
        for vs in &status.virtual_servers {
            for rs in &vs.real_servers {
                rows.push(vec![
                    vs.name.clone(),
                    rs.address.clone(),
                    yes(rs.alive),
                    rs.weight.to_string(),
                    rs.wanted_weight.to_string(),
                    yes(rs.drained),
                    dash(&rs.last_check),
                    if rs.last_check.is_empty() {
                        "-".into()
                    } else {
                        format!("{:.1} ms", rs.last_latency_ms)
                    },
                ]);
            }
        }
        out.push_str(&columns(
            &[
                "VIRTUAL SERVER",
                "REAL SERVER",
                "ALIVE",
                "WEIGHT",
                "WANTED",
                "DRAINED",
                "LAST CHECK",
                "LATENCY",
            ],
            &rows,
        ));
    }
    if out.is_empty() {
        out.push_str("no VRRP instance, no virtual server\n");
    }
    out
}
