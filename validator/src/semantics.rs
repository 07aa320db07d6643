//! The validator's x86-64 semantics: one table of allowed instruction forms,
//! deny by default. A form is an iced-x86 `Code` (mnemonic × operand kinds ×
//! operand sizes); its row names the operation and the registers it writes
//! besides its destination operand. Anything without a row is rejected, and
//! so is any instruction whose decoding is ambiguous or non-canonical
//! (`check_form`). After a row is applied, every register and memory write
//! that iced-x86's instruction info reports must be one the row accounts for
//! (`check_accounted`), so a row can't silently miss an effect.
//!
//! Results reach registers only through `State::write`, the one width rule.

use iced_x86::{
    Code, Decoder, DecoderOptions, Encoder, Instruction, InstructionInfoFactory, Mnemonic,
    OpAccess, OpKind, Register,
};
use pcc::VmCtxLayout;

use crate::state::{
    add, gpr_width, mask, mul, sub, AVal, CmpRhs, Flags, Stack, State, U32_MAX, UNKNOWN,
};

/// What a row does. Operand widths come from the decoded operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// dst := src (a load, a store, a register copy or an immediate).
    Mov,
    /// dst := zero-extended src.
    MovZx,
    /// dst := sign-extended src.
    MovSx,
    /// dst := the address computation of the memory operand (no access).
    Lea,
    Add,
    Sub,
    And,
    Or,
    Xor,
    /// Two-operand `imul r, r/m`: the low half of the product.
    Imul,
    /// Three-operand `imul r, r, imm`: the low half of the second operand
    /// times the (sign-extended) immediate; the first is only written.
    Imul3,
    Shl,
    Shr,
    Sar,
    Rotate,
    /// `bts`/`btr`/`btc r, imm`: one bit of the register changes.
    BitModify,
    /// `lzcnt`/`tzcnt`/`popcnt`: at most the operand's bit count.
    Count,
    /// `cmovcc`: the old value or the source.
    Cmov,
    /// `setcc r8`: 0 or 1 in the low byte.
    Set,
    Cmp,
    Test,
    /// `cdq`/`cqo`: edx/rdx := the sign of eax/rax.
    SignFill,
    /// `div`/`idiv r`: rax and rdx at the operand width.
    Divide,
    /// One-operand `mul r64`: the 128-bit product of rax and r in rdx:rax
    /// (a division by a constant as a multiplication by its reciprocal).
    MulWide,
    /// An integer result from an SSE register (`movd r, xmm`, `cvttsd2si`).
    FromSse,
    /// Writes an SSE register only (arithmetic, conversions, loads), or only
    /// the flags (`ucomiss`).
    Sse,
    /// `movss`/`movsd`/`movdqu [mem], xmm`.
    SseStore,
    /// Packed-integer SSE on registers only (`paddd xmm, xmm`, `pinsrq xmm,
    /// r64, k`): writes an SSE register. No memory form: a legacy-SSE memory
    /// operand must be 16-byte aligned, and a fault there would be no trap
    /// the runtime declared.
    Vector,
    Jcc,
    Jmp,
    Call,
    Ret,
    /// `push rbp`, the prologue's only.
    Push,
    /// `pop rbp`, the epilogue's only.
    Pop,
    Ud2,
    Nop,
    /// `jmp r64`: only to a proved jump-table entry (`AVal::JumpEntry`).
    JmpTable,
    /// `int3`: the padding between jump-table entries; never reached.
    Int3,
}

/// One allowed form.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub code: Code,
    pub op: Op,
    /// Registers written besides the destination operand (full registers).
    pub implicit: &'static [Register],
}

const fn r(code: Code, op: Op) -> Row {
    Row {
        code,
        op,
        implicit: &[],
    }
}

const fn ri(code: Code, op: Op, implicit: &'static [Register]) -> Row {
    Row { code, op, implicit }
}

const RSP_ONLY: &[Register] = &[Register::RSP];
const RAX_RDX: &[Register] = &[Register::RAX, Register::RDX];
const RDX_ONLY: &[Register] = &[Register::RDX];

use Code as C;
use Op::*;

/// Every instruction form the validator accepts.
#[rustfmt::skip]
pub const ROWS: &[Row] = &[
    // Moves: loads, stores, copies, immediates.
    r(C::Mov_r64_rm64, Mov), r(C::Mov_rm64_r64, Mov), r(C::Mov_r32_rm32, Mov), r(C::Mov_rm32_r32, Mov),
    r(C::Mov_rm16_r16, Mov), r(C::Mov_rm8_r8, Mov),
    r(C::Mov_r64_imm64, Mov), r(C::Mov_r32_imm32, Mov), r(C::Mov_rm64_imm32, Mov), r(C::Mov_rm32_imm32, Mov),
    r(C::Mov_rm16_imm16, Mov), r(C::Mov_rm8_imm8, Mov),
    r(C::Movzx_r32_rm8, MovZx), r(C::Movzx_r32_rm16, MovZx), r(C::Movzx_r64_rm8, MovZx), r(C::Movzx_r64_rm16, MovZx),
    r(C::Movsx_r32_rm8, MovSx), r(C::Movsx_r32_rm16, MovSx), r(C::Movsx_r64_rm8, MovSx), r(C::Movsx_r64_rm16, MovSx),
    r(C::Movsxd_r64_rm32, MovSx),
    r(C::Lea_r64_m, Lea), r(C::Lea_r32_m, Lea),
    // Integer arithmetic at 32 and 64 bits (8-bit logic on setcc bytes).
    r(C::Add_rm32_r32, Add), r(C::Add_rm64_r64, Add), r(C::Add_r32_rm32, Add), r(C::Add_r64_rm64, Add),
    r(C::Add_rm32_imm8, Add), r(C::Add_rm32_imm32, Add), r(C::Add_rm64_imm8, Add), r(C::Add_rm64_imm32, Add),
    r(C::Add_EAX_imm32, Add), r(C::Add_RAX_imm32, Add),
    r(C::Sub_rm32_r32, Sub), r(C::Sub_rm64_r64, Sub), r(C::Sub_r32_rm32, Sub), r(C::Sub_r64_rm64, Sub),
    r(C::Sub_rm32_imm8, Sub), r(C::Sub_rm32_imm32, Sub), r(C::Sub_rm64_imm8, Sub), r(C::Sub_rm64_imm32, Sub),
    r(C::Sub_EAX_imm32, Sub), r(C::Sub_RAX_imm32, Sub),
    r(C::And_rm32_r32, And), r(C::And_rm64_r64, And), r(C::And_r32_rm32, And), r(C::And_r64_rm64, And),
    r(C::And_rm32_imm8, And), r(C::And_rm32_imm32, And), r(C::And_rm64_imm8, And), r(C::And_rm64_imm32, And),
    r(C::And_EAX_imm32, And), r(C::And_RAX_imm32, And), r(C::And_rm8_r8, And),
    r(C::Or_rm32_r32, Or), r(C::Or_rm64_r64, Or), r(C::Or_r32_rm32, Or), r(C::Or_r64_rm64, Or),
    r(C::Or_rm32_imm8, Or), r(C::Or_rm32_imm32, Or), r(C::Or_rm64_imm8, Or), r(C::Or_rm64_imm32, Or),
    r(C::Or_EAX_imm32, Or), r(C::Or_RAX_imm32, Or), r(C::Or_rm8_r8, Or),
    r(C::Xor_rm32_r32, Xor), r(C::Xor_rm64_r64, Xor), r(C::Xor_r32_rm32, Xor), r(C::Xor_r64_rm64, Xor),
    r(C::Xor_rm32_imm8, Xor), r(C::Xor_rm32_imm32, Xor), r(C::Xor_rm64_imm8, Xor), r(C::Xor_rm64_imm32, Xor),
    r(C::Xor_EAX_imm32, Xor), r(C::Xor_RAX_imm32, Xor), r(C::Xor_rm8_r8, Xor),
    r(C::Imul_r32_rm32, Imul), r(C::Imul_r64_rm64, Imul),
    r(C::Imul_r32_rm32_imm8, Imul3), r(C::Imul_r32_rm32_imm32, Imul3),
    r(C::Imul_r64_rm64_imm8, Imul3), r(C::Imul_r64_rm64_imm32, Imul3),
    r(C::Shl_rm32_CL, Shl), r(C::Shl_rm64_CL, Shl), r(C::Shl_rm32_imm8, Shl), r(C::Shl_rm64_imm8, Shl),
    r(C::Shl_rm32_1, Shl), r(C::Shl_rm64_1, Shl),
    r(C::Shr_rm32_CL, Shr), r(C::Shr_rm64_CL, Shr), r(C::Shr_rm32_imm8, Shr), r(C::Shr_rm64_imm8, Shr),
    r(C::Shr_rm32_1, Shr), r(C::Shr_rm64_1, Shr),
    r(C::Sar_rm32_CL, Sar), r(C::Sar_rm64_CL, Sar), r(C::Sar_rm32_imm8, Sar), r(C::Sar_rm64_imm8, Sar),
    r(C::Sar_rm32_1, Sar), r(C::Sar_rm64_1, Sar),
    r(C::Rol_rm32_CL, Rotate), r(C::Rol_rm64_CL, Rotate), r(C::Ror_rm32_CL, Rotate), r(C::Ror_rm64_CL, Rotate),
    r(C::Rol_rm32_imm8, Rotate), r(C::Rol_rm64_imm8, Rotate), r(C::Ror_rm32_imm8, Rotate), r(C::Ror_rm64_imm8, Rotate),
    r(C::Rol_rm32_1, Rotate), r(C::Rol_rm64_1, Rotate), r(C::Ror_rm32_1, Rotate), r(C::Ror_rm64_1, Rotate),
    r(C::Bts_rm32_imm8, BitModify), r(C::Bts_rm64_imm8, BitModify), r(C::Btr_rm32_imm8, BitModify),
    r(C::Btr_rm64_imm8, BitModify), r(C::Btc_rm32_imm8, BitModify), r(C::Btc_rm64_imm8, BitModify),
    r(C::Lzcnt_r32_rm32, Count), r(C::Lzcnt_r64_rm64, Count), r(C::Tzcnt_r32_rm32, Count),
    r(C::Tzcnt_r64_rm64, Count), r(C::Popcnt_r32_rm32, Count), r(C::Popcnt_r64_rm64, Count),
    r(C::Cmovne_r32_rm32, Cmov), r(C::Cmovne_r64_rm64, Cmov), r(C::Cmova_r32_rm32, Cmov), r(C::Cmova_r64_rm64, Cmov),
    // The other conditions (a select on a fused compare): the row's value is
    // the join of both operands whatever the flags say.
    r(C::Cmove_r32_rm32, Cmov), r(C::Cmove_r64_rm64, Cmov), r(C::Cmovae_r32_rm32, Cmov), r(C::Cmovae_r64_rm64, Cmov),
    r(C::Cmovb_r32_rm32, Cmov), r(C::Cmovb_r64_rm64, Cmov), r(C::Cmovbe_r32_rm32, Cmov), r(C::Cmovbe_r64_rm64, Cmov),
    r(C::Cmovl_r32_rm32, Cmov), r(C::Cmovl_r64_rm64, Cmov), r(C::Cmovle_r32_rm32, Cmov), r(C::Cmovle_r64_rm64, Cmov),
    r(C::Cmovg_r32_rm32, Cmov), r(C::Cmovg_r64_rm64, Cmov), r(C::Cmovge_r32_rm32, Cmov), r(C::Cmovge_r64_rm64, Cmov),
    r(C::Seta_rm8, Set), r(C::Setae_rm8, Set), r(C::Setb_rm8, Set), r(C::Setbe_rm8, Set), r(C::Sete_rm8, Set),
    r(C::Setne_rm8, Set), r(C::Setg_rm8, Set), r(C::Setge_rm8, Set), r(C::Setl_rm8, Set), r(C::Setle_rm8, Set),
    r(C::Setp_rm8, Set), r(C::Setnp_rm8, Set),
    r(C::Cmp_rm32_r32, Cmp), r(C::Cmp_rm64_r64, Cmp), r(C::Cmp_r32_rm32, Cmp), r(C::Cmp_r64_rm64, Cmp),
    r(C::Cmp_rm32_imm8, Cmp), r(C::Cmp_rm32_imm32, Cmp), r(C::Cmp_rm64_imm8, Cmp), r(C::Cmp_rm64_imm32, Cmp),
    r(C::Cmp_EAX_imm32, Cmp), r(C::Cmp_RAX_imm32, Cmp),
    r(C::Test_rm32_r32, Test), r(C::Test_rm64_r64, Test),
    ri(C::Cdq, SignFill, RDX_ONLY), ri(C::Cqo, SignFill, RDX_ONLY),
    ri(C::Div_rm32, Divide, RAX_RDX), ri(C::Div_rm64, Divide, RAX_RDX),
    ri(C::Idiv_rm32, Divide, RAX_RDX), ri(C::Idiv_rm64, Divide, RAX_RDX),
    ri(C::Mul_rm64, MulWide, RAX_RDX),
    // SSE: integer results, register-only arithmetic and loads, stores.
    r(C::Movd_rm32_xmm, FromSse), r(C::Movq_rm64_xmm, FromSse),
    r(C::Cvttss2si_r32_xmmm32, FromSse), r(C::Cvttss2si_r64_xmmm32, FromSse),
    r(C::Cvttsd2si_r32_xmmm64, FromSse), r(C::Cvttsd2si_r64_xmmm64, FromSse),
    r(C::Movd_xmm_rm32, Sse), r(C::Movq_xmm_rm64, Sse),
    r(C::Movss_xmm_xmmm32, Sse), r(C::Movsd_xmm_xmmm64, Sse),
    r(C::Addss_xmm_xmmm32, Sse), r(C::Addsd_xmm_xmmm64, Sse), r(C::Subss_xmm_xmmm32, Sse), r(C::Subsd_xmm_xmmm64, Sse),
    r(C::Mulss_xmm_xmmm32, Sse), r(C::Mulsd_xmm_xmmm64, Sse), r(C::Divss_xmm_xmmm32, Sse), r(C::Divsd_xmm_xmmm64, Sse),
    r(C::Minss_xmm_xmmm32, Sse), r(C::Minsd_xmm_xmmm64, Sse), r(C::Maxss_xmm_xmmm32, Sse), r(C::Maxsd_xmm_xmmm64, Sse),
    r(C::Sqrtss_xmm_xmmm32, Sse), r(C::Sqrtsd_xmm_xmmm64, Sse),
    r(C::Roundss_xmm_xmmm32_imm8, Sse), r(C::Roundsd_xmm_xmmm64_imm8, Sse),
    r(C::Cvtss2sd_xmm_xmmm32, Sse), r(C::Cvtsd2ss_xmm_xmmm64, Sse),
    r(C::Cvtsi2ss_xmm_rm32, Sse), r(C::Cvtsi2ss_xmm_rm64, Sse), r(C::Cvtsi2sd_xmm_rm32, Sse), r(C::Cvtsi2sd_xmm_rm64, Sse),
    // 16-byte legacy-SSE forms fault when a memory operand is misaligned,
    // a fault no trap site declares: registers only.
    r(C::Movaps_xmm_xmmm128, Vector), r(C::Xorps_xmm_xmmm128, Vector), r(C::Andps_xmm_xmmm128, Vector),
    r(C::Orps_xmm_xmmm128, Vector),
    r(C::Ucomiss_xmm_xmmm32, Sse), r(C::Ucomisd_xmm_xmmm64, Sse),
    r(C::Movss_xmmm32_xmm, SseStore), r(C::Movsd_xmmm64_xmm, SseStore),
    // v128: 16-byte loads and stores (unaligned, so any address may be
    // used), lane arithmetic and logic on registers.
    r(C::Movdqu_xmm_xmmm128, Sse), r(C::Movdqu_xmmm128_xmm, SseStore),
    r(C::Pand_xmm_xmmm128, Vector), r(C::Por_xmm_xmmm128, Vector), r(C::Pxor_xmm_xmmm128, Vector), r(C::Pandn_xmm_xmmm128, Vector),
    r(C::Paddb_xmm_xmmm128, Vector), r(C::Paddw_xmm_xmmm128, Vector), r(C::Paddd_xmm_xmmm128, Vector), r(C::Paddq_xmm_xmmm128, Vector),
    r(C::Psubb_xmm_xmmm128, Vector), r(C::Psubw_xmm_xmmm128, Vector), r(C::Psubd_xmm_xmmm128, Vector), r(C::Psubq_xmm_xmmm128, Vector),
    r(C::Paddsb_xmm_xmmm128, Vector), r(C::Paddusb_xmm_xmmm128, Vector), r(C::Psubsb_xmm_xmmm128, Vector), r(C::Psubusb_xmm_xmmm128, Vector),
    r(C::Pminsb_xmm_xmmm128, Vector), r(C::Pminub_xmm_xmmm128, Vector), r(C::Pmaxsb_xmm_xmmm128, Vector), r(C::Pmaxub_xmm_xmmm128, Vector),
    r(C::Pavgb_xmm_xmmm128, Vector), r(C::Pcmpeqb_xmm_xmmm128, Vector), r(C::Pcmpgtb_xmm_xmmm128, Vector), r(C::Packsswb_xmm_xmmm128, Vector),
    r(C::Packuswb_xmm_xmmm128, Vector), r(C::Paddsw_xmm_xmmm128, Vector), r(C::Paddusw_xmm_xmmm128, Vector), r(C::Psubsw_xmm_xmmm128, Vector),
    r(C::Psubusw_xmm_xmmm128, Vector), r(C::Pmullw_xmm_xmmm128, Vector), r(C::Pminsw_xmm_xmmm128, Vector), r(C::Pminuw_xmm_xmmm128, Vector),
    r(C::Pmaxsw_xmm_xmmm128, Vector), r(C::Pmaxuw_xmm_xmmm128, Vector), r(C::Pavgw_xmm_xmmm128, Vector), r(C::Pcmpeqw_xmm_xmmm128, Vector),
    r(C::Pcmpgtw_xmm_xmmm128, Vector), r(C::Packssdw_xmm_xmmm128, Vector), r(C::Packusdw_xmm_xmmm128, Vector), r(C::Pmulld_xmm_xmmm128, Vector),
    r(C::Pminsd_xmm_xmmm128, Vector), r(C::Pminud_xmm_xmmm128, Vector), r(C::Pmaxsd_xmm_xmmm128, Vector), r(C::Pmaxud_xmm_xmmm128, Vector),
    r(C::Pcmpeqd_xmm_xmmm128, Vector), r(C::Pcmpgtd_xmm_xmmm128, Vector), r(C::Pmaddwd_xmm_xmmm128, Vector), r(C::Pcmpeqq_xmm_xmmm128, Vector),
    r(C::Addps_xmm_xmmm128, Vector), r(C::Subps_xmm_xmmm128, Vector), r(C::Mulps_xmm_xmmm128, Vector), r(C::Divps_xmm_xmmm128, Vector),
    r(C::Addpd_xmm_xmmm128, Vector), r(C::Subpd_xmm_xmmm128, Vector), r(C::Mulpd_xmm_xmmm128, Vector), r(C::Divpd_xmm_xmmm128, Vector),
    r(C::Pinsrq_xmm_rm64_imm8, Vector), r(C::Pinsrd_xmm_rm32_imm8, Vector), r(C::Pinsrw_xmm_r32m16_imm8, Vector),
    r(C::Pinsrb_xmm_r32m8_imm8, Vector), r(C::Insertps_xmm_xmmm32_imm8, Vector), r(C::Movlhps_xmm_xmm, Vector),
    r(C::Pshufb_xmm_xmmm128, Vector), r(C::Pshufd_xmm_xmmm128_imm8, Vector), r(C::Pshuflw_xmm_xmmm128_imm8, Vector),
    r(C::Punpcklqdq_xmm_xmmm128, Vector), r(C::Punpcklbw_xmm_xmmm128, Vector), r(C::Punpckhbw_xmm_xmmm128, Vector),
    // Widening (register forms only) and absolute values.
    r(C::Pmovsxbw_xmm_xmmm64, Vector), r(C::Pmovzxbw_xmm_xmmm64, Vector), r(C::Pmovsxwd_xmm_xmmm64, Vector),
    r(C::Pmovzxwd_xmm_xmmm64, Vector), r(C::Pmovsxdq_xmm_xmmm64, Vector), r(C::Pmovzxdq_xmm_xmmm64, Vector),
    r(C::Pabsb_xmm_xmmm128, Vector), r(C::Pabsw_xmm_xmmm128, Vector), r(C::Pabsd_xmm_xmmm128, Vector),
    // Rounding, square roots, conversions, 64-bit lane products (pmuludq).
    r(C::Roundps_xmm_xmmm128_imm8, Vector), r(C::Roundpd_xmm_xmmm128_imm8, Vector), r(C::Sqrtps_xmm_xmmm128, Vector),
    r(C::Sqrtpd_xmm_xmmm128, Vector), r(C::Cvtdq2ps_xmm_xmmm128, Vector), r(C::Cvtdq2pd_xmm_xmmm64, Vector),
    r(C::Cvtpd2ps_xmm_xmmm128, Vector), r(C::Cvtps2pd_xmm_xmmm64, Vector), r(C::Pmuludq_xmm_xmmm128, Vector),
    r(C::Cmpps_xmm_xmmm128_imm8, Vector), r(C::Cmppd_xmm_xmmm128_imm8, Vector), r(C::Cvttps2dq_xmm_xmmm128, Vector),
    // Float lane min/max (pmin/pmax, and Wasm's min/max sequences), the
    // unsigned and f64 saturating conversions, widening products.
    r(C::Minps_xmm_xmmm128, Vector), r(C::Minpd_xmm_xmmm128, Vector), r(C::Maxps_xmm_xmmm128, Vector),
    r(C::Maxpd_xmm_xmmm128, Vector), r(C::Andnps_xmm_xmmm128, Vector), r(C::Cvttpd2dq_xmm_xmmm128, Vector),
    r(C::Shufps_xmm_xmmm128_imm8, Vector), r(C::Pmaddubsw_xmm_xmmm128, Vector), r(C::Pmulhw_xmm_xmmm128, Vector),
    r(C::Pmulhuw_xmm_xmmm128, Vector), r(C::Pmulhrsw_xmm_xmmm128, Vector), r(C::Pmuldq_xmm_xmmm128, Vector),
    r(C::Punpcklwd_xmm_xmmm128, Vector), r(C::Punpckhwd_xmm_xmmm128, Vector), r(C::Punpckldq_xmm_xmmm128, Vector),
    // `ptest` writes the flags only (any_true, all_true).
    r(C::Ptest_xmm_xmmm128, Vector),
    // Lane shifts by an immediate or by the count in an xmm register.
    r(C::Psllw_xmm_imm8, Vector), r(C::Psllw_xmm_xmmm128, Vector), r(C::Pslld_xmm_imm8, Vector), r(C::Pslld_xmm_xmmm128, Vector),
    r(C::Psllq_xmm_imm8, Vector), r(C::Psllq_xmm_xmmm128, Vector), r(C::Psrlw_xmm_imm8, Vector), r(C::Psrlw_xmm_xmmm128, Vector),
    r(C::Psrld_xmm_imm8, Vector), r(C::Psrld_xmm_xmmm128, Vector), r(C::Psrlq_xmm_imm8, Vector), r(C::Psrlq_xmm_xmmm128, Vector),
    r(C::Psraw_xmm_imm8, Vector), r(C::Psraw_xmm_xmmm128, Vector), r(C::Psrad_xmm_imm8, Vector), r(C::Psrad_xmm_xmmm128, Vector),
    // Lanes into general registers, zero-extended to the register.
    r(C::Pextrb_r32m8_xmm_imm8, FromSse), r(C::Pextrw_r32_xmm_imm8, FromSse),
    r(C::Pextrd_rm32_xmm_imm8, FromSse), r(C::Pextrq_rm64_xmm_imm8, FromSse),
    // Lane sign bits into a 32-bit general register (bitmask), zero-extended.
    r(C::Pmovmskb_r32_xmm, FromSse), r(C::Movmskps_r32_xmm, FromSse), r(C::Movmskpd_r32_xmm, FromSse),
    // Control.
    r(C::Ja_rel8_64, Jcc), r(C::Ja_rel32_64, Jcc), r(C::Jae_rel8_64, Jcc), r(C::Jae_rel32_64, Jcc),
    r(C::Jb_rel8_64, Jcc), r(C::Jb_rel32_64, Jcc), r(C::Jbe_rel8_64, Jcc), r(C::Jbe_rel32_64, Jcc),
    r(C::Je_rel8_64, Jcc), r(C::Je_rel32_64, Jcc), r(C::Jne_rel8_64, Jcc), r(C::Jne_rel32_64, Jcc),
    r(C::Jp_rel8_64, Jcc), r(C::Jp_rel32_64, Jcc), r(C::Js_rel8_64, Jcc), r(C::Js_rel32_64, Jcc),
    r(C::Jno_rel8_64, Jcc), r(C::Jno_rel32_64, Jcc),
    // Signed conditions (a Wasm signed compare fused into its branch): no
    // refinement on either edge (`refine` ignores them), always sound.
    r(C::Jl_rel8_64, Jcc), r(C::Jl_rel32_64, Jcc), r(C::Jle_rel8_64, Jcc), r(C::Jle_rel32_64, Jcc),
    r(C::Jg_rel8_64, Jcc), r(C::Jg_rel32_64, Jcc), r(C::Jge_rel8_64, Jcc), r(C::Jge_rel32_64, Jcc),
    r(C::Jmp_rel8_64, Jmp), r(C::Jmp_rel32_64, Jmp),
    ri(C::Call_rel32_64, Call, RSP_ONLY), ri(C::Call_rm64, Call, RSP_ONLY),
    ri(C::Retnq, Ret, RSP_ONLY),
    ri(C::Push_r64, Push, RSP_ONLY), ri(C::Pop_r64, Pop, RSP_ONLY),
    r(C::Ud2, Ud2), r(C::Nopd, Nop),
    // Jump tables: `jmp r64` to a proved entry; int3 pads the entries.
    r(C::Jmp_rm64, JmpTable), r(C::Int3, Int3),
];

/// The row of a form, through a table indexed by `Code`.
pub fn row(code: Code) -> Option<&'static Row> {
    use std::sync::OnceLock;
    static INDEX: OnceLock<Vec<Option<u16>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut v = vec![None; Code::values().count()];
        for (k, row) in ROWS.iter().enumerate() {
            v[row.code as usize] = Some(k as u16);
        }
        v
    });
    index[code as usize].map(|k| &ROWS[k as usize])
}

/// Operations that may have a memory operand (loads, stores, compares
/// against memory, calls through memory). Every other row takes registers
/// and immediates only: no read-modify-write of memory.
fn memory_allowed(op: Op) -> bool {
    matches!(
        op,
        Mov | MovZx | MovSx | Lea | Cmp | Call | Sse | SseStore | FromSse
    )
}

/// Decoding-level checks on every instruction of a function (reachable or
/// not): a row exists; the bytes are the canonical encoding of what was
/// decoded (no redundant or reordered prefixes); an AMD CPU decodes the same
/// instruction; no segment, lock or repeat prefix; 64-bit addressing only;
/// only general and SSE registers, never ah/bh/ch/dh.
pub struct FormChecker {
    encoder: Encoder,
}

impl Default for FormChecker {
    fn default() -> FormChecker {
        FormChecker {
            encoder: Encoder::new(64),
        }
    }
}

impl FormChecker {
    pub fn check(&mut self, insn: &Instruction, bytes: &[u8]) -> Result<&'static Row, String> {
        check_form(insn, bytes, &mut self.encoder)
    }
}

fn check_form(insn: &Instruction, bytes: &[u8], enc: &mut Encoder) -> Result<&'static Row, String> {
    let row = row(insn.code()).ok_or("an instruction form the validator has no row for")?;
    if insn.has_lock_prefix()
        || insn.has_rep_prefix()
        || insn.has_repne_prefix()
        || insn.has_xacquire_prefix()
        || insn.has_xrelease_prefix()
    {
        return Err("lock or repeat prefix".into());
    }
    if insn.segment_prefix() != Register::None {
        return Err("segment prefix".into());
    }
    let encoded = enc.encode(insn, insn.ip()).is_ok();
    let mut buf = enc.take_buffer();
    let canonical = encoded && buf == bytes;
    buf.clear();
    enc.set_buffer(buf);
    if !canonical {
        return Err("non-canonical encoding (redundant or unexpected prefixes)".into());
    }
    // iced's AMD mode differs from Intel only in control transfers (16-bit
    // operand-size branches, far branches) among the forms with rows.
    if matches!(row.op, Jcc | Jmp | Call | Ret | JmpTable) {
        let mut amd = Decoder::with_ip(64, bytes, insn.ip(), DecoderOptions::AMD);
        if amd.decode() != *insn {
            return Err("Intel and AMD CPUs decode these bytes differently".into());
        }
    }
    for k in 0..insn.op_count() {
        match insn.op_kind(k) {
            OpKind::Register => {
                let reg = insn.op_register(k);
                if !reg.is_xmm() {
                    gpr_width(reg)?;
                }
            }
            OpKind::Memory => {
                if !memory_allowed(row.op) {
                    return Err("memory operand on a register-only row".into());
                }
                // `lea r64, [rip + d]`, nothing else rip-relative: it names
                // a jump table (`lea` gives it meaning, no access happens).
                let rip_lea = row.op == Lea
                    && insn.memory_base() == Register::RIP
                    && insn.memory_index() == Register::None;
                for reg in [insn.memory_base(), insn.memory_index()] {
                    if reg != Register::None && !reg.is_gpr64() && !rip_lea {
                        return Err(format!(
                            "address register {reg:?} is not a 64-bit general register (address-size prefix or rip-relative)"
                        )
                        .to_lowercase());
                    }
                }
            }
            OpKind::NearBranch64 => {}
            k if is_immediate(k) => {}
            other => return Err(format!("operand kind {other:?}")),
        }
    }
    Ok(row)
}

pub fn is_immediate(k: OpKind) -> bool {
    matches!(
        k,
        OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64
    )
}

/// The most entries a jump table may have.
pub const JUMP_TABLE_MAX: u64 = 1 << 20;

/// A classified memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mem {
    Frame(u32),
    /// A slot of the caller's outgoing area: a stack argument or result.
    StackSlot,
    Vm(u32),
    /// The foreign instance's heap-base field, of element `id`'s instance.
    ForeignVm(u32),
    Heap,
    Global(u32),
    TableDesc(u32, u32),
    Elem(u8, u32),
}

/// Why a step stops: a reason to reject, or a failure the environment has
/// already recorded (a heap access with its obligation and counterexample).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    Reject(String),
    Recorded,
}

impl From<String> for Stop {
    fn from(s: String) -> Stop {
        Stop::Reject(s)
    }
}

impl From<&str> for Stop {
    fn from(s: &str) -> Stop {
        Stop::Reject(s.to_string())
    }
}

/// What the semantics needs from its surroundings: memory classification
/// (with heap obligations) and what classified locations hold.
pub trait Env {
    /// Classify instruction's memory operand; `None` if it was rejected (the
    /// environment records why).
    fn classify(&mut self, insn: &Instruction, s: &State, write: bool) -> Option<Mem>;
    /// The 8-byte value at a classified location.
    fn load(&self, m: Mem, s: &State) -> AVal;
    /// Bytes of the current frame (`[rsp, rsp + frame)`).
    fn frame(&self) -> u32;
}

/// Where execution goes after an instruction.
#[derive(Clone, Debug)]
pub enum Flow {
    Next,
    /// Unconditional branch to an absolute address.
    Jump(u64),
    /// Conditional branch: the taken edge's state; the state passed in is
    /// now the fall-through's.
    Branch(u64, Box<State>),
    /// `jmp r64` to one of the `count` 8-byte entries of the jump table at
    /// `.text` offset `base`.
    Table {
        base: u32,
        count: u32,
    },
    /// A call (with its classified memory operand, if any): the caller
    /// applies the ABI, then execution falls through.
    Call(Option<Mem>),
    Ret,
    Trap,
}

/// Applies rows. Holds iced's instruction-info buffer.
pub struct Semantics {
    info: InstructionInfoFactory,
    /// Forms whose writes were found accounted for. Which operands and
    /// implicit registers a form writes is a property of its `Code` in
    /// iced's tables, so one check per form and artifact suffices.
    accounted: Vec<bool>,
}

impl Default for Semantics {
    fn default() -> Semantics {
        Semantics::new()
    }
}

impl Semantics {
    pub fn new() -> Semantics {
        Semantics {
            info: InstructionInfoFactory::new(),
            accounted: vec![],
        }
    }

    /// Apply `insn` (whose form `check_form` accepted) to `s`.
    pub fn step(
        &mut self,
        insn: &Instruction,
        row: &Row,
        s: &mut State,
        env: &mut dyn Env,
    ) -> Result<Flow, Stop> {
        let code = insn.code() as usize;
        if !self.accounted.get(code).copied().unwrap_or(false) {
            self.check_accounted(insn, row)?;
            if self.accounted.len() <= code {
                self.accounted.resize(code + 1, false);
            }
            self.accounted[code] = true;
        }
        // The epilogue is a fixed sequence: nothing else runs once it began.
        match (s.stack, row.op) {
            (Stack::Body, _) | (Stack::Unwound, Pop) | (Stack::Popped, Ret) => {}
            _ => return Err("instruction inside the epilogue (after mov rsp, rbp)".into()),
        }
        let mut mem = None;
        for k in 0..insn.op_count() {
            if insn.op_kind(k) == OpKind::Memory && row.op != Lea {
                let write = k == 0 && matches!(row.op, Mov | SseStore);
                mem = Some(env.classify(insn, s, write).ok_or(Stop::Recorded)?);
            }
        }
        let mut flags = None;
        let dst = (insn.op0_kind() == OpKind::Register).then(|| insn.op0_register());
        let width = |k: u32| -> u32 {
            match insn.op_kind(k) {
                OpKind::Register => insn.op_register(k).size() as u32,
                OpKind::Memory => insn.memory_size().size() as u32,
                _ => dst.map_or(8, |d| d.size() as u32),
            }
        };
        let read = |k: u32, s: &State| -> Result<AVal, Stop> {
            Ok(match insn.op_kind(k) {
                OpKind::Register if insn.op_register(k).is_xmm() => UNKNOWN,
                OpKind::Register => s.read(insn.op_register(k))?,
                OpKind::Memory => match mem {
                    Some(m) => env.load(m, s).truncate(width(k)),
                    None => UNKNOWN,
                },
                kind if is_immediate(kind) => AVal::constant(insn.immediate(k) & mask(width(k))),
                _ => UNKNOWN,
            })
        };
        match row.op {
            Nop => {}
            Mov | MovZx | MovSx => {
                let v = read(1, s)?;
                let v = match row.op {
                    MovSx => v.sext(width(1), width(0)),
                    _ => v,
                };
                match dst {
                    Some(d) => self.mov_to_register(insn, d, v, s)?,
                    None => store(s, mem, width(0), v),
                }
            }
            Lea => {
                let d = dst.ok_or("lea without a register destination")?;
                let v = lea(insn, s, env.frame())?;
                s.write(d, v.truncate(d.size() as u32))?;
            }
            Add | Sub | And | Or | Xor | Imul => {
                let d = dst.ok_or("arithmetic into memory")?;
                let bytes = d.size() as u32;
                let same = insn.op1_kind() == OpKind::Register && insn.op_register(1) == d;
                let (a, b) = (read(0, s)?, read(1, s)?);
                let (ar, br) = (a.range(), b.range());
                let m = mask(bytes);
                let v = match row.op {
                    Xor | Sub if same => AVal::constant(0),
                    Add => fit(add(ar, br), m),
                    Sub => fit(sub(ar, br), m),
                    Imul => fit(mul(ar, br), m),
                    And => AVal::Num(0, ar.1.min(br.1)),
                    _ => AVal::Num(0, ones_covering(ar.1.max(br.1))),
                };
                // `sub r, k` on r = heap_bytes - m wraps unless heap_bytes >=
                // m + k, which the borrow flag tells (see `refine`).
                let (dg, _) = gpr_width(d)?;
                if let (Sub, AVal::HeapBytes { minus, max }, 8) = (row.op, s.get(dg), bytes) {
                    if is_immediate(insn.op1_kind()) {
                        let k = insn.immediate(1);
                        flags = minus.checked_add(k).map(|minus| Flags::HeapSub {
                            r: dg,
                            minus,
                            max: max.saturating_sub(k),
                        });
                    }
                }
                s.write(d, v)?;
            }
            Imul3 => {
                let d = dst.ok_or("arithmetic into memory")?;
                let m = mask(d.size() as u32);
                let v = fit(mul(read(1, s)?.range(), read(2, s)?.range()), m);
                s.write(d, v)?;
            }
            Shl | Shr | Sar | Rotate | BitModify => {
                let d = dst.ok_or("shift of memory")?;
                let bytes = d.size() as u32;
                let m = mask(bytes);
                let (lo, hi) = read(0, s)?.range();
                // An immediate count (the `, 1` forms too) is masked like
                // the CPU does; a count in cl is any of 0..width.
                let count = is_immediate(insn.op1_kind())
                    .then(|| insn.immediate(1) as u32 & if bytes == 8 { 63 } else { 31 });
                let v = match (row.op, count) {
                    (Shr, None) => AVal::Num(0, hi),
                    (Sar, None) if hi <= m >> 1 => AVal::Num(0, hi),
                    (Shr, Some(k)) => AVal::Num(lo >> k, hi >> k),
                    (Sar, Some(k)) if hi <= m >> 1 => AVal::Num(lo >> k, hi >> k),
                    (Shl, Some(k)) if k < 64 && hi.leading_zeros() >= k && (hi << k) <= m => {
                        AVal::Num(lo << k, hi << k)
                    }
                    _ => AVal::Num(0, m),
                };
                s.write(d, v)?;
            }
            Count => {
                let d = dst.ok_or("count into memory")?;
                s.write(d, AVal::Num(0, 8 * d.size() as u64))?;
            }
            Cmov => {
                let d = dst.ok_or("cmov into memory")?;
                // With a 32-bit operand the destination is written (zero-
                // extended) whether or not the condition holds.
                let v = read(0, s)?.join(read(1, s)?);
                s.write(d, v)?;
            }
            Set => {
                let d = dst.ok_or("setcc into memory")?;
                s.write(d, AVal::Num(0, 1))?;
            }
            Cmp => flags = Some(compare(insn, s, mem, width(0))),
            Test => {}
            SignFill => {
                // cdq: edx is 0 or 0xffff_ffff; cqo: rdx is 0 or all ones.
                let (src, d) = if insn.code() == C::Cdq {
                    (Register::EAX, Register::EDX)
                } else {
                    (Register::RAX, Register::RDX)
                };
                let bytes = d.size() as u32;
                let v = match s.read(src)?.range() {
                    (_, hi) if hi <= mask(bytes) >> 1 => AVal::constant(0),
                    _ => AVal::Num(0, mask(bytes)),
                };
                s.write(d, v)?;
            }
            // The product's high half is at most that of the maxima's
            // product; the low half is anything.
            MulWide => {
                if width(0) != 8 {
                    return Err("mul is allowed at 64 bits only".into());
                }
                let (a, b) = (s.read(Register::RAX)?.range(), read(0, s)?.range());
                let hi = ((a.1 as u128 * b.1 as u128) >> 64) as u64;
                s.write(Register::RAX, UNKNOWN)?;
                s.write(Register::RDX, AVal::Num(0, hi))?;
            }
            Divide => {
                let bytes = width(0);
                let (a, d) = if bytes == 8 {
                    (Register::RAX, Register::RDX)
                } else {
                    (Register::EAX, Register::EDX)
                };
                s.write(a, AVal::Num(0, mask(bytes)))?;
                s.write(d, AVal::Num(0, mask(bytes)))?;
            }
            FromSse => {
                let d = dst.ok_or("SSE result into memory")?;
                s.write(d, AVal::Num(0, mask(d.size() as u32)))?;
            }
            Sse | Vector => {
                if dst.is_some_and(|d| !d.is_xmm()) {
                    return Err("SSE row writing a general register".into());
                }
            }
            SseStore => store(s, mem, width(0), UNKNOWN),
            Jcc => {
                let target = insn.near_branch_target();
                check_pinned(s)?;
                let taken = s.clone();
                refine(insn.mnemonic(), s);
                return Ok(Flow::Branch(target, Box::new(taken)));
            }
            Jmp => {
                check_pinned(s)?;
                return Ok(Flow::Jump(insn.near_branch_target()));
            }
            Call => {
                // The stack ops are the ABI's business (abi.rs).
                return Ok(Flow::Call(mem));
            }
            Ret => {
                if s.stack != Stack::Popped {
                    return Err(
                        "ret without the epilogue (mov rsp, rbp; pop rbp) on this path".into(),
                    );
                }
                check_pinned(s)?;
                return Ok(Flow::Ret);
            }
            Push => return Err("push outside the prologue".into()),
            Pop => {
                if dst != Some(Register::RBP) || s.stack != Stack::Unwound {
                    return Err("pop other than the epilogue's pop rbp after mov rsp, rbp".into());
                }
                s.stack = Stack::Popped;
            }
            Ud2 => return Ok(Flow::Trap),
            JmpTable => {
                let d = dst.ok_or("jmp through memory")?;
                check_pinned(s)?;
                return match s.read(d)? {
                    AVal::JumpEntry { base, count } => Ok(Flow::Table { base, count }),
                    v => Err(format!(
                        "indirect jump through {d:?}, which holds {v:?}, not a proved jump-table entry"
                    )
                    .into()),
                };
            }
            Int3 => return Err("int3 reached (jump-table padding is never executed)".into()),
        }
        // Rows that leave the flags keep what they say (unless they wrote a
        // register the flags describe: State::set voided them then).
        if insn.rflags_modified() != 0 {
            s.flags = flags.unwrap_or(Flags::Unknown);
        }
        Ok(Flow::Next)
    }

    /// `mov` into a register: the general case goes through the width rule;
    /// rsp, r14 and r15 have their few allowed shapes.
    fn mov_to_register(
        &self,
        insn: &Instruction,
        d: Register,
        v: AVal,
        s: &mut State,
    ) -> Result<(), Stop> {
        match d {
            Register::RSP => {
                // The epilogue's `mov rsp, rbp`.
                if insn.op1_kind() != OpKind::Register || insn.op_register(1) != Register::RBP {
                    return Err("write to rsp other than the epilogue's mov rsp, rbp".into());
                }
                s.stack = Stack::Unwound;
                Ok(())
            }
            Register::R14 => {
                // Only call_indirect's switch to the callee's instance and back.
                if !matches!(v, AVal::ForeignVmCtx(_) | AVal::VmCtx) {
                    return Err(format!("write to r14 of {v:?}").into());
                }
                s.set(14, v);
                Ok(())
            }
            Register::R15 => {
                let ok = matches!((v, s.get(14)), (AVal::HeapBase, AVal::VmCtx))
                    || matches!(
                        (v, s.get(14)),
                        (AVal::ForeignHeapBase(a), AVal::ForeignVmCtx(b)) if a == b
                    );
                if !ok {
                    return Err(format!("write to r15 of {v:?}").into());
                }
                s.set(15, v);
                Ok(())
            }
            _ => Ok(s.write(d, v)?),
        }
    }

    /// Every register and memory location iced-x86 says `insn` writes must
    /// be the row's destination operand or one of its implicit writes.
    fn check_accounted(&mut self, insn: &Instruction, row: &Row) -> Result<(), Stop> {
        let writes_dst = !matches!(
            row.op,
            Cmp | Test | Jcc | Jmp | Call | Ret | Push | Ud2 | Nop
        );
        let written = |a: OpAccess| {
            matches!(
                a,
                OpAccess::Write
                    | OpAccess::CondWrite
                    | OpAccess::ReadWrite
                    | OpAccess::ReadCondWrite
            )
        };
        let info = self.info.info(insn);
        for u in info.used_registers() {
            if !written(u.access()) {
                continue;
            }
            let reg = u.register();
            let is_dst = writes_dst
                && insn.op0_kind() == OpKind::Register
                && insn.op0_register().full_register() == reg.full_register();
            let implicit = row.implicit.contains(&reg.full_register());
            if !(is_dst || implicit) {
                return Err(
                    format!("writes {reg:?}, which its row does not account for")
                        .to_lowercase()
                        .into(),
                );
            }
        }
        for m in info.used_memory() {
            if !written(m.access()) {
                continue;
            }
            let explicit_store = matches!(row.op, Mov | SseStore)
                && insn.op0_kind() == OpKind::Memory
                && m.base() == insn.memory_base()
                && m.index() == insn.memory_index();
            let stack_push = matches!(row.op, Push | Call) && m.base() == Register::RSP;
            if !(explicit_store || stack_push) {
                return Err("writes memory its row does not account for".into());
            }
        }
        Ok(())
    }
}

/// A range that may not fit `m` becomes "any value of that width".
fn fit(v: AVal, m: u64) -> AVal {
    match v.range() {
        (lo, hi) if hi <= m && v != UNKNOWN => AVal::Num(lo, hi),
        _ => AVal::Num(0, m),
    }
}

/// The least all-ones number at or above `x` (or/xor results).
fn ones_covering(x: u64) -> u64 {
    match 64 - x.leading_zeros() {
        64 => u64::MAX,
        bits => (1u64 << bits) - 1,
    }
}

/// A store of `bytes` bytes: a frame slot overlapping it forgets its value;
/// an 8-byte store to a slot remembers the stored value.
fn store(s: &mut State, mem: Option<Mem>, bytes: u32, v: AVal) {
    if let Some(Mem::Frame(k)) = mem {
        s.slots
            .retain(|&o, _| o.saturating_add(8) <= k || o >= k.saturating_add(bytes));
        if bytes == 8 {
            s.slots.insert(k, v);
        }
    }
}

/// `lea`: the address computation on ranges, in 64 bits (no wrap), or one
/// of the pointer shapes compiled code builds (table elements, the host-call
/// slot area in the frame).
fn lea(insn: &Instruction, s: &State, frame: u32) -> Result<AVal, String> {
    if insn.memory_base() == Register::RIP {
        // iced resolves the displacement to the absolute target (the
        // decoder's ip is the .text offset); outside .text's 4 GiB it names
        // nothing a jump could use.
        let target = insn.memory_displacement64();
        return Ok(u32::try_from(target).map_or(UNKNOWN, AVal::CodeAddr));
    }
    let reg = |r: Register| -> Result<Option<(u8, AVal)>, String> {
        if r == Register::None {
            return Ok(None);
        }
        let (g, _) = gpr_width(r)?;
        Ok(Some((g, s.get(g))))
    };
    let base = reg(insn.memory_base())?;
    let index = reg(insn.memory_index())?;
    let scale = insn.memory_index_scale() as u64;
    let disp = insn.memory_displacement64() as i64;
    Ok(match (base, index, scale, disp) {
        (Some((4, _)), None, _, k) if s.stack == Stack::Body && (0..=frame as i64).contains(&k) => {
            AVal::FrameAddr(k as u32)
        }
        (Some((b, AVal::TableIndex(t, ..))), Some((x, AVal::TableIndex(t2, ..))), 2, 0)
            if b == x && t == t2 =>
        {
            AVal::Elem3(t)
        }
        // A jump-table entry: the table's address plus 8 times an index
        // proved below `count` (at most 2^20 entries, so a bound is cheap
        // to check entry by entry).
        (Some((_, AVal::CodeAddr(base))), Some((_, AVal::Num(_, hi))), 8, 0)
            if hi < JUMP_TABLE_MAX =>
        {
            AVal::JumpEntry {
                base,
                count: hi as u32 + 1,
            }
        }
        (Some((_, AVal::Elems(t))), Some((_, AVal::Elem3(t2))), 8, 0) if t == t2 => {
            AVal::ElemAddr {
                table: t,
                null_checked: false,
                sig: None,
                id: insn.ip() as u32,
            }
        }
        _ => {
            let num = |v: Option<(u8, AVal)>| match v {
                Some((_, v)) if v.is_pointer() => None,
                Some((_, v)) => Some(v.range()),
                None => Some((0, 0)),
            };
            match (num(base), num(index)) {
                (Some(b), Some(x)) => {
                    let sum = add(b, mul(x, (scale, scale)).range());
                    if sum == UNKNOWN {
                        UNKNOWN
                    } else if disp >= 0 {
                        add(sum.range(), (disp as u64, disp as u64))
                    } else {
                        sub(sum.range(), (disp.unsigned_abs(), disp.unsigned_abs()))
                    }
                }
                _ => UNKNOWN,
            }
        }
    })
}

/// What a compare establishes.
fn compare(insn: &Instruction, s: &State, mem: Option<Mem>, bytes: u32) -> Flags {
    let reg = |k: u32| {
        (insn.op_kind(k) == OpKind::Register)
            .then(|| gpr_width(insn.op_register(k)).ok())
            .flatten()
    };
    match (reg(0), insn.op1_kind(), mem) {
        // `cmp idx, [table + len]`: 64-bit index against the 64-bit length.
        (Some((idx, 8)), OpKind::Memory, Some(Mem::TableDesc(t, off)))
            if off == VmCtxLayout::TABLE_LEN && insn.memory_size().size() == 8 =>
        {
            Flags::TableLen { idx, table: t }
        }
        (None, k, Some(Mem::Elem(e, off)))
            if is_immediate(k)
                && off == VmCtxLayout::ELEM_CODE
                && bytes == 8
                && insn.immediate(1) == 0 =>
        {
            Flags::ElemNull { elem: e }
        }
        (None, OpKind::Register, Some(Mem::Elem(e, off)))
            if off == VmCtxLayout::ELEM_SIG && bytes == 8 =>
        {
            match reg(1).map(|(r, w)| (s.get(r), w)) {
                Some((AVal::SigId(t), 8)) => Flags::ElemSig { elem: e, sig: t },
                _ => Flags::Unknown,
            }
        }
        // Register compares refine only at 32 and 64 bits.
        (Some((a, w @ (4 | 8))), OpKind::Register, _) => match reg(1) {
            Some((b, w2)) if w2 == w => Flags::Cmp {
                a,
                b: CmpRhs::Reg(b),
                bits: 8 * w,
            },
            _ => Flags::Unknown,
        },
        (Some((a, w @ (4 | 8))), k, _) if is_immediate(k) => Flags::Cmp {
            a,
            b: CmpRhs::Imm(insn.immediate(1) & mask(w)),
            bits: 8 * w,
        },
        _ => Flags::Unknown,
    }
}

fn check_pinned(s: &State) -> Result<(), String> {
    if s.get(14) != AVal::VmCtx || s.get(15) != AVal::HeapBase {
        return Err("r14/r15 are not this instance's vmctx and heap base here".into());
    }
    Ok(())
}

/// What the fall-through edge of a conditional branch learns.
pub fn refine(m: Mnemonic, s: &mut State) {
    use Mnemonic as M;
    match (s.flags, m) {
        (Flags::Cmp { a, b, bits }, M::Ja | M::Jae) => {
            // Not above (or not above-or-equal): a <= b (a < b), compared at
            // `bits`; that bounds the whole register only if its upper bits
            // are known zero (and the bound fits the width).
            let bound = match b {
                CmpRhs::Imm(v) => Some(v),
                CmpRhs::Reg(r) => match s.get(r) {
                    AVal::HeapBytes { max, .. } if bits == 64 => Some(max),
                    v => v.as_const(),
                },
            };
            let (lo, hi) = s.get(a).range();
            if let Some(c) = bound {
                let fits = bits == 64 || (hi <= U32_MAX && c <= U32_MAX);
                let c = if m == M::Jae {
                    c.checked_sub(1)
                } else {
                    Some(c)
                };
                if let (true, Some(c), false) = (fits, c, s.get(a).is_pointer()) {
                    let v = AVal::Num(lo.min(c), hi.min(c));
                    let l8 = s.low8[a as usize];
                    let flags = s.flags;
                    s.set(a, v);
                    s.low8[a as usize] = l8;
                    s.flags = flags;
                }
            }
        }
        (Flags::HeapSub { r, minus, max }, M::Jb) => {
            // No borrow: heap_bytes >= minus, so r = heap_bytes - minus exactly.
            s.set(r, AVal::HeapBytes { minus, max });
        }
        (Flags::TableLen { idx, table }, M::Jae) => {
            let (lo, hi) = s.get(idx).range();
            if !s.get(idx).is_pointer() {
                s.set(idx, AVal::TableIndex(table, lo, hi));
            }
        }
        (Flags::ElemNull { elem }, M::Je) => {
            if let AVal::ElemAddr { table, sig, id, .. } = s.get(elem) {
                s.set(
                    elem,
                    AVal::ElemAddr {
                        table,
                        null_checked: true,
                        sig,
                        id,
                    },
                );
            }
        }
        (Flags::ElemSig { elem, sig }, M::Jne) => {
            if let AVal::ElemAddr {
                table,
                null_checked,
                id,
                ..
            } = s.get(elem)
            {
                s.set(
                    elem,
                    AVal::ElemAddr {
                        table,
                        null_checked,
                        id,
                        sig: Some(sig),
                    },
                );
            }
        }
        _ => {}
    }
}
