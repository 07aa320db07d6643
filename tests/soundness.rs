//! Soundness of the validator's semantics against the real CPU: for every
//! row of `validator::semantics::ROWS`, instances of the form (registers,
//! memory operands and immediates drawn at random) run natively on random
//! and boundary inputs, each drawn inside an abstract input state; every
//! concrete result must lie inside the validator's abstract result —
//! registers, low bytes, frame slots, and for conditional branches the
//! refinement of the path the CPU actually took. A row that no accepted case
//! exercises fails the test. Seeded, so a failure reproduces.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod native;

use std::collections::BTreeMap;

use iced_x86::{
    Code, Decoder, DecoderOptions, Encoder, Instruction, MemoryOperand, OpCodeOperandKind as K,
    Register,
};
use native::{Machine, Outcome};
use validator::semantics::{Env, Flow, FormChecker, Mem, Op, Semantics, ROWS};
use validator::state::{AVal, State, UNKNOWN};

const SEED: u64 = 0x0005_eed0_f9cc;
const INSTANCES: usize = 6;
const INPUTS: usize = 48;
const FRAME: u32 = 256;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// A value biased to the boundaries where width bugs live.
    fn value(&mut self) -> u64 {
        const EDGES: [u64; 14] = [
            0,
            1,
            2,
            0x7f,
            0xff,
            0x7fff,
            0xffff,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            0x1_0000_0000,
            0x7fff_ffff_ffff_ffff,
            0x8000_0000_0000_0000,
            u64::MAX,
        ];
        match self.below(4) {
            0 => self.pick(&EDGES),
            1 => self.next() & 0xffff_ffff,
            2 => self.next() & 0xff,
            _ => self.next(),
        }
    }
    /// A value in `[lo, hi]`.
    fn within(&mut self, lo: u64, hi: u64) -> u64 {
        match self.below(3) {
            0 => lo,
            1 => hi,
            _ => lo + self.next() % (hi - lo).saturating_add(1).max(1),
        }
    }
}

/// Registers an instance may name: not rsp/rbp (the frame), r14/r15 (pinned),
/// r11 (the branch marker).
const GPR64: [Register; 11] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R12,
    Register::R13,
];

fn sized(r: Register, bytes: usize) -> Register {
    let k = r as u32 - Register::RAX as u32;
    let base = match bytes {
        1 => Register::AL,
        2 => Register::AX,
        4 => Register::EAX,
        _ => Register::RAX,
    };
    // iced orders the byte registers al, cl, dl, bl, ah, ch, dh, bh, spl,
    // bpl, sil, dil, r8l..r15l: past bl, four high-byte registers intervene.
    let n = base as u32 + if bytes == 1 && k >= 4 { k + 4 } else { k };
    iced_x86::Register::values()
        .find(|x| *x as u32 == n)
        .expect("register")
}

#[derive(Clone, Copy, Debug)]
enum Opnd {
    R(Register),
    M(MemoryOperand),
    I(i32),
    U(u64),
}

fn with_ops(code: Code, ops: &[Opnd]) -> Option<Instruction> {
    use Opnd::*;
    let r = match *ops {
        [] => Ok(Instruction::with(code)),
        [R(a)] => Instruction::with1(code, a),
        [M(a)] => Instruction::with1(code, a),
        [R(a), R(b)] => Instruction::with2(code, a, b),
        [R(a), M(b)] => Instruction::with2(code, a, b),
        [M(a), R(b)] => Instruction::with2(code, a, b),
        [R(a), I(b)] => Instruction::with2(code, a, b),
        [R(a), U(b)] => Instruction::with2(code, a, b),
        [M(a), I(b)] => Instruction::with2(code, a, b),
        [R(a), R(b), I(c)] => Instruction::with3(code, a, b, c),
        [R(a), M(b), I(c)] => Instruction::with3(code, a, b, c),
        _ => return None,
    };
    r.ok()
}

/// A random instance of `code`: `None` if an operand kind is not one the
/// table's rows use.
fn instance(rng: &mut Rng, code: Code, memory: bool) -> Option<Vec<Opnd>> {
    let info = code.op_code();
    let mut ops = vec![];
    let mem_size = |rng: &mut Rng| {
        let k = 4 * rng.below(((FRAME - 16) / 4) as u64) as i64;
        Opnd::M(MemoryOperand::with_base_displ(Register::RSP, k))
    };
    for &kind in info.op_kinds() {
        let reg = |rng: &mut Rng, bytes| Opnd::R(sized(rng.pick(&GPR64), bytes));
        let op = match kind {
            K::r8_or_mem | K::r16_or_mem | K::r32_or_mem | K::r64_or_mem if memory => mem_size(rng),
            // 128-bit SSE memory operands must be 16-byte aligned.
            K::xmm_or_mem if memory => {
                let k = 16 * rng.below((FRAME / 16 - 1) as u64) as i64;
                Opnd::M(MemoryOperand::with_base_displ(Register::RSP, k))
            }
            K::mem if format!("{code:?}").starts_with("Lea") => {
                let base = rng.pick(&GPR64);
                let index = rng.pick(&GPR64);
                let scale = rng.pick(&[1u32, 2, 4, 8]);
                let disp = rng.value() as i32 as i64;
                Opnd::M(MemoryOperand::new(
                    base,
                    index,
                    scale,
                    disp,
                    8,
                    false,
                    Register::None,
                ))
            }
            K::mem => mem_size(rng),
            K::r8_or_mem | K::r8_reg | K::r8_opcode => reg(rng, 1),
            K::r16_or_mem | K::r16_reg | K::r16_opcode => reg(rng, 2),
            K::r32_or_mem | K::r32_reg | K::r32_opcode | K::r32_rm => reg(rng, 4),
            K::r64_or_mem | K::r64_reg | K::r64_opcode | K::r64_rm => reg(rng, 8),
            K::xmm_or_mem | K::xmm_reg | K::xmm_rm => Opnd::R(sized_xmm(rng.below(16) as u32)),
            K::al => Opnd::R(Register::AL),
            K::cl => Opnd::R(Register::CL),
            K::eax => Opnd::R(Register::EAX),
            K::rax => Opnd::R(Register::RAX),
            K::imm8_const_1 => Opnd::I(1),
            K::imm8 => Opnd::I(rng.below(256) as u8 as i32),
            K::imm8sex32 | K::imm8sex64 => Opnd::I(rng.below(256) as u8 as i8 as i32),
            K::imm16 => Opnd::I(rng.below(65536) as u16 as i16 as i32),
            K::imm32 | K::imm32sex64 => Opnd::I(rng.value() as u32 as i32),
            K::imm64 => Opnd::U(rng.value()),
            _ => return None,
        };
        ops.push(op);
    }
    Some(ops)
}

fn sized_xmm(k: u32) -> Register {
    iced_x86::Register::values()
        .find(|x| *x as u32 == Register::XMM0 as u32 + k)
        .expect("xmm")
}

/// An instance's bytes, decoded back as the validator will see them.
fn encode(insn: &Instruction, ip: u64) -> Option<(Vec<u8>, Instruction)> {
    let mut enc = Encoder::new(64);
    enc.encode(insn, ip).ok()?;
    let bytes = enc.take_buffer();
    let mut d = Decoder::with_ip(64, &bytes, ip, DecoderOptions::NONE);
    let decoded = d.decode();
    (!decoded.is_invalid() && decoded.len() == bytes.len()).then_some((bytes, decoded))
}

/// The test's environment: every memory operand is a frame slot `[rsp+k]`.
struct FrameEnv;

impl Env for FrameEnv {
    fn classify(&mut self, insn: &Instruction, _s: &State, _write: bool) -> Option<Mem> {
        let k = insn.memory_displacement64();
        (insn.memory_base() == Register::RSP
            && insn.memory_index() == Register::None
            && k + insn.memory_size().size() as u64 <= FRAME as u64)
            .then_some(Mem::Frame(k as u32))
    }
    fn load(&self, m: Mem, s: &State) -> AVal {
        match m {
            Mem::Frame(k) => s.slots.get(&k).copied().unwrap_or(UNKNOWN),
            _ => UNKNOWN,
        }
    }
    fn frame(&self) -> u32 {
        FRAME
    }
}

/// A random abstract state and a concrete machine inside it. Registers in
/// `unknown` (markers) are left unknown.
fn draw(rng: &mut Rng, unknown: &[usize]) -> (State, Machine) {
    let mut s = State::pinned();
    s.regs[14] = UNKNOWN;
    s.regs[15] = UNKNOWN;
    let mut m = Machine::default();
    let abstract_value = |rng: &mut Rng| -> (AVal, u64) {
        match rng.below(6) {
            0 => {
                let v = rng.value();
                (UNKNOWN, v)
            }
            1 => {
                let c = rng.value();
                (AVal::constant(c), c)
            }
            2 => {
                let max = rng.value();
                let v = rng.within(0, max);
                (AVal::HeapBytes { minus: 0, max }, v)
            }
            _ => {
                let (a, b) = (rng.value(), rng.value());
                let (lo, hi) = (a.min(b), a.max(b));
                (AVal::Num(lo, hi), rng.within(lo, hi))
            }
        }
    };
    for r in 0..16 {
        let (v, c) = abstract_value(rng);
        m.gpr[r] = c;
        if r == 4 || r == 5 || unknown.contains(&r) {
            continue;
        }
        s.regs[r] = v;
        if rng.below(4) == 0 {
            // Known low byte: make the concrete one agree.
            let (a, b) = (rng.below(256) as u8, rng.below(256) as u8);
            let (lo, hi) = (a.min(b), a.max(b));
            let byte = rng.within(lo as u64, hi as u64);
            let c2 = (c & !0xff) | byte;
            if v.range().0 <= c2 && c2 <= v.range().1 {
                m.gpr[r] = c2;
                s.low8[r] = Some((lo, hi));
            }
        }
    }
    for w in 0..native::FRAME_WORDS {
        let (v, c) = abstract_value(rng);
        m.frame[w] = c;
        if rng.below(2) == 0 {
            s.slots.insert(8 * w as u32, v);
        }
    }
    for x in m.xmm.iter_mut() {
        *x = (rng.next() as u128) << 64 | rng.next() as u128;
    }
    m.rflags = rng.next() & native::FLAGS_MASK;
    (s, m)
}

fn frame_bytes(m: &Machine) -> Vec<u8> {
    m.frame.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Every concrete value of `out` lies in the abstract `s`, or a message.
fn contained(s: &State, out: &Machine, skip: &[usize]) -> Result<(), String> {
    for r in 0..16 {
        if r == 4 || r == 5 || skip.contains(&r) {
            continue;
        }
        let (lo, hi) = s.regs[r].range();
        let c = out.gpr[r];
        if !(lo <= c && c <= hi) {
            return Err(format!("r{r} = {c:#x} outside {:?}", s.regs[r]));
        }
        if let Some((a, b)) = s.low8[r] {
            let byte = c as u8;
            if !(a <= byte && byte <= b) {
                return Err(format!(
                    "low byte of r{r} = {byte:#x} outside [{a:#x}, {b:#x}]"
                ));
            }
        }
    }
    let bytes = frame_bytes(out);
    for (&k, v) in &s.slots {
        let k = k as usize;
        if k + 8 > bytes.len() {
            continue;
        }
        let c = u64::from_le_bytes(bytes[k..k + 8].try_into().unwrap());
        let (lo, hi) = v.range();
        if !(lo <= c && c <= hi) {
            return Err(format!("[rsp+{k:#x}] = {c:#x} outside {v:?}"));
        }
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    cases: u64,
    faults: u64,
    rejected: u64,
}

/// Straight-line rows: one instruction, abstract step vs the CPU.
fn check_data_row(rng: &mut Rng, code: Code, op: Op, t: &mut Tally) -> Result<(), String> {
    let mut forms = FormChecker::default();
    for inst in 0..INSTANCES {
        let memory = inst % 2 == 1;
        let Some(ops) = instance(rng, code, memory) else {
            return Err(format!("{code:?}: an operand kind the test can't build"));
        };
        let Some(insn) = with_ops(code, &ops) else {
            continue;
        };
        let Some((bytes, insn)) = encode(&insn, 0) else {
            continue;
        };
        let Ok(row) = forms.check(&insn, &bytes) else {
            t.rejected += 1;
            continue;
        };
        let mut inputs = vec![];
        let mut outs = vec![];
        for _ in 0..INPUTS {
            let (mut s, m) = draw(rng, &[11]);
            let mut sem = Semantics::new();
            match sem.step(&insn, row, &mut s, &mut FrameEnv) {
                Ok(Flow::Next) => {
                    inputs.push(m);
                    outs.push(s);
                }
                Ok(other) => return Err(format!("{code:?}: unexpected flow {other:?}")),
                Err(_) => t.rejected += 1,
            }
        }
        for ((m, s), out) in inputs.iter().zip(&outs).zip(native::run(&bytes, &inputs)) {
            match out {
                Outcome::Fault(_) if op == Op::Divide => t.faults += 1,
                Outcome::Fault(sig) => return Err(format!("{code:?}: fault {sig} on {m:x?}")),
                Outcome::Ok(after) => {
                    t.cases += 1;
                    contained(s, &after, &[11])
                        .map_err(|e| format!("{code:?} `{insn}`: {e}\n  input {:x?}", m.gpr))?;
                }
            }
        }
    }
    Ok(())
}

/// Conditional branches: a flag-setting row, then the branch; the CPU's
/// path (marked in r11) must lie inside the validator's state for that path.
fn check_branch_row(rng: &mut Rng, code: Code, t: &mut Tally) -> Result<(), String> {
    let setters: Vec<Code> = ROWS
        .iter()
        .filter(|r| matches!(r.op, Op::Cmp | Op::Sub))
        .map(|r| r.code)
        .collect();
    let mut forms = FormChecker::default();
    for _ in 0..4 * INSTANCES {
        let setter = rng.pick(&setters);
        let Some(ops) = instance(rng, setter, false) else {
            continue;
        };
        let Some(first) = with_ops(setter, &ops) else {
            continue;
        };
        let Some((mut bytes, first)) = encode(&first, 0) else {
            continue;
        };
        let at = bytes.len() as u64;
        let len = if format!("{code:?}").contains("rel8") {
            2
        } else {
            6
        };
        // Fall through: mov r11d, 0; jmp +6. Taken: mov r11d, 1.
        let target = at + len + 8;
        let Ok(jcc) = Instruction::with_branch(code, target) else {
            continue;
        };
        let Some((jb, jcc)) = encode(&jcc, at) else {
            continue;
        };
        bytes.extend(&jb);
        bytes.extend([0x41, 0xbb, 0, 0, 0, 0, 0xeb, 0x06, 0x41, 0xbb, 1, 0, 0, 0]);
        let (Ok(r1), Ok(r2)) = (
            forms.check(&first, &bytes[..at as usize]),
            forms.check(&jcc, &jb),
        ) else {
            t.rejected += 1;
            continue;
        };
        let mut inputs = vec![];
        let mut paths = vec![];
        for _ in 0..INPUTS {
            let (mut s, m) = draw(rng, &[11]);
            s.regs[14] = AVal::VmCtx;
            s.regs[15] = AVal::HeapBase;
            let mut sem = Semantics::new();
            let r = sem
                .step(&first, r1, &mut s, &mut FrameEnv)
                .and_then(|_| sem.step(&jcc, r2, &mut s, &mut FrameEnv));
            match r {
                Ok(Flow::Branch(_, taken)) => {
                    inputs.push(m);
                    paths.push((s, *taken));
                }
                Ok(other) => return Err(format!("{code:?}: unexpected flow {other:?}")),
                Err(_) => t.rejected += 1,
            }
        }
        for ((m, (fall, taken)), out) in inputs.iter().zip(&paths).zip(native::run(&bytes, &inputs))
        {
            let Outcome::Ok(after) = out else {
                return Err(format!("{code:?}: fault on {m:x?}"));
            };
            t.cases += 1;
            let s = if after.gpr[11] == 1 { taken } else { fall };
            contained(s, &after, &[11, 14, 15]).map_err(|e| {
                format!(
                    "{setter:?}; {code:?} ({}): {e}\n  input {:x?}",
                    if after.gpr[11] == 1 {
                        "taken"
                    } else {
                        "fall-through"
                    },
                    m.gpr
                )
            })?;
        }
    }
    Ok(())
}

/// Control rows whose semantics is about the stack and the path, checked
/// as sequences: the frame sequence returns rsp and rbp to their entry
/// values, call/ret return to the next instruction with rsp restored, jmp
/// and nop change no register, ud2 faults.
fn check_control_rows(t: &mut Tally) -> Result<Vec<Code>, String> {
    let mut rng = Rng(SEED ^ 0xc0de);
    #[rustfmt::skip]
    // (rows covered, bytes, the signal they must die of or 0)
    let cases: &[(&[Code], &[u8], i32)] = &[
        // push rbp; mov rbp, rsp; sub rsp, 0x20; mov rsp, rbp; pop rbp
        (&[Code::Push_r64, Code::Pop_r64], &[0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x20, 0x48, 0x89, 0xec, 0x5d], 0),
        // call +2; jmp +1; ret
        (&[Code::Call_rel32_64, Code::Retnq], &[0xe8, 2, 0, 0, 0, 0xeb, 1, 0xc3], 0),
        // lea rax, [rip+9]; mov [rsp+8], rax; call [rsp+8]; jmp +1; ret  (rax: the ret's address)
        (&[Code::Call_rm64], &[0x48, 0x8d, 0x05, 0x0b, 0, 0, 0, 0x48, 0x89, 0x44, 0x24, 0x08, 0xff, 0x54, 0x24, 0x08, 0xeb, 0x01, 0xc3], 0),
        (&[Code::Jmp_rel8_64], &[0xeb, 0x00], 0),
        (&[Code::Jmp_rel32_64], &[0xe9, 0, 0, 0, 0], 0),
        (&[Code::Nopd], &[0x90], 0),
        (&[Code::Ud2], &[0x0f, 0x0b], libc::SIGILL),
        // Jump-table padding: the validator rejects reaching it; it traps.
        (&[Code::Int3], &[0xcc], libc::SIGTRAP),
    ];
    let mut covered = vec![];
    for (codes, bytes, faults) in cases {
        let inputs: Vec<Machine> = (0..INPUTS).map(|_| draw(&mut rng, &[]).1).collect();
        for (m, out) in inputs.iter().zip(native::run(bytes, &inputs)) {
            t.cases += 1;
            match (out, *faults) {
                (Outcome::Fault(sig), want) if sig == want => {}
                (Outcome::Ok(after), 0) => {
                    let mut want = *m;
                    want.gpr[4] = 0;
                    if codes.contains(&Code::Call_rm64) {
                        want.gpr[0] = after.gpr[0];
                        want.frame[1] = after.frame[1];
                    }
                    // The pushes below rsp are outside the frame words.
                    if after.gpr != want.gpr {
                        return Err(format!("{codes:?}: registers changed {:x?}", after.gpr));
                    }
                }
                (other, _) => return Err(format!("{codes:?}: {other:?}")),
            }
        }
        covered.extend_from_slice(codes);
    }
    Ok(covered)
}

/// The jump-table dispatch against the CPU: after `cmp ecx, 5; jae out`, the
/// validator makes `lea rax, [rip+table]; lea rax, [rax+rcx*8]; jmp rax` a
/// jump to one of the table's 5 entries; on the CPU, for every index, the
/// entry the jump reached (each entry's target marks edx with its number)
/// must be one of those, and an index of 5 or more must not reach the table.
fn check_jump_table_rows(t: &mut Tally) -> Result<(), String> {
    const N: u32 = 5;
    const TABLE: u32 = 24;
    const BLOCKS: u32 = TABLE + 8 * N;
    const OUT: u32 = BLOCKS + 10 * N;
    let rel = |target: u32, next: u32| target.wrapping_sub(next).to_le_bytes();
    let mut code = vec![0x89, 0xc9, 0x83, 0xf9, N as u8, 0x0f, 0x83];
    code.extend(rel(OUT, 11));
    code.extend([0x48, 0x8d, 0x05]);
    code.extend(rel(TABLE, 18));
    code.extend([0x48, 0x8d, 0x04, 0xc8, 0xff, 0xe0]);
    for k in 0..N {
        code.push(0xe9);
        code.extend(rel(BLOCKS + 10 * k, TABLE + 8 * k + 5));
        code.extend([0xcc; 3]);
    }
    for k in 0..N {
        code.push(0xba);
        code.extend(k.to_le_bytes());
        code.push(0xe9);
        code.extend(rel(OUT, BLOCKS + 10 * k + 10));
    }
    assert_eq!(code.len() as u32, OUT);
    // The validator's side: the dispatch, from an unknown index.
    let mut forms = FormChecker::default();
    let mut sem = Semantics::new();
    let mut s = State::pinned();
    let mut d = Decoder::with_ip(64, &code[..TABLE as usize], 0, DecoderOptions::NONE);
    let mut table = None;
    while d.can_decode() {
        let at = d.position();
        let insn = d.decode();
        let row = forms.check(&insn, &code[at..at + insn.len()])?;
        match sem.step(&insn, row, &mut s, &mut FrameEnv) {
            Ok(Flow::Next | Flow::Branch(..)) => {}
            Ok(Flow::Table { base, count }) => table = Some((base, count)),
            other => return Err(format!("jump table: {insn} gave {other:?}")),
        }
    }
    if table != Some((TABLE, N)) {
        return Err(format!(
            "jump table: the validator's table is {table:?}, not {TABLE}x{N}"
        ));
    }
    // The CPU's side.
    let mut rng = Rng(SEED ^ 0x7ab1e);
    let inputs: Vec<Machine> = (0..INPUTS as u64)
        .map(|i| {
            let mut m = draw(&mut rng, &[]).1;
            m.gpr[1] = if i < 2 * N as u64 { i } else { rng.value() };
            m.gpr[2] = u64::MAX;
            m
        })
        .collect();
    for (m, out) in inputs.iter().zip(native::run(&code, &inputs)) {
        let Outcome::Ok(after) = out else {
            return Err(format!("jump table: {out:?} for index {:#x}", m.gpr[1]));
        };
        t.cases += 1;
        let index = m.gpr[1] as u32;
        let entry = after.gpr[2];
        let ok = if index < N {
            entry == index as u64
        } else {
            entry == u64::MAX
        };
        if !ok {
            return Err(format!(
                "jump table: index {:#x} reached entry {entry:#x}",
                m.gpr[1]
            ));
        }
    }
    Ok(())
}

#[test]
fn every_row_is_sound_against_the_cpu() {
    let mut rng = Rng(SEED);
    let mut t = Tally::default();
    let mut per_row: BTreeMap<String, u64> = BTreeMap::new();
    let mut control = check_control_rows(&mut t).unwrap_or_else(|e| panic!("{e}"));
    check_jump_table_rows(&mut t).unwrap_or_else(|e| panic!("{e}"));
    control.push(Code::Jmp_rm64);
    for c in &control {
        per_row.insert(format!("{c:?}"), INPUTS as u64);
    }
    let mut failures = vec![];
    for row in ROWS {
        if control.contains(&row.code) {
            continue;
        }
        let before = t.cases;
        let r = match row.op {
            Op::Jcc => check_branch_row(&mut rng, row.code, &mut t),
            _ => check_data_row(&mut rng, row.code, row.op, &mut t),
        };
        if let Err(e) = r {
            failures.push(e);
        }
        per_row.insert(format!("{:?}", row.code), t.cases - before);
    }
    let unexercised: Vec<&String> = per_row
        .iter()
        .filter(|(_, &n)| n == 0)
        .map(|(k, _)| k)
        .collect();
    println!(
        "soundness: {} rows, {} cases checked on the CPU, {} faulting inputs (division), {} instances or inputs the validator rejects",
        ROWS.len(),
        t.cases,
        t.faults,
        t.rejected
    );
    assert!(
        failures.is_empty(),
        "unsound rows:\n{}",
        failures.join("\n")
    );
    assert!(
        unexercised.is_empty(),
        "rows no case exercises: {unexercised:?}"
    );
    assert_eq!(per_row.len(), ROWS.len(), "every row has a tally");
}
