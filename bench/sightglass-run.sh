#!/bin/bash
# Run every sightglass module through `pccc run` (compile, verify, run as a
# WASI command in its inputs directory) and compare its stdout with the
# expected one. Usage: bench/sightglass-run.sh [SIGHTGLASS_DIR] (default
# ../shared/sightglass beside the repository). Needs a release build of pccc.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
sg=$(cd "${1:-$root/../shared/sightglass}" && pwd) || exit 2
pccc=$root/target/release/pccc
[ -x "$pccc" ] || { echo "build pccc first: cargo build --release" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
empty=$out/empty; mkdir -p "$empty"
matched=0; failed=0; skipped=0
for w in "$sg"/*.wasm; do
  n=$(basename "$w" .wasm)
  d=$sg/inputs/$n; [ -d "$d" ] || d=$empty
  exp=""
  for e in "$d/$n.stdout.expected" "$d/benchmark.stdout.expected" "$d/default.stdout.expected"; do
    [ -f "$e" ] && { exp=$e; break; }
  done
  start=$(date +%s.%N)
  (cd "$d" && timeout 600 "$pccc" run "$w" --dir . >"$out/$n.out" 2>"$out/$n.err"); rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  why=$(head -1 "$out/$n.err" | cut -c1-90)
  if [ $rc -eq 2 ]; then
    res="not run: $why"; skipped=$((skipped+1))
  elif [ $rc -ne 0 ]; then
    res="FAILED (exit $rc): $why"; failed=$((failed+1))
  elif [ -z "$exp" ]; then
    res="ok (no expected output)"; matched=$((matched+1))
  elif cmp -s "$out/$n.out" "$exp"; then
    res="ok, stdout matches"; matched=$((matched+1))
  elif cmp -s "$out/$n.out" <(cat "$exp"; echo); then
    # The libsodium files were recorded without the final newline that
    # the programs print (Wasmtime's output has it too).
    res="ok, stdout matches but for the expected file's missing final newline"; matched=$((matched+1))
  else
    res="FAILED: stdout differs"; failed=$((failed+1))
  fi
  printf "%-36s %7.2fs  %s\n" "$n" "$secs" "$res"
done
echo "ran: $matched ok, $failed failed, $skipped not run"
[ $failed -eq 0 ]
