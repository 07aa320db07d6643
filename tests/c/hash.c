/* Hashes: FNV-1a (32 and 64 bit), splitmix64, and a 16-lane mixing round
   that keeps more values live than x86-64 has registers. */
#include <stdint.h>

static uint8_t buf[8192];

static void fill(int32_t n, uint32_t seed) {
    uint32_t x = seed | 1u;
    for (int32_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        buf[i] = (uint8_t)(x >> 24);
    }
}

static uint64_t fnv1a32(int32_t n) {
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < n; i++) h = (h ^ buf[i]) * 16777619u;
    return h;
}

static uint64_t fnv1a64(int32_t n) {
    uint64_t h = 14695981039346656037ull;
    for (int32_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211ull;
    return h;
}

static uint64_t splitmix(int32_t n) {
    uint64_t z = 0, acc = 0;
    for (int32_t i = 0; i < n; i++) {
        z += 0x9e3779b97f4a7c15ull + buf[i];
        uint64_t x = z;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        acc ^= x ^ (x >> 31);
    }
    return acc;
}

typedef uint64_t (*hash_fn)(int32_t);
static hash_fn const hashes[3] = {fnv1a32, fnv1a64, splitmix};

static int32_t clamp(int32_t n) { return n < 0 ? 0 : n > (int32_t)sizeof buf ? (int32_t)sizeof buf : n; }

int64_t hash_bytes(int32_t kind, int32_t n, int32_t seed) {
    n = clamp(n);
    fill(n, (uint32_t)seed);
    return (int64_t)hashes[(uint32_t)kind % 3u](n);
}

/* A switch over many cases (a br_table in wasm). */
int32_t hash_classify(int32_t v) {
    switch ((uint32_t)v % 12u) {
    case 0: return v / 7;
    case 1: return v % 7;
    case 2: return (int32_t)((uint32_t)v / 7u);
    case 3: return (int32_t)((uint32_t)v % 7u);
    case 4: return v << 3;
    case 5: return v >> 3;
    case 6: return (int32_t)((uint32_t)v >> 3);
    case 7: return (v << 7) | (int32_t)((uint32_t)v >> 25);
    case 8: return -v;
    case 9: return v ^ 0x5a5a5a5a;
    case 10: return (int32_t)(int8_t)v;
    default: return (int32_t)(int16_t)v;
    }
}

/* Sixteen lanes updated together: register pressure forces spills. */
int64_t hash_lanes(int32_t rounds, int32_t seed) {
    uint32_t a = (uint32_t)seed, b = a ^ 0x1234567u, c = a + 3u, d = a * 5u, e = a ^ 0xdeadbeefu,
             f = a + 0x1000u, g = a * 9u, h = ~a, i = a >> 3, j = a << 5, k = a ^ 0x55555555u,
             l = a + 77u, m = a * 13u, o = a ^ 0xabcdefu, p = a + 0x42u, q = a * 17u;
    for (int32_t r = 0; r < rounds; r++) {
        a += b ^ (q >> 3); b += c ^ (a << 5); c += d ^ (b >> 7); d += e ^ (c << 11);
        e += f ^ (d >> 13); f += g ^ (e << 2); g += h ^ (f >> 17); h += i ^ (g << 3);
        i += j ^ (h >> 5); j += k ^ (i << 7); k += l ^ (j >> 11); l += m ^ (k << 13);
        m += o ^ (l >> 2); o += p ^ (m << 17); p += q ^ (o >> 3); q += a ^ (p << 5);
    }
    uint64_t hi = (uint64_t)(a ^ c ^ e ^ g ^ i ^ k ^ m ^ p);
    uint64_t lo = (uint64_t)(b ^ d ^ f ^ h ^ j ^ l ^ o ^ q);
    return (int64_t)((hi << 32) | lo);
}
