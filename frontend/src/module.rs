//! Module-level decoding: everything but the function bodies goes into
//! `pcc::Metadata`; the bodies are kept for translation.

use std::collections::{HashMap, HashSet};

use pcc::artifact::{ConstExpr, SegmentMode};
use pcc::{
    DataSegment, ElemItem, ElemSegment, Export, ExportKind, FuncMeta, GlobalMeta, Import,
    ImportKind, MemoryMeta, Metadata, TableMeta, ValType, WasmFuncType,
};
use wasmparser::{FunctionBody, Operator, Parser, Payload, TypeRef};

use crate::FrontendError;

pub struct Parsed<'a> {
    pub meta: Metadata,
    pub bodies: Vec<FunctionBody<'a>>,
    pub num_imported_funcs: u32,
    /// Type index of every function (imports first).
    pub func_types: Vec<u32>,
    /// Type of every global (imports first).
    pub global_types: Vec<ValType>,
}

/// Atomics run on non-shared memories only, single-threaded: a shared
/// memory (threads) is refused.
fn refuse_shared(m: &wasmparser::MemoryType) -> Result<(), FrontendError> {
    if m.shared {
        return Err(FrontendError::UnsupportedFeature(
            "shared memories (threads); atomics on a non-shared memory are supported".into(),
        ));
    }
    Ok(())
}

pub fn val_type(t: wasmparser::ValType) -> Result<ValType, FrontendError> {
    use wasmparser::ValType as W;
    Ok(match t {
        W::I32 => ValType::I32,
        W::I64 => ValType::I64,
        W::F32 => ValType::F32,
        W::F64 => ValType::F64,
        W::V128 => ValType::V128,
        W::Ref(r) => ref_val_type(r)?,
    })
}

/// A reference type by the handle it travels as: every function reference
/// (typed ones, `(ref $t)`, included: the module has only function types)
/// as a function handle, exception references as exnref handles.
fn ref_val_type(r: wasmparser::RefType) -> Result<ValType, FrontendError> {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    Ok(match r.heap_type() {
        H::Abstract {
            shared: false,
            ty: A::Func | A::NoFunc,
        }
        | H::Concrete(_) => ValType::FuncRef,
        H::Abstract {
            shared: false,
            ty: A::Extern | A::NoExtern,
        } => ValType::ExternRef,
        H::Abstract {
            shared: false,
            ty: A::Exn | A::NoExn,
        } => ValType::ExnRef,
        _ => {
            return Err(FrontendError::UnsupportedFeature(format!(
                "reference type {r:?}"
            )))
        }
    })
}

fn ref_type(r: wasmparser::RefType) -> Result<ValType, FrontendError> {
    val_type(wasmparser::ValType::Ref(r))
}

fn const_expr(e: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, FrontendError> {
    let mut ops = e.get_operators_reader();
    let op = ops.read()?;
    let value = match op {
        Operator::I32Const { value } => ConstExpr::I32(value),
        Operator::I64Const { value } => ConstExpr::I64(value),
        Operator::F32Const { value } => ConstExpr::F32(value.bits()),
        Operator::F64Const { value } => ConstExpr::F64(value.bits()),
        Operator::GlobalGet { global_index } => ConstExpr::GlobalGet(global_index),
        Operator::RefNull { .. } => ConstExpr::RefNull,
        Operator::RefFunc { function_index } => ConstExpr::RefFunc(function_index),
        Operator::V128Const { value } => ConstExpr::V128(value.i128() as u128),
        other => {
            return Err(FrontendError::UnsupportedFeature(format!(
                "constant expression {other:?}"
            )))
        }
    };
    match ops.read()? {
        Operator::End => Ok(value),
        other => Err(FrontendError::UnsupportedFeature(format!(
            "extended constant expression ({other:?})"
        ))),
    }
}

pub fn parse(wasm: &[u8]) -> Result<Parsed<'_>, FrontendError> {
    let mut meta = Metadata::default();
    let mut bodies = vec![];
    let mut func_types = vec![];
    let mut global_types = vec![];
    let mut num_imported_funcs = 0;
    let mut names: HashMap<u32, String> = HashMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(r) => {
                for group in r {
                    let first = meta.types.len() as u32;
                    for sub in group?.into_types() {
                        let wasmparser::CompositeInnerType::Func(f) = &sub.composite_type.inner
                        else {
                            return Err(FrontendError::UnsupportedFeature(
                                "non-function types".into(),
                            ));
                        };
                        // Without subtypes a type's identity is its group
                        // and place (`pcc::RecGroup`); `sub` declarations
                        // would make call_indirect a subtype test.
                        if !sub.is_final || !sub.supertype_idxs.is_empty() {
                            return Err(FrontendError::UnsupportedFeature(
                                "subtyping (non-final types, GC)".into(),
                            ));
                        }
                        meta.types.push(WasmFuncType {
                            params: f
                                .params()
                                .iter()
                                .map(|t| val_type(*t))
                                .collect::<Result<_, _>>()?,
                            results: f
                                .results()
                                .iter()
                                .map(|t| val_type(*t))
                                .collect::<Result<_, _>>()?,
                        });
                    }
                    let len = meta.types.len() as u32 - first;
                    if len > 1 {
                        meta.rec_groups.push(pcc::RecGroup { first, len });
                    }
                }
            }
            Payload::ImportSection(r) => {
                for imports in r {
                    for imp in imports? {
                        let (_, imp) = imp?;
                        let kind = match imp.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                num_imported_funcs += 1;
                                func_types.push(t);
                                ImportKind::Func { type_index: t }
                            }
                            TypeRef::Global(g) => {
                                let ty = val_type(g.content_type)?;
                                global_types.push(ty);
                                ImportKind::Global {
                                    ty,
                                    mutable: g.mutable,
                                }
                            }
                            TypeRef::Memory(m) => {
                                refuse_shared(&m)?;
                                meta.memory = Some(MemoryMeta {
                                    min_pages: m.initial,
                                    max_pages: m.maximum,
                                    imported: true,
                                });
                                ImportKind::Memory {
                                    min_pages: m.initial,
                                    max_pages: m.maximum,
                                }
                            }
                            TypeRef::Table(t) => ImportKind::Table {
                                elem: ref_type(t.element_type)?,
                                min: t.initial,
                                max: t.maximum,
                            },
                            TypeRef::Tag(t) => ImportKind::Tag {
                                type_index: t.func_type_idx,
                            },
                        };
                        meta.imports.push(Import {
                            module: imp.module.to_string(),
                            name: imp.name.to_string(),
                            kind,
                        });
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    let t = t?;
                    func_types.push(t);
                    meta.funcs.push(FuncMeta {
                        name: String::new(),
                        type_index: t,
                        offset: 0,
                        size: 0,
                    });
                }
            }
            Payload::TableSection(r) => {
                for t in r {
                    let t = t?;
                    if !matches!(t.init, wasmparser::TableInit::RefNull) {
                        return Err(FrontendError::UnsupportedFeature(
                            "table initialiser expressions".into(),
                        ));
                    }
                    meta.tables.push(TableMeta {
                        elem: ref_type(t.ty.element_type)?,
                        min: t.ty.initial,
                        max: t.ty.maximum,
                    });
                }
            }
            Payload::MemorySection(r) => {
                for m in r {
                    let m = m?;
                    refuse_shared(&m)?;
                    meta.memory = Some(MemoryMeta {
                        min_pages: m.initial,
                        max_pages: m.maximum,
                        imported: false,
                    });
                }
            }
            Payload::GlobalSection(r) => {
                for g in r {
                    let g = g?;
                    let ty = val_type(g.ty.content_type)?;
                    global_types.push(ty);
                    meta.globals.push(GlobalMeta {
                        ty,
                        mutable: g.ty.mutable,
                        init: const_expr(&g.init_expr)?,
                    });
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e?;
                    let kind = match e.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            ExportKind::Func
                        }
                        wasmparser::ExternalKind::Global => ExportKind::Global,
                        wasmparser::ExternalKind::Memory => ExportKind::Memory,
                        wasmparser::ExternalKind::Table => ExportKind::Table,
                        wasmparser::ExternalKind::Tag => ExportKind::Tag,
                    };
                    meta.exports.push(Export {
                        name: e.name.to_string(),
                        kind,
                        index: e.index,
                    });
                }
            }
            Payload::TagSection(r) => {
                for t in r {
                    meta.tags.push(t?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => meta.start = Some(func),
            Payload::ElementSection(r) => {
                for e in r {
                    let e = e?;
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => SegmentMode::Passive,
                        wasmparser::ElementKind::Declared => SegmentMode::Declared,
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: table_index.unwrap_or(0),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let (elem, items) = match e.items {
                        wasmparser::ElementItems::Functions(fs) => (
                            ValType::FuncRef,
                            fs.into_iter()
                                .map(|f| f.map(ElemItem::Func))
                                .collect::<Result<Vec<_>, _>>()?,
                        ),
                        wasmparser::ElementItems::Expressions(ty, es) => {
                            let mut items = vec![];
                            for x in es {
                                items.push(match const_expr(&x?)? {
                                    ConstExpr::RefFunc(f) => ElemItem::Func(f),
                                    ConstExpr::RefNull => ElemItem::Null,
                                    ConstExpr::GlobalGet(g) => ElemItem::Global(g),
                                    other => {
                                        return Err(FrontendError::UnsupportedFeature(format!(
                                            "element expression {other:?}"
                                        )))
                                    }
                                });
                            }
                            (ref_type(ty)?, items)
                        }
                    };
                    meta.elems.push(ElemSegment { mode, elem, items });
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    let d = d?;
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => SegmentMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    meta.data.push(DataSegment {
                        mode,
                        bytes: d.data.to_vec(),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body),
            Payload::CustomSection(c) => {
                // A malformed name section is not an error (the spec says custom
                // sections never affect validity): take what parses.
                if let wasmparser::KnownCustom::Name(r) = c.as_known() {
                    for n in r.into_iter().flatten() {
                        if let wasmparser::Name::Function(map) = n {
                            for naming in map.into_iter().flatten() {
                                names
                                    .entry(naming.index)
                                    .or_insert_with(|| naming.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    name_functions(&mut meta, num_imported_funcs, &names);
    Ok(Parsed {
        meta,
        bodies,
        num_imported_funcs,
        func_types,
        global_types,
    })
}

/// Symbol names: first export name, else name-section name, else `func[N]`;
/// unique within the module (a collision gets `[N]` appended).
fn name_functions(meta: &mut Metadata, imported: u32, names: &HashMap<u32, String>) {
    let mut used = HashSet::new();
    for i in 0..meta.funcs.len() {
        let index = imported + i as u32;
        let export = meta
            .exports
            .iter()
            .find(|e| e.kind == ExportKind::Func && e.index == index)
            .map(|e| e.name.clone());
        let mut name = export
            .or_else(|| names.get(&index).cloned())
            .unwrap_or_else(|| format!("func[{index}]"));
        if name.is_empty() || !used.insert(name.clone()) {
            name = format!("{name}[{index}]");
            used.insert(name.clone());
        }
        meta.funcs[i].name = name;
    }
}
