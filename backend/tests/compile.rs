//! Compile hand-built IR and inspect the machine code and facts.

use backend::ir::{BinOp, Function, MemArg, Op, Signature, Type};
use backend::{compile_module, CompileOptions, ModuleIr};
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
use pcc::{FuncMeta, Metadata, ValType, WasmFuncType};

fn module(functions: Vec<Function>, types: Vec<WasmFuncType>) -> ModuleIr {
    ModuleIr {
        meta: Metadata {
            types,
            funcs: functions
                .iter()
                .map(|f| FuncMeta {
                    name: f.name.clone(),
                    type_index: 0,
                    offset: 0,
                    size: 0,
                })
                .collect(),
            ..Default::default()
        },
        functions,
    }
}

fn disasm(code: &[u8]) -> Vec<String> {
    let mut d = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut f = IntelFormatter::new();
    d.iter()
        .map(|i| {
            let mut s = String::new();
            f.format(&i, &mut s);
            s
        })
        .collect()
}

/// `load(a + 8) + b` as i32.
fn load_add() -> Function {
    let sig = Signature {
        params: vec![Type::I32, Type::I32],
        results: vec![Type::I32],
    };
    let mut f = Function::new(0, "load_add", sig);
    let e = Function::ENTRY;
    let (a, b) = (f.block(e).params[0], f.block(e).params[1]);
    let x = f.push1(
        e,
        Op::Load {
            ty: Type::I32,
            mem: MemArg {
                offset: 8,
                width: 4,
            },
            signed: false,
        },
        vec![a],
        Type::I32,
    );
    let s = f.push1(
        e,
        Op::Binary {
            op: BinOp::Add,
            ty: Type::I32,
        },
        vec![x, b],
        Type::I32,
    );
    f.push(e, Op::Return, vec![s], &[]);
    f
}

#[test]
fn heap_load_uses_the_pinned_base_and_claims_zero_extension() {
    let ty = WasmFuncType {
        params: vec![ValType::I32, ValType::I32],
        results: vec![ValType::I32],
    };
    let art = compile_module(
        module(vec![load_add()], vec![ty]),
        &CompileOptions::default(),
    )
    .unwrap();
    let text = disasm(&art.text);
    assert!(
        text.iter().any(|l| l.contains("[r15+rdi+8]")),
        "heap access not through r15: {text:#?}"
    );
    assert!(
        text.iter().any(|l| l.starts_with("cmp rsp,[r14+10h]")),
        "no stack check: {text:#?}"
    );
    // Straight-line code has no loop header, so no claims: the validator
    // derives every state from the entry (claims are kept only where it
    // starts from them; the sum_array_loop snapshot shows a loop's).
    let facts = &art.facts[0].entries;
    assert!(facts.is_empty(), "claims outside loop headers: {facts:?}");
    assert_eq!(art.meta.funcs[0].offset, 0);
    assert_eq!(art.meta.funcs[0].size as usize, art.text.len());
    let parsed = pcc::ArtifactFile::parse(&art.to_elf()).unwrap();
    assert_eq!(parsed.symbols[0].name, "load_add");
    assert_eq!(parsed.facts, art.facts);
}

#[test]
fn an_offset_past_the_guard_gets_an_explicit_check() {
    let sig = Signature {
        params: vec![Type::I32],
        results: vec![Type::I64],
    };
    let mut f = Function::new(0, "far", sig);
    let e = Function::ENTRY;
    let a = f.block(e).params[0];
    let x = f.push1(
        e,
        Op::Load {
            ty: Type::I64,
            mem: MemArg {
                offset: 0xFFFF_FFF0,
                width: 8,
            },
            signed: false,
        },
        vec![a],
        Type::I64,
    );
    f.push(e, Op::Return, vec![x], &[]);
    let ty = WasmFuncType {
        params: vec![ValType::I32],
        results: vec![ValType::I64],
    };
    let art = compile_module(module(vec![f], vec![ty]), &CompileOptions::default()).unwrap();
    let text = disasm(&art.text).join("\n");
    assert!(text.contains("ja "), "no bound check:\n{text}");
    assert!(
        !text.contains("FFFFFFF0h]"),
        "far offset used as a displacement:\n{text}"
    );
    assert!(art
        .meta
        .trap_sites
        .iter()
        .any(|t| t.code == pcc::TrapCode::HeapOutOfBounds));
}
