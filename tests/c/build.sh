#!/usr/bin/env bash
# Rebuild tests/c/*.O0.wasm and *.O2.wasm from the C sources. Needs Debian's
# clang and lld (`apt-get install clang lld`); CI does not: the .wasm files
# are committed, and the test compiles only the native side (with cc).
set -euo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
for src in sort hash crc bignum search; do
    exports=$(grep -oE '^(int32_t|int64_t) [a-z0-9_]+\(' "$src.c" | sed -E 's/^[a-z0-9_]+ //; s/\($//' | sed 's/^/-Wl,--export=/' | tr '\n' ' ')
    for opt in O0 O2; do
        # -mcpu=mvp: no bulk memory or other post-MVP instructions;
        # -msign-ext: the sign-extension operators are in scope.
        $CLANG --target=wasm32-unknown-unknown -$opt -nostdlib -ffreestanding -fno-builtin \
            -mcpu=mvp -msign-ext -Wl,--no-entry $exports -o "$src.$opt.wasm" "$src.c"
    done
done
