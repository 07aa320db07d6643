;; memory.grow and large offsets: a bounds-checked memory grows up to the
;; reservation (4096 pages), after which an access at a large offset that
;; trapped before is in bounds; growth past the reservation returns -1.
(module
  (memory 1)
  (func (export "grow") (param i32) (result i32)
    (memory.grow (local.get 0)))
  ;; Access first (traps at 1 page) unless $pages > 0: grow by $pages, then
  ;; store/load at 0x0ffffff0 + idx, then return the size in pages.
  (func (export "grow_then_access") (param $pages i32) (param $idx i32) (result i32)
    (drop (memory.grow (local.get $pages)))
    (i32.store offset=0x0ffffff0 (local.get $idx) (i32.const 42))
    (i32.add
      (i32.load offset=0x0ffffff0 (local.get $idx))
      (i32.mul (memory.size) (i32.const 1000)))))
