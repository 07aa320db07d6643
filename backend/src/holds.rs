//! Which values each location holds at every block entry: a forward dataflow
//! over the allocated code (defs, clobbers, regalloc2's moves, and block
//! arguments renamed to block parameters on each edge), met by intersection
//! where edges join.
//!
//! The block-entry claims come from here rather than from regalloc2's debug
//! locations: those say where a value is live, not that a spill slot holds
//! it on *every* incoming edge, and the validator checks every edge.
//! A definition forgets older copies of the same vreg (a loop's previous
//! iteration), so a value named here is always current: then a value live at
//! a block is, on every incoming edge, either live at the predecessor's entry
//! (and claimed there) or defined or passed on the way, which is what lets
//! the claims be made about live values only and still check edge by edge.

use std::collections::BTreeSet;

use pcc::{Fact, Gpr, Loc, Xmm};
use regalloc2::{
    Allocation, Block, Edit, Function as _, InstOrEdit, OperandKind, Output, RegClass, VReg,
};

use crate::vcode::VCode;

/// Which vregs' current values each location holds (usually one per
/// location; more after a block argument lands where its parameter lives),
/// as (location, vreg) pairs sorted by location. States hold live values
/// only, so they are small, and a flat vector clones in one copy — the
/// dataflow clones one per block edge.
#[derive(Clone, Debug, Default)]
pub struct Holds(Vec<(Loc, VReg)>);

impl Holds {
    fn range(&self, l: &Loc) -> std::ops::Range<usize> {
        let lo = self.0.partition_point(|(x, _)| x < l);
        let hi = lo + self.0[lo..].partition_point(|(x, _)| x == l);
        lo..hi
    }

    /// The vregs `l` holds.
    pub fn get(&self, l: &Loc) -> impl Iterator<Item = VReg> + '_ {
        self.0[self.range(l)].iter().map(|(_, v)| *v)
    }

    /// Each location held, with its vregs.
    pub fn by_loc(&self) -> impl Iterator<Item = (Loc, Vec<VReg>)> + '_ {
        self.0
            .chunk_by(|a, b| a.0 == b.0)
            .map(|c| (c[0].0, c.iter().map(|(_, v)| *v).collect()))
    }

    /// `l` now holds nothing known.
    pub fn forget(&mut self, l: Loc) {
        let r = self.range(&l);
        self.0.drain(r);
    }

    fn link(&mut self, l: Loc, v: VReg) {
        if let Err(at) = self.0.binary_search(&(l, v)) {
            self.0.insert(at, (l, v));
        }
    }

    /// `l` now holds the new value of `v`, and only that: older copies of
    /// `v` elsewhere are forgotten.
    pub fn define(&mut self, l: Loc, v: VReg) {
        self.0.retain(|(x, w)| *w != v && *x != l);
        self.link(l, v);
    }

    /// A move: `to` holds what `from` holds.
    pub fn copy(&mut self, from: Loc, to: Loc) {
        if from == to {
            return;
        }
        let vs: Vec<VReg> = self.get(&from).collect();
        self.forget(to);
        for v in vs {
            self.link(to, v);
        }
    }

    /// One of regalloc2's moves, as the emitter encodes it: `to` holds what
    /// `from` holds; with `wide_sse_slots` an SSE spill is 16 bytes and
    /// overwrites the next 8-byte slot too. The dataflow and the emitter
    /// both apply moves through here, so their states agree.
    pub fn apply_move(&mut self, from: Loc, to: Loc, wide_sse_slots: bool) {
        self.copy(from, to);
        if let (Loc::Xmm(_), Loc::Stack(k), true) = (from, to, wide_sse_slots) {
            self.forget(Loc::Stack(k + 8));
        }
    }

    /// Keep only the vregs `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&VReg) -> bool) {
        self.0.retain(|(_, v)| keep(v));
    }

    /// `self ∩= other`; whether `self` changed.
    fn meet(&mut self, other: &Holds) -> bool {
        let before = self.0.len();
        self.0.retain(|p| other.0.binary_search(p).is_ok());
        self.0.len() != before
    }

    /// Along an edge: block parameters take their arguments' values
    /// (wherever the arguments are now), as one parallel assignment.
    pub fn pass_args(&mut self, args: &[VReg], params: &[VReg]) {
        let mut new: Vec<(Loc, VReg)> = vec![];
        for (a, p) in args.iter().zip(params) {
            new.extend(self.0.iter().filter(|(_, v)| v == a).map(|(l, _)| (*l, *p)));
        }
        self.0.retain(|(_, v)| !params.contains(v));
        for (l, p) in new {
            self.link(l, p);
        }
    }
}

/// The location of an allocation: a register, or a spill slot as its frame
/// offset (`spill_base` + 8 per slot).
pub fn alloc_loc(a: Allocation, spill_base: u32) -> Loc {
    match (a.as_reg(), a.as_stack()) {
        (Some(r), _) => reg_loc(r.class(), r.hw_enc()),
        (None, Some(slot)) => Loc::Stack(spill_base + 8 * slot.index() as u32),
        (None, None) => unreachable!("regalloc2 gives every operand a register or a slot"),
    }
}

/// The location of hardware register `hw` of `class`.
pub fn reg_loc(class: RegClass, hw: usize) -> Loc {
    match class {
        RegClass::Float => Loc::Xmm(Xmm(hw as u8)),
        _ => Loc::Gpr(Gpr(hw as u8)),
    }
}

/// Apply one instruction (not its moves) to `h`: clobbers forget, defs
/// overwrite (temporaries included, with no value anyone claims about).
pub fn apply_inst(h: &mut Holds, f: &VCode, out: &Output, inst: regalloc2::Inst, spill_base: u32) {
    for p in f.clobbers[inst.index()] {
        h.forget(reg_loc(p.class(), p.hw_enc()));
    }
    for (op, a) in f.operands[inst.index()].iter().zip(out.inst_allocs(inst)) {
        if op.kind() == OperandKind::Def && !a.is_none() {
            h.define(alloc_loc(*a, spill_base), op.vreg());
        }
    }
}

/// The holds at each block's first point (before its leading moves).
/// Only values live at a block are kept at its entry: those are the ones
/// claimed there, so what flows on is exactly what the validator can know.
pub fn block_entries(f: &VCode, out: &Output, spill_base: u32, live: &[Vec<VReg>]) -> Vec<Holds> {
    let n = f.num_blocks();
    let mut entry: Vec<Option<Holds>> = vec![None; n];
    entry[0] = Some(Holds::default());
    let mut work: BTreeSet<usize> = BTreeSet::from([0]);
    while let Some(b) = work.pop_first() {
        let mut h = entry[b].clone().expect("queued blocks have an entry state");
        let block = Block::new(b);
        let mut last = None;
        for item in out.block_insts_and_edits(f, block) {
            match item {
                InstOrEdit::Edit(Edit::Move { from, to }) => h.apply_move(
                    alloc_loc(*from, spill_base),
                    alloc_loc(*to, spill_base),
                    f.wide_sse_slots,
                ),
                InstOrEdit::Inst(inst) => {
                    apply_inst(&mut h, f, out, inst, spill_base);
                    last = Some(inst);
                }
            }
        }
        for (k, &succ) in f.block_succs(block).iter().enumerate() {
            let mut out_h = h.clone();
            if let Some(inst) = last {
                out_h.pass_args(f.branch_blockparams(block, inst, k), f.block_params(succ));
            }
            let s = succ.index();
            out_h.retain(|v| live[s].binary_search(v).is_ok());
            let changed = match &mut entry[s] {
                None => {
                    entry[s] = Some(out_h);
                    true
                }
                Some(cur) => cur.meet(&out_h),
            };
            if changed {
                work.insert(s);
            }
        }
    }
    entry.into_iter().map(Option::unwrap_or_default).collect()
}

/// The vregs live at each block's entry, its parameters included, sorted:
/// claims are made only about these, so dead values cost no facts. SSA
/// makes this a walk per use: from the using block back through
/// predecessors until the defining block (a block argument is used at the
/// end of the block that passes it).
pub fn live_ins(f: &VCode) -> Vec<Vec<VReg>> {
    let n = f.num_blocks();
    let mut def_block = vec![usize::MAX; f.num_vregs];
    let mut live: Vec<Vec<VReg>> = vec![vec![]; n];
    // (vreg, block using it without defining it first).
    let mut uses: Vec<(usize, usize)> = vec![];
    for (b, l) in live.iter_mut().enumerate() {
        let block = Block::new(b);
        for p in f.block_params(block) {
            def_block[p.vreg()] = b;
            l.push(*p);
        }
        let insts = f.block_insns(block);
        for inst in insts.iter() {
            for op in &f.operands[inst.index()] {
                if op.kind() == OperandKind::Def {
                    def_block[op.vreg().vreg()] = b;
                }
            }
        }
        for inst in insts.iter() {
            for op in &f.operands[inst.index()] {
                if op.kind() == OperandKind::Use {
                    uses.push((op.vreg().vreg(), b));
                }
            }
        }
        for k in 0..f.block_succs(block).len() {
            for v in f.branch_blockparams(block, insts.last(), k) {
                uses.push((v.vreg(), b));
            }
        }
    }
    uses.sort_unstable();
    uses.dedup();
    let mut mark = vec![usize::MAX; n];
    let mut work = vec![];
    for (v, b) in uses {
        if def_block[v] == b {
            continue;
        }
        work.push(b);
        while let Some(b) = work.pop() {
            if mark[b] == v {
                continue;
            }
            mark[b] = v;
            live[b].push(VReg::new(v, f.classes[v]));
            for p in f.block_preds(Block::new(b)) {
                if def_block[v] != p.index() && mark[p.index()] != v {
                    work.push(p.index());
                }
            }
        }
    }
    for l in &mut live {
        l.sort_unstable();
        l.dedup();
    }
    live
}

/// The strongest fact known of a location holding (a value of) every vreg in
/// `set`: every one of their facts holds, so ranges intersect.
pub fn fact_of(f: &VCode, set: impl IntoIterator<Item = VReg>) -> Option<Fact> {
    set.into_iter()
        .filter_map(|v| f.facts[v.vreg()])
        .reduce(|a, b| match (a, b) {
            (
                Fact::Range { bits, min, max },
                Fact::Range {
                    bits: b2,
                    min: m2,
                    max: x2,
                },
            ) if bits == b2 && min.max(m2) <= max.min(x2) => Fact::Range {
                bits,
                min: min.max(m2),
                max: max.min(x2),
            },
            (Fact::HeapAddr { min, max }, Fact::HeapAddr { min: m2, max: x2 })
                if min.max(m2) <= max.min(x2) =>
            {
                Fact::HeapAddr {
                    min: min.max(m2),
                    max: max.min(x2),
                }
            }
            // Both hold; keep one rather than invent a combined form.
            (a, _) => a,
        })
}
