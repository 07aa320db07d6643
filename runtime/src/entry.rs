//! Entering compiled code, and leaving it on a trap.
//!
//! `pccc_enter` is the one trampoline for every signature: it saves the
//! System V callee-saved registers, records where they are (so a trap can
//! unwind straight back here), switches to the wasm stack on the outermost
//! entry, sets the pinned registers (r14 = vmctx, r15 = heap base), loads the
//! integer argument registers, copies stack arguments and calls; on return
//! it saves the result registers and copies out the stack results. A trap is
//! delivered by the signal handler rewriting the faulting context to
//! `pccc_trap_landing` with the saved-register area as rsp and the trap code
//! in rax.

use std::cell::Cell;

/// Shared with the assembly below: field offsets are fixed.
#[repr(C)]
pub struct EntryFrame {
    pub func: u64,             // 0
    pub vmctx: u64,            // 8
    pub heap_base: u64,        // 16
    pub stack_top: u64,        // 24: 0 = stay on the current stack
    pub int_args: [u64; 6],    // 32..80
    pub nstack: u64,           // 80
    pub stack_args: u64,       // 88: *const u64
    pub ret: u64,              // 96
    pub saved_rsp: u64,        // 104: written by pccc_enter
    pub prev: *mut EntryFrame, // 112: the enclosing entry, for nesting
    /// xmm0..xmm7, all 16 bytes (a v128 argument uses them all).
    pub float_args: [[u64; 2]; 8], // 120..248
    pub int_rets: [u64; 9],    // 248..320: INT_RET_REGS on return
    pub float_rets: [[u64; 2]; 8], // 320..448: xmm0..xmm7 on return
    /// rsp at the call into compiled code, written by pccc_enter: the
    /// frames above it are the runtime's (host_call keeps off them).
    pub call_sp: u64, // 448
    /// Where to copy the results left in the outgoing area (`nrets` 8-byte
    /// slots at the callee's `[rbp + 16]`), before the area is given up.
    pub stack_rets: u64, // 456: *mut u64
    pub nrets: u64,            // 464
}

std::arch::global_asm!(
    ".globl pccc_enter",
    "pccc_enter:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov [rdi + 104], rsp",
    "mov rax, [rdi + 24]",
    "test rax, rax",
    "cmovz rax, rsp",
    "mov rsp, rax",
    "and rsp, -16",
    "push qword ptr [rdi + 104]",
    "push rdi",
    "mov rbp, rsp",
    "mov rcx, [rdi + 80]",
    "lea rax, [rcx * 8 + 15]",
    "and rax, -16",
    "sub rsp, rax",
    "mov rsi, [rdi + 88]",
    "xor edx, edx",
    "2:",
    "cmp rdx, rcx",
    "jae 3f",
    "mov rax, [rsi + rdx * 8]",
    "mov [rsp + rdx * 8], rax",
    "inc rdx",
    "jmp 2b",
    "3:",
    "mov [rdi + 448], rsp",
    "mov r14, [rdi + 8]",
    "mov r15, [rdi + 16]",
    "mov rax, [rdi]",
    "mov rsi, [rdi + 40]",
    "mov rdx, [rdi + 48]",
    "mov rcx, [rdi + 56]",
    "mov r8, [rdi + 64]",
    "mov r9, [rdi + 72]",
    "movdqu xmm0, [rdi + 120]",
    "movdqu xmm1, [rdi + 136]",
    "movdqu xmm2, [rdi + 152]",
    "movdqu xmm3, [rdi + 168]",
    "movdqu xmm4, [rdi + 184]",
    "movdqu xmm5, [rdi + 200]",
    "movdqu xmm6, [rdi + 216]",
    "movdqu xmm7, [rdi + 232]",
    // No host value reaches compiled code in a register it may store to
    // its memory: the callee-saved ones it receives as "the caller's".
    "xor ebx, ebx",
    "xor r10d, r10d",
    "xor r11d, r11d",
    "xor r12d, r12d",
    "xor r13d, r13d",
    "mov rdi, [rdi + 32]",
    "call rax",
    // Compiled code preserves rbp (its prologue/epilogue), so the frame
    // pointer and the caller's rsp are where we left them.
    // rdi is a result register: address the frame through rbx (restored below).
    "mov rbx, [rbp]",
    "mov [rbx + 96], rax",
    "mov [rbx + 248], rax",
    "mov [rbx + 256], rdx",
    "mov [rbx + 264], rcx",
    "mov [rbx + 272], rsi",
    "mov [rbx + 280], rdi",
    "mov [rbx + 288], r8",
    "mov [rbx + 296], r9",
    "mov [rbx + 304], r10",
    "mov [rbx + 312], r11",
    "movdqu [rbx + 320], xmm0",
    "movdqu [rbx + 336], xmm1",
    "movdqu [rbx + 352], xmm2",
    "movdqu [rbx + 368], xmm3",
    "movdqu [rbx + 384], xmm4",
    "movdqu [rbx + 400], xmm5",
    "movdqu [rbx + 416], xmm6",
    "movdqu [rbx + 432], xmm7",
    // The stack results, while rsp still covers the outgoing area (a signal
    // handler on this stack would clobber what lies below rsp).
    "mov rcx, [rbx + 464]",
    "mov rsi, [rbx + 456]",
    "xor edx, edx",
    "4:",
    "cmp rdx, rcx",
    "jae 5f",
    "mov rax, [rsp + rdx * 8]",
    "mov [rsi + rdx * 8], rax",
    "inc rdx",
    "jmp 4b",
    "5:",
    "mov rsp, rbp",
    "pop rdi",
    "pop rsp",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "xor eax, eax",
    "ret",
    ".globl pccc_trap_landing",
    "pccc_trap_landing:",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
);

extern "sysv64" {
    fn pccc_enter(frame: *mut EntryFrame) -> u32;
    pub fn pccc_trap_landing();
}

thread_local! {
    /// The innermost active entry on this thread (a linked list via `prev`).
    pub static INNERMOST: Cell<*mut EntryFrame> = const { Cell::new(std::ptr::null_mut()) };
}

/// Call compiled code. Returns `Err(trap code)` if it trapped.
///
/// # Safety
/// `frame.func` must be compiled code following pcc's calling convention,
/// `vmctx`/`heap_base` a live instance's, and any stack switch target valid.
/// On return, `frame.int_rets` and `frame.float_rets` hold the result registers.
pub unsafe fn enter(frame: &mut EntryFrame) -> Result<(), u32> {
    crate::signals::ensure_installed();
    frame.prev = INNERMOST.with(|c| c.get());
    INNERMOST.with(|c| c.set(frame as *mut _));
    let code = pccc_enter(frame as *mut _);
    INNERMOST.with(|c| c.set(frame.prev));
    if code == 0 {
        Ok(())
    } else {
        Err(code)
    }
}

// The assembly above addresses these fields by offset.
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(EntryFrame, vmctx) == 8);
    assert!(offset_of!(EntryFrame, heap_base) == 16);
    assert!(offset_of!(EntryFrame, stack_top) == 24);
    assert!(offset_of!(EntryFrame, int_args) == 32);
    assert!(offset_of!(EntryFrame, stack_args) == 88);
    assert!(offset_of!(EntryFrame, ret) == 96);
    assert!(offset_of!(EntryFrame, saved_rsp) == 104);
    assert!(offset_of!(EntryFrame, nstack) == 80);
    assert!(offset_of!(EntryFrame, prev) == 112);
    assert!(offset_of!(EntryFrame, float_args) == 120);
    assert!(offset_of!(EntryFrame, int_rets) == 248);
    assert!(offset_of!(EntryFrame, float_rets) == 320);
    assert!(offset_of!(EntryFrame, call_sp) == 448);
    assert!(offset_of!(EntryFrame, stack_rets) == 456);
    assert!(offset_of!(EntryFrame, nrets) == 464);
};
