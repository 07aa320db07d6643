//! Exception handling: how a thrown exception reaches its handler. The
//! contract between the code that throws and catches (checked by the
//! validator) and the runtime's unwinder (trusted, small).
//!
//! - `throw`/`throw_ref` are builtins (`crate::builtin`). The exception is
//!   an object the runtime keeps; compiled code only ever holds its handle
//!   (an `exnref`, never a pointer).
//! - The unwinder walks the wasm frames of the innermost entry from the
//!   thrower outwards by their frame pointers (every function begins
//!   `push rbp; mov rbp, rsp`, and the validator proves no code writes a
//!   saved `rbp` or return address). The first frame whose return address
//!   is the `ret` of an [`ExnSite`](crate::ExnSite) resumes at that site's
//!   `landing`, with `rsp` = the frame's stack pointer after the call
//!   returns (the return address's slot + 8) and `rbp` = the frame's own.
//!   Every other register, the flags and all xmm registers are undefined
//!   there: the landing code reloads `r14` from its frame and `r15` from
//!   vmctx, and fetches the exception with `exn_landed`. Callee-saved
//!   registers are whatever the abandoned frames left: a function with
//!   landings saves all of them, which the validator's `ret` rule enforces.
//! - Which catch clause applies is decided by the landing code, not the
//!   unwinder: `exn_catch` compares the exception's tag with one of the
//!   instance's tags and copies the payload out; no clause, `throw_ref`
//!   passes it on from there.
//! - No frame of the entry catches: the entry returns
//!   [`TrapCode::UncaughtException`](crate::TrapCode) and the exception
//!   continues from the host call that made the entry, if any.
