//! `pccc obligations`: every heap-access proof obligation of an artifact,
//! grouped by function, with stable names (`f<function>.a<access>`: the
//! function's index and the access's ordinal in it, not code addresses, which
//! move with every compiler change), so researchers can diff them between
//! compiler versions.

use pcc::ArtifactFile;
use validator::{Recorded, Report};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One SMT-LIB2 script: each obligation negated in its own push/pop
    /// scope, so `z3 FILE` prints `unsat` once per proved obligation.
    Smtlib,
    /// One line per obligation.
    Text,
    /// A JSON array, one object per obligation.
    Json,
}

/// The obligations in `format`, and the validator's report on the artifact.
pub fn render(art: &ArtifactFile, format: Format) -> (String, Report) {
    let (report, recorded) = validator::obligations(art);
    let named = name(&recorded);
    let heap = art.meta.sandbox.heap;
    let out = match format {
        Format::Smtlib => {
            let mut s = format!(
                "; pccc obligations: {} functions, {} heap accesses; heap strategy {} \
                 (reservation {:#x}, guard {:#x})\n; each check-sat must answer unsat\n\
                 (set-logic QF_BV)\n",
                art.meta.funcs.len(),
                recorded.len(),
                heap.name(),
                heap.reservation(),
                heap.guard()
            );
            let mut last = None;
            for (n, r) in &named {
                if last != Some(r.func) {
                    s.push_str(&format!(
                        "\n; function {} `{}`\n",
                        r.func,
                        func_name(art, r.func)
                    ));
                    last = Some(r.func);
                }
                s.push_str(&format!("; {n}: {}\n", r.instruction));
                s.push_str(&r.obligation.to_smt2(n));
            }
            s
        }
        Format::Text => named
            .iter()
            .map(|(n, r)| {
                format!(
                    "{n} {} `{}`: {}\n",
                    func_name(art, r.func),
                    r.instruction,
                    r.obligation.describe()
                )
            })
            .collect(),
        Format::Json => {
            let items: Vec<serde_json::Value> = named
                .iter()
                .map(|(n, r)| {
                    let o = &r.obligation;
                    serde_json::json!({
                        "name": n,
                        "function": r.func,
                        "function_name": func_name(art, r.func),
                        "instruction": r.instruction,
                        "index_register": o.index_reg,
                        "index_min": o.index_min,
                        "index_max": o.index_max,
                        "displacement": o.disp,
                        "size": o.size,
                        "limit": o.limit,
                        "smtlib": o.to_smt2(n),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&items).unwrap_or_default() + "\n"
        }
    };
    (out, report)
}

fn func_name(art: &ArtifactFile, f: u32) -> &str {
    art.meta
        .funcs
        .get(f as usize)
        .map_or("?", |m| m.name.as_str())
}

/// `f<function>.a<ordinal>` for each obligation, in order.
fn name(recorded: &[Recorded]) -> Vec<(String, &Recorded)> {
    let mut ordinal = 0;
    let mut last = None;
    recorded
        .iter()
        .map(|r| {
            if last != Some(r.func) {
                ordinal = 0;
                last = Some(r.func);
            }
            ordinal += 1;
            (format!("f{}.a{}", r.func, ordinal - 1), r)
        })
        .collect()
}
