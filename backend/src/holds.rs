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

use std::collections::{BTreeSet, HashMap};

use pcc::{Fact, Gpr, Loc, Xmm};
use regalloc2::{
    Allocation, Block, Edit, Function as _, InstOrEdit, OperandKind, Output, RegClass, VReg,
};

use crate::vcode::VCode;

/// Location → the vregs whose (current or stale) value it holds.
pub type Holds = HashMap<Loc, BTreeSet<VReg>>;

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

/// Apply one move to `h`.
pub fn apply_move(h: &mut Holds, from: Loc, to: Loc) {
    match h.get(&from).cloned() {
        Some(s) => h.insert(to, s),
        None => h.remove(&to),
    };
}

/// Apply one instruction (not its moves) to `h`: clobbers forget, defs
/// overwrite (temporaries included, with no value anyone claims about).
pub fn apply_inst(h: &mut Holds, f: &VCode, out: &Output, inst: regalloc2::Inst, spill_base: u32) {
    let clobbers = f.clobbers[inst.index()];
    h.retain(|l, _| match *l {
        Loc::Gpr(Gpr(r)) => !clobbers.contains(crate::vcode::preg(r)),
        Loc::Xmm(Xmm(r)) => !clobbers.contains(crate::vcode::xreg(r)),
        Loc::Stack(_) => true,
    });
    for (op, a) in f.operands[inst.index()].iter().zip(out.inst_allocs(inst)) {
        if op.kind() == OperandKind::Def && !a.is_none() {
            kill(h, &[op.vreg()]);
            h.insert(alloc_loc(*a, spill_base), BTreeSet::from([op.vreg()]));
        }
    }
}

/// A new definition of each of `vs`: copies of their old values elsewhere
/// are forgotten, so every value holds names is a vreg's current value —
/// the one liveness speaks about, and so the one the claims can carry.
fn kill(h: &mut Holds, vs: &[VReg]) {
    for set in h.values_mut() {
        set.retain(|v| !vs.contains(v));
    }
    h.retain(|_, set| !set.is_empty());
}

/// Along an edge: block parameters take their arguments' values (wherever
/// the arguments are now), as one parallel assignment.
pub fn pass_args(h: &mut Holds, args: &[VReg], params: &[VReg]) {
    let at: Vec<(VReg, Vec<Loc>)> = args
        .iter()
        .zip(params)
        .map(|(a, p)| {
            let locs = h.iter().filter(|(_, s)| s.contains(a)).map(|(l, _)| *l);
            (*p, locs.collect())
        })
        .collect();
    kill(h, params);
    for (p, locs) in at {
        for l in locs {
            h.entry(l).or_default().insert(p);
        }
    }
}

/// The holds at each block's first point (before its leading moves).
pub fn block_entries(f: &VCode, out: &Output, spill_base: u32) -> Vec<Holds> {
    let n = f.num_blocks();
    let mut entry: Vec<Option<Holds>> = vec![None; n];
    entry[0] = Some(Holds::new());
    let mut work: BTreeSet<usize> = BTreeSet::from([0]);
    while let Some(b) = work.pop_first() {
        let mut h = entry[b].clone().expect("queued blocks have an entry state");
        let block = Block::new(b);
        let mut last = None;
        for item in out.block_insts_and_edits(f, block) {
            match item {
                InstOrEdit::Edit(Edit::Move { from, to }) => apply_move(
                    &mut h,
                    alloc_loc(*from, spill_base),
                    alloc_loc(*to, spill_base),
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
                pass_args(
                    &mut out_h,
                    f.branch_blockparams(block, inst, k),
                    f.block_params(succ),
                );
            }
            let s = succ.index();
            let changed = match &mut entry[s] {
                None => {
                    entry[s] = Some(out_h);
                    true
                }
                Some(cur) => meet_into(cur, &out_h),
            };
            if changed {
                work.insert(s);
            }
        }
    }
    entry.into_iter().map(Option::unwrap_or_default).collect()
}

/// The vregs live at each block's entry, its parameters included: claims
/// are made only about these, so dead values cost no facts.
pub fn live_ins(f: &VCode) -> Vec<BTreeSet<VReg>> {
    let n = f.num_blocks();
    let mut live: Vec<BTreeSet<VReg>> = vec![BTreeSet::new(); n];
    let mut changed = true;
    while changed {
        changed = false;
        for b in (0..n).rev() {
            let block = Block::new(b);
            let insts = f.block_insns(block);
            let mut l: BTreeSet<VReg> = BTreeSet::new();
            for (k, succ) in f.block_succs(block).iter().enumerate() {
                let params = f.block_params(*succ);
                l.extend(live[succ.index()].iter().filter(|v| !params.contains(v)));
                l.extend(f.branch_blockparams(block, insts.last(), k));
            }
            for inst in insts.iter().rev() {
                let ops = &f.operands[inst.index()];
                for op in ops.iter().filter(|o| o.kind() == OperandKind::Def) {
                    l.remove(&op.vreg());
                }
                for op in ops.iter().filter(|o| o.kind() == OperandKind::Use) {
                    l.insert(op.vreg());
                }
            }
            l.extend(f.block_params(block));
            if l != live[b] {
                live[b] = l;
                changed = true;
            }
        }
    }
    live
}

/// `cur ∩= other`; whether `cur` changed.
fn meet_into(cur: &mut Holds, other: &Holds) -> bool {
    let mut changed = false;
    cur.retain(|l, set| {
        let before = set.len();
        match other.get(l) {
            Some(o) => set.retain(|v| o.contains(v)),
            None => set.clear(),
        }
        changed |= set.len() != before;
        !set.is_empty()
    });
    changed
}

/// The strongest fact known of a location holding (a value of) every vreg in
/// `set`: every one of their facts holds, so ranges intersect.
pub fn fact_of(f: &VCode, set: &BTreeSet<VReg>) -> Option<Fact> {
    set.iter()
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
