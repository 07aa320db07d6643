//! Proof obligations for heap accesses, discharged with z3 in 64-bit
//! bit-vector arithmetic (wrap-around is the bug class, so no unbounded
//! integers), memoized by shape, and tried first as a canonical cover that
//! many accesses share (`Obligation::cover`).

use std::collections::HashMap;
use std::fmt::Write;

use z3::ast::BV;
use z3::{SatResult, Solver};

/// One heap access of `size` bytes at `heap_base + index + disp`, with
/// `index` known (from checked facts) to lie in `[index_min, index_max]`.
/// It must stay inside `heap_base + [0, limit)`, where `limit` is the
/// reservation plus the guard the artifact declares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Obligation {
    /// The index register's name, for messages (`None`: no index register).
    pub index_reg: Option<String>,
    pub index_min: u64,
    pub index_max: u64,
    pub disp: i64,
    pub size: u32,
    pub limit: u64,
}

/// The part of an obligation that decides it: what memoization keys on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub index_min: u64,
    pub index_max: u64,
    pub disp: i64,
    pub size: u32,
    pub limit: u64,
}

/// Concrete values that make an access escape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    pub index: u64,
    /// `index + disp` as the CPU computes it (64-bit wrapping).
    pub offset: u64,
}

impl std::fmt::Display for Counterexample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "index = {:#x} gives heap offset {:#x} ({})",
            self.index, self.offset, self.offset as i64
        )
    }
}

impl Obligation {
    pub fn shape(&self) -> Shape {
        Shape {
            index_min: self.index_min,
            index_max: self.index_max,
            disp: self.disp,
            size: self.size,
            limit: self.limit,
        }
    }

    /// Stronger obligations of canonical shapes, tried in order; proving
    /// any proves `self`. Most accesses share a few dozen covers:
    /// - the index range widened to `[0, 2^k - 1]` and the access's end
    ///   (`disp + size`) rounded up to a power of two (every index of `self`
    ///   is one of the cover's, and ends only grew) — static heaps, where
    ///   indexes are 32-bit and displacements vary;
    /// - the displacement folded into the index range, `[0, max + disp]`
    ///   with displacement 0 — bounds-checked heaps, where each check leaves
    ///   `max + disp + size` equal to the reservation, whatever `disp` is.
    ///
    /// Negative displacements have no cover: widening the index range down
    /// to 0 could wrap.
    pub fn covers(&self) -> Vec<Obligation> {
        if self.disp < 0 {
            return vec![];
        }
        let disp = self.disp as u64;
        let k = 64 - self.index_max.leading_zeros();
        let max = if k == 64 { u64::MAX } else { (1u64 << k) - 1 };
        let with = |index_max: u64, disp: u64| Obligation {
            index_reg: self.index_reg.clone(),
            index_min: 0,
            index_max,
            disp: i64::try_from(disp).unwrap_or(i64::MAX),
            size: self.size,
            limit: self.limit,
        };
        let mut out = vec![];
        if let Some(end) = disp
            .checked_add(self.size as u64)
            .and_then(u64::checked_next_power_of_two)
        {
            out.push(with(max, end - self.size as u64));
        }
        if let Some(folded) = self.index_max.checked_add(disp) {
            out.push(with(folded, 0));
        }
        if out.iter().any(|c| c.shape() == self.shape()) {
            return vec![]; // already canonical
        }
        out
    }

    /// The obligation as text: `heap_base + index + disp` within the sandbox.
    pub fn describe(&self) -> String {
        let idx = self.index_reg.as_deref().unwrap_or("0");
        format!(
            "0 <= {idx} + {:#x} and {idx} + {:#x} + {} <= {:#x}, given {idx} in [{:#x}, {:#x}]",
            self.disp, self.disp, self.size, self.limit, self.index_min, self.index_max
        )
    }

    /// SMT-LIB2 of the *negated* obligation (unsat = proved), scoped with
    /// push/pop so scripts concatenate. Every name starts with `name` (use
    /// stable ones, e.g. `f3.a7` for function 3's access 7, not code
    /// addresses), and each fact is a named assertion.
    pub fn to_smt2(&self, name: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "(push 1)");
        let _ = writeln!(s, "(declare-const {name}.index (_ BitVec 64))");
        let _ = writeln!(
            s,
            "(assert (! (bvule #x{:016x} {name}.index) :named {name}.index_min))",
            self.index_min
        );
        let _ = writeln!(
            s,
            "(assert (! (bvule {name}.index #x{:016x}) :named {name}.index_max))",
            self.index_max
        );
        let _ = writeln!(
            s,
            "(define-fun {name}.offset () (_ BitVec 64) (bvadd {name}.index #x{:016x}))",
            self.disp as u64
        );
        let _ = writeln!(
            s,
            "(assert (! (not (bvule {name}.offset #x{:016x})) :named {name}.escapes))",
            self.limit.saturating_sub(self.size as u64)
        );
        let _ = writeln!(s, "(check-sat)");
        let _ = writeln!(s, "(pop 1)");
        s
    }

    /// Proved by plain arithmetic when `index + disp` cannot wrap over the
    /// index range: the offsets are then exactly `[min + disp, max + disp]`
    /// and the highest one decides. `None` when it could wrap or does not
    /// fit: z3 decides those (and finds the counterexample). Checked
    /// against z3 on random and edge shapes by `arithmetic_agrees_with_z3`.
    fn proved_by_arithmetic(&self) -> Option<()> {
        let lo = self.index_min as i128 + self.disp as i128;
        let hi = self.index_max as i128 + self.disp as i128;
        let bound = self.limit as i128 - self.size as i128;
        (self.index_min <= self.index_max && lo >= 0 && hi <= u64::MAX as i128 && hi <= bound)
            .then_some(())
    }

    /// Ask z3: can `index + disp` (wrapping) exceed `limit - size` as an
    /// unsigned offset? A negative offset wraps to a huge one, so this one
    /// comparison covers both ends of the sandbox.
    fn solve(&self) -> Result<(), Counterexample> {
        if self.size as u64 > self.limit {
            return Err(Counterexample {
                index: self.index_min,
                offset: self.index_min.wrapping_add(self.disp as u64),
            });
        }
        // One solver per thread, each obligation in its own push/pop scope:
        // making a solver is a good part of a small query's cost.
        thread_local! {
            static SOLVER: Solver = Solver::new_for_logic("QF_BV").unwrap_or_default();
        }
        SOLVER.with(|solver| {
            solver.push();
            let r = self.solve_in(solver);
            solver.pop(1);
            r
        })
    }

    fn solve_in(&self, solver: &Solver) -> Result<(), Counterexample> {
        let index = BV::new_const("index", 64);
        solver.assert(BV::from_u64(self.index_min, 64).bvule(&index));
        solver.assert(index.bvule(BV::from_u64(self.index_max, 64)));
        let offset = index.bvadd(BV::from_u64(self.disp as u64, 64));
        let bound = BV::from_u64(self.limit - self.size as u64, 64);
        solver.assert(offset.bvule(&bound).not());
        match solver.check() {
            SatResult::Unsat => Ok(()),
            // Sat gives the escaping index; Unknown is not a proof.
            _ => {
                let idx = solver
                    .get_model()
                    .and_then(|m| m.eval(&index, true))
                    .and_then(|v| v.as_u64())
                    .unwrap_or(self.index_max);
                Err(Counterexample {
                    index: idx,
                    offset: idx.wrapping_add(self.disp as u64),
                })
            }
        }
    }
}

/// Proves obligations, once per distinct shape.
#[derive(Default)]
pub struct Prover {
    memo: HashMap<Shape, Result<(), Counterexample>>,
    pub z3_calls: u32,
}

impl Prover {
    /// Prove `ob`: first its canonical cover (if that differs), which most
    /// accesses share, then, only if the cover fails, `ob` itself — so a
    /// counterexample is always about the exact obligation.
    pub fn prove(&mut self, ob: &Obligation) -> Result<(), Counterexample> {
        for cover in ob.covers() {
            if self.prove_shape(&cover).is_ok() {
                return Ok(());
            }
        }
        self.prove_shape(ob)
    }

    fn prove_shape(&mut self, ob: &Obligation) -> Result<(), Counterexample> {
        let shape = ob.shape();
        if let Some(r) = self.memo.get(&shape) {
            return r.clone();
        }
        let r = match ob.proved_by_arithmetic() {
            Some(()) => Ok(()),
            None => {
                self.z3_calls += 1;
                ob.solve()
            }
        };
        self.memo.insert(shape, r.clone());
        r
    }

    pub fn distinct_shapes(&self) -> usize {
        self.memo.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ob(min: u64, max: u64, disp: i64) -> Obligation {
        Obligation {
            index_reg: Some("rax".into()),
            index_min: min,
            index_max: max,
            disp,
            size: 4,
            limit: 6 << 30,
        }
    }

    #[test]
    fn zero_extended_index_within_guard_is_proved() {
        assert_eq!(
            Prover::default().prove(&ob(0, u32::MAX as u64, 0x7fff_0000)),
            Ok(())
        );
    }

    #[test]
    fn sign_extended_index_escapes_below_the_heap() {
        let cex = Prover::default().prove(&ob(0, u64::MAX, 0)).unwrap_err();
        assert!(cex.offset > (6u64 << 30) - 4, "{cex}");
    }

    #[test]
    fn negative_displacement_escapes() {
        let cex = Prover::default().prove(&ob(0, 10, -16)).unwrap_err();
        assert!((cex.offset as i64) < 0, "{cex}");
    }

    #[test]
    fn one_cover_serves_nearby_shapes_and_failures_stay_exact() {
        let mut p = Prover::default();
        for (max, disp) in [(100, 8), (120, 9), (127, 12), (64, 10)] {
            p.prove(&ob(0, max, disp)).unwrap();
        }
        // All four share the cover [0, 127] with end 16.
        assert_eq!(p.distinct_shapes(), 1);
        // Past the limit: the cover fails, the exact obligation is solved
        // and its counterexample is about the exact range.
        let limit = 6u64 << 30;
        let cex = p.prove(&ob(limit - 2, limit - 2, 0)).unwrap_err();
        assert_eq!(cex.index, limit - 2);
    }

    #[test]
    fn bounds_checked_accesses_share_the_folded_cover() {
        // index <= reservation - (disp + 4): every displacement folds to
        // the same [0, reservation - 4].
        let reservation = 256u64 << 20;
        let mut p = Prover::default();
        for disp in [0i64, 12, 0x404, 0x4410] {
            let mut o = ob(0, reservation - (disp as u64 + 4), disp);
            o.limit = reservation;
            p.prove(&o).unwrap();
        }
        let folded = p.distinct_shapes();
        let mut o = ob(0, reservation - 0x1008, 0x1004);
        o.limit = reservation;
        p.prove(&o).unwrap();
        // Only the (failing) power-of-two cover of the new shape was new.
        assert!(
            p.distinct_shapes() <= folded + 1,
            "{} > {folded} + 1",
            p.distinct_shapes()
        );
    }

    #[test]
    fn memo_runs_z3_once_per_shape() {
        let mut p = Prover::default();
        for _ in 0..3 {
            p.prove(&ob(0, 100, 8)).unwrap();
        }
        assert_eq!(p.distinct_shapes(), 1);
    }

    /// Whatever arithmetic proves, z3 proves: shapes around every edge
    /// (wrap-around, negative displacements, the limit, empty ranges) and
    /// pseudo-random ones.
    #[test]
    fn arithmetic_agrees_with_z3() {
        let edges = [
            0u64,
            1,
            3,
            4,
            0x7fff_ffff,
            0xffff_ffff,
            1 << 32,
            (6 << 30) - 5,
            (6 << 30) - 4,
            (6 << 30) - 3,
            6 << 30,
            i64::MAX as u64,
            u64::MAX - 4,
            u64::MAX,
        ];
        let disps = [
            0i64,
            4,
            -4,
            0x7fff_0000,
            -0x8000_0000,
            i64::MAX,
            i64::MIN,
            -1,
        ];
        let mut cases = vec![];
        for &a in &edges {
            for &b in &edges {
                for &d in &disps {
                    cases.push((a, b, d));
                }
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let a = next() >> (next() % 64);
            let b = a.saturating_add(next() >> (next() % 64));
            cases.push((a, b, (next() >> (next() % 64)) as i64));
        }
        let mut proved = 0;
        for (min, max, disp) in cases {
            for (limit, size) in [
                (6u64 << 30, 4),
                (1 << 32, 4),
                (1 << 32, 1),
                (1 << 32, 8),
                (1 << 32, 16),
                (0, 4),
                (3, 4),
                (4, 4),
            ] {
                let o = Obligation {
                    index_reg: None,
                    index_min: min,
                    index_max: max,
                    disp,
                    size,
                    limit,
                };
                if o.proved_by_arithmetic().is_some() {
                    proved += 1;
                    assert_eq!(o.solve(), Ok(()), "arithmetic proved {o:?}, z3 did not");
                }
            }
        }
        assert!(proved > 500, "only {proved} cases proved by arithmetic");
    }
}
