//! Tests of the native execution harness (tests/native/mod.rs) itself.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod native;

use iced_x86::code_asm::*;
use native::{run, Machine, Outcome, AF, CF, FLAGS_MASK, OF, PF, SF, ZF};
use std::time::{Duration, Instant};

/// Assemble a snippet.
fn asm(f: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>) -> Vec<u8> {
    let mut a = CodeAssembler::new(64).unwrap();
    f(&mut a).unwrap();
    a.assemble(0x1000).unwrap()
}

/// splitmix64: deterministic pseudo-random values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn machine(&mut self) -> Machine {
        Machine {
            gpr: std::array::from_fn(|_| self.next()),
            rflags: self.next() & FLAGS_MASK,
            xmm: std::array::from_fn(|_| (self.next() as u128) << 64 | self.next() as u128),
            frame: std::array::from_fn(|_| self.next()),
        }
    }
}

/// What an input looks like after a snippet that changes nothing.
fn unchanged(m: &Machine) -> Machine {
    let mut e = *m;
    e.gpr[4] = 0;
    e.rflags &= FLAGS_MASK;
    e
}

fn run1(code: &[u8], input: Machine) -> Machine {
    let out = run(code, &[input]);
    assert_eq!(out.len(), 1);
    out[0].unwrap()
}

#[test]
fn empty_snippet_returns_every_register_flag_xmm_and_frame_word() {
    let mut rng = Rng(1);
    let mut inputs: Vec<Machine> = (0..64).map(|_| rng.machine()).collect();
    // Every combination of the six flags, and bits outside them that must be
    // ignored on input (TF, DF, AC would hurt if they were loaded).
    let flags = [CF, PF, AF, ZF, SF, OF];
    for (i, m) in inputs.iter_mut().enumerate() {
        m.rflags = flags
            .iter()
            .enumerate()
            .filter(|(b, _)| i >> b & 1 == 1)
            .map(|(_, f)| f)
            .sum::<u64>()
            | 0x0004_0700;
    }
    // Distinct recognisable values in every GPR, and the boundaries.
    inputs.push(Machine {
        gpr: std::array::from_fn(|i| 0x1111_1111_1111_1111u64.wrapping_mul(i as u64 + 1)),
        ..Machine::default()
    });
    inputs.push(Machine {
        gpr: [u64::MAX; 16],
        rflags: FLAGS_MASK,
        xmm: [u128::MAX; 16],
        frame: [u64::MAX; 32],
    });
    inputs.push(Machine::default());
    let out = run(&[], &inputs);
    assert_eq!(out.len(), inputs.len());
    for (i, (input, o)) in inputs.iter().zip(&out).enumerate() {
        assert_eq!(*o, Outcome::Ok(unchanged(input)), "input {i}");
    }
    // The flags really are loaded: each of them, alone, comes back.
    for f in flags {
        let m = Machine {
            rflags: f,
            ..Machine::default()
        };
        assert_eq!(run1(&[], m).rflags, f);
    }
}

#[test]
fn snippet_sees_the_loaded_values() {
    // Read registers inside the snippet (not just through the trampoline):
    // sum rbx, rbp, r12..r15 into rax, and flags via pushfq into the frame.
    let code = asm(|a| {
        a.mov(rax, rbx)?;
        a.add(rax, rbp)?;
        a.add(rax, r12)?;
        a.add(rax, r13)?;
        a.add(rax, r14)?;
        a.add(rax, r15)?;
        a.movq(rcx, xmm15)?;
        a.mov(qword_ptr(rsp + 16), rcx)?;
        a.mov(rcx, qword_ptr(rsp + 248))?; // last frame word
        a.pushfq()?;
        a.pop(rdx)?;
        a.mov(qword_ptr(rsp + 8), rdx)
    });
    let mut rng = Rng(2);
    let inputs: Vec<Machine> = (0..100).map(|_| rng.machine()).collect();
    for (input, o) in inputs.iter().zip(run(&code, &inputs)) {
        let o = o.unwrap();
        let g = &input.gpr;
        let sum = [3, 5, 12, 13, 14, 15]
            .iter()
            .fold(0u64, |s, &i| s.wrapping_add(g[i]));
        assert_eq!(o.gpr[0], sum);
        assert_eq!(o.frame[2], input.xmm[15] as u64);
        assert_eq!(o.gpr[1], input.frame[31]);
        // pushfq ran after the adds: the carry of the last one.
        let before = [3, 5, 12, 13, 14]
            .iter()
            .fold(0u64, |s, &i| s.wrapping_add(g[i]));
        assert_eq!(o.frame[1] & CF, before.overflowing_add(g[15]).1 as u64);
        assert_eq!(o.frame[1] & FLAGS_MASK, o.rflags);
        assert_eq!(o.gpr[4], 0);
    }
}

#[test]
fn mov_32_bit_zero_extends() {
    let code = asm(|a| a.mov(eax, ebx));
    let m = Machine {
        gpr: std::array::from_fn(|i| [u64::MAX, 0, 0, 0xdead_beef_8765_4321][i.min(3)]),
        ..Machine::default()
    };
    let o = run1(&code, m);
    assert_eq!(o.gpr[0], 0x8765_4321);
    assert_eq!(o.gpr[3], 0xdead_beef_8765_4321);
}

#[test]
fn mov_8_bit_merges() {
    let code = asm(|a| a.mov(al, 1));
    let mut m = Machine::default();
    m.gpr[0] = 0xffff_ffff_ffff_ffff;
    assert_eq!(run1(&code, m).gpr[0], 0xffff_ffff_ffff_ff01);
}

#[test]
fn add_sets_carry_on_overflow() {
    let code = asm(|a| a.add(rax, rbx));
    let mut over = Machine::default();
    over.gpr[0] = u64::MAX;
    over.gpr[3] = 1;
    let mut plain = Machine {
        rflags: CF | ZF | OF,
        ..Machine::default()
    };
    plain.gpr[0] = 2;
    plain.gpr[3] = 3;
    let out = run(&code, &[over, plain]);
    let (o, p) = (out[0].unwrap(), out[1].unwrap());
    assert_eq!(o.gpr[0], 0);
    assert_eq!(o.rflags, CF | ZF | PF | AF);
    assert_eq!(p.gpr[0], 5);
    assert_eq!(p.rflags, PF); // 5 = 0b101: even parity; CF, ZF, OF cleared
}

#[test]
fn store_to_stack_shows_in_frame() {
    let code = asm(|a| a.mov(qword_ptr(rsp + 8), rax));
    let mut m = Rng(3).machine();
    m.gpr[0] = 0x0123_4567_89ab_cdef;
    let o = run1(&code, m);
    let mut expected = unchanged(&m);
    expected.frame[1] = 0x0123_4567_89ab_cdef;
    assert_eq!(o, expected);
}

#[test]
fn push_pop_balances_and_push_reports_rsp_delta() {
    let mut m = Rng(4).machine();
    let o = run1(
        &asm(|a| {
            a.push(rax)?;
            a.pop(rcx)
        }),
        m,
    );
    assert_eq!(o.gpr[4], 0);
    assert_eq!(o.gpr[1], m.gpr[0]);
    // One push: rsp 8 lower; the frame itself is untouched.
    let o = run1(&asm(|a| a.push(rax)), m);
    assert_eq!(o.gpr[4], (-8i64) as u64);
    assert_eq!(o.frame, m.frame);
    // Pops read the frame upwards.
    let o = run1(
        &asm(|a| {
            a.pop(rbx)?;
            a.pop(r15)
        }),
        m,
    );
    assert_eq!(
        (o.gpr[3], o.gpr[15], o.gpr[4]),
        (m.frame[0], m.frame[1], 16)
    );
    // Guard space below the frame: a deep store does not fault.
    m.gpr[0] = 7;
    let o = run1(
        &asm(|a| {
            a.mov(qword_ptr(rsp - 16384), rax)?;
            a.mov(rbx, qword_ptr(rsp - 16384))
        }),
        m,
    );
    assert_eq!(o.gpr[3], 7);
}

#[test]
fn division_by_zero_faults_and_the_batch_goes_on() {
    let code = asm(|a| a.div(rcx));
    let input = |dividend: u64, divisor: u64| {
        let mut m = Machine::default();
        m.gpr[0] = dividend;
        m.gpr[1] = divisor;
        m
    };
    let inputs = [
        input(10, 0),
        input(100, 7),
        input(5, 0),
        input(5, 0),
        input(u64::MAX, 2),
    ];
    let out = run(&code, &inputs);
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], Outcome::Fault(libc::SIGFPE));
    let o = out[1].unwrap();
    assert_eq!((o.gpr[0], o.gpr[2]), (14, 2));
    assert_eq!(out[2], Outcome::Fault(libc::SIGFPE));
    assert_eq!(out[3], Outcome::Fault(libc::SIGFPE));
    let o = out[4].unwrap();
    assert_eq!((o.gpr[0], o.gpr[2]), (u64::MAX / 2, 1));
}

#[test]
fn bad_access_and_bad_instruction_fault() {
    let load = asm(|a| a.mov(rax, qword_ptr(rbx)));
    let null = Machine::default(); // rbx = 0
    let mut low = null;
    low.gpr[3] = 0x10;
    let m = null;
    let out = run(&load, &[null, low]);
    assert_eq!(
        out,
        [Outcome::Fault(libc::SIGSEGV), Outcome::Fault(libc::SIGSEGV)]
    );
    assert_eq!(run(&asm(|a| a.ud2()), &[m]), [Outcome::Fault(libc::SIGILL)]);
}

#[test]
fn infinite_loop_is_reported_as_a_hang() {
    let t = Instant::now();
    let out = run(&[0xeb, 0xfe], &[Machine::default()]); // jmp $
    let elapsed = t.elapsed();
    eprintln!("jmp $ reported after {elapsed:?}");
    assert_eq!(out, [Outcome::Fault(native::HANG_SIGNAL)]);
    assert!(
        elapsed < Duration::from_secs(native::TIMEOUT_SECS as u64 + 3),
        "{elapsed:?}"
    );
}

#[test]
fn a_hang_does_not_stop_the_batch() {
    // Loops forever iff rax == 0.
    let code = asm(|a| {
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.test(rax, rax)?;
        a.jz(top)
    });
    let mut inputs = [Machine::default(); 3];
    inputs[0].gpr[0] = 1;
    inputs[2].gpr[0] = 2;
    let out = run(&code, &inputs);
    assert_eq!(out[0].unwrap().gpr[0], 1);
    assert_eq!(out[1], Outcome::Fault(native::HANG_SIGNAL));
    assert_eq!(out[2].unwrap().gpr[0], 2);
}

#[test]
fn a_batch_of_2000_runs_quickly() {
    let code = asm(|a| {
        a.add(rax, rbx)?;
        a.adc(rcx, rdx)
    });
    let mut rng = Rng(5);
    let mut inputs: Vec<Machine> = (0..2000).map(|_| rng.machine()).collect();
    let boundary = [0, 1, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, u64::MAX];
    for (i, m) in inputs.iter_mut().take(125).enumerate() {
        m.gpr[0] = boundary[i % 5];
        m.gpr[3] = boundary[i / 5 % 5];
        m.gpr[1] = boundary[i / 25 % 5];
    }
    let t = Instant::now();
    let out = run(&code, &inputs);
    let elapsed = t.elapsed();
    eprintln!("2000 inputs in {elapsed:?}");
    for (m, o) in inputs.iter().zip(out) {
        let o = o.unwrap();
        let (lo, c) = m.gpr[0].overflowing_add(m.gpr[3]);
        let wide = m.gpr[1] as u128 + m.gpr[2] as u128 + c as u128;
        assert_eq!(o.gpr[0], lo);
        assert_eq!(o.gpr[1], wide as u64);
        assert_eq!(o.rflags & CF, (wide >> 64) as u64);
        assert_eq!(o.rflags & ZF != 0, wide as u64 == 0);
        assert_eq!(o.rflags & SF != 0, (wide as u64) >> 63 == 1);
    }
    assert!(
        elapsed < Duration::from_secs(2),
        "2000 inputs took {elapsed:?}"
    );
}

#[test]
fn many_faults_in_one_batch() {
    // Every other input divides by zero: one fork per fault.
    let code = asm(|a| a.div(rcx));
    let inputs: Vec<Machine> = (0..1000u64)
        .map(|i| {
            let mut m = Machine::default();
            m.gpr[0] = 1000 + i;
            m.gpr[1] = if i.is_multiple_of(2) { 0 } else { i };
            m
        })
        .collect();
    let t = Instant::now();
    let out = run(&code, &inputs);
    let elapsed = t.elapsed();
    eprintln!("1000 inputs, 500 of them faulting, in {elapsed:?}");
    for (i, o) in out.iter().enumerate() {
        let i = i as u64;
        if i.is_multiple_of(2) {
            assert_eq!(*o, Outcome::Fault(libc::SIGFPE), "input {i}");
        } else {
            let o = o.unwrap();
            assert_eq!(
                (o.gpr[0], o.gpr[2]),
                ((1000 + i) / i, (1000 + i) % i),
                "input {i}"
            );
        }
    }
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn snippet_may_overwrite_every_register_including_rsp() {
    let code = asm(|a| {
        let regs = [
            rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15,
        ];
        for (i, r) in regs.into_iter().enumerate() {
            a.mov(r, 0x0101_0101_0101_0101u64.wrapping_mul(i as u64 + 0x10))?;
        }
        a.add(rsp, 0x1234_5678)?;
        a.stc()
    });
    let o = run1(&code, Rng(6).machine());
    let expected: Vec<u64> = (0..15)
        .map(|i| 0x0101_0101_0101_0101u64.wrapping_mul(i + 0x10))
        .collect();
    let got: Vec<u64> = o
        .gpr
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(got, expected);
    assert_eq!(o.gpr[4], 0x1234_5678);
    assert_eq!(o.rflags & CF, CF);
}

#[test]
fn exit_syscall_is_a_fault_zero() {
    let code = asm(|a| {
        a.mov(eax, 231)?; // exit_group
        a.xor(edi, edi)?;
        a.syscall()
    });
    let m = Machine::default();
    assert_eq!(run(&code, &[m, m]), [Outcome::Fault(0), Outcome::Fault(0)]);
}
