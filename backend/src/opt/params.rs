//! Redundant block parameters: the frontend gives a join block a parameter
//! for every local assigned anywhere inside its construct, so most of them
//! receive the same value on every edge (or themselves, around a loop).
//! Each such parameter is that value: it is removed, with its argument on
//! every edge, and its uses renamed. Fewer parameters mean fewer edge moves
//! and far less work for regalloc2's bundle merging (three quarters of
//! shootout-switch's compile time went there).

use std::collections::HashMap;

use crate::ir::{Block, Function, Value, ValueDef};

/// Remove every block parameter whose incoming arguments are all one value
/// (ignoring the parameter itself); returns how many were removed.
pub fn remove_redundant_params(f: &mut Function) -> usize {
    let preds = edges_into(f);
    let mut repl: HashMap<Value, Value> = HashMap::new();
    let resolve = |repl: &HashMap<Value, Value>, mut v: Value| {
        while let Some(&w) = repl.get(&v) {
            v = w;
        }
        v
    };
    let mut removed = 0;
    loop {
        let mut changed = false;
        for (b, edges) in preds.iter().enumerate().skip(1) {
            if edges.is_empty() {
                continue;
            }
            let mut j = 0;
            while j < f.blocks[b].params.len() {
                let p = f.blocks[b].params[j];
                let mut same = None;
                let mut unique = true;
                for &(t, k) in edges {
                    let a = resolve(&repl, successor_args(f, t, k)[j]);
                    if a == p {
                        continue;
                    }
                    match same {
                        None => same = Some(a),
                        Some(s) if s == a => {}
                        Some(_) => {
                            unique = false;
                            break;
                        }
                    }
                }
                match (unique, same) {
                    (true, Some(v)) => {
                        repl.insert(p, v);
                        f.blocks[b].params.remove(j);
                        for &(t, k) in edges {
                            successor_args_mut(f, t, k).remove(j);
                        }
                        removed += 1;
                        changed = true;
                    }
                    _ => j += 1,
                }
            }
        }
        if !changed {
            break;
        }
    }
    if removed == 0 {
        return 0;
    }
    // Renumber the surviving parameters and rename every use.
    for b in 0..f.blocks.len() {
        for (j, &p) in f.blocks[b].params.iter().enumerate() {
            f.values[p.0 as usize].def = ValueDef::Param(Block(b as u32), j as u32);
        }
    }
    for inst in &mut f.insts {
        for a in &mut inst.args {
            *a = resolve(&repl, *a);
        }
        for call in inst.op.successor_args_mut() {
            for a in call {
                *a = resolve(&repl, *a);
            }
        }
    }
    removed
}

/// Remove every block parameter no instruction uses, not even through the
/// parameters it is passed to (a local the frontend threads around a loop
/// that nothing reads: it still took a register, or a spill slot stored on
/// every back edge); returns how many were removed. The entry block's
/// parameters are the function's and stay.
pub fn remove_dead_params(f: &mut Function) -> usize {
    let preds = edges_into(f);
    let param_of = |f: &Function, v: Value| match f.values[v.0 as usize].def {
        ValueDef::Param(b, j) if b.0 != 0 => Some((b.0 as usize, j as usize)),
        _ => None,
    };
    let mut live = vec![false; f.values.len()];
    let mut work = vec![];
    for b in &f.blocks {
        for &i in &b.insts {
            for &a in &f.inst(i).args {
                if !live[a.0 as usize] {
                    live[a.0 as usize] = true;
                    work.push(a);
                }
            }
        }
    }
    // A live parameter makes what every edge passes it live.
    while let Some(v) = work.pop() {
        let Some((b, j)) = param_of(f, v) else {
            continue;
        };
        for &(t, k) in &preds[b] {
            let a = successor_args(f, t, k)[j];
            if !live[a.0 as usize] {
                live[a.0 as usize] = true;
                work.push(a);
            }
        }
    }
    let mut removed = 0;
    for b in 1..f.blocks.len() {
        for j in (0..f.blocks[b].params.len()).rev() {
            if !live[f.blocks[b].params[j].0 as usize] {
                f.blocks[b].params.remove(j);
                for &(t, k) in &preds[b] {
                    successor_args_mut(f, t, k).remove(j);
                }
                removed += 1;
            }
        }
        for (j, &p) in f.blocks[b].params.iter().enumerate() {
            f.values[p.0 as usize].def = ValueDef::Param(Block(b as u32), j as u32);
        }
    }
    removed
}

/// The edges into each block: (predecessor's terminator instruction index,
/// successor slot in that terminator).
fn edges_into(f: &Function) -> Vec<Vec<(usize, usize)>> {
    let mut preds: Vec<Vec<(usize, usize)>> = vec![vec![]; f.blocks.len()];
    for b in 0..f.blocks.len() {
        let Some(t) = f.terminator(Block(b as u32)) else {
            continue;
        };
        for (k, call) in f.inst(t).op.successors().into_iter().enumerate() {
            preds[call.block.0 as usize].push((t.0 as usize, k));
        }
    }
    preds
}

fn successor_args(f: &Function, t: usize, k: usize) -> &[Value] {
    &f.insts[t]
        .op
        .successor(k)
        .expect("a successor slot of this terminator")
        .args
}

fn successor_args_mut(f: &mut Function, t: usize, k: usize) -> &mut Vec<Value> {
    &mut f.insts[t]
        .op
        .successor_mut(k)
        .expect("a successor slot of this terminator")
        .args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{BinOp, BlockCall, Op, Signature, Type};

    /// A loop whose counter changes and whose limit does not: the limit's
    /// parameter is redundant (entry value, or itself on the back edge).
    #[test]
    fn loop_invariant_parameter_is_removed_and_the_counter_kept() {
        let mut f = Function::new(
            0,
            "f",
            Signature {
                params: vec![Type::I32, Type::I32],
                results: vec![Type::I32],
            },
        );
        let (n, limit) = (f.blocks[0].params[0], f.blocks[0].params[1]);
        let head = f.add_block();
        let i = f.add_block_param(head, Type::I32);
        let l = f.add_block_param(head, Type::I32);
        let exit = f.add_block();
        f.push(
            Function::ENTRY,
            Op::Jump(BlockCall {
                block: head,
                args: vec![n, limit],
            }),
            vec![],
            &[],
        );
        let one = f.push1(
            head,
            Op::Iconst {
                ty: Type::I32,
                imm: 1,
            },
            vec![],
            Type::I32,
        );
        let next = f.push1(
            head,
            Op::Binary {
                op: BinOp::Add,
                ty: Type::I32,
            },
            vec![i, one],
            Type::I32,
        );
        let c = f.push1(
            head,
            Op::Binary {
                op: BinOp::Sub,
                ty: Type::I32,
            },
            vec![next, l],
            Type::I32,
        );
        f.push(
            head,
            Op::Brif {
                then: BlockCall {
                    block: head,
                    args: vec![next, l],
                },
                else_: BlockCall {
                    block: exit,
                    args: vec![],
                },
            },
            vec![c],
            &[],
        );
        f.push(exit, Op::Return, vec![l], &[]);
        assert_eq!(remove_redundant_params(&mut f), 1);
        f.check().unwrap();
        assert_eq!(f.blocks[head.0 as usize].params, vec![i]);
        // Uses of the removed parameter now name the entry's value.
        let ret = *f.blocks[exit.0 as usize].insts.last().unwrap();
        assert_eq!(f.inst(ret).args, vec![limit]);
        let sub = f.blocks[head.0 as usize].insts[2];
        assert_eq!(f.inst(sub).args, vec![next, limit]);
        assert_eq!(f.values[i.0 as usize].def, ValueDef::Param(head, 0));
    }
}
