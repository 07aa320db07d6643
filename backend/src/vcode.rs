//! VCode: x86-64 instructions on virtual registers, in the form regalloc2
//! consumes. Each `MInst` knows its operands (with the ABI's fixed-register
//! constraints) and its clobbers; `emit` turns the allocated result into bytes.

use pcc::{Fact, TrapCode};

pub use crate::ir::{Lanes, VBinOp, VReduce, VShiftKind, VUnOp};
use regalloc2::{Block, Inst, InstRange, Operand, PReg, PRegSet, RegClass, VReg};

/// Operand width of an integer operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    S32,
    S64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Imul,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftOp {
    Shl,
    Sar,
    Shr,
    Rol,
    Ror,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Lzcnt,
    Tzcnt,
    Popcnt,
}

/// x86 condition codes used by setcc/jcc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    E,
    Ne,
    L,
    B,
    G,
    A,
    Le,
    Be,
    Ge,
    Ae,
}

impl Cond {
    /// The condition that holds exactly when `self` does not (for a
    /// branch inverted to fall through to its taken target).
    pub fn inverse(self) -> Cond {
        match self {
            Cond::E => Cond::Ne,
            Cond::Ne => Cond::E,
            Cond::L => Cond::Ge,
            Cond::Ge => Cond::L,
            Cond::G => Cond::Le,
            Cond::Le => Cond::G,
            Cond::B => Cond::Ae,
            Cond::Ae => Cond::B,
            Cond::A => Cond::Be,
            Cond::Be => Cond::A,
        }
    }
}

/// A compare's right-hand side: a register, or an immediate (0 compares
/// with `test a, a`, which sets the flags exactly as `cmp a, 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rhs {
    Reg(VReg),
    Imm(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DivKind {
    DivS,
    DivU,
    RemS,
    RemU,
}

/// SSE arithmetic (`addss`/`addsd`...): `dst = src1 op src2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FAluOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// One-operand SSE operators: `sqrt`, or `round` with its immediate
/// (0 nearest-even, 1 floor, 2 ceil, 3 truncate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FUnaryOp {
    Sqrt,
    Round(u8),
}

/// Sign-bit operators, done on the bits in a general register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignOp {
    Abs,
    Neg,
    Copysign,
}

/// Conditions after `ucomis a, b`: `A` is a > b, `Ae` a >= b (both false
/// when unordered); `Eq`/`Ne` fold in the parity flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FCond {
    Eq,
    Ne,
    A,
    Ae,
}

/// A heap address: `r15 + index + disp`, `index` an i32 value (upper half zero).
#[derive(Clone, Copy, Debug)]
pub struct HeapAddr {
    pub index: VReg,
    pub disp: i32,
}

/// What a call goes to.
#[derive(Clone, Copy, Debug)]
pub enum CallTarget {
    /// A defined function, by defined-function index.
    Direct(u32),
}

#[derive(Clone, Debug)]
pub enum MInst {
    /// Function entry: defines the register parameters in their ABI registers.
    Args {
        defs: Vec<(VReg, PReg)>,
    },
    /// `mov dst, [rbp + 16 + 8*slot]`: a parameter passed on the stack
    /// (`movsd` for a float).
    LoadStackArg {
        dst: VReg,
        slot: u32,
    },
    MovImm {
        dst: VReg,
        imm: u64,
        size: Size,
    },
    /// `mov dst32, src32` (wrap / zero-extend) or a 64-bit copy.
    Mov {
        dst: VReg,
        src: VReg,
        size: Size,
    },
    /// `lea dst, [base + index << shift]`: an add of a shifted value (shift
    /// 1 to 3) in one instruction. At 32 bits the low half of the 64-bit
    /// sum is the i32 result whatever the registers' upper halves hold.
    Lea {
        size: Size,
        dst: VReg,
        base: VReg,
        index: VReg,
        shift: u8,
    },
    /// `dst = src1 op src2`. Two-address (dst allocated to src1's
    /// register), except add/sub/imul with an immediate, which have
    /// three-address forms (`lea dst, [src1 + k]`, `imul dst, src1, k`), so
    /// a src1 still live after needs no copy.
    Alu {
        op: AluOp,
        size: Size,
        dst: VReg,
        src1: VReg,
        src2: Rhs,
    },
    /// `dst = src op cl`, count fixed in rcx; or `dst = src op k` for a
    /// constant count (masked to the width, never 0).
    Shift {
        op: ShiftOp,
        size: Size,
        dst: VReg,
        src: VReg,
        count: Rhs,
    },
    Unary {
        op: UnaryOp,
        size: Size,
        dst: VReg,
        src: VReg,
    },
    /// Sign-extend the low `from` bits (8, 16, 32) of src into dst (`size` wide).
    Sext {
        dst: VReg,
        src: VReg,
        from: u8,
        size: Size,
    },
    /// `cmp a, b; setcc dst8; movzx dst32, dst8`.
    Setcc {
        cond: Cond,
        size: Size,
        dst: VReg,
        a: VReg,
        b: Rhs,
    },
    /// `test a, a; sete; movzx`.
    Eqz {
        size: Size,
        dst: VReg,
        a: VReg,
    },
    /// `cmp x, y; cmov<cond> dst, a` with dst allocated to `b`'s register:
    /// `a` if the condition holds, else `b`. A Wasm select on a boolean is
    /// `c != 0` (`test c, c; cmovne`); on a comparison used only here, the
    /// comparison itself, so no boolean is materialized.
    Select {
        size: Size,
        cmp_size: Size,
        cond: Cond,
        x: VReg,
        y: Rhs,
        dst: VReg,
        a: VReg,
        b: VReg,
    },
    /// Checked division: dividend fixed in rax, divisor fixed in rcx, result in
    /// rax (div) or rdx (rem); traps on zero divisor and signed overflow.
    Div {
        kind: DivKind,
        size: Size,
        dst: VReg,
        dividend: VReg,
        divisor: VReg,
        /// The divisor is a constant neither 0 nor -1: nothing to check.
        safe_divisor: bool,
    },
    /// `dst = (x * magic) >> 64`, unsigned: `mov rdx, magic; mul rdx` with
    /// x fixed in rax, the high half (dst) in rdx, rax clobbered.
    MulHi {
        dst: VReg,
        x: VReg,
        magic: u64,
    },
    /// `dst = bits` (v128): `pxor` for zero, else each half through the
    /// general register `tmp` (`movq`, `pinsrq`).
    VConst {
        dst: VReg,
        tmp: VReg,
        bits: [u64; 2],
    },
    /// `dst = src1 op src2`, two-address (dst allocated to src1's register).
    VAlu {
        op: VBinOp,
        dst: VReg,
        src1: VReg,
        src2: VReg,
    },
    /// `dst = op src` (`pmovzxbw dst, src`, ...; the high-half extends move
    /// the half down first with `pshufd dst, src, 0xee`).
    VUnary {
        op: VUnOp,
        dst: VReg,
        src: VReg,
    },
    /// `dst = !src`: `pcmpeqd tmp, tmp` (all ones), then `pxor`.
    VNot {
        dst: VReg,
        src: VReg,
        tmp: VReg,
    },
    /// `dst = splat(src)`: a general register moved in (`movd`/`movq`) and
    /// broadcast, or an SSE scalar broadcast with `pshufd`. `tmp`: the zero
    /// byte mask of an i8x16 splat.
    VSplat {
        lanes: Lanes,
        dst: VReg,
        src: VReg,
        tmp: Option<VReg>,
    },
    /// `dst = src[lane]`: `pextrb/w/d/q` (sign-extended after for the
    /// signed 8- and 16-bit lanes) into a general register, or the lane
    /// moved to the bottom of an SSE register (`pshufd`).
    VExtract {
        lanes: Lanes,
        lane: u8,
        signed: bool,
        dst: VReg,
        src: VReg,
    },
    /// `dst = vec with lane := src`, two-address: `pinsrb/w/d/q`,
    /// `insertps`, or `movsd`/`movlhps` for the f64 lanes.
    VReplace {
        lanes: Lanes,
        lane: u8,
        dst: VReg,
        vec: VReg,
        src: VReg,
    },
    /// Byte shuffle of a ++ b: `pshufb` of a copy of each by a constant
    /// mask (0x80: zero), or'd. Two-address on a; `masks` and `tb` are SSE
    /// temporaries, `tmp` a general one for the constants.
    VShuffle {
        lanes: [u8; 16],
        dst: VReg,
        a: VReg,
        b: VReg,
        masks: [VReg; 2],
        tb: VReg,
        tmp: VReg,
    },
    /// Lane shift, two-address: by a constant count (already reduced modulo
    /// the lane width) as the immediate form; by a register count through
    /// `tmp` (masked to the lane width) and `txmm` (`movd`).
    VShift {
        lanes: Lanes,
        kind: VShiftKind,
        dst: VReg,
        src: VReg,
        count: Rhs,
        tmp: Option<(VReg, VReg)>,
    },
    /// i8x16 lane shift (x86 has no byte shifts), two-address: shl and
    /// shr_u as the 16-bit shift and a mask of the bits that stay in each
    /// byte; shr_s through bytes doubled into words (`punpck*bw`), `psraw`
    /// by the count plus 8 and `packsswb`. `tmp` (general) and `x`, `m`, `z`
    /// (SSE) are temporaries.
    VShift8 {
        kind: VShiftKind,
        dst: VReg,
        src: VReg,
        count: Rhs,
        tmp: VReg,
        x: VReg,
        m: VReg,
        z: VReg,
    },
    /// A v128 unary operator that takes a sequence (the conversions with
    /// no one instruction, `i8x16.popcnt`), two-address on src; `temps`:
    /// the SSE temporaries, then a general one for constants where the
    /// sequence has them (`VUnOp::seq_temps`).
    VUnarySeq {
        op: VUnOp,
        dst: VReg,
        src: VReg,
        temps: Vec<VReg>,
    },
    /// Float lane `min`/`max` with Wasm's NaN and signed-zero rules,
    /// two-address on a: `minps`/`maxps` both ways round, combined (or'd
    /// for min, -0 | +0 = -0; for max the difference subtracted, so
    /// +0 wins), NaN lanes made the canonical NaN. `t` an SSE temporary.
    VFMinMax {
        max: bool,
        lanes: Lanes,
        dst: VReg,
        a: VReg,
        b: VReg,
        t: VReg,
    },
    /// `i64x2.shr_s` (no `psraq` before AVX-512), two-address: with m the
    /// sign bit, ((x ^ m) >>u k) - (m >>u k). `m` an SSE temporary; a
    /// register count goes through `tmp`: a general register (masked to
    /// 63), then an SSE one (`movd`).
    VSar64 {
        dst: VReg,
        src: VReg,
        count: Rhs,
        m: VReg,
        tmp: Option<(VReg, VReg)>,
    },
    /// `any_true` (`ptest src, src; setne`) and `all_true` (lanes equal
    /// to zero into `tmp` with `pcmpeq*`, `ptest tmp, tmp; sete`), the
    /// byte `movzx`'d into the general register dst.
    VTest {
        op: VReduce,
        dst: VReg,
        src: VReg,
        tmp: Option<VReg>,
    },
    /// `bitmask`: `pmovmskb`/`movmskps`/`movmskpd` into the general
    /// register dst; i16x8 through bytes (`packsswb tmp, tmp` keeps each
    /// lane's sign, both halves alike) and `shr dst, 8`.
    VBitmask {
        lanes: Lanes,
        dst: VReg,
        src: VReg,
        tmp: Option<VReg>,
    },
    /// `i64x2.mul`, two-address on a: lo(a)·lo(b) + ((hi(a)·lo(b) +
    /// lo(a)·hi(b)) << 32) per lane, from 32x32->64 `pmuludq` products;
    /// `t1`, `t2` SSE temporaries.
    VMul64 {
        dst: VReg,
        a: VReg,
        b: VReg,
        t1: VReg,
        t2: VReg,
    },
    /// `i8x16.swizzle`: `pshufb a, (b +sat 0x70)`: an index of 16 or more
    /// gets its top bit set, which pshufb reads as zero. Two-address on a.
    VSwizzle {
        dst: VReg,
        a: VReg,
        b: VReg,
        mask: VReg,
        tmp: VReg,
    },
    /// `movdqu dst, [r15 + index + disp]`: 16 bytes, no alignment needed.
    VLoad {
        dst: VReg,
        addr: HeapAddr,
    },
    /// `movdqu [r15 + index + disp], src`.
    VStore {
        src: VReg,
        addr: HeapAddr,
    },
    /// `dst = bits` (float), through the general register `tmp`.
    FMovImm {
        dst: VReg,
        tmp: VReg,
        bits: u64,
        size: Size,
    },
    /// Two-address SSE op, dst allocated to src1's register.
    FAlu {
        op: FAluOp,
        size: Size,
        dst: VReg,
        src1: VReg,
        src2: VReg,
    },
    /// Wasm `min`/`max`: NaN if either is NaN, -0 below +0. Two-address.
    FMinMax {
        max: bool,
        size: Size,
        dst: VReg,
        src1: VReg,
        src2: VReg,
    },
    FUnary {
        op: FUnaryOp,
        size: Size,
        dst: VReg,
        src: VReg,
    },
    /// abs/neg/copysign on the sign bit (`sign` is copysign's second operand).
    FSign {
        op: SignOp,
        size: Size,
        dst: VReg,
        src: VReg,
        sign: Option<VReg>,
        t1: VReg,
        t2: VReg,
    },
    /// `ucomis a, b; set<cond>`; an I32 0/1.
    FCmp {
        cond: FCond,
        size: Size,
        dst: VReg,
        a: VReg,
        b: VReg,
        tmp: VReg,
    },
    /// `test c, c; je skip; movaps dst, a; skip:`, dst allocated to `b`'s register.
    FSelect {
        dst: VReg,
        cond: VReg,
        a: VReg,
        b: VReg,
    },
    /// f32 ↔ f64.
    FCvt {
        to_f64: bool,
        dst: VReg,
        src: VReg,
    },
    /// Same-width move between a general and an SSE register (reinterpret).
    Bitcast {
        size: Size,
        dst: VReg,
        src: VReg,
    },
    IntToFloat {
        signed: bool,
        from: Size,
        to: Size,
        dst: VReg,
        src: VReg,
        t1: VReg,
        t2: VReg,
    },
    /// Truncation with Wasm's traps (NaN, out of range) or saturation.
    FloatToInt {
        signed: bool,
        saturating: bool,
        from: Size,
        to: Size,
        dst: VReg,
        src: VReg,
        g: VReg,
        x1: VReg,
        x2: VReg,
    },
    FLoad {
        dst: VReg,
        addr: HeapAddr,
        size: Size,
    },
    FStore {
        src: VReg,
        addr: HeapAddr,
        size: Size,
    },
    /// A float global: the cell address through `tmp`, then `movss/movsd`.
    FGlobalGet {
        dst: VReg,
        tmp: VReg,
        vmctx_off: u32,
        size: Size,
    },
    /// Load `width` bytes from the heap, sign- or zero-extended to `size`.
    Load {
        dst: VReg,
        addr: HeapAddr,
        width: u8,
        signed: bool,
        size: Size,
    },
    /// `mov [heap], src`: a register, or an immediate (the constant's low
    /// `width` bytes; an 8-byte store's sign-extended imm32).
    Store {
        src: Rhs,
        addr: HeapAddr,
        width: u8,
    },
    /// For a static offset too large for the guard: `dst = index + offset`
    /// after checking `index + offset + width <= reservation + guard`.
    FarHeapAddr {
        dst: VReg,
        tmp: VReg,
        index: VReg,
        offset: u64,
        width: u8,
        limit: u64,
    },
    /// Bounds-checked heap: trap unless `index + end <= heap_bytes` (the
    /// memory's current size, read from vmctx into `tmp`). `dst` is the
    /// checked index, in index's register: the access uses it, so a move or
    /// reload between check and access carries the bound with its fact.
    HeapCheck {
        index: VReg,
        tmp: VReg,
        dst: VReg,
        end: u32,
    },
    /// 64-bit store/load of an 8-byte slot at `[rsp + off]` (call areas);
    /// general or SSE register by the operand's class.
    StoreFrame {
        src: VReg,
        off: u32,
    },
    LoadFrame {
        dst: VReg,
        off: u32,
    },
    /// `mov [rbp + 16 + 8*slot], src`: a result past the result registers,
    /// into the caller's outgoing area (`movsd` for a float).
    StoreStackResult {
        src: VReg,
        slot: u32,
    },
    /// `mov dst, [r14 + off]; mov dst, [dst]` (a global's cell through vmctx).
    GlobalGet {
        dst: VReg,
        vmctx_off: u32,
        size: Size,
    },
    GlobalSet {
        src: VReg,
        tmp: VReg,
        vmctx_off: u32,
        size: Size,
    },
    /// `mov dst, [r14 + HEAP_BYTES]; shr dst, 16`.
    MemorySize {
        dst: VReg,
    },
    /// `mov rdi, r14; call [r14 + MEMORY_GROW]`, delta fixed in rsi, result rax.
    MemoryGrow {
        dst: VReg,
        delta: VReg,
    },
    /// A runtime builtin through vmctx (`field`: BULK_MEMORY, TABLE_OP):
    /// `mov rdi, r14; mov rsi, op; call [r14 + field]`, operands fixed in
    /// rdx, rcx, r8; then `trap` unless it returned 0.
    Builtin {
        field: u32,
        op: u64,
        args: Vec<VReg>,
        /// The result, in rax (an i32 one is zero-extended after the call).
        ret: Option<VReg>,
        trap: pcc::TrapCode,
        trap_when: pcc::vmctx::TrapWhen,
    },
    /// `dst = [tables[t] + len]` (32-bit: lengths fit).
    TableSize {
        dst: VReg,
        table_off: u32,
    },
    /// A direct call; args in fixed registers, results in fixed registers.
    Call {
        target: CallTarget,
        uses: Vec<(VReg, PReg)>,
        defs: Vec<(VReg, PReg)>,
    },
    /// `mov rdi, r14; mov esi, import; lea rdx, [rsp + area]; call [r14 + HOST_CALL]`,
    /// then a HostTrap check. Arguments/results travel through the area.
    HostCall {
        import: u32,
        area: u32,
    },
    /// The table-bound, null and signature checks of `call_indirect`;
    /// defines the address of the callee's table element. Separate from the call so its
    /// temporaries need not survive the call's clobbers.
    IndirectTarget {
        table_off: u32,
        sig_off: u32,
        index: VReg,
        tmp: VReg,
        dst: VReg,
    },
    /// Call through a table element: switch r14/r15 to the element's
    /// instance (it may come from another module), call, and restore them
    /// from the frame's vmctx slot. Args and results in fixed registers.
    CallIndirect {
        callee: VReg,
        uses: Vec<(VReg, PReg)>,
        defs: Vec<(VReg, PReg)>,
    },
    /// `mov rdi, r14; mov esi, tag; lea rdx, [rsp]; call [r14 + THROW]`,
    /// the payload stored at `[rsp]` before: returns only if the runtime
    /// refused (what follows traps).
    Throw {
        tag: u32,
    },
    /// `mov rdi, r14; call [r14 + THROW_REF]`, the exnref fixed in rsi.
    ThrowRef {
        exn: VReg,
    },
    /// A landing's first instruction: `mov r14, [rsp + vmctx slot]; mov
    /// r15, [r14 + HEAP_BASE]` (the unwinder leaves every register undefined).
    RestorePinned,
    /// `mov rdi, r14; call [r14 + EXN_LANDED]`: the exnref, in rax.
    ExnLanded {
        dst: VReg,
    },
    /// `mov rdi, r14; mov edx, tag; lea rcx, [rsp]; call [r14 + EXN_CATCH];
    /// mov eax, eax`, the exnref fixed in rsi: 1 in rax (and the payload at
    /// `[rsp]`) if the exception's tag is `tag`, else 0.
    ExnCatch {
        exn: VReg,
        tag: u32,
        dst: VReg,
    },
    // ---- terminators ----
    /// `call` (a Call, CallIndirect, HostCall, Throw or ThrowRef) whose
    /// exception lands at `landing`'s start (an exception site); on return
    /// it goes on to `normal`. Both have this block as their only predecessor.
    Invoke {
        call: Box<MInst>,
        normal: Block,
        landing: Block,
    },
    Jmp {
        target: Block,
        args: Vec<VReg>,
    },
    /// `cmp a, b; j<cond> then; jmp else` (successors have no block args:
    /// edges out of multi-successor blocks are split). A Wasm `br_if` on a
    /// boolean is `a != 0`; on a comparison used only here, the comparison
    /// itself, so no boolean is materialized.
    Brif {
        size: Size,
        cond: Cond,
        a: VReg,
        b: Rhs,
        then: Block,
        else_: Block,
    },
    /// `ucomis a, b; j<cond> then; jmp else` for an "above" condition
    /// (false when unordered, as Wasm's gt/ge; lt/le swap the operands): a
    /// float comparison used only by this branch, so no 0/1 is made.
    FBrif {
        size: Size,
        cond: FCond,
        a: VReg,
        b: VReg,
        then: Block,
        else_: Block,
    },
    /// index i → targets[i], else default: a compare chain for a few
    /// targets, or with `table`'s two temporaries a jump table (lowering
    /// picks it from `JUMP_TABLE_MIN` targets on).
    BrTable {
        index: VReg,
        targets: Vec<Block>,
        default: Block,
        table: Option<(VReg, VReg)>,
    },
    Ret {
        uses: Vec<(VReg, PReg)>,
    },
    Trap {
        code: TrapCode,
    },
}

impl MInst {
    pub fn is_terminator(&self) -> bool {
        matches!(
            self,
            MInst::Jmp { .. }
                | MInst::Brif { .. }
                | MInst::FBrif { .. }
                | MInst::BrTable { .. }
                | MInst::Ret { .. }
                | MInst::Trap { .. }
                | MInst::Invoke { .. }
        )
    }
}

pub fn preg(hw: u8) -> PReg {
    PReg::new(hw as usize, RegClass::Int)
}

pub fn xreg(hw: u8) -> PReg {
    PReg::new(hw as usize, RegClass::Float)
}

fn add_all_xmm(s: &mut PRegSet) {
    for hw in 0..16 {
        s.add(xreg(hw));
    }
}

/// Registers the System V ABI lets a host function change.
pub fn sysv_clobbers() -> PRegSet {
    let mut s = PRegSet::empty();
    for r in pcc::builtin::SYSV_CLOBBERS {
        s.add(preg(r.0));
    }
    add_all_xmm(&mut s);
    s
}

/// Every allocatable register: what a call to compiled code may change.
pub fn all_clobbers() -> PRegSet {
    let mut s = PRegSet::empty();
    for r in pcc::vmctx::CALLER_SAVED_GPRS {
        s.add(preg(r.0));
    }
    add_all_xmm(&mut s);
    s
}

/// Every allocatable register, callee-saved ones too: what a call whose
/// exception may land in this function changes (the unwinder restores none
/// of them).
pub fn exception_clobbers() -> PRegSet {
    let mut s = all_clobbers();
    for r in pcc::vmctx::CALLEE_SAVED_GPRS {
        s.add(preg(r.0));
    }
    s
}

/// The registers `mi` (not an Invoke) changes beyond its defs.
fn clobbers_of(mi: &MInst) -> PRegSet {
    match mi {
        MInst::Call { defs, .. } | MInst::CallIndirect { defs, .. } => {
            let mut s = all_clobbers();
            for (_, p) in defs {
                s.remove(*p);
            }
            s
        }
        MInst::HostCall { .. }
        | MInst::Builtin { ret: None, .. }
        | MInst::Throw { .. }
        | MInst::ThrowRef { .. } => sysv_clobbers(),
        MInst::Builtin { ret: Some(_), .. }
        | MInst::MemoryGrow { .. }
        | MInst::ExnLanded { .. }
        | MInst::ExnCatch { .. } => {
            let mut s = sysv_clobbers();
            s.remove(preg(0));
            s
        }
        MInst::MulHi { .. } => {
            let mut s = PRegSet::empty();
            s.add(preg(0));
            s
        }
        MInst::Div { kind, .. } => {
            let mut s = PRegSet::empty();
            // The half of rdx:rax that is not the result.
            s.add(preg(if matches!(kind, DivKind::DivS | DivKind::DivU) {
                2
            } else {
                0
            }));
            s
        }
        MInst::Invoke { call, .. } => {
            let mut s = exception_clobbers();
            if let MInst::Call { defs, .. } | MInst::CallIndirect { defs, .. } = &**call {
                for (_, p) in defs {
                    s.remove(*p);
                }
            }
            s
        }
        _ => PRegSet::empty(),
    }
}

/// A lowered function: blocks of `MInst`s plus the per-vreg facts.
pub struct VCode {
    pub insts: Vec<MInst>,
    pub operands: Vec<Vec<Operand>>,
    pub clobbers: Vec<PRegSet>,
    pub block_ranges: Vec<(u32, u32)>,
    pub block_params: Vec<Vec<VReg>>,
    pub succs: Vec<Vec<Block>>,
    pub preds: Vec<Vec<Block>>,
    pub num_vregs: usize,
    /// The fact each vreg's defining instruction establishes, if any.
    pub facts: Vec<Option<Fact>>,
    /// Whether each vreg holds an i32 (for the seed-bug switch and facts).
    pub is_i32: Vec<bool>,
    /// Whether each vreg holds a v128 (all 128 bits of its xmm register
    /// matter where it crosses a call or lives in a global).
    pub is_v128: Vec<bool>,
    /// Each vreg's register class (general or SSE).
    pub classes: Vec<RegClass>,
    pub debug_labels: Vec<(VReg, Inst, Inst, u32)>,
    /// Bytes of outgoing stack-argument and host-call slots below the spills.
    pub call_area: u32,
    /// Whether the frame needs a slot to save r14 across indirect calls.
    pub vmctx_slot: bool,
    /// Whether exceptions land in this function: r14 is then saved at
    /// entry, and every callee-saved register with it.
    pub landings: bool,
    /// Blocks below this index are the IR's (in the frontend's order); the
    /// ones from here on split edges.
    pub num_ir_blocks: usize,
    /// The function has v128 values: SSE-class spill slots are then 16
    /// bytes (`movdqu`), else 8 (`movsd`), as before.
    pub wide_sse_slots: bool,
}

impl VCode {
    /// Compute operands, clobbers, predecessors and debug labels once the
    /// instruction list is final.
    pub fn finish(&mut self) {
        self.operands = self.insts.iter().map(operands_of).collect();
        self.clobbers = self.insts.iter().map(clobbers_of).collect();
        self.preds = vec![vec![]; self.block_ranges.len()];
        for (b, ss) in self.succs.iter().enumerate() {
            for s in ss {
                self.preds[s.index()].push(Block::new(b));
            }
        }
        let end = Inst::new(self.insts.len());
        self.debug_labels = (0..self.num_vregs)
            .map(|v| (VReg::new(v, self.classes[v]), Inst::new(0), end, v as u32))
            .collect();
    }
}

/// A two-address instruction's operands: its uses (the first is the one
/// the destination reuses), its temporaries, then the destination.
fn two_address(uses: &[VReg], temps: &[VReg], dst: VReg) -> Vec<Operand> {
    let mut v: Vec<Operand> = uses.iter().map(|&u| Operand::reg_use(u)).collect();
    v.extend(temps.iter().map(|&t| Operand::reg_temp(t)));
    v.push(Operand::reg_reuse_def(dst, 0));
    v
}

fn early_def(v: VReg) -> Operand {
    Operand::new(
        v,
        regalloc2::OperandConstraint::Reg,
        regalloc2::OperandKind::Def,
        regalloc2::OperandPos::Early,
    )
}

fn operands_of(i: &MInst) -> Vec<Operand> {
    use Operand as O;
    let fixed_uses = |v: &Vec<(VReg, PReg)>| {
        v.iter()
            .map(|(r, p)| O::reg_fixed_use(*r, *p))
            .collect::<Vec<_>>()
    };
    let fixed_defs = |v: &Vec<(VReg, PReg)>| {
        v.iter()
            .map(|(r, p)| O::reg_fixed_def(*r, *p))
            .collect::<Vec<_>>()
    };
    match i {
        MInst::Args { defs } => fixed_defs(defs),
        MInst::LoadStackArg { dst, .. }
        | MInst::MovImm { dst, .. }
        | MInst::LoadFrame { dst, .. } => {
            vec![O::reg_def(*dst)]
        }
        MInst::GlobalGet { dst, .. } | MInst::MemorySize { dst } => vec![O::reg_def(*dst)],
        MInst::Mov { dst, src, .. }
        | MInst::Unary { dst, src, .. }
        | MInst::Sext { dst, src, .. } => {
            vec![O::reg_use(*src), O::reg_def(*dst)]
        }
        MInst::Alu {
            op,
            dst,
            src1,
            src2,
            ..
        } => match src2 {
            // An add has a three-address form (`lea dst, [src1 + src2]`),
            // so neither source need be copied first.
            Rhs::Reg(src2) if *op == AluOp::Add => {
                vec![O::reg_use(*src1), O::reg_use(*src2), O::reg_def(*dst)]
            }
            Rhs::Reg(src2) => vec![
                O::reg_use(*src1),
                O::reg_use(*src2),
                O::reg_reuse_def(*dst, 0),
            ],
            Rhs::Imm(_) if matches!(op, AluOp::Add | AluOp::Sub | AluOp::Imul) => {
                vec![O::reg_use(*src1), O::reg_def(*dst)]
            }
            Rhs::Imm(_) => vec![O::reg_use(*src1), O::reg_reuse_def(*dst, 0)],
        },
        MInst::Shift {
            dst, src, count, ..
        } => match count {
            Rhs::Reg(count) => vec![
                O::reg_use(*src),
                O::reg_fixed_use(*count, preg(1)),
                O::reg_reuse_def(*dst, 0),
            ],
            Rhs::Imm(_) => vec![O::reg_use(*src), O::reg_reuse_def(*dst, 0)],
        },
        MInst::Setcc { dst, a, b, .. } => {
            let mut v = vec![O::reg_use(*a)];
            if let Rhs::Reg(b) = b {
                v.push(O::reg_use(*b));
            }
            v.push(O::reg_def(*dst));
            v
        }
        MInst::Eqz { dst, a, .. } => vec![O::reg_use(*a), O::reg_def(*dst)],
        MInst::Select {
            x, y, dst, a, b, ..
        } => {
            let mut v = vec![O::reg_use(*b), O::reg_use(*x)];
            if let Rhs::Reg(y) = y {
                v.push(O::reg_use(*y));
            }
            v.extend([O::reg_use(*a), O::reg_reuse_def(*dst, 0)]);
            v
        }
        MInst::MulHi { dst, x, .. } => {
            vec![
                O::reg_fixed_use(*x, preg(0)),
                O::reg_fixed_def(*dst, preg(2)),
            ]
        }
        MInst::Div {
            kind,
            dst,
            dividend,
            divisor,
            ..
        } => {
            let out = if matches!(kind, DivKind::DivS | DivKind::DivU) {
                0
            } else {
                2
            };
            vec![
                O::reg_fixed_use(*dividend, preg(0)),
                O::reg_fixed_use(*divisor, preg(1)),
                O::reg_fixed_def(*dst, preg(out)),
            ]
        }
        MInst::Load { dst, addr, .. } | MInst::FLoad { dst, addr, .. } => {
            vec![O::reg_use(addr.index), O::reg_def(*dst)]
        }
        MInst::FStore { src, addr, .. } | MInst::VStore { src, addr } => {
            vec![O::reg_use(addr.index), O::reg_use(*src)]
        }
        MInst::VLoad { dst, addr } => vec![O::reg_use(addr.index), O::reg_def(*dst)],
        MInst::VConst { dst, tmp, .. } => vec![O::reg_temp(*tmp), O::reg_def(*dst)],
        MInst::VAlu {
            dst, src1, src2, ..
        } => vec![
            O::reg_use(*src1),
            O::reg_use(*src2),
            O::reg_reuse_def(*dst, 0),
        ],
        MInst::VSplat { dst, src, tmp, .. } => {
            let mut v = vec![O::reg_use(*src), O::reg_def(*dst)];
            v.extend(tmp.map(O::reg_temp));
            v
        }
        MInst::VExtract { dst, src, .. } | MInst::VUnary { dst, src, .. } => {
            vec![O::reg_use(*src), O::reg_def(*dst)]
        }
        MInst::VReplace { dst, vec, src, .. } => two_address(&[*vec, *src], &[], *dst),
        MInst::VShuffle {
            dst,
            a,
            b,
            masks,
            tb,
            tmp,
            ..
        } => two_address(&[*a, *b], &[masks[0], masks[1], *tb, *tmp], *dst),
        MInst::VUnarySeq {
            dst, src, temps, ..
        } => two_address(&[*src], temps, *dst),
        MInst::VFMinMax { dst, a, b, t, .. } => two_address(&[*a, *b], &[*t], *dst),
        MInst::VSar64 {
            dst,
            src,
            count,
            m,
            tmp,
        } => match (count, tmp) {
            (Rhs::Reg(c), Some((t, x))) => two_address(&[*src, *c], &[*m, *t, *x], *dst),
            _ => two_address(&[*src], &[*m], *dst),
        },
        MInst::VTest { dst, src, tmp, .. } | MInst::VBitmask { dst, src, tmp, .. } => {
            let mut v = vec![O::reg_use(*src)];
            v.extend(tmp.map(O::reg_temp));
            v.push(O::reg_def(*dst));
            v
        }
        MInst::VMul64 { dst, a, b, t1, t2 } => two_address(&[*a, *b], &[*t1, *t2], *dst),
        MInst::VShift {
            dst,
            src,
            count,
            tmp,
            ..
        } => match (count, tmp) {
            (Rhs::Reg(c), Some((t, x))) => two_address(&[*src, *c], &[*t, *x], *dst),
            _ => two_address(&[*src], &[], *dst),
        },
        MInst::VShift8 {
            dst,
            src,
            count,
            tmp,
            x,
            m,
            z,
            ..
        } => {
            let temps = [*tmp, *x, *m, *z];
            match count {
                Rhs::Reg(c) => two_address(&[*src, *c], &temps, *dst),
                Rhs::Imm(_) => two_address(&[*src], &temps, *dst),
            }
        }
        MInst::VSwizzle {
            dst,
            a,
            b,
            mask,
            tmp,
        } => two_address(&[*a, *b], &[*mask, *tmp], *dst),
        MInst::VNot { dst, src, tmp } => {
            vec![
                O::reg_use(*src),
                O::reg_temp(*tmp),
                O::reg_reuse_def(*dst, 0),
            ]
        }
        MInst::FMovImm { dst, tmp, .. } | MInst::FGlobalGet { dst, tmp, .. } => {
            vec![O::reg_temp(*tmp), O::reg_def(*dst)]
        }
        MInst::FAlu {
            dst, src1, src2, ..
        }
        | MInst::FMinMax {
            dst, src1, src2, ..
        } => vec![
            O::reg_use(*src1),
            O::reg_use(*src2),
            O::reg_reuse_def(*dst, 0),
        ],
        MInst::FUnary { dst, src, .. }
        | MInst::FCvt { dst, src, .. }
        | MInst::Bitcast { dst, src, .. } => vec![O::reg_use(*src), O::reg_def(*dst)],
        MInst::FSign {
            dst,
            src,
            sign,
            t1,
            t2,
            ..
        } => {
            let mut v = vec![O::reg_use(*src)];
            v.extend(sign.map(O::reg_use));
            v.extend([O::reg_temp(*t1), O::reg_temp(*t2), O::reg_def(*dst)]);
            v
        }
        MInst::FCmp { dst, a, b, tmp, .. } => vec![
            O::reg_use(*a),
            O::reg_use(*b),
            O::reg_temp(*tmp),
            O::reg_def(*dst),
        ],
        MInst::FSelect { dst, cond, a, b } => vec![
            O::reg_use(*b),
            O::reg_use(*cond),
            O::reg_use(*a),
            O::reg_reuse_def(*dst, 0),
        ],
        MInst::IntToFloat {
            dst, src, t1, t2, ..
        } => vec![
            O::reg_use(*src),
            O::reg_temp(*t1),
            O::reg_temp(*t2),
            O::reg_def(*dst),
        ],
        MInst::FloatToInt {
            dst,
            src,
            g,
            x1,
            x2,
            ..
        } => vec![
            O::reg_use(*src),
            O::reg_temp(*g),
            O::reg_temp(*x1),
            O::reg_temp(*x2),
            O::reg_def(*dst),
        ],
        MInst::Store { src, addr, .. } => {
            let mut v = vec![O::reg_use(addr.index)];
            if let Rhs::Reg(src) = src {
                v.push(O::reg_use(*src));
            }
            v
        }
        MInst::StoreFrame { src, .. } | MInst::StoreStackResult { src, .. } => {
            vec![O::reg_use(*src)]
        }
        MInst::GlobalSet { src, tmp, .. } => vec![O::reg_use(*src), O::reg_temp(*tmp)],
        MInst::MemoryGrow { dst, delta } => vec![
            O::reg_fixed_use(*delta, preg(6)),
            O::reg_fixed_def(*dst, preg(0)),
        ],
        MInst::Call { uses, defs, .. } => {
            let mut v = fixed_uses(uses);
            v.extend(fixed_defs(defs));
            v
        }
        MInst::HostCall { .. } => vec![],
        // The System V argument registers after vmctx (rdi) and op (rsi).
        MInst::TableSize { dst, .. } => vec![O::reg_def(*dst)],
        MInst::Builtin { args, ret, .. } => args
            .iter()
            .zip([2u8, 1, 8])
            .map(|(v, r)| O::reg_fixed_use(*v, preg(r)))
            .chain(ret.map(|v| O::reg_fixed_def(v, preg(0))))
            .collect(),
        // Both write their result before the last read of `index`: the
        // result is an early def so it never shares the index's register.
        MInst::IndirectTarget {
            index, tmp, dst, ..
        }
        | MInst::FarHeapAddr {
            index, tmp, dst, ..
        } => vec![O::reg_use(*index), O::reg_temp(*tmp), early_def(*dst)],
        MInst::HeapCheck {
            index, tmp, dst, ..
        } => vec![
            O::reg_use(*index),
            early_def(*tmp),
            O::reg_reuse_def(*dst, 0),
        ],
        MInst::CallIndirect {
            callee, uses, defs, ..
        } => {
            let mut v = fixed_uses(uses);
            v.push(O::reg_use(*callee));
            v.extend(fixed_defs(defs));
            v
        }
        MInst::Jmp { .. } | MInst::Trap { .. } | MInst::Throw { .. } | MInst::RestorePinned => {
            vec![]
        }
        MInst::ThrowRef { exn } => vec![O::reg_fixed_use(*exn, preg(6))],
        MInst::ExnLanded { dst } => vec![O::reg_fixed_def(*dst, preg(0))],
        MInst::ExnCatch { exn, dst, .. } => vec![
            O::reg_fixed_use(*exn, preg(6)),
            O::reg_fixed_def(*dst, preg(0)),
        ],
        MInst::Invoke { call, .. } => operands_of(call),
        MInst::FBrif { a, b, .. } => vec![O::reg_use(*a), O::reg_use(*b)],
        MInst::Lea {
            dst, base, index, ..
        } => vec![O::reg_use(*base), O::reg_use(*index), O::reg_def(*dst)],
        MInst::Brif { a, b, .. } => {
            let mut v = vec![O::reg_use(*a)];
            if let Rhs::Reg(b) = b {
                v.push(O::reg_use(*b));
            }
            v
        }
        MInst::BrTable { index, table, .. } => {
            let mut v = vec![O::reg_use(*index)];
            if let Some((t, e)) = table {
                v.extend([O::reg_temp(*t), O::reg_temp(*e)]);
            }
            v
        }
        MInst::Ret { uses } => fixed_uses(uses),
    }
}

impl regalloc2::Function for VCode {
    fn num_insts(&self) -> usize {
        self.insts.len()
    }
    fn num_blocks(&self) -> usize {
        self.block_ranges.len()
    }
    fn entry_block(&self) -> Block {
        Block::new(0)
    }
    fn block_insns(&self, block: Block) -> InstRange {
        let (s, e) = self.block_ranges[block.index()];
        InstRange::new(Inst::new(s as usize), Inst::new(e as usize))
    }
    fn block_succs(&self, block: Block) -> &[Block] {
        &self.succs[block.index()]
    }
    fn block_preds(&self, block: Block) -> &[Block] {
        &self.preds[block.index()]
    }
    fn block_params(&self, block: Block) -> &[VReg] {
        &self.block_params[block.index()]
    }
    fn is_ret(&self, insn: Inst) -> bool {
        matches!(
            self.insts[insn.index()],
            MInst::Ret { .. } | MInst::Trap { .. }
        )
    }
    fn is_branch(&self, insn: Inst) -> bool {
        matches!(
            self.insts[insn.index()],
            MInst::Jmp { .. }
                | MInst::Brif { .. }
                | MInst::FBrif { .. }
                | MInst::BrTable { .. }
                | MInst::Invoke { .. }
        )
    }
    fn branch_blockparams(&self, _block: Block, insn: Inst, _succ_idx: usize) -> &[VReg] {
        match &self.insts[insn.index()] {
            MInst::Jmp { args, .. } => args,
            _ => &[],
        }
    }
    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        &self.operands[insn.index()]
    }
    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.clobbers[insn.index()]
    }
    fn num_vregs(&self) -> usize {
        self.num_vregs
    }
    fn debug_value_labels(&self) -> &[(VReg, Inst, Inst, u32)] {
        &self.debug_labels
    }
    fn spillslot_size(&self, class: RegClass) -> usize {
        if class == RegClass::Float && self.wide_sse_slots {
            2
        } else {
            1
        }
    }
}
