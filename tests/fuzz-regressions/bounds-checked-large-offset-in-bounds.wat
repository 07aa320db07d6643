;; Large static offsets that do fit a full 256 MiB memory: checked at run
;; time and correct under both heap strategies (the bounds-checked
;; reservation is exactly 4096 pages).
(module
  (memory 4096)
  ;; Store idx+1 at idx + 0x0ffffff0, read it back: in bounds up to idx = 12
  ;; (the i64 variant up to idx = 0).
  (func (export "roundtrip32") (param i32) (result i32)
    (i32.store offset=0x0ffffff0 (local.get 0) (i32.add (local.get 0) (i32.const 1)))
    (i32.load offset=0x0ffffff0 (local.get 0)))
  (func (export "roundtrip64") (param i32) (result i64)
    (i64.store offset=0x0ffffff8 (local.get 0) (i64.const 0x1122334455667788))
    (i64.load offset=0x0ffffff8 (local.get 0)))
  ;; The last byte of the memory.
  (func (export "last_byte") (param i32) (result i32)
    (i32.store8 offset=0x0fffffff (local.get 0) (i32.const 0xab))
    (i32.load8_u offset=0x0fffffff (local.get 0))))
