/* Sorting: quicksort and insertion sort over a generated array, with the
   comparison chosen through a function-pointer table (call_indirect). */
#include <stdint.h>

#define N 4096
static int32_t data[N];
static uint32_t rng;

static uint32_t xorshift32(void) {
    uint32_t x = rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng = x;
}

static void fill(int32_t n, uint32_t seed) {
    rng = seed ? seed : 0x9e3779b9u;
    for (int32_t i = 0; i < n; i++)
        data[i] = (int32_t)(xorshift32() % 200001u) - 100000;
}

typedef int (*cmp_fn)(int32_t, int32_t);
static int ascending(int32_t a, int32_t b) { return a < b ? -1 : a > b; }
static int descending(int32_t a, int32_t b) { return a > b ? -1 : a < b; }
static int by_last_digit(int32_t a, int32_t b) {
    int32_t da = a % 10, db = b % 10; /* signed remainder */
    if (da != db) return da < db ? -1 : 1;
    return ascending(a, b);
}
static cmp_fn const orders[3] = {ascending, descending, by_last_digit};

static void quicksort(int32_t *a, int32_t lo, int32_t hi, cmp_fn cmp) {
    while (lo < hi) {
        int32_t p = a[lo + (hi - lo) / 2], i = lo, j = hi;
        while (i <= j) {
            while (cmp(a[i], p) < 0) i++;
            while (cmp(a[j], p) > 0) j--;
            if (i <= j) {
                int32_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            quicksort(a, lo, j, cmp);
            lo = i;
        } else {
            quicksort(a, i, hi, cmp);
            hi = j;
        }
    }
}

static void insertion(int32_t *a, int32_t n, cmp_fn cmp) {
    for (int32_t i = 1; i < n; i++) {
        int32_t v = a[i], j = i - 1;
        while (j >= 0 && cmp(a[j], v) > 0) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

/* Order-sensitive checksum; -1 if the array is not sorted. */
static int64_t check(int32_t n, cmp_fn cmp) {
    int64_t sum = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i > 0 && cmp(data[i - 1], data[i]) > 0) return -1;
        sum = sum * 1000003 + data[i];
    }
    return sum;
}

static int32_t clamp(int32_t n) { return n < 0 ? 0 : n > N ? N : n; }

int64_t sort_quick(int32_t n, int32_t seed, int32_t order) {
    n = clamp(n);
    cmp_fn cmp = orders[(uint32_t)order % 3u];
    fill(n, (uint32_t)seed);
    quicksort(data, 0, n - 1, cmp);
    return check(n, cmp);
}

int64_t sort_insertion(int32_t n, int32_t seed, int32_t order) {
    n = clamp(n);
    cmp_fn cmp = orders[(uint32_t)order % 3u];
    fill(n, (uint32_t)seed);
    insertion(data, n, cmp);
    return check(n, cmp);
}

/* Median of the generated values, by sorting. */
int32_t sort_median(int32_t n, int32_t seed) {
    n = clamp(n);
    if (n == 0) return 0;
    fill(n, (uint32_t)seed);
    quicksort(data, 0, n - 1, ascending);
    return data[n / 2];
}
