// The data caches of the machine, for the GEMM's cache blocking (Sources/Neural/Kernels/GEMMPlan.swift):
// read from Linux's sysfs, else from cpuid. Blocking sized from them changes only the speed of a
// product, never its bits (the K blocks are a function of k alone).
#include "CNeuralKernels.h"
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/// The first line of a small text file into buf (NUL-terminated, newline removed); 0 if unreadable.
static int cache_read_line(const char *path, char *buf, int size) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fgets(buf, size, f) != NULL;
    fclose(f);
    if (!ok) return 0;
    buf[strcspn(buf, "\n")] = 0;
    return 1;
}

/// Bytes of cpu0's data or unified cache of `level` as sysfs lists it; 0 if not found.
static long cache_sysfs(int level) {
    for (int i = 0; i < 16; i++) {
        char path[96], text[64];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (!cache_read_line(path, text, sizeof text)) continue;
        if (text[0] - '0' != level || text[1] != 0) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        if (!cache_read_line(path, text, sizeof text) || strcmp(text, "Instruction") == 0) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (!cache_read_line(path, text, sizeof text)) continue;
        char *end = text;
        long size = 0;
        while (*end >= '0' && *end <= '9') size = size * 10 + (*end++ - '0');
        if (*end == 'K') size <<= 10;
        else if (*end == 'M') size <<= 20;
        else if (*end == 'G') size <<= 30;
        if (size > 0) return size;
    }
    return 0;
}

#if defined(__x86_64__) || defined(__i386__)
/// Bytes of the data or unified cache of `level` from cpuid's deterministic cache parameters
/// (leaf 4 on Intel, 0x8000001D on AMD; the same layout); 0 if the leaf is missing.
static long cache_cpuid(int level) {
    unsigned leaves[2] = {4, 0x8000001D};
    for (int l = 0; l < 2; l++) {
        unsigned a, b, c, d;
        if (!__get_cpuid(leaves[l] & 0x80000000u, &a, &b, &c, &d) || a < leaves[l]) continue;
        for (unsigned sub = 0; sub < 16; sub++) {
            if (!__get_cpuid_count(leaves[l], sub, &a, &b, &c, &d)) break;
            unsigned type = a & 31;
            if (type == 0) break;
            if (type == 2 || (int)((a >> 5) & 7) != level) continue;
            long ways = (b >> 22) + 1, parts = ((b >> 12) & 1023) + 1, line = (b & 4095) + 1, sets = (long)c + 1;
            return ways * parts * line * sets;
        }
    }
    return 0;
}
#endif

long nk_cache_bytes(int level) {
    long size = cache_sysfs(level);
#if defined(__x86_64__) || defined(__i386__)
    if (size <= 0) size = cache_cpuid(level);
#endif
    return size > 0 ? size : 0;
}
