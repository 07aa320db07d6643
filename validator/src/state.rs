//! The abstract machine state: what the validator knows about each general
//! register and each frame slot at one program point. Numbers are unsigned
//! 64-bit ranges; pointers are the few kinds compiled code may hold.

use std::collections::BTreeMap;

use pcc::Fact;

pub const U32_MAX: u64 = u32::MAX as u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AVal {
    /// An integer in `[lo, hi]` (unsigned 64-bit). `Num(0, MAX)` is "unknown".
    Num(u64, u64),
    /// This instance's vmctx / heap base (the pinned registers' values).
    VmCtx,
    HeapBase,
    /// Another instance's vmctx and heap base, inside the call_indirect sequence.
    ForeignVmCtx,
    ForeignHeapBase,
    /// The pointer to table `t`'s descriptor, its element array, `3*i` for a
    /// checked index `i`, and the address of element `i`.
    Table(u32),
    Elems(u32),
    Elem3(u32),
    ElemAddr {
        table: u32,
        null_checked: bool,
        sig: Option<u32>,
    },
    /// An index proved below table `t`'s length (still a number in `[lo, hi]`).
    TableIndex(u32, u64, u64),
    /// The process-wide signature id of the module's type `i`.
    SigId(u32),
    /// The address of global `g`'s cell.
    Global(u32),
    /// `heap_bytes - minus` with no wrap (heap_bytes >= minus was proved),
    /// so at most `max`: heap_bytes is a symbol the runtime keeps within the
    /// reservation the artifact declares, and `max` = reservation - minus.
    HeapBytes {
        minus: u64,
        max: u64,
    },
}

pub const UNKNOWN: AVal = AVal::Num(0, u64::MAX);

impl AVal {
    pub fn constant(v: u64) -> AVal {
        AVal::Num(v, v)
    }

    /// The value's range as a number (pointers are unknown numbers).
    pub fn range(self) -> (u64, u64) {
        match self {
            AVal::Num(lo, hi) | AVal::TableIndex(_, lo, hi) => (lo, hi),
            AVal::HeapBytes { max, .. } => (0, max),
            _ => (0, u64::MAX),
        }
    }

    pub fn as_const(self) -> Option<u64> {
        match self.range() {
            (lo, hi) if lo == hi => Some(lo),
            _ => None,
        }
    }

    /// What a 32-bit read of this value then zero-extension gives.
    pub fn low32(self) -> AVal {
        match self.range() {
            (lo, hi) if hi <= U32_MAX => AVal::Num(lo, hi),
            _ => AVal::Num(0, U32_MAX),
        }
    }

    /// What `movsxd` of the low 32 bits gives.
    pub fn sext32(self) -> AVal {
        match self.range() {
            (lo, hi) if hi <= 0x7fff_ffff => AVal::Num(lo, hi),
            _ => UNKNOWN,
        }
    }

    /// The least range containing both (pointers must agree exactly).
    pub fn join(self, other: AVal) -> AVal {
        if self == other {
            return self;
        }
        let (a, b) = (self.range(), other.range());
        AVal::Num(a.0.min(b.0), a.1.max(b.1))
    }

    /// Whether every value this may be satisfies `fact`.
    pub fn implies(self, fact: &Fact) -> bool {
        AVal::from_fact(fact).is_some_and(|claim| self.within(claim))
    }

    /// Every value `self` may be is a value of `other` (`self` is at least as precise).
    pub fn within(self, other: AVal) -> bool {
        match (self, other) {
            (_, UNKNOWN) => true,
            (x, y) if x == y => true,
            (
                x @ (AVal::Num(..) | AVal::TableIndex(..) | AVal::HeapBytes { .. }),
                AVal::Num(lo, hi),
            ) => {
                let (a0, a1) = x.range();
                lo <= a0 && a1 <= hi
            }
            _ => false,
        }
    }

    /// The state a claim establishes at a block entry.
    pub fn from_fact(fact: &Fact) -> Option<AVal> {
        match *fact {
            Fact::Range { bits: 64, min, max } if min <= max => Some(AVal::Num(min, max)),
            Fact::VmCtx => Some(AVal::VmCtx),
            Fact::HeapBase => Some(AVal::HeapBase),
            _ => None,
        }
    }
}

/// Range arithmetic, `None` where the result could wrap.
pub fn add(a: (u64, u64), b: (u64, u64)) -> AVal {
    match (a.0.checked_add(b.0), a.1.checked_add(b.1)) {
        (Some(lo), Some(hi)) => AVal::Num(lo, hi),
        _ => UNKNOWN,
    }
}

pub fn sub(a: (u64, u64), b: (u64, u64)) -> AVal {
    if a.0 >= b.1 {
        AVal::Num(a.0 - b.1, a.1 - b.0)
    } else {
        UNKNOWN
    }
}

pub fn mul(a: (u64, u64), b: (u64, u64)) -> AVal {
    match (a.0.checked_mul(b.0), a.1.checked_mul(b.1)) {
        (Some(lo), Some(hi)) => AVal::Num(lo, hi),
        _ => UNKNOWN,
    }
}

/// What the flags say, from the last instruction that set them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flags {
    Unknown,
    /// `cmp a, b` on `bits`-wide values (b's value, when a constant).
    Cmp {
        a: u8,
        b: CmpRhs,
        bits: u32,
    },
    /// `cmp idx, [table + len]`.
    TableLen {
        idx: u8,
        table: u32,
    },
    /// `cmp qword [elem], 0`.
    ElemNull {
        elem: u8,
    },
    /// `cmp [elem + sig], sig_reg`.
    ElemSig {
        elem: u8,
        sig: u32,
    },
    /// `sub r, k` on `r` = heap_bytes - m: borrow iff heap_bytes < m + k.
    HeapSub {
        r: u8,
        minus: u64,
        max: u64,
    },
}

impl Flags {
    /// Whether the flags describe register `r` (so writing `r` voids them).
    fn mentions(self, r: u8) -> bool {
        match self {
            Flags::Unknown => false,
            Flags::Cmp { a, b, .. } => a == r || b == CmpRhs::Reg(r),
            Flags::TableLen { idx, .. } => idx == r,
            Flags::ElemNull { elem } | Flags::ElemSig { elem, .. } => elem == r,
            Flags::HeapSub { r: x, .. } => x == r,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpRhs {
    Reg(u8),
    Imm(u64),
}

#[derive(Clone, Debug)]
pub struct State {
    pub regs: [AVal; 16],
    /// Range of the low byte, where `setcc` and byte logic made it known.
    pub low8: [Option<(u8, u8)>; 16],
    /// Frame slots `[rsp + k]` (rsp is fixed after the prologue).
    pub slots: BTreeMap<u32, AVal>,
    pub flags: Flags,
}

impl State {
    /// Nothing known but the pinned registers.
    pub fn pinned() -> State {
        let mut regs = [UNKNOWN; 16];
        regs[14] = AVal::VmCtx;
        regs[15] = AVal::HeapBase;
        State {
            regs,
            low8: [None; 16],
            slots: BTreeMap::new(),
            flags: Flags::Unknown,
        }
    }

    /// Write register `r`. Flags about its old value no longer describe it.
    pub fn set(&mut self, r: u8, v: AVal) {
        self.regs[r as usize] = v;
        self.low8[r as usize] = None;
        if self.flags.mentions(r) {
            self.flags = Flags::Unknown;
        }
    }

    pub fn get(&self, r: u8) -> AVal {
        self.regs[r as usize]
    }
}
