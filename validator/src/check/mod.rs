//! The per-function pass: decode, find blocks from the decoded branches,
//! walk the instructions once in address order applying each one's
//! transfer function (the `transfer` table below), check every claim of
//! the fact table, classify every memory operand and collect one obligation
//! per heap access.
//!
//! Block entries: a block with claims starts from exactly those claims, and
//! every edge into it must imply them; a block without claims (a label
//! inside one instruction sequence) starts from the join of its forward
//! edges. Backward edges are checked against the entry state already used,
//! so one linear pass suffices.

mod abi;
use abi::i32_result_regs;
mod classify;
mod explain;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

// The per-instruction maps, keyed by instruction indexes (dense, bounded by
// the function's length), use FxHash: SipHash was 3% of verifying sqlite3.
// Every map keyed by values the artifact chooses (offsets, shapes, bytes)
// keeps SipHash's random keys, so no artifact can force collisions.
use rustc_hash::FxHashMap;

use iced_x86::{
    Code, Decoder, DecoderOptions, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind,
    Register,
};
use pcc::builtin::{builtin_at, host_call_slots, ArgRule, Builtin, SYSV_CLOBBERS};
use pcc::vmctx::{
    arg_locations, outgoing_slots, result_locations, stack_args, stack_results, ArgLoc,
    VmCtxLayout, CALLEE_SAVED_GPRS, CALLER_SAVED_GPRS,
};
use pcc::{ArtifactFile, Fact, FunctionFacts, ImportKind, Loc, Point, ValType, WasmFuncType};

use crate::obligation::{Obligation, Prover, Shape};
use crate::semantics::{Env, Flow, FormChecker, Mem, Row, Semantics, Stop};
use crate::state::{AVal, Flags, Stack, State, U32_MAX, UNKNOWN};

/// Why an artifact was rejected, located in the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub function: String,
    /// Offset from the function's start.
    pub offset: u32,
    /// The decoded instruction (Intel syntax), if there is one.
    pub instruction: String,
    pub reason: String,
    pub obligation: Option<String>,
    pub counterexample: Option<String>,
    /// For a heap access: the instructions before it, each with what the
    /// validator knew of the registers it uses (`pccc verify --explain`).
    pub window: Vec<String>,
    /// For a heap access: the instructions that produced its index, newest
    /// first, following moves, spills and reloads back to where it was made.
    pub chain: Vec<String>,
}

/// Instructions of context shown before a rejected access.
const WINDOW: usize = 8;

/// Memory operands by class, over the whole artifact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessCounts {
    pub heap: u32,
    pub stack: u32,
    pub vmctx: u32,
    pub global: u32,
    pub table: u32,
}

const RSP: u8 = 4;
const RBP: u8 = 5;
const R14: u8 = 14;
const R15: u8 = 15;

fn gpr(r: Register) -> Option<u8> {
    r.is_gpr()
        .then(|| (r.full_register() as u32 - Register::RAX as u32) as u8)
}

/// The semantics' view of one function: memory classification (which
/// records heap obligations and rejections) and what locations hold.
struct FuncEnv<'f, 'a, 'c, 'p> {
    f: &'f mut Func<'a>,
    ck: &'c mut Checker<'p>,
    i: usize,
}

impl Env for FuncEnv<'_, '_, '_, '_> {
    fn classify(&mut self, _insn: &Instruction, s: &State, write: bool) -> Option<Mem> {
        self.f.classify(self.i, s, write, self.ck)
    }

    fn load(&self, m: Mem, s: &State) -> AVal {
        self.f.load_value(m, s)
    }

    fn frame(&self) -> u32 {
        self.f.frame
    }
}

struct Func<'a> {
    art: &'a ArtifactFile,
    index: u32,
    name: &'a str,
    ty: &'a WasmFuncType,
    insns: Vec<Instruction>,
    /// Each instruction's row in the semantics table.
    rows: Vec<&'static Row>,
    /// Function-relative offset of each instruction.
    offs: Vec<u32>,
    /// This function's trap sites: offset → code.
    traps: BTreeMap<u32, pcc::TrapCode>,
    claims: HashMap<(u32, Point), Vec<(Loc, Fact)>>,
    /// Per instruction: whether any claim sits before (bit 0) or after
    /// (bit 1) it, so the common claim-free instruction costs no lookup.
    claimed: Vec<u8>,
    frame: u32,
    /// Function entry offsets (from the symbol table) → function index.
    entries: &'a HashMap<u64, usize>,
    layout: VmCtxLayout,
    failures: Vec<Failure>,
    /// The last few instructions walked, with the registers before each.
    recent: std::collections::VecDeque<(usize, [AVal; 16])>,
    /// Whether to keep `recent` (explaining a rejected heap access).
    keep_window: bool,
    /// Jump-table entries walked so far: each holds a copy of the state
    /// until its target is reached, so their total is kept to the
    /// function's instruction count (a compiler's tables are each used
    /// once; many jumps into one large table would exhaust memory).
    table_edges: usize,
    /// Callee-saved registers the function saves (`mov [rsp+k], r` right
    /// after the prologue), with their slots. Every block start's claimed
    /// state has each slot still holding the entry value, and every other
    /// callee-saved register still its own: loop headers start from it, and
    /// `check_edge` holds every incoming edge of every block to it.
    saves: Vec<(u8, u32)>,
    /// Exception sites: the index of each call whose exception lands in
    /// this function → the index of its landing.
    landings: HashMap<usize, usize>,
    /// Whether each instruction is a landing (entered with every register
    /// but rsp and rbp undefined, r14 and r15 included).
    is_landing: Vec<bool>,
}

pub struct Checker<'p> {
    pub prover: &'p mut Prover,
    pub counts: AccessCounts,
    pub obligations: u32,
    /// The distinct obligation shapes of this artifact.
    pub shapes: HashSet<Shape>,
    /// Every heap obligation in order, when asked for (`pccc obligations`).
    pub record: Option<Vec<Recorded>>,
    /// PCCC_TRACE_FUNCTION: the function whose state is printed before each
    /// instruction, on stderr (read once per artifact).
    pub trace: Option<String>,
}

/// One heap access's obligation, with where it comes from.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Index into the artifact's functions.
    pub func: u32,
    pub instruction: String,
    pub obligation: Obligation,
}

impl Checker<'_> {
    pub fn check(&mut self, art: &ArtifactFile) -> Vec<Failure> {
        let mut failures = vec![];
        let meta = &art.meta;
        let fail = |name: &str, reason: String| Failure {
            function: name.to_string(),
            offset: 0,
            instruction: String::new(),
            reason,
            obligation: None,
            counterexample: None,
            window: vec![],
            chain: vec![],
        };
        // Every metadata field the runtime acts on, by the check the runtime
        // itself applies at load.
        if let Err(why) = pcc::check_metadata(meta, art.text.len()) {
            return vec![fail("(metadata)", format!("metadata: {why}"))];
        }
        // Function bounds come from the symbol table; the metadata must agree.
        let symbols: HashMap<u64, u64> = art.symbols.iter().map(|s| (s.offset, s.size)).collect();
        let mut end = 0u64;
        for (i, f) in meta.funcs.iter().enumerate() {
            let sym = symbols.get(&(f.offset as u64)).copied();
            match sym {
                Some(size) if size == f.size as u64 => {}
                _ => failures.push(fail(
                    &f.name,
                    format!(
                        "function {i}: no symbol with its offset {:#x} and size {}",
                        f.offset, f.size
                    ),
                )),
            }
            let (start, stop) = (f.offset as u64, f.offset as u64 + f.size as u64);
            if start < end || stop > art.text.len() as u64 {
                failures.push(fail(
                    &f.name,
                    "function bounds overlap or leave .text".into(),
                ));
            }
            end = end.max(stop);
        }
        // And every symbol in .text is one of those functions: no code the
        // metadata does not describe can be named to a linker.
        let funcs: HashSet<(u64, u64)> = meta
            .funcs
            .iter()
            .map(|f| (f.offset as u64, f.size as u64))
            .collect();
        for sym in &art.symbols {
            if !funcs.contains(&(sym.offset, sym.size)) {
                failures.push(fail(
                    &sym.name,
                    format!(
                        "symbol {} at {:#x} (size {}) is not a function of the metadata",
                        sym.name, sym.offset, sym.size
                    ),
                ));
            }
        }
        if art.symbols.len() != meta.funcs.len() {
            failures.push(fail(
                "?",
                format!(
                    "{} function symbols for {} functions",
                    art.symbols.len(),
                    meta.funcs.len()
                ),
            ));
        }
        for t in &meta.trap_sites {
            if t.func as usize >= meta.funcs.len() {
                failures.push(fail(
                    "?",
                    format!("trap site for missing function {}", t.func),
                ));
            }
        }
        if !failures.is_empty() {
            return failures;
        }
        // Every function has its symbol (checked above): its entry.
        let entries: HashMap<u64, usize> = meta
            .funcs
            .iter()
            .enumerate()
            .map(|(i, f)| (f.offset as u64, i))
            .collect();
        let mut facts: HashMap<u32, Vec<&FunctionFacts>> = HashMap::default();
        for ff in &art.facts {
            facts.entry(ff.func).or_default().push(ff);
        }
        // Trap sites grouped by function once (a scan per function is
        // quadratic in the function count); one code per site.
        let mut traps: HashMap<u32, BTreeMap<u32, pcc::TrapCode>> = HashMap::default();
        for t in &meta.trap_sites {
            if traps
                .entry(t.func)
                .or_default()
                .insert(t.offset, t.code)
                .is_some()
            {
                failures.push(fail(
                    "?",
                    format!(
                        "two trap sites at offset {:#x} of function {}",
                        t.offset, t.func
                    ),
                ));
            }
        }
        if !failures.is_empty() {
            return failures;
        }
        let mut sites: HashMap<u32, Vec<pcc::ExnSite>> = HashMap::default();
        for site in &meta.exn_sites {
            sites.entry(site.func).or_default().push(*site);
        }
        let mut sem = Semantics::new();
        for (i, f) in meta.funcs.iter().enumerate() {
            let Some(ty) = meta.types.get(f.type_index as usize) else {
                failures.push(fail(
                    &f.name,
                    format!("type {} does not exist", f.type_index),
                ));
                continue;
            };
            let claims = facts.get(&(i as u32)).map_or(&[][..], Vec::as_slice);
            let fn_traps = traps.remove(&(i as u32)).unwrap_or_default();
            let fn_sites = sites.get(&(i as u32)).map_or(&[][..], Vec::as_slice);
            let mut func = Func::decode(art, i as u32, ty, &entries, claims, fn_traps);
            func.exception_sites(fn_sites);
            if func.failures.is_empty() {
                func.walk(self, &mut sem);
            }
            // A rejected heap access is explained with the instructions before
            // it: walk the function again keeping that window (a copy of the
            // registers per instruction, too dear for every accepted one),
            // with counts that go nowhere.
            if func.failures.iter().any(|f| f.obligation.is_some()) {
                let fn_traps = std::mem::take(&mut func.traps);
                let mut again = Func::decode(art, i as u32, ty, &entries, claims, fn_traps);
                again.exception_sites(fn_sites);
                again.keep_window = true;
                let mut scratch = Checker {
                    prover: &mut *self.prover,
                    counts: AccessCounts::default(),
                    obligations: 0,
                    shapes: Default::default(),
                    record: None,
                    trace: None,
                };
                again.walk(&mut scratch, &mut sem);
                func.failures = again.failures;
            }
            failures.append(&mut func.failures);
        }
        failures
    }
}

impl<'a> Func<'a> {
    fn decode(
        art: &'a ArtifactFile,
        index: u32,
        ty: &'a WasmFuncType,
        entries: &'a HashMap<u64, usize>,
        facts: &[&FunctionFacts],
        traps: BTreeMap<u32, pcc::TrapCode>,
    ) -> Func<'a> {
        let meta = &art.meta;
        let f = &meta.funcs[index as usize];
        let code = &art.text[f.offset as usize..(f.offset + f.size) as usize];
        let mut decoder = Decoder::with_ip(64, code, f.offset as u64, DecoderOptions::NONE);
        let mut func = Func {
            art,
            index,
            name: &f.name,
            ty,
            insns: vec![],
            rows: vec![],
            offs: vec![],
            traps,
            claims: HashMap::new(),
            claimed: vec![],
            frame: 0,
            entries,
            layout: meta.vmctx_layout(),
            failures: vec![],
            recent: Default::default(),
            keep_window: false,
            table_edges: 0,
            saves: vec![],
            landings: HashMap::new(),
            is_landing: vec![],
        };
        let mut forms = FormChecker::default();
        while decoder.can_decode() {
            let insn = decoder.decode();
            let off = (insn.ip() - f.offset as u64) as u32;
            if insn.is_invalid() {
                func.reject_at(off, "", "bytes that do not decode as an x86-64 instruction");
                return func;
            }
            let at = off as usize..off as usize + insn.len();
            match forms.check(&insn, &code[at]) {
                Ok(row) => func.rows.push(row),
                Err(why) => {
                    func.reject_at(off, &explain::text_of(&insn), why);
                    return func;
                }
            }
            func.offs.push(off);
            func.insns.push(insn);
        }
        for ff in facts {
            for e in &ff.entries {
                // A claim names a register by number: only the 16 exist.
                if let Loc::Gpr(pcc::Gpr(16..)) | Loc::Xmm(pcc::Xmm(16..)) = e.loc {
                    func.reject_at(e.offset, "", format!("claim about register {:?}", e.loc));
                    return func;
                }
                let at = func.claims.entry((e.offset, e.point)).or_default();
                // One claim per location and point: a second one could go
                // unchecked where a block starts from its claimed state.
                let twice = at.iter().any(|(l, _)| *l == e.loc);
                at.push((e.loc, e.fact));
                if twice {
                    func.reject_at(e.offset, "", format!("two claims about {} here", e.loc));
                }
            }
        }
        let traps: Vec<u32> = func.traps.keys().copied().collect();
        for t in traps {
            let ok = func
                .start(t)
                .is_some_and(|i| func.insns[i].mnemonic() == Mnemonic::Ud2);
            if !ok {
                func.reject_at(t, "", "declared trap site is not a ud2 instruction");
            }
        }
        func.claimed = vec![0; func.insns.len()];
        let claimed: Vec<(u32, Point)> = func.claims.keys().copied().collect();
        for (off, point) in claimed {
            if let Some(k) = func.start(off) {
                func.claimed[k] |= if point == Point::Before { 1 } else { 2 };
            } else {
                func.reject_at(
                    off,
                    "",
                    "a fact is claimed at an offset that is not an instruction start",
                );
            }
        }
        func
    }

    /// Each exception site's call (`ret` must be where a call of this
    /// function ends) and landing (an instruction start that is not a
    /// trap site): the runtime resumes this frame there.
    fn exception_sites(&mut self, sites: &[pcc::ExnSite]) {
        self.is_landing = vec![false; self.insns.len()];
        if !self.failures.is_empty() {
            return;
        }
        for site in sites {
            let call = self
                .start(site.ret)
                .map_or(self.insns.len(), |k| k)
                .checked_sub(1)
                .filter(|&k| {
                    self.insns[k].mnemonic() == Mnemonic::Call
                        && self.offs[k] + self.insns[k].len() as u32 == site.ret
                });
            // A call that ends the function has no next instruction.
            let call = call.or_else(|| {
                let k = self.insns.len().checked_sub(1)?;
                (self.insns[k].mnemonic() == Mnemonic::Call
                    && self.offs[k] + self.insns[k].len() as u32 == site.ret)
                    .then_some(k)
            });
            let landing = self
                .start(site.landing)
                .filter(|_| !self.traps.contains_key(&site.landing));
            match (call, landing) {
                (Some(c), Some(l)) => {
                    self.landings.insert(c, l);
                    self.is_landing[l] = true;
                }
                (None, _) => self.reject_at(
                    site.ret,
                    "",
                    "exception site whose return address does not follow a call",
                ),
                (_, None) => self.reject_at(
                    site.landing,
                    "",
                    "exception landing that is not an instruction (or is a trap site)",
                ),
            }
        }
    }

    fn reject_at(&mut self, offset: u32, insn: &str, reason: impl Into<String>) {
        self.failures.push(Failure {
            function: self.name.to_string(),
            offset,
            instruction: insn.to_string(),
            reason: reason.into(),
            obligation: None,
            window: vec![],
            chain: vec![],
            counterexample: None,
        });
    }

    fn reject(&mut self, i: usize, reason: impl Into<String>) {
        let t = self.text(i);
        self.reject_at(self.offs[i], &t, reason);
    }

    fn claims_at(&self, i: usize, point: Point) -> Vec<(Loc, Fact)> {
        let bit = if point == Point::Before { 1 } else { 2 };
        if self.claimed.get(i).is_some_and(|c| c & bit == 0) {
            return vec![];
        }
        self.claims
            .get(&(self.offs[i], point))
            .cloned()
            .unwrap_or_default()
    }

    /// Check that `s` implies the claims at (off, point).
    fn check_claims(&mut self, i: usize, s: &State, point: Point) {
        for (loc, fact) in self.claims_at(i, point) {
            let v = match loc {
                Loc::Gpr(r) => Some(s.get(r.0)),
                Loc::Stack(k) => Some(s.slots.get(&k).copied().unwrap_or(UNKNOWN)),
                Loc::Xmm(_) => None,
            };
            match v {
                Some(v) if v.implies(&fact) => {}
                Some(v) => self.reject(
                    i,
                    format!("false claim: {loc}: {fact}, but the code gives {}", show(v)),
                ),
                None => self.reject(i, format!("unsupported claim about {loc}")),
            }
        }
    }

    /// The instruction starting at function offset `off`, if one does
    /// (`offs` is ascending).
    fn start(&self, off: u32) -> Option<usize> {
        self.offs.binary_search(&off).ok()
    }

    /// The state a claimed block starts from.
    fn claimed_state(&mut self, i: usize) -> State {
        let mut s = State::pinned();
        if self.is_landing[i] {
            s.set(R14, UNKNOWN);
            s.set(R15, UNKNOWN);
        }
        if i > 0 {
            for r in CALLEE_SAVED_GPRS {
                match self.saves.iter().find(|(x, _)| *x == r.0) {
                    Some(&(_, k)) => {
                        s.slots.insert(k, AVal::Entry(r.0));
                    }
                    None => s.set(r.0, AVal::Entry(r.0)),
                }
            }
        }
        for (loc, fact) in self.claims_at(i, Point::Before) {
            match (loc, AVal::from_fact(&fact)) {
                (Loc::Gpr(r), Some(v)) if r.0 == R14 || r.0 == R15 => {
                    if s.get(r.0) != v {
                        self.reject(
                            i,
                            format!("claim {loc}: {fact} contradicts the pinned register"),
                        );
                    }
                }
                (Loc::Gpr(r), Some(v)) => s.set(r.0, v),
                (Loc::Stack(k), Some(v)) => {
                    s.slots.insert(k, v);
                }
                _ => self.reject(i, format!("unsupported claim {loc}: {fact}")),
            }
        }
        s
    }

    fn walk(&mut self, ck: &mut Checker<'_>, sem: &mut Semantics) {
        let n = self.insns.len();
        let Some(body) = self.prologue() else { return };
        // Branch targets inside the function (trap sites excepted) start blocks.
        let mut block_starts = vec![false; n];
        // Loop headers (targets of backward branches) start from their claims
        // alone; other blocks from the join of their (already seen) edges.
        let mut loop_headers = vec![false; n];
        for i in 0..n {
            let insn = &self.insns[i];
            if matches!(insn.op0_kind(), OpKind::NearBranch64) && insn.mnemonic() != Mnemonic::Call
            {
                let rel = self.rel_target(i);
                if rel >= 1 << 32 || self.start(rel as u32).is_none() {
                    self.reject(i, "branch target is not an instruction of this function");
                    return;
                }
                let rel = rel as u32;
                let k = self.start(rel).expect("checked above");
                if !self.traps.contains_key(&rel) {
                    if k < body {
                        self.reject(i, "branch into the prologue");
                        return;
                    }
                    block_starts[k] = true;
                    if k <= i {
                        loop_headers[k] = true;
                    }
                }
            }
        }
        // Landings start blocks; one at or before its call, a loop header.
        let landings: Vec<(usize, usize)> = self.landings.iter().map(|(&c, &l)| (c, l)).collect();
        for (call, l) in landings {
            if l < body {
                self.reject(l, "exception landing in the prologue");
                return;
            }
            block_starts[l] = true;
            if l <= call {
                loop_headers[l] = true;
            }
        }
        // The callee-saved registers' save slots: the stores that open the body.
        self.saves = self.insns[body..]
            .iter()
            .map_while(|insn| {
                let r = gpr(insn.op1_register())?;
                (insn.code() == Code::Mov_rm64_r64
                    && insn.op0_kind() == OpKind::Memory
                    && insn.memory_base() == Register::RSP
                    && insn.memory_index() == Register::None
                    && CALLEE_SAVED_GPRS.iter().any(|c| c.0 == r))
                .then(|| (r, insn.memory_displacement64() as u32))
            })
            .collect();
        // Entry: the claims must follow from the ABI.
        let mut entry = self.abi_state(self.ty);
        for r in CALLEE_SAVED_GPRS {
            entry.set(r.0, AVal::Entry(r.0));
        }
        let entry_claims = self.claimed_state(0);
        for r in 0..16u8 {
            if !entry.get(r).within(entry_claims.get(r)) {
                self.reject(
                    0,
                    format!(
                        "entry claim about {} is not guaranteed by the calling convention",
                        reg_name(r)
                    ),
                );
            }
        }
        if !entry_claims.slots.is_empty() {
            self.reject(0, "entry claims about frame slots");
        }
        let trace = ck.trace.as_deref() == Some(self.name);
        let mut entry_state: FxHashMap<usize, State> = FxHashMap::default();
        // Forward edges seen so far, by target: (source index, state).
        let mut pending: FxHashMap<usize, Vec<(usize, State)>> = FxHashMap::default();
        // The state falling into instruction i, kept in place (a State is
        // large: moving it per instruction was a tenth of verify time).
        let mut s: State = entry;
        let mut live = true;
        for i in body..n {
            if live && !block_starts[i] {
                // Only a jump-table entry can be a target the pre-pass
                // did not see; its edge must not be lost by falling in.
                if pending.contains_key(&i) {
                    self.reject(i, "jump target reached by falling through (an entry must follow an unconditional jump)");
                    return;
                }
                self.check_claims(i, &s, Point::Before);
            } else {
                let mut edges = pending.remove(&i).unwrap_or_default();
                if live {
                    edges.push((i - 1, std::mem::replace(&mut s, State::pinned())));
                }
                if edges.is_empty() && !loop_headers[i] && i != body {
                    // No edge reaches this instruction: it never runs, and
                    // its state must not weaken the blocks it falls into.
                    live = false;
                    continue;
                }
                let claimed = self.claimed_state(i);
                if edges.iter().any(|(_, es)| es.stack != edges[0].1.stack) {
                    self.reject(
                        i,
                        "paths into this instruction disagree on the stack (epilogue begun on one)",
                    );
                    return;
                }
                for (from, es) in &edges {
                    self.check_edge(*from, i, es, &claimed);
                }
                let incoming = edges
                    .into_iter()
                    .map(|(_, es)| es)
                    .reduce(|a, b| join_state(&a, &b));
                s = match incoming {
                    Some(inc) if !loop_headers[i] => inc,
                    _ => claimed,
                };
                entry_state.insert(i, s.clone());
            }
            if trace {
                self.trace(i, &s);
            }
            if self.keep_window {
                if self.recent.len() == WINDOW {
                    self.recent.pop_front();
                }
                self.recent.push_back((i, s.regs));
            }
            let mut edges: Vec<(usize, State)> = vec![];
            let falls = self.transfer(i, &mut s, sem, ck, &mut edges);
            for (t, es) in edges {
                if t <= i {
                    match entry_state.get(&t) {
                        Some(target) => self.check_edge(i, t, &es, target),
                        None => self.reject(i, "backward branch to an instruction never reached"),
                    }
                } else {
                    pending.entry(t).or_default().push((i, es));
                }
            }
            if falls {
                self.check_claims(i, &s, Point::After);
                if i + 1 == n {
                    self.reject(i, "execution falls off the end of the function");
                }
            }
            live = falls;
            if self.failures.len() > 20 {
                return;
            }
        }
    }

    /// Every claim of the target's entry state must follow from `s`, the
    /// state on the edge from instruction `from`.
    fn check_edge(&mut self, from: usize, target: usize, s: &State, entry: &State) {
        let from = self.offs[from];
        if s.stack != entry.stack {
            self.reject(
                target,
                format!(
                    "on the edge from +{from:#x} the stack is {:?}, here {:?}",
                    s.stack, entry.stack
                ),
            );
            return;
        }
        for r in 0..16u8 {
            if !s.get(r).within(entry.get(r)) {
                self.reject(
                    target,
                    format!(
                        "on the edge from +{from:#x} into this block {} is {}, not {} as claimed",
                        reg_name(r),
                        show(s.get(r)),
                        show(entry.get(r))
                    ),
                );
                return;
            }
            if let Some((lo, hi)) = entry.low8[r as usize] {
                if !s.low8[r as usize].is_some_and(|(a, b)| lo <= a && b <= hi) {
                    self.reject(target, "low byte not known on every edge");
                }
            }
        }
        for (k, v) in &entry.slots {
            let got = s.slots.get(k).copied().unwrap_or(UNKNOWN);
            if !got.within(*v) {
                self.reject(
                    target,
                    format!(
                        "on the edge from +{from:#x} into this block [rsp+{k:#x}] is {}, not {} as claimed",
                        show(got),
                        show(*v)
                    ),
                );
                return;
            }
        }
    }

    /// Apply instruction `i` (its row) to `s`. Branch edges go to `edges`
    /// (target instruction index, state on the edge); returns whether
    /// execution can fall through to the next instruction.
    fn transfer(
        &mut self,
        i: usize,
        s: &mut State,
        sem: &mut Semantics,
        ck: &mut Checker<'_>,
        edges: &mut Vec<(usize, State)>,
    ) -> bool {
        let insn = self.insns[i];
        let row = self.rows[i];
        let flow = {
            let mut env = FuncEnv { f: self, ck, i };
            sem.step(&insn, row, s, &mut env)
        };
        let flow = match flow {
            Ok(flow) => flow,
            Err(Stop::Reject(why)) => {
                self.reject(i, why);
                return false;
            }
            Err(Stop::Recorded) => return false,
        };
        match flow {
            Flow::Next => true,
            Flow::Jump(_) => {
                if let Some(t) = self.target(i) {
                    edges.push((t, s.clone()));
                }
                false
            }
            Flow::Branch(_, taken) => {
                if let Some(t) = self.target(i) {
                    edges.push((t, *taken));
                }
                true
            }
            Flow::Table { base, count } => {
                self.table_edges += count as usize;
                if self.table_edges > self.insns.len() {
                    self.reject(
                        i,
                        "jump tables with more entries in all than the function has instructions",
                    );
                    return false;
                }
                // Every entry is an instruction of this function after the
                // jump (so the forward pass meets it with the edge pending),
                // and not a trap site; each gets the state after the jump.
                let fbase = self.art.meta.funcs[self.index as usize].offset as u64;
                for k in 0..count as u64 {
                    let rel = (base as u64 + 8 * k).wrapping_sub(fbase);
                    let t = u32::try_from(rel)
                        .ok()
                        .filter(|r| !self.traps.contains_key(r))
                        .and_then(|r| self.start(r));
                    match t {
                        Some(t) if t > i => edges.push((t, s.clone())),
                        _ => {
                            self.reject(
                                i,
                                format!(
                                    "jump-table entry {k} (+{rel:#x}) is not an instruction of this function after the jump"
                                ),
                            );
                            edges.clear();
                            return false;
                        }
                    }
                }
                false
            }
            Flow::Call(mem) => {
                let returns = self.call(i, s, mem);
                if let (true, Some(&l)) = (returns, self.landings.get(&i)) {
                    // The unwinder resumes the frame as the call would have
                    // returned, but with no register but rsp and rbp defined.
                    let mut at = s.clone();
                    for r in (0..16u8).filter(|&r| r != RSP && r != RBP) {
                        at.set(r, UNKNOWN);
                    }
                    at.flags = Flags::Unknown;
                    edges.push((l, at));
                }
                returns
            }
            Flow::Ret => {
                for r in CALLEE_SAVED_GPRS {
                    if s.get(r.0) != AVal::Entry(r.0) {
                        self.reject(
                            i,
                            format!(
                                "callee-saved {} is {} at ret, not the caller's value",
                                reg_name(r.0),
                                show(s.get(r.0))
                            ),
                        );
                    }
                }
                for r in i32_result_regs(self.ty) {
                    if !s.get(r).within(AVal::Num(0, U32_MAX)) {
                        self.reject(
                            i,
                            format!(
                                "i32 result in {} is {}, not zero-extended",
                                reg_name(r),
                                show(s.get(r))
                            ),
                        );
                    }
                }
                false
            }
            Flow::Trap => {
                if !self.traps.contains_key(&self.offs[i]) {
                    self.reject(i, "ud2 that is not a declared trap site");
                }
                false
            }
        }
    }

    /// A branch's target as an offset from this function's start (wrapping:
    /// a target before the function is huge, never an instruction start).
    fn rel_target(&self, i: usize) -> u64 {
        let base = self.art.meta.funcs[self.index as usize].offset as u64;
        self.insns[i].near_branch_target().wrapping_sub(base)
    }

    /// The instruction index a branch goes to, or None for a trap site.
    fn target(&mut self, i: usize) -> Option<usize> {
        let rel = self.rel_target(i) as u32;
        if self.traps.contains_key(&rel) {
            None
        } else {
            self.start(rel)
        }
    }
}

fn join_state(a: &State, b: &State) -> State {
    let mut s = a.clone();
    for r in 0..16 {
        s.regs[r] = a.regs[r].join(b.regs[r]);
        s.low8[r] = match (a.low8[r], b.low8[r]) {
            (Some(x), Some(y)) => Some((x.0.min(y.0), x.1.max(y.1))),
            _ => None,
        };
    }
    s.slots = a
        .slots
        .iter()
        .filter_map(|(k, v)| b.slots.get(k).map(|w| (*k, v.join(*w))))
        .collect();
    // Callers reject edges whose stacks differ before joining.
    s.flags = if a.flags == b.flags {
        a.flags
    } else {
        Flags::Unknown
    };
    s
}

fn reg_name(r: u8) -> &'static str {
    pcc::Gpr(r).name()
}

fn show(v: AVal) -> String {
    match v {
        AVal::Num(0, u64::MAX) => "unknown".into(),
        AVal::Num(lo, hi) if lo == hi => format!("{lo:#x}"),
        AVal::Num(lo, hi) => format!("in [{lo:#x}, {hi:#x}]"),
        other => format!("{other:?}"),
    }
}
