;; The edges around bounds-checked-far-static-offset.wat, which agree with
;; the reference under both heap strategies today: the largest offset whose
;; access still ends inside the 256 MiB bounds-checked reservation, offsets
;; that no longer fit a signed 32-bit displacement, and the largest offset.
;; Every access traps (the memory is one page); a fix of the far-offset
;; false reject must keep these trapping.
(module
  (memory 1 1)
  (func (export "end_of_reservation") (param i32) (result i32)
    local.get 0
    i32.load offset=0x0ffffffc)
  (func (export "past_i32_displacement") (param i32) (result i32)
    local.get 0
    i32.load offset=0x80000000)
  (func (export "store_past_i32_displacement") (param i32)
    local.get 0
    i32.const 1
    i32.store8 offset=0xfffffff0)
  (func (export "largest_offset") (param i32) (result i32)
    local.get 0
    i32.load8_s offset=0xffffffff)
  (func (export "in_bounds") (param i32) (result i32)
    i32.const 0
    i32.const 0x01020304
    i32.store offset=0xfffc
    i32.const 0
    i32.load offset=0xfffc))
