/* Multi-limb arithmetic with 32-bit limbs and 64-bit intermediates. */
#include <stdint.h>

#define LIMBS 512
static uint32_t num[LIMBS];

static int32_t set_small(uint32_t v) {
    for (int32_t i = 0; i < LIMBS; i++) num[i] = 0;
    num[0] = v;
    return 1;
}

static int32_t mul_small(int32_t len, uint32_t m) {
    uint64_t carry = 0;
    for (int32_t i = 0; i < len; i++) {
        uint64_t t = (uint64_t)num[i] * m + carry;
        num[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry && len < LIMBS) num[len++] = (uint32_t)carry;
    return len;
}

/* Divide in place by d, returning the remainder. */
static uint32_t div_small(int32_t len, uint32_t d) {
    uint64_t rem = 0;
    for (int32_t i = len - 1; i >= 0; i--) {
        uint64_t cur = (rem << 32) | num[i];
        num[i] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    return (uint32_t)rem;
}

static int32_t is_zero(int32_t len) {
    for (int32_t i = 0; i < len; i++)
        if (num[i]) return 0;
    return 1;
}

static int64_t digit_sum(int32_t len) {
    int64_t s = 0;
    while (!is_zero(len)) s += div_small(len, 10u);
    return s;
}

/* Sum of the decimal digits of n! */
int64_t factorial_digit_sum(int32_t n) {
    int32_t len = set_small(1);
    for (int32_t k = 2; k <= n; k++) len = mul_small(len, (uint32_t)k);
    return digit_sum(len);
}

/* Sum of the decimal digits of 2^e */
int64_t pow2_digit_sum(int32_t e) {
    int32_t len = set_small(1);
    for (int32_t k = 0; k < e; k++) len = mul_small(len, 2u);
    return digit_sum(len);
}

/* n! mod m computed through the bignum: exercises 64-bit remainder. */
int64_t factorial_mod(int32_t n, int64_t m) {
    int32_t len = set_small(1);
    for (int32_t k = 2; k <= n; k++) len = mul_small(len, (uint32_t)k);
    uint64_t r = 0;
    for (int32_t i = len - 1; i >= 0; i--) r = ((r << 32) % (uint64_t)m + num[i]) % (uint64_t)m;
    return (int64_t)r;
}
