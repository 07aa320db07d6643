;; Found by the differential fuzzer (seed 2: modules 105, 119, 125, ... —
;; 5% of generated modules; issue 10, first bullet).
;;
;; Under the bounds-checked heap strategy (256 MiB reservation), a load or
;; store whose static offset is past the reservation but still fits a
;; 32-bit signed displacement (0x0ffffffd up to about 0x7fffffff) is
;; compiled with the offset kept in the instruction while the claim says
;; the index is in [0, 0]: the validator cannot prove
;;   rdi + 0x10000000 + 4 <= 0x10000000
;; and rejects the artifact (a false reject: the module is valid, and every
;; such access can only trap). Static heap: agrees (every call traps with
;; an out-of-bounds access, like wasmi).
(module
  (memory 1 1)
  (func (export "i32_load") (param i32) (result i32)
    local.get 0
    i32.load offset=0x0ffffffd)
  (func (export "i64_store") (param i32)
    local.get 0
    i64.const 7
    i64.store offset=0x10000000)
  (func (export "f64_load") (param i32) (result f64)
    local.get 0
    f64.load offset=0x40000000)
  (func (export "i32_load8_u") (param i32) (result i32)
    local.get 0
    i32.load8_u offset=0x7ffffff0))
