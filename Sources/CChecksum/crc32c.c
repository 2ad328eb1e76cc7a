// CRC-32C with the CPU's own instruction. Swift cannot emit it (no intrinsics), and the
// checksum covers every byte replay and verify read: slicing-by-8 in Swift was 14% of
// replay's main thread. Other CPUs keep the Swift table path (Ledger/Storage/CRC32C.swift).
#include "crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int pahlawan_crc32c_has_instruction(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2")))
uint32_t pahlawan_crc32c_instruction(uint32_t crc, const uint8_t *bytes, size_t count) {
    uint64_t register64 = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);  // unaligned and strict-aliasing safe; compiles to one load
        register64 = _mm_crc32_u64(register64, word);
        bytes += 8;
        count -= 8;
    }
    uint32_t register32 = (uint32_t)register64;
    while (count > 0) {
        register32 = _mm_crc32_u8(register32, *bytes);
        bytes += 1;
        count -= 1;
    }
    return register32;
}

#else

int pahlawan_crc32c_has_instruction(void) { return 0; }

uint32_t pahlawan_crc32c_instruction(uint32_t crc, const uint8_t *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return crc;
}

#endif
