// libFuzzer harness: data::decode_y4m (the Y4M reader of data/video.hpp) on arbitrary bytes.
// Bad input must be rejected with ember::Error. A decoded video must hold exactly
// frames * frame_bytes plane bytes; its first and last frames are converted to RGB, and a
// random-free space-time cube (data/video_cubes.hpp) is cut from its top-left corner, so
// every plane offset the readers compute is exercised under the sanitizers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ember/data/video.hpp>
#include <ember/data/video_cubes.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ember::data;
  try {
    const Video v = decode_y4m(data, size, "<fuzz>");
    if (v.frames <= 0 || v.planes.size() != size_t(v.frames) * size_t(v.frame_bytes()))
      std::abort();
    for (int64_t t : {int64_t{0}, v.frames - 1}) {
      const Image img = video_frame_rgb(v, t);
      if (img.pixels.size() != size_t(v.width) * size_t(v.height) * 3) std::abort();
    }
    // The largest even-sized cube of up to 2 frames (even, so any chroma layout aligns).
    const CubeSpec spec{.frames = v.frames < 2 ? 1 : 2,
                        .height = v.height / 2 * 2,
                        .width = v.width / 2 * 2,
                        .align = 2};
    if (spec.height > 0 && spec.width > 0) {
      const VideoCube c = video_cube(v, CubePos{}, spec);
      if (c.y.numel() != spec.frames * spec.height * spec.width) std::abort();
      if ((v.chroma == Chroma::Mono) == c.cb.defined()) std::abort();
    }
  } catch (const ember::Error&) {
  }
  return 0;
}
