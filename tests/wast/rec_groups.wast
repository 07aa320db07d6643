;; Function types in explicit recursion groups (WebAssembly 3.0): a type is
;; equal to another when their groups are equal and it sits at the same
;; place, so $a and $b below are distinct although both are (func (result
;; i32)), and both are distinct from a lone (func (result i32)). Expected
;; results follow the spec's iso-recursive type equality (and tag.wast's
;; link-time typing of tags).

(module
  (rec (type $a (func (result i32))) (type $b (func (result i32))))
  (type $c (func (result i32)))
  (table 3 funcref)
  (elem (i32.const 0) $fa $fb $fc)
  (func $fa (type $a) (i32.const 1))
  (func $fb (type $b) (i32.const 2))
  (func $fc (type $c) (i32.const 3))
  (func (export "call_a") (param i32) (result i32) (call_indirect (type $a) (local.get 0)))
  (func (export "call_b") (param i32) (result i32) (call_indirect (type $b) (local.get 0)))
  (func (export "call_c") (param i32) (result i32) (call_indirect (type $c) (local.get 0)))
  (export "fa" (func $fa))
  (export "fb" (func $fb))
  (export "fc" (func $fc))
)

(assert_return (invoke "call_a" (i32.const 0)) (i32.const 1))
(assert_trap (invoke "call_a" (i32.const 1)) "indirect call type mismatch")
(assert_trap (invoke "call_a" (i32.const 2)) "indirect call type mismatch")
(assert_return (invoke "call_b" (i32.const 1)) (i32.const 2))
(assert_trap (invoke "call_b" (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "call_b" (i32.const 2)) "indirect call type mismatch")
(assert_return (invoke "call_c" (i32.const 2)) (i32.const 3))
(assert_trap (invoke "call_c" (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "call_c" (i32.const 1)) "indirect call type mismatch")

(register "M")

;; Another module's equal groups give equal types: imports link, and its
;; call_indirect matches the first module's functions by identity. An
;; explicit group of one type is the lone type.
(module
  (rec (type $a (func (result i32))) (type $b (func (result i32))))
  (rec (type $c (func (result i32))))
  (import "M" "fa" (func $fa (type $a)))
  (import "M" "fb" (func $fb (type $b)))
  (import "M" "fc" (func $fc (type $c)))
  (table 3 funcref)
  (elem (i32.const 0) $fa $fb $fc)
  (func (export "call_a") (param i32) (result i32) (call_indirect (type $a) (local.get 0)))
  (func (export "call_c") (param i32) (result i32) (call_indirect (type $c) (local.get 0)))
)

(assert_return (invoke "call_a" (i32.const 0)) (i32.const 1))
(assert_trap (invoke "call_a" (i32.const 1)) "indirect call type mismatch")
(assert_trap (invoke "call_a" (i32.const 2)) "indirect call type mismatch")
(assert_return (invoke "call_c" (i32.const 2)) (i32.const 3))
(assert_trap (invoke "call_c" (i32.const 0)) "indirect call type mismatch")

;; A group of other types, or the types in another order, is another group.
(assert_unlinkable
  (module
    (rec (type $b (func (result i32))) (type $a (func (result i32))))
    (import "M" "fa" (func (type $a))))
  "incompatible import type")
(assert_unlinkable
  (module
    (rec (type $a (func (result i32))) (type $b (func (result i32))) (type $x (func)))
    (import "M" "fa" (func (type $a))))
  "incompatible import type")
(assert_unlinkable
  (module
    (type $c (func (result i32)))
    (import "M" "fb" (func (type $c))))
  "incompatible import type")
(assert_unlinkable
  (module
    (rec (type $a (func (result i32))) (type $b (func (result i32))))
    (import "M" "fc" (func (type $a))))
  "incompatible import type")
