//! The generator: wasm-smith, configured for what pccc supports —
//! WebAssembly 2.0 without SIMD — and made to terminate.

use arbitrary::Unstructured;
use wasm_smith::{Config, Module};

/// Proposals, each on for what pccc supports and off for the rest.
type Flag = fn(&mut Config) -> &mut bool;
pub const FEATURES: &[(&str, Flag, bool)] = &[
    ("multi-value", |c| &mut c.multi_value_enabled, true),
    ("bulk-memory", |c| &mut c.bulk_memory_enabled, true),
    ("reference-types", |c| &mut c.reference_types_enabled, true),
    (
        "sign-extension",
        |c| &mut c.sign_extension_ops_enabled,
        true,
    ),
    (
        "saturating-float-to-int",
        |c| &mut c.saturating_float_to_int_enabled,
        true,
    ),
    ("simd", |c| &mut c.simd_enabled, false),
    ("relaxed-simd", |c| &mut c.relaxed_simd_enabled, false),
    ("threads", |c| &mut c.threads_enabled, false),
    ("exceptions", |c| &mut c.exceptions_enabled, false),
    ("gc", |c| &mut c.gc_enabled, false),
    ("memory64", |c| &mut c.memory64_enabled, false),
    ("tail-call", |c| &mut c.tail_call_enabled, false),
    ("extended-const", |c| &mut c.extended_const_enabled, false),
    ("wide-arithmetic", |c| &mut c.wide_arithmetic_enabled, false),
    (
        "custom-page-sizes",
        |c| &mut c.custom_page_sizes_enabled,
        false,
    ),
    ("compact-imports", |c| &mut c.compact_imports_enabled, false),
    // Every memory and table gets a maximum: growth is then decided by the
    // module alone (the spec lets an engine refuse growth past a limit of
    // its own, so without a maximum the two engines may differ and both be
    // right), and it stays inside the bounds-checked reservation (256 MiB).
    (
        "memory-max-required",
        |c| &mut c.memory_max_size_required,
        true,
    ),
    (
        "table-max-required",
        |c| &mut c.table_max_size_required,
        true,
    ),
    // Export every function, global, table and memory: more to call.
    ("export-everything", |c| &mut c.export_everything, true),
];

/// Size limits: small modules, so that a run covers many of them.
type Limit = fn(&mut Config) -> &mut usize;
pub const LIMITS: &[(&str, Limit, usize)] = &[
    ("max-memories", |c| &mut c.max_memories, 1),
    ("max-tables", |c| &mut c.max_tables, 3),
    ("min-funcs", |c| &mut c.min_funcs, 1),
    ("max-funcs", |c| &mut c.max_funcs, 12),
    ("max-types", |c| &mut c.max_types, 12),
    ("max-globals", |c| &mut c.max_globals, 12),
    ("max-instructions", |c| &mut c.max_instructions, 120),
    ("max-data-segments", |c| &mut c.max_data_segments, 6),
    ("max-element-segments", |c| &mut c.max_element_segments, 6),
    ("max-elements", |c| &mut c.max_elements, 20),
    ("max-nesting-depth", |c| &mut c.max_nesting_depth, 8),
    ("max-exports", |c| &mut c.max_exports, 24),
];

/// The largest memory a module declares (min and max): 64 pages.
pub const MAX_MEMORY_BYTES: u64 = 64 << 16;
/// The largest table maximum.
pub const MAX_TABLE_ELEMENTS: u64 = 1000;
/// Loop iterations plus calls one invocation may make (wasm-smith's
/// `ensure_termination` counts them in a global and traps at zero).
pub const TERMINATION_FUEL: u32 = 600;
/// Random bytes wasm-smith draws from for one module.
pub const ENTROPY_BYTES: usize = 6 * 1024;

/// The per-module choices the seed rotates through, so every run covers
/// each combination evenly.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    /// Import only what the runtime's `spectest` linker (and the
    /// reference's copy of it) provides; otherwise no imports.
    pub spectest_imports: bool,
    /// wasm-smith's NaN canonicalisation: every float result is made
    /// canonical, so float results are compared bit for bit; otherwise any
    /// NaN matches any NaN.
    pub canonical_nans: bool,
}

pub const VARIANTS: [Variant; 4] = [
    Variant {
        spectest_imports: false,
        canonical_nans: false,
    },
    Variant {
        spectest_imports: false,
        canonical_nans: true,
    },
    Variant {
        spectest_imports: true,
        canonical_nans: false,
    },
    Variant {
        spectest_imports: true,
        canonical_nans: true,
    },
];

/// Everything the `spectest` linker of the runtime defines (see
/// `runtime::Linker::with_spectest`), as the imports wasm-smith may use.
pub const SPECTEST_WAT: &str = r#"(module
  (import "spectest" "print" (func))
  (import "spectest" "print_i32" (func (param i32)))
  (import "spectest" "print_i64" (func (param i64)))
  (import "spectest" "print_f32" (func (param f32)))
  (import "spectest" "print_f64" (func (param f64)))
  (import "spectest" "print_i32_f32" (func (param i32 f32)))
  (import "spectest" "print_f64_f64" (func (param f64 f64)))
  (import "spectest" "global_i32" (global i32))
  (import "spectest" "global_i64" (global i64))
  (import "spectest" "global_f32" (global f32))
  (import "spectest" "global_f64" (global f64))
  (import "spectest" "table" (table 10 20 funcref))
  (import "spectest" "memory" (memory 1 2)))"#;

pub fn config(variant: Variant) -> Config {
    let mut c = Config::default();
    for (_, flag, on) in FEATURES {
        *flag(&mut c) = *on;
    }
    for (_, limit, n) in LIMITS {
        *limit(&mut c) = *n;
    }
    c.max_memory32_bytes = MAX_MEMORY_BYTES;
    c.max_table_elements = MAX_TABLE_ELEMENTS;
    // Static offsets: 80% inside the initial memory, 12% inside its
    // maximum, 8% past it (wasm-smith's default is 90/9/1): the
    // offsets past the memory are the ones a bounds check must fold.
    c.memory_offset_choices = wasm_smith::MemoryOffsetChoices(80, 12, 8);
    c.canonicalize_nans = variant.canonical_nans;
    if variant.spectest_imports {
        c.available_imports = Some(wat::parse_str(SPECTEST_WAT).expect("spectest imports"));
    } else {
        c.max_imports = 0;
    }
    c
}

/// splitmix64: the one random source, so a (seed, index) pair names a module.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xa076_1d64_78bd_642f));
        r.next();
        r
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Module `index` of the run seeded `seed`, and its variant.
pub fn module(seed: u64, index: u64) -> Result<(Vec<u8>, Variant), String> {
    module_with(seed, index, false)
}

/// The same, with exception handling and tail calls on when `exceptions`
/// (modules wasmi cannot run: see `Mode::Exceptions`).
pub fn module_with(seed: u64, index: u64, exceptions: bool) -> Result<(Vec<u8>, Variant), String> {
    let variant = VARIANTS[(index % VARIANTS.len() as u64) as usize];
    let mut rng = Rng::new(seed, index);
    let bytes: Vec<u8> = (0..ENTROPY_BYTES).map(|_| rng.next() as u8).collect();
    let mut u = Unstructured::new(&bytes);
    let mut c = config(variant);
    if exceptions {
        c.exceptions_enabled = true;
        c.tail_call_enabled = true;
        // wasm-smith throws only tags the module has.
        c.min_tags = 1;
        c.max_tags = 4;
    }
    let mut m = Module::new(c, &mut u).map_err(|e| e.to_string())?;
    m.ensure_termination(TERMINATION_FUEL)
        .map_err(|e| e.to_string())?;
    Ok((m.to_bytes(), variant))
}
