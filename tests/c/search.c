/* String search: naive and Boyer-Moore-Horspool over a generated text. */
#include <stdint.h>

static uint8_t text[32768];
static uint8_t pat[64];
static int32_t shift[256];

static void gen(int32_t n, uint32_t seed, int32_t alphabet) {
    uint32_t x = seed | 1u;
    for (int32_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        text[i] = (uint8_t)('a' + x % (uint32_t)alphabet);
    }
}

static int32_t naive(int32_t n, int32_t m) {
    int32_t count = 0;
    for (int32_t i = 0; i + m <= n; i++) {
        int32_t j = 0;
        while (j < m && text[i + j] == pat[j]) j++;
        if (j == m) count++;
    }
    return count;
}

static int32_t horspool(int32_t n, int32_t m) {
    for (int32_t c = 0; c < 256; c++) shift[c] = m;
    for (int32_t j = 0; j < m - 1; j++) shift[pat[j]] = m - 1 - j;
    int32_t count = 0, i = 0;
    while (i + m <= n) {
        int32_t j = m - 1;
        while (j >= 0 && text[i + j] == pat[j]) j--;
        if (j < 0) count++;
        i += shift[text[i + m - 1]];
    }
    return count;
}

/* Count occurrences of the pattern text[at..at+m) in text[0..n) both ways;
   returns naive * 65536 + horspool so a disagreement shows. */
int32_t search_count(int32_t n, int32_t m, int32_t at, int32_t seed, int32_t alphabet) {
    if (n < 0 || n > (int32_t)sizeof text) n = (int32_t)sizeof text;
    if (m < 1 || m > (int32_t)sizeof pat) m = 1;
    if (alphabet < 1 || alphabet > 26) alphabet = 4;
    if (at < 0 || at + m > n) at = 0;
    gen(n, (uint32_t)seed, alphabet);
    for (int32_t j = 0; j < m; j++) pat[j] = text[at + j];
    return naive(n, m) * 65536 + horspool(n, m);
}
