//! `pccc verify` over many artifacts: the CI gate. Artifacts (files, or
//! every `.o` under a directory) are verified in parallel; each gets a line
//! (or a JSON line), then a summary; the gate fails naming every artifact
//! that was rejected or could not be read.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::cache::VerifyCache;

/// What became of one artifact.
pub enum Verdict {
    Accepted(validator::Report),
    Rejected(validator::Report),
    /// Not a readable artifact (missing, truncated, tampered headers...).
    BadInput(String),
}

pub struct Outcome {
    pub path: PathBuf,
    pub verdict: Verdict,
}

/// The artifacts named by `paths`: files as given, directories searched
/// recursively for `.o` files (sorted, so output order is stable). A file
/// named twice (`a.o a.o`, `./a.o`, or a file and its directory) is kept
/// once, where it first appears.
pub fn collect(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = vec![];
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "o") {
            out.push(p);
        }
    }
    Ok(())
}

/// Verify the artifact at `path` (`-`: stdin); if accepted, record the
/// bytes just verified in `cache`.
pub fn verify_one(path: &Path, cache: Option<&VerifyCache>) -> Verdict {
    let read = if crate::driver::is_stdio(path) {
        let mut v = vec![];
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v).map(|_| v)
    } else {
        std::fs::read(path)
    };
    let bytes = match read {
        Ok(b) => b,
        Err(e) => return Verdict::BadInput(format!("cannot read: {e}")),
    };
    match validator::verify(&bytes) {
        Ok(r) if r.accepted() => {
            if let Some(c) = cache {
                c.record_or_warn(&bytes);
            }
            Verdict::Accepted(r)
        }
        Ok(r) => Verdict::Rejected(r),
        Err(e) => Verdict::BadInput(format!("not a pccc artifact: {e}")),
    }
}

/// Verify every artifact on `jobs` threads (0: rayon's default, one per
/// CPU), with a progress bar on an interactive stderr. The caller caps
/// `jobs`: a pool of thousands of threads would only thrash.
pub fn verify_all(paths: &[PathBuf], jobs: usize, cache: Option<&VerifyCache>) -> Vec<Outcome> {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(paths.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} artifacts {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build();
    let run = || {
        paths
            .par_iter()
            .map(|p| {
                let verdict = verify_one(p, cache);
                bar.inc(1);
                Outcome {
                    path: p.clone(),
                    verdict,
                }
            })
            .collect::<Vec<_>>()
    };
    let out = match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    };
    bar.finish_and_clear();
    out
}

/// One line per artifact.
pub fn line(o: &Outcome) -> String {
    let p = crate::driver::display_name(&o.path);
    match &o.verdict {
        Verdict::Accepted(r) => format!(
            "ok        {p}: {} functions, {} heap accesses, {} z3 calls, {:.1} ms",
            r.functions,
            r.accesses.heap,
            r.z3_calls,
            r.elapsed.as_secs_f64() * 1e3
        ),
        Verdict::Rejected(r) => {
            let f = &r.failures[0];
            format!(
                "REJECTED  {p}: {} failure(s); first: {} +{:#x} `{}`: {}",
                r.failures.len(),
                f.function,
                f.offset,
                f.instruction,
                f.reason
            )
        }
        Verdict::BadInput(why) => format!("BAD INPUT {p}: {why}"),
    }
}

/// One JSON object per artifact (JSON lines).
pub fn json_line(
    o: &Outcome,
    report_json: impl Fn(&validator::Report) -> serde_json::Value,
) -> String {
    let path = crate::driver::display_name(&o.path);
    match &o.verdict {
        Verdict::Accepted(r) | Verdict::Rejected(r) => {
            let mut v = report_json(r);
            v["artifact"] = serde_json::Value::String(path);
            v.to_string()
        }
        Verdict::BadInput(why) => {
            serde_json::json!({"artifact": path, "accepted": false, "bad_input": why}).to_string()
        }
    }
}

/// The summary table printed after the per-artifact lines. "heap accesses
/// proved" counts accepted artifacts only: a rejected one proved nothing.
pub fn summary(outcomes: &[Outcome], wall: Duration, threads: usize) -> String {
    let (mut ok, mut rejected, mut bad) = (0, 0, 0);
    let (mut funcs, mut heap, mut z3) = (0usize, 0u64, 0u64);
    let mut cpu = Duration::ZERO;
    for o in outcomes {
        match &o.verdict {
            Verdict::Accepted(r) | Verdict::Rejected(r) => {
                if r.accepted() {
                    ok += 1;
                    heap += r.accesses.heap as u64;
                } else {
                    rejected += 1
                }
                funcs += r.functions;
                z3 += r.z3_calls as u64;
                cpu += r.elapsed;
            }
            Verdict::BadInput(_) => bad += 1,
        }
    }
    format!(
        "\n{:<22} {:>8}\n{:<22} {:>8}\n{:<22} {:>8}\n{:<22} {:>8}\n{:<22} {:>8}\n{:<22} {:>8}\n{:<22} {:>8}\n{:<22} {:>8}\n{:<22} {:>8.2}s ({:.2}s of verifier time)",
        "artifacts", outcomes.len(),
        "accepted", ok,
        "rejected", rejected,
        "bad input", bad,
        "functions", funcs,
        "heap accesses proved", heap,
        "z3 calls", z3,
        "threads", threads,
        "wall time", wall.as_secs_f64(), cpu.as_secs_f64(),
    )
}

/// Verify many artifacts on `jobs` threads and print a line (or a JSON
/// line) each and, without `json`, a summary; the outcomes, for the
/// caller's messages and exit status.
pub fn run(
    paths: &[PathBuf],
    jobs: usize,
    json: bool,
    report_json: impl Fn(&validator::Report) -> serde_json::Value,
    cache: Option<&VerifyCache>,
) -> Vec<Outcome> {
    let start = Instant::now();
    let outcomes = verify_all(paths, jobs, cache);
    for o in &outcomes {
        if json {
            println!("{}", json_line(o, &report_json));
        } else {
            println!("{}", line(o));
        }
    }
    if !json {
        let threads = if jobs == 0 {
            rayon::current_num_threads()
        } else {
            jobs
        };
        println!("{}", summary(&outcomes, start.elapsed(), threads));
    }
    outcomes
}
