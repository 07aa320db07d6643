;; Issue 10, fuzzing: under `--heap bounds-checked` (256 MiB reservation, no
;; guard) every access whose static offset + size exceeds the reservation was
;; lowered as an access with index claimed in [0, 0] and the offset kept in
;; the instruction; the validator rightly could not prove it and rejected the
;; module (3,660 of 14,694 generated modules). Such an access can only trap.
(module
  (memory 1)
  ;; The reported signature, and its ends: 0x0ffffffd is the first offset
  ;; an i32 cannot fit below 256 MiB, 0x7ffffff7 the last before the far path.
  (func (export "load32") (param i32) (result i32)
    local.get 0 i32.load offset=0x10000000)
  (func (export "load32_first") (param i32) (result i32)
    local.get 0 i32.load offset=0x0ffffffd)
  (func (export "load64_last") (param i32) (result i64)
    local.get 0 i64.load offset=0x7ffffff7)
  (func (export "load64_max") (param i32) (result i64)
    local.get 0 i64.load offset=0xffffffff)
  (func (export "loadf32") (param i32) (result f32)
    local.get 0 f32.load offset=0x10000000)
  (func (export "store8") (param i32)
    local.get 0 i32.const 1 i32.store8 offset=0x10000000)
  (func (export "storef64") (param i32)
    local.get 0 f64.const 1.5 f64.store offset=0x0ffffff9)
  ;; One byte at the very end of the reservation fits: checked, not trapped
  ;; at compile time (out of bounds here only because memory is 1 page).
  (func (export "load8_end") (param i32) (result i32)
    local.get 0 i32.load8_u offset=0x0fffffff)
  ;; The impossible access on one path only: the other path returns, the
  ;; code before the access stays, the code after it is dead.
  (global $g (mut i32) (i32.const 0))
  (func (export "branch") (param i32) (result i32)
    (local i32)
    (if (local.get 0)
      (then
        (global.set $g (i32.const 5))
        (local.set 1 (i32.load offset=0x20000000 (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))))
    (i32.add (local.get 1) (i32.const 7)))
  ;; In a loop, with values live across it.
  (func (export "loop") (param i32) (result i32)
    (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (br_if $l (i32.lt_u (local.get 1) (i32.const 100))))
    (i32.store offset=0x40000000 (local.get 1) (local.get 0))
    (local.get 1)))
