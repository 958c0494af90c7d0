// CRC-32C (Castagnoli), the checksum of Kafka v2 record batches.
//
// crc32c() uses the SSE4.2 crc32 instruction when the CPU has it (checked once, at first call) and
// a slicing-by-8 table otherwise; both give the same result.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kafka {

// The CRC of [data, data + n).  `crc` is a previous result to continue from, so that
// crc32c(b, nb, crc32c(a, na)) == crc32c(a followed by b); the standard pre- and post-inversion is
// done inside, so crc32c("123456789", 9) == 0xE3069283.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

// The table-driven implementation, whatever the CPU; exposed so tests can check the hardware path
// against it.
uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc = 0);

// Whether crc32c() runs on the SSE4.2 instruction on this machine.
bool crc32c_uses_hardware();

} // namespace kafka
