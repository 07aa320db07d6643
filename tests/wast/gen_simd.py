#!/usr/bin/env python3
"""Writes simd.wast: the v128 operators pccc lowers (loads, stores,
constants, bitwise logic, lane add and sub, select, locals, block and loop
values, and values spilled across calls), with expected results computed
here from the Wasm semantics, independently of pccc. The functions take
and return i64s (v128 does not cross calls yet): operands go through
memory, results come back one 64-bit half at a time. Run from the
repository root: python3 tests/wast/gen_simd.py"""

M64 = (1 << 64) - 1


def signed(v, bits=64):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def lanes(v, w):
    return [(v >> (w * k)) & ((1 << w) - 1) for k in range(128 // w)]


def join(ls, w):
    return sum((x & ((1 << w) - 1)) << (w * k) for k, x in enumerate(ls))


def lanewise(f, w):
    return lambda a, b: join([f(x, y) for x, y in zip(lanes(a, w), lanes(b, w))], w)


M128 = (1 << 128) - 1
OPS = {
    "v128.and": lambda a, b: a & b,
    "v128.or": lambda a, b: a | b,
    "v128.xor": lambda a, b: a ^ b,
    "v128.andnot": lambda a, b: a & ~b & M128,
}


def clamp(x, lo, hi):
    return max(lo, min(hi, x))


def slanes(v, w):
    return [signed(x, w) for x in lanes(v, w)]


def signed_lanewise(f, w):
    return lambda a, b: join([f(x, y) for x, y in zip(slanes(a, w), slanes(b, w))], w)


def narrow(w, lo, hi):
    """Both operands' w-bit signed lanes saturated to [lo, hi], a's first."""
    return lambda a, b: join([clamp(x, lo, hi) for x in slanes(a, w) + slanes(b, w)], w // 2)


def dot(a, b):
    x, y = slanes(a, 16), slanes(b, 16)
    return join([x[2 * i] * y[2 * i] + x[2 * i + 1] * y[2 * i + 1] for i in range(4)], 32)


ones = lambda w: (1 << w) - 1
for shape, w in (("i8x16", 8), ("i16x8", 16), ("i32x4", 32), ("i64x2", 64)):
    smin, smax = -(1 << (w - 1)), (1 << (w - 1)) - 1
    OPS[f"{shape}.add"] = lanewise(lambda x, y: x + y, w)
    OPS[f"{shape}.sub"] = lanewise(lambda x, y: x - y, w)
    OPS[f"{shape}.eq"] = lanewise(lambda x, y, w=w: ones(w) if x == y else 0, w)
    if w == 64:
        continue
    OPS[f"{shape}.gt_s"] = signed_lanewise(lambda x, y, w=w: ones(w) if x > y else 0, w)
    OPS[f"{shape}.lt_s"] = signed_lanewise(lambda x, y, w=w: ones(w) if x < y else 0, w)
    OPS[f"{shape}.min_s"] = signed_lanewise(min, w)
    OPS[f"{shape}.max_s"] = signed_lanewise(max, w)
    OPS[f"{shape}.min_u"] = lanewise(min, w)
    OPS[f"{shape}.max_u"] = lanewise(max, w)
    if w == 32:
        continue
    OPS[f"{shape}.add_sat_s"] = signed_lanewise(lambda x, y, a=smin, b=smax: clamp(x + y, a, b), w)
    OPS[f"{shape}.sub_sat_s"] = signed_lanewise(lambda x, y, a=smin, b=smax: clamp(x - y, a, b), w)
    OPS[f"{shape}.add_sat_u"] = lanewise(lambda x, y, w=w: min(x + y, ones(w)), w)
    OPS[f"{shape}.sub_sat_u"] = lanewise(lambda x, y: max(x - y, 0), w)
    OPS[f"{shape}.avgr_u"] = lanewise(lambda x, y: (x + y + 1) >> 1, w)
for shape, w in (("i8x16", 8), ("i16x8", 16), ("i32x4", 32), ("i64x2", 64)):
    OPS[f"{shape}.ne"] = lanewise(lambda x, y, w=w: ones(w) if x != y else 0, w)
    if w == 64:
        continue
    OPS[f"{shape}.ge_s"] = signed_lanewise(lambda x, y, w=w: ones(w) if x >= y else 0, w)
    OPS[f"{shape}.le_s"] = signed_lanewise(lambda x, y, w=w: ones(w) if x <= y else 0, w)
    OPS[f"{shape}.gt_u"] = lanewise(lambda x, y, w=w: ones(w) if x > y else 0, w)
    OPS[f"{shape}.lt_u"] = lanewise(lambda x, y, w=w: ones(w) if x < y else 0, w)
    OPS[f"{shape}.ge_u"] = lanewise(lambda x, y, w=w: ones(w) if x >= y else 0, w)
    OPS[f"{shape}.le_u"] = lanewise(lambda x, y, w=w: ones(w) if x <= y else 0, w)
OPS["i64x2.mul"] = lanewise(lambda x, y: x * y, 64)
OPS["i16x8.mul"] = lanewise(lambda x, y: x * y, 16)
OPS["i32x4.mul"] = lanewise(lambda x, y: x * y, 32)
OPS["i8x16.narrow_i16x8_s"] = narrow(16, -128, 127)
OPS["i8x16.narrow_i16x8_u"] = narrow(16, 0, 255)
OPS["i16x8.narrow_i32x4_s"] = narrow(32, -(1 << 15), (1 << 15) - 1)
OPS["i16x8.narrow_i32x4_u"] = narrow(32, 0, (1 << 16) - 1)
OPS["i32x4.dot_i16x8_s"] = dot


def extmul(src_w, high, sgn):
    def f(a, b):
        x, y = ((slanes if sgn else lanes)(v, src_w) for v in (a, b))
        n = len(x) // 2
        k = range(n, 2 * n) if high else range(n)
        return join([x[i] * y[i] for i in k], 2 * src_w)
    return f


def q15mulr(a, b):
    return join([clamp((x * y + (1 << 14)) >> 15, -(1 << 15), (1 << 15) - 1)
                 for x, y in zip(slanes(a, 16), slanes(b, 16))], 16)


# Operators added later, also on lanes at the signed boundaries (i16 0x8000
# times itself, i64 INT_MIN against INT_MAX: where a subtraction overflows).
NEW_OPS = {}
for dst, src, w in (("i16x8", "i8x16", 8), ("i32x4", "i16x8", 16), ("i64x2", "i32x4", 32)):
    for half in ("low", "high"):
        for sx in ("s", "u"):
            NEW_OPS[f"{dst}.extmul_{half}_{src}_{sx}"] = extmul(w, half == "high", sx == "s")
NEW_OPS["i16x8.q15mulr_sat_s"] = q15mulr
for cc, f in (("lt_s", lambda x, y: x < y), ("gt_s", lambda x, y: x > y),
              ("le_s", lambda x, y: x <= y), ("ge_s", lambda x, y: x >= y)):
    NEW_OPS[f"i64x2.{cc}"] = signed_lanewise(lambda x, y, f=f: ones(64) if f(x, y) else 0, 64)
OPS.update(NEW_OPS)

# Floats, on lanes that produce no NaN (x86's default NaN and Wasm's
# canonical one differ in sign, and a NaN result's payload is free in Wasm).
import math
import struct


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def f32_bits(x):
    try:
        return struct.unpack("<I", struct.pack("<f", x))[0]
    except OverflowError:
        return 0x7F800000 if x > 0 else 0xFF800000


def f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def float_lanewise(f, w):
    unpack, pack = (f32, f32_bits) if w == 32 else (f64, f64_bits)
    return lambda a, b: join([pack(f(unpack(x), unpack(y))) for x, y in zip(lanes(a, w), lanes(b, w))], w)


FOPS = {}
for shape, w in (("f32x4", 32), ("f64x2", 64)):
    FOPS[f"{shape}.add"] = float_lanewise(lambda x, y: x + y, w)
    FOPS[f"{shape}.sub"] = float_lanewise(lambda x, y: x - y, w)
    FOPS[f"{shape}.mul"] = float_lanewise(lambda x, y: x * y, w)
    FOPS[f"{shape}.div"] = float_lanewise(lambda x, y: x / y, w)
import operator
CMP = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
for shape, w in (("f32x4", 32), ("f64x2", 64)):
    unpack = f32 if w == 32 else f64
    for cc, f in CMP.items():
        FOPS[f"{shape}.{cc}"] = lambda a, b, w=w, f=f, unpack=unpack: join(
            [ones(w) if f(unpack(x), unpack(y)) else 0 for x, y in zip(lanes(a, w), lanes(b, w))], w)
F32S = [1.5, -2.25, 3.0e38, 1e-38, 0.1, -7.0, 1024.0, 1e10]
F64S = [1.5, -2.25, 1.7e308, 1e-300, 0.1, -7.0, 5e-324, 3.0]
FVALUES = [
    join([f32_bits(x) for x in F32S[:4]], 32),
    join([f32_bits(x) for x in F32S[4:]], 32),
    join([f32_bits(x) for x in F32S[2:6]], 32),
    join([f64_bits(x) for x in F64S[:2]], 64),
    join([f64_bits(x) for x in F64S[2:4]], 64),
    join([f64_bits(x) for x in F64S[4:6]], 64),
    join([f64_bits(x) for x in F64S[6:]], 64),
]
# Compares also see NaN, equal lanes and signed zeros (arithmetic does not:
# a NaN result's sign and payload are free in Wasm).
F32_CMP = FVALUES[:3] + [join([0x7FC00000, f32_bits(1.5), 0x80000000, f32_bits(0.1)], 32)]
F64_CMP = FVALUES[3:] + [join([0x7FF8000000000000, 0x8000000000000000], 64)]

VALUES = [
    0,
    M128,
    1,
    (1 << 127) | 1,
    0x0123456789ABCDEF_FEDCBA9876543210,
    0x80808080_80808080_7F7F7F7F_7F7F7F7F,
    0xFFFFFFFF_00000000_FFFFFFFF_00000001,
    0x00010002_00030004_FFFEFFFD_8000FFFF,
    0xDEADBEEF_CAFEBABE_0BADF00D_FEEDFACE,
]


def i64(v):
    return f"(i64.const {signed(v)})"


def halves(v):
    return v & M64, v >> 64


LOAD2 = ("    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1))\n")


out = [";; Generated by tests/wast/gen_simd.py: do not edit by hand.", ""]

# Binary operators: a at 0, b at 16, the result stored at 32.
funcs = []
for name in list(OPS) + list(FOPS):
    funcs.append(
        f'  (func (export "{name}") (param i64 i64 i64 i64 i32) (result i64)\n'
        "    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1))\n"
        "    (i64.store (i32.const 16) (local.get 2)) (i64.store (i32.const 24) (local.get 3))\n"
        f"    (v128.store (i32.const 32) ({name} (v128.load (i32.const 0)) (v128.load (i32.const 16))))\n"
        "    (i64.load offset=32 (i32.shl (local.get 4) (i32.const 3))))"
    )
funcs.append(
    '  (func (export "v128.not") (param i64 i64 i32) (result i64)\n'
    "    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1))\n"
    "    (v128.store (i32.const 32) (v128.not (v128.load (i32.const 0))))\n"
    "    (i64.load offset=32 (i32.shl (local.get 2) (i32.const 3))))"
)
out.append("(module (memory 1)\n" + "\n".join(funcs) + ")")


def binary_asserts(name, f, vals):
    """Every pair of vals through `name`, each result half by half."""
    for a in vals:
        for b in vals:
            r = f(a, b) & M128
            for half in (0, 1):
                args = " ".join(i64(x) for x in (*halves(a), *halves(b)))
                out.append(
                    f'(assert_return (invoke "{name}" {args} (i32.const {half})) {i64(halves(r)[half])})'
                )


EXTRA = [
    join([0x8000, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 1, 0x4000, 0xC000], 16),
    join([0x8000, 0x8000, 0x7FFF, 0x7FFF, 0x8000, 0xFFFF, 0xC000, 0x4000], 16),
    join([1 << 63, (1 << 63) - 1], 64),
    join([(1 << 63) - 1, 1 << 63], 64),
    join([0xFF, 0x80, 0x7F, 0x01, 0xFE, 0x81, 0x00, 0x80, 0x80, 0xFF, 0x7F, 0x7F, 0x80, 0x01, 0xFF, 0x00], 8),
    join([0x80000000, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000], 32),
]
for name, f in OPS.items():
    binary_asserts(name, f, VALUES + EXTRA if name in NEW_OPS else VALUES)
for name, f in FOPS.items():
    is_cmp = name.split(".")[1] in CMP
    if name.startswith("f32"):
        binary_asserts(name, f, F32_CMP if is_cmp else FVALUES[:3])
    else:
        binary_asserts(name, f, F64_CMP if is_cmp else FVALUES[3:])

# Float min, max, pmin, pmax, with NaN, signed zeros and infinities. A NaN
# result of min/max is any NaN of either sign, canonical when the NaN
# operands are (so its bits but the sign are checked), else any quiet NaN
# (its exponent and quiet bit checked): the function ands the result with a
# mask the assertion gives, all ones in the other lanes.
def fminmax(is_max, w):
    unpack = f32 if w == 32 else f64
    # The canonical NaN (positive): exponent all ones, the quiet bit only.
    canon = 0x7FC00000 if w == 32 else 0x7FF8000000000000

    def lane(x, y):
        fx, fy = unpack(x), unpack(y)
        if fx != fx or fy != fy:
            nans = [v for v, fv in ((x, fx), (y, fy)) if fv != fv]
            if all(v & ones(w - 1) == canon for v in nans):
                return canon, ones(w - 1)  # a canonical NaN, sign free
            return canon, canon  # an arithmetic NaN: exponent and quiet bit
        if fx == fy == 0:
            # min(-0, +0) = -0, max(-0, +0) = +0.
            sign = (x | y) if not is_max else (x & y)
            return sign & (1 << (w - 1)), ones(w)
        r = max(fx, fy) if is_max else min(fx, fy)
        return (x if r == fx else y), ones(w)
    return lane


def fpminmax(is_max, w):
    unpack = f32 if w == 32 else f64

    def lane(x, y):
        fx, fy = unpack(x), unpack(y)
        # pmin: y < x ? y : x; pmax: x < y ? y : x (bits as they are).
        pick_y = (fx < fy) if is_max else (fy < fx)
        return (y if pick_y else x), ones(w)
    return lane


MINMAX = {}
for shape, w in (("f32x4", 32), ("f64x2", 64)):
    MINMAX[f"{shape}.min"] = fminmax(False, w), w
    MINMAX[f"{shape}.max"] = fminmax(True, w), w
    MINMAX[f"{shape}.pmin"] = fpminmax(False, w), w
    MINMAX[f"{shape}.pmax"] = fpminmax(True, w), w
F32_MM = [0x7FC00000, 0xFFC00000, 0x7FC12345, 0x7FA00000, 0x00000000, 0x80000000, 0x7F800000, 0xFF800000,
          f32_bits(1.5), f32_bits(-2.25), f32_bits(1e-40), f32_bits(-3e38)]
F64_MM = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000012345, 0x7FF4000000000000, 0, 1 << 63,
          0x7FF0000000000000, 0xFFF0000000000000, f64_bits(1.5), f64_bits(-2.25), 1, f64_bits(-1.7e308)]
mm_funcs = []
mm_asserts = []
for name, (f, w) in MINMAX.items():
    mm_funcs.append(
        f'  (func (export "{name}") (param i64 i64 i64 i64 i64 i64 i32) (result i64)\n'
        "    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1))\n"
        "    (i64.store (i32.const 16) (local.get 2)) (i64.store (i32.const 24) (local.get 3))\n"
        "    (i64.store (i32.const 48) (local.get 4)) (i64.store (i32.const 56) (local.get 5))\n"
        f"    (v128.store (i32.const 32) (v128.and (v128.load (i32.const 48)) ({name} (v128.load (i32.const 0)) (v128.load (i32.const 16)))))\n"
        "    (i64.load offset=32 (i32.shl (local.get 6) (i32.const 3))))"
    )
    scalars = F32_MM if w == 32 else F64_MM
    n = 128 // w
    # Every ordered pair of the scalars, n lanes at a time.
    pairs = [(x, y) for x in scalars for y in scalars]
    for k in range(0, len(pairs), n):
        chunk = pairs[k:k + n]
        a = join([x for x, _ in chunk], w)
        b = join([y for _, y in chunk], w)
        res = [f(x, y) for x, y in chunk]
        r = join([v for v, _ in res], w)
        m = join([mk for _, mk in res], w)
        for half in (0, 1):
            args = " ".join(i64(x) for x in (*halves(a), *halves(b), *halves(m)))
            mm_asserts.append(f'(assert_return (invoke "{name}" {args} (i32.const {half})) {i64(halves(r & m)[half])})')
for a in VALUES:
    for half in (0, 1):
        out.append(
            f'(assert_return (invoke "v128.not" {" ".join(i64(x) for x in halves(a))} (i32.const {half})) {i64(halves(~a & M128)[half])})'
        )
# The same vector as both operands (one register for both inputs of a
# two-address sequence).
for name, (f, w) in MINMAX.items():
    mm_funcs.append(
        f'  (func (export "{name} same") (param i64 i64 i64 i64 i32) (result i64)\n'
        "    (local v128)\n"
        "    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1))\n"
        "    (i64.store (i32.const 48) (local.get 2)) (i64.store (i32.const 56) (local.get 3))\n"
        "    (local.set 5 (v128.load (i32.const 0)))\n"
        f"    (v128.store (i32.const 32) (v128.and (v128.load (i32.const 48)) ({name} (local.get 5) (local.get 5))))\n"
        "    (i64.load offset=32 (i32.shl (local.get 4) (i32.const 3))))"
    )
    scalars = F32_MM if w == 32 else F64_MM
    n = 128 // w
    for k in range(0, len(scalars), n):
        a = join(scalars[k:k + n], w)
        res = [f(x, x) for x in scalars[k:k + n]]
        r, m = join([v for v, _ in res], w), join([mk for _, mk in res], w)
        for half in (0, 1):
            args = " ".join(i64(x) for x in (*halves(a), *halves(m)))
            mm_asserts.append(f'(assert_return (invoke "{name} same" {args} (i32.const {half})) {i64(halves(r & m)[half])})')
for name, f in NEW_OPS.items():
    mm_funcs.append(
        f'  (func (export "{name} same") (param i64 i64 i32) (result i64)\n'
        "    (local v128)\n" + LOAD2 +
        "    (local.set 3 (v128.load (i32.const 0)))\n"
        f"    (v128.store (i32.const 32) ({name} (local.get 3) (local.get 3)))\n"
        "    (i64.load offset=32 (i32.shl (local.get 2) (i32.const 3))))"
    )
    for a in VALUES + EXTRA:
        r = f(a, a) & M128
        for half in (0, 1):
            mm_asserts.append(f'(assert_return (invoke "{name} same" {" ".join(i64(h) for h in halves(a))} (i32.const {half})) {i64(halves(r)[half])})')
out.append("(module (memory 1)\n" + "\n".join(mm_funcs) + ")")
out.extend(mm_asserts)
out.append("")

# Lanes: splat, extract_lane (signed and unsigned), replace_lane, shuffle
# and swizzle. Vectors come in as two i64 halves, go out the same way (or
# as the extracted scalar).
SHAPES = [("i8x16", 8, "i32"), ("i16x8", 16, "i32"), ("i32x4", 32, "i32"), ("i64x2", 64, "i64"),
          ("f32x4", 32, "f32"), ("f64x2", 64, "f64")]


def const(ty, bits):
    if ty == "f32":
        return f"(f32.const {f32(bits).hex()})"
    if ty == "f64":
        return f"(f64.const {f64(bits).hex()})"
    w = 32 if ty == "i32" else 64
    return f"({ty}.const {signed(bits, w)})"


def lanes_of(shape):
    return 128 // dict((n, w) for n, w, _ in SHAPES)[shape]


funcs = []
asserts = []
INT_VECTORS = VALUES[2:7]
for shape, w, ty in SHAPES:
    n = 128 // w
    funcs.append(
        f'  (func (export "{shape}.splat") (param {ty} i32) (result i64)\n'
        f"    (v128.store (i32.const 32) ({shape}.splat (local.get 0)))\n"
        "    (i64.load offset=32 (i32.shl (local.get 1) (i32.const 3))))"
    )
    scalars = [lanes(v, w)[0] for v in (FVALUES if ty[0] == "f" else INT_VECTORS)]
    if ty[0] == "f":
        scalars = [lanes(v, w)[k] for v in (FVALUES[:3] if w == 32 else FVALUES[3:]) for k in range(n)]
    for x in scalars:
        v = join([x] * n, w)
        for half in (0, 1):
            asserts.append(f'(assert_return (invoke "{shape}.splat" {const(ty, x)} (i32.const {half})) {i64(halves(v)[half])})')
    for lane in sorted({0, n // 2 - 1, n - 1}):
        for sx in (["_s", "_u"] if w < 32 else [""]):
            name = f"{shape}.extract_lane{sx} {lane}"
            funcs.append(
                f'  (func (export "{name}") (param i64 i64) (result {ty})\n' + LOAD2 +
                f"    ({shape}.extract_lane{sx} {lane} (v128.load (i32.const 0))))"
            )
            vecs = INT_VECTORS if ty[0] != "f" else (FVALUES[:3] if w == 32 else FVALUES[3:])
            for v in vecs:
                x = lanes(v, w)[lane]
                if sx == "_s":
                    x = signed(x, w) & 0xFFFFFFFF
                asserts.append(f'(assert_return (invoke "{name}" {" ".join(i64(h) for h in halves(v))}) {const(ty, x)})')
        name = f"{shape}.replace_lane {lane}"
        funcs.append(
            f'  (func (export "{name}") (param i64 i64 {ty} i32) (result i64)\n' + LOAD2 +
            f"    (v128.store (i32.const 32) ({shape}.replace_lane {lane} (v128.load (i32.const 0)) (local.get 2)))\n"
            "    (i64.load offset=32 (i32.shl (local.get 3) (i32.const 3))))"
        )
        vecs = INT_VECTORS[:3] if ty[0] != "f" else (FVALUES[:2] if w == 32 else FVALUES[3:5])
        for v in vecs:
            for x in scalars[:3]:
                ls = lanes(v, w)
                ls[lane] = x & ((1 << w) - 1)
                r = join(ls, w)
                for half in (0, 1):
                    asserts.append(
                        f'(assert_return (invoke "{name}" {" ".join(i64(h) for h in halves(v))} {const(ty, x)} (i32.const {half})) {i64(halves(r)[half])})'
                    )

SHUFFLES = [
    list(range(16)),
    list(range(16, 32)),
    list(range(15, -1, -1)),
    [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23],
    [31, 0, 30, 1, 29, 2, 28, 3, 27, 4, 26, 5, 25, 6, 24, 7],
    [5] * 16,
    [20] * 8 + [3] * 8,
]
for k, sh in enumerate(SHUFFLES):
    funcs.append(
        f'  (func (export "shuffle {k}") (param i64 i64 i64 i64 i32) (result i64)\n'
        "    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1))\n"
        "    (i64.store (i32.const 16) (local.get 2)) (i64.store (i32.const 24) (local.get 3))\n"
        f"    (v128.store (i32.const 32) (i8x16.shuffle {' '.join(map(str, sh))} (v128.load (i32.const 0)) (v128.load (i32.const 16))))\n"
        "    (i64.load offset=32 (i32.shl (local.get 4) (i32.const 3))))"
    )
    for a, b in ((VALUES[4], VALUES[8]), (VALUES[7], VALUES[5])):
        ab = lanes(a, 8) + lanes(b, 8)
        r = join([ab[l] for l in sh], 8)
        for half in (0, 1):
            args = " ".join(i64(x) for x in (*halves(a), *halves(b)))
            asserts.append(f'(assert_return (invoke "shuffle {k}" {args} (i32.const {half})) {i64(halves(r)[half])})')
SWIZZLE_INDEXES = [
    join(list(range(15, -1, -1)), 8),
    join([0, 16, 17, 0x70, 0x7F, 0x80, 0xFF, 15, 1, 2, 31, 32, 0x8F, 14, 13, 12], 8),
]
for a in (VALUES[4], VALUES[8]):
    for ix in SWIZZLE_INDEXES:
        r = join([lanes(a, 8)[i] if i < 16 else 0 for i in lanes(ix, 8)], 8)
        for half in (0, 1):
            args = " ".join(i64(x) for x in (*halves(a), *halves(ix)))
            asserts.append(f'(assert_return (invoke "i8x16.swizzle" {args} (i32.const {half})) {i64(halves(r)[half])})')
funcs.append(
    '  (func (export "i8x16.swizzle") (param i64 i64 i64 i64 i32) (result i64)\n'
    "    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1))\n"
    "    (i64.store (i32.const 16) (local.get 2)) (i64.store (i32.const 24) (local.get 3))\n"
    "    (v128.store (i32.const 32) (i8x16.swizzle (v128.load (i32.const 0)) (v128.load (i32.const 16))))\n"
    "    (i64.load offset=32 (i32.shl (local.get 4) (i32.const 3))))"
)
out.append("(module (memory 1)\n" + "\n".join(funcs) + ")")
out.extend(asserts)
out.append("")

# One-operand operators (negation, absolute values, widening) and
# bitselect.


def extend(src_w, high, sgn):
    def f(a):
        ls = (slanes if sgn else lanes)(a, src_w)
        n = len(ls) // 2
        return join(ls[n:] if high else ls[:n], 2 * src_w)
    return f


UNOPS = {}
for shape, w in (("i8x16", 8), ("i16x8", 16), ("i32x4", 32), ("i64x2", 64)):
    UNOPS[f"{shape}.neg"] = lambda a, w=w: join([-x for x in lanes(a, w)], w)
    if w < 64:
        UNOPS[f"{shape}.abs"] = lambda a, w=w: join([abs(x) for x in slanes(a, w)], w)
for dst, src, w in (("i16x8", "i8x16", 8), ("i32x4", "i16x8", 16), ("i64x2", "i32x4", 32)):
    for half in ("low", "high"):
        for sx in ("s", "u"):
            UNOPS[f"{dst}.extend_{half}_{src}_{sx}"] = extend(w, half == "high", sx == "s")
def fround(f, w):
    unpack, pack = (f32, f32_bits) if w == 32 else (f64, f64_bits)
    return lambda a: join([pack(f(unpack(x))) for x in lanes(a, w)], w)


def nearest(x):
    if math.isinf(x) or x != x:
        return x
    r = round(x)  # Python rounds half to even, as roundps mode 0
    return math.copysign(float(r), x)


FUNOPS = {}
for shape, w in (("f32x4", 32), ("f64x2", 64)):
    FUNOPS[f"{shape}.nearest"] = fround(nearest, w)
    FUNOPS[f"{shape}.floor"] = fround(lambda x: x if math.isinf(x) else math.copysign(float(math.floor(x)), x), w)
    FUNOPS[f"{shape}.ceil"] = fround(lambda x: x if math.isinf(x) else math.copysign(float(math.ceil(x)), x), w)
    FUNOPS[f"{shape}.trunc"] = fround(lambda x: x if math.isinf(x) else math.copysign(float(math.trunc(x)), x), w)
    FUNOPS[f"{shape}.sqrt"] = fround(lambda x: math.sqrt(x) if x >= 0 else None, w)
def trunc_sat_s(bits):
    x = f32(bits)
    if x != x:
        return 0
    if math.isinf(x):
        return (1 << 31) - 1 if x > 0 else -(1 << 31)
    return clamp(math.trunc(x), -(1 << 31), (1 << 31) - 1)


FUNOPS["i32x4.trunc_sat_f32x4_s"] = lambda a: join([trunc_sat_s(x) for x in lanes(a, 32)], 32)


def trunc_sat(x, lo, hi):
    if x != x:
        return 0
    if math.isinf(x):
        return hi if x > 0 else lo
    return clamp(math.trunc(x), lo, hi)


FUNOPS["i32x4.trunc_sat_f32x4_u"] = lambda a: join([trunc_sat(f32(x), 0, ones(32)) for x in lanes(a, 32)], 32)
FUNOPS["i32x4.trunc_sat_f64x2_s_zero"] = lambda a: join(
    [trunc_sat(f64(x), -(1 << 31), (1 << 31) - 1) for x in lanes(a, 64)] + [0, 0], 32)
FUNOPS["i32x4.trunc_sat_f64x2_u_zero"] = lambda a: join(
    [trunc_sat(f64(x), 0, ones(32)) for x in lanes(a, 64)] + [0, 0], 32)
FUNOPS["f64x2.convert_low_i32x4_u"] = lambda a: join([f64_bits(float(x)) for x in lanes(a, 32)[:2]], 64)
FUNOPS["f32x4.convert_i32x4_u"] = lambda a: join([f32_bits(float(x)) for x in lanes(a, 32)], 32)
FUNOPS["f32x4.convert_i32x4_s"] = lambda a: join([f32_bits(float(x)) for x in slanes(a, 32)], 32)
FUNOPS["f64x2.convert_low_i32x4_s"] = lambda a: join([f64_bits(float(x)) for x in slanes(a, 32)[:2]], 64)
FUNOPS["f64x2.promote_low_f32x4"] = lambda a: join([f64_bits(f32(x)) for x in lanes(a, 32)[:2]], 64)
FUNOPS["f32x4.demote_f64x2_zero"] = lambda a: join([f32_bits(f64(x)) for x in lanes(a, 64)], 32)
UNOPS["i64x2.abs"] = lambda a: join([abs(x) for x in slanes(a, 64)], 64)
UNOPS["i8x16.popcnt"] = lambda a: join([bin(x).count("1") for x in lanes(a, 8)], 8)
for dst, src, w in (("i16x8", "i8x16", 8), ("i32x4", "i16x8", 16)):
    for sx in ("s", "u"):
        UNOPS[f"{dst}.extadd_pairwise_{src}_{sx}"] = lambda a, w=w, sx=sx: join(
            [x + y for x, y in zip(*[iter((slanes if sx == "s" else lanes)(a, w))] * 2)], 2 * w)
UNOPS["f32x4.neg"] = lambda a: a ^ join([1 << 31] * 4, 32)
UNOPS["f64x2.neg"] = lambda a: a ^ join([1 << 63] * 2, 64)
UNOPS["f32x4.abs"] = lambda a: a & join([(1 << 31) - 1] * 4, 32)
UNOPS["f64x2.abs"] = lambda a: a & join([(1 << 63) - 1] * 2, 64)
funcs, asserts = [], []
for name, f in UNOPS.items():
    funcs.append(
        f'  (func (export "{name}") (param i64 i64 i32) (result i64)\n' + LOAD2 +
        f"    (v128.store (i32.const 32) ({name} (v128.load (i32.const 0))))\n"
        "    (i64.load offset=32 (i32.shl (local.get 2) (i32.const 3))))"
    )
    for a in VALUES + EXTRA:
        r = f(a) & M128
        for half in (0, 1):
            asserts.append(f'(assert_return (invoke "{name}" {" ".join(i64(h) for h in halves(a))} (i32.const {half})) {i64(halves(r)[half])})')
for name, f in FUNOPS.items():
    funcs.append(
        f'  (func (export "{name}") (param i64 i64 i32) (result i64)\n' + LOAD2 +
        f"    (v128.store (i32.const 32) ({name} (v128.load (i32.const 0))))\n"
        "    (i64.load offset=32 (i32.shl (local.get 2) (i32.const 3))))"
    )
    if name == "i32x4.trunc_sat_f32x4_s":
        specials = [0x7FC00000, 0xFFC00000, 0x7F800000, 0xFF800000, f32_bits(3e9), f32_bits(-3e9),
                    f32_bits(2147483520.0), f32_bits(-2147483648.0), f32_bits(-0.5), f32_bits(0.99),
                    f32_bits(-1.5), f32_bits(123456.7)]
        vals = [join(specials[k:k + 4], 32) for k in range(0, 12, 4)] + FVALUES[:3]
    elif name == "i32x4.trunc_sat_f32x4_u":
        specials = [0x7FC00000, 0xFFC00000, 0x7F800000, 0xFF800000, f32_bits(3e9), f32_bits(-3e9),
                    f32_bits(4294967040.0), f32_bits(4294967296.0), f32_bits(2147483648.0), f32_bits(2147483520.0),
                    f32_bits(-0.5), f32_bits(0.99), 0x80000000, f32_bits(-1.0), f32_bits(123456.7), f32_bits(1e-40)]
        vals = [join(specials[k:k + 4], 32) for k in range(0, 16, 4)] + FVALUES[:3]
    elif name.startswith("i32x4.trunc_sat_f64x2"):
        specials = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
                    f64_bits(2147483647.0), f64_bits(2147483647.9), f64_bits(2147483648.0), f64_bits(-2147483648.0),
                    f64_bits(-2147483648.9), f64_bits(-2147483649.0), f64_bits(4294967295.0), f64_bits(4294967295.5),
                    f64_bits(4294967296.0), f64_bits(-0.9), 1 << 63, f64_bits(1e300), f64_bits(-1.5), f64_bits(3e9),
                    5, f64_bits(123456.75)]
        vals = [join(specials[k:k + 2], 64) for k in range(0, 20, 2)] + FVALUES[3:]
    elif name == "f64x2.convert_low_i32x4_u":
        specials = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x12345678, 16777217, 0xFFFFFF80]
        vals = [join(specials[k:k + 4], 32) for k in range(0, 8, 4)] + [join(specials[k + 2:k + 4] + specials[k:k + 2], 32) for k in range(0, 8, 4)] + VALUES
    elif name == "f32x4.convert_i32x4_u":
        specials = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x12345678, 16777217, 0xFFFFFF80,
                    0x80000081, 0xFFFF, 0x10000, 3]
        vals = [join(specials[k:k + 4], 32) for k in range(0, 12, 4)] + VALUES
    elif name.startswith("f32x4.convert") or name.startswith("f64x2.convert"):
        vals = VALUES
    elif name.startswith("f32x4") or name.startswith("f64x2.promote"):
        vals = FVALUES[:3] + [join([f32_bits(x) for x in (2.5, -3.5, 0.5, -0.5)], 32), join([f32_bits(x) for x in (1.5, 7e30, 1e-40, 100.25)], 32)]
    else:
        vals = FVALUES[3:] + [join([f64_bits(x) for x in (2.5, -3.5)], 64), join([f64_bits(x) for x in (0.5, -0.5)], 64)]
    for a in vals:
        try:
            r = f(a) & M128
        except (TypeError, struct.error):
            continue  # sqrt of a negative lane: NaN, whose sign Wasm leaves free
        for half in (0, 1):
            asserts.append(f'(assert_return (invoke "{name}" {" ".join(i64(h) for h in halves(a))} (i32.const {half})) {i64(halves(r)[half])})')
funcs.append(
    '  (func (export "v128.bitselect") (param i64 i64 i64 i64 i64 i64 i32) (result i64)\n'
    "    (i64.store (i32.const 0) (local.get 0)) (i64.store (i32.const 8) (local.get 1))\n"
    "    (i64.store (i32.const 16) (local.get 2)) (i64.store (i32.const 24) (local.get 3))\n"
    "    (i64.store (i32.const 32) (local.get 4)) (i64.store (i32.const 40) (local.get 5))\n"
    "    (v128.store (i32.const 64) (v128.bitselect (v128.load (i32.const 0)) (v128.load (i32.const 16)) (v128.load (i32.const 32))))\n"
    "    (i64.load offset=64 (i32.shl (local.get 6) (i32.const 3))))"
)
for a, b, m in ((VALUES[4], VALUES[8], VALUES[5]), (VALUES[1], VALUES[0], VALUES[7]), (VALUES[6], VALUES[3], VALUES[4])):
    r = (a & m) | (b & ~m & M128)
    for half in (0, 1):
        args = " ".join(i64(x) for x in (*halves(a), *halves(b), *halves(m)))
        asserts.append(f'(assert_return (invoke "v128.bitselect" {args} (i32.const {half})) {i64(halves(r)[half])})')
out.append("(module (memory 1)\n" + "\n".join(funcs) + ")")
out.extend(asserts)
out.append("")

# Reductions to an i32: any_true, all_true, bitmask, on vectors with one
# zero lane of each shape, none, and every sign bit pattern in VALUES.
REDUCE = {"v128.any_true": lambda a: int(a != 0)}
for shape, w in (("i8x16", 8), ("i16x8", 16), ("i32x4", 32), ("i64x2", 64)):
    REDUCE[f"{shape}.all_true"] = lambda a, w=w: int(all(x != 0 for x in lanes(a, w)))
    REDUCE[f"{shape}.bitmask"] = lambda a, w=w: sum((x >> (w - 1)) << k for k, x in enumerate(lanes(a, w)))
REDUCE_VALUES = VALUES + EXTRA + [
    join([1] * 16, 8),
    join([0x80] * 15 + [0], 8),
    join([0x0100] * 7 + [0x8000], 16),
    join([0xFF00] * 8, 16),
    join([1, 2, 0x80000000, 0], 32),
    join([0x100000000, 0x8000000000000000], 64),
    1 << 127,
    join([0, 1], 64),
]
funcs, asserts = [], []
for name, f in REDUCE.items():
    funcs.append(
        f'  (func (export "{name}") (param i64 i64) (result i32)\n' + LOAD2 +
        f"    ({name} (v128.load (i32.const 0))))"
    )
    for a in REDUCE_VALUES:
        asserts.append(f'(assert_return (invoke "{name}" {" ".join(i64(h) for h in halves(a))}) (i32.const {f(a)}))')
out.append("(module (memory 1)\n" + "\n".join(funcs) + ")")
out.extend(asserts)
out.append("")

# Lane shifts by a variable count and by constants, the count taken modulo
# the lane width (a count of the width or more shifts by its remainder).
funcs, asserts = [], []
SHIFTS = []
for shape, w in (("i8x16", 8), ("i16x8", 16), ("i32x4", 32), ("i64x2", 64)):
    for kind in ("shl", "shr_u", "shr_s"):
        SHIFTS.append((shape, w, kind))


def shift(kind, x, c, w):
    c %= w
    if kind == "shl":
        return x << c
    if kind == "shr_u":
        return x >> c
    return signed(x, w) >> c


COUNTS = [0, 1, 7, 15, 16, 31, 33, 63, 64, 65, -1]
for shape, w, kind in SHIFTS:
    name = f"{shape}.{kind}"
    funcs.append(
        f'  (func (export "{name}") (param i64 i64 i32 i32) (result i64)\n' + LOAD2 +
        f"    (v128.store (i32.const 32) ({name} (v128.load (i32.const 0)) (local.get 2)))\n"
        "    (i64.load offset=32 (i32.shl (local.get 3) (i32.const 3))))"
    )
    for c in (3, w + 1):
        funcs.append(
            f'  (func (export "{name} by {c}") (param i64 i64 i32) (result i64)\n' + LOAD2 +
            f"    (v128.store (i32.const 32) ({name} (v128.load (i32.const 0)) (i32.const {c})))\n"
            "    (i64.load offset=32 (i32.shl (local.get 2) (i32.const 3))))"
        )
    for v in VALUES[2:]:
        args = " ".join(i64(h) for h in halves(v))
        for c in COUNTS:
            r = join([shift(kind, x, c & 0xFFFFFFFF, w) for x in lanes(v, w)], w)
            for half in (0, 1):
                asserts.append(f'(assert_return (invoke "{name}" {args} (i32.const {c}) (i32.const {half})) {i64(halves(r)[half])})')
        for c in (3, w + 1):
            r = join([shift(kind, x, c, w) for x in lanes(v, w)], w)
            for half in (0, 1):
                asserts.append(f'(assert_return (invoke "{name} by {c}" {args} (i32.const {half})) {i64(halves(r)[half])})')
out.append("(module (memory 1)\n" + "\n".join(funcs) + ")")
out.extend(asserts)
out.append("")

# The v128 loads and stores of one lane's width: splat, zero, lane. Memory
# holds a known byte pattern at its start and its end; the accesses run at
# aligned and unaligned addresses, at the last address each width allows,
# and one byte past it (a trap: the obligation is of the lane's width).
PAGE = 65536
pattern = [(i * 37 + 11) & 0xFF for i in range(PAGE)]
START, END = pattern[:64], pattern[PAGE - 32:]


def data(off, bs):
    escaped = "".join("\\%02x" % b for b in bs)
    return f'  (data (i32.const {off}) "{escaped}")'


def mem_at(addr, n):
    return sum(pattern[addr + k] << (8 * k) for k in range(n))


funcs = [data(0, START), data(PAGE - 32, END)]
stores = []
asserts = []
store_asserts = []
VEC = VALUES[4]
for shape, w in (("8", 8), ("16", 16), ("32", 32), ("64", 64)):
    n = w // 8
    funcs.append(
        f'  (func (export "load{shape}_splat") (param i32 i32) (result i64)\n'
        f"    (v128.store (i32.const 128) (v128.load{shape}_splat (local.get 0)))\n"
        "    (i64.load offset=128 (i32.shl (local.get 1) (i32.const 3))))"
    )
    funcs.append(
        f'  (func (export "load{shape}_lane") (param i32 i32) (result i64)\n'
        f"    (v128.store (i32.const 128) (v128.load{shape}_lane 1 (local.get 0) (v128.const i64x2 {signed(VEC & M64)} {signed(VEC >> 64)})))\n"
        "    (i64.load offset=128 (i32.shl (local.get 1) (i32.const 3))))"
    )
    stores.append(
        f'  (func (export "store{shape}_lane") (param i32) (result i64)\n'
        f"    (v128.store{shape}_lane 1 (local.get 0) (v128.const i64x2 {signed(VEC & M64)} {signed(VEC >> 64)}))\n"
        f"    (i64.load{'' if w == 64 else f'{w}_u'} (local.get 0)))"
    )
    if w >= 32:
        funcs.append(
            f'  (func (export "load{shape}_zero") (param i32 i32) (result i64)\n'
            f"    (v128.store (i32.const 128) (v128.load{shape}_zero (local.get 0)))\n"
            "    (i64.load offset=128 (i32.shl (local.get 1) (i32.const 3))))"
        )
    for addr in (0, 5, 24, PAGE - n - 7, PAGE - n):
        x = mem_at(addr, n)
        splat_v = join([x] * (128 // w), w)
        ls = lanes(VEC, w)
        ls[1] = x
        lane_v = join(ls, w)
        for half in (0, 1):
            asserts.append(f'(assert_return (invoke "load{shape}_splat" (i32.const {addr}) (i32.const {half})) {i64(halves(splat_v)[half])})')
            asserts.append(f'(assert_return (invoke "load{shape}_lane" (i32.const {addr}) (i32.const {half})) {i64(halves(lane_v)[half])})')
            if w >= 32:
                asserts.append(f'(assert_return (invoke "load{shape}_zero" (i32.const {addr}) (i32.const {half})) {i64(halves(x)[half])})')
        if addr >= 128 + 16 or addr + n <= 128:
            stored = lanes(VEC, w)[1]
            store_asserts.append(f'(assert_return (invoke "store{shape}_lane" (i32.const {addr})) {i64(stored)})')
    for addr in (PAGE - n + 1, PAGE, -1):
        for f in [f"load{shape}_splat", f"load{shape}_lane"] + ([f"load{shape}_zero"] if w >= 32 else []):
            asserts.append(f'(assert_trap (invoke "{f}" (i32.const {addr}) (i32.const 0)) "out of bounds memory access")')
        store_asserts.append(f'(assert_trap (invoke "store{shape}_lane" (i32.const {addr})) "out of bounds memory access")')
# The extending loads read 8 bytes, whatever their lanes.
for name, w, sgn in (("load8x8_s", 8, True), ("load8x8_u", 8, False), ("load16x4_s", 16, True),
                     ("load16x4_u", 16, False), ("load32x2_s", 32, True), ("load32x2_u", 32, False)):
    funcs.append(
        f'  (func (export "{name}") (param i32 i32) (result i64)\n'
        f"    (v128.store (i32.const 128) (v128.{name} (local.get 0)))\n"
        "    (i64.load offset=128 (i32.shl (local.get 1) (i32.const 3))))"
    )
    for addr in (0, 5, 24, PAGE - 8 - 7, PAGE - 8):
        ls = lanes(mem_at(addr, 8), w)[:64 // w]
        v = join([signed(x, w) if sgn else x for x in ls], 2 * w)
        for half in (0, 1):
            asserts.append(f'(assert_return (invoke "{name}" (i32.const {addr}) (i32.const {half})) {i64(halves(v)[half])})')
    for addr in (PAGE - 8 + 1, PAGE - 1, PAGE, -1):
        asserts.append(f'(assert_trap (invoke "{name}" (i32.const {addr}) (i32.const 0)) "out of bounds memory access")')
# Loads first, in a module of their own: the stores change the memory.
out.append("(module (memory 1)\n" + "\n".join(funcs) + ")")
out.extend(asserts)
out.append("(module (memory 1)\n" + "\n".join(stores) + ")")
out.extend(store_asserts)
out.append("")

# Constants in every shape, zero-initialized locals, select, and v128
# values through blocks and a loop (block parameters).
K = 0x0123456789ABCDEF_FEDCBA9876543210
out.append(
    """(module (memory 1)
  (func $half (param i32) (result i64)
    (i64.load (i32.shl (local.get 0) (i32.const 3))))
  (func (export "const") (param i32 i32) (result i64)
    (block
      (block
        (block
          (block (br_table 0 1 2 3 (local.get 0)))
          (v128.store (i32.const 0) (v128.const i64x2 0x7edcba9876543210 0x0123456789abcdef))
          (return (call $half (local.get 1))))
        (v128.store (i32.const 0) (v128.const i32x4 1 -1 0x80000000 0x7fffffff))
        (return (call $half (local.get 1))))
      (v128.store (i32.const 0) (v128.const i8x16 0 1 2 3 4 5 6 7 -8 -7 -6 -5 -4 -3 -2 -1))
      (return (call $half (local.get 1))))
    (v128.store (i32.const 0) (v128.const i16x8 0 0 0 0 0 0 0 0))
    (call $half (local.get 1)))
  (func (export "zero_local") (param i32) (result i64)
    (local v128)
    (v128.store (i32.const 0) (local.get 1))
    (call $half (local.get 0)))
  (func (export "select") (param i32 i32) (result i64)
    (v128.store (i32.const 0)
      (select (v128.const i64x2 1 2) (v128.const i64x2 3 4) (local.get 0)))
    (call $half (local.get 1)))
  (func (export "loop") (param i32 i32) (result i64)
    (local v128)
    ;; v += (1, 2) per iteration, n times; the vector is a loop parameter.
    (local.set 2
      (v128.const i64x2 0 0)
      (loop (param v128) (result v128)
        (v128.const i64x2 1 2)
        (i64x2.add)
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br_if 0 (i32.gt_s (local.get 0) (i32.const 0)))))
    (v128.store (i32.const 0) (local.get 2))
    (call $half (local.get 1))))"""
)
consts = [
    (0x0123456789ABCDEF << 64) | 0x7EDCBA9876543210,
    join([1, M64 & 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF], 32),
    join([x & 0xFF for x in (0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1)], 8),
    0,
]
for k, c in enumerate(consts):
    for half in (0, 1):
        out.append(f'(assert_return (invoke "const" (i32.const {k}) (i32.const {half})) {i64(halves(c)[half])})')
for half in (0, 1):
    out.append(f'(assert_return (invoke "zero_local" (i32.const {half})) (i64.const 0))')
    for cond, v in ((1, (2 << 64) | 1), (0, (4 << 64) | 3)):
        out.append(f'(assert_return (invoke "select" (i32.const {cond}) (i32.const {half})) {i64(halves(v)[half])})')
    for n in (1, 2, 7, 100):
        out.append(f'(assert_return (invoke "loop" (i32.const {n}) (i32.const {half})) {i64((n, 2 * n)[half])})')
out.append("")

# Twenty vectors live across a call: more than the SSE registers, all of
# them caller-saved, so every one is spilled to a 16-byte slot and
# reloaded. Vector k is (a + k, b - k) per 64-bit lane; the sum of all of
# them xor'd with each in turn is returned half by half.
N = 20
body = ["  (func $g (param i32) (result i32) (local.get 0))"]
body.append('  (func (export "spill") (param i64 i64 i32) (result i64)')
body.append("    " + " ".join(f"(local v128)" for _ in range(N)))
for k in range(N):
    body.append(
        f"    (i64.store (i32.const 0) (i64.add (local.get 0) (i64.const {k})))"
        f" (i64.store (i32.const 8) (i64.sub (local.get 1) (i64.const {k})))"
        f" (local.set {3 + k} (v128.load (i32.const 0)))"
    )
body.append("    (drop (call $g (i32.const 0)))")
acc = "(local.get 3)"
for k in range(1, N):
    acc = f"(i64x2.add {acc} (local.get {3 + k}))"
x = acc
for k in range(N):
    x = f"(v128.xor {x} (local.get {3 + k}))"
body.append(f"    (v128.store (i32.const 32) {x})")
body.append("    (i64.load offset=32 (i32.shl (local.get 2) (i32.const 3))))")
out.append("(module (memory 1)\n" + "\n".join(body) + ")")
for a, b in ((0, 0), (1, 2), (M64, 5), (0x123456789, 0xFFFF_0000_FFFF_0000)):
    vs = [(((b - k) & M64) << 64) | ((a + k) & M64) for k in range(N)]
    s = vs[0]
    for v in vs[1:]:
        s = OPS["i64x2.add"](s, v)
    for v in vs:
        s ^= v
    for half in (0, 1):
        out.append(f'(assert_return (invoke "spill" {i64(a)} {i64(b)} (i32.const {half})) {i64(halves(s)[half])})')
out.append("")

# 16-byte accesses at the end of memory: the last whole vector loads,
# one byte further traps (an obligation of the access's true size).
out.append(
    """(module (memory 1)
  (func (export "load_at") (param i32) (result i64)
    (v128.store (i32.const 0) (v128.load (local.get 0)))
    (i64.load (i32.const 0)))
  (func (export "store_at") (param i32)
    (v128.store (local.get 0) (v128.const i64x2 -1 -1))))"""
)
for at in (0, 65536 - 16):
    out.append(f'(assert_return (invoke "load_at" (i32.const {at})) (i64.const 0))')
    out.append(f'(assert_return (invoke "store_at" (i32.const {at})))')
for at in (65536 - 15, 65536 - 8, 65536, -1, -16):
    out.append(f'(assert_trap (invoke "load_at" (i32.const {at})) "out of bounds memory access")')
    out.append(f'(assert_trap (invoke "store_at" (i32.const {at})) "out of bounds memory access")')

open("tests/wast/simd.wast", "w").write("\n".join(out) + "\n")
