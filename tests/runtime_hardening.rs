//! The runtime against hostile artifacts (issue 9, families 11, 12, 13, 15):
//! metadata it must refuse, a heap that must exist even without a memory,
//! a memory that must never grow into its guard, and builtins that must
//! refuse a vmctx or a result-slot pointer they did not hand out.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use pcc::{ConstExpr, ElemItem, HeapStrategy, Metadata};
use runtime::{Instance, Linker, Module, Val};

/// `wat` compiled with `heap`, its metadata changed by `change`, as ELF.
fn artifact(wat: &str, heap: HeapStrategy, change: impl FnOnce(&mut Metadata)) -> Vec<u8> {
    let wasm = wat::parse_str(wat).expect("test module parses");
    let mut a = pccc::compile_bytes(&wasm, &backend::CompileOptions::with_heap(heap))
        .expect("test module compiles");
    change(&mut a.meta);
    a.to_elf()
}

fn refused(bytes: &[u8], needle: &str) {
    match Module::from_artifact(bytes) {
        Ok(_) => panic!("the runtime accepted the artifact; expected `{needle}`"),
        Err(e) => assert!(
            e.to_string().contains(needle),
            "`{e}` does not mention `{needle}`"
        ),
    }
}

/// `pccc run --unverified` on `bytes`, with `args` after it.
fn run_cli(name: &str, bytes: &[u8], args: &[&str]) -> Output {
    let path = std::env::temp_dir().join(format!("pccc-rh-{}-{name}.o", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pccc"))
        // Not the user's verification cache.
        .env(
            "PCCC_CACHE_DIR",
            std::env::temp_dir().join("pccc-test-cache"),
        )
        .arg("run")
        .arg("--unverified")
        .arg(&path)
        .args(args)
        .output()
        .expect("run pccc");
    std::fs::remove_file(PathBuf::from(&path)).ok();
    o
}

const TABLE: &str = r#"(module
  (table 2 funcref)
  (func $f (result i32) (i32.const 7))
  (func $start)
  (elem (i32.const 0) $f)
  (start $start)
  (func (export "call0") (result i32) (call_indirect (result i32) (i32.const 0))))"#;

/// Family 15: an element segment naming a function past the last one made
/// `Instance::new` index out of range (panic, exit 101).
#[test]
fn elem_function_index_out_of_range_is_refused() {
    let bytes = artifact(TABLE, HeapStrategy::DEFAULT_STATIC, |m| {
        m.elems[0].items[0] = ElemItem::Func(99)
    });
    refused(&bytes, "elems[0]: function index 99 out of range");
}

/// Family 15: so did the start function, and the CLI exited 101.
#[test]
fn start_function_out_of_range_is_refused_with_exit_2() {
    let bytes = artifact(TABLE, HeapStrategy::DEFAULT_STATIC, |m| {
        m.start = Some(1000)
    });
    refused(&bytes, "start: function index 1000 out of range");
    let o = run_cli("start", &bytes, &["--invoke", "call0"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("start: function index 1000"), "{err}");
}

/// A ref.func global initialiser out of range: the same, through the globals.
#[test]
fn ref_func_global_out_of_range_is_refused() {
    let bytes = artifact(
        r#"(module (global funcref (ref.func $f)) (func $f) (elem declare func $f))"#,
        HeapStrategy::DEFAULT_STATIC,
        |m| m.globals[0].init = ConstExpr::RefFunc(5),
    );
    refused(&bytes, "globals[0].init: function index 5 out of range");
}

const PEEK: &str = r#"(module
  (memory 1)
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"#;

/// Family 12: with the memory taken out of the metadata, the runtime set
/// heap base 0 and a "heap" load read absolute address 0x10000 (a crash,
/// or worse, host data). Now the heap is a reservation of the runtime's
/// own, all PROT_NONE: the same load is a clean out-of-bounds trap.
#[test]
fn heap_access_without_a_memory_traps_inside_the_runtimes_reservation() {
    let bytes = artifact(PEEK, HeapStrategy::DEFAULT_STATIC, |m| m.memory = None);
    let o = run_cli("nomem", &bytes, &["--invoke", "peek", "0x10000"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("out of bounds memory access"), "{err}");
}

const GROW: &str = r#"(module
  (memory 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))"#;

/// Family 13: the validator bounds the memory by the reservation; the
/// runtime let it grow to reservation + guard, so code proved against a
/// 1 MiB memory could run with a larger one.
#[test]
fn memory_never_grows_past_the_reservation() {
    let heap = HeapStrategy::Static {
        reservation: 1 << 20,
        guard: 1 << 20,
    };
    let module = Module::from_artifact(&artifact(GROW, heap, |_| {})).unwrap();
    let inst = Instance::new(&module, &Linker::new()).unwrap();
    // 16 pages fill the reservation: one page more must fail.
    assert_eq!(
        inst.invoke("grow", &[Val::I32(16)]).unwrap(),
        [Val::I32(-1)]
    );
    assert_eq!(inst.invoke("grow", &[Val::I32(15)]).unwrap(), [Val::I32(1)]);
    assert_eq!(inst.invoke("grow", &[Val::I32(1)]).unwrap(), [Val::I32(-1)]);
    assert_eq!(inst.invoke("size", &[]).unwrap(), [Val::I32(16)]);
}

/// Family 13: a bounds-checked strategy with a guard is refused outright.
#[test]
fn bounds_checked_with_a_guard_is_refused() {
    let bytes = artifact(GROW, HeapStrategy::DEFAULT_BOUNDS_CHECKED, |m| {
        m.sandbox.heap = HeapStrategy::BoundsChecked {
            reservation: 1 << 20,
            guard: 1 << 20,
        }
    });
    refused(
        &bytes,
        "bounds-checked strategy has guard 0x100000, must be 0",
    );
}

type HostCall = extern "sysv64" fn(*mut u64, u32, *mut u64) -> u32;
type MemoryGrow = extern "sysv64" fn(*mut u64, u64) -> u64;
type BulkMemory = extern "sysv64" fn(*mut u64, u32, u64, u64, u64) -> u32;
type TableOp = extern "sysv64" fn(*mut u64, u64, u64, u64, u64) -> u64;

/// The builtin whose address is at byte `offset` of the vmctx, as compiled
/// code finds it.
unsafe fn builtin<F: Copy>(vmctx: *mut u64, offset: u32) -> F {
    let p = *vmctx.add(offset as usize / 8) as *const ();
    std::mem::transmute_copy(&p)
}

/// Family 11: compiled code chooses rdi. A vmctx the runtime did not hand
/// out (here a copy of a real one, whose back-pointer is genuine) must be
/// refused by every builtin before it acts; so must a wild pointer.
#[test]
fn builtins_refuse_a_vmctx_the_runtime_did_not_hand_out() {
    use pcc::vmctx::{BulkOp, TableOp as Op};
    use pcc::VmCtxLayout as L;
    let wat = r#"(module (memory 1) (table 1 funcref) (func $f) (elem declare func $f)
                   (func (export "size") (result i32) (memory.size)))"#;
    let module =
        Module::from_artifact(&artifact(wat, HeapStrategy::DEFAULT_STATIC, |_| {})).unwrap();
    let inst = Instance::new(&module, &Linker::new()).unwrap();
    let real = inst.vmctx_for_tests();
    let mut copy: Vec<u64> = unsafe { std::slice::from_raw_parts(real, 64) }.to_vec();
    let mut wild = [0x4141_4141_4141_4141u64; 64];
    let oob = pcc::TrapCode::HeapOutOfBounds as u32;
    for forged in [
        copy.as_mut_ptr(),
        wild.as_mut_ptr(),
        std::ptr::dangling_mut::<u64>(),
    ] {
        unsafe {
            let grow: MemoryGrow = builtin(real, L::MEMORY_GROW);
            assert_eq!(grow(forged, 1), u64::MAX, "memory_grow on {forged:p}");
            let bulk: BulkMemory = builtin(real, L::BULK_MEMORY);
            assert_eq!(bulk(forged, BulkOp::Fill.encode(), 0, 0xAA, 16), oob);
            let table: TableOp = builtin(real, L::TABLE_OP);
            assert_eq!(table(forged, Op::Get(0).encode(), 0, 0, 0), u64::MAX);
            assert_eq!(table(forged, Op::RefFunc(0).encode(), 0, 0, 0), 0);
            let host: HostCall = builtin(real, L::HOST_CALL);
            let mut slots = [0u64; 4];
            assert_ne!(host(forged, 0, slots.as_mut_ptr()), 0);
        }
    }
    // Nothing happened to the real instance.
    assert_eq!(inst.invoke("size", &[]).unwrap(), [Val::I32(1)]);
    assert_eq!(inst.memory().unwrap().read(0, 16).unwrap(), [0; 16]);
    // The real vmctx with a bad op code is refused too.
    unsafe {
        let bulk: BulkMemory = builtin(real, L::BULK_MEMORY);
        assert_eq!(bulk(real, 0xff, 0, 0, 1), oob);
        let table: TableOp = builtin(real, L::TABLE_OP);
        assert_ne!(table(real, 0xff, 0, 0, 1), 0);
    }
}

/// The vmctx of the running instance, for the host function below.
static VMCTX: AtomicU64 = AtomicU64::new(0);
/// Slots on the host's own stack, outside the wasm stack.
static HOST_STACK_SLOTS: AtomicU64 = AtomicU64::new(0);

/// Family 11: compiled code chooses rdx, the slots `host_call` reads
/// arguments from and writes results to. A pointer outside the calling
/// frame on the wasm stack (host heap, the host's native stack) is refused
/// and nothing is written there.
#[test]
fn host_call_refuses_slots_outside_the_callers_frame() {
    let wat = r#"(module
      (import "env" "inc" (func (param i32) (result i32)))
      (import "env" "probe" (func))
      (func (export "inc") (param i32) (result i32) (call 0 (local.get 0)))
      (func (export "run") (call 1)))"#;
    let mut linker = Linker::new();
    let i32_to_i32 = pcc::WasmFuncType {
        params: vec![pcc::ValType::I32],
        results: vec![pcc::ValType::I32],
    };
    linker.func("env", "inc", i32_to_i32, |a| match a {
        [Val::I32(x)] => Ok(vec![Val::I32(x + 1)]),
        _ => Err(pcc::TrapCode::HostTrap),
    });
    let unit = pcc::WasmFuncType {
        params: vec![],
        results: vec![],
    };
    linker.func("env", "probe", unit, |_| {
        let vmctx = VMCTX.load(Ordering::SeqCst) as *mut u64;
        let host: HostCall = unsafe { builtin(vmctx, pcc::VmCtxLayout::HOST_CALL) };
        let mut heap = Box::new([5u64, 0]);
        let on_stack = HOST_STACK_SLOTS.load(Ordering::SeqCst) as *mut u64;
        let on_heap = host(vmctx, 0, heap.as_mut_ptr());
        let on_host_stack = host(vmctx, 0, on_stack);
        let bad_import = host(vmctx, 77, heap.as_mut_ptr());
        assert_ne!(on_heap, 0, "slots on the host heap accepted");
        assert_ne!(on_host_stack, 0, "slots on the host's stack accepted");
        assert_ne!(bad_import, 0, "import 77 accepted");
        assert_eq!(*heap, [5, 0], "host_call wrote to the host heap");
        Ok(vec![])
    });
    let module =
        Module::from_artifact(&artifact(wat, HeapStrategy::DEFAULT_STATIC, |_| {})).unwrap();
    let inst = Instance::new(&module, &linker).unwrap();
    VMCTX.store(inst.vmctx_for_tests() as u64, Ordering::SeqCst);
    let mut local = [5u64, 0];
    HOST_STACK_SLOTS.store(local.as_mut_ptr() as u64, Ordering::SeqCst);
    // The genuine path still works, and the probe's assertions hold.
    assert_eq!(inst.invoke("inc", &[Val::I32(41)]).unwrap(), [Val::I32(42)]);
    inst.invoke("run", &[])
        .expect("probe ran and found every bad call refused");
    assert_eq!(
        std::hint::black_box(local),
        [5, 0],
        "host_call wrote to the host's stack"
    );
}

/// Each thread that runs wasm maps a wasm stack and a signal stack; a thread
/// that exits must give them back, or a process running wasm on many
/// short-lived threads leaks mappings until mmap fails at the kernel's
/// map-count limit (the differential fuzzer aborted after ~18,000 modules).
#[test]
fn threads_that_ran_wasm_give_their_stacks_back() {
    const ADD: &str = r#"(module (func (export "f") (param i32) (result i32)
        local.get 0 i32.const 1 i32.add))"#;
    let module = std::sync::Arc::new(
        Module::from_artifact(&artifact(ADD, HeapStrategy::DEFAULT_STATIC, |_| {})).unwrap(),
    );
    let maps = || {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .count()
    };
    let run_threads = |n: usize| {
        for _ in 0..n {
            let m = module.clone();
            std::thread::spawn(move || {
                let inst = Instance::new(&m, &Linker::new()).unwrap();
                assert_eq!(
                    inst.invoke("f", &[Val::I32(41)]).unwrap(),
                    vec![Val::I32(42)]
                );
            })
            .join()
            .unwrap();
        }
    };
    run_threads(20); // warm up whatever is mapped once per process
    let before = maps();
    run_threads(300);
    let after = maps();
    assert!(
        after < before + 50,
        "300 threads that ran wasm left {} more mappings ({before} -> {after})",
        after.saturating_sub(before)
    );
}

/// Compiled code chooses the number it passes where a function reference
/// goes, and the handle registry is the process's: counting handles must
/// not let one instance put another instance's function in its table (and
/// then run it, with that instance's memory). Handed over by the host, the
/// same function may go there.
#[test]
fn function_handles_cannot_be_counted() {
    use pcc::vmctx::TableOp as Op;
    use pcc::VmCtxLayout as L;
    let victim = r#"(module (memory 1)
        (func $private (result i32)
          (i32.store (i32.const 0) (i32.const 0x41414141)) (i32.const 7))
        (elem declare func $private)
        (func (export "ref") (result funcref) (ref.func $private))
        (func (export "peek") (result i32) (i32.load (i32.const 0))))"#;
    let attacker = r#"(module (table (export "t") 1 funcref) (type $r (func (result i32)))
        (func (export "call0") (result i32) (call_indirect (type $r) (i32.const 0)))
        (func (export "set0") (param funcref) (table.set (i32.const 0) (local.get 0))))"#;
    let load = |wat| {
        let m =
            Module::from_artifact(&artifact(wat, HeapStrategy::DEFAULT_STATIC, |_| {})).unwrap();
        Instance::new(&m, &Linker::new()).unwrap()
    };
    let (v, a) = (load(victim), load(attacker));
    // The victim's function now has a handle in the registry.
    let handed = v.invoke("ref", &[]).unwrap();
    let real = a.vmctx_for_tests();
    for guess in (1..=256u64).chain((0..64).map(|k| (k << 32) | 1)) {
        let set: TableOp = unsafe { builtin(real, L::TABLE_OP) };
        let r = set(real, Op::Set(0).encode(), 0, guess, 0);
        assert_ne!(r, 0, "table.set accepted the counted handle {guess:#x}");
    }
    assert!(
        a.invoke("call0", &[]).is_err(),
        "element 0 must still be null"
    );
    assert_eq!(v.invoke("peek", &[]).unwrap(), [Val::I32(0)]);
    // The host may hand the reference over.
    a.invoke("set0", &handed).unwrap();
    assert_eq!(a.invoke("call0", &[]).unwrap(), [Val::I32(7)]);
    assert_eq!(v.invoke("peek", &[]).unwrap(), [Val::I32(0x41414141)]);
}
