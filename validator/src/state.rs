//! The abstract machine state: what the validator knows about each general
//! register and each frame slot at one program point. Numbers are unsigned
//! 64-bit ranges; pointers are the few kinds compiled code may hold.

use std::collections::BTreeMap;

use iced_x86::Register;
use pcc::Fact;

pub const U32_MAX: u64 = u32::MAX as u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AVal {
    /// An integer in `[lo, hi]` (unsigned 64-bit). `Num(0, MAX)` is "unknown".
    Num(u64, u64),
    /// This instance's vmctx / heap base (the pinned registers' values).
    VmCtx,
    HeapBase,
    /// The vmctx and heap base of the instance of the checked table element
    /// `id` (see `ElemAddr`), inside the call_indirect sequence.
    ForeignVmCtx(u32),
    ForeignHeapBase(u32),
    /// The pointer to table `t`'s descriptor, its element array, `3*i` for a
    /// checked index `i`, and the address of element `i`.
    Table(u32),
    Elems(u32),
    Elem3(u32),
    ElemAddr {
        table: u32,
        null_checked: bool,
        sig: Option<u32>,
        /// Which element: the address of the `lea` that computed it. A lea
        /// runs at most once on any path without a loop header, and loop
        /// headers start from claims, which can't name elements; so one id
        /// is one element, and the instance switch can be tied to it.
        id: u32,
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
    /// `rsp + k` inside the current frame (a host call's slot area).
    FrameAddr(u32),
    /// The address of the instruction at `.text` offset `off` (a
    /// rip-relative `lea`): the start of a jump table.
    CodeAddr(u32),
    /// One of the `count` entries of the jump table at `.text` offset
    /// `base`: `base + 8*k` for some `k < count` (an index proved below
    /// `count`, scaled by the 8-byte entry size).
    JumpEntry {
        base: u32,
        count: u32,
    },
    /// What callee-saved register `r` held at the function's entry (the
    /// caller's value): it must be back in `r` at every `ret`.
    Entry(u8),
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
        self.truncate(4)
    }

    /// The low `bytes` bytes, zero-extended (pointers become numbers).
    pub fn truncate(self, bytes: u32) -> AVal {
        let m = mask(bytes);
        match self.range() {
            (lo, hi) if hi <= m && (bytes == 8 || !self.is_pointer()) => {
                if bytes == 8 {
                    self
                } else {
                    AVal::Num(lo, hi)
                }
            }
            _ => AVal::Num(0, m),
        }
    }

    /// A pointer kind rather than a number.
    pub fn is_pointer(self) -> bool {
        !matches!(
            self,
            AVal::Num(..) | AVal::TableIndex(..) | AVal::HeapBytes { .. }
        )
    }

    /// The low `from` bytes sign-extended to `to` bytes (then zero-extended
    /// to 64 bits): unchanged when the sign bit is known clear.
    pub fn sext(self, from: u32, to: u32) -> AVal {
        match self.truncate(from).range() {
            (lo, hi) if hi <= mask(from) >> 1 => AVal::Num(lo, hi),
            _ => AVal::Num(0, mask(to)),
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

/// Where the stack pointer is, relative to the function's entry: the body
/// runs with the frame set up; the epilogue unwinds it in exactly this
/// order, on every path, before `ret`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    /// rbp = entry rsp - 16 (saved rbp below the return address), rsp = rbp - frame.
    Body,
    /// After `mov rsp, rbp`: rsp = rbp = entry - 16.
    Unwound,
    /// After `pop rbp`: rsp = entry - 8 (the return address), rbp the caller's.
    Popped,
}

#[derive(Clone, Debug)]
pub struct State {
    pub regs: [AVal; 16],
    /// Range of the low byte (al, cl, ..., never ah), where `setcc` and
    /// byte logic made it known.
    pub low8: [Option<(u8, u8)>; 16],
    /// Frame slots `[rsp + k]` (rsp is fixed after the prologue).
    pub slots: BTreeMap<u32, AVal>,
    pub flags: Flags,
    pub stack: Stack,
}

/// All ones in the low `bytes` bytes.
pub fn mask(bytes: u32) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes)) - 1
    }
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
            stack: Stack::Body,
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

    /// After any call: a table's element array may have moved (table.grow
    /// reallocates it), so pointers into it, and the foreign instance read
    /// through them, no longer hold — in registers or in frame slots.
    pub fn forget_element_pointers(&mut self) {
        let stale = |v: &AVal| {
            matches!(
                v,
                AVal::Elems(_)
                    | AVal::ElemAddr { .. }
                    | AVal::ForeignVmCtx(_)
                    | AVal::ForeignHeapBase(_)
            )
        };
        for r in 0..16u8 {
            if stale(&self.get(r)) {
                self.set(r, UNKNOWN);
            }
        }
        self.slots.retain(|_, v| !stale(v));
    }

    /// Read general register `r` at its own width (iced names carry it):
    /// the value zero-extended to 64 bits.
    pub fn read(&self, r: Register) -> Result<AVal, String> {
        let (g, bytes) = gpr_width(r)?;
        let v = self.get(g);
        Ok(match bytes {
            8 => v,
            1 => match self.low8[g as usize] {
                Some((lo, hi)) => AVal::Num(lo as u64, hi as u64),
                None => v.truncate(1),
            },
            b => v.truncate(b),
        })
    }

    /// THE width rule, the only way an instruction's result reaches a
    /// general register. A 64-bit write replaces the value; a 32-bit write
    /// zero-extends (bits 63..32 become 0); an 8- or 16-bit write merges into
    /// the old value, whose upper bits stay — so the result is known only
    /// when those upper bits were known to be zero. High-byte registers
    /// (ah, bh, ch, dh) are refused by `gpr_width`. Writing rsp, rbp, r14 or
    /// r15 is refused here: the few rows that may (epilogue, call_indirect's
    /// instance switch) set them directly after their own checks.
    pub fn write(&mut self, r: Register, v: AVal) -> Result<(), String> {
        let (g, bytes) = gpr_width(r)?;
        if matches!(g, 4 | 5 | 14 | 15) {
            return Err(format!("write to {r:?}").to_lowercase());
        }
        let m = mask(bytes);
        let new = match bytes {
            8 => v,
            4 => v.truncate(4),
            _ => {
                let part = v.truncate(bytes);
                match self.get(g).range() {
                    (_, hi) if hi <= m && !self.get(g).is_pointer() => part,
                    _ => UNKNOWN,
                }
            }
        };
        self.set(g, new);
        if bytes == 1 {
            let (lo, hi) = v.truncate(1).range();
            self.low8[g as usize] = Some((lo as u8, hi as u8));
        } else if bytes == 2 {
            // The low byte of a 16-bit value is known only if the value fits.
            if let (lo, hi @ 0..=0xff) = v.truncate(2).range() {
                self.low8[g as usize] = Some((lo as u8, hi as u8));
            }
        }
        Ok(())
    }
}

/// A general register operand's full-register number and width in bytes.
/// High-byte registers alias bits 15..8 of another register; nothing in
/// pccc's code uses them, so they have no semantics.
pub fn gpr_width(r: Register) -> Result<(u8, u32), String> {
    if matches!(r, Register::AH | Register::CH | Register::DH | Register::BH) {
        return Err(format!("high-byte register {r:?}").to_lowercase());
    }
    if !r.is_gpr() {
        return Err(format!("{r:?} is not a general register").to_lowercase());
    }
    let full = (r.full_register() as u32 - Register::RAX as u32) as u8;
    Ok((full, r.size() as u32))
}
