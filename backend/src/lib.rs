//! pccc's backend: IR → x86-64 on virtual registers with facts → regalloc2
//! → iced-x86 encoding → ELF artifact.
//!
//! Stage modules mirror Cranelift's machinst split: `lower` (IR → VCode),
//! `regalloc` (regalloc2 glue), `emit` (encoding + fact table), `artifact`
//! (ELF writer). The mid-end (`opt`) so far removes redundant block
//! parameters; the design's egg rewrites are not built yet.

pub mod ir;

use pcc::{FunctionFacts, Metadata, SandboxConfig};

/// A whole module in IR, as the frontend hands it over.
#[derive(Clone, Debug)]
pub struct ModuleIr {
    /// Everything but the code: `funcs[i].offset/size` are 0 and
    /// `trap_sites` is empty until the backend fills them in.
    pub meta: Metadata,
    /// One per defined function, in function-index order after the imports.
    pub functions: Vec<ir::Function>,
}

/// Options that change the code the backend emits.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub sandbox: SandboxConfig,
    /// Keep every claim the backend makes (block entries, after each
    /// definition) instead of only the loop headers' the validator uses:
    /// for reading the code (`pccc disasm` of a module) and for tests that
    /// look for claimed values. Same code either way.
    pub all_facts: bool,
    /// Test-only: reload spilled i32 values with `movsxd` — the
    /// CVE-2021-32629 bug, seeded so tests can show the validator catches it.
    #[doc(hidden)]
    pub seed_sign_extending_reloads: bool,
}

impl CompileOptions {
    /// The defaults, with heap strategy `heap`.
    pub fn with_heap(heap: pcc::HeapStrategy) -> CompileOptions {
        CompileOptions {
            sandbox: SandboxConfig { heap },
            ..CompileOptions::default()
        }
    }
}

/// A compiled module: code, claims and metadata, ready to be written as ELF.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// `funcs[i].offset/size` and `trap_sites` filled in; `sandbox` as compiled.
    pub meta: Metadata,
    /// All defined functions, laid out back to back; calls between them are
    /// already resolved (rel32), so the code is position-independent.
    pub text: Vec<u8>,
    pub facts: Vec<FunctionFacts>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("function {func}: {msg}")]
    Function { func: u32, msg: String },
    #[error("{0}")]
    Unsupported(String),
}

pub mod artifact;
pub mod divmagic;
pub mod emit;
pub mod holds;
pub mod layout;
pub mod lower;
pub mod opt;
pub mod regalloc;
pub mod vcode;

use iced_x86::code_asm::CodeAssembler;
use iced_x86::BlockEncoderOptions;
use pcc::{FactEntry, ImportKind, TrapSite};

/// Compile every function of `module` into one `.text` blob with its facts.
/// Compile a translated module; its functions are optimized in place (the
/// module is consumed: cloning every function was 2% of a compile).
pub fn compile_module(module: ModuleIr, opts: &CompileOptions) -> Result<Artifact, CompileError> {
    let mut meta = module.meta.clone();
    meta.sandbox = opts.sandbox;
    // A memory that starts larger than the strategy's reservation can never
    // be instantiated (the runtime caps memory at the reservation, and the
    // proofs assume it): refuse it here, naming the limit, rather than emit
    // an artifact the validator must reject.
    if let Some(m) = &meta.memory {
        let reservation = opts.sandbox.heap.reservation();
        if m.min_pages.saturating_mul(pcc::sandbox::WASM_PAGE) > reservation {
            return Err(CompileError::Unsupported(format!(
                "memory of {} pages is not supported by the {} heap: its reservation holds {} pages",
                m.min_pages,
                opts.sandbox.heap.name(),
                reservation / pcc::sandbox::WASM_PAGE
            )));
        }
    }
    let mut func_types = vec![];
    for imp in &meta.imports {
        if let ImportKind::Func { type_index } = imp.kind {
            func_types.push(type_index);
        }
    }
    func_types.extend(meta.funcs.iter().map(|f| f.type_index));
    let types = func_types
        .iter()
        .map(|&t| {
            meta.types.get(t as usize).ok_or_else(|| {
                CompileError::Unsupported(format!("function refers to missing type {t}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ctx = lower::ModuleCtx {
        func_types: types,
        num_imported_funcs: meta.num_imported_funcs(),
        layout: meta.vmctx_layout(),
        heap: opts.sandbox.heap,
    };
    let asm_err = |e: iced_x86::IcedError| CompileError::Unsupported(format!("encoder: {e}"));
    let mut asm = CodeAssembler::new(64).map_err(asm_err)?;
    let mut labels: Vec<_> = module
        .functions
        .iter()
        .map(|_| asm.create_label())
        .collect();
    let label_copies = labels.clone();
    let mut per_func = vec![];
    let mut jump_entries = vec![];
    for (i, mut f) in module.functions.into_iter().enumerate() {
        opt::optimize(&mut f);
        // PCCC_DUMP_IR=<function name>: the IR as the backend lowers it.
        if std::env::var_os("PCCC_DUMP_IR").is_some_and(|n| n.to_str() == Some(f.name.as_str())) {
            eprint!("{f}");
        }
        let f = &f;
        let vcode = lower::lower(f, &ctx)?;
        let out = regalloc::allocate(&vcode).map_err(|e| CompileError::Function {
            func: f.index,
            msg: format!("register allocation failed: {e:?}"),
        })?;
        let start = asm.instructions().len();
        let params_i32: Vec<bool> = f.sig.params.iter().map(|t| *t == ir::Type::I32).collect();
        let params_class: Vec<pcc::vmctx::ValClass> = f
            .sig
            .params
            .iter()
            .map(|t| match t {
                ir::Type::V128 => pcc::vmctx::ValClass::Vector,
                t if t.is_int() => pcc::vmctx::ValClass::Int,
                _ => pcc::vmctx::ValClass::Float,
            })
            .collect();
        let mut em = emit::FuncEmitter::new(
            &mut asm,
            &label_copies,
            &vcode,
            &out,
            opts.seed_sign_extending_reloads,
        );
        em.emit_function(&mut labels[i], &params_i32, &params_class)
            .map_err(asm_err)?;
        let (facts, traps) = (std::mem::take(&mut em.facts), std::mem::take(&mut em.traps));
        jump_entries.append(&mut em.jump_entries);
        let sites = std::mem::take(&mut em.exn_sites);
        per_func.push((start, facts, traps, sites));
    }
    let result = asm
        .assemble_options(0, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)
        .map_err(asm_err)?;
    let offsets = &result.inner.new_instruction_offsets;
    let mut text = result.inner.code_buffer.clone();
    let entries = jump_entries
        .iter()
        .map(|(idx, label)| Ok((offsets[*idx], result.label_ip(label)? as u32)))
        .collect::<Result<Vec<_>, iced_x86::IcedError>>()
        .map_err(asm_err)?;
    emit::patch_jump_entries(&mut text, &entries);
    let n = per_func.len();
    let mut all_facts = vec![];
    for (i, (start, facts, traps, sites)) in per_func.into_iter().enumerate() {
        let begin = offsets[start];
        let end = if i + 1 < n {
            result.label_ip(&labels[i + 1]).map_err(asm_err)? as u32
        } else {
            text.len() as u32
        };
        meta.funcs[i].offset = begin;
        meta.funcs[i].size = end - begin;
        for (idx, code) in traps {
            meta.trap_sites.push(TrapSite {
                func: i as u32,
                offset: offsets[idx] - begin,
                code,
            });
        }
        // Only loop headers' claims go into the artifact: the validator
        // starts a loop header from its claims, and every other point from
        // what flows into it, so claims elsewhere would only be checked,
        // never used (they were most of `.pcc.facts`, up to 12x the code).
        let mut headers = loop_headers(&text[begin as usize..end as usize], begin);
        for (call, landing) in sites {
            // The return address: where the call's next instruction starts.
            let ret = offsets.get(call + 1).map_or(text.len() as u32, |&o| o) - begin;
            let landing = result.label_ip(&landing).map_err(asm_err)? as u32 - begin;
            meta.exn_sites.push(pcc::ExnSite {
                func: i as u32,
                ret,
                landing,
            });
            // A landing at or before its call starts from its claims too.
            if landing < ret {
                headers.insert(landing);
            }
        }
        let mut entries: Vec<FactEntry> = facts
            .into_iter()
            .filter(|p| {
                opts.all_facts
                    || (p.point == pcc::Point::Before
                        && headers.contains(&(offsets[p.inst_index] - begin)))
            })
            .map(|p| FactEntry {
                offset: offsets[p.inst_index] - begin,
                point: p.point,
                loc: p.loc,
                fact: p.fact,
            })
            .collect();
        entries.sort_by_key(|e| (e.offset, e.point, e.loc));
        all_facts.push(FunctionFacts {
            func: i as u32,
            entries,
        });
    }
    // What the validator and the runtime would refuse as metadata (counts
    // past their caps, ...) is refused here already, as a resource limit.
    pcc::meta_check::check_metadata(&meta, text.len())
        .map_err(|e| CompileError::Unsupported(format!("module exceeds a limit: {e}")))?;
    Ok(Artifact {
        meta,
        text,
        facts: all_facts,
    })
}

/// The loop headers of one function's code, as offsets from its start: the
/// targets of branches at or after them, the validator's definition.
fn loop_headers(code: &[u8], base: u32) -> std::collections::HashSet<u32> {
    let mut out = std::collections::HashSet::new();
    let mut d = iced_x86::Decoder::with_ip(64, code, base as u64, iced_x86::DecoderOptions::NONE);
    for insn in &mut d {
        if insn.op0_kind() == iced_x86::OpKind::NearBranch64
            && insn.mnemonic() != iced_x86::Mnemonic::Call
        {
            let t = insn.near_branch_target();
            if (base as u64..=insn.ip()).contains(&t) {
                out.insert((t - base as u64) as u32);
            }
        }
    }
    out
}
