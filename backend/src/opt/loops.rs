//! Live ranges split at call-free loops. A value live across a call must sit
//! in a callee-saved register or a spill slot there; once regalloc2 spills
//! it, every use reloads it, inside hot loops too (libsodium's zeroing loop
//! reloaded its pointer four times per iteration). So a loop without calls
//! gets its own copy of each outside value it uses, made in its preheader:
//! the copy lives only in the loop, crosses no call, and can keep a
//! caller-saved register for the whole loop. Constants are rematerialized
//! in the preheader instead of copied.

use std::collections::{HashMap, HashSet};

use crate::ir::{Block, Function, Op, Value, ValueDef};

/// At most this many values get a loop copy: more would only be spilled
/// again, each copy then costing a load and a store.
const MAX_COPIES: usize = 8;

fn is_call(op: &Op) -> bool {
    matches!(
        op,
        Op::Call { .. } | Op::CallIndirect { .. } | Op::MemoryGrow | Op::Bulk(_) | Op::TableBulk(_)
    )
}

/// Immediate dominators (Cooper, Harvey, Kennedy) over the blocks reachable
/// from the entry, with their reverse postorder.
fn dominators(succs: &[Vec<usize>], preds: &[Vec<usize>]) -> (Vec<Option<usize>>, Vec<usize>) {
    let n = succs.len();
    let mut order = vec![];
    let mut seen = vec![false; n];
    let mut stack = vec![(0usize, 0usize)];
    seen[0] = true;
    while let Some((b, k)) = stack.pop() {
        if k < succs[b].len() {
            stack.push((b, k + 1));
            let s = succs[b][k];
            if !seen[s] {
                seen[s] = true;
                stack.push((s, 0));
            }
        } else {
            order.push(b);
        }
    }
    order.reverse();
    let mut rpo = vec![usize::MAX; n];
    for (i, &b) in order.iter().enumerate() {
        rpo[b] = i;
    }
    let mut idom: Vec<Option<usize>> = vec![None; n];
    idom[0] = Some(0);
    let intersect = |idom: &[Option<usize>], mut a: usize, mut b: usize| {
        while a != b {
            while rpo[a] > rpo[b] {
                a = idom[a].unwrap();
            }
            while rpo[b] > rpo[a] {
                b = idom[b].unwrap();
            }
        }
        a
    };
    let mut changed = true;
    while changed {
        changed = false;
        for &b in order.iter().skip(1) {
            let mut new = None;
            for &p in &preds[b] {
                if idom[p].is_some() {
                    new = Some(match new {
                        None => p,
                        Some(x) => intersect(&idom, p, x),
                    });
                }
            }
            if new.is_some() && idom[b] != new {
                idom[b] = new;
                changed = true;
            }
        }
    }
    (idom, order)
}

fn dominates(idom: &[Option<usize>], a: usize, mut b: usize) -> bool {
    loop {
        if a == b {
            return true;
        }
        match idom[b] {
            Some(p) if p != b => b = p,
            _ => return false,
        }
    }
}

/// The maximal call-free loops with a single preheader: (header,
/// preheader, body).
fn call_free_loops(f: &Function) -> Vec<(usize, usize, HashSet<usize>)> {
    let n = f.blocks.len();
    let mut succs: Vec<Vec<usize>> = vec![vec![]; n];
    let mut preds: Vec<Vec<usize>> = vec![vec![]; n];
    for (b, out) in succs.iter_mut().enumerate() {
        if let Some(t) = f.terminator(Block(b as u32)) {
            for c in f.inst(t).op.successors() {
                out.push(c.block.0 as usize);
                preds[c.block.0 as usize].push(b);
            }
        }
    }
    let (idom, order) = dominators(&succs, &preds);
    // Natural loops by header: the blocks that reach a latch without
    // passing the header.
    let mut loops: HashMap<usize, HashSet<usize>> = HashMap::new();
    for &b in &order {
        for &h in &succs[b] {
            if idom[h].is_some() && dominates(&idom, h, b) {
                let body = loops.entry(h).or_insert_with(|| HashSet::from([h]));
                let mut work = vec![b];
                while let Some(x) = work.pop() {
                    if body.insert(x) {
                        work.extend(preds[x].iter().copied().filter(|p| idom[*p].is_some()));
                    }
                }
            }
        }
    }
    let call_free = |body: &HashSet<usize>| {
        body.iter()
            .all(|&b| f.blocks[b].insts.iter().all(|&i| !is_call(&f.inst(i).op)))
    };
    let mut chosen: Vec<(usize, &HashSet<usize>)> = loops
        .iter()
        .filter(|(_, body)| call_free(body))
        .map(|(h, body)| (*h, body))
        .collect();
    // Maximal ones only: a loop inside a chosen loop is covered by its copies.
    chosen.sort_by_key(|(h, body)| (std::cmp::Reverse(body.len()), *h));
    let mut covered: HashSet<usize> = HashSet::new();
    let mut plan = vec![];
    for (h, body) in chosen {
        if covered.contains(&h) {
            continue;
        }
        covered.extend(body.iter().copied());
        let outside: Vec<usize> = preds[h]
            .iter()
            .copied()
            .filter(|p| !body.contains(p))
            .collect();
        if let [p] = outside[..] {
            plan.push((h, p, body.clone()));
        }
    }
    plan
}

/// v128 constants that take more than one instruction to build (all but
/// zero and all ones, `emit::vconst`) move from call-free loops to their
/// preheaders: built once, not on every iteration. A constant has no
/// operands, and the preheader dominates every block the loop's did.
/// Returns how many moved.
pub fn hoist_vector_constants(f: &mut Function) -> usize {
    if !f.values.iter().any(|v| v.ty == crate::ir::Type::V128) {
        return 0;
    }
    let mut moved = 0;
    for (_, pre, body) in call_free_loops(f) {
        let mut hoisted = vec![];
        for &b in &body {
            f.blocks[b].insts.retain(|&i| {
                let keep = !matches!(f.insts[i.0 as usize].op,
                    Op::Vconst { bits } if bits != [0, 0] && bits != [u64::MAX, u64::MAX]);
                if !keep {
                    hoisted.push(i);
                }
                keep
            });
        }
        // In instruction order, before the preheader's terminator.
        hoisted.sort();
        moved += hoisted.len();
        let insts = &mut f.blocks[pre].insts;
        let term = insts.pop().expect("a preheader ends in its terminator");
        insts.extend(hoisted);
        insts.push(term);
    }
    moved
}

/// Split the live ranges of outside values at each maximal call-free loop
/// with a single preheader; returns how many copies were made.
pub fn split_at_loops(f: &mut Function) -> usize {
    if !f.insts.iter().any(|d| is_call(&d.op)) {
        return 0;
    }
    let plan = call_free_loops(f);
    let mut block_of_inst = vec![0usize; f.insts.len()];
    for (b, bd) in f.blocks.iter().enumerate() {
        for &i in &bd.insts {
            block_of_inst[i.0 as usize] = b;
        }
    }
    let def_block = |f: &Function, block_of_inst: &[usize], v: Value| -> usize {
        match f.values[v.0 as usize].def {
            ValueDef::Param(b, _) => b.0 as usize,
            ValueDef::Result(i, _) => block_of_inst[i.0 as usize],
        }
    };
    let mut copies = 0;
    for (_, pre, body) in plan {
        // Uses inside the loop of values defined outside it, most used first.
        let mut uses: HashMap<Value, usize> = HashMap::new();
        for &b in &body {
            for &i in &f.blocks[b].insts {
                let d = f.inst(i);
                let succ_args = d.op.successors().into_iter().flat_map(|c| c.args.iter());
                for &v in d.args.iter().chain(succ_args) {
                    if !body.contains(&def_block(f, &block_of_inst, v)) {
                        *uses.entry(v).or_default() += 1;
                    }
                }
            }
        }
        let mut vals: Vec<(Value, usize)> = uses.into_iter().collect();
        vals.sort_by_key(|&(v, k)| (std::cmp::Reverse(k), v));
        let mut renames: HashMap<Value, Value> = HashMap::new();
        for (v, _) in vals.into_iter().take(MAX_COPIES) {
            let ty = f.value_type(v);
            let (op, args) = match f.values[v.0 as usize].def {
                ValueDef::Result(i, 0)
                    if matches!(f.inst(i).op, Op::Iconst { .. } | Op::Fconst { .. }) =>
                {
                    (f.inst(i).op.clone(), vec![])
                }
                _ if ty.is_int() => (Op::Copy, vec![v]),
                // No float copy: every SSE register is caller-saved anyway.
                _ => continue,
            };
            let w = f.push1(Block(pre as u32), op, args, ty);
            block_of_inst.push(pre);
            // Before the preheader's terminator.
            let insts = &mut f.blocks[pre].insts;
            let last = insts.len() - 1;
            insts.swap(last - 1, last);
            renames.insert(v, w);
            copies += 1;
        }
        for &b in &body {
            for k in 0..f.blocks[b].insts.len() {
                let i = f.blocks[b].insts[k].0 as usize;
                let d = &mut f.insts[i];
                for a in d.args.iter_mut() {
                    if let Some(&w) = renames.get(a) {
                        *a = w;
                    }
                }
                for args in d.op.successor_args_mut() {
                    for a in args.iter_mut() {
                        if let Some(&w) = renames.get(a) {
                            *a = w;
                        }
                    }
                }
            }
        }
    }
    copies
}
