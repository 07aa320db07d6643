;; Functions with more results than result registers (issue 10): nine
;; integer and eight float results travel in registers, the rest in the
;; caller's outgoing area. Direct, indirect and recursive calls, results
;; returned to the host, and stack arguments and results in one call.
(module
  (type $t (func (param i32) (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 i32 f64 f64 f64 f64 f64 f64 f64 f64 f32 f64)))
  (func $many (type $t)
    (local.get 0) (i32.add (local.get 0) (i32.const 1)) (i32.const 2) (i32.const 3) (i32.const 4)
    (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8) (i32.const 9) (i64.const -10) (i32.const -1)
    (f64.const 0) (f64.const 1) (f64.const 2) (f64.const 3) (f64.const 4) (f64.const 5) (f64.const 6) (f64.const 7)
    (f32.const 8.5) (f64.const 9.25))
  (table funcref (elem $many))
  (func (export "many") (param i32) (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 i32 f64 f64 f64 f64 f64 f64 f64 f64 f32 f64)
    (call $many (local.get 0)))
  (func (export "sum") (param i32) (result i64)
    (local $a i32) (local $b i64) (local $c i32) (local $f f32) (local $g f64)
    (call $many (local.get 0))
    (local.set $g) (local.set $f)
    drop drop drop drop drop drop drop drop
    (local.set $c) (local.set $b) (local.set $a)
    drop drop drop drop drop drop drop drop drop
    (i64.add (i64.add (i64.extend_i32_u (local.get $a)) (local.get $b))
      (i64.add (i64.extend_i32_u (local.get $c))
        (i64.add (i64.trunc_f32_s (local.get $f)) (i64.trunc_f64_s (local.get $g))))))
  (func (export "ind") (param i32) (result i64 f64)
    (local $f f32) (local $g f64) (local $b i64)
    (call_indirect (type $t) (local.get 0) (i32.const 0))
    (local.set $g) (local.set $f)
    drop drop drop drop drop drop drop drop
    drop (local.set $b)
    drop drop drop drop drop drop drop drop drop drop
    (i64.add (local.get $b) (i64.trunc_f32_s (local.get $f))) (local.get $g))

  ;; 12 i64 arguments (6 on the stack) returned reversed (3 results on the stack).
  (func $swap (export "swap") (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local.get 11) (local.get 10) (local.get 9) (local.get 8) (local.get 7) (local.get 6) (local.get 5) (local.get 4) (local.get 3) (local.get 2) (local.get 1) (local.get 0))
  ;; sum of result k times (k+1): 364 when the order is right.
  (func (export "swap_sum") (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (call $swap (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9) (i64.const 10) (i64.const 11) (i64.const 12))
    (local.set 11) (local.set 10) (local.set 9) (local.set 8) (local.set 7) (local.set 6) (local.set 5) (local.set 4) (local.set 3) (local.set 2) (local.set 1) (local.set 0)
    (i64.const 0)
    (i64.add (i64.mul (local.get 0) (i64.const 1))) (i64.add (i64.mul (local.get 1) (i64.const 2))) (i64.add (i64.mul (local.get 2) (i64.const 3))) (i64.add (i64.mul (local.get 3) (i64.const 4))) (i64.add (i64.mul (local.get 4) (i64.const 5))) (i64.add (i64.mul (local.get 5) (i64.const 6))) (i64.add (i64.mul (local.get 6) (i64.const 7))) (i64.add (i64.mul (local.get 7) (i64.const 8))) (i64.add (i64.mul (local.get 8) (i64.const 9))) (i64.add (i64.mul (local.get 9) (i64.const 10))) (i64.add (i64.mul (local.get 10) (i64.const 11))) (i64.add (i64.mul (local.get 11) (i64.const 12))))

  ;; rec(n) = (n, n+1, ..., n+10), each level adding 1 to the level below's
  ;; results: the stack results cross many frames.
  (func $rec (param i32) (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (if (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (i32.eqz (local.get 0))
      (then (i32.const 0) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8) (i32.const 9) (i32.const 10))
      (else
        (call $rec (i32.sub (local.get 0) (i32.const 1)))
        (local.set 11) (local.set 10) (local.set 9) (local.set 8) (local.set 7) (local.set 6) (local.set 5) (local.set 4) (local.set 3) (local.set 2) (local.set 1)
        (i32.add (local.get 1) (i32.const 1)) (i32.add (local.get 2) (i32.const 1)) (i32.add (local.get 3) (i32.const 1)) (i32.add (local.get 4) (i32.const 1)) (i32.add (local.get 5) (i32.const 1)) (i32.add (local.get 6) (i32.const 1)) (i32.add (local.get 7) (i32.const 1)) (i32.add (local.get 8) (i32.const 1)) (i32.add (local.get 9) (i32.const 1)) (i32.add (local.get 10) (i32.const 1)) (i32.add (local.get 11) (i32.const 1)))))
  (func (export "rec_sum") (param i32) (result i32)
    (local i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (call $rec (local.get 0))
    (local.set 11) (local.set 10) (local.set 9) (local.set 8) (local.set 7) (local.set 6) (local.set 5) (local.set 4) (local.set 3) (local.set 2) (local.set 1)
    (i32.const 0)
    (i32.add (local.get 1)) (i32.add (local.get 2)) (i32.add (local.get 3)) (i32.add (local.get 4)) (i32.add (local.get 5)) (i32.add (local.get 6)) (i32.add (local.get 7)) (i32.add (local.get 8)) (i32.add (local.get 9)) (i32.add (local.get 10)) (i32.add (local.get 11)))
  (func (export "rec") (param i32) (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (call $rec (local.get 0)))
)
