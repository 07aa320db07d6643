//! The metadata check: every field the runtime acts on, checked before it
//! acts. Metadata is input like the code: a tampered or hand-written
//! artifact can claim anything, and the runtime must refuse it rather than
//! index out of range, map the wrong sandbox or let memory grow past what
//! the validator proved against. The validator and the runtime both call
//! [`check_metadata`], so they agree on what a well-formed artifact is.

use crate::artifact::{ConstExpr, ElemItem, ExportKind, ImportKind, Metadata, SegmentMode};
use crate::sandbox::{HeapStrategy, WASM_PAGE};

/// Largest reservation + guard the runtime maps for one memory.
pub const MAX_SANDBOX_BYTES: u64 = 1 << 40;
/// Bytes of an OS page: the granularity of what the runtime maps.
pub const OS_PAGE: u64 = 4096;
/// Wasm32 memories never exceed 4 GiB.
pub const MAX_MEMORY_PAGES: u64 = 65536;
/// Caps on counts, so sizes derived from them (the vmctx, a table's
/// initial elements) neither overflow nor exhaust memory. The types,
/// functions and globals caps are wasmparser's own limits.
pub const MAX_TYPES: usize = 1_000_000;
pub const MAX_FUNCS: usize = 1_000_000;
pub const MAX_GLOBALS: usize = 1_000_000;
pub const MAX_TABLES: usize = 100_000;
/// Parameters and results of one function type (wasmparser's limits): the
/// runtime's entry puts a type's stack values on the wasm stack, so their
/// number must be small next to its guard and reserve.
pub const MAX_TYPE_VALUES: usize = 1000;
pub const MAX_TABLE_ELEMS: u64 = 10_000_000;

/// `Ok` if `meta` is consistent with itself and with a `.text` of
/// `text_len` bytes; otherwise the first problem, naming the field.
pub fn check_metadata(meta: &Metadata, text_len: usize) -> Result<(), String> {
    check_sandbox(meta)?;
    let n = Counts::of(meta)?;
    let ty = |what: &str, t: u32| n.index(what, "type", t, n.types);
    let func = |what: &str, f: u32| n.index(what, "function", f, n.funcs);
    let expr = |what: &str, e: &ConstExpr, globals: u32| match *e {
        ConstExpr::GlobalGet(g) => n.index(what, "global", g, globals),
        ConstExpr::RefFunc(f) => func(what, f),
        _ => Ok(()),
    };

    for (i, t) in meta.types.iter().enumerate() {
        for (what, len) in [("parameters", t.params.len()), ("results", t.results.len())] {
            if len > MAX_TYPE_VALUES {
                return Err(format!(
                    "types[{i}]: {len} {what} exceed the limit of {MAX_TYPE_VALUES}"
                ));
            }
        }
    }

    // Groups in order, apart, inside `types`, of at least two types.
    let mut next = 0u64;
    for (i, g) in meta.rec_groups.iter().enumerate() {
        let end = g.first as u64 + g.len as u64;
        if g.len < 2 || (g.first as u64) < next || end > meta.types.len() as u64 {
            return Err(format!(
                "rec_groups[{i}]: types [{}, {end}) overlap an earlier group, lie outside the {} types or are fewer than two",
                g.first,
                meta.types.len()
            ));
        }
        next = end;
    }

    let mut memories = 0;
    for (i, imp) in meta.imports.iter().enumerate() {
        match imp.kind {
            ImportKind::Func { type_index } => ty(&format!("imports[{i}]"), type_index)?,
            ImportKind::Memory { .. } => memories += 1,
            ImportKind::Table { min, max, .. } => limits(&format!("imports[{i}]"), min, max)?,
            ImportKind::Global { .. } => {}
            ImportKind::Tag { type_index } => tag_type(meta, &format!("imports[{i}]"), type_index)?,
        }
    }
    for (i, &t) in meta.tags.iter().enumerate() {
        tag_type(meta, &format!("tags[{i}]"), t)?;
    }
    match (&meta.memory, memories) {
        (None, 0) => {}
        (Some(m), k) if m.imported == (k == 1) => {
            if m.max_pages.is_some_and(|max| max < m.min_pages) {
                return Err("memory: max_pages below min_pages".into());
            }
        }
        _ => {
            return Err(
                "memory: `memory` and the memory imports disagree (at most one memory, \
                 marked imported exactly when it is)"
                    .into(),
            )
        }
    }

    for (i, f) in meta.funcs.iter().enumerate() {
        ty(&format!("funcs[{i}] ({})", f.name), f.type_index)?;
        let end = f.offset as u64 + f.size as u64;
        if end > text_len as u64 {
            return Err(format!(
                "funcs[{i}] ({}): [{:#x}, {end:#x}) lies outside .text ({text_len:#x} bytes)",
                f.name, f.offset
            ));
        }
    }
    for (i, t) in meta.trap_sites.iter().enumerate() {
        let what = format!("trap_sites[{i}]");
        let f = meta
            .funcs
            .get(t.func as usize)
            .ok_or_else(|| format!("{what}: defined function {} out of range", t.func))?;
        // A trap site is a 2-byte `ud2` inside its function.
        if t.offset as u64 + 2 > f.size as u64 {
            return Err(format!("{what}: offset {:#x} outside {}", t.offset, f.name));
        }
    }
    for (i, t) in meta.tables.iter().enumerate() {
        limits(&format!("tables[{i}]"), t.min, t.max)?;
    }
    for (i, g) in meta.globals.iter().enumerate() {
        // An initialiser reads only the globals before it.
        expr(
            &format!("globals[{i}].init"),
            &g.init,
            n.imported_globals + i as u32,
        )?;
    }
    for (i, e) in meta.exports.iter().enumerate() {
        let what = format!("exports[{i}] ({})", e.name);
        match e.kind {
            ExportKind::Func => func(&what, e.index)?,
            ExportKind::Global => n.index(&what, "global", e.index, n.globals)?,
            ExportKind::Table => n.index(&what, "table", e.index, n.tables)?,
            ExportKind::Memory => n.index(&what, "memory", e.index, n.memories)?,
            ExportKind::Tag => n.index(&what, "tag", e.index, n.tags)?,
        }
    }
    if let Some(s) = meta.start {
        func("start", s)?;
        let t = meta.func_type(s);
        if t.is_some_and(|t| !t.params.is_empty() || !t.results.is_empty()) {
            return Err(format!(
                "start: function {s} takes parameters or returns results"
            ));
        }
    }
    for (i, seg) in meta.elems.iter().enumerate() {
        let what = format!("elems[{i}]");
        if let SegmentMode::Active { index, offset } = &seg.mode {
            n.index(&what, "table", *index, n.tables)?;
            expr(&what, offset, n.globals)?;
        }
        for item in &seg.items {
            match *item {
                ElemItem::Func(f) => func(&what, f)?,
                ElemItem::Global(g) => n.index(&what, "global", g, n.globals)?,
                ElemItem::Null => {}
            }
        }
    }
    for (i, seg) in meta.data.iter().enumerate() {
        let what = format!("data[{i}]");
        if let SegmentMode::Active { index, offset } = &seg.mode {
            n.index(&what, "memory", *index, n.memories)?;
            expr(&what, offset, n.globals)?;
        }
    }
    // The unwinder looks sites up by return address: one site per call,
    // in order, each inside its function (the validator checks that `ret`
    // follows a call and `landing` starts an instruction).
    let mut last: Option<(u32, u32)> = None;
    for (i, site) in meta.exn_sites.iter().enumerate() {
        let what = format!("exn_sites[{i}]");
        let f = meta
            .funcs
            .get(site.func as usize)
            .ok_or_else(|| format!("{what}: defined function {} out of range", site.func))?;
        if site.ret >= f.size || site.landing >= f.size {
            return Err(format!("{what}: offsets outside {}", f.name));
        }
        if last.is_some_and(|l| l >= (site.func, site.ret)) {
            return Err(format!(
                "{what}: not sorted by function and return offset, or twice"
            ));
        }
        last = Some((site.func, site.ret));
    }
    if meta.import_thunks.len() > n.imported_funcs as usize {
        return Err("import_thunks: more entries than function imports".into());
    }
    let import_types = meta.imports.iter().filter_map(|i| match i.kind {
        ImportKind::Func { type_index } => Some(type_index),
        _ => None,
    });
    for (i, (thunk, want)) in meta.import_thunks.iter().zip(import_types).enumerate() {
        let Some(t) = *thunk else { continue };
        let what = format!("import_thunks[{i}]");
        let f = meta
            .funcs
            .get(t as usize)
            .ok_or_else(|| format!("{what}: defined function {t} out of range"))?;
        // A thunk has its import's type: the same index, so the same
        // recursion group too (an equal signature of another group would
        // give the host function a table identity it does not have).
        if f.type_index != want {
            return Err(format!(
                "{what}: {} does not have the import's type",
                f.name
            ));
        }
    }
    Ok(())
}

/// A tag's type exists and has no results.
fn tag_type(meta: &Metadata, what: &str, t: u32) -> Result<(), String> {
    match meta.types.get(t as usize) {
        None => Err(format!(
            "{what}: type index {t} out of range (the module has {})",
            meta.types.len()
        )),
        Some(ty) if !ty.results.is_empty() => Err(format!("{what}: a tag type with results")),
        Some(_) => Ok(()),
    }
}

/// The heap the runtime maps (reservation + guard, PROT_NONE but for the
/// memory's pages) and lets grow (up to the reservation, never into the
/// guard) must be the one the validator proves against.
fn check_sandbox(meta: &Metadata) -> Result<(), String> {
    let heap = meta.sandbox.heap;
    let (reservation, guard) = (heap.reservation(), heap.guard());
    if reservation % WASM_PAGE != 0 {
        return Err(format!(
            "sandbox: reservation {reservation:#x} is not a multiple of the 64 KiB Wasm page"
        ));
    }
    if guard % OS_PAGE != 0 {
        return Err(format!(
            "sandbox: guard {guard:#x} is not a multiple of the 4 KiB page"
        ));
    }
    if reservation
        .checked_add(guard)
        .is_none_or(|total| total > MAX_SANDBOX_BYTES)
    {
        return Err(format!(
            "sandbox: reservation {reservation:#x} + guard {guard:#x} exceeds {MAX_SANDBOX_BYTES:#x} bytes"
        ));
    }
    // Every access is compared against the memory's size, so there is
    // nothing for a guard to catch: a guard here only means the producer
    // and the runtime disagree about where memory may grow.
    if matches!(heap, HeapStrategy::BoundsChecked { .. }) && guard != 0 {
        return Err(format!(
            "sandbox: the bounds-checked strategy has guard {guard:#x}, must be 0"
        ));
    }
    if let Some(m) = &meta.memory {
        if m.min_pages > MAX_MEMORY_PAGES || m.min_pages * WASM_PAGE > reservation {
            return Err(format!(
                "memory: min_pages {} does not fit the {reservation:#x}-byte reservation",
                m.min_pages
            ));
        }
    }
    Ok(())
}

/// A table's limits: a sane initial size, and max not below it.
fn limits(what: &str, min: u64, max: Option<u64>) -> Result<(), String> {
    if min > MAX_TABLE_ELEMS {
        return Err(format!(
            "{what}: table of {min} elements exceeds {MAX_TABLE_ELEMS}"
        ));
    }
    if max.is_some_and(|max| max < min) {
        return Err(format!("{what}: table max below min"));
    }
    Ok(())
}

/// Sizes of the index spaces (imports first, as in Wasm).
struct Counts {
    types: u32,
    funcs: u32,
    imported_funcs: u32,
    globals: u32,
    imported_globals: u32,
    tables: u32,
    memories: u32,
    tags: u32,
}

impl Counts {
    fn of(meta: &Metadata) -> Result<Counts, String> {
        let (imported_funcs, imported_globals) =
            (meta.num_imported_funcs(), meta.num_imported_globals());
        let imported_tables = meta.num_imported_tables();
        for (what, len, cap) in [
            ("types", meta.types.len(), MAX_TYPES),
            (
                "functions",
                imported_funcs as usize + meta.funcs.len(),
                MAX_FUNCS,
            ),
            (
                "globals",
                imported_globals as usize + meta.globals.len(),
                MAX_GLOBALS,
            ),
            (
                "tables",
                imported_tables as usize + meta.tables.len(),
                MAX_TABLES,
            ),
            (
                "tags",
                meta.num_imported_tags() as usize + meta.tags.len(),
                MAX_FUNCS,
            ),
        ] {
            if len > cap {
                return Err(format!("{what}: {len} exceeds the limit of {cap}"));
            }
        }
        Ok(Counts {
            types: meta.types.len() as u32,
            funcs: imported_funcs + meta.funcs.len() as u32,
            imported_funcs,
            globals: imported_globals + meta.globals.len() as u32,
            imported_globals,
            tables: imported_tables + meta.tables.len() as u32,
            memories: meta.memory.is_some() as u32,
            tags: meta.num_imported_tags() + meta.tags.len() as u32,
        })
    }

    fn index(&self, what: &str, space: &str, i: u32, len: u32) -> Result<(), String> {
        if i < len {
            Ok(())
        } else {
            Err(format!(
                "{what}: {space} index {i} out of range (the module has {len})"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::*;
    use crate::sandbox::{SandboxConfig, GIB};
    use crate::trap::TrapCode;

    /// One import function, two defined functions (the second the import's
    /// thunk), a table, a global, a memory: every index space non-empty.
    fn good() -> Metadata {
        let unit = WasmFuncType {
            params: vec![],
            results: vec![],
        };
        let func = |name: &str, offset| FuncMeta {
            name: name.into(),
            type_index: 0,
            offset,
            size: 16,
        };
        Metadata {
            sandbox: SandboxConfig::default(),
            types: vec![unit],
            rec_groups: vec![],
            imports: vec![Import {
                module: "env".into(),
                name: "f".into(),
                kind: ImportKind::Func { type_index: 0 },
            }],
            funcs: vec![func("main", 0), func("thunk", 16)],
            tables: vec![TableMeta {
                elem: ValType::FuncRef,
                min: 2,
                max: None,
            }],
            memory: Some(MemoryMeta {
                min_pages: 1,
                max_pages: None,
                imported: false,
            }),
            globals: vec![GlobalMeta {
                ty: ValType::I32,
                mutable: false,
                init: ConstExpr::I32(0),
            }],
            exports: vec![Export {
                name: "main".into(),
                kind: ExportKind::Func,
                index: 1,
            }],
            start: Some(1),
            elems: vec![ElemSegment {
                mode: SegmentMode::Active {
                    index: 0,
                    offset: ConstExpr::GlobalGet(0),
                },
                elem: ValType::FuncRef,
                items: vec![ElemItem::Func(0), ElemItem::Func(2), ElemItem::Null],
            }],
            data: vec![DataSegment {
                mode: SegmentMode::Active {
                    index: 0,
                    offset: ConstExpr::I32(8),
                },
                bytes: vec![1, 2, 3],
            }],
            trap_sites: vec![TrapSite {
                func: 1,
                offset: 14,
                code: TrapCode::Unreachable,
            }],
            import_thunks: vec![Some(1)],
            tags: vec![],
            exn_sites: vec![],
        }
    }

    /// `change` makes `good()` fail the check with a message containing `needle`.
    fn rejects(needle: &str, change: impl FnOnce(&mut Metadata)) {
        let mut m = good();
        change(&mut m);
        match check_metadata(&m, 32) {
            Ok(()) => panic!("accepted; expected an error about `{needle}`"),
            Err(e) => assert!(e.contains(needle), "`{e}` does not mention `{needle}`"),
        }
    }

    #[test]
    fn a_consistent_module_passes() {
        assert_eq!(check_metadata(&good(), 32), Ok(()));
        let mut m = good();
        m.sandbox.heap = HeapStrategy::DEFAULT_BOUNDS_CHECKED;
        assert_eq!(check_metadata(&m, 32), Ok(()));
    }

    #[test]
    fn function_indices_out_of_range() {
        // Family 15: these made the runtime panic.
        rejects("elems[0]: function index 3", |m| {
            m.elems[0].items[1] = ElemItem::Func(3)
        });
        rejects("start: function index 3", |m| m.start = Some(3));
        rejects("exports[0] (main): function index 7", |m| {
            m.exports[0].index = 7
        });
        rejects("globals[0].init: function index 9", |m| {
            m.globals[0].init = ConstExpr::RefFunc(9)
        });
        rejects("import_thunks[0]: defined function 2", |m| {
            m.import_thunks[0] = Some(2)
        });
        rejects("import_thunks: more entries", |m| {
            m.import_thunks.push(None)
        });
        rejects("trap_sites[0]: defined function 5", |m| {
            m.trap_sites[0].func = 5
        });
        rejects("trap_sites[0]: offset", |m| m.trap_sites[0].offset = 15);
    }

    #[test]
    fn type_indices_out_of_range() {
        rejects("funcs[1] (thunk): type index 1", |m| {
            m.funcs[1].type_index = 1
        });
        rejects("imports[0]: type index 4", |m| {
            m.imports[0].kind = ImportKind::Func { type_index: 4 }
        });
    }

    #[test]
    fn thunk_of_another_type() {
        rejects("does not have the import's type", |m| {
            m.types.push(WasmFuncType {
                params: vec![ValType::I32],
                results: vec![],
            });
            m.funcs[1].type_index = 1;
        });
        // An equal signature at another index (here in a recursion group,
        // so a distinct type) is not the import's type either.
        rejects("does not have the import's type", |m| {
            m.types.extend([m.types[0].clone(), m.types[0].clone()]);
            m.rec_groups = vec![RecGroup { first: 1, len: 2 }];
            m.funcs[1].type_index = 1;
        });
    }

    #[test]
    fn start_with_a_signature() {
        rejects("start: function 1 takes parameters", |m| {
            m.types[0].results.push(ValType::I32)
        });
    }

    #[test]
    fn table_global_memory_indices_out_of_range() {
        rejects("exports[0] (main): global index 1", |m| {
            m.exports[0].kind = ExportKind::Global;
            m.exports[0].index = 1;
        });
        rejects("exports[0] (main): table index 1", |m| {
            m.exports[0].kind = ExportKind::Table;
            m.exports[0].index = 1;
        });
        rejects("exports[0] (main): memory index 1", |m| {
            m.exports[0].kind = ExportKind::Memory;
            m.exports[0].index = 1;
        });
        rejects("elems[0]: table index 1", |m| {
            m.elems[0].mode = SegmentMode::Active {
                index: 1,
                offset: ConstExpr::I32(0),
            }
        });
        rejects("elems[0]: global index 1", |m| {
            m.elems[0].items[0] = ElemItem::Global(1)
        });
        rejects("elems[0]: global index 2", |m| {
            m.elems[0].mode = SegmentMode::Active {
                index: 0,
                offset: ConstExpr::GlobalGet(2),
            }
        });
        // An initialiser may only read the globals before it.
        rejects("globals[0].init: global index 0", |m| {
            m.globals[0].init = ConstExpr::GlobalGet(0)
        });
    }

    #[test]
    fn data_without_a_memory() {
        rejects(
            "data[0]: memory index 0 out of range (the module has 0)",
            |m| m.memory = None,
        );
    }

    #[test]
    fn memory_and_imports_disagree() {
        rejects("memory: `memory` and the memory imports disagree", |m| {
            m.memory.as_mut().unwrap().imported = true
        });
        rejects("memory: `memory` and the memory imports disagree", |m| {
            m.imports.push(Import {
                module: "env".into(),
                name: "mem".into(),
                kind: ImportKind::Memory {
                    min_pages: 1,
                    max_pages: None,
                },
            })
        });
        rejects("memory: max_pages below min_pages", |m| {
            m.memory.as_mut().unwrap().max_pages = Some(0)
        });
    }

    #[test]
    fn recursion_groups() {
        let two = |m: &mut Metadata| m.types.extend([m.types[0].clone(), m.types[0].clone()]);
        let group = |first, len| RecGroup { first, len };
        rejects("rec_groups[0]: types [1, 4) overlap", |m| {
            two(m);
            m.rec_groups = vec![group(1, 3)]
        });
        rejects("rec_groups[0]", |m| {
            two(m);
            m.rec_groups = vec![group(1, 1)]
        });
        rejects("rec_groups[1]: types [1, 3) overlap", |m| {
            two(m);
            m.rec_groups = vec![group(0, 2), group(1, 2)]
        });
        rejects("rec_groups[0]", |m| m.rec_groups = vec![group(u32::MAX, 2)]);
        let mut m = good();
        two(&mut m);
        m.rec_groups = vec![group(1, 2)];
        assert_eq!(check_metadata(&m, 64), Ok(()));
    }

    #[test]
    fn tags_and_exception_sites() {
        use crate::artifact::ExnSite;
        rejects("tags[0]: type index 9", |m| m.tags = vec![9]);
        rejects("a tag type with results", |m| {
            m.types[0].results = vec![ValType::I32];
            m.tags = vec![0];
        });
        rejects("tag index 0 out of range", |m| {
            m.exports.push(Export {
                name: "t".into(),
                kind: ExportKind::Tag,
                index: 0,
            })
        });
        let site = |func, ret, landing| ExnSite { func, ret, landing };
        rejects("exn_sites[0]: defined function 7", |m| {
            m.exn_sites = vec![site(7, 1, 2)]
        });
        rejects("exn_sites[0]: offsets outside", |m| {
            m.exn_sites = vec![site(0, 1, 1 << 20)]
        });
        rejects("exn_sites[1]: not sorted", |m| {
            m.exn_sites = vec![site(0, 4, 2), site(0, 4, 3)]
        });
        let mut m = good();
        m.exn_sites = vec![site(0, 4, 2), site(0, 5, 2), site(1, 1, 3)];
        assert_eq!(check_metadata(&m, 64), Ok(()));
    }

    #[test]
    fn functions_outside_text() {
        rejects("funcs[1] (thunk): [0x10, 0x30) lies outside .text", |m| {
            m.funcs[1].size = 32
        });
        // offset + size computed without wrapping.
        rejects("funcs[1] (thunk)", |m| {
            m.funcs[1].offset = u32::MAX;
            m.funcs[1].size = 2;
        });
    }

    #[test]
    fn sandbox_inconsistent_with_what_the_runtime_maps() {
        let heap = |m: &mut Metadata, h| m.sandbox.heap = h;
        // Family 13: the runtime used to grow memory into the guard.
        rejects(
            "bounds-checked strategy has guard 0x10000, must be 0",
            |m| {
                heap(
                    m,
                    HeapStrategy::BoundsChecked {
                        reservation: 1 << 20,
                        guard: 1 << 16,
                    },
                )
            },
        );
        rejects("reservation 0x1234 is not a multiple", |m| {
            heap(
                m,
                HeapStrategy::Static {
                    reservation: 0x1234,
                    guard: 0,
                },
            )
        });
        rejects("guard 0x10 is not a multiple", |m| {
            heap(
                m,
                HeapStrategy::Static {
                    reservation: 4 * GIB,
                    guard: 0x10,
                },
            )
        });
        rejects("exceeds 0x10000000000 bytes", |m| {
            heap(
                m,
                HeapStrategy::Static {
                    reservation: 1 << 40,
                    guard: 1 << 16,
                },
            )
        });
        rejects("exceeds", |m| {
            heap(
                m,
                HeapStrategy::Static {
                    reservation: u64::MAX - 0xffff,
                    guard: 1 << 16,
                },
            )
        });
        rejects(
            "memory: min_pages 17 does not fit the 0x100000-byte reservation",
            |m| {
                heap(
                    m,
                    HeapStrategy::Static {
                        reservation: 1 << 20,
                        guard: 2 * GIB,
                    },
                );
                m.memory.as_mut().unwrap().min_pages = 17;
            },
        );
        rejects("memory: min_pages", |m| {
            m.memory.as_mut().unwrap().min_pages = u64::MAX;
        });
    }

    #[test]
    fn tables_too_large_or_inverted() {
        rejects("tables[0]: table of 10000001 elements", |m| {
            m.tables[0].min = MAX_TABLE_ELEMS + 1
        });
        rejects("tables[0]: table max below min", |m| {
            m.tables[0].max = Some(1)
        });
    }
}
