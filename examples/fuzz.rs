//! The long differential fuzzing run (README, "Fuzzing"):
//!
//!   cargo run --release --example fuzz -- --modules 20000 --seed 1
//!
//! Prints progress and, at the end, the outcome counts per heap strategy
//! and the findings grouped by signature; `--save DIR` writes each kept
//! finding's module as `DIR/<seed>-<index>-<strategy>-<class>.wasm`.

#[path = "../tests/fuzz/mod.rs"]
mod fuzz;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Parser;
use fuzz::subject::STRATEGIES;

#[derive(Parser)]
#[command(about = "Differential fuzzing: wasm-smith modules run in wasmi and in pccc")]
struct Args {
    /// Modules to generate.
    #[arg(long, default_value_t = 1000)]
    modules: u64,
    /// The run's seed: (seed, index) names a module.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first module's index (to reproduce one: --first N --modules 1).
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Stop after this many seconds, whatever --modules says.
    #[arg(long)]
    seconds: Option<u64>,
    /// Heap strategies: static, bounds-checked or both.
    #[arg(long, default_value = "both")]
    heap: String,
    /// Write the modules of findings here.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Print every finding's detail, not only the signatures.
    #[arg(long)]
    verbose: bool,
    /// Modules with exception handling and tail calls, which wasmi cannot
    /// run: the static strategy's outcomes are the bounds-checked one's
    /// reference (false rejects and crashes are findings as always).
    #[arg(long)]
    exceptions: bool,
}

fn main() {
    let args = Args::parse();
    let strategies: Vec<_> = STRATEGIES
        .iter()
        .copied()
        .filter(|h| args.heap == "both" || args.heap == h.name())
        .collect();
    assert!(
        !strategies.is_empty(),
        "--heap: static, bounds-checked or both"
    );
    let names: Vec<_> = strategies.iter().map(|h| h.name()).collect();
    // Panics in pccc are caught and counted as crashes: keep their messages
    // out of the progress lines. Any other panic is the harness's and shows.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some("pccc") {
            default_hook(info)
        }
    }));
    let start = Instant::now();
    let stop_at = args.seconds.map(|s| start + Duration::from_secs(s));
    let every = (args.modules / 50).clamp(1, 500);
    let progress = |t: &fuzz::outcome::Tally| {
        if !t.modules.is_multiple_of(every) {
            return;
        }
        let counts: Vec<String> = fuzz::outcome::CLASSES
            .iter()
            .filter_map(|(c, name, _, _)| {
                let n: u64 = names.iter().map(|s| t.count(s, *c)).sum();
                (n > 0).then(|| format!("{name} {n}"))
            })
            .collect();
        eprintln!(
            "[{:>6.0}s] {}/{} modules, {} invocations: {}",
            start.elapsed().as_secs_f64(),
            t.modules,
            args.modules,
            t.invocations,
            counts.join(", ")
        );
        let left = fuzz::LEFT_BEHIND.load(Ordering::Relaxed);
        if left > 0 {
            eprintln!("  ({left} pccc threads left running after a timeout)");
        }
    };
    let mode = if args.exceptions {
        fuzz::Mode::Exceptions
    } else {
        fuzz::Mode::Differential
    };
    let span = fuzz::Span {
        mode,
        seed: args.seed,
        first: args.first,
        count: args.modules,
    };
    let tally = fuzz::campaign(span, args.threads, &strategies, stop_at, &progress);
    println!(
        "seed {}, modules {}..{}: {} modules, {} pccc invocations, {:.0}s\n{}",
        args.seed,
        args.first,
        args.first + tally.modules,
        tally.modules,
        tally.invocations,
        start.elapsed().as_secs_f64(),
        tally.table(&names)
    );
    let what: Vec<String> = tally
        .reference
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!("reference invocations: {}", what.join(", "));
    for ((strategy, class, sig), n) in &tally.notes {
        println!("{} ({strategy}) x{n}: {sig}", class.name());
    }
    let mut groups: BTreeMap<(&str, &str, String), Vec<u64>> = BTreeMap::new();
    for f in &tally.findings {
        let key = (f.strategy, f.class.name(), fuzz::signature(&f.detail));
        groups.entry(key).or_default().push(f.index);
        if args.verbose {
            println!(
                "  module {} ({}): {}: {}",
                f.index,
                f.strategy,
                f.class.name(),
                f.detail
            );
        }
    }
    for ((strategy, class, sig), mut idx) in groups {
        idx.sort();
        let shown: Vec<_> = idx.iter().take(8).map(|i| i.to_string()).collect();
        println!(
            "{class} ({strategy}) x{}: {sig}\n    modules {}",
            idx.len(),
            shown.join(" ")
        );
    }
    let known = tally
        .findings
        .iter()
        .filter(|f| fuzz::known::known(f).is_some())
        .count();
    println!(
        "findings: {known} known (tests/fuzz/known.rs), {} new",
        tally.findings.len() - known
    );
    if let Some(dir) = &args.save {
        std::fs::create_dir_all(dir).expect("create --save directory");
        for f in tally.findings.iter().filter(|f| !f.wasm.is_empty()) {
            let class = f.class.name().replace(' ', "-");
            let file = dir.join(format!(
                "{}-{}-{}-{class}.wasm",
                args.seed, f.index, f.strategy
            ));
            std::fs::write(&file, &f.wasm).expect("write finding");
            if let Ok(text) = wasmprinter::print_bytes(&f.wasm) {
                std::fs::write(file.with_extension("wat"), text).expect("write finding");
            }
        }
    }
}
