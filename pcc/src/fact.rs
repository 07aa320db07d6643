//! The fact language: claims the compiler makes about locations at code
//! offsets. The validator re-derives every one from the decoded instructions
//! and rejects the artifact if a claim does not follow.

use serde::{Deserialize, Serialize};

use crate::reg::{Gpr, Xmm};

/// Where a value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Loc {
    Gpr(Gpr),
    Xmm(Xmm),
    /// The 8-byte stack slot at `[rsp + offset]`. Compiled code does not move
    /// rsp after its prologue, so this names the same slot for the whole body.
    Stack(u32),
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loc::Gpr(r) => write!(f, "{r}"),
            Loc::Xmm(r) => write!(f, "{r}"),
            Loc::Stack(k) => write!(f, "[rsp+{k:#x}]"),
        }
    }
}

/// A claim about the value in a location.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Fact {
    /// The value read as an unsigned `bits`-wide integer lies in `[min, max]`.
    /// "Upper 32 bits zero" is `Range { bits: 64, min: 0, max: 0xFFFF_FFFF }`.
    Range { bits: u8, min: u64, max: u64 },
    /// Equals this instance's heap base.
    HeapBase,
    /// Equals heap base + k for some k in `[min, max]`.
    HeapAddr { min: u64, max: u64 },
    /// Equals this instance's vmctx pointer.
    VmCtx,
}

impl Fact {
    /// A 32-bit value zero-extended to 64 bits.
    pub const ZEXT32: Fact = Fact::Range {
        bits: 64,
        min: 0,
        max: 0xFFFF_FFFF,
    };

    pub fn constant(bits: u8, value: u64) -> Fact {
        Fact::Range {
            bits,
            min: value,
            max: value,
        }
    }
}

impl std::fmt::Display for Fact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Fact::Range { bits, min, max } if min == max => write!(f, "const{bits}({min:#x})"),
            Fact::Range { bits, min, max } => write!(f, "range{bits}[{min:#x}, {max:#x}]"),
            Fact::HeapBase => f.write_str("heap_base"),
            Fact::HeapAddr { min, max } => write!(f, "heap_base+[{min:#x}, {max:#x}]"),
            Fact::VmCtx => f.write_str("vmctx"),
        }
    }
}

/// Whether a fact holds before the instruction at its offset executes (block
/// entries) or after it (definitions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Point {
    Before,
    After,
}

/// One claim: at function-relative code `offset`, `point` that instruction,
/// the value in `loc` satisfies `fact`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FactEntry {
    pub offset: u32,
    pub point: Point,
    pub loc: Loc,
    pub fact: Fact,
}

impl std::fmt::Display for FactEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.loc, self.fact)
    }
}
