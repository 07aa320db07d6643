//! Block layout of the allocated code: which blocks are emitted, in what
//! order, and where each branch really goes.
//!
//! - A block that is only a `jmp` once regalloc2 placed its moves (an edge
//!   block with no moves, an `else` arm passing nothing) is *threaded*:
//!   branches to it go straight to where it jumps, and it is not emitted.
//! - The rest are laid out in reverse postorder from the entry, so a block
//!   comes after its forward predecessors and nothing unreachable is
//!   emitted. Among a block's successors the one visited last lands right
//!   after it; that is the one whose target is the youngest block of the
//!   frontend's (the continuation after a `br_if`, the `then` arm of an
//!   `if`), so the emitter can fall through to it instead of jumping.
//!
//! The validator needs nothing of this: a threaded block's claims were
//! implied by every edge into it and imply its target's, so the edges that
//! now skip it imply the target's claims directly (range inclusion is
//! transitive).

use regalloc2::{Block, Function as _, InstOrEdit, Output};

use crate::vcode::{MInst, VCode};

pub struct Layout {
    /// Blocks to emit, the entry first.
    pub order: Vec<Block>,
    /// Where control entering each block really goes: itself, or for a
    /// threaded block the first non-threaded one down its chain of jumps.
    pub resolve: Vec<Block>,
}

/// Whether `b` is nothing but a `jmp` after allocation: its target then.
fn jump_only(f: &VCode, out: &Output, b: Block) -> Option<Block> {
    let mut items = out.block_insts_and_edits(f, b);
    match (items.next(), items.next()) {
        (Some(InstOrEdit::Inst(i)), None) => match &f.insts[i.index()] {
            MInst::Jmp { target, .. } => Some(*target),
            _ => None,
        },
        _ => None,
    }
}

pub fn compute(f: &VCode, out: &Output) -> Layout {
    let n = f.num_blocks();
    // The entry is never threaded: it holds the function's first claims.
    let jumps: Vec<Option<Block>> = (0..n)
        .map(|b| (b > 0).then(|| jump_only(f, out, Block::new(b))).flatten())
        .collect();
    let resolve = resolve_chains(&jumps);
    // The frontend numbers blocks as it creates them; edge blocks follow
    // them and count as the block they jump to.
    let rank = |b: Block| {
        if b.index() < f.num_ir_blocks {
            b.index()
        } else {
            f.block_succs(b)[0].index()
        }
    };
    let mut seen = vec![false; n];
    let mut post = Vec::with_capacity(n);
    // Iterative DFS: (block, its successors still to visit, highest rank last).
    let children = |b: Block| {
        let mut s: Vec<Block> = f
            .block_succs(b)
            .iter()
            .map(|s| resolve[s.index()])
            .collect();
        s.sort_by_key(|&s| rank(s));
        s.dedup();
        s.reverse();
        s
    };
    let entry = Block::new(0);
    seen[0] = true;
    let mut stack = vec![(entry, children(entry))];
    while let Some((b, pending)) = stack.last_mut() {
        match pending.pop() {
            Some(s) if !seen[s.index()] => {
                seen[s.index()] = true;
                let c = children(s);
                stack.push((s, c));
            }
            Some(_) => {}
            None => {
                post.push(*b);
                stack.pop();
            }
        }
    }
    post.reverse();
    Layout {
        order: post,
        resolve,
    }
}

/// Follow chains of jump-only blocks to their end. A cycle made only of
/// jump-only blocks (an empty infinite loop) is kept as it is: its blocks
/// resolve to themselves, and blocks leading into it to where they enter.
fn resolve_chains(jumps: &[Option<Block>]) -> Vec<Block> {
    let n = jumps.len();
    let mut resolve: Vec<Option<Block>> = vec![None; n];
    let mut on_path = vec![false; n];
    for start in 0..n {
        let mut path = vec![];
        let mut b = start;
        let end = loop {
            if let Some(r) = resolve[b] {
                break r;
            }
            match jumps[b] {
                None => break Block::new(b),
                Some(_) if on_path[b] => {
                    // The chain closed on itself at `b`: the cycle's blocks
                    // stay; the path before the cycle goes to `b`.
                    let at = path.iter().position(|&p| p == b).expect("b is on the path");
                    for &c in &path[at..] {
                        resolve[c] = Some(Block::new(c));
                        on_path[c] = false;
                    }
                    path.truncate(at);
                    break Block::new(b);
                }
                Some(t) => {
                    on_path[b] = true;
                    path.push(b);
                    b = t.index();
                }
            }
        };
        for c in path {
            resolve[c] = Some(end);
            on_path[c] = false;
        }
    }
    resolve
        .into_iter()
        .enumerate()
        .map(|(b, r)| r.unwrap_or(Block::new(b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chains(jumps: &[Option<usize>]) -> Vec<usize> {
        let j: Vec<Option<Block>> = jumps.iter().map(|t| t.map(Block::new)).collect();
        resolve_chains(&j).iter().map(|b| b.index()).collect()
    }

    #[test]
    fn chains_resolve_to_their_end() {
        // 1 -> 2 -> 3 (not jump-only); 0 is not jump-only.
        assert_eq!(chains(&[None, Some(2), Some(3), None]), vec![0, 3, 3, 3]);
    }

    #[test]
    fn cycles_of_jumps_are_kept() {
        // 1 -> 2 -> 1 is an empty infinite loop; 3 -> 1 enters it; 4 -> 4.
        assert_eq!(
            chains(&[None, Some(2), Some(1), Some(1), Some(4)]),
            vec![0, 1, 2, 1, 4]
        );
    }
}
