#!/usr/bin/env python3
"""Atomics on a non-shared memory (the threads proposal's operators, run on
one thread): writes tests/wast/atomics.wast.

Expected results and memory contents are computed here from the Wasm
semantics (little-endian memory, narrow forms zero-extending, the
read-modify-write result being the old value, cmpxchg comparing the
expected value wrapped to the access width, misaligned accesses trapping
before the bounds check), not by pccc.
"""
import os

WIDTHS = {"i32": [("", 4), ("8", 1), ("16", 2)], "i64": [("", 8), ("8", 1), ("16", 2), ("32", 4)]}
OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "xchg": lambda a, b: b,
}
ADDR = 64  # aligned for every width
MEMS = [0x0123456789ABCDEF, 0xFFFFFFFFFFFFFFFF, 0x8000000080000080, 0]
VALS = [0x7F, 0xFFFFFFFF_FFFFFF81, 0x1_0000_0001, 0x8000_0000_0000_0000]


def mask(bytes_):
    return (1 << (8 * bytes_)) - 1


def const(ty, v):
    return f"({ty}.const {v & mask(4 if ty == 'i32' else 8):#x})"


def suffix(w):
    return "_u" if w else ""


class Gen:
    def __init__(self):
        self.funcs = []
        self.asserts = []
        self.n = 0

    def func(self, result, body):
        name = f"t{self.n}"
        self.n += 1
        res = f" (result {result})" if result else ""
        self.funcs.append(f'  (func (export "{name}"){res} {body})')
        return name

    def set_mem(self, m):
        self.asserts.append(f'(assert_return (invoke "init" (i32.const {ADDR}) (i64.const {m:#x})))')

    def check_mem(self, m):
        self.asserts.append(f'(assert_return (invoke "load64" (i32.const {ADDR})) (i64.const {m & mask(8):#x}))')

    def ret(self, name, ty, v):
        self.asserts.append(f'(assert_return (invoke "{name}") {const(ty, v)})')

    def trap(self, name, msg):
        self.asserts.append(f'(assert_trap (invoke "{name}") "{msg}")')


def main():
    g = Gen()
    for ty, widths in WIDTHS.items():
        full = 4 if ty == "i32" else 8
        for w, nbytes in widths:
            m_w = mask(nbytes)
            # Loads and stores.
            for k, mem in enumerate(MEMS):
                g.set_mem(mem)
                name = g.func(ty, f"({ty}.atomic.load{w}{suffix(w)} (i32.const {ADDR}))")
                g.ret(name, ty, mem & m_w)
                v = VALS[k]
                name = g.func(None, f"({ty}.atomic.store{w} (i32.const {ADDR}) {const(ty, v)})")
                g.asserts.append(f'(assert_return (invoke "{name}"))')
                g.check_mem((mem & ~m_w) | (v & m_w))
            # Read-modify-write.
            for op, f in OPS.items():
                for mem, v in zip(MEMS, VALS):
                    g.set_mem(mem)
                    instr = f"{ty}.atomic.rmw{w}.{op}{suffix(w)}"
                    name = g.func(ty, f"({instr} (i32.const {ADDR}) {const(ty, v)})")
                    old = mem & m_w
                    new = f(old, v & mask(full)) & m_w
                    g.ret(name, ty, old)
                    g.check_mem((mem & ~m_w) | new)
            # Compare-exchange: equal, equal only after wrapping, unequal.
            instr = f"{ty}.atomic.rmw{w}.cmpxchg{suffix(w)}"
            for mem, repl in zip(MEMS, VALS):
                old = mem & m_w
                high = (0xDEAD << (8 * nbytes)) & mask(full) if nbytes < full else 0
                for expected, equal in ((old, True), (old | high, True), (old ^ 1, False)):
                    g.set_mem(mem)
                    name = g.func(
                        ty, f"({instr} (i32.const {ADDR}) {const(ty, expected)} {const(ty, repl)})"
                    )
                    g.ret(name, ty, old)
                    g.check_mem((mem & ~m_w) | (repl & m_w) if equal else mem)
            # Misaligned: by the address or by the offset, and before the
            # bounds check (the last address is out of bounds too).
            if nbytes > 1:
                for addr, offset in ((ADDR + 1, 0), (ADDR, 1), (ADDR + nbytes // 2, 0), (65535, 0)):
                    off = f" offset={offset}" if offset else ""
                    for body in (
                        f"({ty}.atomic.load{w}{suffix(w)}{off} (i32.const {addr}))",
                        f"({ty}.atomic.rmw{w}.add{suffix(w)}{off} (i32.const {addr}) {const(ty, 1)})",
                        f"({ty}.atomic.rmw{w}.cmpxchg{suffix(w)}{off} (i32.const {addr}) {const(ty, 0)} {const(ty, 1)})",
                    ):
                        g.trap(g.func(ty, body), "unaligned atomic")
                    name = g.func(None, f"({ty}.atomic.store{w}{off} (i32.const {addr}) {const(ty, 1)})")
                    g.trap(name, "unaligned atomic")
            # Bounds: the last aligned access fits, one width further traps.
            last = 65536 - nbytes
            name = g.func(ty, f"({ty}.atomic.rmw{w}.xchg{suffix(w)} (i32.const {last}) {const(ty, 0)})")
            g.asserts.append(f'(assert_return (invoke "{name}") {const(ty, 0)})')
            for addr, offset in ((65536, 0), (last, nbytes), (0xFFFFFFFF - nbytes + 1, 0)):
                off = f" offset={offset}" if offset else ""
                name = g.func(ty, f"({ty}.atomic.load{w}{suffix(w)}{off} (i32.const {addr}))")
                g.trap(name, "out of bounds memory access")
    # notify: no waiter on a non-shared memory; the access is still checked.
    g.ret(g.func("i32", f"(memory.atomic.notify (i32.const {ADDR}) (i32.const 5))"), "i32", 0)
    g.trap(g.func("i32", "(memory.atomic.notify (i32.const 2) (i32.const 1))"), "unaligned atomic")
    g.trap(g.func("i32", "(memory.atomic.notify (i32.const 65536) (i32.const 1))"), "out of bounds memory access")
    # wait: traps on a non-shared memory, after the alignment and bounds checks.
    for instr, ty, nbytes in (("memory.atomic.wait32", "i32", 4), ("memory.atomic.wait64", "i64", 8)):
        g.trap(g.func("i32", f"({instr} (i32.const {ADDR}) {const(ty, 0)} (i64.const 0))"), "atomic wait on non-shared memory")
        g.trap(g.func("i32", f"({instr} (i32.const {ADDR + nbytes // 2}) {const(ty, 0)} (i64.const 0))"), "unaligned atomic")
        g.trap(g.func("i32", f"({instr} (i32.const 65536) {const(ty, 0)} (i64.const 0))"), "out of bounds memory access")
    # fence: orders nothing on one thread; the code around it still runs.
    g.ret(g.func("i32", "(atomic.fence) (i32.const 7)"), "i32", 7)

    lines = [
        ";; Atomics on a non-shared memory, one thread. Generated by gen_atomics.py:",
        ";; expected values from the Wasm semantics, not from pccc.",
        "(module",
        "  (memory 1)",
        '  (func (export "init") (param i32 i64) (i64.store (local.get 0) (local.get 1)))',
        '  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))',
    ]
    lines += g.funcs
    lines.append(")")
    lines += g.asserts
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "atomics.wast"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
