// libFuzzer target for the persisted-format validator: any bytes as a pool
// image. Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so CRC
// mismatches do not stop the walk and mutations reach the deeper checks.
#include <cstddef>
#include <cstdint>

#include "pool_image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::vector<u8> image(data, data + size);
	pkram_fuzz::load_pool_image(image);
	return 0;
}
