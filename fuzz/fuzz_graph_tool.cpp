// libFuzzer harness: io::parse_graph_tool on arbitrary bytes, and io::read_graph_tool on the
// same bytes written to a temporary file, raw and gzip-compressed. Bad input must be rejected
// with ember::Error. A graph that parses is read through every accessor, and re-encoded: the
// re-encoding must parse and encode to itself, and for a little-endian file without long
// double values (the one type whose padding bytes and NaN payloads are not kept) it must equal
// the input byte for byte, so every byte the parser accepted was accounted for.
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ember/io/graph_tool.hpp>
#include <string>
#include <vector>

namespace {

using namespace ember::io;

template <class F>
void tolerate(F&& f) {
  try {
    f();
  } catch (const ember::Error&) {
  }
}

void exercise(const GraphToolGraph& g) {
  for (const GraphToolProperty& p : g.properties) {
    if (p.type == GtType::string || p.type == GtType::python_object) {
      if (g.values<std::string>(p.key, p.name).size() != p.size()) __builtin_trap();
    } else if (p.type == GtType::vector_string) {
      (void)g.vector_values<std::string>(p.key, p.name);
    } else if (gt_is_vector(p.type)) {
      (void)g.vector_values<double>(p.key, p.name);
      tolerate([&] { (void)g.vector_values<int16_t>(p.key, p.name); });
      tolerate([&] { (void)g.vector_values<bool>(p.key, p.name); });
    } else {
      if (g.values<double>(p.key, p.name).size() != p.size()) __builtin_trap();
      (void)g.values<float>(p.key, p.name);
      tolerate([&] { (void)g.values<int64_t>(p.key, p.name); });
      tolerate([&] { (void)g.values<uint8_t>(p.key, p.name); });
      tolerate([&] { (void)g.values<bool>(p.key, p.name); });
    }
    if (p.key == GtKey::vertex)
      tolerate([&] {
        const auto labels = g.vertex_labels(p.name);
        for (int64_t id : labels.ids)
          if (id < 0 || static_cast<size_t>(id) >= labels.classes.size()) __builtin_trap();
      });
  }
  tolerate([&] { (void)g.vertex_property<double>("\x01no such map"); });

  const std::vector<uint8_t> once = encode_graph_tool(g);
  const std::vector<uint8_t> twice = encode_graph_tool(parse_graph_tool(once, "<re-encoded>"));
  if (once != twice) __builtin_trap();
}

// The parse of the input, checked against its re-encoding (see the top of the file).
void check_bytes(const uint8_t* data, size_t size) {
  tolerate([&] {
    const GraphToolGraph g = parse_graph_tool(data, size, "<fuzz>");
    exercise(g);
    bool exact = size > 7 && data[7] == 0;
    for (const GraphToolProperty& p : g.properties)
      if (p.type == GtType::long_double || p.type == GtType::vector_long_double) exact = false;
    if (exact) {
      const std::vector<uint8_t> out = encode_graph_tool(g);
      if (out.size() != size || std::memcmp(out.data(), data, size) != 0) __builtin_trap();
    }
  });
}

const std::string& temp_base() {
  static const std::string base = "/tmp/ember_fuzz_graph_tool." + std::to_string(::getpid());
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_bytes(data, size);
  // Through a file: raw bytes (which may themselves be gzip data: the seed corpus holds a
  // .gt.gz), then gzip-compressed.
  const std::string raw = temp_base() + ".gt", gz = temp_base() + ".gt.gz";
  if (std::FILE* f = std::fopen(raw.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    tolerate([&] { exercise(read_graph_tool(raw)); });
  }
  if (gzFile g = gzopen(gz.c_str(), "wb1")) {
    if (size) gzwrite(g, data, unsigned(size));
    gzclose(g);
    tolerate([&] { exercise(read_graph_tool(gz)); });
  }
  std::remove(raw.c_str());
  std::remove(gz.c_str());
  return 0;
}
