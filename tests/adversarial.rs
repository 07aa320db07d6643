//! The adversarial suite (issue 9): hand-written artifacts that try to leave
//! the sandbox, each built with the artifact assembler
//! (`pccc::artifact_tool`) and handed to `validator::verify`.
//!
//! Every row starts from a compiled skeleton module (`SKELETON`, static or
//! bounds-checked heap), replaces the code of its function `f` with a
//! hand-assembled body between the frame prologue
//! (`push rbp; mov rbp, rsp; [sub rsp, F]; cmp rsp, [r14+16]; jb <trap>`) and
//! the epilogue (`mov eax, eax; mov rsp, rbp; pop rbp; ret`), with its trap
//! sites and facts recomputed from labels, and may tamper with the metadata
//! or the symbols afterwards.
//!
//! - A CONTROL row is the same construction without an attack: it must be
//!   accepted (so the skeletons are valid, and an attack row is rejected for
//!   its attack, not for its scaffolding).
//! - An attack row must be rejected, and one failure must sit at one of the
//!   row's named sites (the attacking instruction, or the instruction that
//!   acts on what it forged), or name the row's subject in its text
//!   (metadata rows: "memory", "guard", ...). A rejection elsewhere does not
//!   count: the attack would not be what was caught.
//!
//! The `old` column records what the validator before the rewrite (main at
//! 682d568, the one this suite was written against) said about each row:
//! `accepted` means that validator let the attack through. It accepted 47
//! of the 89 attacks: every row of families 1-13 and 15 but one (`cmp di,
//! si` against heap_bytes, family 9, which it never refined), and five new
//! ones (export and import-thunk indices out of range, a rep-prefixed heap
//! load, a 0x66-prefixed `ret`, an extra symbol inside a function). The 41
//! other new rows it already rejected, at the attacking instruction. The
//! suite was committed failing on purpose: `attacks_are_rejected` passes
//! once the new validator lands; `controls_are_accepted` passes on both.
//! Run with `--nocapture` to see the table; `PCCC_ADVERSARIAL_SHOW=<part
//! of a row name>` prints that row's function disassembled.
//!
//! Later rows, written against the validator without the rule each
//! tests (and seen accepted there): results past the result registers
//! (issue 10: the callee's stack-result slots, the caller's outgoing area,
//! slots forgotten after a call) and jump tables (issue 11: the bound, the
//! entries inside the function after the jump, an entry reached by
//! falling through), callee-saved registers (issue 11: rbx, r12, r13
//! back in place at every `ret`, save slots kept at loop headers). Their
//! `old` column says what the validator before them said.
//!
//! Not here: family 14 (WASI path resolution, a runtime test) — no
//! artifact expresses it.

use std::collections::HashMap;
use std::sync::OnceLock;

use iced_x86::code_asm::*;
use pcc::{ElemItem, Fact, FactEntry, HeapStrategy, Loc, Point, TrapCode, VmCtxLayout};
use pccc::artifact_tool::{self, ArtifactJson, SymbolJson};

/// Defined functions: g (0), m (1), f (2, the one rows rewrite), v (3),
/// then the import's thunk (4). Types: $t = 0, $v = 1, $m = 2 (twelve i32
/// results: three travel in the outgoing area). The table holds v and m.
/// The functions rows call come before f, so their addresses stay put when
/// f's code is replaced.
const SKELETON: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (type $v (func (result i32)))
  (type $m (func (param i32) (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "env" "h" (func $h (type $t)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $v $m)
  (func $g (type $t) local.get 0 i32.load)
  (func $m (type $m)
    local.get 0 local.get 0 local.get 0 local.get 0 local.get 0 local.get 0
    local.get 0 local.get 0 local.get 0 local.get 0 local.get 0 local.get 0)
  (func $f (export "f") (type $t) local.get 0 i32.load)
  (func $v (type $v) i32.const 7))"#;

/// The function rows rewrite.
const F: u32 = 2;
/// The function direct calls go to.
const G: u32 = 0;
/// The function with results in the outgoing area, and its type.
const M: u32 = 1;
const M_TYPE: u32 = 2;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Heap {
    Static,
    Checked,
}

fn skeleton(heap: Heap) -> &'static ArtifactJson {
    static S: OnceLock<ArtifactJson> = OnceLock::new();
    static C: OnceLock<ArtifactJson> = OnceLock::new();
    let (cell, strategy) = match heap {
        Heap::Static => (&S, HeapStrategy::DEFAULT_STATIC),
        Heap::Checked => (&C, HeapStrategy::DEFAULT_BOUNDS_CHECKED),
    };
    cell.get_or_init(|| {
        let wasm = wat::parse_str(SKELETON).unwrap();
        let opts = backend::CompileOptions::with_heap(strategy);
        let elf = pccc::compile_bytes(&wasm, &opts).unwrap().to_elf();
        let report = validator::verify(&elf).unwrap();
        assert!(report.accepted(), "the compiled skeleton is rejected");
        artifact_tool::dump(&elf).unwrap()
    })
}

type R = Result<(), IcedError>;

/// A function being assembled: the code assembler, named labels (sites,
/// branch targets), trap sites and claims by label.
struct Asm {
    a: CodeAssembler,
    /// The last label placed, with the instruction count then.
    placed: Option<(usize, CodeLabel)>,
    /// Entry and stack-overflow trap of g, for calls.
    g: u64,
    g_trap: u64,
    /// Entry of m (three stack results).
    m: u64,
    layout: VmCtxLayout,
    names: HashMap<&'static str, CodeLabel>,
    traps: Vec<(CodeLabel, TrapCode)>,
    claims: Vec<(&'static str, Point, Loc, Fact)>,
    /// The standard epilogue (`mov eax, eax; mov rsp, rbp; pop rbp; ret`),
    /// unless the row writes its own.
    epilogue: bool,
}

impl Asm {
    /// The label called `name` (created on first use, placed by `at`).
    fn l(&mut self, name: &'static str) -> CodeLabel {
        if let Some(l) = self.names.get(name) {
            return *l;
        }
        let l = self.a.create_label();
        self.names.insert(name, l);
        l
    }
    /// Place label `name` on the next instruction. Two names for one
    /// instruction share a label (a name branches already refer to gets a
    /// `nop` of its own instead).
    fn at(&mut self, name: &'static str) -> R {
        let here = self.a.instructions().len();
        if let Some((at, l)) = self.placed {
            if at == here {
                if !self.names.contains_key(name) {
                    self.names.insert(name, l);
                    return Ok(());
                }
                self.a.nop()?;
            }
        }
        let mut l = self.l(name);
        self.a.set_label(&mut l)?;
        self.names.insert(name, l);
        self.placed = Some((self.a.instructions().len(), l));
        Ok(())
    }
    /// A trap site (its `ud2` is emitted after the epilogue).
    fn trap(&mut self, code: TrapCode) -> CodeLabel {
        if let Some((l, _)) = self.traps.iter().find(|(_, c)| *c == code) {
            return *l;
        }
        let l = self.a.create_label();
        self.traps.push((l, code));
        l
    }
    fn claim(&mut self, at: &'static str, point: Point, loc: Loc, fact: Fact) {
        self.claims.push((at, point, loc, fact));
    }
    /// Standard epilogue, named `epilogue`, `pop`, `ret`.
    fn standard_epilogue(&mut self) -> R {
        self.at("end")?;
        self.a.mov(eax, eax)?;
        self.at("epilogue")?;
        self.a.mov(rsp, rbp)?;
        self.at("pop")?;
        self.a.pop(rbp)?;
        self.at("ret")?;
        self.a.ret()
    }
    /// The bounds check the compiler emits for a 4-byte access at `rdi`
    /// in the bounds-checked strategy.
    fn bounds_check_rdi(&mut self) -> R {
        let oob = self.trap(TrapCode::HeapOutOfBounds);
        self.a.mov(rsi, qword_ptr(r14 + VmCtxLayout::HEAP_BYTES))?;
        self.a.sub(rsi, 4)?;
        self.a.jb(oob)?;
        self.a.cmp(rdi, rsi)?;
        self.a.ja(oob)
    }
    /// `lea rax, [rip -> label]`.
    fn lea_rip(&mut self, r: AsmRegister64, label: &'static str) -> R {
        let l = self.l(label);
        self.a.lea(r, ptr(l))
    }
}

/// The assembled function with its sites.
struct Built {
    code: Vec<u8>,
    traps: Vec<(u32, TrapCode)>,
    facts: Vec<FactEntry>,
    sites: HashMap<&'static str, u32>,
}

type Body = Box<dyn Fn(&mut Asm) -> R + Sync>;
/// Edits after the function is in place, given its sites.
type Tamper = Box<dyn Fn(&mut ArtifactJson, &HashMap<&'static str, u32>) + Sync>;

fn assemble(art: &ArtifactJson, frame: u32, body: &Body) -> Built {
    let ip = art.offset(F).unwrap() as u64;
    let g = art.offset(G).unwrap() as u64;
    let g_trap = g + art
        .metadata
        .trap_sites
        .iter()
        .find(|t| t.func == G && t.code == TrapCode::StackOverflow)
        .unwrap()
        .offset as u64;
    let mut s = Asm {
        a: CodeAssembler::new(64).unwrap(),
        placed: None,
        g,
        g_trap,
        m: art.offset(M).unwrap() as u64,
        layout: art.metadata.vmctx_layout(),
        names: HashMap::new(),
        traps: vec![],
        claims: vec![],
        epilogue: true,
    };
    let go = |s: &mut Asm| -> R {
        let so = s.trap(TrapCode::StackOverflow);
        s.a.push(rbp)?;
        s.a.mov(rbp, rsp)?;
        if frame > 0 {
            s.a.sub(rsp, frame as i32)?;
        }
        s.a.cmp(rsp, qword_ptr(r14 + VmCtxLayout::STACK_LIMIT))?;
        s.a.jb(so)?;
        body(s)?;
        if s.epilogue {
            s.standard_epilogue()?;
        }
        for k in 0..s.traps.len() {
            let (mut l, _) = s.traps[k];
            s.a.set_label(&mut l)?;
            s.traps[k].0 = l;
            s.a.ud2()?;
        }
        Ok(())
    };
    go(&mut s).unwrap();
    let names: Vec<(&'static str, CodeLabel)> = s.names.iter().map(|(k, v)| (*k, *v)).collect();
    let mut labels: Vec<CodeLabel> = names.iter().map(|(_, l)| *l).collect();
    labels.extend(s.traps.iter().map(|(l, _)| *l));
    let (code, offs) = artifact_tool::assemble_at(&mut s.a, ip, &labels).unwrap();
    let sites: HashMap<&'static str, u32> = names
        .iter()
        .map(|(n, _)| *n)
        .zip(offs.iter().copied())
        .collect();
    let traps = s
        .traps
        .iter()
        .zip(&offs[names.len()..])
        .map(|((_, c), o)| (*o, *c))
        .collect();
    let facts = s
        .claims
        .iter()
        .map(|&(at, point, loc, fact)| FactEntry {
            offset: sites[at],
            point,
            loc,
            fact,
        })
        .collect();
    Built {
        code,
        traps,
        facts,
        sites,
    }
}

/// One row of the table.
struct Row {
    name: &'static str,
    /// Issue 9's family number, "new", or "control".
    family: &'static str,
    /// What the old validator said (recorded, not checked).
    old: &'static str,
    heap: Heap,
    /// Frame size (`sub rsp, F`; 0: none).
    frame: u32,
    body: Body,
    /// Edits after the function is in place (metadata, symbols).
    tamper: Option<Tamper>,
    /// Labels where a failure may sit.
    sites: &'static [&'static str],
    /// Words one of which a failure's text may contain instead.
    words: &'static [&'static str],
}

fn control(name: &'static str, heap: Heap, frame: u32, body: Body) -> Row {
    Row {
        name,
        family: "control",
        old: "accepted",
        heap,
        frame,
        body,
        tamper: None,
        sites: &[],
        words: &[],
    }
}

#[allow(clippy::too_many_arguments)]
fn attack(
    name: &'static str,
    family: &'static str,
    old: &'static str,
    heap: Heap,
    frame: u32,
    sites: &'static [&'static str],
    body: Body,
) -> Row {
    Row {
        name,
        family,
        old,
        heap,
        frame,
        body,
        tamper: None,
        sites,
        words: &[],
    }
}

fn tampered(mut row: Row, words: &'static [&'static str], tamper: Tamper) -> Row {
    row.tamper = Some(tamper);
    row.words = words;
    row
}

/// `mov eax, [r15 + r]`, the heap access a forged index feeds, at `use`.
fn use_index(s: &mut Asm, r: AsmRegister64) -> R {
    s.at("use")?;
    s.a.mov(eax, dword_ptr(r15 + r))
}

fn b(f: impl Fn(&mut Asm) -> R + Sync + 'static) -> Body {
    Box::new(f)
}

/// The host call the compiler emits for `call $h` with the argument in rdi;
/// `rdi_src` / `rdx` replaced by the attack rows.
fn host_call(s: &mut Asm, vmctx: Option<AsmRegister64>, slots: i32, import: u32) -> R {
    let trap = s.trap(TrapCode::HostTrap);
    s.a.mov(qword_ptr(rsp), rdi)?;
    s.at("setup")?;
    match vmctx {
        Some(r) => s.a.mov(rdi, r)?,
        None => s.a.mov(rdi, r14)?,
    }
    s.a.mov(esi, import)?;
    s.a.lea(rdx, ptr(rsp + slots))?;
    s.at("attack")?;
    s.a.call(qword_ptr(r14 + VmCtxLayout::HOST_CALL))?;
    s.a.test(eax, eax)?;
    s.a.jne(trap)?;
    s.a.mov(eax, dword_ptr(rsp))
}

/// call_indirect of table 0 at index `rdi << 32 | ...` with the bound
/// compared at `bits` (64 in the compiler's sequence).
fn call_indirect(s: &mut Asm, bound32: bool) -> R {
    call_indirect_of(s, bound32, 1, 0)
}

/// call_indirect of type `ty`, the vmctx saved at `[rsp + vm_slot]`.
fn call_indirect_of(s: &mut Asm, bound32: bool, ty: u32, vm_slot: i32) -> R {
    let (t_oob, t_null, t_sig) = (
        s.trap(TrapCode::TableOutOfBounds),
        s.trap(TrapCode::IndirectCallToNull),
        s.trap(TrapCode::BadSignature),
    );
    let (table, sig) = (s.layout.table(0), s.layout.sig_id(ty));
    s.a.mov(r8, rdi)?;
    // An index with upper bits: only a 64-bit bound check stops it.
    s.a.shl(r8, 32)?;
    s.a.mov(rsi, qword_ptr(r14 + table))?;
    s.at("attack")?;
    if bound32 {
        s.a.cmp(r8d, dword_ptr(rsi + VmCtxLayout::TABLE_LEN))?;
    } else {
        s.a.cmp(r8, qword_ptr(rsi + VmCtxLayout::TABLE_LEN))?;
    }
    s.a.jae(t_oob)?;
    s.a.mov(rsi, qword_ptr(rsi))?;
    s.a.lea(rdi, qword_ptr(r8 + r8 * 2))?;
    s.a.lea(rsi, qword_ptr(rsi + rdi * 8))?;
    // The first read through the element address the bound check made.
    s.at("elem")?;
    s.a.cmp(qword_ptr(rsi + VmCtxLayout::ELEM_CODE), 0)?;
    s.a.je(t_null)?;
    s.a.mov(rdi, qword_ptr(r14 + sig))?;
    s.a.cmp(qword_ptr(rsi + VmCtxLayout::ELEM_SIG), rdi)?;
    s.a.jne(t_sig)?;
    s.a.mov(qword_ptr(rsp + vm_slot), r14)?;
    s.a.mov(r14, qword_ptr(rsi + VmCtxLayout::ELEM_VMCTX))?;
    s.a.mov(r15, qword_ptr(r14))?;
    if ty == M_TYPE {
        s.a.mov(edi, 1)?;
    }
    s.at("use")?;
    s.a.call(qword_ptr(rsi + VmCtxLayout::ELEM_CODE))?;
    s.a.mov(r14, qword_ptr(rsp + vm_slot))?;
    s.a.mov(r15, qword_ptr(r14))
}

/// `syscall` bytes that no instruction boundary leads to, at `hidden`.
fn hidden_syscall(s: &mut Asm) -> R {
    s.at("hidden")?;
    s.a.db(&[0x0f, 0x05])
}

fn rows() -> Vec<Row> {
    use Heap::{Checked, Static};
    let rel = |s: &mut Asm| -> R {
        s.at("use")?;
        s.a.mov(eax, dword_ptr(r15 + rdi))
    };
    let mut rows = vec![
        // ---- controls: one per skeleton shape ----
        control("control: heap load, static", Static, 0, b(rel)),
        control(
            "control: spill and reload, static",
            Static,
            0x20,
            b(|s| {
                s.a.mov(ecx, 5)?;
                s.a.mov(qword_ptr(rsp + 8), rcx)?;
                s.a.mov(rax, qword_ptr(rsp + 8))?;
                use_index(s, rax)
            }),
        ),
        control(
            "control: bounds-checked load",
            Checked,
            0,
            b(|s| {
                s.bounds_check_rdi()?;
                use_index(s, rdi)
            }),
        ),
        control(
            "control: call_indirect",
            Static,
            0x10,
            b(|s| call_indirect(s, false)),
        ),
        control(
            "control: host_call",
            Static,
            0x10,
            b(|s| host_call(s, None, 0, 0)),
        ),
        control(
            "control: memory_grow",
            Static,
            0,
            b(|s| {
                s.a.mov(esi, edi)?;
                s.a.mov(rdi, r14)?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::MEMORY_GROW))
            }),
        ),
        control(
            "control: bulk_memory fill",
            Static,
            0,
            b(|s| {
                let oob = s.trap(TrapCode::HeapOutOfBounds);
                s.a.mov(rdi, r14)?;
                s.a.mov(esi, 1)?;
                s.a.xor(edx, edx)?;
                s.a.xor(ecx, ecx)?;
                s.a.xor(r8d, r8d)?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::BULK_MEMORY))?;
                s.a.test(eax, eax)?;
                s.a.jne(oob)
            }),
        ),
        control(
            "control: table_op ref.func",
            Static,
            0,
            b(|s| {
                s.a.mov(rdi, r14)?;
                s.a.mov(esi, 7)?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::TABLE_OP))
            }),
        ),
        control(
            "control: direct call",
            Static,
            0,
            b(|s| {
                let g = s.g;
                s.a.call(g)
            }),
        ),
        control(
            "control: claim at a join",
            Static,
            0,
            b(|s| {
                s.a.xor(eax, eax)?;
                s.a.cmp(rdi, 10)?;
                let l = s.l("join");
                s.a.ja(l)?;
                s.a.mov(eax, edi)?;
                s.at("join")?;
                s.claim("join", Point::Before, Loc::Gpr(pcc::Gpr::RAX), Fact::ZEXT32);
                use_index(s, rax)
            }),
        ),
        // ---- 1: 8/16-bit writes replace the whole register ----
        attack(
            "mov ax, imm",
            "1",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.mov(ax, 5)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "mov al, imm",
            "1",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.mov(al, 5)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "movzx ax, cl",
            "1",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.movzx(ax, cl)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "lea ax, [rdi+1]",
            "1",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.lea(ax, ptr(rdi + 1))?;
                use_index(s, rax)
            }),
        ),
        attack(
            "popcnt ax, cx",
            "1",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.popcnt(ax, cx)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "lzcnt ax, cx",
            "1",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.lzcnt(ax, cx)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "mov ax, [rsp+8]",
            "1",
            "accepted",
            Static,
            0x10,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.mov(ax, word_ptr(rsp + 8))?;
                use_index(s, rax)
            }),
        ),
        attack(
            "shr ax, 15; shr rax, 17",
            "1",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.shr(ax, 15)?;
                s.a.shr(rax, 17)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "mov ax, imm; claim at block entry",
            "1",
            "accepted",
            Static,
            0,
            &["attack", "join", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.mov(ax, 5)?;
                let l = s.l("join");
                s.a.jmp(l)?;
                s.at("join")?;
                s.claim(
                    "join",
                    Point::Before,
                    Loc::Gpr(pcc::Gpr::RAX),
                    Fact::constant(64, 5),
                );
                use_index(s, rax)
            }),
        ),
        // ---- 2: ah/bh/ch/dh and setcc ----
        attack(
            "mov ah, imm",
            "2",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.mov(ah, 1)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "sete ah; movzx eax, al",
            "2",
            "accepted",
            Static,
            0,
            &["attack", "read", "use"],
            b(|s| {
                s.at("attack")?;
                s.a.sete(ah)?;
                s.at("read")?;
                s.a.movzx(eax, al)?;
                s.a.shl(rax, 28)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "sete al; movzx ecx, ah",
            "2",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.a.sete(al)?;
                s.at("attack")?;
                s.a.movzx(ecx, ah)?;
                s.a.shl(rcx, 28)?;
                use_index(s, rcx)
            }),
        ),
        // ---- 3: imul forms ----
        attack(
            "imul rax, rcx, 0x10000",
            "3",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.a.xor(eax, eax)?;
                s.a.mov(ecx, 0x10_0000)?;
                s.at("attack")?;
                s.a.imul_3(rax, rcx, 0x10000)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "imul rcx (rdx:rax = rax*rcx)",
            "3",
            "accepted",
            Static,
            0,
            &["attack", "use"],
            b(|s| {
                s.a.mov(eax, 0x10000)?;
                s.a.mov(ecx, 0x10_0000)?;
                s.at("attack")?;
                s.a.imul(rcx)?;
                use_index(s, rax)
            }),
        ),
        // ---- 4: SSE stores over frame slots ----
        attack(
            "movq [rsp+8], xmm0 over a slot",
            "4",
            "accepted",
            Static,
            0x20,
            &["attack", "reload", "use"],
            b(|s| {
                s.a.mov(ecx, 5)?;
                s.a.mov(qword_ptr(rsp + 8), rcx)?;
                s.at("attack")?;
                s.a.movq(qword_ptr(rsp + 8), xmm0)?;
                s.at("reload")?;
                s.a.mov(rax, qword_ptr(rsp + 8))?;
                use_index(s, rax)
            }),
        ),
        attack(
            "movd [rsp+12], xmm0 into a slot's top",
            "4",
            "accepted",
            Static,
            0x20,
            &["attack", "reload", "use"],
            b(|s| {
                s.a.mov(ecx, 5)?;
                s.a.mov(qword_ptr(rsp + 8), rcx)?;
                s.at("attack")?;
                s.a.movd(dword_ptr(rsp + 12), xmm0)?;
                s.at("reload")?;
                s.a.mov(rax, qword_ptr(rsp + 8))?;
                use_index(s, rax)
            }),
        ),
        attack(
            "movss [rsp+12], xmm0 into a slot's top",
            "4",
            "accepted",
            Static,
            0x20,
            &["attack", "reload", "use"],
            b(|s| {
                s.a.mov(ecx, 5)?;
                s.a.mov(qword_ptr(rsp + 8), rcx)?;
                s.at("attack")?;
                s.a.movss(dword_ptr(rsp + 12), xmm0)?;
                s.at("reload")?;
                s.a.mov(rax, qword_ptr(rsp + 8))?;
                use_index(s, rax)
            }),
        ),
        // ---- 5: indirect jumps ----
        attack(
            "lea rax, [rip+X]; jmp rax",
            "5",
            "accepted",
            Static,
            0,
            &["attack", "lea", "hidden"],
            b(|s| {
                s.at("lea")?;
                s.lea_rip(rax, "hidden")?;
                s.at("attack")?;
                s.a.jmp(rax)?;
                hidden_syscall(s)
            }),
        ),
        attack(
            "jmp [rsp+8] holding rip+X",
            "5",
            "accepted",
            Static,
            0x10,
            &["attack", "lea", "hidden"],
            b(|s| {
                s.at("lea")?;
                s.lea_rip(rax, "hidden")?;
                s.a.mov(qword_ptr(rsp + 8), rax)?;
                s.at("attack")?;
                s.a.jmp(qword_ptr(rsp + 8))?;
                hidden_syscall(s)
            }),
        ),
        attack(
            "jmp rdi (the argument)",
            "5",
            "accepted",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.at("attack")?;
                s.a.jmp(rdi)
            }),
        ),
        // ---- 6: ret on a path that skipped the epilogue ----
        attack(
            "jmp to ret with rsp not restored",
            "6",
            "accepted",
            Static,
            0x10,
            &["attack", "ret"],
            b(|s| {
                // Any address as the new return address (rip-relative lea is
                // a family of its own, 5).
                s.a.mov(rcx, 0x4141_4141_4141u64)?;
                s.a.mov(qword_ptr(rsp), rcx)?;
                let l = s.l("ret");
                // A zero-extended i32 result, as the epilogue path has.
                s.a.xor(eax, eax)?;
                s.at("attack")?;
                s.a.jmp(l)
            }),
        ),
        attack(
            "jmp to pop rbp skipping mov rsp, rbp",
            "6",
            "accepted",
            Static,
            0x10,
            &["attack", "pop", "ret"],
            b(|s| {
                s.a.mov(rcx, 0x4141_4141_4141u64)?;
                s.a.mov(qword_ptr(rsp + 8), rcx)?;
                let l = s.l("pop");
                // A zero-extended i32 result, as the epilogue path has.
                s.a.xor(eax, eax)?;
                s.at("attack")?;
                s.a.jmp(l)
            }),
        ),
        // ---- 7: 0x67 address size ----
        attack(
            "mov eax, [r15d+edi]",
            "7",
            "accepted",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.at("attack")?;
                s.a.mov(eax, dword_ptr(r15d + edi))
            }),
        ),
        attack(
            "mov [esp+8], eax",
            "7",
            "accepted",
            Static,
            0x10,
            &["attack"],
            b(|s| {
                s.at("attack")?;
                s.a.mov(dword_ptr(esp + 8), eax)
            }),
        ),
        // ---- 8: 0x66 near branches (Intel and AMD disagree) ----
        attack(
            "66 jmp",
            "8",
            "accepted",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.set_prefer_short_branch(false);
                let l = s.l("next");
                s.at("attack")?;
                s.a.db(&[0x66])?;
                s.a.jmp(l)?;
                s.at("next")?;
                s.a.nop()
            }),
        ),
        attack(
            "66 je",
            "8",
            "accepted",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.set_prefer_short_branch(false);
                let l = s.l("next");
                s.a.test(edi, edi)?;
                s.at("attack")?;
                s.a.db(&[0x66])?;
                s.a.je(l)?;
                s.at("next")?;
                s.a.nop()
            }),
        ),
        attack(
            "66 call g",
            "8",
            "accepted",
            Static,
            0,
            &["attack"],
            b(|s| {
                let g = s.g;
                s.at("attack")?;
                s.a.db(&[0x66])?;
                s.a.call(g)
            }),
        ),
        // ---- 9: bounds-checked heap, narrow compare ----
        attack(
            "cmp di, imm16; ja",
            "9",
            "accepted",
            Checked,
            0,
            &["attack", "use"],
            b(|s| {
                let oob = s.trap(TrapCode::HeapOutOfBounds);
                s.at("attack")?;
                s.a.cmp(di, 0x100)?;
                s.a.ja(oob)?;
                use_index(s, rdi)
            }),
        ),
        attack(
            "cmp dil, imm8; ja",
            "9",
            "accepted",
            Checked,
            0,
            &["attack", "use"],
            b(|s| {
                let oob = s.trap(TrapCode::HeapOutOfBounds);
                s.at("attack")?;
                s.a.cmp(dil, 0x10)?;
                s.a.ja(oob)?;
                use_index(s, rdi)
            }),
        ),
        attack(
            "cmp di, si against heap_bytes",
            "9",
            "rejected",
            Checked,
            0,
            &["attack", "use"],
            b(|s| {
                let oob = s.trap(TrapCode::HeapOutOfBounds);
                s.a.mov(rsi, qword_ptr(r14 + VmCtxLayout::HEAP_BYTES))?;
                s.a.sub(rsi, 4)?;
                s.a.jb(oob)?;
                s.at("attack")?;
                s.a.cmp(di, si)?;
                s.a.ja(oob)?;
                use_index(s, rdi)
            }),
        ),
        // ---- 10: 32-bit table bound ----
        attack(
            "cmp r8d, [table+len]",
            "10",
            "accepted",
            Static,
            0x10,
            &["attack", "elem", "use"],
            b(|s| call_indirect(s, true)),
        ),
        // ---- 11: builtin arguments ----
        attack(
            "host_call, rdi = heap base",
            "11",
            "accepted",
            Static,
            0x10,
            &["attack", "setup"],
            b(|s| host_call(s, Some(r15), 0, 0)),
        ),
        attack(
            "host_call, rdx = heap base",
            "11",
            "accepted",
            Static,
            0x10,
            &["attack", "slots"],
            b(|s| {
                let trap = s.trap(TrapCode::HostTrap);
                s.a.mov(qword_ptr(rsp), rdi)?;
                s.a.mov(rdi, r14)?;
                s.a.mov(esi, 0)?;
                s.at("slots")?;
                s.a.mov(rdx, r15)?;
                s.at("attack")?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::HOST_CALL))?;
                s.a.test(eax, eax)?;
                s.a.jne(trap)
            }),
        ),
        attack(
            "host_call, rdx = rsp-0x1000",
            "11",
            "accepted",
            Static,
            0x10,
            &["attack", "setup"],
            b(|s| host_call(s, None, -0x1000, 0)),
        ),
        attack(
            "host_call, slots over the saved rbp",
            "11",
            "accepted",
            Static,
            0x10,
            &["attack", "setup"],
            b(|s| host_call(s, None, 0x10, 0)),
        ),
        attack(
            "host_call, import index 5 of 1",
            "11",
            "accepted",
            Static,
            0x10,
            &["attack", "setup"],
            b(|s| host_call(s, None, 0, 5)),
        ),
        attack(
            "memory_grow, rdi = argument",
            "11",
            "accepted",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.mov(esi, 1)?;
                s.at("attack")?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::MEMORY_GROW))
            }),
        ),
        attack(
            "bulk_memory, rdi = heap base",
            "11",
            "accepted",
            Static,
            0,
            &["attack", "setup"],
            b(|s| {
                let oob = s.trap(TrapCode::HeapOutOfBounds);
                s.at("setup")?;
                s.a.mov(rdi, r15)?;
                s.a.mov(esi, 1)?;
                s.a.xor(edx, edx)?;
                s.a.xor(ecx, ecx)?;
                s.a.xor(r8d, r8d)?;
                s.at("attack")?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::BULK_MEMORY))?;
                s.a.test(eax, eax)?;
                s.a.jne(oob)
            }),
        ),
        attack(
            "table_op, rdi = rsp",
            "11",
            "accepted",
            Static,
            0,
            &["attack", "setup"],
            b(|s| {
                s.at("setup")?;
                s.a.mov(rdi, rsp)?;
                s.a.mov(esi, 7)?;
                s.at("attack")?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::TABLE_OP))
            }),
        ),
    ];
    // ---- 12, 13, 15: metadata the runtime acts on ----
    rows.push(tampered(
        attack(
            "memory: None with a heap access",
            "12",
            "accepted",
            Static,
            0,
            &["use"],
            b(rel),
        ),
        &["memory"],
        Box::new(|j, _| j.metadata.memory = None),
    ));
    rows.push(tampered(
        attack(
            "bounds-checked with a guard, disp into it",
            "13",
            "accepted",
            Checked,
            0,
            &["use"],
            b(|s| {
                s.bounds_check_rdi()?;
                s.at("use")?;
                s.a.mov(eax, dword_ptr(r15 + rdi + 0x0fff_fff0))
            }),
        ),
        &["guard"],
        Box::new(|j, _| {
            j.metadata.sandbox.heap = HeapStrategy::BoundsChecked {
                reservation: 256 << 20,
                guard: 256 << 20,
            }
        }),
    ));
    rows.push(tampered(
        attack(
            "start function 99",
            "15",
            "accepted",
            Static,
            0,
            &[],
            b(rel),
        ),
        &["start", "99"],
        Box::new(|j, _| j.metadata.start = Some(99)),
    ));
    rows.push(tampered(
        attack(
            "element segment names function 99",
            "15",
            "accepted",
            Static,
            0,
            &[],
            b(rel),
        ),
        &["elem", "99"],
        Box::new(|j, _| j.metadata.elems[0].items[0] = ElemItem::Func(99)),
    ));
    rows.push(tampered(
        attack(
            "export of function 99",
            "new",
            "accepted",
            Static,
            0,
            &[],
            b(rel),
        ),
        &["export", "99"],
        Box::new(|j, _| j.metadata.exports[0].index = 99),
    ));
    // The runtime's entry puts a type's stack values below its rsp without
    // a check: 600,000 v128 results would reach past the wasm stack's guard
    // (found by review, seen accepted and crashing `pccc run`).
    rows.push(tampered(
        attack(
            "a type with 600,000 v128 results",
            "new",
            "accepted",
            Static,
            0,
            &[],
            b(rel),
        ),
        &["results", "limit"],
        Box::new(|j, _| {
            j.metadata.types.push(pcc::WasmFuncType {
                params: vec![pcc::ValType::I32],
                results: vec![pcc::ValType::V128; 600_000],
            });
            j.metadata.funcs[F as usize].type_index = j.metadata.types.len() as u32 - 1;
        }),
    ));
    rows.push(tampered(
        attack("import thunk 99", "new", "accepted", Static, 0, &[], b(rel)),
        &["thunk", "99"],
        Box::new(|j, _| j.metadata.import_thunks[0] = Some(99)),
    ));
    // ---- new families ----
    let one = |name: &'static str, old: &'static str, frame: u32, f: fn(&mut Asm) -> R| {
        attack(
            name,
            "new",
            old,
            Static,
            frame,
            &["attack"],
            Box::new(move |s: &mut Asm| {
                s.at("attack")?;
                f(s)
            }),
        )
    };
    rows.extend([
        one(
            "bts [rsp+8], rax (bit offset past the operand)",
            "rejected",
            0x10,
            |s| s.a.bts(qword_ptr(rsp + 8), rax),
        ),
        one("rep stosb", "rejected", 0, |s| s.a.rep().stosb()),
        one("movsb", "rejected", 0, |s| s.a.movsb()),
        one("xchg r15, rax", "rejected", 0, |s| s.a.xchg(r15, rax)),
        one("xadd r14, rax", "rejected", 0, |s| s.a.xadd(r14, rax)),
        one("cmpxchg [rsp+8], rcx", "rejected", 0x10, |s| {
            s.a.cmpxchg(qword_ptr(rsp + 8), rcx)
        }),
        one("push rax", "rejected", 0, |s| {
            s.a.push(rax)?;
            s.a.pop(rcx)
        }),
        one("push [rsp+8]", "rejected", 0x10, |s| {
            s.a.push(qword_ptr(rsp + 8))?;
            s.a.pop(rcx)
        }),
        one("enter 16, 0", "rejected", 0, |s| s.a.enter(16, 0)),
        one("call into the middle of g", "rejected", 0, |s| {
            let t = s.g + 4;
            s.a.call(t)
        }),
        one("call g's trap site", "rejected", 0, |s| {
            let t = s.g_trap;
            s.a.call(t)
        }),
        one("jmp to g's entry", "rejected", 0, |s| {
            let t = s.g;
            s.a.jmp(t)
        }),
        one(
            "jmp into the middle of an instruction",
            "rejected",
            0,
            |s| {
                // jmp +1 lands inside `mov eax, imm32`.
                s.a.db(&[0xeb, 0x01, 0xb8, 0x0f, 0x05, 0x90, 0x90])
            },
        ),
        one("call rax", "rejected", 0, |s| s.a.call(rax)),
        one("call [r15+rdi] (through the heap)", "rejected", 0, |s| {
            s.a.call(qword_ptr(r15 + rdi))
        }),
        one("mov [r14+16], rax (vmctx write)", "rejected", 0, |s| {
            s.a.mov(qword_ptr(r14 + VmCtxLayout::STACK_LIMIT), rax)
        }),
        one("syscall", "rejected", 0, |s| s.a.syscall()),
        one("int 0x80", "rejected", 0, |s| s.a.int(0x80)),
        one("int3", "rejected", 0, |s| s.a.int3()),
        one("cpuid", "rejected", 0, |s| s.a.cpuid()),
        one("rdtsc", "rejected", 0, |s| s.a.rdtsc()),
        one("ud2 not declared as a trap", "rejected", 0, |s| s.a.ud2()),
        one("lock add [rsp+8], 1", "rejected", 0x10, |s| {
            s.a.lock().add(dword_ptr(rsp + 8), 1)
        }),
        one("rep-prefixed heap load", "accepted", 0, |s| {
            s.a.db(&[0xf3])?;
            s.a.mov(eax, dword_ptr(r15 + rdi))
        }),
        one("mov eax, fs:[r15+rdi]", "rejected", 0, |s| {
            s.a.mov(eax, dword_ptr(r15 + rdi).fs())
        }),
        one("mov gs:[rsp+8], eax", "rejected", 0x10, |s| {
            s.a.mov(dword_ptr(rsp + 8).gs(), eax)
        }),
        one("vmovdqu [r15+rdi], ymm0", "rejected", 0, |s| {
            s.a.vmovdqu(ymmword_ptr(r15 + rdi), ymm0)
        }),
        one("vpgatherdd (VSIB) from the heap", "rejected", 0, |s| {
            s.a.vpgatherdd_3(xmm0, dword_ptr(r15 + xmm1 * 4), xmm2)
        }),
        one("maskmovdqu (implicit [rdi] store)", "rejected", 0, |s| {
            s.a.maskmovdqu(xmm0, xmm1)
        }),
        one("cmovne r15, rax", "rejected", 0, |s| s.a.cmovne(r15, rax)),
        one("add rsp, 8", "rejected", 0, |s| s.a.add(rsp, 8)),
        one(
            "mov r15d, [r14] (pinned register, 32 bits)",
            "rejected",
            0,
            |s| s.a.mov(r15d, dword_ptr(r14)),
        ),
        one("scaled heap index [r15+rdi*8]", "rejected", 0, |s| {
            s.a.mov(eax, dword_ptr(r15 + rdi * 8))
        }),
        one("negative displacement [r15+rdi-8]", "rejected", 0, |s| {
            s.a.mov(eax, dword_ptr(r15 + rdi - 8))
        }),
    ]);
    rows.push(attack(
        "leave; ret",
        "new",
        "rejected",
        Static,
        0x10,
        &["attack"],
        b(|s| {
            s.epilogue = false;
            s.a.mov(eax, eax)?;
            s.at("attack")?;
            s.a.leave()?;
            s.a.ret()
        }),
    ));
    rows.push(attack(
        "ret 8",
        "new",
        "rejected",
        Static,
        0,
        &["attack", "epilogue"],
        b(|s| {
            s.epilogue = false;
            s.a.mov(eax, eax)?;
            s.at("epilogue")?;
            s.a.mov(rsp, rbp)?;
            s.a.pop(rbp)?;
            s.at("attack")?;
            s.a.ret_1(8)
        }),
    ));
    rows.push(attack(
        "66 ret (16-bit return on AMD)",
        "new",
        "accepted",
        Static,
        0,
        &["attack"],
        b(|s| {
            s.epilogue = false;
            s.a.mov(eax, eax)?;
            s.a.mov(rsp, rbp)?;
            s.a.pop(rbp)?;
            s.at("attack")?;
            s.a.db(&[0x66, 0xc3])
        }),
    ));
    rows.push(attack(
        "8-bit sub on heap_bytes",
        "new",
        "rejected",
        Checked,
        0,
        &["attack", "use"],
        b(|s| {
            let oob = s.trap(TrapCode::HeapOutOfBounds);
            s.a.mov(rsi, qword_ptr(r14 + VmCtxLayout::HEAP_BYTES))?;
            s.at("attack")?;
            s.a.sub(sil, 4)?;
            s.a.jb(oob)?;
            s.a.cmp(rdi, rsi)?;
            s.a.ja(oob)?;
            use_index(s, rdi)
        }),
    ));
    rows.push(attack(
        "claim: rax is heap_base",
        "new",
        "rejected",
        Static,
        0,
        &["join", "use"],
        b(|s| {
            s.a.mov(rax, rdi)?;
            let l = s.l("join");
            s.a.jmp(l)?;
            s.at("join")?;
            s.claim(
                "join",
                Point::Before,
                Loc::Gpr(pcc::Gpr::RAX),
                Fact::HeapBase,
            );
            s.at("use")?;
            s.a.mov(eax, dword_ptr(rax + rdi))
        }),
    ));
    rows.push(attack(
        "claim about register 142 (tampered facts)",
        "new",
        "panic",
        Static,
        0,
        &["attack"],
        b(|s| {
            s.at("attack")?;
            s.claim(
                "attack",
                Point::After,
                Loc::Gpr(pcc::Gpr(142)),
                Fact::ZEXT32,
            );
            s.a.mov(eax, dword_ptr(r15 + rdi))
        }),
    ));
    rows.push(attack(
        "claim at a join, false on one edge",
        "new",
        "rejected",
        Static,
        0,
        &["join", "use"],
        b(|s| {
            s.a.xor(eax, eax)?;
            s.a.cmp(rdi, 10)?;
            let l = s.l("join");
            s.a.ja(l)?;
            s.a.mov(rax, rcx)?;
            s.at("join")?;
            s.claim("join", Point::Before, Loc::Gpr(pcc::Gpr::RAX), Fact::ZEXT32);
            use_index(s, rax)
        }),
    ));
    // ---- review (second adversarial review, of the rewritten validator) ----
    rows.extend(review_rows());
    rows.extend(stack_result_rows());
    rows.extend(jump_table_rows());
    rows.extend(callee_saved_rows());
    rows.extend(exception_rows());
    rows.extend(exception_builtin_rows());
    rows.extend(frame_alignment_rows());
    rows.extend(reciprocal_rows());
    rows.extend(vector_rows());
    // Container: symbols, function bounds, trap sites.
    rows.push(tampered(
        attack(
            "symbol offset disagrees with metadata",
            "new",
            "rejected",
            Static,
            0,
            &[],
            b(rel),
        ),
        &["symbol"],
        Box::new(|j, _| j.symbols[F as usize].offset += 1),
    ));
    rows.push(tampered(
        attack(
            "extra symbol inside f",
            "new",
            "accepted",
            Static,
            0,
            &[],
            b(rel),
        ),
        &["symbol"],
        Box::new(|j, _| {
            let f = &j.symbols[F as usize];
            let extra = SymbolJson {
                name: "inside_f".into(),
                offset: f.offset + 4,
                size: 4,
            };
            j.symbols.push(extra);
        }),
    ));
    rows.push(tampered(
        attack(
            "functions overlap",
            "new",
            "rejected",
            Static,
            0,
            &[],
            b(rel),
        ),
        &["overlap"],
        Box::new(|j, _| {
            // f starts inside m; symbols agree with the metadata.
            j.metadata.funcs[F as usize].offset -= 2;
            j.metadata.funcs[F as usize].size += 2;
            j.symbols[F as usize].offset -= 2;
            j.symbols[F as usize].size += 2;
        }),
    ));
    rows.push(tampered(
        attack(
            "trap site declared on a heap load",
            "new",
            "rejected",
            Static,
            0,
            &["use"],
            b(rel),
        ),
        &["trap"],
        Box::new(|j, sites| {
            j.metadata.trap_sites.push(pcc::TrapSite {
                func: F,
                offset: sites["use"],
                code: TrapCode::HeapOutOfBounds,
            })
        }),
    ));
    rows
}

/// Results past the result registers (issue 10): the callee writes them to
/// the caller's outgoing area through rbp, the caller reloads them from rsp.
/// The callee may write only its own result slots; a caller must own the
/// callee type's slots at rsp when it calls, and forgets them after.
/// Written first, against the validator without those rules (`old`).
fn stack_result_rows() -> Vec<Row> {
    use Heap::Static;
    // f's type becomes $m: three stack results.
    let as_m = || -> Tamper { Box::new(|j, _| j.metadata.funcs[F as usize].type_index = M_TYPE) };
    let store_results = |s: &mut Asm, slots: i32| -> R {
        for k in 0..slots {
            if k == slots - 1 {
                s.at("attack")?;
            }
            s.a.mov(qword_ptr(rbp + 16 + 8 * k), rdi)?;
        }
        // The nine register results, zero-extended (eax: the epilogue).
        for r in [edx, ecx, esi, edi, r8d, r9d, r10d, r11d] {
            s.a.mov(r, 0)?;
        }
        Ok(())
    };
    let call_m = |s: &mut Asm| -> R {
        let m = s.m;
        s.a.mov(edi, 1)?;
        s.at("attack")?;
        s.a.call(m)
    };
    vec![
        tampered(
            control(
                "control: three stack results written",
                Static,
                0,
                b(move |s| store_results(s, 3)),
            ),
            &[],
            as_m(),
        ),
        tampered(
            attack(
                "a fourth stack result slot written",
                "new",
                "accepted",
                Static,
                0,
                &["attack"],
                b(move |s| store_results(s, 4)),
            ),
            &[],
            as_m(),
        ),
        // A v128 result takes two slots (16 bytes at an 8-aligned slot).
        tampered(
            control(
                "control: 16 bytes written over stack result slots 0 and 1",
                Static,
                0,
                b(move |s| {
                    store_results(s, 3)?;
                    s.a.movdqu(xmmword_ptr(rbp + 16), xmm0)
                }),
            ),
            &[],
            as_m(),
        ),
        tampered(
            attack(
                "16 bytes written over the last stack result slot and past it",
                "new",
                "rejected",
                Static,
                0,
                &["v128"],
                b(move |s| {
                    store_results(s, 3)?;
                    s.at("v128")?;
                    s.a.movdqu(xmmword_ptr(rbp + 32), xmm0)
                }),
            ),
            &[],
            as_m(),
        ),
        tampered(
            attack(
                "16 bytes written across stack result slots, misaligned",
                "new",
                "rejected",
                Static,
                0,
                &["v128"],
                b(move |s| {
                    store_results(s, 3)?;
                    s.at("v128")?;
                    s.a.movdqu(xmmword_ptr(rbp + 20), xmm0)
                }),
            ),
            &[],
            as_m(),
        ),
        attack(
            "stack result written by a function without any",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(move |s| store_results(s, 1)),
        ),
        control(
            "control: call with the outgoing area, results reloaded",
            Static,
            0x20,
            b(move |s| {
                call_m(s)?;
                s.a.mov(eax, dword_ptr(rsp + 16))?;
                use_index(s, rax)
            }),
        ),
        attack(
            "call without room for the callee's stack results",
            "new",
            "accepted",
            Static,
            0x10,
            &["attack"],
            b(call_m),
        ),
        control(
            "control: call_indirect with the outgoing area",
            Static,
            0x20,
            b(|s| call_indirect_of(s, false, M_TYPE, 0x18)),
        ),
        attack(
            "call_indirect without room for the stack results",
            "new",
            "accepted",
            Static,
            0x10,
            &["use"],
            b(|s| call_indirect_of(s, false, M_TYPE, 8)),
        ),
        attack(
            "bounded value kept in a result slot across the call",
            "new",
            "accepted",
            Static,
            0x20,
            &["use"],
            b(move |s| {
                s.a.mov(ecx, 5)?;
                s.a.mov(qword_ptr(rsp + 8), rcx)?;
                call_m(s)?;
                s.a.mov(rax, qword_ptr(rsp + 8))?;
                use_index(s, rax)
            }),
        ),
        control(
            "control: bounded value kept above the result slots",
            Static,
            0x20,
            b(move |s| {
                s.a.mov(ecx, 5)?;
                s.a.mov(qword_ptr(rsp + 0x18), rcx)?;
                call_m(s)?;
                s.a.mov(rax, qword_ptr(rsp + 0x18))?;
                use_index(s, rax)
            }),
        ),
    ]
}

/// Callee-saved registers (issue 11): rbx, r12 and r13 survive calls, so
/// every function must give them back at `ret` as it found them. A caller
/// keeps a heap index in rbx across a call; a callee that returned another
/// rbx would hand it an unchecked index.
/// v128 (16-byte) accesses and the packed-integer forms.
fn vector_rows() -> Vec<Row> {
    use Heap::Static;
    // The static sandbox is 6 GiB: a 32-bit index plus this displacement
    // leaves room for 8 bytes, not 16.
    const EDGE: i32 = 0x7fff_fff8;
    vec![
        control(
            "control: v128 load, add, store at a 32-bit index",
            Static,
            0,
            b(|s| {
                s.a.mov(eax, edi)?;
                s.a.movdqu(xmm0, xmmword_ptr(r15 + rax))?;
                s.a.paddd(xmm0, xmm0)?;
                s.at("use")?;
                s.a.movdqu(xmmword_ptr(r15 + rax + 16), xmm0)
            }),
        ),
        control(
            "control: 8 bytes at the sandbox's last 8",
            Static,
            0,
            b(|s| {
                s.a.mov(eax, edi)?;
                s.a.movsd_2(xmm0, qword_ptr(r15 + rax + EDGE))
            }),
        ),
        attack(
            "v128 load: 16 bytes where 8 fit",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["use"],
            b(|s| {
                s.a.mov(eax, edi)?;
                s.at("use")?;
                s.a.movdqu(xmm0, xmmword_ptr(r15 + rax + EDGE))
            }),
        ),
        attack(
            "v128 store: 16 bytes where 8 fit",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["use"],
            b(|s| {
                s.a.mov(eax, edi)?;
                s.at("use")?;
                s.a.movdqu(xmmword_ptr(r15 + rax + EDGE), xmm0)
            }),
        ),
        attack(
            "paddd with a memory operand (alignment fault, heap read)",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.mov(eax, edi)?;
                s.at("attack")?;
                s.a.paddd(xmm0, xmmword_ptr(r15 + rax))
            }),
        ),
        attack(
            "pinsrq from memory past the sandbox",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.mov(rax, -1i64)?;
                s.at("attack")?;
                s.a.pinsrq(xmm0, qword_ptr(r15 + rax), 0)
            }),
        ),
        attack(
            "16-byte spill over a slot holding a bounded index",
            "new",
            "rejected (no row)",
            Static,
            0x20,
            &["use"],
            b(|s| {
                s.a.mov(eax, edi)?;
                s.a.mov(qword_ptr(rsp + 8), rax)?;
                s.a.movdqu(xmmword_ptr(rsp), xmm0)?;
                s.a.mov(rax, qword_ptr(rsp + 8))?;
                use_index(s, rax)
            }),
        ),
        attack(
            "pextrb into memory past the sandbox (a store)",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.mov(rax, -1i64)?;
                s.at("attack")?;
                s.a.pextrb(byte_ptr(r15 + rax), xmm0, 0)
            }),
        ),
        // A legacy-SSE 16-byte memory operand faults (#GP) when misaligned:
        // not a trap the runtime declared, so the process died (review 3).
        attack(
            "movaps from a misaligned heap address (host crash)",
            "review",
            "accepted",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.mov(eax, 1)?;
                s.at("attack")?;
                s.a.movaps(xmm0, xmmword_ptr(r15 + rax))
            }),
        ),
        attack(
            "xorps with a misaligned frame operand (host crash)",
            "review",
            "accepted",
            Static,
            0x20,
            &["attack"],
            b(|s| {
                s.at("attack")?;
                s.a.xorps(xmm0, xmmword_ptr(rsp + 8))
            }),
        ),
        attack(
            "pinsrb from memory past the sandbox",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.mov(rax, -1i64)?;
                s.at("attack")?;
                s.a.pinsrb(xmm0, byte_ptr(r15 + rax), 0)
            }),
        ),
        attack(
            "pextrd: a 32-bit lane as an index, one byte past the sandbox",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["use"],
            b(|s| {
                s.a.pextrd(eax, xmm0, 1)?;
                s.at("use")?;
                // 2^32 - 1 + 0x7ffffffe + 4 bytes ends one past 6 GiB.
                s.a.mov(eax, dword_ptr(r15 + rax + 0x7fff_fffe))
            }),
        ),
        attack(
            "pextrq: a 64-bit lane as an index",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["use"],
            b(|s| {
                s.at("attack")?;
                s.a.pextrq(rax, xmm0, 0)?;
                use_index(s, rax)
            }),
        ),
        // The reductions (bitmask, any_true, all_true): lane masks into
        // general registers, ptest into the flags.
        control(
            "control: a pmovmskb lane mask as an index (32 bits, zero-extended)",
            Static,
            0,
            b(|s| {
                s.a.pmovmskb(eax, xmm0)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "pmovmskb into r15d (the heap base)",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.at("attack")?;
                s.a.pmovmskb(r15d, xmm0)?;
                s.a.mov(eax, dword_ptr(r15))
            }),
        ),
        attack(
            "ptest with a misaligned heap operand (host crash)",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.mov(eax, 1)?;
                s.at("attack")?;
                s.a.ptest(xmm0, xmmword_ptr(r15 + rax))
            }),
        ),
        attack(
            "minpd with a misaligned frame operand (host crash)",
            "new",
            "rejected (no row)",
            Static,
            0x20,
            &["attack"],
            b(|s| {
                s.at("attack")?;
                s.a.minpd(xmm0, xmmword_ptr(rsp + 8))
            }),
        ),
        attack(
            "ptest; setne al: rax as an index, its upper bytes all ones",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["use"],
            b(|s| {
                s.a.mov(rax, -1i64)?;
                s.a.ptest(xmm0, xmm0)?;
                s.a.setne(al)?;
                use_index(s, rax)
            }),
        ),
    ]
}

/// `mul r64` (unsigned division by a constant as a multiplication): both
/// halves of the product are unknown, whatever rax and rdx held before.
fn reciprocal_rows() -> Vec<Row> {
    use Heap::Static;
    vec![
        control(
            "control: quotient of a 32-bit division by 10 as an index",
            Static,
            0,
            b(|s| {
                // rdx <= (2^32 - 1) * magic / 2^64 < 2^29: the high half's bound.
                s.a.mov(eax, edi)?;
                s.a.mov(rdx, 0x1999_9999_9999_999a_u64)?;
                s.a.mul(rdx)?;
                use_index(s, rdx)
            }),
        ),
        attack(
            "mul: the low half as an index",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["use"],
            b(|s| {
                s.a.mov(eax, edi)?;
                s.a.mov(ecx, 10)?;
                s.a.mul(rcx)?;
                use_index(s, rax)
            }),
        ),
        attack(
            "mul: rdx still taken for the 32-bit value it held",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["use"],
            b(|s| {
                // (2^64 - 1)^2: rdx = 2^64 - 2, far outside the sandbox.
                s.a.mov(edx, 5)?;
                s.a.mov(rax, -1i64)?;
                s.a.mul(rax)?;
                use_index(s, rdx)
            }),
        ),
        attack(
            "mul: the high half of a 64-bit product as an index",
            "new",
            "rejected (no row)",
            Static,
            0,
            &["use"],
            b(|s| {
                // rax up to 2^64 - 2^32, times 2^64 - 1.
                s.a.mov(eax, edi)?;
                s.a.shl(rax, 32)?;
                s.a.mov(rcx, -1i64)?;
                s.a.mul(rcx)?;
                use_index(s, rdx)
            }),
        ),
        attack(
            "mul with a memory operand",
            "new",
            "rejected (no row)",
            Static,
            0x10,
            &["attack"],
            b(|s| {
                s.a.mov(qword_ptr(rsp), rdi)?;
                s.a.mov(eax, 3)?;
                s.at("attack")?;
                s.a.mul(qword_ptr(rsp))?;
                s.a.mov(eax, edx)?;
                use_index(s, rax)
            }),
        ),
    ]
}

/// A call to g whose exception lands in this function (issue 13): all
/// three callee-saved registers saved at 0x10..0x28, r14 at 8, `after` the
/// return address, `landing` restoring r14 and r15 then `land` (the row's
/// landing code) and the join `done`, which restores the callee-saved ones.
fn with_landing(
    before: impl Fn(&mut Asm) -> R + Sync + 'static,
    land: impl Fn(&mut Asm) -> R + Sync + 'static,
    restore_pinned: bool,
    saved: &'static [AsmRegister64],
) -> Body {
    b(move |s| {
        for (k, &r) in saved.iter().enumerate() {
            s.a.mov(qword_ptr(rsp + 0x10 + 8 * k as i32), r)?;
        }
        s.a.mov(qword_ptr(rsp + 8), r14)?;
        before(s)?;
        let g = s.g;
        s.a.call(g)?;
        s.at("after")?;
        let done = s.l("done");
        s.a.jmp(done)?;
        s.at("landing")?;
        if restore_pinned {
            s.a.mov(r14, qword_ptr(rsp + 8))?;
            s.a.mov(r15, qword_ptr(r14))?;
        }
        land(s)?;
        s.at("done")?;
        for (k, &r) in saved.iter().enumerate() {
            s.a.mov(r, qword_ptr(rsp + 0x10 + 8 * k as i32))?;
        }
        Ok(())
    })
}

/// The exception site of `with_landing`'s call, or one with `ret` and
/// `landing` moved to other labels or offsets.
fn site(ret: &'static str, landing: &'static str, landing_delta: i64) -> Tamper {
    Box::new(move |j, sites| {
        j.metadata.exn_sites.push(pcc::ExnSite {
            func: F,
            ret: sites[ret],
            landing: (sites[landing] as i64 + landing_delta) as u32,
        })
    })
}

/// Exception landings (issue 13): the unwinder resumes a frame at a
/// landing with every register but rsp and rbp undefined. Written against
/// the validator without the landing rules, which never walked a landing
/// (nothing branches there) and accepted every row.
fn exception_rows() -> Vec<Row> {
    use Heap::Static;
    const ALL: &[AsmRegister64] = &[rbx, r12, r13];
    let nothing = |_: &mut Asm| -> R { Ok(()) };
    let landed = |words: &'static [&'static str], row: Row| {
        tampered(row, words, site("after", "landing", 0))
    };
    vec![
        landed(
            &[],
            control(
                "control: a landing that restores r14, r15 and the callee-saved registers",
                Static,
                0x30,
                with_landing(nothing, |s| s.at("land"), true, ALL),
            ),
        ),
        landed(
            &[],
            attack(
                "landing uses r15 without reloading it",
                "new",
                "accepted",
                Static,
                0x30,
                &["use"],
                with_landing(nothing, |s| use_index(s, rdi), false, ALL),
            ),
        ),
        landed(
            &[],
            attack(
                "landing reads vmctx through r14 without reloading it",
                "new",
                "accepted",
                Static,
                0x30,
                &["use"],
                with_landing(
                    nothing,
                    |s| {
                        s.at("use")?;
                        s.a.mov(rax, qword_ptr(r14 + VmCtxLayout::HEAP_BYTES))
                    },
                    false,
                    ALL,
                ),
            ),
        ),
        landed(
            &[],
            attack(
                "landing trusts an index kept in rbx across the call",
                "new",
                "accepted",
                Static,
                0x30,
                &["use"],
                with_landing(|s| s.a.mov(ebx, edi), |s| use_index(s, rbx), true, ALL),
            ),
        ),
        landed(
            &[],
            attack(
                "landing in a function that did not save rbx",
                "new",
                "accepted",
                Static,
                0x30,
                &["landing", "done", "ret"],
                with_landing(nothing, |s| s.at("land"), true, &[r12, r13]),
            ),
        ),
        tampered(
            attack(
                "exception site whose return address follows no call",
                "new",
                "accepted",
                Static,
                0x30,
                &[],
                with_landing(nothing, |s| s.at("land"), true, ALL),
            ),
            &["does not follow a call"],
            site("landing", "landing", 0),
        ),
        tampered(
            attack(
                "exception landing in the prologue",
                "new",
                "accepted",
                Static,
                0x30,
                &[],
                with_landing(nothing, |s| s.at("land"), true, ALL),
            ),
            &["prologue"],
            Box::new(|j, sites| {
                j.metadata.exn_sites.push(pcc::ExnSite {
                    func: F,
                    ret: sites["after"],
                    landing: 1,
                })
            }),
        ),
        tampered(
            attack(
                "exception landing inside an instruction",
                "new",
                "accepted",
                Static,
                0x30,
                &[],
                with_landing(nothing, |s| s.at("land"), true, ALL),
            ),
            &["exception landing that is not an instruction"],
            site("after", "landing", 1),
        ),
    ]
}

/// A tag of type `(param i32)` (a new type past the skeleton's, so no
/// vmctx offset its code uses moves): tag 0.
fn with_tag(row: Row) -> Row {
    tampered(
        row,
        &[],
        Box::new(|j, _| {
            j.metadata.types.push(pcc::WasmFuncType {
                params: vec![pcc::ValType::I32],
                results: vec![],
            });
            j.metadata.tags = vec![j.metadata.types.len() as u32 - 1];
        }),
    )
}

/// `throw` of tag `tag` with its payload at `[rsp + slots]`.
fn throw(s: &mut Asm, tag: u32, slots: i32) -> R {
    s.a.mov(qword_ptr(rsp), rdi)?;
    s.a.mov(rdi, r14)?;
    s.a.mov(esi, tag)?;
    s.a.lea(rdx, ptr(rsp + slots))?;
    s.at("attack")?;
    s.a.call(qword_ptr(r14 + VmCtxLayout::THROW))
}

/// The exception builtins' arguments (issue 13): a tag index the module
/// has, a payload area inside the frame, which a caught payload then
/// overwrites. The validator before these builtins rejected every call
/// to their vmctx slots as "not a builtin".
fn exception_builtin_rows() -> Vec<Row> {
    use Heap::Static;
    vec![
        with_tag(control(
            "control: throw of tag 0 with its payload at rsp",
            Static,
            0x10,
            b(|s| throw(s, 0, 0)),
        )),
        with_tag(attack(
            "throw of a tag the module does not have",
            "new",
            "rejected",
            Static,
            0x10,
            &["attack"],
            b(|s| throw(s, 1, 0)),
        )),
        with_tag(attack(
            "throw's payload read past the frame",
            "new",
            "rejected",
            Static,
            0x10,
            &["attack"],
            b(|s| throw(s, 0, 0xc)),
        )),
        with_tag(attack(
            "caught payload written over the saved rbx",
            "new",
            "rejected",
            Static,
            0x20,
            &["ret"],
            b(|s| {
                s.a.mov(qword_ptr(rsp + 0x18), rbx)?;
                s.a.mov(ebx, edi)?;
                s.a.mov(rdi, r14)?;
                s.a.xor(esi, esi)?;
                s.a.xor(edx, edx)?;
                s.a.lea(rcx, ptr(rsp + 0x18))?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::EXN_CATCH))?;
                s.a.mov(rbx, qword_ptr(rsp + 0x18))
            }),
        )),
        with_tag(attack(
            "exn_landed with a forged vmctx",
            "new",
            "rejected",
            Static,
            0x10,
            &["attack"],
            b(|s| {
                s.a.lea(rdi, ptr(r14 + 8))?;
                s.at("attack")?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::EXN_LANDED))
            }),
        )),
    ]
}

/// Frame sizes (review of issue 13). Every builtin is Rust called with
/// the System V ABI, which wants rsp 16-byte aligned at the call: compiled
/// code enters with rsp = 8 (mod 16), `push rbp` aligns it, so `sub rsp, F`
/// must keep F a multiple of 16. With F = 0x18 the host call's Rust code
/// (`runtime::host_call`, `movaps [rsp+0x30], xmm0`) faults outside
/// compiled code: the process dies of SIGSEGV (seen with `pccc run`).
fn frame_alignment_rows() -> Vec<Row> {
    use Heap::Static;
    vec![
        control(
            "control: host call from a 16-byte frame",
            Static,
            0x10,
            b(|s| host_call(s, None, 0, 0)),
        ),
        Row {
            words: &["frame size"],
            ..attack(
                "host call from a frame of 0x18 bytes: rsp misaligned in the runtime (host crash)",
                "new",
                "accepted",
                Static,
                0x18,
                &[],
                b(|s| host_call(s, None, 0, 0)),
            )
        },
    ]
}

fn callee_saved_rows() -> Vec<Row> {
    use Heap::Static;
    let call_g = |s: &mut Asm| -> R {
        let g = s.g;
        s.a.call(g)
    };
    vec![
        control(
            "control: heap index kept in rbx across a call",
            Static,
            0x10,
            b(move |s| {
                s.a.mov(qword_ptr(rsp + 8), rbx)?;
                s.a.mov(ebx, edi)?;
                call_g(s)?;
                use_index(s, rbx)?;
                s.a.mov(rbx, qword_ptr(rsp + 8))
            }),
        ),
        control(
            "control: saved r12 changed in a loop, restored",
            Static,
            0x10,
            b(|s| {
                s.a.mov(qword_ptr(rsp), r12)?;
                s.a.xor(r12d, r12d)?;
                let top = s.l("top");
                s.at("top")?;
                s.a.add(r12d, 1)?;
                s.a.cmp(r12d, 10)?;
                s.a.jb(top)?;
                s.a.mov(r12, qword_ptr(rsp))
            }),
        ),
        attack(
            "rbx written, not restored",
            "new",
            "accepted",
            Static,
            0,
            &["ret"],
            b(|s| s.a.mov(ebx, edi)),
        ),
        attack(
            "save slot overwritten before the restore",
            "new",
            "accepted",
            Static,
            0x10,
            &["ret"],
            b(|s| {
                s.a.mov(qword_ptr(rsp), r13)?;
                s.a.mov(r13d, edi)?;
                s.a.mov(qword_ptr(rsp), rdi)?;
                s.a.mov(r13, qword_ptr(rsp))
            }),
        ),
        attack(
            "restored from the other register's slot",
            "new",
            "accepted",
            Static,
            0x10,
            &["ret"],
            b(|s| {
                s.a.mov(qword_ptr(rsp), rbx)?;
                s.a.mov(qword_ptr(rsp + 8), r12)?;
                s.a.mov(ebx, edi)?;
                s.a.mov(r12d, edi)?;
                s.a.mov(rbx, qword_ptr(rsp + 8))?;
                s.a.mov(r12, qword_ptr(rsp))
            }),
        ),
        attack(
            "a path to ret skips the restore",
            "new",
            "accepted",
            Static,
            0x10,
            &["ret"],
            b(|s| {
                s.a.mov(qword_ptr(rsp), rbx)?;
                s.a.mov(ebx, edi)?;
                let end = s.l("end");
                s.a.test(edi, edi)?;
                s.a.je(end)?;
                s.a.mov(rbx, qword_ptr(rsp))
            }),
        ),
        attack(
            "unsaved rbx changed in a loop",
            "new",
            "accepted",
            Static,
            0,
            &["top", "ret"],
            b(|s| {
                let top = s.l("top");
                s.at("top")?;
                s.a.add(ebx, 1)?;
                s.a.cmp(ebx, 10)?;
                s.a.jb(top)
            }),
        ),
        attack(
            "save slot overwritten in a loop",
            "new",
            "accepted",
            Static,
            0x10,
            &["top", "ret"],
            b(|s| {
                s.a.mov(qword_ptr(rsp), rbx)?;
                s.a.xor(ebx, ebx)?;
                let top = s.l("top");
                s.at("top")?;
                s.a.mov(qword_ptr(rsp), rbx)?;
                s.a.add(ebx, 1)?;
                s.a.cmp(ebx, 10)?;
                s.a.jb(top)?;
                s.a.mov(rbx, qword_ptr(rsp))
            }),
        ),
        attack(
            "partial restore (32-bit reload)",
            "new",
            "accepted",
            Static,
            0x10,
            &["ret"],
            b(|s| {
                s.a.mov(qword_ptr(rsp), rbx)?;
                s.a.mov(ebx, edi)?;
                s.a.mov(ebx, dword_ptr(rsp))
            }),
        ),
    ]
}

/// `n` jump-table entries of 8 bytes, each `jmp short` to just past the
/// table, padded with int3 (the entries `br_table` emits are `jmp rel32`;
/// any instruction start will do for the validator).
fn table_entries(s: &mut Asm, n: u32) -> R {
    s.at("table")?;
    for k in 0..n {
        let rel = (8 * (n - k) - 2) as u8;
        s.a.db(&[0xeb, rel, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc])?;
    }
    s.at("out")?;
    s.a.xor(eax, eax)
}

/// The dispatch of a jump table at label `table`: the index (edi,
/// zero-extended into ecx) checked below `bound` (unless None), then
/// `lea rax, [rip+table]; lea rax, [rax+rcx*8]; jmp rax` at `attack`.
fn dispatch(s: &mut Asm, bound: Option<u32>) -> R {
    let (out, table) = (s.l("out"), s.l("table"));
    s.a.mov(ecx, edi)?;
    if let Some(b) = bound {
        s.a.cmp(ecx, b)?;
        s.a.jae(out)?;
    }
    s.a.lea(rax, ptr(table))?;
    s.a.lea(rax, qword_ptr(rax + rcx * 8))?;
    s.at("attack")?;
    s.a.jmp(rax)
}

/// Jump tables (issue 11): `jmp r64` only to an entry of a table whose
/// index was proved below its length, every entry an instruction of the
/// function after the jump. Written first against the validator without
/// each rule, where a rule is more than "no row" (`old` says what the
/// validator before jump tables said: it had no row for `jmp r64`).
fn jump_table_rows() -> Vec<Row> {
    use Heap::Static;
    vec![
        control(
            "control: jump table",
            Static,
            0,
            b(|s| {
                dispatch(s, Some(4))?;
                table_entries(s, 4)
            }),
        ),
        attack(
            "jump table without a bound check",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                dispatch(s, None)?;
                table_entries(s, 4)
            }),
        ),
        attack(
            "jump-table bound past the function's end",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                dispatch(s, Some(64))?;
                table_entries(s, 4)
            }),
        ),
        attack(
            "jump-table entries between instructions",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                dispatch(s, Some(4))?;
                // 10-byte entries (`mov rax, imm64`): entry 1, 8 bytes
                // in, lands inside entry 0's immediate.
                s.at("table")?;
                for _ in 0..4 {
                    s.a.mov(rax, 0x1122_3344_5566_7788u64)?;
                }
                s.at("out")?;
                s.a.xor(eax, eax)
            }),
        ),
        attack(
            "jump table before the jump",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                let over = s.l("over");
                s.a.jmp(over)?;
                s.at("table")?;
                s.a.db(&[0x90; 32])?;
                s.at("over")?;
                s.a.mov(ecx, edi)?;
                s.a.cmp(ecx, 4)?;
                let out = s.l("out");
                s.a.jae(out)?;
                let table = s.l("table");
                s.a.lea(rax, ptr(table))?;
                s.a.lea(rax, qword_ptr(rax + rcx * 8))?;
                s.at("attack")?;
                s.a.jmp(rax)?;
                s.at("out")?;
                s.a.xor(eax, eax)
            }),
        ),
        attack(
            "jump table in another function",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                let (out, g) = (s.l("out"), s.g);
                s.a.mov(ecx, edi)?;
                s.a.cmp(ecx, 1)?;
                s.a.jae(out)?;
                // lea rax, [rip + g]: g's first instruction as a one-entry table.
                let lea = iced_x86::Instruction::with2(
                    iced_x86::Code::Lea_r64_m,
                    iced_x86::Register::RAX,
                    iced_x86::MemoryOperand::with_base_displ(iced_x86::Register::RIP, g as i64),
                )
                .unwrap();
                s.a.add_instruction(lea)?;
                s.a.lea(rax, qword_ptr(rax + rcx * 8))?;
                s.at("attack")?;
                s.a.jmp(rax)?;
                s.at("out")?;
                s.a.xor(eax, eax)
            }),
        ),
        attack(
            "jump-table address moved by arithmetic",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                let (out, table) = (s.l("out"), s.l("table"));
                s.a.mov(ecx, edi)?;
                s.a.cmp(ecx, 4)?;
                s.a.jae(out)?;
                s.a.lea(rax, ptr(table))?;
                s.a.add(rax, 3)?;
                s.a.lea(rax, qword_ptr(rax + rcx * 8))?;
                s.at("attack")?;
                s.a.jmp(rax)?;
                table_entries(s, 4)
            }),
        ),
        attack(
            "jump-table entry inside a block it falls into",
            "new",
            "rejected",
            Static,
            0,
            &["use"],
            b(|s| {
                // The table path arrives with rdi unbounded; the direct
                // path bounds it and falls into the entry. Dropping the
                // table's edge there would let the heap access through.
                let (out, safe, entry) = (s.l("out"), s.l("safe"), s.l("use"));
                s.a.mov(ecx, edi)?;
                s.a.test(ecx, ecx)?;
                s.a.je(safe)?;
                s.a.cmp(ecx, 1)?;
                s.a.jae(out)?;
                s.a.mov(rdi, 0x7fff_ffff_ffff_0000u64)?;
                s.a.lea(rax, ptr(entry))?;
                s.a.lea(rax, qword_ptr(rax + rcx * 8))?;
                s.a.jmp(rax)?;
                s.at("safe")?;
                s.a.mov(edi, 5)?;
                s.a.nop()?;
                use_index(s, rdi)?;
                s.at("out")?;
                s.a.xor(eax, eax)
            }),
        ),
        attack(
            "many jumps into one large table",
            "new",
            "accepted",
            Static,
            0,
            &["attack"],
            b(|s| {
                // 40 dispatches into one 16-entry table: 640 entry edges,
                // each holding a state, for a few hundred instructions
                // (scaled up, memory exhaustion of the validator).
                let (out, table) = (s.l("out"), s.l("table"));
                s.a.mov(ecx, edi)?;
                s.a.cmp(ecx, 16)?;
                s.a.jae(out)?;
                for k in 0..40 {
                    let next = s.a.create_label();
                    s.a.test(edi, edi)?;
                    s.a.je(next)?;
                    s.a.lea(rax, ptr(table))?;
                    s.a.lea(rax, qword_ptr(rax + rcx * 8))?;
                    if k == 39 {
                        s.at("attack")?;
                    }
                    s.a.jmp(rax)?;
                    let mut next = next;
                    s.a.set_label(&mut next)?;
                }
                s.a.jmp(out)?;
                table_entries(s, 16)
            }),
        ),
        attack(
            "jmp through memory",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.a.mov(rax, r14)?;
                s.at("attack")?;
                s.a.jmp(qword_ptr(rax))
            }),
        ),
        attack(
            "rip-relative load",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                let table = s.l("table");
                s.at("attack")?;
                s.a.mov(rax, qword_ptr(table))?;
                table_entries(s, 1)
            }),
        ),
        attack(
            "int3 reached",
            "new",
            "rejected",
            Static,
            0,
            &["attack"],
            b(|s| {
                s.at("attack")?;
                s.a.int3()
            }),
        ),
    ]
}

/// `out` := the address of table 0's element at the (zero-extended) index
/// in `idx`, bound-checked against the table's length (scratch: rax, r10).
fn elem_addr(s: &mut Asm, idx: AsmRegister64, out: AsmRegister64) -> R {
    let t_oob = s.trap(TrapCode::TableOutOfBounds);
    let table = s.layout.table(0);
    s.a.mov(r10, qword_ptr(r14 + table))?;
    s.a.cmp(idx, qword_ptr(r10 + VmCtxLayout::TABLE_LEN))?;
    s.a.jae(t_oob)?;
    s.a.mov(r10, qword_ptr(r10))?;
    s.a.lea(rax, qword_ptr(idx + idx * 2))?;
    s.a.lea(out, qword_ptr(r10 + rax * 8))
}

/// The null and signature ($v) checks of the element at `e`.
fn elem_checks(s: &mut Asm, e: AsmRegister64) -> R {
    let (t_null, t_sig) = (
        s.trap(TrapCode::IndirectCallToNull),
        s.trap(TrapCode::BadSignature),
    );
    let sig = s.layout.sig_id(1);
    s.a.cmp(qword_ptr(e + VmCtxLayout::ELEM_CODE), 0)?;
    s.a.je(t_null)?;
    s.a.mov(rax, qword_ptr(r14 + sig))?;
    s.a.cmp(qword_ptr(e + VmCtxLayout::ELEM_SIG), rax)?;
    s.a.jne(t_sig)
}

/// Rows of the second review: families the first list did not name.
fn review_rows() -> Vec<Row> {
    use Heap::Static;
    vec![
        // An element address (bound-, null- and signature-checked) kept in a
        // callee-saved register across a builtin that grows the table: the
        // runtime reallocates the elements (`Vec::resize`), so rbx points
        // into freed memory; the code pointer and vmctx are read from it.
        attack(
            "elem addr in rbx across table.grow (stale)",
            "review",
            "accepted",
            Static,
            0x10,
            &["attack", "vmctx", "use"],
            b(|s| {
                s.a.mov(r8d, edi)?;
                elem_addr(s, r8, rbx)?;
                elem_checks(s, rbx)?;
                s.a.mov(qword_ptr(rsp), r14)?;
                // table.grow(table 0, null, 1000): the elements move.
                s.a.mov(rdi, r14)?;
                s.a.mov(esi, pcc::vmctx::TableOp::Grow(0).encode() as u32)?;
                s.a.xor(edx, edx)?;
                s.a.mov(ecx, 1000)?;
                s.a.xor(r8d, r8d)?;
                s.at("attack")?;
                s.a.call(qword_ptr(r14 + VmCtxLayout::TABLE_OP))?;
                s.at("vmctx")?;
                s.a.mov(r14, qword_ptr(rbx + VmCtxLayout::ELEM_VMCTX))?;
                s.a.mov(r15, qword_ptr(r14))?;
                s.at("use")?;
                s.a.call(qword_ptr(rbx + VmCtxLayout::ELEM_CODE))?;
                s.a.mov(r14, qword_ptr(rsp))?;
                s.a.mov(r15, qword_ptr(r14))
            }),
        ),
        // The same in a frame slot across a direct call (any callee may grow
        // the table): the element array pointer is loaded before the call,
        // the index is checked against the (grown) length after it, so the
        // element read lies past the old, freed array.
        attack(
            "elems ptr in a slot across a call (stale)",
            "review",
            "accepted",
            Static,
            0x20,
            &["attack", "reload", "elem", "use"],
            b(|s| {
                let t_oob = s.trap(TrapCode::TableOutOfBounds);
                let table = s.layout.table(0);
                s.a.mov(r10, qword_ptr(r14 + table))?;
                s.a.mov(r10, qword_ptr(r10 + VmCtxLayout::TABLE_ELEMS))?;
                s.a.mov(qword_ptr(rsp + 8), r10)?;
                s.a.mov(qword_ptr(rsp + 16), rdi)?;
                let g = s.g;
                s.at("attack")?;
                s.a.call(g)?;
                s.a.mov(r8d, dword_ptr(rsp + 16))?;
                s.a.mov(r10, qword_ptr(r14 + table))?;
                s.a.cmp(r8, qword_ptr(r10 + VmCtxLayout::TABLE_LEN))?;
                s.a.jae(t_oob)?;
                s.at("reload")?;
                s.a.mov(r10, qword_ptr(rsp + 8))?;
                s.a.lea(rax, qword_ptr(r8 + r8 * 2))?;
                s.a.lea(rsi, qword_ptr(r10 + rax * 8))?;
                s.at("elem")?;
                elem_checks(s, rsi)?;
                s.a.mov(qword_ptr(rsp), r14)?;
                s.a.mov(r14, qword_ptr(rsi + VmCtxLayout::ELEM_VMCTX))?;
                s.a.mov(r15, qword_ptr(r14))?;
                s.at("use")?;
                s.a.call(qword_ptr(rsi + VmCtxLayout::ELEM_CODE))?;
                s.a.mov(r14, qword_ptr(rsp))?;
                s.a.mov(r15, qword_ptr(r14))
            }),
        ),
        // ---- tried, rejected: classes not in the table before ----
        // Flags about rdi survive a 32-bit rewrite of rdi.
        attack(
            "cmp rdi, 16; mov edi, ecx; ja (flags of old rdi)",
            "review",
            "rejected",
            Heap::Checked,
            0,
            &["attack", "use"],
            b(|s| {
                let oob = s.trap(TrapCode::HeapOutOfBounds);
                s.a.cmp(rdi, 16)?;
                s.at("attack")?;
                s.a.mov(edi, ecx)?;
                s.a.ja(oob)?;
                use_index(s, rdi)
            }),
        ),
        // The compare's right-hand register changes before the branch.
        attack(
            "cmp rdi, rcx; mov rcx, -1; ja (bound changed)",
            "review",
            "rejected",
            Heap::Checked,
            0,
            &["attack", "use"],
            b(|s| {
                let oob = s.trap(TrapCode::HeapOutOfBounds);
                s.a.mov(ecx, 16)?;
                s.a.cmp(rdi, rcx)?;
                s.at("attack")?;
                s.a.mov(rcx, -1i64)?;
                s.a.ja(oob)?;
                use_index(s, rdi)
            }),
        ),
        // Flags about rdi across a spill of rdi and a reload of another slot.
        attack(
            "cmp rdi, 16; spill rdi; reload other slot; ja",
            "review",
            "rejected",
            Heap::Checked,
            0x20,
            &["attack", "use"],
            b(|s| {
                let oob = s.trap(TrapCode::HeapOutOfBounds);
                s.a.mov(qword_ptr(rsp + 16), rcx)?;
                s.a.cmp(rdi, 16)?;
                s.a.mov(qword_ptr(rsp + 8), rdi)?;
                s.at("attack")?;
                s.a.mov(rdi, qword_ptr(rsp + 16))?;
                s.a.ja(oob)?;
                use_index(s, rdi)
            }),
        ),
        // A loop whose header has no claim: the range of the first
        // iteration must not carry round the back edge.
        attack(
            "loop header without claim, index grows each round",
            "review",
            "rejected",
            Static,
            0,
            &["loop", "use"],
            b(|s| {
                s.a.xor(eax, eax)?;
                s.at("loop")?;
                s.at("use")?;
                s.a.mov(ecx, dword_ptr(r15 + rax))?;
                s.a.add(rax, 0x4000_0000)?;
                let l = s.l("loop");
                s.a.jmp(l)
            }),
        ),
        // The heap base on one edge, a number on the other, joined.
        attack(
            "join of heap base and a number as a base",
            "review",
            "rejected",
            Static,
            0,
            &["join", "use"],
            b(|s| {
                s.a.mov(rax, r15)?;
                s.a.test(edi, edi)?;
                let l = s.l("join");
                s.a.je(l)?;
                s.a.mov(rax, rdi)?;
                s.at("join")?;
                s.at("use")?;
                s.a.mov(ecx, dword_ptr(rax))
            }),
        ),
        // cmov of the heap base and a number.
        attack(
            "cmovne rax, r15 as a base",
            "review",
            "rejected",
            Static,
            0,
            &["use"],
            b(|s| {
                s.a.mov(rax, rdi)?;
                s.a.test(edi, edi)?;
                s.a.cmovne(rax, r15)?;
                s.at("use")?;
                s.a.mov(ecx, dword_ptr(rax))
            }),
        ),
        // lea range: 9 * a 32-bit index is past the guard.
        attack(
            "lea rax, [rdi+rdi*8] as an index",
            "review",
            "rejected",
            Static,
            0,
            &["use"],
            b(|s| {
                s.a.lea(rax, qword_ptr(rdi + rdi * 8))?;
                use_index(s, rax)
            }),
        ),
        // Displacement at the top of the guard: 4 GiB + 2 GiB - 1 + 4.
        attack(
            "disp 0x7fffffff past the guard",
            "review",
            "rejected",
            Static,
            0,
            &["use"],
            b(|s| {
                s.at("use")?;
                s.a.mov(eax, dword_ptr(r15 + rdi + 0x7fff_ffff))
            }),
        ),
        // The frame-slot address as a base: a store anywhere in the frame
        // (or, with an index, past it).
        attack(
            "lea rax, [rsp+8]; mov [rax+rdi], rcx",
            "review",
            "rejected",
            Static,
            0x10,
            &["use"],
            b(|s| {
                s.a.lea(rax, qword_ptr(rsp + 8))?;
                s.at("use")?;
                s.a.mov(qword_ptr(rax + rdi), rcx)
            }),
        ),
        // Stack arguments are read-only; the return address is not one.
        attack(
            "mov [rbp+8], rcx (return address)",
            "review",
            "rejected",
            Static,
            0,
            &["use"],
            b(|s| {
                s.at("use")?;
                s.a.mov(qword_ptr(rbp + 8), rcx)
            }),
        ),
        // The other instance's heap base as the base of an access.
        attack(
            "foreign heap base as an access base",
            "review",
            "rejected",
            Static,
            0x10,
            &["use"],
            b(|s| {
                s.a.mov(r8d, edi)?;
                elem_addr(s, r8, rsi)?;
                elem_checks(s, rsi)?;
                s.a.mov(qword_ptr(rsp), r14)?;
                s.a.mov(r14, qword_ptr(rsi + VmCtxLayout::ELEM_VMCTX))?;
                s.a.mov(r15, qword_ptr(r14))?;
                s.at("use")?;
                s.a.mov(eax, dword_ptr(r15 + rdi))?;
                s.a.mov(r14, qword_ptr(rsp))?;
                s.a.mov(r15, qword_ptr(r14))
            }),
        ),
        // A branch taken with the foreign instance still pinned.
        attack(
            "branch while r14/r15 are the foreign instance's",
            "review",
            "rejected",
            Static,
            0x10,
            &["attack"],
            b(|s| {
                s.a.mov(r8d, edi)?;
                elem_addr(s, r8, rsi)?;
                elem_checks(s, rsi)?;
                s.a.mov(qword_ptr(rsp), r14)?;
                s.a.mov(r14, qword_ptr(rsi + VmCtxLayout::ELEM_VMCTX))?;
                s.a.mov(r15, qword_ptr(r14))?;
                let l = s.l("next");
                s.at("attack")?;
                s.a.jmp(l)?;
                s.at("next")?;
                s.a.mov(r14, qword_ptr(rsp))?;
                s.a.mov(r15, qword_ptr(r14))
            }),
        ),
        // call_indirect whose instance switch reads the vmctx of one
        // element (unchecked) and calls the code of another (checked): a
        // table may hold functions of several instances (imported tables,
        // table.set of another instance's funcref), so element 0's code runs
        // with another module's vmctx and heap base — its own layout's
        // global/table offsets and its own heap strategy's 6 GiB of offsets
        // applied to a vmctx and heap that are not sized for them.
        attack(
            "call_indirect: vmctx of one element, code of another",
            "review",
            "accepted",
            Static,
            0x10,
            &["attack", "use"],
            b(|s| {
                s.a.mov(r8d, edi)?;
                s.a.xor(r9d, r9d)?;
                elem_addr(s, r8, rdx)?;
                elem_addr(s, r9, rsi)?;
                elem_checks(s, rsi)?;
                s.a.mov(qword_ptr(rsp), r14)?;
                s.at("attack")?;
                s.a.mov(r14, qword_ptr(rdx + VmCtxLayout::ELEM_VMCTX))?;
                s.a.mov(r15, qword_ptr(r14))?;
                s.at("use")?;
                s.a.call(qword_ptr(rsi + VmCtxLayout::ELEM_CODE))?;
                s.a.mov(r14, qword_ptr(rsp))?;
                s.a.mov(r15, qword_ptr(r14))
            }),
        ),
        // The same with both elements checked: only the element's identity
        // ties the switch to the call.
        attack(
            "call_indirect: both checked, vmctx of one, code of another",
            "review",
            "accepted",
            Static,
            0x10,
            &["use"],
            b(|s| {
                s.a.mov(r8d, edi)?;
                s.a.xor(r9d, r9d)?;
                elem_addr(s, r8, rdx)?;
                elem_checks(s, rdx)?;
                elem_addr(s, r9, rsi)?;
                elem_checks(s, rsi)?;
                s.a.mov(qword_ptr(rsp), r14)?;
                s.a.mov(r14, qword_ptr(rdx + VmCtxLayout::ELEM_VMCTX))?;
                s.a.mov(r15, qword_ptr(r14))?;
                s.at("use")?;
                s.a.call(qword_ptr(rsi + VmCtxLayout::ELEM_CODE))?;
                s.a.mov(r14, qword_ptr(rsp))?;
                s.a.mov(r15, qword_ptr(r14))
            }),
        ),
    ]
}

/// The verdict on one row.
struct Outcome {
    verdict: &'static str,
    reason: String,
    ok: bool,
}

fn run(row: &Row) -> Outcome {
    let mut art = skeleton(row.heap).clone();
    let built = assemble(&art, row.frame, &row.body);
    art.replace_function(F, &built.code, &built.traps, built.facts.clone())
        .unwrap();
    if let Some(t) = &row.tamper {
        t(&mut art, &built.sites);
    }
    let bytes = artifact_tool::build(&art).unwrap();
    // PCCC_ADVERSARIAL_SHOW=<part of a row name>: print that row's function.
    if std::env::var("PCCC_ADVERSARIAL_SHOW").is_ok_and(|w| row.name.contains(&w)) {
        let dumped = artifact_tool::dump(&bytes).unwrap();
        let f = dumped
            .functions
            .iter()
            .find(|f| f.name.as_deref() == Some("f"));
        eprintln!("{}:\n  {}", row.name, f.unwrap().disasm.join("\n  "));
    }
    let is_control = row.family == "control";
    let report = match validator::verify(&bytes) {
        Err(e) => {
            let text = e.to_string();
            let named = row.words.iter().any(|w| text.to_lowercase().contains(w));
            return Outcome {
                verdict: "refused",
                ok: !is_control && named,
                reason: text,
            };
        }
        Ok(r) => r,
    };
    if report.accepted() {
        return Outcome {
            verdict: "accepted",
            reason: String::new(),
            ok: is_control,
        };
    }
    let sites: Vec<u32> = row
        .sites
        .iter()
        .filter_map(|s| built.sites.get(s).copied())
        .collect();
    let fits = |f: &validator::Failure| {
        let text = format!("{} {}", f.instruction, f.reason).to_lowercase();
        (f.function == "f" && sites.contains(&f.offset))
            || row.words.iter().any(|w| text.contains(w))
    };
    let show = |f: &validator::Failure| {
        format!(
            "{} +{:#x} `{}`: {}",
            f.function, f.offset, f.instruction, f.reason
        )
    };
    match report.failures.iter().find(|f| fits(f)) {
        Some(f) => Outcome {
            verdict: "rejected",
            reason: show(f),
            ok: !is_control,
        },
        None => Outcome {
            verdict: "rejected elsewhere",
            reason: format!("{} (sites {:x?})", show(&report.failures[0]), sites),
            ok: false,
        },
    }
}

fn table(rows: &[Row], outcomes: &[Outcome]) -> String {
    let mut s = format!(
        "{:<3} {:<48} {:<7} {:<8} {:<18} reason\n",
        "#", "row", "family", "old", "verdict"
    );
    for (i, (r, o)) in rows.iter().zip(outcomes).enumerate() {
        s.push_str(&format!(
            "{:<3} {:<48} {:<7} {:<8} {:<18} {}{}\n",
            i,
            r.name,
            r.family,
            r.old,
            o.verdict,
            if o.ok { "" } else { "!! " },
            o.reason
        ));
    }
    s
}

/// The skeletons are valid: every control row is accepted.
#[test]
fn controls_are_accepted() {
    let rows: Vec<Row> = rows()
        .into_iter()
        .filter(|r| r.family == "control")
        .collect();
    let outcomes: Vec<Outcome> = rows.iter().map(run).collect();
    println!("{}", table(&rows, &outcomes));
    assert!(outcomes.iter().all(|o| o.ok), "{}", table(&rows, &outcomes));
}

/// Every attack is rejected at its site; every control accepted.
#[test]
fn attacks_are_rejected() {
    let rows = rows();
    let outcomes: Vec<Outcome> = rows.iter().map(run).collect();
    let t = table(&rows, &outcomes);
    println!("{t}");
    let bad = outcomes.iter().filter(|o| !o.ok).count();
    assert_eq!(bad, 0, "{bad} row(s) not as required (marked !!):\n{t}");
}
