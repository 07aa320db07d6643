//! Emission: allocated VCode → x86-64 bytes (iced-x86's assembler), the
//! trap-site table and the fact table. Facts follow values into registers
//! and spill slots: `holds` says which vregs each location holds at every
//! block entry, and moves carry the fact of what they move.

use std::collections::HashMap;

use iced_x86::code_asm::*;
use iced_x86::{Code, IcedError, Instruction, Register};
use pcc::builtin::{builtin, BuiltinKind};
use pcc::vmctx::VmCtxLayout;
use pcc::{Fact, Gpr, Loc, Point, TrapCode};
use regalloc2::{Allocation, Block, Edit, Function as _, Inst, InstOrEdit, Output, RegClass, VReg};

use crate::holds::{self, alloc_loc, fact_of, reg_loc, Holds};
use crate::layout;
use crate::vcode::*;

const R64: [AsmRegister64; 16] = [
    rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
];
const R32: [AsmRegister32; 16] = [
    eax, ecx, edx, ebx, esp, ebp, esi, edi, r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d,
];
const R16: [AsmRegister16; 16] = [
    ax, cx, dx, bx, sp, bp, si, di, r8w, r9w, r10w, r11w, r12w, r13w, r14w, r15w,
];
const R8: [AsmRegister8; 16] = [
    al, cl, dl, bl, spl, bpl, sil, dil, r8b, r9b, r10b, r11b, r12b, r13b, r14b, r15b,
];

const X: [AsmRegisterXmm; 16] = [
    xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14,
    xmm15,
];

/// `ss` or `sd` form of an SSE instruction by operand size.
macro_rules! sse {
    ($asm:expr, $size:expr, $ss:ident, $sd:ident, $($arg:expr),*) => {
        match $size {
            Size::S32 => $asm.$ss($($arg),*)?,
            Size::S64 => $asm.$sd($($arg),*)?,
        }
    };
}

fn ucomis(
    asm: &mut CodeAssembler,
    size: Size,
    a: AsmRegisterXmm,
    b: AsmRegisterXmm,
) -> Result<(), IcedError> {
    sse!(asm, size, ucomiss, ucomisd, a, b);
    Ok(())
}

/// General register → SSE register, same width (`movd`/`movq`).
fn gpr_to_xmm(
    asm: &mut CodeAssembler,
    size: Size,
    x: AsmRegisterXmm,
    g: usize,
) -> Result<(), IcedError> {
    match size {
        Size::S32 => asm.movd(x, R32[g]),
        Size::S64 => asm.movq(x, R64[g]),
    }
}

fn xmm_to_gpr(
    asm: &mut CodeAssembler,
    size: Size,
    g: usize,
    x: AsmRegisterXmm,
) -> Result<(), IcedError> {
    match size {
        Size::S32 => asm.movd(R32[g], x),
        Size::S64 => asm.movq(R64[g], x),
    }
}

/// `x = value` (as an f32 or f64 by `size`), through general register `g`.
fn float_const(
    asm: &mut CodeAssembler,
    size: Size,
    x: AsmRegisterXmm,
    g: usize,
    value: f64,
) -> Result<(), IcedError> {
    match size {
        Size::S32 => asm.mov(R32[g], (value as f32).to_bits())?,
        Size::S64 => asm.mov(R64[g], value.to_bits())?,
    }
    gpr_to_xmm(asm, size, x, g)
}

/// Truncating conversion of `x` (an f32/f64 by `from`) into a 32/64-bit `d`.
fn cvtt(
    asm: &mut CodeAssembler,
    from: Size,
    to: Size,
    d: usize,
    x: AsmRegisterXmm,
) -> Result<(), IcedError> {
    match (from, to) {
        (Size::S32, Size::S32) => asm.cvttss2si(R32[d], x),
        (Size::S32, Size::S64) => asm.cvttss2si(R64[d], x),
        (Size::S64, Size::S32) => asm.cvttsd2si(R32[d], x),
        (Size::S64, Size::S64) => asm.cvttsd2si(R64[d], x),
    }
}

/// Signed conversion of the 64-bit `g` into `x` (an f32/f64 by `to`).
fn cvtsi(
    asm: &mut CodeAssembler,
    to: Size,
    x: AsmRegisterXmm,
    g: AsmRegister64,
) -> Result<(), IcedError> {
    sse!(asm, to, cvtsi2ss, cvtsi2sd, x, g);
    Ok(())
}

/// A fact recorded against an instruction index, resolved to an offset
/// once the assembler has laid the code out.
pub struct PendingFact {
    pub inst_index: usize,
    pub point: Point,
    pub loc: Loc,
    pub fact: Fact,
}

/// Everything one function contributes to the module's code.
pub struct FuncEmitter<'a> {
    pub asm: &'a mut CodeAssembler,
    pub func_labels: &'a [CodeLabel],
    pub facts: Vec<PendingFact>,
    /// (instruction index of a `ud2`, code).
    pub traps: Vec<(usize, TrapCode)>,
    /// (instruction index of a call, the label of its exception's landing):
    /// the artifact's exception sites.
    pub exn_sites: Vec<(usize, CodeLabel)>,
    /// The same with the landing's block index, until its label is placed.
    exn_blocks: Vec<(usize, usize)>,
    /// (instruction index of a jump-table entry, its target block's label):
    /// `patch_jump_entries` writes each entry's rel32 after assembly.
    pub jump_entries: Vec<(usize, CodeLabel)>,
    /// The same with the target's block index, until its label is placed.
    entry_blocks: Vec<(usize, usize)>,
    trap_labels: HashMap<TrapCode, CodeLabel>,
    vcode: &'a VCode,
    out: &'a Output,
    /// Which vregs each location holds right now (for move facts).
    holds: Holds,
    spill_base: u32,
    vmctx_slot: u32,
    /// The callee-saved registers this function writes, each with the
    /// frame slot `[rsp + k]` it is saved in from the prologue to every `ret`.
    saved: Vec<(u8, u32)>,
    frame: u32,
    seed_bug: bool,
    /// Where a branch to each block really goes (see `layout`).
    resolve: Vec<Block>,
    /// The block emitted after the current one: a jump there falls through.
    next: Option<Block>,
    /// Instruction index where the current block began, and whether it may
    /// end up empty (only the entry: no label, no claims of its own).
    block_start: usize,
    may_be_empty: bool,
}

fn setcc(asm: &mut CodeAssembler, cond: Cond, r: AsmRegister8) -> Result<(), IcedError> {
    let row = cond_row(cond);
    asm.add_instruction(Instruction::with1(row.setcc, Register::from(r))?)
}

/// The lane width and shift that make `bits` from all ones: every 16-,
/// 32- or 64-bit lane the same run of ones shifted left (`left`) or right
/// by `k` (the sign masks, `0x7fff_ffff`, `0x0001` lanes, ...).
fn ones_shifted(bits: [u64; 2]) -> Option<(u32, bool, u32)> {
    if bits[0] != bits[1] {
        return None;
    }
    [16u32, 32, 64].into_iter().find_map(|w| {
        let ones = u64::MAX >> (64 - w);
        let lane = bits[0] & ones;
        let repeated = (0..64 / w).fold(0u64, |acc, k| acc | lane << (w * k));
        if repeated != bits[0] {
            return None;
        }
        (1..w).find_map(|k| {
            if lane == (ones << k) & ones {
                Some((w, true, k))
            } else if lane == ones >> k {
                Some((w, false, k))
            } else {
                None
            }
        })
    })
}

/// `d = bits` (low half first) in as few instructions as the pattern
/// allows: `pxor` for zero, `pcmpeqd` for all ones, all ones shifted for
/// a run of ones in each 16-, 32- or 64-bit lane (`pabsb` of all ones for
/// 0x01 bytes), else the low half
/// through the general register `t` (`movq` clears the high half), then
/// the high half: copied from the low one (`pshufd 0x44`) when equal,
/// inserted (`pinsrq`) when not zero.
fn vconst(
    asm: &mut CodeAssembler,
    d: AsmRegisterXmm,
    t: usize,
    bits: [u64; 2],
) -> Result<(), IcedError> {
    if bits == [0x0101_0101_0101_0101; 2] {
        // |-1| in every byte.
        asm.pcmpeqd(d, d)?;
        return asm.pabsb(d, d);
    }
    if let Some((w, left, k)) = ones_shifted(bits) {
        asm.pcmpeqd(d, d)?;
        let k = k as i32;
        return match (w, left) {
            (16, true) => asm.psllw(d, k),
            (16, false) => asm.psrlw(d, k),
            (32, true) => asm.pslld(d, k),
            (32, false) => asm.psrld(d, k),
            (64, true) => asm.psllq(d, k),
            _ => asm.psrlq(d, k),
        };
    }
    let mov = |asm: &mut CodeAssembler, v: u64| {
        if v <= u32::MAX as u64 {
            asm.mov(R32[t], v as u32)
        } else {
            asm.mov(R64[t], v)
        }
    };
    match bits {
        [0, 0] => asm.pxor(d, d),
        [u64::MAX, u64::MAX] => asm.pcmpeqd(d, d),
        [lo, hi] => {
            mov(asm, lo)?;
            asm.movq(d, R64[t])?;
            if hi == lo {
                asm.pshufd(d, d, 0x44)
            } else if hi != 0 {
                mov(asm, hi)?;
                asm.pinsrq(d, R64[t], 1)
            } else {
                Ok(())
            }
        }
    }
}

/// Each v128 unary operator: the `pshufd` that moves lanes first, if any
/// (0xee: the high half down), the instruction, and its immediate (a
/// rounding mode, or the count of a shift of the moved lanes in place).
#[rustfmt::skip]
const VUNARY: &[(VUnOp, Option<i32>, Code, Option<i32>)] = &[
    (VUnOp::I16x8ExtendLowI8x16S, None, Code::Pmovsxbw_xmm_xmmm64, None),
    (VUnOp::I16x8ExtendLowI8x16U, None, Code::Pmovzxbw_xmm_xmmm64, None),
    (VUnOp::I16x8ExtendHighI8x16S, Some(0xee), Code::Pmovsxbw_xmm_xmmm64, None),
    (VUnOp::I16x8ExtendHighI8x16U, Some(0xee), Code::Pmovzxbw_xmm_xmmm64, None),
    (VUnOp::I32x4ExtendLowI16x8S, None, Code::Pmovsxwd_xmm_xmmm64, None),
    (VUnOp::I32x4ExtendLowI16x8U, None, Code::Pmovzxwd_xmm_xmmm64, None),
    (VUnOp::I32x4ExtendHighI16x8S, Some(0xee), Code::Pmovsxwd_xmm_xmmm64, None),
    (VUnOp::I32x4ExtendHighI16x8U, Some(0xee), Code::Pmovzxwd_xmm_xmmm64, None),
    (VUnOp::I64x2ExtendLowI32x4S, None, Code::Pmovsxdq_xmm_xmmm64, None),
    (VUnOp::I64x2ExtendLowI32x4U, None, Code::Pmovzxdq_xmm_xmmm64, None),
    (VUnOp::I64x2ExtendHighI32x4S, Some(0xee), Code::Pmovsxdq_xmm_xmmm64, None),
    (VUnOp::I64x2ExtendHighI32x4U, Some(0xee), Code::Pmovzxdq_xmm_xmmm64, None),
    (VUnOp::I8x16Abs, None, Code::Pabsb_xmm_xmmm128, None),
    (VUnOp::I16x8Abs, None, Code::Pabsw_xmm_xmmm128, None),
    (VUnOp::I32x4Abs, None, Code::Pabsd_xmm_xmmm128, None),
    (VUnOp::F32x4Nearest, None, Code::Roundps_xmm_xmmm128_imm8, Some(0)),
    (VUnOp::F32x4Floor, None, Code::Roundps_xmm_xmmm128_imm8, Some(1)),
    (VUnOp::F32x4Ceil, None, Code::Roundps_xmm_xmmm128_imm8, Some(2)),
    (VUnOp::F32x4Trunc, None, Code::Roundps_xmm_xmmm128_imm8, Some(3)),
    (VUnOp::F64x2Nearest, None, Code::Roundpd_xmm_xmmm128_imm8, Some(0)),
    (VUnOp::F64x2Floor, None, Code::Roundpd_xmm_xmmm128_imm8, Some(1)),
    (VUnOp::F64x2Ceil, None, Code::Roundpd_xmm_xmmm128_imm8, Some(2)),
    (VUnOp::F64x2Trunc, None, Code::Roundpd_xmm_xmmm128_imm8, Some(3)),
    (VUnOp::F32x4Sqrt, None, Code::Sqrtps_xmm_xmmm128, None),
    (VUnOp::F64x2Sqrt, None, Code::Sqrtpd_xmm_xmmm128, None),
    (VUnOp::F32x4ConvertI32x4S, None, Code::Cvtdq2ps_xmm_xmmm128, None),
    (VUnOp::F64x2ConvertLowI32x4S, None, Code::Cvtdq2pd_xmm_xmmm64, None),
    (VUnOp::F32x4DemoteF64x2Zero, None, Code::Cvtpd2ps_xmm_xmmm128, None),
    (VUnOp::F64x2PromoteLowF32x4, None, Code::Cvtps2pd_xmm_xmmm64, None),
    // Each 64-bit lane's high dword in both of its dwords, then its sign.
    (VUnOp::I64x2SignMask, Some(0xf5), Code::Psrad_xmm_imm8, Some(31)),
    (VUnOp::I32x4TruncF64x2ZeroRaw, None, Code::Cvttpd2dq_xmm_xmmm128, None),
    (VUnOp::I64x2SpreadLowI32, None, Code::Pshufd_xmm_xmmm128_imm8, Some(0x50)),
    (VUnOp::I64x2SpreadHighI32, None, Code::Pshufd_xmm_xmmm128_imm8, Some(0xfa)),
];

/// Each lane shift's instructions: by an immediate, by an xmm count.
#[rustfmt::skip]
const VSHIFT: &[(Lanes, VShiftKind, Code, Code)] = &[
    (Lanes::I16x8, VShiftKind::Shl, Code::Psllw_xmm_imm8, Code::Psllw_xmm_xmmm128),
    (Lanes::I32x4, VShiftKind::Shl, Code::Pslld_xmm_imm8, Code::Pslld_xmm_xmmm128),
    (Lanes::I64x2, VShiftKind::Shl, Code::Psllq_xmm_imm8, Code::Psllq_xmm_xmmm128),
    (Lanes::I16x8, VShiftKind::ShrU, Code::Psrlw_xmm_imm8, Code::Psrlw_xmm_xmmm128),
    (Lanes::I32x4, VShiftKind::ShrU, Code::Psrld_xmm_imm8, Code::Psrld_xmm_xmmm128),
    (Lanes::I64x2, VShiftKind::ShrU, Code::Psrlq_xmm_imm8, Code::Psrlq_xmm_xmmm128),
    (Lanes::I16x8, VShiftKind::ShrS, Code::Psraw_xmm_imm8, Code::Psraw_xmm_xmmm128),
    (Lanes::I32x4, VShiftKind::ShrS, Code::Psrad_xmm_imm8, Code::Psrad_xmm_xmmm128),
];

/// Float lane compares: `cmpps`/`cmppd` with its predicate (0 equal, 1
/// less, 2 less or equal, all false on NaN; 4 not equal, true on NaN).
#[rustfmt::skip]
const VCMP: &[(VBinOp, Code, i32)] = &[
    (VBinOp::F32x4Eq, Code::Cmpps_xmm_xmmm128_imm8, 0),
    (VBinOp::F32x4Ne, Code::Cmpps_xmm_xmmm128_imm8, 4),
    (VBinOp::F32x4Lt, Code::Cmpps_xmm_xmmm128_imm8, 1),
    (VBinOp::F32x4Le, Code::Cmpps_xmm_xmmm128_imm8, 2),
    (VBinOp::F32x4Gt, Code::Cmpps_xmm_xmmm128_imm8, 1),
    (VBinOp::F32x4Ge, Code::Cmpps_xmm_xmmm128_imm8, 2),
    (VBinOp::F64x2Eq, Code::Cmppd_xmm_xmmm128_imm8, 0),
    (VBinOp::F64x2Ne, Code::Cmppd_xmm_xmmm128_imm8, 4),
    (VBinOp::F64x2Lt, Code::Cmppd_xmm_xmmm128_imm8, 1),
    (VBinOp::F64x2Le, Code::Cmppd_xmm_xmmm128_imm8, 2),
    (VBinOp::F64x2Gt, Code::Cmppd_xmm_xmmm128_imm8, 1),
    (VBinOp::F64x2Ge, Code::Cmppd_xmm_xmmm128_imm8, 2),
];

/// Each v128 binary operator's instruction, two-address `op xmm, xmm`.
#[rustfmt::skip]
const VALU: &[(VBinOp, Code)] = &[
    (VBinOp::And, Code::Pand_xmm_xmmm128),
    (VBinOp::Or, Code::Por_xmm_xmmm128),
    (VBinOp::Xor, Code::Pxor_xmm_xmmm128),
    (VBinOp::AndNot, Code::Pandn_xmm_xmmm128),
    (VBinOp::I8x16Add, Code::Paddb_xmm_xmmm128),
    (VBinOp::I16x8Add, Code::Paddw_xmm_xmmm128),
    (VBinOp::I32x4Add, Code::Paddd_xmm_xmmm128),
    (VBinOp::I64x2Add, Code::Paddq_xmm_xmmm128),
    (VBinOp::I8x16Sub, Code::Psubb_xmm_xmmm128),
    (VBinOp::I16x8Sub, Code::Psubw_xmm_xmmm128),
    (VBinOp::I32x4Sub, Code::Psubd_xmm_xmmm128),
    (VBinOp::I64x2Sub, Code::Psubq_xmm_xmmm128),
    (VBinOp::I8x16AddSatS, Code::Paddsb_xmm_xmmm128),
    (VBinOp::I8x16AddSatU, Code::Paddusb_xmm_xmmm128),
    (VBinOp::I8x16SubSatS, Code::Psubsb_xmm_xmmm128),
    (VBinOp::I8x16SubSatU, Code::Psubusb_xmm_xmmm128),
    (VBinOp::I8x16MinS, Code::Pminsb_xmm_xmmm128),
    (VBinOp::I8x16MinU, Code::Pminub_xmm_xmmm128),
    (VBinOp::I8x16MaxS, Code::Pmaxsb_xmm_xmmm128),
    (VBinOp::I8x16MaxU, Code::Pmaxub_xmm_xmmm128),
    (VBinOp::I8x16AvgrU, Code::Pavgb_xmm_xmmm128),
    (VBinOp::I8x16Eq, Code::Pcmpeqb_xmm_xmmm128),
    (VBinOp::I8x16GtS, Code::Pcmpgtb_xmm_xmmm128),
    (VBinOp::I8x16LtS, Code::Pcmpgtb_xmm_xmmm128),
    (VBinOp::I8x16NarrowI16x8S, Code::Packsswb_xmm_xmmm128),
    (VBinOp::I8x16NarrowI16x8U, Code::Packuswb_xmm_xmmm128),
    (VBinOp::I16x8AddSatS, Code::Paddsw_xmm_xmmm128),
    (VBinOp::I16x8AddSatU, Code::Paddusw_xmm_xmmm128),
    (VBinOp::I16x8SubSatS, Code::Psubsw_xmm_xmmm128),
    (VBinOp::I16x8SubSatU, Code::Psubusw_xmm_xmmm128),
    (VBinOp::I16x8Mul, Code::Pmullw_xmm_xmmm128),
    (VBinOp::I16x8MinS, Code::Pminsw_xmm_xmmm128),
    (VBinOp::I16x8MinU, Code::Pminuw_xmm_xmmm128),
    (VBinOp::I16x8MaxS, Code::Pmaxsw_xmm_xmmm128),
    (VBinOp::I16x8MaxU, Code::Pmaxuw_xmm_xmmm128),
    (VBinOp::I16x8AvgrU, Code::Pavgw_xmm_xmmm128),
    (VBinOp::I16x8Eq, Code::Pcmpeqw_xmm_xmmm128),
    (VBinOp::I16x8GtS, Code::Pcmpgtw_xmm_xmmm128),
    (VBinOp::I16x8LtS, Code::Pcmpgtw_xmm_xmmm128),
    (VBinOp::I16x8NarrowI32x4S, Code::Packssdw_xmm_xmmm128),
    (VBinOp::I16x8NarrowI32x4U, Code::Packusdw_xmm_xmmm128),
    (VBinOp::I32x4Mul, Code::Pmulld_xmm_xmmm128),
    (VBinOp::I32x4MinS, Code::Pminsd_xmm_xmmm128),
    (VBinOp::I32x4MinU, Code::Pminud_xmm_xmmm128),
    (VBinOp::I32x4MaxS, Code::Pmaxsd_xmm_xmmm128),
    (VBinOp::I32x4MaxU, Code::Pmaxud_xmm_xmmm128),
    (VBinOp::I32x4Eq, Code::Pcmpeqd_xmm_xmmm128),
    (VBinOp::I32x4GtS, Code::Pcmpgtd_xmm_xmmm128),
    (VBinOp::I32x4LtS, Code::Pcmpgtd_xmm_xmmm128),
    (VBinOp::I32x4DotI16x8S, Code::Pmaddwd_xmm_xmmm128),
    (VBinOp::I64x2Eq, Code::Pcmpeqq_xmm_xmmm128),
    (VBinOp::F32x4Add, Code::Addps_xmm_xmmm128),
    (VBinOp::F32x4Sub, Code::Subps_xmm_xmmm128),
    (VBinOp::F32x4Mul, Code::Mulps_xmm_xmmm128),
    (VBinOp::F32x4Div, Code::Divps_xmm_xmmm128),
    (VBinOp::F64x2Add, Code::Addpd_xmm_xmmm128),
    (VBinOp::F64x2Sub, Code::Subpd_xmm_xmmm128),
    (VBinOp::F64x2Mul, Code::Mulpd_xmm_xmmm128),
    (VBinOp::F64x2Div, Code::Divpd_xmm_xmmm128),
    (VBinOp::F32x4PMin, Code::Minps_xmm_xmmm128),
    (VBinOp::F32x4PMax, Code::Maxps_xmm_xmmm128),
    (VBinOp::F64x2PMin, Code::Minpd_xmm_xmmm128),
    (VBinOp::F64x2PMax, Code::Maxpd_xmm_xmmm128),
    (VBinOp::I16x8MulAddU8S8, Code::Pmaddubsw_xmm_xmmm128),
    (VBinOp::I16x8MulHighS, Code::Pmulhw_xmm_xmmm128),
    (VBinOp::I16x8MulHighU, Code::Pmulhuw_xmm_xmmm128),
    (VBinOp::I16x8Q15MulrRaw, Code::Pmulhrsw_xmm_xmmm128),
    (VBinOp::InterleaveLow16, Code::Punpcklwd_xmm_xmmm128),
    (VBinOp::InterleaveHigh16, Code::Punpckhwd_xmm_xmmm128),
    (VBinOp::InterleaveLow32, Code::Punpckldq_xmm_xmmm128),
    (VBinOp::I64x2MulEvenS, Code::Pmuldq_xmm_xmmm128),
    (VBinOp::I64x2MulEvenU, Code::Pmuludq_xmm_xmmm128),
];

/// A condition's instruction forms: one row per condition.
struct CondRow {
    cond: Cond,
    setcc: Code,
    cmov32: Code,
    cmov64: Code,
}

#[rustfmt::skip]
const COND_ROWS: [CondRow; 10] = [
    CondRow { cond: Cond::E, setcc: Code::Sete_rm8, cmov32: Code::Cmove_r32_rm32, cmov64: Code::Cmove_r64_rm64 },
    CondRow { cond: Cond::Ne, setcc: Code::Setne_rm8, cmov32: Code::Cmovne_r32_rm32, cmov64: Code::Cmovne_r64_rm64 },
    CondRow { cond: Cond::L, setcc: Code::Setl_rm8, cmov32: Code::Cmovl_r32_rm32, cmov64: Code::Cmovl_r64_rm64 },
    CondRow { cond: Cond::B, setcc: Code::Setb_rm8, cmov32: Code::Cmovb_r32_rm32, cmov64: Code::Cmovb_r64_rm64 },
    CondRow { cond: Cond::G, setcc: Code::Setg_rm8, cmov32: Code::Cmovg_r32_rm32, cmov64: Code::Cmovg_r64_rm64 },
    CondRow { cond: Cond::A, setcc: Code::Seta_rm8, cmov32: Code::Cmova_r32_rm32, cmov64: Code::Cmova_r64_rm64 },
    CondRow { cond: Cond::Le, setcc: Code::Setle_rm8, cmov32: Code::Cmovle_r32_rm32, cmov64: Code::Cmovle_r64_rm64 },
    CondRow { cond: Cond::Be, setcc: Code::Setbe_rm8, cmov32: Code::Cmovbe_r32_rm32, cmov64: Code::Cmovbe_r64_rm64 },
    CondRow { cond: Cond::Ge, setcc: Code::Setge_rm8, cmov32: Code::Cmovge_r32_rm32, cmov64: Code::Cmovge_r64_rm64 },
    CondRow { cond: Cond::Ae, setcc: Code::Setae_rm8, cmov32: Code::Cmovae_r32_rm32, cmov64: Code::Cmovae_r64_rm64 },
];

fn cond_row(cond: Cond) -> &'static CondRow {
    COND_ROWS
        .iter()
        .find(|r| r.cond == cond)
        .expect("a row for every condition")
}

/// `br_table`s with at least this many targets dispatch through a jump
/// table; fewer compare and branch (no temporaries, no indirect jump).
pub const JUMP_TABLE_MIN: usize = 4;

/// A jump-table entry before patching: `jmp rel32` (0 for now), then int3
/// padding to the 8-byte entry size the dispatch scales the index by.
const JUMP_ENTRY: [u8; 8] = [0xe9, 0, 0, 0, 0, 0xcc, 0xcc, 0xcc];

/// Write each jump-table entry's rel32: `(entry offset, target offset)`.
pub fn patch_jump_entries(text: &mut [u8], entries: &[(u32, u32)]) {
    for &(at, target) in entries {
        let rel = target.wrapping_sub(at + 5) as i32;
        text[at as usize + 1..at as usize + 5].copy_from_slice(&rel.to_le_bytes());
    }
}

/// `cmov<cond> d, s` at `size` (32 bits: d is written, zero-extended,
/// either way).
fn cmov(
    asm: &mut CodeAssembler,
    size: Size,
    cond: Cond,
    d: usize,
    s: usize,
) -> Result<(), IcedError> {
    let row = cond_row(cond);
    let insn = match size {
        Size::S32 => Instruction::with2(row.cmov32, Register::from(R32[d]), Register::from(R32[s])),
        Size::S64 => Instruction::with2(row.cmov64, Register::from(R64[d]), Register::from(R64[s])),
    };
    asm.add_instruction(insn?)
}

/// `j<cond> target` through the assembler's own methods: only they bind a
/// label (and choose the short form where it fits).
fn jcc(asm: &mut CodeAssembler, cond: Cond, target: CodeLabel) -> Result<(), IcedError> {
    match cond {
        Cond::E => asm.je(target),
        Cond::Ne => asm.jne(target),
        Cond::L => asm.jl(target),
        Cond::B => asm.jb(target),
        Cond::G => asm.jg(target),
        Cond::A => asm.ja(target),
        Cond::Le => asm.jle(target),
        Cond::Be => asm.jbe(target),
        Cond::Ge => asm.jge(target),
        Cond::Ae => asm.jae(target),
    }
}

/// `rdx:rax / rcx` (`edx:eax / ecx` at 32 bits), the dividend extended
/// first: sign-extended for `idiv`, zero for `div`.
fn divide(asm: &mut CodeAssembler, signed: bool, wide: bool) -> Result<(), IcedError> {
    match (signed, wide) {
        (true, true) => {
            asm.cqo()?;
            asm.idiv(rcx)
        }
        (true, false) => {
            asm.cdq()?;
            asm.idiv(ecx)
        }
        (false, true) => {
            asm.xor(edx, edx)?;
            asm.div(rcx)
        }
        (false, false) => {
            asm.xor(edx, edx)?;
            asm.div(ecx)
        }
    }
}

/// `j<cond> then; jmp else`, leaving out the jump to the block laid out next.
fn branch(
    asm: &mut CodeAssembler,
    cond: Cond,
    (t, e): (Block, Block),
    falls_to: Option<Block>,
    labels: &[CodeLabel],
) -> Result<(), IcedError> {
    if Some(e) == falls_to {
        jcc(asm, cond, labels[t.index()])
    } else if Some(t) == falls_to {
        jcc(asm, cond.inverse(), labels[e.index()])
    } else {
        jcc(asm, cond, labels[t.index()])?;
        asm.jmp(labels[e.index()])
    }
}

/// `cmp a, b` at `size`; against 0 as `test a, a` (same flags, shorter).
fn compare(
    asm: &mut CodeAssembler,
    size: Size,
    a: usize,
    b: Rhs,
    b_reg: usize,
) -> Result<(), IcedError> {
    match (size, b) {
        (Size::S32, Rhs::Reg(_)) => asm.cmp(R32[a], R32[b_reg]),
        (Size::S64, Rhs::Reg(_)) => asm.cmp(R64[a], R64[b_reg]),
        (Size::S32, Rhs::Imm(0)) => asm.test(R32[a], R32[a]),
        (Size::S64, Rhs::Imm(0)) => asm.test(R64[a], R64[a]),
        (Size::S32, Rhs::Imm(k)) => asm.cmp(R32[a], k),
        (Size::S64, Rhs::Imm(k)) => asm.cmp(R64[a], k),
    }
}

/// `d = s op k`: add/sub in place when `d` is `s`, else as `lea d, [s +
/// k]` (which leaves `s` intact); `imul d, s, k`; the rest two-address.
fn alu_imm(
    asm: &mut CodeAssembler,
    op: AluOp,
    size: Size,
    d: usize,
    s: usize,
    k: i32,
) -> Result<(), IcedError> {
    match (op, size) {
        (AluOp::Add, Size::S32) if d == s => asm.add(R32[d], k),
        (AluOp::Add, Size::S64) if d == s => asm.add(R64[d], k),
        (AluOp::Sub, Size::S32) if d == s => asm.sub(R32[d], k),
        (AluOp::Sub, Size::S64) if d == s => asm.sub(R64[d], k),
        // A 32-bit lea keeps the low half of the 64-bit sum: the i32 sum,
        // whatever s's upper half holds (so -i32::MIN wrapping to itself is
        // right). Lowering never folds an i64 k whose negation doesn't fit.
        (AluOp::Add, Size::S32) => asm.lea(R32[d], ptr(R64[s] + k)),
        (AluOp::Add, Size::S64) => asm.lea(R64[d], ptr(R64[s] + k)),
        (AluOp::Sub, Size::S32) => asm.lea(R32[d], ptr(R64[s] + k.wrapping_neg())),
        (AluOp::Sub, Size::S64) => asm.lea(R64[d], ptr(R64[s] + k.wrapping_neg())),
        (AluOp::Imul, Size::S32) => asm.imul_3(R32[d], R32[s], k),
        (AluOp::Imul, Size::S64) => asm.imul_3(R64[d], R64[s], k),
        (AluOp::And, Size::S32) => asm.and(R32[d], k),
        (AluOp::And, Size::S64) => asm.and(R64[d], k),
        (AluOp::Or, Size::S32) => asm.or(R32[d], k),
        (AluOp::Or, Size::S64) => asm.or(R64[d], k),
        (AluOp::Xor, Size::S32) => asm.xor(R32[d], k),
        (AluOp::Xor, Size::S64) => asm.xor(R64[d], k),
    }
}

impl<'a> FuncEmitter<'a> {
    pub fn new(
        asm: &'a mut CodeAssembler,
        func_labels: &'a [CodeLabel],
        vcode: &'a VCode,
        out: &'a Output,
        seed_bug: bool,
    ) -> Self {
        // Frame, from rsp up: outgoing call area, the vmctx save slot, spills.
        let vmctx_slot = vcode.call_area.next_multiple_of(8);
        let spill_base = vmctx_slot + if vcode.vmctx_slot { 8 } else { 0 };
        let save_base = spill_base + 8 * out.num_spillslots as u32;
        // Exceptions land with the callee-saved registers as the abandoned
        // frames left them: a function with landings restores all of them.
        let saved: Vec<(u8, u32)> = pcc::vmctx::CALLEE_SAVED_GPRS
            .iter()
            .filter(|r| {
                let p = preg(r.0);
                vcode.landings
                    || out.allocs.iter().any(|a| a.as_reg() == Some(p))
                    || out.edits.iter().any(|(_, Edit::Move { from, to })| {
                        from.as_reg() == Some(p) || to.as_reg() == Some(p)
                    })
            })
            .enumerate()
            .map(|(k, r)| (r.0, save_base + 8 * k as u32))
            .collect();
        let frame = (save_base + 8 * saved.len() as u32).next_multiple_of(16);
        FuncEmitter {
            asm,
            func_labels,
            facts: vec![],
            traps: vec![],
            exn_sites: vec![],
            exn_blocks: vec![],
            jump_entries: vec![],
            entry_blocks: vec![],
            trap_labels: HashMap::new(),
            vcode,
            out,
            holds: Holds::default(),
            spill_base,
            vmctx_slot,
            saved,
            frame,
            seed_bug,
            resolve: vec![],
            next: None,
            block_start: 0,
            may_be_empty: false,
        }
    }

    fn idx(&self) -> usize {
        self.asm.instructions().len()
    }

    fn loc(&self, a: Allocation) -> Loc {
        alloc_loc(a, self.spill_base)
    }

    fn trap_label(&mut self, code: TrapCode) -> CodeLabel {
        if let Some(l) = self.trap_labels.get(&code) {
            return *l;
        }
        let l = self.asm.create_label();
        self.trap_labels.insert(code, l);
        l
    }

    /// Record that `loc` now holds `v` and claim its fact after the
    /// instruction just emitted.
    fn defined(&mut self, loc: Loc, v: VReg) {
        self.holds.define(loc, v);
        self.claim_after(loc);
    }

    /// Claim, after the instruction just emitted, what `loc` holds.
    fn claim_after(&mut self, loc: Loc) {
        if let Some(fact) = fact_of(self.vcode, self.holds.get(&loc)) {
            self.facts.push(PendingFact {
                inst_index: self.idx() - 1,
                point: Point::After,
                loc,
                fact,
            });
        }
    }

    pub fn emit_function(
        &mut self,
        label: &mut CodeLabel,
        params_i32: &[bool],
        params_class: &[pcc::vmctx::ValClass],
    ) -> Result<(), IcedError> {
        let f = self.vcode;
        self.asm.set_label(label)?;
        // Entry claims: the pinned registers, and i32 parameters zero-extended
        // (the caller's 32-bit writes; the validator checks every call site).
        let start = self.idx();
        self.facts.push(PendingFact {
            inst_index: start,
            point: Point::Before,
            loc: Loc::Gpr(Gpr::R14),
            fact: Fact::VmCtx,
        });
        self.facts.push(PendingFact {
            inst_index: start,
            point: Point::Before,
            loc: Loc::Gpr(Gpr::R15),
            fact: Fact::HeapBase,
        });
        let locs = pcc::vmctx::arg_locations(params_class.iter().copied());
        for (&is32, loc) in params_i32.iter().zip(locs) {
            if let (true, pcc::vmctx::ArgLoc::Gpr(r)) = (is32, loc) {
                self.facts.push(PendingFact {
                    inst_index: start,
                    point: Point::Before,
                    loc: Loc::Gpr(r),
                    fact: Fact::ZEXT32,
                });
            }
        }
        self.asm.push(rbp)?;
        self.asm.mov(rbp, rsp)?;
        if self.frame > 0 {
            self.asm.sub(rsp, self.frame as i32)?;
        }
        self.asm
            .cmp(rsp, qword_ptr(r14 + VmCtxLayout::STACK_LIMIT as i32))?;
        let so = self.trap_label(TrapCode::StackOverflow);
        self.asm.jb(so)?;
        for &(r, k) in &self.saved {
            self.asm.mov(qword_ptr(rsp + k), R64[r as usize])?;
        }
        if f.landings {
            // Where a landing finds this instance's vmctx again.
            self.asm.mov(qword_ptr(rsp + self.vmctx_slot as i32), r14)?;
        }

        let mut block_labels: Vec<CodeLabel> = (0..f.num_blocks())
            .map(|_| self.asm.create_label())
            .collect();
        let live = holds::live_ins(f);
        let block_starts = holds::block_entries(f, self.out, self.spill_base, &live);
        let layout = layout::compute(f, self.out);
        // A threaded block's label is its target's.
        for b in 0..f.num_blocks() {
            block_labels[b] = block_labels[layout.resolve[b].index()];
        }
        self.resolve = layout.resolve;
        for (k, &block) in layout.order.iter().enumerate() {
            let b = block.index();
            self.next = layout.order.get(k + 1).copied();
            self.block_start = self.idx();
            self.may_be_empty = b == 0;
            if b > 0 {
                self.asm.set_label(&mut block_labels[b])?;
            }
            // Live values only (block_entries keeps no others): what is
            // claimed here is all that is known after.
            self.holds = block_starts[b].clone();
            let at = self.idx();
            let claims: Vec<(Loc, Fact)> = self
                .holds
                .by_loc()
                .filter_map(|(l, s)| fact_of(f, s).map(|fact| (l, fact)))
                .collect();
            if f.landings && b > 0 {
                // The slot a landing reloads r14 from, written once by the
                // prologue: a loop header (or a landing before its call)
                // starts from claims, so it says so.
                self.facts.push(PendingFact {
                    inst_index: at,
                    point: Point::Before,
                    loc: Loc::Stack(self.vmctx_slot),
                    fact: Fact::VmCtx,
                });
            }
            for (loc, fact) in claims {
                self.facts.push(PendingFact {
                    inst_index: at,
                    point: Point::Before,
                    loc,
                    fact,
                });
            }
            for item in self.out.block_insts_and_edits(f, block) {
                match item {
                    InstOrEdit::Edit(Edit::Move { from, to }) => self.emit_move(*from, *to)?,
                    InstOrEdit::Inst(inst) => self.emit_inst(inst, &block_labels)?,
                }
            }
        }
        self.exn_sites = self
            .exn_blocks
            .drain(..)
            .map(|(call, b)| (call, block_labels[b]))
            .collect();
        self.jump_entries = self
            .entry_blocks
            .drain(..)
            // The copy of the label that was placed: a threaded block's
            // entry is its target's.
            .map(|(at, b)| (at, block_labels[self.resolve[b].index()]))
            .collect();
        let mut traps: Vec<(TrapCode, CodeLabel)> =
            self.trap_labels.iter().map(|(c, l)| (*c, *l)).collect();
        traps.sort_by_key(|(c, _)| *c as u32);
        for (code, mut l) in traps {
            self.asm.set_label(&mut l)?;
            self.traps.push((self.idx(), code));
            self.asm.ud2()?;
        }
        Ok(())
    }

    fn slot_mem(&self, loc: Loc) -> AsmMemoryOperand {
        match loc {
            Loc::Stack(k) => qword_ptr(rsp + k as i32),
            _ => unreachable!("slot_mem on a register"),
        }
    }

    fn emit_move(&mut self, from: Allocation, to: Allocation) -> Result<(), IcedError> {
        let (src, dst) = (self.loc(from), self.loc(to));
        match (src, dst) {
            (Loc::Gpr(s), Loc::Gpr(d)) => self.asm.mov(R64[d.0 as usize], R64[s.0 as usize])?,
            (Loc::Gpr(s), Loc::Stack(_)) => self.asm.mov(self.slot_mem(dst), R64[s.0 as usize])?,
            (Loc::Stack(k), Loc::Gpr(d)) => {
                let held_i32 = self.holds.get(&src).any(|v| self.vcode.is_i32[v.vreg()]);
                if self.seed_bug && held_i32 {
                    // The CVE-2021-32629 shape, for the validator's tests only.
                    self.asm
                        .movsxd(R64[d.0 as usize], dword_ptr(rsp + k as i32))?;
                } else {
                    self.asm.mov(R64[d.0 as usize], self.slot_mem(src))?;
                }
            }
            (Loc::Xmm(s), Loc::Xmm(d)) => self.asm.movaps(X[d.0 as usize], X[s.0 as usize])?,
            (Loc::Xmm(s), Loc::Stack(k)) if self.vcode.wide_sse_slots => self
                .asm
                .movdqu(xmmword_ptr(rsp + k as i32), X[s.0 as usize])?,
            (Loc::Stack(k), Loc::Xmm(d)) if self.vcode.wide_sse_slots => self
                .asm
                .movdqu(X[d.0 as usize], xmmword_ptr(rsp + k as i32))?,
            (Loc::Xmm(s), Loc::Stack(_)) => {
                self.asm.movsd_2(self.slot_mem(dst), X[s.0 as usize])?
            }
            (Loc::Stack(_), Loc::Xmm(d)) => {
                self.asm.movsd_2(X[d.0 as usize], self.slot_mem(src))?
            }
            _ => unreachable!("regalloc2 moves within one register class, never stack to stack"),
        }
        self.holds.apply_move(src, dst, self.vcode.wide_sse_slots);
        self.claim_after(dst);
        Ok(())
    }

    fn emit_inst(&mut self, inst: Inst, labels: &[CodeLabel]) -> Result<(), IcedError> {
        // A branch to the block emitted next falls through instead; an
        // unconditional one only if that leaves this block an instruction
        // for its label and claims.
        let falls_to = self.next;
        let jump_elided_to =
            falls_to.filter(|_| self.may_be_empty || self.idx() > self.block_start);
        let resolve = |b: &Block| self.resolve[b.index()];
        let allocs: Vec<Allocation> = self.out.inst_allocs(inst).to_vec();
        let (mi, invoke) = match self.vcode.insts[inst.index()].clone() {
            MInst::Invoke {
                call,
                normal,
                landing,
            } => (*call, Some((normal, landing))),
            mi => (mi, None),
        };
        let call_from = self.idx();
        let regs: Vec<usize> = allocs
            .iter()
            .map(|a| a.as_reg().map_or(usize::MAX, |p| p.hw_enc()))
            .collect();
        let r = |i: usize| regs[i];
        let block_started = self.idx() > self.block_start;
        let asm = &mut *self.asm;
        let mut defs: Vec<(usize, VReg)> = vec![];
        match &mi {
            MInst::Args { .. } => {}
            MInst::LoadStackArg { dst, slot } => {
                let m = qword_ptr(rbp + (16 + 8 * *slot) as i32);
                if self.vcode.is_v128[dst.vreg()] {
                    asm.movdqu(X[r(0)], xmmword_ptr(rbp + (16 + 8 * *slot) as i32))?;
                } else if dst.class() == RegClass::Float {
                    asm.movsd_2(X[r(0)], m)?;
                } else if self.vcode.is_i32[dst.vreg()] {
                    // A 32-bit load zero-extends whatever the caller left in
                    // the slot's upper half.
                    asm.mov(R32[r(0)], dword_ptr(rbp + (16 + 8 * *slot) as i32))?;
                } else {
                    asm.mov(R64[r(0)], m)?;
                }
                defs.push((r(0), *dst));
            }
            MInst::MovImm { dst, imm, size } => {
                let d = r(0);
                if *imm == 0 {
                    asm.xor(R32[d], R32[d])?;
                } else if *size == Size::S32 || *imm <= u32::MAX as u64 {
                    asm.mov(R32[d], *imm as u32)?;
                } else {
                    asm.mov(R64[d], *imm)?;
                }
                defs.push((d, *dst));
            }
            MInst::Mov { dst, size, .. } => {
                let (s, d) = (r(0), r(1));
                match size {
                    Size::S32 => asm.mov(R32[d], R32[s])?,
                    // A 64-bit copy into its own register is nothing (not at
                    // a block's start, where the claim after it would land
                    // on another block's last instruction).
                    Size::S64 if s == d && block_started => {}
                    Size::S64 => asm.mov(R64[d], R64[s])?,
                }
                defs.push((d, *dst));
            }
            MInst::Alu {
                op,
                size,
                dst,
                src2: Rhs::Imm(k),
                ..
            } => {
                let (s, d) = (r(0), r(1));
                alu_imm(asm, *op, *size, d, s, *k)?;
                defs.push((d, *dst));
            }
            MInst::Lea {
                size, dst, shift, ..
            } => {
                let (b, i, d) = (r(0), r(1), r(2));
                let m = ptr(R64[b] + R64[i] * (1u32 << shift));
                match size {
                    Size::S32 => asm.lea(R32[d], m)?,
                    Size::S64 => asm.lea(R64[d], m)?,
                }
                defs.push((d, *dst));
            }
            MInst::Alu {
                op: AluOp::Add,
                size,
                dst,
                ..
            } => {
                // `add` when dst is one of the sources, else `lea` (whose
                // 32-bit form keeps the low half of the 64-bit sum: the i32
                // sum, zero-extended).
                let (a, b, d) = (r(0), r(1), r(2));
                let other = if d == a {
                    Some(b)
                } else if d == b {
                    Some(a)
                } else {
                    None
                };
                match (other, size) {
                    (Some(o), Size::S32) => asm.add(R32[d], R32[o])?,
                    (Some(o), Size::S64) => asm.add(R64[d], R64[o])?,
                    (None, Size::S32) => asm.lea(R32[d], ptr(R64[a] + R64[b]))?,
                    (None, Size::S64) => asm.lea(R64[d], ptr(R64[a] + R64[b]))?,
                }
                defs.push((d, *dst));
            }
            MInst::Alu { op, size, dst, .. } => {
                let (d, s) = (r(0), r(1));
                debug_assert_eq!(r(2), d);
                match size {
                    Size::S32 => {
                        let (d, s) = (R32[d], R32[s]);
                        match op {
                            AluOp::Add => asm.add(d, s)?,
                            AluOp::Sub => asm.sub(d, s)?,
                            AluOp::And => asm.and(d, s)?,
                            AluOp::Or => asm.or(d, s)?,
                            AluOp::Xor => asm.xor(d, s)?,
                            AluOp::Imul => asm.imul_2(d, s)?,
                        }
                    }
                    Size::S64 => {
                        let (d, s) = (R64[d], R64[s]);
                        match op {
                            AluOp::Add => asm.add(d, s)?,
                            AluOp::Sub => asm.sub(d, s)?,
                            AluOp::And => asm.and(d, s)?,
                            AluOp::Or => asm.or(d, s)?,
                            AluOp::Xor => asm.xor(d, s)?,
                            AluOp::Imul => asm.imul_2(d, s)?,
                        }
                    }
                }
                defs.push((d, *dst));
            }
            MInst::Shift {
                op,
                size,
                dst,
                count: Rhs::Imm(k),
                ..
            } => {
                let d = r(0);
                let k = *k as u32;
                match size {
                    Size::S32 => {
                        let d = R32[d];
                        match op {
                            ShiftOp::Shl => asm.shl(d, k)?,
                            ShiftOp::Sar => asm.sar(d, k)?,
                            ShiftOp::Shr => asm.shr(d, k)?,
                            ShiftOp::Rol => asm.rol(d, k)?,
                            ShiftOp::Ror => asm.ror(d, k)?,
                        }
                    }
                    Size::S64 => {
                        let d = R64[d];
                        match op {
                            ShiftOp::Shl => asm.shl(d, k)?,
                            ShiftOp::Sar => asm.sar(d, k)?,
                            ShiftOp::Shr => asm.shr(d, k)?,
                            ShiftOp::Rol => asm.rol(d, k)?,
                            ShiftOp::Ror => asm.ror(d, k)?,
                        }
                    }
                }
                defs.push((r(0), *dst));
            }
            MInst::Shift { op, size, dst, .. } => {
                let d = r(0);
                match size {
                    Size::S32 => {
                        let d = R32[d];
                        match op {
                            ShiftOp::Shl => asm.shl(d, cl)?,
                            ShiftOp::Sar => asm.sar(d, cl)?,
                            ShiftOp::Shr => asm.shr(d, cl)?,
                            ShiftOp::Rol => asm.rol(d, cl)?,
                            ShiftOp::Ror => asm.ror(d, cl)?,
                        }
                    }
                    Size::S64 => {
                        let d = R64[d];
                        match op {
                            ShiftOp::Shl => asm.shl(d, cl)?,
                            ShiftOp::Sar => asm.sar(d, cl)?,
                            ShiftOp::Shr => asm.shr(d, cl)?,
                            ShiftOp::Rol => asm.rol(d, cl)?,
                            ShiftOp::Ror => asm.ror(d, cl)?,
                        }
                    }
                }
                defs.push((d, *dst));
            }
            MInst::Unary { op, size, dst, .. } => {
                let (s, d) = (r(0), r(1));
                match (size, op) {
                    (Size::S32, UnaryOp::Lzcnt) => asm.lzcnt(R32[d], R32[s])?,
                    (Size::S32, UnaryOp::Tzcnt) => asm.tzcnt(R32[d], R32[s])?,
                    (Size::S32, UnaryOp::Popcnt) => asm.popcnt(R32[d], R32[s])?,
                    (Size::S64, UnaryOp::Lzcnt) => asm.lzcnt(R64[d], R64[s])?,
                    (Size::S64, UnaryOp::Tzcnt) => asm.tzcnt(R64[d], R64[s])?,
                    (Size::S64, UnaryOp::Popcnt) => asm.popcnt(R64[d], R64[s])?,
                }
                defs.push((d, *dst));
            }
            MInst::Sext {
                dst, from, size, ..
            } => {
                let (s, d) = (r(0), r(1));
                match (size, from) {
                    (Size::S32, 8) => asm.movsx(R32[d], R8[s])?,
                    (Size::S32, _) => asm.movsx(R32[d], R16[s])?,
                    (Size::S64, 8) => asm.movsx(R64[d], R8[s])?,
                    (Size::S64, 16) => asm.movsx(R64[d], R16[s])?,
                    (Size::S64, _) => asm.movsxd(R64[d], R32[s])?,
                }
                defs.push((d, *dst));
            }
            MInst::Setcc {
                cond, size, dst, b, ..
            } => {
                let d = *regs.last().expect("setcc defines its result");
                compare(asm, *size, r(0), *b, r(1))?;
                setcc(asm, *cond, R8[d])?;
                asm.movzx(R32[d], R8[d])?;
                defs.push((d, *dst));
            }
            MInst::Eqz { size, dst, .. } => {
                let (a, d) = (r(0), r(1));
                match size {
                    Size::S32 => asm.test(R32[a], R32[a])?,
                    Size::S64 => asm.test(R64[a], R64[a])?,
                }
                asm.sete(R8[d])?;
                asm.movzx(R32[d], R8[d])?;
                defs.push((d, *dst));
            }
            MInst::Select {
                size,
                cmp_size,
                cond,
                y,
                dst,
                ..
            } => {
                // Operands: b (= dst), x, [y], a.
                let (d, x) = (r(0), r(1));
                let (y_reg, a) = match y {
                    Rhs::Reg(_) => (r(2), r(3)),
                    Rhs::Imm(_) => (usize::MAX, r(2)),
                };
                compare(asm, *cmp_size, x, *y, y_reg)?;
                cmov(asm, *size, *cond, d, a)?;
                defs.push((d, *dst));
            }
            MInst::Div {
                kind,
                size,
                dst,
                safe_divisor,
                ..
            } => {
                let wide = *size == Size::S64;
                // A constant divisor other than 0 and -1 needs no checks.
                if *safe_divisor {
                    divide(
                        &mut *self.asm,
                        matches!(kind, DivKind::DivS | DivKind::RemS),
                        wide,
                    )?;
                } else {
                    self.checked_divide(*kind, wide)?;
                }
                defs.push((r(2), *dst));
            }
            MInst::MulHi { dst, magic, .. } => {
                // x is in rax; rdx is free until the product lands in it.
                if *magic <= u32::MAX as u64 {
                    asm.mov(edx, *magic as u32)?;
                } else {
                    asm.mov(rdx, *magic)?;
                }
                asm.mul(rdx)?;
                defs.push((r(1), *dst));
            }
            MInst::FMovImm {
                dst, bits, size, ..
            } => {
                let (t, d) = (r(0), r(1));
                if *bits == 0 {
                    asm.xorps(X[d], X[d])?;
                } else {
                    if *bits <= u32::MAX as u64 {
                        asm.mov(R32[t], *bits as u32)?;
                    } else {
                        asm.mov(R64[t], *bits)?;
                    }
                    gpr_to_xmm(asm, *size, X[d], t)?;
                }
                defs.push((d, *dst));
            }
            MInst::FAlu { op, size, dst, .. } => {
                let (d, s) = (X[r(0)], X[r(1)]);
                match op {
                    FAluOp::Add => sse!(asm, size, addss, addsd, d, s),
                    FAluOp::Sub => sse!(asm, size, subss, subsd, d, s),
                    FAluOp::Mul => sse!(asm, size, mulss, mulsd, d, s),
                    FAluOp::Div => sse!(asm, size, divss, divsd, d, s),
                }
                defs.push((r(0), *dst));
            }
            MInst::FMinMax { max, size, dst, .. } => {
                let (d, s) = (X[r(0)], X[r(1)]);
                let mut nan = asm.create_label();
                let mut normal = asm.create_label();
                let mut done = asm.create_label();
                ucomis(asm, *size, d, s)?;
                asm.jp(nan)?;
                asm.jne(normal)?;
                // Equal: only ±0 differ, and their sign bits decide.
                if *max {
                    asm.andps(d, s)?;
                } else {
                    asm.orps(d, s)?;
                }
                asm.jmp(done)?;
                asm.set_label(&mut nan)?;
                sse!(asm, size, addss, addsd, d, s);
                asm.jmp(done)?;
                asm.set_label(&mut normal)?;
                if *max {
                    sse!(asm, size, maxss, maxsd, d, s);
                } else {
                    sse!(asm, size, minss, minsd, d, s);
                }
                asm.set_label(&mut done)?;
                // `done` binds to an instruction of its own.
                asm.nop()?;
                defs.push((r(0), *dst));
            }
            MInst::FUnary { op, size, dst, .. } => {
                let (s, d) = (X[r(0)], X[r(1)]);
                match op {
                    FUnaryOp::Sqrt => sse!(asm, size, sqrtss, sqrtsd, d, s),
                    FUnaryOp::Round(mode) => sse!(asm, size, roundss, roundsd, d, s, *mode as i32),
                }
                defs.push((r(1), *dst));
            }
            MInst::FSign {
                op,
                size,
                dst,
                sign,
                ..
            } => {
                let n = 1 + sign.is_some() as usize;
                let (s, t1, t2, d) = (r(0), r(n), r(n + 1), r(n + 2));
                let bit = if *size == Size::S32 { 31 } else { 63 };
                xmm_to_gpr(asm, *size, t1, X[s])?;
                match (op, size) {
                    (SignOp::Abs, Size::S32) => asm.btr(R32[t1], bit)?,
                    (SignOp::Abs, Size::S64) => asm.btr(R64[t1], bit)?,
                    (SignOp::Neg, Size::S32) => asm.btc(R32[t1], bit)?,
                    (SignOp::Neg, Size::S64) => asm.btc(R64[t1], bit)?,
                    (SignOp::Copysign, _) => {
                        xmm_to_gpr(asm, *size, t2, X[r(1)])?;
                        if *size == Size::S32 {
                            asm.btr(R32[t1], bit)?;
                            asm.shr(R32[t2], bit)?;
                            asm.shl(R32[t2], bit)?;
                            asm.or(R32[t1], R32[t2])?;
                        } else {
                            asm.btr(R64[t1], bit)?;
                            asm.shr(R64[t2], bit)?;
                            asm.shl(R64[t2], bit)?;
                            asm.or(R64[t1], R64[t2])?;
                        }
                    }
                }
                gpr_to_xmm(asm, *size, X[d], t1)?;
                defs.push((d, *dst));
            }
            MInst::FCmp {
                cond, size, dst, ..
            } => {
                let (a, b, t, d) = (X[r(0)], X[r(1)], r(2), r(3));
                ucomis(asm, *size, a, b)?;
                match cond {
                    FCond::Eq => {
                        asm.setnp(R8[d])?;
                        asm.sete(R8[t])?;
                        asm.and(R8[d], R8[t])?;
                    }
                    FCond::Ne => {
                        asm.setp(R8[d])?;
                        asm.setne(R8[t])?;
                        asm.or(R8[d], R8[t])?;
                    }
                    FCond::A => asm.seta(R8[d])?,
                    FCond::Ae => asm.setae(R8[d])?,
                }
                asm.movzx(R32[d], R8[d])?;
                defs.push((d, *dst));
            }
            MInst::FSelect { dst, .. } => {
                let (d, c, a) = (r(0), r(1), r(2));
                let mut skip = asm.create_label();
                asm.test(R32[c], R32[c])?;
                asm.je(skip)?;
                asm.movaps(X[d], X[a])?;
                asm.set_label(&mut skip)?;
                asm.nop()?;
                defs.push((d, *dst));
            }
            MInst::FCvt { to_f64, dst, .. } => {
                let (s, d) = (X[r(0)], X[r(1)]);
                if *to_f64 {
                    asm.cvtss2sd(d, s)?;
                } else {
                    asm.cvtsd2ss(d, s)?;
                }
                defs.push((r(1), *dst));
            }
            MInst::Bitcast { size, dst, .. } => {
                let (s, d) = (r(0), r(1));
                if dst.class() == RegClass::Float {
                    gpr_to_xmm(asm, *size, X[d], s)?;
                } else {
                    xmm_to_gpr(asm, *size, d, X[s])?;
                }
                defs.push((d, *dst));
            }
            MInst::IntToFloat {
                signed,
                from,
                to,
                dst,
                ..
            } => {
                let (s, t1, t2, d) = (r(0), r(1), r(2), X[r(3)]);
                // cvtsi2s* writes only the low lane: clear it first, no false dependency.
                asm.xorps(d, d)?;
                match (signed, from) {
                    (true, Size::S32) => sse!(asm, to, cvtsi2ss, cvtsi2sd, d, R32[s]),
                    (false, Size::S32) => {
                        asm.mov(R32[t1], R32[s])?;
                        cvtsi(asm, *to, d, R64[t1])?;
                    }
                    (true, Size::S64) => cvtsi(asm, *to, d, R64[s])?,
                    (false, Size::S64) => {
                        // Above i64::MAX: halve (keeping the low bit for rounding), convert, double.
                        let mut big = asm.create_label();
                        let mut done = asm.create_label();
                        asm.test(R64[s], R64[s])?;
                        asm.js(big)?;
                        cvtsi(asm, *to, d, R64[s])?;
                        asm.jmp(done)?;
                        asm.set_label(&mut big)?;
                        asm.mov(R64[t1], R64[s])?;
                        asm.shr(R64[t1], 1)?;
                        asm.mov(R32[t2], R32[s])?;
                        asm.and(R32[t2], 1)?;
                        asm.or(R64[t1], R64[t2])?;
                        cvtsi(asm, *to, d, R64[t1])?;
                        sse!(asm, to, addss, addsd, d, d);
                        asm.set_label(&mut done)?;
                        asm.nop()?;
                    }
                }
                defs.push((r(3), *dst));
            }
            MInst::FloatToInt {
                signed,
                saturating,
                from,
                to,
                dst,
                ..
            } => {
                let (s, g, x1, x2, d) = (X[r(0)], r(1), X[r(2)], X[r(3)], r(4));
                let nan_trap = self.trap_label(TrapCode::BadConversionToInteger);
                let ovf = self.trap_label(TrapCode::IntegerOverflow);
                let asm = &mut *self.asm;
                let (from, to) = (*from, *to);
                let mut done = asm.create_label();
                let mut zero = asm.create_label();
                match (signed, to) {
                    (true, _) => {
                        // cvtt gives MIN for NaN and out-of-range; only then look closer.
                        cvtt(asm, from, to, d, s)?;
                        match to {
                            Size::S32 => asm.cmp(R32[d], 1)?,
                            Size::S64 => asm.cmp(R64[d], 1)?,
                        }
                        asm.jno(done)?;
                        ucomis(asm, from, s, s)?;
                        asm.jp(if *saturating { zero } else { nan_trap })?;
                        if *saturating {
                            // Negative: MIN is the answer; positive: MAX.
                            asm.xorps(x1, x1)?;
                            ucomis(asm, from, s, x1)?;
                            asm.jb(done)?;
                            match to {
                                Size::S32 => asm.mov(R32[d], i32::MAX as u32)?,
                                Size::S64 => asm.mov(R64[d], i64::MAX as u64)?,
                            }
                            asm.jmp(done)?;
                        } else {
                            // MIN is right only if s truncates into range from below.
                            let (bound, strict) = match (from, to) {
                                (Size::S64, Size::S32) => (-2147483649.0, true),
                                (_, Size::S32) => (-2147483648.0, false),
                                (_, Size::S64) => (-9223372036854775808.0, false),
                            };
                            float_const(asm, from, x1, g, bound)?;
                            ucomis(asm, from, s, x1)?;
                            if strict {
                                asm.jbe(ovf)?;
                            } else {
                                asm.jb(ovf)?;
                            }
                            asm.xorps(x1, x1)?;
                            ucomis(asm, from, s, x1)?;
                            asm.jae(ovf)?;
                            asm.jmp(done)?;
                        }
                    }
                    (false, Size::S32) => {
                        // In 64 bits every u32 is exact; anything else is out of range.
                        cvtt(asm, from, Size::S64, d, s)?;
                        ucomis(asm, from, s, s)?;
                        asm.jp(if *saturating { zero } else { nan_trap })?;
                        if *saturating {
                            asm.xorps(x1, x1)?;
                            ucomis(asm, from, s, x1)?;
                            asm.jb(zero)?;
                            asm.mov(R32[g], u32::MAX)?;
                            asm.cmp(R64[d], R64[g])?;
                            asm.cmova(R64[d], R64[g])?;
                        } else {
                            asm.mov(R64[g], R64[d])?;
                            asm.shr(R64[g], 32)?;
                            asm.jne(ovf)?;
                        }
                        asm.jmp(done)?;
                    }
                    (false, Size::S64) => {
                        ucomis(asm, from, s, s)?;
                        asm.jp(if *saturating { zero } else { nan_trap })?;
                        let neg = if *saturating { zero } else { ovf };
                        let mut big = asm.create_label();
                        float_const(asm, from, x1, g, 9223372036854775808.0)?;
                        ucomis(asm, from, s, x1)?;
                        asm.jae(big)?;
                        cvtt(asm, from, Size::S64, d, s)?;
                        asm.test(R64[d], R64[d])?;
                        asm.js(neg)?;
                        asm.jmp(done)?;
                        // At or above 2^63: convert s - 2^63 and set the top bit.
                        asm.set_label(&mut big)?;
                        asm.movaps(x2, s)?;
                        sse!(asm, from, subss, subsd, x2, x1);
                        cvtt(asm, from, Size::S64, d, x2)?;
                        asm.test(R64[d], R64[d])?;
                        if *saturating {
                            let mut max = asm.create_label();
                            asm.js(max)?;
                            asm.bts(R64[d], 63)?;
                            asm.jmp(done)?;
                            asm.set_label(&mut max)?;
                            asm.mov(R64[d], u64::MAX)?;
                        } else {
                            asm.js(ovf)?;
                            asm.bts(R64[d], 63)?;
                        }
                        asm.jmp(done)?;
                    }
                }
                if *saturating {
                    // NaN (and negatives, to an unsigned type) saturate to 0.
                    asm.set_label(&mut zero)?;
                    asm.xor(R32[d], R32[d])?;
                }
                asm.set_label(&mut done)?;
                // The join: a 32-bit result's upper half is zero from here on.
                match to {
                    Size::S32 => asm.mov(R32[d], R32[d])?,
                    Size::S64 => asm.nop()?,
                }
                defs.push((d, *dst));
            }
            MInst::FLoad { dst, addr, size } => {
                let (i, d) = (r(0), r(1));
                let m = r15 + R64[i] + addr.disp;
                match size {
                    Size::S32 => asm.movss(X[d], dword_ptr(m))?,
                    Size::S64 => asm.movsd_2(X[d], qword_ptr(m))?,
                }
                defs.push((d, *dst));
            }
            MInst::VLoad { dst, addr } => {
                let (i, d) = (r(0), r(1));
                asm.movdqu(X[d], xmmword_ptr(r15 + R64[i] + addr.disp))?;
                defs.push((d, *dst));
            }
            MInst::VStore { addr, .. } => {
                let (i, s) = (r(0), r(1));
                asm.movdqu(xmmword_ptr(r15 + R64[i] + addr.disp), X[s])?;
            }
            MInst::VConst { dst, bits, .. } => {
                let (t, d) = (r(0), r(1));
                vconst(asm, X[d], t, *bits)?;
                defs.push((d, *dst));
            }
            MInst::VAlu { op, dst, .. } => {
                let (d, s) = (r(0), r(1));
                let (rd, rs) = (Register::from(X[d]), Register::from(X[s]));
                let insn = match VALU.iter().find(|(o, _)| o == op) {
                    Some(&(_, code)) => Instruction::with2(code, rd, rs)?,
                    None => {
                        let &(_, code, predicate) = VCMP
                            .iter()
                            .find(|(o, ..)| o == op)
                            .expect("a VALU or VCMP row for every VBinOp lowered to VAlu");
                        Instruction::with3(code, rd, rs, predicate)?
                    }
                };
                asm.add_instruction(insn)?;
                defs.push((d, *dst));
            }
            MInst::VSplat {
                lanes, dst, tmp, ..
            } => {
                let (s, d) = (r(0), r(1));
                match lanes {
                    Lanes::I8x16 => {
                        let t = X[r(2)];
                        asm.movd(X[d], R32[s])?;
                        asm.pxor(t, t)?;
                        asm.pshufb(X[d], t)?;
                    }
                    Lanes::I16x8 => {
                        asm.movd(X[d], R32[s])?;
                        asm.pshuflw(X[d], X[d], 0)?;
                        asm.pshufd(X[d], X[d], 0)?;
                    }
                    Lanes::I32x4 => {
                        asm.movd(X[d], R32[s])?;
                        asm.pshufd(X[d], X[d], 0)?;
                    }
                    Lanes::I64x2 => {
                        asm.movq(X[d], R64[s])?;
                        asm.punpcklqdq(X[d], X[d])?;
                    }
                    Lanes::F32x4 => asm.pshufd(X[d], X[s], 0)?,
                    Lanes::F64x2 => asm.pshufd(X[d], X[s], 0x44)?,
                }
                debug_assert_eq!(tmp.is_some(), *lanes == Lanes::I8x16);
                defs.push((d, *dst));
            }
            MInst::VExtract {
                lanes,
                lane,
                signed,
                dst,
                ..
            } => {
                let (s, d) = (r(0), r(1));
                let k = *lane as u32;
                match lanes {
                    Lanes::I8x16 => {
                        asm.pextrb(R32[d], X[s], k)?;
                        if *signed {
                            asm.movsx(R32[d], R8[d])?;
                        }
                    }
                    Lanes::I16x8 => {
                        asm.pextrw(R32[d], X[s], k)?;
                        if *signed {
                            asm.movsx(R32[d], R16[d])?;
                        }
                    }
                    Lanes::I32x4 => asm.pextrd(R32[d], X[s], k)?,
                    Lanes::I64x2 => asm.pextrq(R64[d], X[s], k)?,
                    // The lane moved to the bottom; a scalar reads only that.
                    Lanes::F32x4 if k == 0 => asm.movaps(X[d], X[s])?,
                    Lanes::F32x4 => asm.pshufd(X[d], X[s], k)?,
                    Lanes::F64x2 if k == 0 => asm.movaps(X[d], X[s])?,
                    Lanes::F64x2 => asm.pshufd(X[d], X[s], 0xee)?,
                }
                defs.push((d, *dst));
            }
            MInst::VReplace {
                lanes, lane, dst, ..
            } => {
                let (d, s) = (r(0), r(1));
                let k = *lane as u32;
                match lanes {
                    Lanes::I8x16 => asm.pinsrb(X[d], R32[s], k)?,
                    Lanes::I16x8 => asm.pinsrw(X[d], R32[s], k)?,
                    Lanes::I32x4 => asm.pinsrd(X[d], R32[s], k)?,
                    Lanes::I64x2 => asm.pinsrq(X[d], R64[s], k)?,
                    Lanes::F32x4 => asm.insertps(X[d], X[s], k << 4)?,
                    Lanes::F64x2 if k == 0 => asm.movsd_2(X[d], X[s])?,
                    Lanes::F64x2 => asm.movlhps(X[d], X[s])?,
                }
                defs.push((d, *dst));
            }
            MInst::VShuffle { lanes, dst, .. } => {
                let (d, b, ma, mb, tb, t) = (r(0), r(1), r(2), r(3), r(4), r(5));
                let mask = |from_b: bool| -> [u64; 2] {
                    let byte = |l: u8| match (l >= 16, from_b) {
                        (false, false) => l as u64,
                        (true, true) => (l - 16) as u64,
                        _ => 0x80,
                    };
                    let half = |h: usize| (0..8).map(|k| byte(lanes[8 * h + k]) << (8 * k)).sum();
                    [half(0), half(1)]
                };
                vconst(asm, X[ma], t, mask(false))?;
                asm.pshufb(X[d], X[ma])?;
                if lanes.iter().any(|&l| l >= 16) {
                    asm.movaps(X[tb], X[b])?;
                    vconst(asm, X[mb], t, mask(true))?;
                    asm.pshufb(X[tb], X[mb])?;
                    asm.por(X[d], X[tb])?;
                }
                defs.push((d, *dst));
            }
            MInst::VUnary { op, dst, .. } => {
                let (s, d) = (r(0), r(1));
                let &(_, pre, code, imm) = VUNARY
                    .iter()
                    .find(|(o, ..)| o == op)
                    .expect("a row for every VUnOp lowered to VUnary");
                // The source register once the lanes are moved (pshufd
                // reads all of src before it writes dst).
                let from = match pre {
                    Some(k) => {
                        asm.pshufd(X[d], X[s], k)?;
                        d
                    }
                    None => s,
                };
                let (rd, rs) = (Register::from(X[d]), Register::from(X[from]));
                asm.add_instruction(match imm {
                    // A shift by an immediate works on dst in place.
                    Some(k) if code.op_code().op_count() == 2 => {
                        debug_assert_eq!(from, d);
                        Instruction::with2(code, rd, k)?
                    }
                    Some(k) => Instruction::with3(code, rd, rs, k)?,
                    None => Instruction::with2(code, rd, rs)?,
                })?;
                defs.push((d, *dst));
            }
            MInst::VShift {
                lanes,
                kind,
                dst,
                count,
                ..
            } => {
                let d = r(0);
                let &(_, _, by_imm, by_xmm) = VSHIFT
                    .iter()
                    .find(|(l, k, ..)| l == lanes && k == kind)
                    .expect("a row for every lowered shift");
                let insn = match count {
                    Rhs::Imm(k) => Instruction::with2(by_imm, Register::from(X[d]), *k)?,
                    Rhs::Reg(_) => {
                        let (c, t, x) = (r(1), r(2), r(3));
                        asm.mov(R32[t], R32[c])?;
                        asm.and(R32[t], lanes.bits() as i32 - 1)?;
                        asm.movd(X[x], R32[t])?;
                        Instruction::with2(by_xmm, Register::from(X[d]), Register::from(X[x]))?
                    }
                };
                asm.add_instruction(insn)?;
                defs.push((d, *dst));
            }
            MInst::VShift8 {
                kind, dst, count, ..
            } => {
                let d = X[r(0)];
                let k = usize::from(matches!(count, Rhs::Reg(_)));
                let (t, x, m, z) = (r(1 + k), X[r(2 + k)], X[r(3 + k)], X[r(4 + k)]);
                if let Rhs::Reg(_) = count {
                    asm.mov(R32[t], R32[r(1)])?;
                    asm.and(R32[t], 7)?;
                    if *kind == VShiftKind::ShrS {
                        asm.add(R32[t], 8)?;
                    }
                    asm.movd(x, R32[t])?;
                }
                // Each byte of a pattern, in both halves.
                let bytes = |b: u64| [b * 0x0101_0101_0101_0101; 2];
                match (kind, count) {
                    (VShiftKind::Shl, Rhs::Imm(k)) => {
                        asm.psllw(d, *k)?;
                        vconst(asm, m, t, bytes((0xff << k) & 0xff))?;
                        asm.pand(d, m)?;
                    }
                    (VShiftKind::ShrU, Rhs::Imm(k)) => {
                        asm.psrlw(d, *k)?;
                        vconst(asm, m, t, bytes(0xff >> k))?;
                        asm.pand(d, m)?;
                    }
                    (VShiftKind::Shl, Rhs::Reg(_)) => {
                        // The mask: 0xffff << k per word; its low byte,
                        // 0xff << k, broadcast (pshufb by zeros).
                        asm.psllw(d, x)?;
                        asm.pcmpeqd(m, m)?;
                        asm.psllw(m, x)?;
                        asm.pxor(z, z)?;
                        asm.pshufb(m, z)?;
                        asm.pand(d, m)?;
                    }
                    (VShiftKind::ShrU, Rhs::Reg(_)) => {
                        // 0xffff >> k per word; its high byte, 0xff >> k.
                        asm.psrlw(d, x)?;
                        asm.pcmpeqd(m, m)?;
                        asm.psrlw(m, x)?;
                        vconst(asm, z, t, bytes(1))?;
                        asm.pshufb(m, z)?;
                        asm.pand(d, m)?;
                    }
                    (VShiftKind::ShrS, _) => {
                        asm.movaps(m, d)?;
                        asm.punpcklbw(d, d)?;
                        asm.punpckhbw(m, m)?;
                        match count {
                            Rhs::Imm(k) => {
                                asm.psraw(d, *k + 8)?;
                                asm.psraw(m, *k + 8)?;
                            }
                            Rhs::Reg(_) => {
                                asm.psraw(d, x)?;
                                asm.psraw(m, x)?;
                            }
                        }
                        asm.packsswb(d, m)?;
                    }
                }
                defs.push((r(0), *dst));
            }
            MInst::VUnarySeq { op, dst, .. } => {
                let (d, t) = (X[r(0)], X[r(1)]);
                match op {
                    VUnOp::I8x16Popcnt => {
                        // Each nibble's count from a 16-byte table
                        // (pshufb), the two added.
                        let (t2, t3, g) = (X[r(2)], X[r(3)], r(4));
                        let bytes = |b: u64| [b * 0x0101_0101_0101_0101; 2];
                        vconst(asm, t, g, bytes(0x0f))?;
                        asm.movaps(t2, d)?;
                        asm.psrlw(t2, 4)?;
                        asm.pand(t2, t)?; // high nibbles
                        asm.pand(t, d)?; // low nibbles
                        vconst(asm, d, g, [0x0302_0201_0201_0100, 0x0403_0302_0302_0201])?;
                        asm.movaps(t3, d)?;
                        asm.pshufb(d, t)?;
                        asm.pshufb(t3, t2)?;
                        asm.paddb(d, t3)?;
                    }
                    VUnOp::I32x4TruncSatF32x4U => {
                        // NaN and negative lanes to 0 (maxps returns its
                        // second operand on NaN); lanes of 2^31 and more
                        // converted less 2^31 and added back, 2^32 and more
                        // saturated (Cranelift's sequence).
                        let t2 = X[r(2)];
                        asm.xorps(t, t)?;
                        asm.maxps(d, t)?;
                        asm.pcmpeqd(t, t)?;
                        asm.psrld(t, 1)?;
                        asm.cvtdq2ps(t, t)?; // 2^31
                        asm.movaps(t2, d)?;
                        asm.subps(t2, t)?;
                        asm.cmpps(t, t2, 2)?; // 2^31 <= x - 2^31: too big
                        asm.cvttps2dq(t2, t2)?;
                        asm.pxor(t2, t)?;
                        asm.pxor(t, t)?;
                        asm.pmaxsd(t2, t)?;
                        asm.cvttps2dq(d, d)?;
                        asm.paddd(d, t2)?;
                    }
                    VUnOp::I32x4TruncSatF64x2UZero => {
                        // NaN and negatives to 0, at most 2^32 - 1,
                        // truncated; + 2^52 puts the integer in the low
                        // dword of each f64, which shufps gathers.
                        let g = r(2);
                        asm.xorps(t, t)?;
                        asm.maxpd(d, t)?;
                        vconst(asm, t, g, [0x41ef_ffff_ffe0_0000; 2])?;
                        asm.minpd(d, t)?;
                        asm.roundpd(d, d, 3)?;
                        vconst(asm, t, g, [0x4330_0000_0000_0000; 2])?;
                        asm.addpd(d, t)?;
                        asm.xorps(t, t)?;
                        asm.shufps(d, t, 0x88)?;
                    }
                    VUnOp::I32x4TruncSatF32x4S => {
                        // NaN lanes to 0; cvttps2dq gives 0x80000000 out of
                        // range, which becomes 0x7fffffff where the input
                        // was positive (Cranelift's sequence).
                        asm.movaps(t, d)?;
                        asm.cmpps(t, d, 0)?;
                        asm.andps(d, t)?;
                        asm.pxor(t, d)?;
                        asm.cvttps2dq(d, d)?;
                        asm.pand(t, d)?;
                        asm.psrad(t, 31)?;
                        asm.pxor(d, t)?;
                    }
                    VUnOp::F32x4ConvertI32x4U => {
                        // The low 16 bits convert exactly; the high part is
                        // halved (so it is positive), converted, doubled.
                        asm.movaps(t, d)?;
                        asm.pslld(t, 16)?;
                        asm.psrld(t, 16)?;
                        asm.psubd(d, t)?;
                        asm.cvtdq2ps(t, t)?;
                        asm.psrld(d, 1)?;
                        asm.cvtdq2ps(d, d)?;
                        asm.addps(d, d)?;
                        asm.addps(d, t)?;
                    }
                    _ => unreachable!("only the sequences are lowered to VUnarySeq"),
                }
                defs.push((r(0), *dst));
            }
            MInst::VFMinMax {
                max, lanes, dst, ..
            } => {
                let (d, b, t) = (X[r(0)], X[r(1)], X[r(2)]);
                let f64x2 = *lanes == Lanes::F64x2;
                let (mm, unord): (Code, Code) = match (max, f64x2) {
                    (false, false) => (Code::Minps_xmm_xmmm128, Code::Cmpps_xmm_xmmm128_imm8),
                    (true, false) => (Code::Maxps_xmm_xmmm128, Code::Cmpps_xmm_xmmm128_imm8),
                    (false, true) => (Code::Minpd_xmm_xmmm128, Code::Cmppd_xmm_xmmm128_imm8),
                    (true, true) => (Code::Maxpd_xmm_xmmm128, Code::Cmppd_xmm_xmmm128_imm8),
                };
                let op2 = |asm: &mut CodeAssembler, code, x: AsmRegisterXmm, y: AsmRegisterXmm| {
                    asm.add_instruction(Instruction::with2(
                        code,
                        Register::from(x),
                        Register::from(y),
                    )?)
                };
                let unordered = |asm: &mut CodeAssembler, x: AsmRegisterXmm, y: AsmRegisterXmm| {
                    asm.add_instruction(Instruction::with3(
                        unord,
                        Register::from(x),
                        Register::from(y),
                        3,
                    )?)
                };
                // minps/maxps return the second operand on NaN and on
                // equal lanes (+0, -0): both orders differ only there.
                asm.movaps(t, b)?;
                op2(asm, mm, t, d)?; // t = op(b, a)
                op2(asm, mm, d, b)?; // d = op(a, b)
                if *max {
                    // +0 where the two are -0 and +0: (d | t) - (d ^ t).
                    asm.xorps(d, t)?;
                    asm.orps(t, d)?;
                    if f64x2 {
                        asm.subpd(t, d)?;
                    } else {
                        asm.subps(t, d)?;
                    }
                } else {
                    // -0 | +0 = -0.
                    asm.orps(t, d)?;
                }
                // Either operand NaN: the combination is a NaN; all ones
                // there, then sign, exponent and quiet bit kept.
                unordered(asm, d, t)?;
                if !*max {
                    asm.orps(t, d)?;
                }
                if f64x2 {
                    asm.psrlq(d, 13)?;
                } else {
                    asm.psrld(d, 10)?;
                }
                asm.andnps(d, t)?;
                defs.push((r(0), *dst));
            }
            MInst::VSar64 { dst, count, .. } => {
                let d = X[r(0)];
                let by_reg = matches!(count, Rhs::Reg(_));
                let m = X[r(if by_reg { 2 } else { 1 })];
                if by_reg {
                    let (c, t, x) = (r(1), r(3), X[r(4)]);
                    asm.mov(R32[t], R32[c])?;
                    asm.and(R32[t], 63)?;
                    asm.movd(x, R32[t])?;
                }
                asm.pcmpeqd(m, m)?;
                asm.psllq(m, 63)?;
                asm.pxor(d, m)?;
                match count {
                    Rhs::Imm(k) => {
                        asm.psrlq(d, *k)?;
                        asm.psrlq(m, *k)?;
                    }
                    Rhs::Reg(_) => {
                        let x = X[r(4)];
                        asm.psrlq(d, x)?;
                        asm.psrlq(m, x)?;
                    }
                }
                asm.psubq(d, m)?;
                defs.push((r(0), *dst));
            }
            MInst::VTest { op, dst, .. } => {
                let s = X[r(0)];
                let d = match op {
                    VReduce::AllTrue(lanes) => {
                        let t = X[r(1)];
                        asm.pxor(t, t)?;
                        match lanes {
                            Lanes::I8x16 => asm.pcmpeqb(t, s)?,
                            Lanes::I16x8 => asm.pcmpeqw(t, s)?,
                            Lanes::I32x4 | Lanes::F32x4 => asm.pcmpeqd(t, s)?,
                            Lanes::I64x2 | Lanes::F64x2 => asm.pcmpeqq(t, s)?,
                        }
                        // No lane equal to zero.
                        asm.ptest(t, t)?;
                        asm.sete(R8[r(2)])?;
                        r(2)
                    }
                    _ => {
                        asm.ptest(s, s)?;
                        asm.setne(R8[r(1)])?;
                        r(1)
                    }
                };
                asm.movzx(R32[d], R8[d])?;
                defs.push((d, *dst));
            }
            MInst::VBitmask { lanes, dst, .. } => {
                let s = X[r(0)];
                let d = match lanes {
                    Lanes::I8x16 => {
                        asm.pmovmskb(R32[r(1)], s)?;
                        r(1)
                    }
                    Lanes::I16x8 => {
                        // Words to bytes, signs kept, both halves alike.
                        let (t, d) = (X[r(1)], r(2));
                        asm.movaps(t, s)?;
                        asm.packsswb(t, t)?;
                        asm.pmovmskb(R32[d], t)?;
                        asm.shr(R32[d], 8)?;
                        d
                    }
                    Lanes::I32x4 | Lanes::F32x4 => {
                        asm.movmskps(R32[r(1)], s)?;
                        r(1)
                    }
                    Lanes::I64x2 | Lanes::F64x2 => {
                        asm.movmskpd(R32[r(1)], s)?;
                        r(1)
                    }
                };
                defs.push((d, *dst));
            }
            MInst::VMul64 { dst, .. } => {
                let (d, b, t1, t2) = (X[r(0)], X[r(1)], X[r(2)], X[r(3)]);
                asm.movaps(t1, d)?;
                asm.psrlq(t1, 32)?;
                asm.pmuludq(t1, b)?; // hi(a)·lo(b)
                asm.movaps(t2, b)?;
                asm.psrlq(t2, 32)?;
                asm.pmuludq(t2, d)?; // hi(b)·lo(a)
                asm.paddq(t1, t2)?;
                asm.psllq(t1, 32)?;
                asm.pmuludq(d, b)?; // lo(a)·lo(b)
                asm.paddq(d, t1)?;
                defs.push((r(0), *dst));
            }
            MInst::VSwizzle { dst, .. } => {
                let (d, b, m, t) = (r(0), r(1), r(2), r(3));
                vconst(asm, X[m], t, [0x7070_7070_7070_7070; 2])?;
                asm.paddusb(X[m], X[b])?;
                asm.pshufb(X[d], X[m])?;
                defs.push((d, *dst));
            }
            MInst::VNot { dst, .. } => {
                let (s, t) = (r(0), r(1));
                asm.pcmpeqd(X[t], X[t])?;
                asm.pxor(X[s], X[t])?;
                defs.push((s, *dst));
            }
            MInst::FStore { addr, size, .. } => {
                let (i, s) = (r(0), r(1));
                let m = r15 + R64[i] + addr.disp;
                match size {
                    Size::S32 => asm.movss(dword_ptr(m), X[s])?,
                    Size::S64 => asm.movsd_2(qword_ptr(m), X[s])?,
                }
            }
            MInst::FGlobalGet {
                dst,
                vmctx_off,
                size,
                ..
            } => {
                let (t, d) = (r(0), r(1));
                asm.mov(R64[t], qword_ptr(r14 + *vmctx_off as i32))?;
                if self.vcode.is_v128[dst.vreg()] {
                    asm.movdqu(X[d], xmmword_ptr(R64[t]))?;
                } else {
                    match size {
                        Size::S32 => asm.movss(X[d], dword_ptr(R64[t]))?,
                        Size::S64 => asm.movsd_2(X[d], qword_ptr(R64[t]))?,
                    }
                }
                defs.push((d, *dst));
            }
            MInst::Load {
                dst,
                addr,
                width,
                signed,
                size,
            } => {
                let (i, d) = (r(0), r(1));
                let m = r15 + R64[i] + addr.disp;
                match (width, signed, size) {
                    (1, false, _) => asm.movzx(R32[d], byte_ptr(m))?,
                    (2, false, _) => asm.movzx(R32[d], word_ptr(m))?,
                    (4, false, _) => asm.mov(R32[d], dword_ptr(m))?,
                    (1, true, Size::S32) => asm.movsx(R32[d], byte_ptr(m))?,
                    (2, true, Size::S32) => asm.movsx(R32[d], word_ptr(m))?,
                    (4, true, Size::S32) => asm.mov(R32[d], dword_ptr(m))?,
                    (1, true, Size::S64) => asm.movsx(R64[d], byte_ptr(m))?,
                    (2, true, Size::S64) => asm.movsx(R64[d], word_ptr(m))?,
                    (4, true, Size::S64) => asm.movsxd(R64[d], dword_ptr(m))?,
                    _ => asm.mov(R64[d], qword_ptr(m))?,
                }
                defs.push((d, *dst));
            }
            MInst::Store {
                addr,
                width,
                src: Rhs::Imm(k),
            } => {
                let m = r15 + R64[r(0)] + addr.disp;
                match width {
                    1 => asm.mov(byte_ptr(m), *k)?,
                    2 => asm.mov(word_ptr(m), *k)?,
                    4 => asm.mov(dword_ptr(m), *k)?,
                    _ => asm.mov(qword_ptr(m), *k)?,
                }
            }
            MInst::Store { addr, width, .. } => {
                let (i, s) = (r(0), r(1));
                let m = r15 + R64[i] + addr.disp;
                match width {
                    1 => asm.mov(byte_ptr(m), R8[s])?,
                    2 => asm.mov(word_ptr(m), R16[s])?,
                    4 => asm.mov(dword_ptr(m), R32[s])?,
                    _ => asm.mov(qword_ptr(m), R64[s])?,
                }
            }
            MInst::FarHeapAddr {
                dst,
                index: _,
                offset,
                width,
                limit,
                ..
            } => {
                let (i, t, d) = (r(0), r(1), r(2));
                let oob = self.trap_label(TrapCode::HeapOutOfBounds);
                let asm = &mut *self.asm;
                asm.mov(R64[t], *limit - *width as u64)?;
                asm.mov(R64[d], *offset)?;
                asm.add(R64[d], R64[i])?;
                asm.cmp(R64[d], R64[t])?;
                asm.ja(oob)?;
                defs.push((d, *dst));
            }
            MInst::HeapCheck { end, dst, .. } => {
                let (i, t) = (R64[r(0)], R64[r(1)]);
                let oob = self.trap_label(TrapCode::HeapOutOfBounds);
                let asm = &mut *self.asm;
                // t = heap_bytes - end, trapping on borrow; then index <= t.
                asm.mov(t, qword_ptr(r14 + VmCtxLayout::HEAP_BYTES as i32))?;
                asm.sub(t, *end as i32)?;
                asm.jb(oob)?;
                asm.cmp(i, t)?;
                asm.ja(oob)?;
                defs.push((r(2), *dst));
            }
            MInst::StoreFrame { src, off } => {
                let m = qword_ptr(rsp + *off as i32);
                if self.vcode.is_v128[src.vreg()] {
                    asm.movdqu(xmmword_ptr(rsp + *off as i32), X[r(0)])?;
                } else if src.class() == RegClass::Float {
                    asm.movsd_2(m, X[r(0)])?;
                } else {
                    asm.mov(m, R64[r(0)])?;
                }
            }
            MInst::StoreStackResult { src, slot } => {
                let m = qword_ptr(rbp + (16 + 8 * *slot) as i32);
                if self.vcode.is_v128[src.vreg()] {
                    asm.movdqu(xmmword_ptr(rbp + (16 + 8 * *slot) as i32), X[r(0)])?;
                } else if src.class() == RegClass::Float {
                    asm.movsd_2(m, X[r(0)])?;
                } else {
                    asm.mov(m, R64[r(0)])?;
                }
            }
            MInst::LoadFrame { dst, off } => {
                let m = qword_ptr(rsp + *off as i32);
                if self.vcode.is_v128[dst.vreg()] {
                    asm.movdqu(X[r(0)], xmmword_ptr(rsp + *off as i32))?;
                } else if dst.class() == RegClass::Float {
                    asm.movsd_2(X[r(0)], m)?;
                } else if self.vcode.is_i32[dst.vreg()] {
                    // An i32 result: the 32-bit load zero-extends, whatever
                    // the host left in the slot's upper half.
                    asm.mov(R32[r(0)], dword_ptr(rsp + *off as i32))?;
                } else {
                    asm.mov(R64[r(0)], m)?;
                }
                defs.push((r(0), *dst));
            }
            MInst::GlobalGet {
                dst,
                vmctx_off,
                size,
            } => {
                let d = r(0);
                asm.mov(R64[d], qword_ptr(r14 + *vmctx_off as i32))?;
                match size {
                    Size::S32 => asm.mov(R32[d], dword_ptr(R64[d]))?,
                    Size::S64 => asm.mov(R64[d], qword_ptr(R64[d]))?,
                }
                defs.push((d, *dst));
            }
            MInst::GlobalSet {
                src,
                vmctx_off,
                size,
                ..
            } => {
                let (s, t) = (r(0), r(1));
                asm.mov(R64[t], qword_ptr(r14 + *vmctx_off as i32))?;
                if self.vcode.is_v128[src.vreg()] {
                    asm.movdqu(xmmword_ptr(R64[t]), X[s])?;
                } else if src.class() == RegClass::Float {
                    match size {
                        Size::S32 => asm.movss(dword_ptr(R64[t]), X[s])?,
                        Size::S64 => asm.movsd_2(qword_ptr(R64[t]), X[s])?,
                    }
                } else {
                    match size {
                        Size::S32 => asm.mov(dword_ptr(R64[t]), R32[s])?,
                        Size::S64 => asm.mov(qword_ptr(R64[t]), R64[s])?,
                    }
                }
            }
            MInst::MemorySize { dst } => {
                let d = r(0);
                asm.mov(R64[d], qword_ptr(r14 + VmCtxLayout::HEAP_BYTES as i32))?;
                asm.shr(R64[d], 16)?;
                defs.push((d, *dst));
            }
            MInst::MemoryGrow { dst, .. } => {
                asm.mov(esi, esi)?;
                asm.mov(rdi, r14)?;
                asm.call(qword_ptr(
                    r14 + builtin(BuiltinKind::MemoryGrow).slot as i32,
                ))?;
                asm.mov(eax, eax)?;
                defs.push((0, *dst));
            }
            MInst::Builtin {
                field,
                op,
                ret,
                trap,
                trap_when,
                ..
            } => {
                let trap = self.trap_label(*trap);
                let asm = &mut *self.asm;
                asm.mov(rdi, r14)?;
                asm.mov(rsi, *op)?;
                asm.call(qword_ptr(r14 + *field as i32))?;
                match trap_when {
                    pcc::vmctx::TrapWhen::NonZero => {
                        asm.test(eax, eax)?;
                        asm.jne(trap)?;
                    }
                    pcc::vmctx::TrapWhen::AllOnes => {
                        asm.cmp(rax, -1)?;
                        asm.je(trap)?;
                    }
                    pcc::vmctx::TrapWhen::Never => {}
                }
                if let Some(v) = ret {
                    if self.vcode.is_i32[v.vreg()] {
                        self.asm.mov(eax, eax)?;
                    }
                    defs.push((0, *v));
                }
            }
            MInst::TableSize { dst, table_off } => {
                let d = r(0);
                asm.mov(R64[d], qword_ptr(r14 + *table_off as i32))?;
                asm.mov(R32[d], dword_ptr(R64[d] + VmCtxLayout::TABLE_LEN as i32))?;
                defs.push((d, *dst));
            }
            MInst::Call {
                target, defs: d, ..
            } => {
                let CallTarget::Direct(func) = target;
                asm.call(self.func_labels[*func as usize])?;
                for (v, p) in d {
                    defs.push((p.hw_enc(), *v));
                }
            }
            MInst::HostCall { import, area } => {
                let trap = self.trap_label(TrapCode::HostTrap);
                let asm = &mut *self.asm;
                asm.mov(rdi, r14)?;
                asm.mov(esi, *import)?;
                asm.lea(rdx, qword_ptr(rsp + *area as i32))?;
                asm.call(qword_ptr(r14 + builtin(BuiltinKind::HostCall).slot as i32))?;
                asm.test(eax, eax)?;
                asm.jne(trap)?;
            }
            MInst::IndirectTarget {
                table_off,
                sig_off,
                dst,
                ..
            } => {
                let (i, t, d) = (r(0), r(1), r(2));
                let oob = self.trap_label(TrapCode::TableOutOfBounds);
                let null = self.trap_label(TrapCode::IndirectCallToNull);
                let bad = self.trap_label(TrapCode::BadSignature);
                let asm = &mut *self.asm;
                let (i, t, d) = (R64[i], R64[t], R64[d]);
                // d = &tables[table]; bound check; d = &elems[i] (24-byte elements).
                asm.mov(d, qword_ptr(r14 + *table_off as i32))?;
                asm.cmp(i, qword_ptr(d + VmCtxLayout::TABLE_LEN as i32))?;
                asm.jae(oob)?;
                asm.mov(d, qword_ptr(d + VmCtxLayout::TABLE_ELEMS as i32))?;
                asm.lea(t, qword_ptr(i + i * 2))?;
                asm.lea(d, qword_ptr(d + t * 8))?;
                asm.cmp(qword_ptr(d + VmCtxLayout::ELEM_CODE as i32), 0)?;
                asm.je(null)?;
                asm.mov(t, qword_ptr(r14 + *sig_off as i32))?;
                asm.cmp(qword_ptr(d + VmCtxLayout::ELEM_SIG as i32), t)?;
                asm.jne(bad)?;
                defs.push((r(2), *dst));
            }
            MInst::CallIndirect { uses, defs: d, .. } => {
                let e = R64[r(uses.len())];
                let save = qword_ptr(rsp + self.vmctx_slot as i32);
                asm.mov(save, r14)?;
                asm.mov(r14, qword_ptr(e + VmCtxLayout::ELEM_VMCTX as i32))?;
                asm.mov(r15, qword_ptr(r14 + VmCtxLayout::HEAP_BASE as i32))?;
                asm.call(qword_ptr(e + VmCtxLayout::ELEM_CODE as i32))?;
                asm.mov(r14, save)?;
                asm.mov(r15, qword_ptr(r14 + VmCtxLayout::HEAP_BASE as i32))?;
                for (v, p) in d {
                    defs.push((p.hw_enc(), *v));
                }
            }
            MInst::Jmp { target, .. } => {
                let t = resolve(target);
                if Some(t) != jump_elided_to {
                    asm.jmp(labels[t.index()])?;
                }
            }
            MInst::Brif { then, else_, .. } | MInst::FBrif { then, else_, .. } => {
                let (t, e) = (resolve(then), resolve(else_));
                if t == e {
                    // Both edges threaded to one block: nothing to test.
                    if Some(t) != jump_elided_to {
                        asm.jmp(labels[t.index()])?;
                    }
                } else {
                    let cond = match &mi {
                        MInst::Brif { size, cond, b, .. } => {
                            let b_reg = regs.get(1).copied().unwrap_or(usize::MAX);
                            compare(asm, *size, r(0), *b, b_reg)?;
                            *cond
                        }
                        MInst::FBrif { size, cond, .. } => {
                            ucomis(asm, *size, X[r(0)], X[r(1)])?;
                            match cond {
                                FCond::A => Cond::A,
                                FCond::Ae => Cond::Ae,
                                FCond::Eq | FCond::Ne => unreachable!("eq/ne are not fused"),
                            }
                        }
                        _ => unreachable!("a conditional branch"),
                    };
                    branch(asm, cond, (t, e), falls_to, labels)?;
                }
            }
            MInst::BrTable {
                targets,
                default,
                table: None,
                ..
            } => {
                let i = R32[r(0)];
                for (k, t) in targets.iter().enumerate() {
                    asm.cmp(i, k as u32)?;
                    asm.je(labels[t.index()])?;
                }
                asm.jmp(labels[default.index()])?;
            }
            MInst::BrTable {
                targets, default, ..
            } => {
                // The bound check refines the zero-extended copy of the
                // index (the validator's `cmp r32, imm; jae` rule), the
                // table's address plus 8 times it is a proved entry, and
                // each entry is a `jmp rel32` padded to 8 bytes with int3.
                let (i, t, e) = (r(0), r(1), r(2));
                let mut table = asm.create_label();
                asm.mov(R32[t], R32[i])?;
                asm.cmp(R32[t], targets.len() as u32)?;
                asm.jae(labels[default.index()])?;
                asm.lea(R64[e], ptr(table))?;
                asm.lea(R64[e], qword_ptr(R64[e] + R64[t] * 8))?;
                asm.jmp(R64[e])?;
                for (k, target) in targets.iter().enumerate() {
                    if k == 0 {
                        asm.set_label(&mut table)?;
                    }
                    // The rel32 is patched once the block's offset is known:
                    // the encoder would shorten a `jmp label` that fits rel8.
                    let at = asm.instructions().len();
                    self.entry_blocks.push((at, target.index()));
                    asm.db(&JUMP_ENTRY)?;
                }
            }
            MInst::Ret { .. } => {
                for &(r, k) in &self.saved {
                    asm.mov(R64[r as usize], qword_ptr(rsp + k))?;
                }
                asm.mov(rsp, rbp)?;
                asm.pop(rbp)?;
                asm.ret()?;
            }
            MInst::Trap { code } => {
                let at = self.idx();
                self.traps.push((at, *code));
                self.asm.ud2()?;
            }
            MInst::Throw { tag } => {
                asm.mov(rdi, r14)?;
                asm.mov(esi, *tag)?;
                asm.lea(rdx, qword_ptr(rsp))?;
                asm.call(qword_ptr(r14 + builtin(BuiltinKind::Throw).slot as i32))?;
            }
            MInst::ThrowRef { .. } => {
                asm.mov(rdi, r14)?;
                asm.call(qword_ptr(r14 + builtin(BuiltinKind::ThrowRef).slot as i32))?;
            }
            MInst::RestorePinned => {
                asm.mov(r14, qword_ptr(rsp + self.vmctx_slot as i32))?;
                asm.mov(r15, qword_ptr(r14 + VmCtxLayout::HEAP_BASE as i32))?;
            }
            MInst::ExnLanded { dst } => {
                asm.mov(rdi, r14)?;
                asm.call(qword_ptr(r14 + builtin(BuiltinKind::ExnLanded).slot as i32))?;
                defs.push((0, *dst));
            }
            MInst::ExnCatch { tag, dst, .. } => {
                asm.mov(rdi, r14)?;
                asm.mov(edx, *tag)?;
                asm.lea(rcx, qword_ptr(rsp))?;
                asm.call(qword_ptr(r14 + builtin(BuiltinKind::ExnCatch).slot as i32))?;
                asm.mov(eax, eax)?;
                defs.push((0, *dst));
            }
            MInst::Invoke { .. } => unreachable!("an invoke's call is never an invoke"),
        }
        if let Some((normal, landing)) = invoke {
            let call = (call_from..self.idx())
                .rev()
                .find(|&k| self.asm.instructions()[k].mnemonic() == iced_x86::Mnemonic::Call)
                .expect("an invoke emits a call");
            self.exn_blocks.push((call, landing.index()));
            let t = self.resolve[normal.index()];
            if Some(t) != jump_elided_to {
                self.asm.jmp(labels[t.index()])?;
            }
        }
        // Clobbers forget, defs (temporaries too) overwrite: the same
        // transfer the block-entry dataflow used.
        holds::apply_inst(&mut self.holds, self.vcode, self.out, inst, self.spill_base);
        for (reg, v) in defs {
            self.defined(reg_loc(v.class(), reg), v);
        }
        Ok(())
    }

    /// Division by a register: trap on 0, and on MIN / -1 for `div_s`
    /// (`rem_s` by -1 is 0, which idiv would fault on for MIN).
    fn checked_divide(&mut self, kind: DivKind, wide: bool) -> Result<(), IcedError> {
        let dz = self.trap_label(TrapCode::IntegerDivisionByZero);
        let ov = self.trap_label(TrapCode::IntegerOverflow);
        let asm = &mut *self.asm;
        if wide {
            asm.test(rcx, rcx)?
        } else {
            asm.test(ecx, ecx)?
        }
        asm.je(dz)?;
        match kind {
            DivKind::DivU | DivKind::RemU => divide(asm, false, wide)?,
            DivKind::DivS => {
                let mut ok = asm.create_label();
                if wide {
                    asm.cmp(rcx, -1)?
                } else {
                    asm.cmp(ecx, -1)?
                }
                asm.jne(ok)?;
                if wide {
                    asm.mov(rdx, i64::MIN as u64)?;
                    asm.cmp(rax, rdx)?;
                } else {
                    asm.cmp(eax, i32::MIN)?;
                }
                asm.je(ov)?;
                asm.set_label(&mut ok)?;
                divide(asm, true, wide)?;
            }
            DivKind::RemS => {
                // x rem -1 is 0; idiv would raise #DE for MIN rem -1.
                let mut ok = asm.create_label();
                let mut done = asm.create_label();
                if wide {
                    asm.cmp(rcx, -1)?
                } else {
                    asm.cmp(ecx, -1)?
                }
                asm.jne(ok)?;
                asm.xor(edx, edx)?;
                asm.jmp(done)?;
                asm.set_label(&mut ok)?;
                divide(asm, true, wide)?;
                asm.set_label(&mut done)?;
                // `done` needs an instruction to bind to.
                asm.nop()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ones_shifted;

    /// The constant `pcmpeqd` + shift builds, for a (width, left, count).
    fn built((w, left, k): (u32, bool, u32)) -> [u64; 2] {
        let ones = u64::MAX >> (64 - w);
        let lane = if left { (ones << k) & ones } else { ones >> k };
        let half = (0..64 / w).fold(0u64, |acc, j| acc | lane << (w * j));
        [half, half]
    }

    #[test]
    fn constants_from_shifted_ones_are_exact() {
        for w in [16u32, 32, 64] {
            for k in 1..w {
                for left in [false, true] {
                    let bits = built((w, left, k));
                    let found = ones_shifted(bits).expect("a shifted run of ones");
                    assert_eq!(built(found), bits, "{w} {left} {k}");
                }
            }
        }
        // Not a run of ones in every lane alike: the general path.
        for bits in [
            [0, 0],
            [u64::MAX, u64::MAX],
            [0x8000_0000_0000_0000, 0],
            [0x0101_0101_0101_0101; 2],
            [0x4330_0000_0000_0000; 2],
            [0x0001_0000_0001_0000; 2],
            [0x0000_ffff_0000_fffe; 2],
        ] {
            assert_eq!(ones_shifted(bits), None, "{bits:x?}");
        }
    }
}
