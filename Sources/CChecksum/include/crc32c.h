#ifndef PAHLAWAN_CRC32C_H
#define PAHLAWAN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Non-zero when this CPU has a CRC-32C instruction this module uses (x86-64 SSE 4.2).
int pahlawan_crc32c_has_instruction(void);

/// Advances the CRC-32C register `crc` (not inverted: the caller inverts before and after)
/// over `count` bytes with the CPU's instruction. Only call it when the function above is
/// non-zero.
uint32_t pahlawan_crc32c_instruction(uint32_t crc, const uint8_t *bytes, size_t count);

#endif
