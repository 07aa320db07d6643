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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, InstructionInfoFactory, IntelFormatter,
    Mnemonic, OpAccess, OpKind, Register,
};
use pcc::vmctx::{arg_locations, result_locations, ArgLoc, VmCtxLayout, CALLER_SAVED_GPRS};
use pcc::{ArtifactFile, Fact, FunctionFacts, ImportKind, Loc, Point, ValType, WasmFuncType};

use crate::obligation::{Obligation, Prover, Shape};
use crate::state::{add, mul, sub, AVal, CmpRhs, Flags, State, U32_MAX, UNKNOWN};

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

/// System V caller-saved registers: what the runtime's functions may change.
const SYSV_CLOBBERS: [u8; 9] = [0, 1, 2, 6, 7, 8, 9, 10, 11];

fn gpr(r: Register) -> Option<u8> {
    r.is_gpr()
        .then(|| (r.full_register() as u32 - Register::RAX as u32) as u8)
}

/// What a classified memory operand is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mem {
    Frame(u32),
    StackArg,
    Vm(u32),
    ForeignVm(u32),
    Heap,
    Global(u32),
    TableDesc(u32, u32),
    Elem(u8, u32),
}

struct Func<'a> {
    art: &'a ArtifactFile,
    index: u32,
    name: &'a str,
    ty: &'a WasmFuncType,
    insns: Vec<Instruction>,
    /// Function-relative offset of each instruction.
    offs: Vec<u32>,
    starts: BTreeMap<u32, usize>,
    traps: BTreeSet<u32>,
    claims: HashMap<(u32, Point), Vec<(Loc, Fact)>>,
    frame: u32,
    /// Function entry offsets (from the symbol table) → function index.
    entries: &'a HashMap<u64, usize>,
    layout: VmCtxLayout,
    failures: Vec<Failure>,
    formatter: IntelFormatter,
    /// The last few instructions walked, with the registers before each.
    recent: std::collections::VecDeque<(usize, [AVal; 16])>,
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
        let mut facts: HashMap<u32, Vec<&FunctionFacts>> = HashMap::new();
        for ff in &art.facts {
            facts.entry(ff.func).or_default().push(ff);
        }
        for (i, f) in meta.funcs.iter().enumerate() {
            let Some(ty) = meta.types.get(f.type_index as usize) else {
                failures.push(fail(
                    &f.name,
                    format!("type {} does not exist", f.type_index),
                ));
                continue;
            };
            let claims = facts.get(&(i as u32)).map_or(&[][..], Vec::as_slice);
            let mut func = Func::decode(art, i as u32, ty, &entries, claims);
            if func.failures.is_empty() {
                func.walk(self);
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
            offs: vec![],
            starts: BTreeMap::new(),
            traps: meta
                .trap_sites
                .iter()
                .filter(|t| t.func == index)
                .map(|t| t.offset)
                .collect(),
            claims: HashMap::new(),
            frame: 0,
            entries,
            layout: meta.vmctx_layout(),
            failures: vec![],
            formatter: IntelFormatter::new(),
            recent: Default::default(),
        };
        while decoder.can_decode() {
            let insn = decoder.decode();
            let off = (insn.ip() - f.offset as u64) as u32;
            if insn.is_invalid() {
                func.reject_at(off, "", "bytes that do not decode as an x86-64 instruction");
                return func;
            }
            func.starts.insert(off, func.insns.len());
            func.offs.push(off);
            func.insns.push(insn);
        }
        for ff in facts {
            for e in &ff.entries {
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
        let traps: Vec<u32> = func.traps.iter().copied().collect();
        for t in traps {
            let ok = func
                .starts
                .get(&t)
                .is_some_and(|&i| func.insns[i].mnemonic() == Mnemonic::Ud2);
            if !ok {
                func.reject_at(t, "", "declared trap site is not a ud2 instruction");
            }
        }
        let claimed: Vec<u32> = func.claims.keys().map(|k| k.0).collect();
        for off in claimed {
            if !func.starts.contains_key(&off) {
                func.reject_at(
                    off,
                    "",
                    "a fact is claimed at an offset that is not an instruction start",
                );
            }
        }
        func
    }

    fn text(&mut self, i: usize) -> String {
        let mut s = String::new();
        self.formatter.format(&self.insns[i], &mut s);
        s
    }

    /// The recent instructions (the last is the current one), each with the
    /// known values of the general registers it uses.
    fn window(&mut self) -> Vec<String> {
        let recent: Vec<(usize, [AVal; 16])> = self.recent.iter().copied().collect();
        let mut info = InstructionInfoFactory::new();
        recent
            .into_iter()
            .map(|(k, regs)| {
                let used: BTreeSet<u8> = info
                    .info(&self.insns[k])
                    .used_registers()
                    .iter()
                    .filter_map(|u| gpr(u.register()))
                    .filter(|&r| r != RSP && r != RBP) // frame registers: no value to show
                    .collect();
                let known: Vec<String> = used
                    .into_iter()
                    .map(|r| format!("{}={}", reg_name(r), show(regs[r as usize])))
                    .collect();
                let (off, text) = (self.offs[k], self.text(k));
                format!("+{off:#x} {text:<36} ; {}", known.join(", "))
            })
            .collect()
    }

    /// Where the index of the access at `i` came from: walking back in code
    /// order (a diagnostic, not a proof), the instruction that last wrote the
    /// index, then
    /// what it copied or reloaded (register, or the frame slot and the store
    /// that filled it), until the value was computed rather than moved.
    fn chain(&mut self, i: usize, index: Option<u8>) -> Vec<String> {
        enum Want {
            Reg(u8),
            Slot(u32),
        }
        let Some(r) = index else { return vec![] };
        let mut want = Want::Reg(r);
        let mut out = vec![];
        let mut info = InstructionInfoFactory::new();
        let mut j = i;
        while j > 0 && out.len() < 8 && i - j < 256 {
            j -= 1;
            let insn = self.insns[j];
            let writes = match want {
                Want::Reg(r) => info.info(&insn).used_registers().iter().any(|u| {
                    gpr(u.register()) == Some(r)
                        && matches!(
                            u.access(),
                            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite
                        )
                }),
                Want::Slot(k) => {
                    insn.op0_kind() == OpKind::Memory
                        && insn.memory_base() == Register::RSP
                        && insn.memory_index() == Register::None
                        && insn.memory_displacement64() == k as u64
                }
            };
            if !writes {
                continue;
            }
            let (off, text) = (self.offs[j], self.text(j));
            out.push(format!("+{off:#x} {text}"));
            // Follow plain copies: register moves, spills and reloads.
            let copy = matches!(insn.mnemonic(), Mnemonic::Mov | Mnemonic::Movsxd);
            want = match (copy, insn.op1_kind()) {
                (true, OpKind::Register) => match gpr(insn.op1_register()) {
                    Some(src) => Want::Reg(src),
                    None => break,
                },
                (true, OpKind::Memory)
                    if insn.memory_base() == Register::RSP
                        && insn.memory_index() == Register::None =>
                {
                    Want::Slot(insn.memory_displacement64() as u32)
                }
                _ => break,
            };
        }
        out
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

    /// The ABI's guarantee at entry: i32 parameters in registers are zero-extended.
    fn abi_state(&self, ty: &WasmFuncType) -> State {
        let mut s = State::pinned();
        for (p, loc) in ty
            .params
            .iter()
            .zip(arg_locations(ty.params.iter().map(|t| t.is_float())))
        {
            if let (ValType::I32, ArgLoc::Gpr(r)) = (p, loc) {
                s.set(r.0, AVal::Num(0, U32_MAX));
            }
        }
        s
    }

    /// At a call: the arguments meet the callee type's ABI guarantee.
    fn check_call_args(&mut self, i: usize, s: &State, ty: &WasmFuncType) {
        let want = self.abi_state(ty);
        for r in 0..16u8 {
            if r != R14 && r != R15 && !s.get(r).within(want.get(r)) {
                self.reject(
                    i,
                    format!(
                        "call argument in {} does not meet its i32 zero-extension guarantee",
                        reg_name(r)
                    ),
                );
            }
        }
    }

    fn claims_at(&self, off: u32, point: Point) -> Vec<(Loc, Fact)> {
        self.claims.get(&(off, point)).cloned().unwrap_or_default()
    }

    /// Check that `s` implies the claims at (off, point).
    fn check_claims(&mut self, i: usize, s: &State, point: Point) {
        for (loc, fact) in self.claims_at(self.offs[i], point) {
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

    /// The state a claimed block starts from.
    fn claimed_state(&mut self, i: usize) -> State {
        let mut s = State::pinned();
        for (loc, fact) in self.claims_at(self.offs[i], Point::Before) {
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

    fn walk(&mut self, ck: &mut Checker<'_>) {
        let n = self.insns.len();
        let Some(body) = self.prologue() else { return };
        // Branch targets inside the function (trap sites excepted) start blocks.
        let mut block_starts = BTreeSet::new();
        // Loop headers (targets of backward branches) start from their claims
        // alone; other blocks from the join of their (already seen) edges.
        let mut loop_headers = BTreeSet::new();
        for i in 0..n {
            let insn = &self.insns[i];
            if matches!(insn.op0_kind(), OpKind::NearBranch64) && insn.mnemonic() != Mnemonic::Call
            {
                let rel = self.rel_target(i);
                if rel >= 1 << 32 || !self.starts.contains_key(&(rel as u32)) {
                    self.reject(i, "branch target is not an instruction of this function");
                    return;
                }
                let rel = rel as u32;
                if !self.traps.contains(&rel) {
                    if self.starts[&rel] < body {
                        self.reject(i, "branch into the prologue");
                        return;
                    }
                    block_starts.insert(self.starts[&rel]);
                    if self.starts[&rel] <= i {
                        loop_headers.insert(self.starts[&rel]);
                    }
                }
            }
        }
        // Entry: the claims must follow from the ABI.
        let entry = self.abi_state(self.ty);
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
        let mut entry_state: HashMap<usize, State> = HashMap::new();
        // Forward edges seen so far, by target: (source index, state).
        let mut pending: HashMap<usize, Vec<(usize, State)>> = HashMap::new();
        let mut cur: Option<State> = Some(entry);
        for i in body..n {
            let mut s = match cur.take() {
                Some(s) if !block_starts.contains(&i) => {
                    self.check_claims(i, &s, Point::Before);
                    s
                }
                fallthrough => {
                    let mut edges = pending.remove(&i).unwrap_or_default();
                    if let Some(f) = fallthrough {
                        edges.push((i - 1, f));
                    }
                    if edges.is_empty() && !loop_headers.contains(&i) && i != body {
                        // No edge reaches this instruction: it never runs, and
                        // its state must not weaken the blocks it falls into.
                        continue;
                    }
                    let claimed = self.claimed_state(i);
                    for (from, es) in &edges {
                        self.check_edge(*from, i, es, &claimed);
                    }
                    let incoming = edges
                        .into_iter()
                        .map(|(_, es)| es)
                        .reduce(|a, b| join_state(&a, &b));
                    let s = match incoming {
                        Some(inc) if !loop_headers.contains(&i) => inc,
                        _ => claimed,
                    };
                    entry_state.insert(i, s.clone());
                    s
                }
            };
            if trace {
                let slots: Vec<String> = s
                    .slots
                    .iter()
                    .map(|(k, v)| format!("[rsp+{k:#x}]={}", show(*v)))
                    .collect();
                let regs: Vec<String> = (0..16u8)
                    .filter(|r| s.get(*r) != UNKNOWN)
                    .map(|r| format!("{}={}", reg_name(r), show(s.get(r))))
                    .collect();
                let t = self.text(i);
                eprintln!(
                    "{:#x}: {t}\n    {} {}",
                    self.offs[i],
                    regs.join(" "),
                    slots.join(" ")
                );
            }
            if self.recent.len() == WINDOW {
                self.recent.pop_front();
            }
            self.recent.push_back((i, s.regs));
            let mut edges: Vec<(usize, State)> = vec![];
            let falls = self.transfer(i, &mut s, ck, &mut edges);
            for (t, es) in edges {
                if t <= i {
                    match entry_state.get(&t).cloned() {
                        Some(target) => self.check_edge(i, t, &es, &target),
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
                cur = Some(s);
            }
            if self.failures.len() > 20 {
                return;
            }
        }
    }

    /// Every claim of the target's entry state must follow from `s`, the
    /// state on the edge from instruction `from`.
    fn check_edge(&mut self, from: usize, target: usize, s: &State, entry: &State) {
        let from = self.offs[from];
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

    /// `push rbp; mov rbp, rsp; [sub rsp, F]; cmp rsp, [r14+limit]; jb <stack overflow trap>`.
    /// Returns the index of the first body instruction.
    fn prologue(&mut self) -> Option<usize> {
        let ins = &self.insns;
        let reg = |i: usize, k: u32| {
            (ins.len() > i && ins[i].op_kind(k) == OpKind::Register).then(|| ins[i].op_register(k))
        };
        let ok0 = ins.len() > 4
            && ins[0].mnemonic() == Mnemonic::Push
            && reg(0, 0) == Some(Register::RBP)
            && ins[1].mnemonic() == Mnemonic::Mov
            && reg(1, 0) == Some(Register::RBP)
            && reg(1, 1) == Some(Register::RSP);
        if !ok0 {
            self.reject_at(
                0,
                "",
                "function does not begin with the frame prologue (push rbp; mov rbp, rsp)",
            );
            return None;
        }
        let mut i = 2;
        if ins[2].mnemonic() == Mnemonic::Sub && reg(2, 0) == Some(Register::RSP) {
            let f = ins[2].immediate(1) as i64;
            if !(0..=1 << 24).contains(&f) {
                self.reject(2, "frame size out of range");
                return None;
            }
            self.frame = f as u32;
            i = 3;
        }
        let cmp_ok = ins[i].mnemonic() == Mnemonic::Cmp
            && reg(i, 0) == Some(Register::RSP)
            && ins[i].op1_kind() == OpKind::Memory
            && ins[i].memory_base() == Register::R14
            && ins[i].memory_index() == Register::None
            && ins[i].memory_displacement64() == VmCtxLayout::STACK_LIMIT as u64;
        let jb_ok = ins[i + 1].mnemonic() == Mnemonic::Jb && {
            let rel = self.rel_target(i + 1) as u32;
            self.art.meta.trap_sites.iter().any(|t| {
                t.func == self.index && t.offset == rel && t.code == pcc::TrapCode::StackOverflow
            })
        };
        if !(cmp_ok && jb_ok) {
            self.reject(i, "prologue does not check the stack limit (cmp rsp, [r14+stack_limit]; jb <stack overflow>)");
            return None;
        }
        Some(i + 2)
    }

    /// Classify a memory operand; heap accesses become obligations.
    fn classify(&mut self, i: usize, s: &State, write: bool, ck: &mut Checker<'_>) -> Option<Mem> {
        let insn = self.insns[i];
        let base = gpr(insn.memory_base());
        let index = gpr(insn.memory_index());
        let disp = insn.memory_displacement64() as i64;
        let size = insn.memory_size().size() as u32;
        if insn.memory_base() == Register::RIP || insn.segment_prefix() != Register::None {
            self.reject(i, "unclassifiable memory operand (rip-relative or segment)");
            return None;
        }
        let Some(b) = base else {
            self.reject(i, "unclassifiable memory operand (no base register)");
            return None;
        };
        let read_only = |this: &mut Self, m: Mem| {
            if write {
                this.reject(
                    i,
                    "write to read-only memory (vmctx, table or argument area)",
                );
                None
            } else {
                Some(m)
            }
        };
        let bv = s.get(b);
        if b == RSP && index.is_none() {
            if disp >= 0 && disp as u64 + size as u64 <= self.frame as u64 {
                ck.counts.stack += 1;
                return Some(Mem::Frame(disp as u32));
            }
            self.reject(
                i,
                format!(
                    "stack access [rsp{disp:+#x}] outside the {:#x}-byte frame",
                    self.frame
                ),
            );
            return None;
        }
        if b == RBP && index.is_none() {
            let nstack = arg_locations(self.ty.params.iter().map(|t| t.is_float()))
                .iter()
                .filter(|l| matches!(l, ArgLoc::Stack(_)))
                .count() as i64;
            if disp >= 16 && (disp - 16) % 8 == 0 && (disp - 16) / 8 < nstack && size <= 8 {
                ck.counts.stack += 1;
                return read_only(self, Mem::StackArg);
            }
            self.reject(
                i,
                "access through rbp that is not a stack argument of this function",
            );
            return None;
        }
        match (bv, index) {
            (AVal::HeapBase, idx) => {
                if insn.memory_index_scale() != 1 && idx.is_some() {
                    self.reject(i, "scaled heap index");
                    return None;
                }
                let (lo, hi) = idx.map_or((0, 0), |r| s.get(r).range());
                ck.counts.heap += 1;
                ck.obligations += 1;
                let ob = Obligation {
                    index_reg: idx.map(reg_name).map(str::to_string),
                    index_min: lo,
                    index_max: hi,
                    disp,
                    size,
                    limit: self.art.meta.sandbox.heap.sandbox_bytes(),
                };
                ck.shapes.insert(ob.shape());
                if let Some(r) = ck.record.as_mut() {
                    r.push(Recorded {
                        func: self.index,
                        instruction: self.text(i),
                        obligation: ob.clone(),
                    });
                }
                if let Err(cex) = ck.prover.prove(&ob) {
                    let t = self.text(i);
                    let (window, chain) = (self.window(), self.chain(i, idx));
                    self.failures.push(Failure {
                        function: self.name.to_string(),
                        offset: self.offs[i],
                        instruction: t,
                        reason: "heap access not proved inside the sandbox".into(),
                        obligation: Some(ob.describe()),
                        counterexample: Some(cex.to_string()),
                        window,
                        chain,
                    });
                    return None;
                }
                Some(Mem::Heap)
            }
            (AVal::VmCtx, None)
                if disp >= 0 && (disp as u64 + size as u64) <= self.layout.size() as u64 =>
            {
                ck.counts.vmctx += 1;
                read_only(self, Mem::Vm(disp as u32))
            }
            (AVal::ForeignVmCtx, None) if disp == VmCtxLayout::HEAP_BASE as i64 && size == 8 => {
                ck.counts.vmctx += 1;
                read_only(self, Mem::ForeignVm(disp as u32))
            }
            (AVal::Global(g), None) if disp == 0 && size <= 8 => {
                ck.counts.global += 1;
                if write && !self.global_mutable(g) {
                    self.reject(i, format!("write to immutable global {g}"));
                    return None;
                }
                Some(Mem::Global(g))
            }
            // The element pointer (8 bytes) and the length (8, or its low
            // 4: table.size); both read-only.
            (AVal::Table(t), None)
                if (disp == VmCtxLayout::TABLE_ELEMS as i64 && size == 8)
                    || (disp == VmCtxLayout::TABLE_LEN as i64 && (size == 8 || size == 4)) =>
            {
                ck.counts.table += 1;
                read_only(self, Mem::TableDesc(t, disp as u32))
            }
            (AVal::ElemAddr { .. }, None)
                if (0..VmCtxLayout::ELEM_SIZE as i64).contains(&disp)
                    && disp % 8 == 0
                    && size == 8 =>
            {
                ck.counts.table += 1;
                read_only(self, Mem::Elem(b, disp as u32))
            }
            _ => {
                self.reject(
                    i,
                    format!(
                        "unclassifiable memory operand: base {} holds {}",
                        reg_name(b),
                        show(bv)
                    ),
                );
                None
            }
        }
    }

    fn global_mutable(&self, g: u32) -> bool {
        let meta = &self.art.meta;
        let imported = meta.num_imported_globals();
        if g < imported {
            meta.imports
                .iter()
                .filter_map(|imp| match imp.kind {
                    ImportKind::Global { mutable, .. } => Some(mutable),
                    _ => None,
                })
                .nth(g as usize)
                .unwrap_or(false)
        } else {
            meta.globals
                .get((g - imported) as usize)
                .is_some_and(|gm| gm.mutable)
        }
    }

    /// What a load from a classified location yields (`bytes` wide, zero-extended).
    fn load_value(&self, m: Mem, s: &State, bytes: u32) -> AVal {
        let v = match m {
            Mem::Frame(k) => s.slots.get(&k).copied().unwrap_or(UNKNOWN),
            Mem::Vm(off) => self.vm_field(off),
            Mem::ForeignVm(_) => AVal::ForeignHeapBase,
            Mem::TableDesc(t, off) if off == VmCtxLayout::TABLE_ELEMS => AVal::Elems(t),
            Mem::Elem(_, off) if off == VmCtxLayout::ELEM_VMCTX => AVal::ForeignVmCtx,
            _ => UNKNOWN,
        };
        match bytes {
            8 => v,
            4 => v.low32(),
            2 => AVal::Num(0, 0xffff),
            _ => AVal::Num(0, 0xff),
        }
    }

    /// The runtime's contract for vmctx fields (pcc::vmctx documents it).
    fn vm_field(&self, off: u32) -> AVal {
        let l = &self.layout;
        if off == VmCtxLayout::HEAP_BASE {
            return AVal::HeapBase;
        }
        if off == VmCtxLayout::HEAP_BYTES {
            // The runtime never grows a memory past the reservation the
            // artifact declares, and a wasm32 memory never past 65536 pages.
            let r = self.art.meta.sandbox.heap.reservation();
            return AVal::HeapBytes {
                minus: 0,
                max: r.min(1 << 32),
            };
        }
        for t in 0..l.num_types {
            if off == l.sig_id(t) {
                return AVal::SigId(t);
            }
        }
        for t in 0..l.num_tables {
            if off == l.table(t) {
                return AVal::Table(t);
            }
        }
        for g in 0..l.num_globals {
            if off == l.global(g) {
                return AVal::Global(g);
            }
        }
        UNKNOWN
    }

    fn callee_type(&self, target: u64) -> Option<&'a WasmFuncType> {
        let meta = &self.art.meta;
        let f = &meta.funcs[*self.entries.get(&target)?];
        meta.types.get(f.type_index as usize)
    }

    /// Apply instruction `i` to `s`. Branch edges go to `edges` (target
    /// instruction index, state on the edge); returns whether execution can
    /// fall through to the next instruction.
    fn transfer(
        &mut self,
        i: usize,
        s: &mut State,
        ck: &mut Checker<'_>,
        edges: &mut Vec<(usize, State)>,
    ) -> bool {
        let insn = self.insns[i];
        use Mnemonic as M;
        let m = insn.mnemonic();
        // Every explicit memory operand is classified (lea computes, nop ignores).
        let mut mem: Option<Mem> = None;
        for k in 0..insn.op_count() {
            match insn.op_kind(k) {
                OpKind::Memory if !matches!(m, M::Lea | M::Nop) => {
                    let write = k == 0 && !matches!(m, M::Cmp | M::Test | M::Call);
                    match self.classify(i, s, write, ck) {
                        Some(c) => mem = Some(c),
                        None => return false,
                    }
                }
                OpKind::Register | OpKind::Memory | OpKind::NearBranch64 => {}
                k if is_immediate(k) => {}
                other => {
                    self.reject(i, format!("operand kind {other:?} has no semantics here"));
                    return false;
                }
            }
        }
        let op_reg = |k: u32| (insn.op_kind(k) == OpKind::Register).then(|| insn.op_register(k));
        let dst = op_reg(0);
        let dst_gpr = dst.and_then(gpr);
        let dst_size = dst.map_or(0, |r| r.size() as u32);
        let src_val = |k: u32, s: &State| -> AVal {
            match insn.op_kind(k) {
                OpKind::Register => match gpr(insn.op_register(k)) {
                    Some(r) => {
                        let v = s.get(r);
                        match insn.op_register(k).size() {
                            8 => v,
                            4 => v.low32(),
                            _ => UNKNOWN,
                        }
                    }
                    None => UNKNOWN,
                },
                k2 if is_immediate(k2) => AVal::constant(insn.immediate(k)),
                _ => UNKNOWN,
            }
        };
        // Writes to rsp, rbp and the pinned registers are allowed only in the
        // shapes handled below.
        if let Some(d) = dst_gpr {
            let writes_dst = !matches!(
                m,
                M::Cmp | M::Test | M::Push | M::Jmp | M::Call | M::Ucomiss | M::Ucomisd | M::Bt
            );
            if writes_dst && matches!(d, RSP | RBP | R14 | R15) && !matches!(m, M::Mov | M::Pop) {
                self.reject(i, format!("write to {}", reg_name(d)));
                return false;
            }
        }
        let set_flags_unknown = |s: &mut State| s.flags = Flags::Unknown;
        match m {
            M::Nop => {}
            M::Mov | M::Movzx | M::Movsx | M::Movsxd => {
                let val = match (insn.op1_kind(), mem) {
                    (OpKind::Memory, Some(c)) => {
                        let bytes = insn.memory_size().size() as u32;
                        let v = self.load_value(c, s, bytes);
                        match m {
                            M::Movsxd => self.load_value(c, s, 8).sext32(),
                            M::Movsx => UNKNOWN,
                            _ => v,
                        }
                    }
                    (OpKind::Register, _) => {
                        let r = insn.op_register(1);
                        match (m, gpr(r), r.size()) {
                            (M::Movsxd, Some(g), _) => s.get(g).sext32(),
                            (M::Movzx, Some(g), 1) => match s.low8[g as usize] {
                                Some((lo, hi)) => AVal::Num(lo as u64, hi as u64),
                                None => AVal::Num(0, 0xff),
                            },
                            (M::Movzx, Some(_), _) => AVal::Num(0, 0xffff),
                            (M::Movsx, _, _) => UNKNOWN,
                            _ => src_val(1, s),
                        }
                    }
                    (k, _) if is_immediate(k) => src_val(1, s),
                    _ => UNKNOWN,
                };
                if insn.op0_kind() == OpKind::Memory {
                    // A store: frame slots remember what they hold.
                    if let Some(Mem::Frame(k)) = mem {
                        let v = match op_reg(1).and_then(gpr) {
                            Some(r) if insn.memory_size().size() == 8 => s.get(r),
                            _ => UNKNOWN,
                        };
                        s.slots.retain(|&o, _| {
                            o + 8 <= k || o >= k + insn.memory_size().size() as u32
                        });
                        s.slots.insert(k, v);
                    }
                    return true;
                }
                let Some(d) = dst_gpr else {
                    self.reject(i, "move into a non-general register");
                    return false;
                };
                let val = if dst_size == 4 { val.low32() } else { val };
                match d {
                    RSP => {
                        // The epilogue: `mov rsp, rbp; pop rbp; ret`.
                        let ok = op_reg(1) == Some(Register::RBP)
                            && self.insns.get(i + 1).is_some_and(|n| {
                                n.mnemonic() == M::Pop && n.op0_register() == Register::RBP
                            })
                            && self
                                .insns
                                .get(i + 2)
                                .is_some_and(|n| n.mnemonic() == M::Ret && n.op_count() == 0);
                        if !ok {
                            self.reject(i, "write to rsp outside the epilogue");
                            return false;
                        }
                        return true;
                    }
                    RBP => {
                        self.reject(i, "write to rbp outside the prologue");
                        return false;
                    }
                    R14 => {
                        // Only the call_indirect switch and its restore.
                        let ok = matches!(val, AVal::ForeignVmCtx | AVal::VmCtx);
                        if !ok {
                            self.reject(i, format!("write to r14 of {}", show(val)));
                            return false;
                        }
                    }
                    R15 => {
                        let ok = matches!(
                            (val, s.get(R14)),
                            (AVal::ForeignHeapBase, AVal::ForeignVmCtx)
                                | (AVal::HeapBase, AVal::VmCtx)
                        );
                        if !ok {
                            self.reject(i, format!("write to r15 of {}", show(val)));
                            return false;
                        }
                    }
                    _ => {}
                }
                s.set(d, val);
            }
            M::Lea => {
                let Some(d) = dst_gpr else { return self.bad(i) };
                let base = gpr(insn.memory_base());
                let index = gpr(insn.memory_index());
                let scale = insn.memory_index_scale() as u64;
                let disp = insn.memory_displacement64() as i64;
                let bv = base.map(|b| s.get(b));
                let iv = index.map(|x| s.get(x));
                let v = match (bv, iv, scale, disp) {
                    (Some(AVal::TableIndex(t, ..)), Some(AVal::TableIndex(t2, ..)), 2, 0)
                        if base == index && t == t2 =>
                    {
                        AVal::Elem3(t)
                    }
                    (Some(AVal::Elems(t)), Some(AVal::Elem3(t2)), 8, 0) if t == t2 => {
                        AVal::ElemAddr {
                            table: t,
                            null_checked: false,
                            sig: None,
                        }
                    }
                    _ => {
                        let b = bv.map_or((0, 0), |v| v.range());
                        let x = iv.map_or((0, 0), |v| v.range());
                        let sum = add(b, mul(x, (scale, scale)).range());
                        let v = if disp >= 0 {
                            add(sum.range(), (disp as u64, disp as u64))
                        } else {
                            sub(sum.range(), (disp.unsigned_abs(), disp.unsigned_abs()))
                        };
                        let v = if base == Some(RSP) { UNKNOWN } else { v };
                        if dst_size == 4 {
                            v.low32()
                        } else {
                            v
                        }
                    }
                };
                s.set(d, v);
            }
            M::Add | M::Sub | M::And | M::Or | M::Xor | M::Imul => {
                let Some(d) = dst_gpr else { return self.bad(i) };
                let same = op_reg(1).is_some_and(|r| Some(r) == dst);
                let a = src_val(0, s).range();
                let b = src_val(1, s).range();
                let v = match m {
                    M::Xor | M::Sub if same => AVal::constant(0),
                    M::Add => add(a, b),
                    M::Sub => sub(a, b),
                    M::Imul => mul(a, b),
                    M::And => AVal::Num(0, a.1.min(b.1)),
                    M::Or | M::Xor => {
                        let hi = a.1.max(b.1);
                        let bits = 64 - hi.leading_zeros();
                        AVal::Num(
                            0,
                            if bits >= 64 {
                                u64::MAX
                            } else {
                                (1u64 << bits) - 1
                            },
                        )
                    }
                    _ => UNKNOWN,
                };
                // `sub r, k` on heap_bytes - m: wraps unless heap_bytes >= m + k,
                // which the borrow flag tells (see refine_fallthrough).
                let heap_sub = match (m, s.get(d), insn.op1_kind(), dst_size) {
                    (M::Sub, AVal::HeapBytes { minus, max }, k, 8) if is_immediate(k) => {
                        let k = insn.immediate(1);
                        minus.checked_add(k).map(|minus| Flags::HeapSub {
                            r: d,
                            minus,
                            max: max.saturating_sub(k),
                        })
                    }
                    _ => None,
                };
                match dst_size {
                    8 => s.set(d, v),
                    4 => s.set(d, v.low32()),
                    1 => {
                        // Byte logic on 0/1 bytes (float compares) stays 0/1.
                        let l =
                            |r: Option<Register>| r.and_then(gpr).and_then(|g| s.low8[g as usize]);
                        let both = l(op_reg(0)).zip(l(op_reg(1)));
                        s.set(d, UNKNOWN);
                        if matches!(m, M::And | M::Or) {
                            if let Some(((_, h1), (_, h2))) = both {
                                if h1 <= 1 && h2 <= 1 {
                                    s.low8[d as usize] = Some((0, 1));
                                }
                            }
                        }
                    }
                    _ => s.set(d, UNKNOWN),
                }
                s.flags = heap_sub.unwrap_or(Flags::Unknown);
            }
            M::Shl | M::Shr | M::Sar | M::Rol | M::Ror => {
                let Some(d) = dst_gpr else { return self.bad(i) };
                let a = src_val(0, s).range();
                let count = is_immediate(insn.op1_kind())
                    .then(|| insn.immediate(1) as u32 & if dst_size == 8 { 63 } else { 31 });
                let v = match (m, count) {
                    (M::Shr, Some(k)) => AVal::Num(a.0 >> k, a.1 >> k),
                    (M::Shl, Some(k)) if a.1.leading_zeros() >= k => AVal::Num(a.0 << k, a.1 << k),
                    _ => UNKNOWN,
                };
                s.set(d, if dst_size == 4 { v.low32() } else { v });
                set_flags_unknown(s);
            }
            M::Lzcnt | M::Tzcnt | M::Popcnt => {
                let Some(d) = dst_gpr else { return self.bad(i) };
                s.set(d, AVal::Num(0, dst_size as u64 * 8));
                set_flags_unknown(s);
            }
            M::Btr | M::Btc | M::Bts => {
                let Some(d) = dst_gpr else { return self.bad(i) };
                s.set(
                    d,
                    if dst_size == 4 {
                        AVal::Num(0, U32_MAX)
                    } else {
                        UNKNOWN
                    },
                );
                set_flags_unknown(s);
            }
            M::Cmovne | M::Cmova => {
                let Some(d) = dst_gpr else { return self.bad(i) };
                let v = src_val(0, s).join(src_val(1, s));
                s.set(d, if dst_size == 4 { v.low32() } else { v });
            }
            M::Sete
            | M::Setne
            | M::Setl
            | M::Setb
            | M::Setg
            | M::Seta
            | M::Setle
            | M::Setbe
            | M::Setge
            | M::Setae
            | M::Setp
            | M::Setnp => {
                let Some(d) = dst_gpr else { return self.bad(i) };
                s.set(d, UNKNOWN);
                s.low8[d as usize] = Some((0, 1));
            }
            M::Cdq => s.set(2, AVal::Num(0, U32_MAX)),
            M::Cqo => s.set(2, UNKNOWN),
            M::Div | M::Idiv => {
                let v = if dst_size == 4 {
                    AVal::Num(0, U32_MAX)
                } else {
                    UNKNOWN
                };
                s.set(0, v);
                s.set(2, v);
                set_flags_unknown(s);
            }
            M::Cmp => {
                s.flags = match (insn.op0_kind(), insn.op1_kind(), mem) {
                    (OpKind::Register, OpKind::Memory, Some(Mem::TableDesc(t, off)))
                        if off == VmCtxLayout::TABLE_LEN =>
                    {
                        match dst_gpr {
                            Some(r) => Flags::TableLen { idx: r, table: t },
                            None => Flags::Unknown,
                        }
                    }
                    (OpKind::Memory, k, Some(Mem::Elem(e, off)))
                        if is_immediate(k)
                            && off == VmCtxLayout::ELEM_CODE
                            && insn.immediate(1) == 0 =>
                    {
                        Flags::ElemNull { elem: e }
                    }
                    (OpKind::Memory, OpKind::Register, Some(Mem::Elem(e, off)))
                        if off == VmCtxLayout::ELEM_SIG =>
                    {
                        match op_reg(1).and_then(gpr).map(|r| s.get(r)) {
                            Some(AVal::SigId(t)) => Flags::ElemSig { elem: e, sig: t },
                            _ => Flags::Unknown,
                        }
                    }
                    (OpKind::Register, OpKind::Register, _) => {
                        match (dst_gpr, op_reg(1).and_then(gpr)) {
                            (Some(a), Some(b)) => Flags::Cmp {
                                a,
                                b: CmpRhs::Reg(b),
                                bits: dst_size * 8,
                            },
                            _ => Flags::Unknown,
                        }
                    }
                    (OpKind::Register, k, _) if is_immediate(k) => match dst_gpr {
                        Some(a) => Flags::Cmp {
                            a,
                            b: CmpRhs::Imm(insn.immediate(1)),
                            bits: dst_size * 8,
                        },
                        None => Flags::Unknown,
                    },
                    _ => Flags::Unknown,
                };
            }
            M::Test | M::Ucomiss | M::Ucomisd => set_flags_unknown(s),
            M::Jmp => {
                let t = self.target(i);
                if let Some(t) = t {
                    self.check_pinned(i, s);
                    edges.push((t, s.clone()));
                }
                return false;
            }
            M::Jb | M::Jbe | M::Ja | M::Jae | M::Je | M::Jne | M::Jp | M::Js | M::Jno => {
                if let Some(t) = self.target(i) {
                    self.check_pinned(i, s);
                    edges.push((t, s.clone()));
                }
                refine_fallthrough(m, s);
            }
            M::Ud2 => {
                if !self.traps.contains(&self.offs[i]) {
                    self.reject(i, "ud2 that is not a declared trap site");
                }
                return false;
            }
            M::Pop => {
                // Only the epilogue's `pop rbp`, right after `mov rsp, rbp`.
                let ok = dst == Some(Register::RBP)
                    && i > 0
                    && self.insns[i - 1].mnemonic() == M::Mov
                    && self.insns[i - 1].op0_register() == Register::RSP;
                if !ok {
                    return self.bad(i);
                }
            }
            M::Ret => {
                let ok = insn.op_count() == 0 && i >= 2 && self.insns[i - 1].mnemonic() == M::Pop;
                if !ok {
                    return self.bad(i);
                }
                self.check_pinned(i, s);
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
                return false;
            }
            M::Call => return self.call(i, s, mem),
            M::Movd | M::Movq | M::Cvttss2si | M::Cvttsd2si => {
                if let Some(d) = dst_gpr {
                    s.set(
                        d,
                        if dst_size == 4 {
                            AVal::Num(0, U32_MAX)
                        } else {
                            UNKNOWN
                        },
                    );
                }
            }
            // SSE arithmetic and moves: no general register or flag changes
            // beyond what the rows above cover.
            M::Xorps
            | M::Movaps
            | M::Andps
            | M::Orps
            | M::Addss
            | M::Addsd
            | M::Subss
            | M::Subsd
            | M::Mulss
            | M::Mulsd
            | M::Divss
            | M::Divsd
            | M::Minss
            | M::Minsd
            | M::Maxss
            | M::Maxsd
            | M::Sqrtss
            | M::Sqrtsd
            | M::Roundss
            | M::Roundsd
            | M::Cvtss2sd
            | M::Cvtsd2ss
            | M::Cvtsi2ss
            | M::Cvtsi2sd
            | M::Movss
            | M::Movsd => {
                if dst_gpr.is_some() {
                    return self.bad(i);
                }
                if let (Some(Mem::Frame(k)), OpKind::Memory) = (mem, insn.op0_kind()) {
                    s.slots.insert(k, UNKNOWN);
                }
            }
            _ => return self.bad(i),
        }
        true
    }

    fn bad(&mut self, i: usize) -> bool {
        self.reject(i, "an instruction form the validator has no semantics for");
        false
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
        if self.traps.contains(&rel) {
            None
        } else {
            self.starts.get(&rel).copied()
        }
    }

    fn check_pinned(&mut self, i: usize, s: &State) {
        if s.get(R14) != AVal::VmCtx || s.get(R15) != AVal::HeapBase {
            self.reject(
                i,
                "r14/r15 are not this instance's vmctx and heap base here",
            );
        }
    }

    fn call(&mut self, i: usize, s: &mut State, mem: Option<Mem>) -> bool {
        let insn = self.insns[i];
        let clobber_all = |s: &mut State| {
            for r in CALLER_SAVED_GPRS {
                s.set(r.0, UNKNOWN);
            }
            s.flags = Flags::Unknown;
        };
        // The callee's i32 results come back zero-extended (checked at its `ret`).
        let set_result = |s: &mut State, ty: &WasmFuncType| {
            for r in i32_result_regs(ty) {
                s.set(r, AVal::Num(0, U32_MAX));
            }
        };
        match (insn.op0_kind(), mem) {
            (OpKind::NearBranch64, _) => {
                let t = insn.near_branch_target();
                let Some(ty) = self.callee_type(t) else {
                    self.reject(i, "direct call to something that is not a function entry");
                    return false;
                };
                self.check_pinned(i, s);
                self.check_call_args(i, s, ty);
                clobber_all(s);
                set_result(s, ty);
            }
            (OpKind::Memory, Some(Mem::Vm(off)))
                if off == VmCtxLayout::HOST_CALL
                    || off == VmCtxLayout::MEMORY_GROW
                    || off == VmCtxLayout::BULK_MEMORY
                    || off == VmCtxLayout::TABLE_OP =>
            {
                self.check_pinned(i, s);
                if off == VmCtxLayout::HOST_CALL {
                    // The host writes back over the argument slots of this import.
                    let n = s.get(6).as_const().and_then(|imp| self.import_slots(imp));
                    match n {
                        Some(n) => s.slots.retain(|&k, _| k >= 8 * n),
                        None => s.slots.clear(),
                    }
                }
                for r in SYSV_CLOBBERS {
                    s.set(r, UNKNOWN);
                }
                s.flags = Flags::Unknown;
            }
            (OpKind::Memory, Some(Mem::Elem(e, off))) if off == VmCtxLayout::ELEM_CODE => {
                let AVal::ElemAddr {
                    null_checked: true,
                    sig: Some(t),
                    ..
                } = s.get(e)
                else {
                    self.reject(i, "indirect call through a table element without the null and signature checks");
                    return false;
                };
                if (s.get(R14), s.get(R15)) != (AVal::ForeignVmCtx, AVal::ForeignHeapBase) {
                    self.reject(
                        i,
                        "indirect call without switching to the element's instance",
                    );
                    return false;
                }
                let Some(ty) = self.art.meta.types.get(t as usize) else {
                    return self.bad(i);
                };
                self.check_call_args(
                    i,
                    &{
                        let mut c = s.clone();
                        c.set(R14, AVal::VmCtx);
                        c.set(R15, AVal::HeapBase);
                        c
                    },
                    ty,
                );
                clobber_all(s);
                set_result(s, ty);
            }
            _ => {
                self.reject(i, "call to an undeclared target");
                return false;
            }
        }
        true
    }

    /// Slots the host call for import `imp` reads and writes.
    fn import_slots(&self, imp: u64) -> Option<u32> {
        let meta = &self.art.meta;
        let type_index = meta
            .imports
            .iter()
            .filter_map(|x| match x.kind {
                ImportKind::Func { type_index } => Some(type_index),
                _ => None,
            })
            .nth(usize::try_from(imp).ok()?)?;
        let ty = meta.types.get(type_index as usize)?;
        Some(ty.params.len().max(ty.results.len()) as u32)
    }
}

/// What the fall-through edge of a conditional branch learns.
fn refine_fallthrough(m: Mnemonic, s: &mut State) {
    use Mnemonic as M;
    match (s.flags, m) {
        (Flags::Cmp { a, b, bits }, M::Ja | M::Jae) => {
            // Not above (or not above-or-equal): a <= b (a < b).
            // Against heap_bytes - m: a <= heap_bytes - m <= reservation - m.
            let bound = match b {
                CmpRhs::Imm(v) => Some(v),
                CmpRhs::Reg(r) => match s.get(r) {
                    AVal::HeapBytes { max, .. } if bits == 64 => Some(max),
                    v => v.as_const(),
                },
            };
            let (lo, hi) = s.get(a).range();
            if let Some(c) = bound {
                let fits = bits == 64 || (hi <= U32_MAX && c <= U32_MAX);
                let c = if m == M::Jae {
                    c.checked_sub(1)
                } else {
                    Some(c)
                };
                if let (true, Some(c)) = (fits, c) {
                    let v = AVal::Num(lo.min(c), hi.min(c));
                    let l8 = s.low8[a as usize];
                    s.set(a, v);
                    s.low8[a as usize] = l8;
                }
            }
        }
        (Flags::HeapSub { r, minus, max }, M::Jb) => {
            // No borrow: heap_bytes >= minus, so r = heap_bytes - minus exactly.
            s.set(r, AVal::HeapBytes { minus, max });
        }
        (Flags::TableLen { idx, table }, M::Jae) => {
            let (lo, hi) = s.get(idx).range();
            s.set(idx, AVal::TableIndex(table, lo, hi));
        }
        (Flags::ElemNull { elem }, M::Je) => {
            if let AVal::ElemAddr { table, sig, .. } = s.get(elem) {
                s.set(
                    elem,
                    AVal::ElemAddr {
                        table,
                        null_checked: true,
                        sig,
                    },
                );
            }
        }
        (Flags::ElemSig { elem, sig }, M::Jne) => {
            if let AVal::ElemAddr {
                table,
                null_checked,
                ..
            } = s.get(elem)
            {
                s.set(
                    elem,
                    AVal::ElemAddr {
                        table,
                        null_checked,
                        sig: Some(sig),
                    },
                );
            }
        }
        _ => {}
    }
}

fn is_immediate(k: OpKind) -> bool {
    matches!(
        k,
        OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64
    )
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
    s.flags = if a.flags == b.flags {
        a.flags
    } else {
        Flags::Unknown
    };
    s
}

/// The registers of a function type's i32 results, by the ABI's result
/// assignment (none if there are more results than registers: the backend
/// refuses such functions).
fn i32_result_regs(ty: &WasmFuncType) -> Vec<u8> {
    let locs = result_locations(ty.results.iter().map(|t| t.is_float())).unwrap_or_default();
    ty.results
        .iter()
        .zip(locs)
        .filter_map(|(t, loc)| match (t, loc) {
            (ValType::I32, ArgLoc::Gpr(r)) => Some(r.0),
            _ => None,
        })
        .collect()
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
