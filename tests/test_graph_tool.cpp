// graph-tool's .gt reader (include/ember/io/graph_tool.hpp): the three labelled graphs of the
// collection the CCGC example uses (counts from ../shared/papers/08-ccgc-clustering.md), a
// hand-built file holding every value type of the format (built here byte by byte, not with
// encode_graph_tool, so reader and writer are checked against the format, not each other),
// the index widths, big-endian files, and truncated or corrupted input, which must throw
// ember::Error naming the byte offset.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/data/data_root.hpp"
#include "ember/io/graph_tool.hpp"

namespace {

namespace fs = std::filesystem;
using namespace ember::io;

// The message of the ember::Error that f throws; "" (and a failed check) when it throws none.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ember::Error& e) {
    return e.what();
  }
  FAIL_CHECK("expected an ember::Error");
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Writes the .gt format byte by byte, in either byte order.
struct GtBytes {
  std::vector<uint8_t> b;
  bool big = false;

  GtBytes& u8(int v) {
    b.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  GtBytes& un(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) {
      const int shift = 8 * (big ? width - 1 - i : i);
      b.push_back(static_cast<uint8_t>(v >> shift));
    }
    return *this;
  }
  GtBytes& u64(uint64_t v) { return un(v, 8); }
  GtBytes& i16(int16_t v) { return un(static_cast<uint16_t>(v), 2); }
  GtBytes& i32(int32_t v) { return un(static_cast<uint32_t>(v), 4); }
  GtBytes& i64(int64_t v) { return un(static_cast<uint64_t>(v), 8); }
  GtBytes& f64(double d) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    return un(u, 8);
  }
  // An x87 extended value, little-endian: significand, sign|exponent, 6 padding bytes (filled
  // with junk, which the reader must ignore).
  GtBytes& x87(uint64_t mant, uint16_t sign_exp) {
    un(mant, 8);
    un(sign_exp, 2);
    for (int i = 0; i < 6; ++i) u8(0xA5);
    return *this;
  }
  GtBytes& str(const std::string& s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  GtBytes& header(const std::string& comment = "") {
    for (int c : {0xE2, 0x9B, 0xBE, 0x20, 0x67, 0x74}) u8(c);
    u8(1).u8(big ? 1 : 0);
    return str(comment);
  }
  GtBytes& prop(GtKey key, const std::string& name, GtType type) {
    u8(static_cast<int>(key));
    str(name);
    return u8(static_cast<int>(type));
  }
};

// A directed graph on 3 vertices with edges 0->1, 0->2, 2->1 and a map of every value type
// (the two long double maps only when little-endian). Returns the bytes.
std::vector<uint8_t> every_type_file(bool big_endian) {
  GtBytes w;
  w.big = big_endian;
  w.header("fixture");
  w.u8(1).u64(3);               // directed, N = 3: 1-byte indices
  w.u64(2).u8(1).u8(2);         // vertex 0 -> 1, 2
  w.u64(0);                     // vertex 1
  w.u64(1).u8(1);               // vertex 2 -> 1
  w.u64(big_endian ? 14 : 16);  // property maps
  w.prop(GtKey::graph, "gb", GtType::boolean).u8(1);
  w.prop(GtKey::vertex, "vi16", GtType::int16).i16(-2).i16(0).i16(32767);
  w.prop(GtKey::vertex, "vi32", GtType::int32).i32(-70000).i32(1).i32(2147483647);
  w.prop(GtKey::edge, "ei64", GtType::int64)
      .i64(-(int64_t{1} << 40))
      .i64(0)
      .i64(std::numeric_limits<int64_t>::max());
  w.prop(GtKey::vertex, "vd", GtType::float64).f64(0.5).f64(-1.25).f64(3.0);
  if (!big_endian)
    w.prop(GtKey::graph, "gld", GtType::long_double).x87(uint64_t{0xC} << 60, 0x3FFF);
  w.prop(GtKey::graph, "readme", GtType::string).str(std::string("hello\0world", 11));
  w.prop(GtKey::vertex, "vvb", GtType::vector_bool);
  w.u64(3).u8(1).u8(0).u8(1).u64(0).u64(1).u8(0);
  w.prop(GtKey::edge, "evi16", GtType::vector_int16);
  w.u64(1).i16(-1).u64(2).i16(2).i16(3).u64(0);
  w.prop(GtKey::vertex, "vvi32", GtType::vector_int32);
  w.u64(0).u64(1).i32(7).u64(3).i32(8).i32(9).i32(10);
  w.prop(GtKey::graph, "gvi64", GtType::vector_int64).u64(3).i64(1).i64(-1).i64(int64_t{1} << 50);
  w.prop(GtKey::vertex, "pos", GtType::vector_float64);
  w.u64(2).f64(0).f64(1).u64(2).f64(2).f64(3).u64(2).f64(-4.5).f64(5.5);
  if (!big_endian) {
    w.prop(GtKey::graph, "gvld", GtType::vector_long_double).u64(2);
    w.x87(uint64_t{1} << 63, 0xC000).x87(0, 0);  // -2.0, +0.0
  }
  w.prop(GtKey::edge, "evs", GtType::vector_string);
  w.u64(2).str("a").str("bc").u64(0).u64(1).str("");
  w.prop(GtKey::vertex, "obj", GtType::python_object);
  w.str("\x80\x04N.").str("\x80\x04\x88.").str("");
  w.prop(GtKey::vertex, "value", GtType::string).str("n").str("l").str("n");
  return w.b;
}

void check_every_type(const GraphToolGraph& g, bool big_endian) {
  CHECK(g.comment == "fixture");
  CHECK(g.directed);
  CHECK(g.num_nodes == 3);
  CHECK(g.sources == std::vector<int64_t>{0, 0, 2});
  CHECK(g.targets == std::vector<int64_t>{1, 2, 1});
  CHECK(g.properties.size() == (big_endian ? 14u : 16u));

  CHECK(g.graph_property<bool>("gb") == true);
  CHECK(g.vertex_property<int16_t>("vi16") == std::vector<int16_t>{-2, 0, 32767});
  CHECK(g.vertex_property<int64_t>("vi32") == std::vector<int64_t>{-70000, 1, 2147483647});
  CHECK(g.edge_property<int64_t>("ei64") ==
        std::vector<int64_t>{-(int64_t{1} << 40), 0, std::numeric_limits<int64_t>::max()});
  CHECK(g.vertex_property<double>("vd") == std::vector<double>{0.5, -1.25, 3.0});
  CHECK(g.vertex_property<float>("vi16") == std::vector<float>{-2.f, 0.f, 32767.f});
  CHECK(g.graph_property<std::string>("readme") == std::string("hello\0world", 11));
  CHECK(g.vertex_vector_property<bool>("vvb") ==
        std::vector<std::vector<bool>>{{true, false, true}, {}, {false}});
  CHECK(g.edge_vector_property<int16_t>("evi16") ==
        std::vector<std::vector<int16_t>>{{-1}, {2, 3}, {}});
  CHECK(g.vertex_vector_property<int32_t>("vvi32") ==
        std::vector<std::vector<int32_t>>{{}, {7}, {8, 9, 10}});
  CHECK(g.graph_vector_property<int64_t>("gvi64") == std::vector<int64_t>{1, -1, int64_t{1} << 50});
  CHECK(g.vertex_vector_property<double>("pos") ==
        std::vector<std::vector<double>>{{0, 1}, {2, 3}, {-4.5, 5.5}});
  CHECK(g.edge_vector_property<std::string>("evs") ==
        std::vector<std::vector<std::string>>{{"a", "bc"}, {}, {""}});
  CHECK(g.vertex_property<std::string>("obj") ==
        std::vector<std::string>{"\x80\x04N.", "\x80\x04\x88.", ""});
  CHECK(g.property(GtKey::vertex, "obj").type == GtType::python_object);
  if (!big_endian) {
    CHECK(g.graph_property<double>("gld") == 1.5);
    CHECK(g.property(GtKey::graph, "gld").type == GtType::long_double);
    const auto v = g.graph_vector_property<double>("gvld");
    REQUIRE(v.size() == 2);
    CHECK(v[0] == -2.0);
    CHECK(v[1] == 0.0);
    CHECK(!std::signbit(v[1]));
  }
  const auto labels = g.vertex_labels("value");
  CHECK(labels.classes == std::vector<std::string>{"l", "n"});
  CHECK(labels.ids == std::vector<int64_t>{1, 0, 1});
}

// Writes bytes to path, gzip-compressed when gz.
void write_file(const std::string& path, const std::vector<uint8_t>& bytes, bool gz) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
    REQUIRE(gzclose(f) == Z_OK);
  } else {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
  }
}

struct TempDir {
  fs::path path;
  TempDir()
      : path(fs::temp_directory_path() / ("ember_test_graph_tool_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::map<std::string, int64_t> class_counts(const GraphToolGraph::Labels& l) {
  std::map<std::string, int64_t> counts;
  for (int64_t id : l.ids) counts[l.classes.at(static_cast<size_t>(id))]++;
  return counts;
}

// The real file's bytes (decompressed), its parse, and the check that re-encoding the parse
// gives the same bytes back: every byte of the file was read into the graph.
GraphToolGraph read_collection_graph(const std::string& name) {
  const std::string path =
      ember::data::require_data("graph-tool/" + name + ".gt.gz", "the graph-tool collection");
  const std::vector<uint8_t> bytes = read_maybe_gzipped(path, "test", "a .gt file", kGraphToolMaxBytes);
  GraphToolGraph g = read_graph_tool(path);
  CHECK(encode_graph_tool(g) == bytes);
  return g;
}

}  // namespace

TEST_CASE("graph_tool: polblogs, football and polbooks have the note's counts") {
  SUBCASE("polblogs: 1490 nodes, 19090 directed edges, 758 liberal / 732 conservative") {
    const GraphToolGraph g = read_collection_graph("polblogs");
    CHECK(g.num_nodes == 1490);
    CHECK(g.num_edges() == 19090);
    CHECK(g.directed);
    CHECK(g.property(GtKey::vertex, "value").type == GtType::float64);
    const auto labels = g.vertex_labels("value");
    CHECK(labels.classes == std::vector<std::string>{"0", "1"});
    CHECK(class_counts(labels) == std::map<std::string, int64_t>{{"0", 758}, {"1", 732}});
    CHECK(g.vertex_property<std::string>("label").size() == 1490);
    CHECK(g.vertex_vector_property<double>("pos").size() == 1490);
  }
  SUBCASE("football: 115 nodes, 613 undirected edges, 12 conferences") {
    const GraphToolGraph g = read_collection_graph("football");
    CHECK(g.num_nodes == 115);
    CHECK(g.num_edges() == 613);
    CHECK(!g.directed);
    CHECK(g.property(GtKey::vertex, "value").type == GtType::int32);
    const auto labels = g.vertex_labels("value");
    CHECK(labels.classes.size() == 12);
    const auto counts = class_counts(labels);
    int64_t total = 0;
    for (const auto& [k, c] : counts) total += c;
    CHECK(total == 115);
    CHECK(contains(g.graph_property<std::string>("readme"), "football"));
  }
  SUBCASE("polbooks: 105 nodes, 441 undirected edges, 43 liberal / 13 neutral / 49 conservative") {
    const GraphToolGraph g = read_collection_graph("polbooks");
    CHECK(g.num_nodes == 105);
    CHECK(g.num_edges() == 441);
    CHECK(!g.directed);
    CHECK(g.property(GtKey::vertex, "value").type == GtType::string);
    CHECK(class_counts(g.vertex_labels("value")) ==
          std::map<std::string, int64_t>{{"l", 43}, {"n", 13}, {"c", 49}});
  }
  SUBCASE("karate: 34 nodes, 78 edges, every endpoint in range") {
    const GraphToolGraph g = read_collection_graph("karate");
    CHECK(g.num_nodes == 34);
    CHECK(g.num_edges() == 78);
    for (size_t e = 0; e < g.sources.size(); ++e) {
      CHECK(g.sources[e] >= 0);
      CHECK(g.targets[e] < 34);
    }
  }
}

TEST_CASE("graph_tool: a file with every value type, little- and big-endian") {
  const std::vector<uint8_t> le = every_type_file(false);
  check_every_type(parse_graph_tool(le, "every_type_le"), false);
  const std::vector<uint8_t> be = every_type_file(true);
  check_every_type(parse_graph_tool(be, "every_type_be"), true);

  // encode_graph_tool writes little-endian; the only bytes it cannot reproduce are the junk
  // padding of the two long double values (it writes zeros), so compare after zeroing them.
  std::vector<uint8_t> le_clean = le;
  const GraphToolGraph g = parse_graph_tool(le, "every_type_le");
  std::vector<uint8_t> out = encode_graph_tool(g);
  REQUIRE(out.size() == le.size());
  size_t diffs = 0;
  for (size_t i = 0; i < le.size(); ++i)
    if (le[i] != out[i]) {
      CHECK(le[i] == 0xA5);
      CHECK(out[i] == 0);
      ++diffs;
    }
  CHECK(diffs == 3 * 6);
  // The big-endian file re-encodes to the little-endian one (less the long double maps).
  const GraphToolGraph gb = parse_graph_tool(be, "every_type_be");
  check_every_type(parse_graph_tool(encode_graph_tool(gb), "re-encoded"), true);
}

TEST_CASE("graph_tool: read_graph_tool reads plain and gzipped files, and names bad ones") {
  TempDir dir;
  const std::vector<uint8_t> bytes = every_type_file(false);
  write_file(dir.file("g.gt"), bytes, false);
  write_file(dir.file("g.gt.gz"), bytes, true);
  check_every_type(read_graph_tool(dir.file("g.gt")), false);
  check_every_type(read_graph_tool(dir.file("g.gt.gz")), false);

  // A truncated gzip stream: the first half of the compressed file.
  std::ifstream in(dir.file("g.gt.gz"), std::ios::binary);
  std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gz.resize(gz.size() / 2);
  write_file(dir.file("half.gt.gz"), gz, false);
  const std::string half = error_of([&] { (void)read_graph_tool(dir.file("half.gt.gz")); });
  CHECK(contains(half, "half.gt.gz"));

  // A plain file one byte short: the last value, the 1-byte string "n", now overruns the file;
  // the error names the file and the offset of that string's length field.
  std::vector<uint8_t> cut = bytes;
  cut.pop_back();
  write_file(dir.file("cut.gt"), cut, false);
  const std::string msg = error_of([&] { (void)read_graph_tool(dir.file("cut.gt")); });
  CHECK(contains(msg, "cut.gt"));
  CHECK(contains(msg, "byte offset " + std::to_string(bytes.size() - 9) + " "));
  CHECK(contains(msg, "vertex property 'value' (string), item 2"));
  CHECK(contains(msg, "truncated"));

  CHECK(contains(error_of([&] { (void)read_graph_tool(dir.file("missing.gt.gz")); }),
                 "file not found"));
  CHECK(contains(error_of([&] { (void)read_graph_tool(dir.path.string()); }), "directory"));
}

TEST_CASE("graph_tool: the vertex index width follows N (1, 2, 4 bytes)") {
  // N vertices, one edge (N-1) -> (N-1)... written with `width`-byte indices.
  auto file = [](uint64_t n, int width) {
    GtBytes w;
    w.header();
    w.u8(0).u64(n);
    for (uint64_t v = 0; v + 1 < n; ++v) w.u64(0);
    w.u64(2).un(n - 1, width).un(0, width);
    w.u64(0);
    return w.b;
  };
  for (const auto& [n_, width_] :
       {std::pair<uint64_t, int>{1, 1}, {255, 1}, {256, 2}, {65535, 2}, {65536, 4}}) {
    const uint64_t n = n_;  // a copy: clang 14 cannot capture structured bindings
    const int width = width_;
    CAPTURE(n);
    const GraphToolGraph g = parse_graph_tool(file(n, width), "width");
    CHECK(g.num_nodes == static_cast<int64_t>(n));
    CHECK(g.sources ==
          std::vector<int64_t>{static_cast<int64_t>(n) - 1, static_cast<int64_t>(n) - 1});
    CHECK(g.targets == std::vector<int64_t>{static_cast<int64_t>(n) - 1, 0});
    // The wrong width leaves bytes over (too narrow) or runs out (too wide).
    const int wrong = width == 1 ? 2 : width / 2;
    const std::string msg = error_of([&] { (void)parse_graph_tool(file(n, wrong), "width"); });
    CHECK(contains(msg, "byte offset"));
  }
  // An empty graph: no vertices, no maps.
  GtBytes w;
  w.header().u8(0).u64(0).u64(0);
  const GraphToolGraph g = parse_graph_tool(w.b, "empty");
  CHECK(g.num_nodes == 0);
  CHECK(g.num_edges() == 0);
  CHECK(encode_graph_tool(g) == w.b);
}

TEST_CASE("graph_tool: every truncation of a valid file throws with the offset") {
  const std::vector<uint8_t> bytes = every_type_file(false);
  for (size_t k = 0; k < bytes.size(); ++k) {
    CAPTURE(k);
    const std::string msg =
        error_of([&] { (void)parse_graph_tool(std::span<const uint8_t>(bytes.data(), k), "cut"); });
    CHECK(contains(msg, "'cut'"));
    CHECK(contains(msg, "byte offset"));
    CHECK(contains(msg, "truncated"));
  }
}

TEST_CASE("graph_tool: corrupted fields throw naming the offset and what was expected") {
  // Offsets into every_type_file(false): magic 0, version 6, byte order 7, comment length 8,
  // comment 16..22, directed 23, N 24..31, vertex 0's degree 32..39, its neighbours 40, 41.
  const std::vector<uint8_t> good = every_type_file(false);
  auto corrupt = [&](size_t at, uint8_t value) {
    std::vector<uint8_t> b = good;
    b[at] = value;
    return error_of([&] { (void)parse_graph_tool(b, "bad"); });
  };
  auto has = [](const std::string& msg, size_t at, const std::string& expected) {
    CAPTURE(msg);
    CHECK(contains(msg, "'bad'"));
    CHECK(contains(msg, "byte offset " + std::to_string(at) + " "));
    CHECK(contains(msg, expected));
  };
  has(corrupt(0, 'X'), 0, "expected the magic");
  has(corrupt(6, 2), 6, "expected version 1, got 2");
  has(corrupt(7, 2), 7, "byte-order byte 0 (little-endian) or 1 (big-endian), got 2");
  has(corrupt(23, 7), 23, "directed flag 0 or 1, got 7");
  has(corrupt(40, 3), 40, "neighbour index below N = 3");
  // A huge count is refused before anything is allocated from it.
  has(corrupt(31, 0x40), 24, "number of vertices N to fit in the");
  has(corrupt(15, 0x7f), 8, "comment to fit in the");
  has(corrupt(39, 0x10), 32, "out-degree of this vertex to fit");

  // Fields of the first property map (graph bool "gb"), after the adjacency.
  const size_t props = 32 + (8 + 2) + 8 + (8 + 1);  // the count of maps
  const size_t key = props + 8, type = key + 1 + 8 + 2, value = type + 1;
  REQUIRE(good[key] == 0);
  REQUIRE(good[type] == 0);
  REQUIRE(good[value] == 1);
  has(corrupt(key, 3), key, "key type 0 (graph), 1 (vertex) or 2 (edge), got 3");
  has(corrupt(type, 15), type, "value type 0..14");
  has(corrupt(value, 2), value, "a bool (0 or 1), got 2");
  has(corrupt(props + 7, 0x20), props, "number of property maps to fit");

  // A trailing byte, a second map of the same name, and a gzip file given to the in-memory
  // parser.
  std::vector<uint8_t> trailing = good;
  trailing.push_back(0);
  has(error_of([&] { (void)parse_graph_tool(trailing, "bad"); }), good.size(),
      "expected the end of the file after 16 property maps, got 1 more bytes");
  {
    GtBytes w;
    w.header().u8(0).u64(1).u64(0).u64(2);
    w.prop(GtKey::vertex, "x", GtType::int32).i32(1);
    const size_t second = w.b.size() + 1;
    w.prop(GtKey::vertex, "x", GtType::int32).i32(2);
    has(error_of([&] { (void)parse_graph_tool(w.b, "bad"); }), second, "got a second 'x'");
  }
  {
    std::vector<uint8_t> gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0};
    has(error_of([&] { (void)parse_graph_tool(gz, "bad"); }), 0, "gzip data");
  }
  {  // A vertex map's values must fit: N = 3 vertices, a string map whose lengths are huge.
    GtBytes w;
    w.header().u8(0).u64(3).u64(0).u64(0).u64(0).u64(1);
    w.prop(GtKey::vertex, "s", GtType::string);
    const size_t at = w.b.size();
    w.u64(uint64_t{1} << 60).u64(0).u64(0);
    has(error_of([&] { (void)parse_graph_tool(w.b, "bad"); }), at, "a string value to fit");
  }
  {  // A long double in a big-endian file.
    GtBytes w;
    w.big = true;
    w.header().u8(0).u64(0).u64(1);
    w.prop(GtKey::graph, "ld", GtType::long_double);
    const size_t at = w.b.size();
    w.x87(0, 0);
    has(error_of([&] { (void)parse_graph_tool(w.b, "bad"); }), at, "no long double values");
  }
}

TEST_CASE("graph_tool: single-byte corruptions throw ember::Error or parse, nothing else") {
  // Every byte of the file set to a few values: the parser may accept the result (a changed
  // value) but must never crash or throw anything but ember::Error.
  const std::vector<uint8_t> good = every_type_file(false);
  size_t rejected = 0, accepted = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t v : {uint8_t{0}, uint8_t{1}, uint8_t{0x7f}, uint8_t{0xff}}) {
      if (good[i] == v) continue;
      std::vector<uint8_t> b = good;
      b[i] = v;
      try {
        const GraphToolGraph g = parse_graph_tool(b, "flip");
        ++accepted;
        CHECK(g.num_nodes == 3);  // N's bytes cannot change and still leave a valid file
      } catch (const ember::Error&) {
        ++rejected;
      }
    }
  }
  CHECK(rejected > 0);
  CHECK(accepted > 0);
}

TEST_CASE("graph_tool: accessors convert numbers exactly or throw") {
  const GraphToolGraph g = parse_graph_tool(every_type_file(false), "fixture");
  // int32 value 2147483647 does not fit int16; -70000 not uint32.
  CHECK(contains(error_of([&] { (void)g.vertex_property<int16_t>("vi32"); }),
                 "value 0 = -70000 is not representable as int16_t"));
  CHECK(contains(error_of([&] { (void)g.vertex_property<uint32_t>("vi32"); }),
                 "is not representable as uint32_t"));
  // double 0.5 is not an integer; int64 max does not fit int32.
  CHECK(contains(error_of([&] { (void)g.vertex_property<int64_t>("vd"); }),
                 "value 0 = 0.5 is not representable as int64_t"));
  CHECK(contains(error_of([&] { (void)g.edge_property<int32_t>("ei64"); }),
                 "value 0 = -1099511627776"));
  // Wrong kinds: a string map as numbers, a vector map as scalars, a number map as strings.
  CHECK(contains(error_of([&] { (void)g.vertex_property<int64_t>("value"); }),
                 "holds string values"));
  CHECK(contains(error_of([&] { (void)g.vertex_property<double>("pos"); }),
                 "holds vector<double> values"));
  CHECK(contains(error_of([&] { (void)g.vertex_property<std::string>("vd"); }),
                 "expected string or python::object"));
  CHECK(contains(error_of([&] { (void)g.vertex_vector_property<double>("vd"); }),
                 "expected a vector of numbers"));
  // A missing map lists the maps the graph has; the same name with another key is missing.
  const std::string missing = error_of([&] { (void)g.vertex_property<double>("nope"); });
  CHECK(contains(missing, "no vertex property 'nope'"));
  CHECK(contains(missing, "vertex 'pos' (vector<double>)"));
  CHECK(!g.has_property(GtKey::edge, "pos"));
  CHECK(g.has_property(GtKey::vertex, "pos"));
  // bool from a 0/1 integer map; 2 is not a bool.
  GtBytes w;
  w.header().u8(0).u64(2).u64(0).u64(0).u64(1);
  w.prop(GtKey::vertex, "b", GtType::int16).i16(1).i16(2);
  const GraphToolGraph h = parse_graph_tool(w.b, "bools");
  CHECK(contains(error_of([&] { (void)h.vertex_property<bool>("b"); }), "value 1 = 2"));
  CHECK(h.vertex_property<double>("b") == std::vector<double>{1.0, 2.0});
}

TEST_CASE("graph_tool: x87 long double decoding and encoding") {
  auto encode = [](long double v) {
    uint8_t b[16];
    detail::gt_encode_x87(v, b);
    return std::vector<uint8_t>(b, b + 16);
  };
  // Known bit patterns: 1.5, -2, the smallest denormal, infinity.
  const std::vector<uint8_t> one_half = encode(1.5L);
  CHECK(one_half == std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0x3F, 0, 0, 0, 0, 0, 0});
  CHECK(detail::gt_decode_x87(one_half.data()) == 1.5L);
  CHECK(detail::gt_decode_x87(encode(-2.0L).data()) == -2.0L);
  CHECK(std::isinf(
      detail::gt_decode_x87(encode(std::numeric_limits<long double>::infinity()).data())));
  CHECK(std::isnan(
      detail::gt_decode_x87(encode(std::numeric_limits<long double>::quiet_NaN()).data())));
  CHECK(std::signbit(detail::gt_decode_x87(encode(-0.0L).data())));
  for (long double v : {0.1L, -3.25L, 1e300L, 1e-300L, 123456789.0L}) {
    CAPTURE(static_cast<double>(v));
    CHECK(detail::gt_decode_x87(encode(v).data()) == v);
  }
  if constexpr (std::numeric_limits<long double>::digits == 64) {
    // Where long double is the x87 type, the encoding is its memory image (low 10 bytes).
    for (long double v : {1.5L, -0.1L, std::numeric_limits<long double>::max(),
                          std::numeric_limits<long double>::denorm_min(),
                          std::numeric_limits<long double>::min(), 1e4000L}) {
      uint8_t mem[sizeof(long double)] = {};
      std::memcpy(mem, &v, sizeof v);
      const std::vector<uint8_t> e = encode(v);
      CHECK(std::memcmp(mem, e.data(), 10) == 0);
      CHECK(detail::gt_decode_x87(mem) == v);
    }
  }
}

TEST_CASE("graph_tool: encode_graph_tool round-trips and rejects what the format cannot hold") {
  GraphToolGraph g;
  g.num_nodes = 300;  // 2-byte indices
  g.directed = false;
  g.sources = {0, 0, 5, 299};
  g.targets = {299, 1, 5, 0};
  GraphToolProperty w{GtKey::edge, "weight", GtType::float64, std::vector<double>{1, 2, 3, 4}};
  g.properties.push_back(w);
  const GraphToolGraph back = parse_graph_tool(encode_graph_tool(g), "round trip");
  CHECK(back.num_nodes == 300);
  CHECK(back.sources == g.sources);
  CHECK(back.targets == g.targets);
  CHECK(back.edge_property<double>("weight") == std::vector<double>{1, 2, 3, 4});

  GraphToolGraph unsorted = g;
  unsorted.sources = {5, 0, 0, 299};
  CHECK(contains(error_of([&] { (void)encode_graph_tool(unsorted); }), "grouped by source"));
  GraphToolGraph out_of_range = g;
  out_of_range.targets[0] = 300;
  CHECK(contains(error_of([&] { (void)encode_graph_tool(out_of_range); }), "outside [0, 300)"));
  GraphToolGraph wrong_size = g;
  wrong_size.properties[0].values = std::vector<double>{1};
  CHECK(contains(error_of([&] { (void)encode_graph_tool(wrong_size); }),
                 "holds 1 values, expected 4"));
  GraphToolGraph wrong_storage = g;
  wrong_storage.properties[0].values = std::vector<int64_t>{1, 2, 3, 4};
  CHECK(contains(error_of([&] { (void)encode_graph_tool(wrong_storage); }), "alternative 3"));
  GraphToolGraph bad_bool = g;
  bad_bool.properties[0] = {GtKey::edge, "b", GtType::boolean, std::vector<uint8_t>{0, 1, 2, 0}};
  CHECK(contains(error_of([&] { (void)encode_graph_tool(bad_bool); }), "bool other than 0 or 1"));
  GraphToolGraph twice = g;
  twice.properties.push_back(w);
  CHECK(contains(error_of([&] { (void)encode_graph_tool(twice); }), "two edge properties"));
}
