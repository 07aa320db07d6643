//! Unsigned division by a constant as a multiplication by its reciprocal
//! (Granlund and Montgomery, "Division by invariant integers using
//! multiplication", 1994): `div` takes tens of cycles, a `mul` and a shift
//! a few.

/// `x / c` for every 64-bit `x` is `mulhi(x, magic) >> shift`, or with
/// `add`, `(((x - hi) >> 1) + hi) >> shift` where `hi = mulhi(x, magic)`:
/// the true multiplier is then 2^64 + magic, one bit too wide for a
/// register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Magic64 {
    pub magic: u64,
    pub add: bool,
    pub shift: u32,
}

/// The multiplier of `c`, which must be at least 3 and not a power of two
/// (those are shifts).
pub fn magic64(c: u64) -> Magic64 {
    debug_assert!(c > 2 && !c.is_power_of_two());
    let l = 63 - c.leading_zeros();
    // 2^(64 + l) / c < 2^64, since c > 2^l.
    let num = 1u128 << (64 + l);
    let m = (num / c as u128) as u64;
    let rem = (num % c as u128) as u64;
    if c - rem < 1u64 << l {
        // ceil(2^(64 + l) / c) errs by less than 2^l / c: exact for every x.
        Magic64 {
            magic: m + 1,
            add: false,
            shift: l,
        }
    } else {
        // One more bit of precision: ceil(2^(65 + l) / c) - 2^64.
        let twice = rem.wrapping_add(rem);
        let carry = u64::from(twice >= c || twice < rem);
        Magic64 {
            magic: m.wrapping_add(m).wrapping_add(carry).wrapping_add(1),
            add: true,
            shift: l,
        }
    }
}

/// `x / c` for every `x` below 2^32 is `mulhi(x, magic32(c))` (Lemire,
/// Kaser and Kurz, "Faster remainder by direct computation", 2019: a
/// 64-bit reciprocal is exact for 32-bit dividends and divisors). `c` at
/// least 3 and not a power of two.
pub fn magic32(c: u32) -> u64 {
    debug_assert!(c > 2 && !c.is_power_of_two());
    // ceil(2^64 / c), which is floor((2^64 - 1) / c) + 1 as c does not
    // divide 2^64.
    u64::MAX / c as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mulhi(a: u64, b: u64) -> u64 {
        ((a as u128 * b as u128) >> 64) as u64
    }

    fn div64(x: u64, m: Magic64) -> u64 {
        let hi = mulhi(x, m.magic);
        if m.add {
            (((x - hi) >> 1) + hi) >> m.shift
        } else {
            hi >> m.shift
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// Divisors: small ones, the ones C code uses, both kinds (with and
    /// without the extra bit), the largest, and random ones of every size.
    fn divisors(bits: u32, rng: &mut Rng) -> Vec<u64> {
        let max = if bits == 32 {
            u32::MAX as u64
        } else {
            u64::MAX
        };
        let mut v: Vec<u64> = (3..2000).collect();
        v.extend([
            10_000,
            86_400,
            1_000_000_007,
            0x7fff_ffff,
            0x8000_0001,
            0xffff_fffd,
            0xffff_ffff,
        ]);
        if bits == 64 {
            v.extend([
                0x1_0000_0001,
                0x1234_5678_9abc,
                1 << 63 | 1,
                u64::MAX - 1,
                u64::MAX,
                u64::MAX / 3,
                u64::MAX / 7,
            ]);
        }
        for k in 2..bits {
            v.extend([(1u64 << k) - 1, (1u64 << k) + 1]);
        }
        for _ in 0..3000 {
            let c = (rng.next() >> (rng.next() % bits as u64)) & max;
            v.push(c);
        }
        v.retain(|&c| c > 2 && !c.is_power_of_two() && c <= max);
        v
    }

    /// Dividends: around 0, around every multiple's edge near the top,
    /// around powers of two, the largest, and random.
    fn dividends(c: u64, max: u64, rng: &mut Rng) -> Vec<u64> {
        let top = max / c * c;
        let mut v = vec![
            0,
            1,
            c - 1,
            c,
            c + 1,
            2 * c - 1,
            top,
            top - 1,
            max,
            max - 1,
            max / 2,
            max / 2 + 1,
        ];
        v.extend(top.checked_add(c - 1).filter(|&x| x <= max));
        for k in 0..64 {
            let p = 1u64 << k;
            v.extend([p, p - 1, p + 1].into_iter().filter(|&x| x <= max));
        }
        for _ in 0..64 {
            v.push(rng.next() & max);
            v.push(
                (rng.next() % (max / c + 1))
                    .wrapping_mul(c)
                    .wrapping_sub(rng.next() % 2)
                    & max,
            );
        }
        v.retain(|&x| x <= max);
        v
    }

    #[test]
    fn magic64_divides_exactly() {
        let mut rng = Rng(0x5eed_0d17);
        let (mut cases, mut with_add) = (0, 0);
        for c in divisors(64, &mut rng) {
            let m = magic64(c);
            with_add += m.add as usize;
            for x in dividends(c, u64::MAX, &mut rng) {
                assert_eq!(div64(x, m), x / c, "{x} / {c} with {m:?}");
                cases += 1;
            }
        }
        assert!(
            cases > 1_000_000 && with_add > 100,
            "{cases} cases, {with_add} with add"
        );
    }

    #[test]
    fn magic32_divides_exactly() {
        let mut rng = Rng(0x5eed_0d32);
        let mut cases = 0;
        for c in divisors(32, &mut rng) {
            let m = magic32(c as u32);
            for x in dividends(c, u32::MAX as u64, &mut rng) {
                assert_eq!(mulhi(x, m), x / c, "{x} / {c}");
                cases += 1;
            }
        }
        // Every dividend for a few divisors, one of them needing the extra
        // bit at 64 bits.
        for c in [3u64, 7, 10, 641] {
            let m = magic32(c as u32);
            for x in (0..=u32::MAX as u64)
                .step_by(997)
                .chain(u32::MAX as u64 - 5000..=u32::MAX as u64)
            {
                assert_eq!(mulhi(x, m), x / c, "{x} / {c}");
            }
        }
        assert!(cases > 500_000, "{cases} cases");
    }

    #[test]
    fn known_multipliers() {
        // Published constants: 10 needs no extra bit, 7 does.
        assert_eq!(
            magic64(10),
            Magic64 {
                magic: 0xcccc_cccc_cccc_cccd,
                add: false,
                shift: 3
            }
        );
        assert_eq!(
            magic64(7),
            Magic64 {
                magic: 0x2492_4924_9249_2493,
                add: true,
                shift: 2
            }
        );
    }
}
