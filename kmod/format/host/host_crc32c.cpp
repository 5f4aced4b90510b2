// The host's CRC-32C for the shared format code (the module uses the kernel's
// crc32c()). Raw: no initial or final inversion, so calls can be chained.
#include <boost/crc.hpp>
#include <cstddef>
#include <cstdint>

static uint32_t reflect32(uint32_t x)
{
	uint32_t r = 0;
	for (int i = 0; i < 32; i++, x >>= 1)
		r = (r << 1) | (x & 1);
	return r;
}

extern "C" uint32_t pkram_fmt_crc32c_raw(uint32_t crc, const void *data, size_t len)
{
	// Boost keeps a reflected CRC's remainder unreflected: hand it over that way.
	boost::crc_optimal<32, 0x1EDC6F41, 0, 0, true, true> c(reflect32(crc));
	c.process_bytes(data, len);
	return c.checksum();
}
