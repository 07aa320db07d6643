;; The static strategy with offsets past its 2 GiB guard: explicit checks
;; (the far path), correct results in bounds, traps out of bounds, and a
;; compile-time trap where offset + size exceeds the 4 GiB reservation.
(module
  (memory 32769 32769) ;; 2 GiB + 64 KiB
  (func (export "far_roundtrip") (param i32) (result i64)
    (i64.store offset=0x80000000 (local.get 0) (i64.const -2))
    (i64.load offset=0x80000000 (local.get 0)))
  (func (export "far_load") (param i32) (result i32)
    (i32.load offset=0xfffffff0 (local.get 0)))
  (func (export "past_reservation") (param i32) (result i64)
    (i64.load offset=0xfffffffc (local.get 0))))
