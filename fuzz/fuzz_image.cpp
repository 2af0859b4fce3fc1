// libFuzzer harness: data::decode_image (stb_image under ember's checks) on arbitrary bytes,
// keeping the file's channels and converting to 1 and 3 channels. Bad input must be rejected
// with ember::Error; a decoded image must hold exactly height*width*channels bytes.
//
// Known bugs of stb_image v2.27 (Debian 12's libstb), both fixed upstream in v2.28:
//  - fuzz/regressions/image/stb_pnm16_convert_overflow.pgm: the channels of a 16-bit PNM are
//    converted with the 8-bit routine, then stbi__convert_16_to_8 reads past the buffer
//    (heap-buffer-overflow).
//  - fuzz/regressions/image/stb_pnm_header_int_overflow.ppm: stbi__pnm_getinteger multiplies
//    a long run of header digits into an int (signed overflow, undefined behaviour).
// data/image.hpp guards against both (they stay in the CI corpus run as regressions).
#include <cstddef>
#include <cstdint>
#include <ember/data/image.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (int channels : {0, 1, 3}) {
    try {
      const ember::data::Image img = ember::data::decode_image(data, size, channels, "<fuzz>");
      if (img.pixels.size() != size_t(img.height) * size_t(img.width) * size_t(img.channels))
        std::abort();
    } catch (const ember::Error&) {
    }
  }
  return 0;
}
