// safetensors checkpoints: round trips of every dtype, the Python-written fixture, interop with
// two independent Python readers, hostile input (corrupt fixtures, every truncation, random byte
// flips, hand-made bad headers), the model/optimizer glue and atomic writing.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <ember/core/error.hpp>
#include <ember/core/tensor.hpp>
#include <ember/io/json.hpp>
#include <ember/io/safetensors.hpp>

namespace fs = std::filesystem;
namespace json = ember::io::json;
using ember::AnyTensor;
using ember::Generator;
using ember::StateDict;
using ember::Tensor;
using ember::io::SafetensorsFile;

namespace {

const std::string kFixtures = EMBER_SOURCE_DIR "/tests/fixtures/safetensors/";
const char* kPython = "/usr/bin/python3";  // Debian's, with numpy (tools/safetensors_ref.py)

// A fresh directory under the system temp dir, removed when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path() /
           ("ember_test_safetensors_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    return out;
  }
};

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open ", path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A raw file: little-endian header length (the true one unless given), header, data.
std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data = {},
                               uint64_t length = UINT64_MAX) {
  const uint64_t n = length == UINT64_MAX ? header.size() : length;
  std::vector<uint8_t> out;
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <class T>
std::vector<uint8_t> le_bytes(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty())
    std::memcpy(out.data(), values.data(), out.size());  // the host is little-endian
  return out;
}

SafetensorsFile parse(const std::vector<uint8_t>& bytes, const std::string& what = "mem") {
  return ember::io::parse_safetensors(bytes.data(), bytes.size(), what);
}

// Runs f, which must throw ember::Error whose message contains every one of `parts`.
template <class F>
void check_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    FAIL("expected ember::Error containing '", *parts.begin(), "', nothing was thrown");
  } catch (const ember::Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      CHECK_MESSAGE(msg.find(p) != std::string::npos, "message '", msg, "' lacks '", p, "'");
  }
}

// Same bits (so NaN == NaN and -0.0 != 0.0): exact comparison of floating values.
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

template <class T>
Tensor<T> as(const AnyTensor& t) {
  return Tensor<T>(t.impl);
}

// Runs a command through the shell; returns its exit code, with its output in `log`.
int run(const std::string& cmd, const std::string& log_path, std::string& log) {
  const int status = std::system((cmd + " > '" + log_path + "' 2>&1").c_str());
  std::ifstream in(log_path);
  log.assign(std::istreambuf_iterator<char>(in), {});
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void require_python() {
  if (!fs::exists(kPython))
    FAIL("the safetensors interop tests need ", kPython,
         " with numpy (Debian: apt-get install python3 python3-numpy); it is missing");
}

}  // namespace

// ---------------------------------------------------------------------- round trips

TEST_CASE("safetensors: round trip of every dtype, scalar, empty and non-contiguous tensors") {
  TempDir dir;
  Generator gen(7);
  const float inf = std::numeric_limits<float>::infinity();
  auto f32 = Tensor<float>::from_vector({1.5f, -0.0f, inf, -inf, std::nanf(""), 1e-45f}, {2, 3});
  auto f64 = Tensor<double>::randn({5}, gen);
  auto i32 = Tensor<int32_t>{INT32_MIN, -1, 0, INT32_MAX};
  auto i64 = Tensor<int64_t>{INT64_MIN, -9007199254740993, INT64_MAX};
  auto u8 = Tensor<uint8_t>{0, 1, 127, 255};
  auto b = Tensor<bool>::from_vector({true, false, false, true, true, false}, {3, 2});
  auto c64 = Tensor<std::complex<float>>::randn({2, 2}, gen);
  auto c128 = Tensor<std::complex<double>>::randn({3, 2}, gen);
  auto scalar = Tensor<double>::scalar(-2.75);
  auto empty = Tensor<float>::zeros({0, 3});
  auto base = Tensor<double>::randn({4, 3}, gen);
  auto transposed = base.t();  // non-contiguous: strides [1, 3]
  REQUIRE_FALSE(transposed.is_contiguous());
  auto c128_t = Tensor<std::complex<double>>::randn({2, 3}, gen).t();  // non-contiguous complex

  const StateDict sd = {{"f32", f32},
                        {"f64", f64},
                        {"i32", i32},
                        {"i64", i64},
                        {"u8", u8},
                        {"bool", b},
                        {"c64", c64},
                        {"c128", c128},
                        {"scalar", scalar},
                        {"empty", empty},
                        {"transposed", transposed},
                        {"c128_t", c128_t}};
  const std::map<std::string, std::string> md = {{"epoch", "3"}, {"note", "ünïcödé ✓"}};
  const std::string path = dir.file("all.safetensors");
  ember::io::save_safetensors(path, sd, md);

  SafetensorsFile f = ember::io::load_safetensors(path);
  CHECK(f.metadata == md);  // ember's complex128 key is consumed, not returned
  REQUIRE(f.tensors.size() == sd.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    CHECK(f.tensors[i].first == sd[i].first);  // header order is the state dict's order
    CHECK(f.tensors[i].second.impl->dtype == sd[i].second.impl->dtype);
    CHECK(f.tensors[i].second.impl->shape == sd[i].second.impl->shape);
  }
  using ember::io::get;
  CHECK(same_bits(get<float>(f, "f32").to_vector(), f32.to_vector()));
  CHECK(same_bits(get<double>(f, "f64").to_vector(), f64.to_vector()));
  CHECK(get<int32_t>(f, "i32").to_vector() == i32.to_vector());
  CHECK(get<int64_t>(f, "i64").to_vector() == i64.to_vector());
  CHECK(get<uint8_t>(f, "u8").to_vector() == u8.to_vector());
  CHECK(get<bool>(f, "bool").to_vector() == b.to_vector());
  CHECK(same_bits(get<std::complex<float>>(f, "c64").to_vector(), c64.to_vector()));
  CHECK(same_bits(get<std::complex<double>>(f, "c128").to_vector(), c128.to_vector()));
  CHECK(get<double>(f, "scalar").dim() == 0);
  CHECK(get<double>(f, "scalar").item() == -2.75);
  CHECK(get<float>(f, "empty").shape() == ember::Shape{0, 3});
  CHECK(get<double>(f, "transposed").shape() == ember::Shape{3, 4});
  CHECK(same_bits(get<double>(f, "transposed").to_vector(), transposed.to_vector()));
  CHECK(get<double>(f, "transposed").at({2, 1}) == base.at({1, 2}));
  CHECK(same_bits(get<std::complex<double>>(f, "c128_t").to_vector(), c128_t.to_vector()));
  CHECK(f.stored_dtypes.at("c64") == "C64");
  CHECK(f.stored_dtypes.at("c128") == "F64");
  CHECK(f.stored_dtypes.at("bool") == "BOOL");

  // The same bytes parse identically in memory.
  const std::vector<uint8_t> bytes = read_bytes(path);
  SafetensorsFile g = parse(bytes);
  CHECK(same_bits(get<double>(g, "transposed").to_vector(), transposed.to_vector()));

  // Layout: header length a multiple of 8, "__metadata__" first, complex128 as F64 [..., 2].
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[size_t(i)];
  CHECK(n % 8 == 0);
  const json::Value header =
      json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data() + 8), size_t(n)));
  REQUIRE(header.as_object().size() == sd.size() + 1);
  CHECK(header.as_object()[0].first == "__metadata__");
  CHECK(header.at("__metadata__").at("ember.complex128").as_string() == R"(["c128","c128_t"])");
  CHECK(header.at("c128").at("dtype").as_string() == "F64");
  CHECK(json::dump(header.at("c128").at("shape")) == "[3,2,2]");
  CHECK(json::dump(header.at("scalar").at("shape")) == "[]");
  CHECK(json::dump(header.at("f32").at("data_offsets")) == "[0,24]");
  CHECK(json::dump(header.at("f64").at("data_offsets")) == "[24,64]");
}

TEST_CASE("safetensors: no metadata writes no __metadata__; empty state dict round-trips") {
  TempDir dir;
  ember::io::save_safetensors(dir.file("x.safetensors"), {{"x", Tensor<float>{1, 2}}});
  const std::vector<uint8_t> bytes = read_bytes(dir.file("x.safetensors"));
  const std::string text(bytes.begin() + 8, bytes.end() - 8);
  CHECK(text.find("__metadata__") == std::string::npos);
  CHECK(text.find(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})") == 0);

  ember::io::save_safetensors(dir.file("none.safetensors"), {});
  SafetensorsFile f = ember::io::load_safetensors(dir.file("none.safetensors"));
  CHECK(f.tensors.empty());
  CHECK(f.metadata.empty());
}

TEST_CASE("safetensors: tensors that require grad save without recording a graph") {
  TempDir dir;
  Generator gen(3);
  auto w = Tensor<double>::randn({3, 2}, gen).requires_grad_();
  ember::io::save_safetensors(dir.file("w.safetensors"), {{"wt", w.t()}});
  auto wt = ember::io::get<double>(ember::io::load_safetensors(dir.file("w.safetensors")), "wt");
  CHECK_FALSE(wt.requires_grad());
  CHECK(same_bits(wt.to_vector(), w.t().to_vector()));
}

// ---------------------------------------------------------------------- the Python fixture

TEST_CASE("safetensors: the Python-written fixture loads exactly as its expected.json says") {
  const std::string path = kFixtures + "py_written.safetensors";
  SafetensorsFile f = ember::io::load_safetensors(path);
  const std::vector<uint8_t> text = read_bytes(kFixtures + "py_written.expected.json");
  const json::Value expected =
      json::parse(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));

  std::map<std::string, std::string> want_md;
  for (const auto& [k, v] : expected.at("__metadata__").as_object()) want_md[k] = v.as_string();
  CHECK(f.metadata == want_md);
  CHECK(f.metadata.at("creator") == "make_fixtures.py");
  CHECK(f.tensors.size() + 1 == expected.as_object().size());

  int checked = 0;
  for (const auto& [name, want] : expected.as_object()) {
    if (name == "__metadata__") continue;
    CAPTURE(name);
    const std::string code = want.at("dtype").as_string();
    REQUIRE(f.stored_dtypes.count(name) == 1);
    CHECK(f.stored_dtypes.at(name) == code);
    ember::Shape shape;
    for (const json::Value& d : want.at("shape").as_array()) shape.push_back(d.as_int64());
    const json::Array& data = want.at("data").as_array();
    if (code == "F32" || code == "BF16") {
      auto t = ember::io::get<float>(f, name);  // BF16 widens to float32
      CHECK(t.shape() == shape);
      const std::vector<float> v = t.to_vector();
      REQUIRE(v.size() == data.size());
      for (size_t i = 0; i < v.size(); ++i) {
        // The expected text is the stored float widened to double: the comparison is exact.
        CHECK(double(v[i]) == data[i].as_double());
        CHECK(std::signbit(v[i]) == std::signbit(data[i].as_double()));
      }
    } else if (code == "F64") {
      auto t = ember::io::get<double>(f, name);
      CHECK(t.shape() == shape);
      const std::vector<double> v = t.to_vector();
      REQUIRE(v.size() == data.size());
      for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == data[i].as_double());
    } else if (code == "I64") {
      auto t = ember::io::get<int64_t>(f, name);
      CHECK(t.shape() == shape);
      const std::vector<int64_t> v = t.to_vector();
      REQUIRE(v.size() == data.size());
      for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == data[i].as_int64());
    } else {
      FAIL("fixture has an unexpected dtype ", code);
    }
    ++checked;
  }
  CHECK(checked == 5);
  // Spot checks that do not depend on reading expected.json right.
  CHECK(ember::io::get<int64_t>(f, "steps_i64").to_vector()[1] == -9007199254740993);
  CHECK(ember::io::get<float>(f, "half_bf16").to_vector() ==
        std::vector<float>{1.0f, -2.0f, 0.5f, 3.140625f});
  CHECK(ember::io::get<float>(f, "scalar_f32").dim() == 0);
  CHECK(ember::io::get<float>(f, "scalar_f32").item() == 42.0f);
  CHECK(std::signbit(ember::io::get<float>(f, "weight_f32").at({1, 1})));
}

// ---------------------------------------------------------------------- interop with Python

TEST_CASE("safetensors: an ember-written file passes check_ember_written.py") {
  require_python();
  TempDir dir;
  const std::string path = dir.file("ember.safetensors");
  ember::io::save_safetensors(path,
                              {{"a", Tensor<float>::from_vector({1, 2, 3, 4}, {2, 2})},
                               {"b", Tensor<double>{0.1, 0.2, 0.3}},
                               {"c", Tensor<int64_t>{-1, 5000000000}}},
                              {{"written_by", "ember"}});
  std::string log;
  const int rc =
      run(std::string("'") + kPython + "' '" + kFixtures + "check_ember_written.py' '" + path + "'",
          dir.file("log.txt"), log);
  CHECK_MESSAGE(rc == 0, "check_ember_written.py failed (exit ", rc, "): ", log);

  // The checker must notice a wrong value (so a pass above means something).
  ember::io::save_safetensors(path,
                              {{"a", Tensor<float>::from_vector({1, 2, 3, 5}, {2, 2})},
                               {"b", Tensor<double>{0.1, 0.2, 0.3}},
                               {"c", Tensor<int64_t>{-1, 5000000000}}},
                              {{"written_by", "ember"}});
  const int bad =
      run(std::string("'") + kPython + "' '" + kFixtures + "check_ember_written.py' '" + path + "'",
          dir.file("log.txt"), log);
  CHECK_MESSAGE(bad == 1, "check_ember_written.py accepted a wrong value: ", log);
}

TEST_CASE("safetensors: the reference Python reader reads every dtype ember writes") {
  require_python();
  TempDir dir;
  Generator gen(11);
  auto transposed = Tensor<double>::randn({3, 2}, gen).t();
  auto c128 = Tensor<std::complex<double>>::randn({2}, gen);
  const StateDict sd = {{"bool", Tensor<bool>{true, false, true}},
                        {"u8", Tensor<uint8_t>{0, 200, 255}},
                        {"i32", Tensor<int32_t>{-7, INT32_MAX}},
                        {"i64", Tensor<int64_t>{INT64_MIN, 42}},
                        {"f32", Tensor<float>{0.1f, -0.0f}},
                        {"transposed", transposed},
                        {"scalar", Tensor<double>::scalar(0.3)},
                        {"empty", Tensor<float>::zeros({0, 3})},
                        {"c128", c128}};
  const std::string path = dir.file("dtypes.safetensors");
  ember::io::save_safetensors(path, sd, {{"k", "v"}});

  // expected.json in tools/safetensors_ref.py's format, from the values ember holds.
  json::Object expected;
  auto entry = [&](const std::string& name, const char* code, ember::Shape shape,
                   json::Array data) {
    json::Array s;
    for (int64_t d : shape) s.emplace_back(d);
    expected.emplace_back(
        name, json::Object{{"dtype", code}, {"shape", std::move(s)}, {"data", std::move(data)}});
  };
  json::Array v;
  entry("bool", "BOOL", {3}, {true, false, true});
  entry("u8", "U8", {3}, {0, 200, 255});
  entry("i32", "I32", {2}, {-7, INT32_MAX});
  entry("i64", "I64", {2}, {INT64_MIN, 42});
  entry("f32", "F32", {2}, {double(0.1f), -0.0});
  for (double x : transposed.to_vector()) v.emplace_back(x);
  entry("transposed", "F64", {2, 3}, std::move(v));
  entry("scalar", "F64", {}, {0.3});
  entry("empty", "F32", {0, 3}, {});
  v.clear();
  for (std::complex<double> z : c128.to_vector())
    v.emplace_back(z.real()), v.emplace_back(z.imag());
  entry("c128", "F64", {2, 2}, std::move(v));
  expected.insert(
      expected.begin(),
      json::Member("__metadata__", json::Object{{"k", "v"}, {"ember.complex128", "[\"c128\"]"}}));
  const std::string expected_path = dir.file("expected.json");
  const std::string text = json::dump(expected);
  write_bytes(expected_path, std::vector<uint8_t>(text.begin(), text.end()));

  std::string log;
  const int rc = run(std::string("'") + kPython + "' '" + EMBER_SOURCE_DIR +
                         "/tools/safetensors_ref.py' check '" + path + "' '" + expected_path + "'",
                     dir.file("log.txt"), log);
  CHECK_MESSAGE(rc == 0, "safetensors_ref.py check failed (exit ", rc, "): ", log);
}

// ---------------------------------------------------------------------- BF16 / F16

TEST_CASE("safetensors: F16 and BF16 widen to float32 exactly, incl. subnormals, inf and NaN") {
  const std::vector<uint16_t> h = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x0400, 0x7BFF,
                                   0x7C00, 0xFC00, 0x8000, 0x7E00, 0x3555, 0x8001};
  const std::vector<uint16_t> bf = {0x3F80, 0xC000, 0x0001, 0x7F80, 0xFF80, 0x7FC0, 0x8000, 0x4049};
  std::vector<uint8_t> data = le_bytes(h);
  const std::vector<uint8_t> bfd = le_bytes(bf);
  data.insert(data.end(), bfd.begin(), bfd.end());
  const std::string header = R"({"h":{"dtype":"F16","shape":[12],"data_offsets":[0,24]},)"
                             R"("bf":{"dtype":"BF16","shape":[2,4],"data_offsets":[24,40]}})";
  SafetensorsFile f = parse(make_file(header, data));
  CHECK(f.stored_dtypes.at("h") == "F16");
  const std::vector<float> hv = ember::io::get<float>(f, "h").to_vector();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(hv[0] == 1.0f);
  CHECK(hv[1] == -2.0f);
  CHECK(hv[2] == std::ldexp(1.0f, -24));     // smallest subnormal
  CHECK(hv[3] == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(hv[4] == std::ldexp(1.0f, -14));     // smallest normal
  CHECK(hv[5] == 65504.0f);                  // largest finite
  CHECK(hv[6] == inf);
  CHECK(hv[7] == -inf);
  CHECK((hv[8] == 0.0f && std::signbit(hv[8])));  // -0
  CHECK(std::isnan(hv[9]));
  CHECK(hv[10] == 0.333251953125f);  // 0x3555: 1 + 341/1024, times 2^-2
  CHECK((hv[11] == -std::ldexp(1.0f, -24)));
  const std::vector<float> bv = ember::io::get<float>(f, "bf").to_vector();
  CHECK(ember::io::get<float>(f, "bf").shape() == ember::Shape{2, 4});
  CHECK(bv[0] == 1.0f);
  CHECK(bv[1] == -2.0f);
  CHECK(bv[2] == std::ldexp(1.0f, -133));  // a float32 subnormal
  CHECK(bv[3] == inf);
  CHECK(bv[4] == -inf);
  CHECK(std::isnan(bv[5]));
  CHECK((bv[6] == 0.0f && std::signbit(bv[6])));
  CHECK(bv[7] == 3.140625f);

  // Every one of the 65536 halves: finite ones match the value computed from the definition.
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
  SafetensorsFile g = parse(make_file(
      R"({"all":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}})", le_bytes(all)));
  const std::vector<float> av = ember::io::get<float>(g, "all").to_vector();
  int mismatches = 0;
  for (uint32_t i = 0; i < 65536; ++i) {
    const int e = int(i >> 10) & 31, m = int(i & 1023);
    const float sign = (i & 0x8000) ? -1.0f : 1.0f;
    float want;
    if (e == 31)
      want = m ? std::numeric_limits<float>::quiet_NaN() : sign * inf;
    else if (e == 0)
      want = sign * std::ldexp(float(m), -24);
    else
      want = sign * std::ldexp(float(1024 + m), e - 25);
    const bool ok = std::isnan(want) ? std::isnan(av[i])
                                     : av[i] == want && std::signbit(av[i]) == std::signbit(want);
    mismatches += !ok;
  }
  CHECK(mismatches == 0);
}

// ---------------------------------------------------------------------- hostile input

TEST_CASE("safetensors: every corrupt fixture throws ember::Error naming the file") {
  const std::map<std::string, std::string> cases = {
      {"truncated.safetensors", "data section"},
      {"bad_header_len.safetensors", "runs past the end"},
      {"bad_json.safetensors", "not valid JSON"},
      {"overlapping.safetensors", "overlap"},
      {"size_mismatch.safetensors", "needs 12 bytes"},
  };
  for (const auto& c : cases) {
    const std::string& name = c.first;
    const std::string& why = c.second;
    CAPTURE(name);
    const std::string path = kFixtures + name;
    check_error([&] { ember::io::load_safetensors(path); }, {path, why});
    const std::vector<uint8_t> bytes = read_bytes(path);
    check_error([&] { parse(bytes, name); }, {name, why});
  }
  check_error([&] { ember::io::load_safetensors(kFixtures + "no_such_file.safetensors"); },
              {"no_such_file.safetensors", "cannot open"});
  check_error([&] { ember::io::load_safetensors(kFixtures); }, {"not a regular file"});
}

TEST_CASE("safetensors: a truncation at every byte length throws ember::Error") {
  TempDir dir;
  ember::io::save_safetensors(dir.file("e.safetensors"),
                              {{"empty", Tensor<float>::zeros({0, 3})},
                               {"x", Tensor<int32_t>{1, 2, 3}},
                               {"b", Tensor<bool>{true}},
                               {"last_empty", Tensor<double>::zeros({2, 0})}},
                              {{"m", "v"}});
  for (const std::string& path :
       {kFixtures + "py_written.safetensors", dir.file("e.safetensors")}) {
    CAPTURE(path);
    const std::vector<uint8_t> bytes = read_bytes(path);
    CHECK_NOTHROW(parse(bytes));
    int threw = 0;
    for (size_t len = 0; len < bytes.size(); ++len) {
      // A fresh copy of exactly `len` bytes, so a read past the end is caught by ASan.
      const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + std::ptrdiff_t(len));
      try {
        ember::io::parse_safetensors(prefix.data(), prefix.size(), "prefix");
      } catch (const ember::Error& e) {
        ++threw;
        CHECK(std::string(e.what()).find("prefix") != std::string::npos);
      }
    }
    CHECK(threw == int(bytes.size()));
    // The same through the file reader for a few lengths.
    for (size_t len : {size_t(0), size_t(7), size_t(8), size_t(20), bytes.size() - 1}) {
      write_bytes(dir.file("cut"),
                  std::vector<uint8_t>(bytes.begin(), bytes.begin() + std::ptrdiff_t(len)));
      CHECK_THROWS_AS(ember::io::load_safetensors(dir.file("cut")), ember::Error);
    }
  }
}

TEST_CASE("safetensors: random byte flips load or throw ember::Error, never crash") {
  TempDir dir;
  ember::io::save_safetensors(dir.file("f.safetensors"),
                              {{"w", Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3})},
                               {"b", Tensor<bool>{true, false}},
                               {"z", Tensor<std::complex<double>>{{1, 2}, {3, 4}}},
                               {"e", Tensor<int64_t>::zeros({0})}},
                              {{"m", "v"}});
  Generator gen(2024);
  for (const std::string& path :
       {kFixtures + "py_written.safetensors", dir.file("f.safetensors")}) {
    CAPTURE(path);
    const std::vector<uint8_t> bytes = read_bytes(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[size_t(i)];
    int loaded = 0, threw = 0;
    for (int trial = 0; trial < 3000; ++trial) {
      std::vector<uint8_t> b = bytes;
      // Mostly the header (length field included), sometimes the data; 1 to 3 flips.
      const int flips = 1 + int(gen.randint(0, 3));
      for (int k = 0; k < flips; ++k) {
        const size_t end = trial % 4 == 3 ? b.size() : size_t(8 + n);
        const size_t at = size_t(gen.randint(0, int64_t(end)));
        b[at] =
            trial % 2 ? uint8_t(b[at] ^ (1u << gen.randint(0, 8))) : uint8_t(gen.randint(0, 256));
      }
      try {
        SafetensorsFile f = parse(b, "flipped");
        for (const auto& [name, t] : f.tensors) REQUIRE(t.defined());
        ++loaded;
      } catch (const ember::Error& e) {
        CHECK(std::string(e.what()).find("flipped") != std::string::npos);
        ++threw;
      }
    }
    CHECK(threw > 0);
    CHECK(loaded > 0);  // flips inside names, metadata or data leave a valid file
  }
}

TEST_CASE("safetensors: hand-made bad headers are rejected with a precise message") {
  const std::vector<uint8_t> four = le_bytes(std::vector<float>{1});
  auto one = [&](const std::string& entry) { return R"({"x":)" + entry + "}"; };
  struct Case {
    std::vector<uint8_t> file;
    std::string why;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3}, "too short"},
      {make_file("{}", {}, 200'000'000), "exceeds the 100000000-byte limit"},
      {make_file("[1]"), "header is a JSON array, expected an object"},
      {make_file("{\"x\":\xff}"), "not valid JSON"},
      {make_file("{\"\xc3\x28\":1}"), "invalid UTF-8"},
      {make_file(one("3")), "tensor 'x': entry is a JSON number"},
      {make_file(one(R"({"dtype":"F32","shape":[1]})"), four), "exactly the keys"},
      {make_file(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1})"), four),
       "exactly the keys"},
      {make_file(one(R"({"dtype":"F99","shape":[1],"data_offsets":[0,4]})"), four),
       "unknown dtype \"F99\""},
      {make_file(one(R"({"dtype":"I8","shape":[4],"data_offsets":[0,4]})"), four),
       "ember has no tensor type"},
      {make_file(one(R"({"dtype":7,"shape":[1],"data_offsets":[0,4]})"), four),
       "dtype must be a string"},
      {make_file(one(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})"), four),
       "non-negative integers"},
      {make_file(one(R"({"dtype":"F32","shape":[1.0],"data_offsets":[0,4]})"), four),
       "non-negative integers"},
      {make_file(one(R"({"dtype":"F32","shape":1,"data_offsets":[0,4]})"), four),
       "shape must be an array"},
      {make_file(one(R"({"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]})"),
                 four),
       "non-negative integers (int64)"},
      {make_file(one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]})"),
                 four),
       "more elements than fit in int64"},
      {make_file(one(R"({"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]})"),
                 four),
       "more bytes than fit in int64"},
      {make_file(one(R"({"dtype":"F32","shape":[1],"data_offsets":[4,0]})"), four),
       "end before they begin"},
      {make_file(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})"), four),
       "two non-negative integers"},
      {make_file(one(R"({"dtype":"F32","shape":[1],"data_offsets":[-4,0]})"), four),
       "two non-negative integers"},
      {make_file(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]})"),
                 four),
       "run past the 4-byte data section"},
      {make_file(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})"), four),
       "needs 8 bytes"},
      {make_file(one(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"),
                 le_bytes(std::vector<float>{1, 2})),
       "gap of 4 unused bytes"},
      {make_file(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})"),
                 le_bytes(std::vector<float>{1, 2})),
       "trailing bytes"},
      {make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                 four),
       "overlap those of tensor"},
      {make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                 R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 le_bytes(std::vector<float>{1, 2})),
       "duplicate object key"},
      {make_file(R"({"__metadata__":{"k":1},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                 four),
       "__metadata__[\"k\"] is a JSON number"},
      {make_file(R"({"__metadata__":[],"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                 four),
       "__metadata__ is a JSON array"},
      {make_file(R"({"x":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}})", {0, 1, 2, 1}),
       "BOOL element 2 is 2"},
      {make_file(R"({"__metadata__":{"ember.complex128":"[\"y\"]"},)"
                 R"("x":{"dtype":"F64","shape":[1,2],"data_offsets":[0,16]}})",
                 le_bytes(std::vector<double>{1, 2})),
       "names tensor 'y' that the file does not have"},
      {make_file(R"({"__metadata__":{"ember.complex128":"[\"x\"]"},)"
                 R"("x":{"dtype":"F64","shape":[2,1],"data_offsets":[0,16]}})",
                 le_bytes(std::vector<double>{1, 2})),
       "trailing dimension of 2, got F64 [2, 1]"},
      {make_file(R"({"__metadata__":{"ember.complex128":"x"},)"
                 R"("x":{"dtype":"F64","shape":[1,2],"data_offsets":[0,16]}})",
                 le_bytes(std::vector<double>{1, 2})),
       "is not valid JSON"},
      {make_file(R"({"x":)" + std::string(100, '[') + std::string(100, ']') + "}"),
       "nesting deeper"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    CAPTURE(cases[i].why);
    check_error([&] { parse(cases[i].file, "case.safetensors"); },
                {"case.safetensors", cases[i].why});
  }

  // Accepted variants: padding spaces, keys in any order, empty tensors anywhere, a file with
  // only metadata, unaligned data (header length not a multiple of 8).
  SafetensorsFile ok = parse(make_file(R"({"e":{"shape":[0],"data_offsets":[4,4],"dtype":"F64"},)"
                                       R"("x":{"data_offsets":[0,4],"dtype":"F32","shape":[]}}   )",
                                       four));
  CHECK(ember::io::get<float>(ok, "x").item() == 1.0f);
  CHECK(ember::io::get<double>(ok, "e").numel() == 0);
  CHECK(parse(make_file(R"({"__metadata__":{"a":"b"}})")).metadata.at("a") == "b");
  // complex128 stored as F64 [2] is a 0-d complex<double>.
  SafetensorsFile z = parse(make_file(R"({"__metadata__":{"ember.complex128":"[\"z\"]"},)"
                                      R"("z":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})",
                                      le_bytes(std::vector<double>{1.5, -2})));
  CHECK(ember::io::get<std::complex<double>>(z, "z").dim() == 0);
  CHECK(ember::io::get<std::complex<double>>(z, "z").item() == std::complex<double>(1.5, -2));
  CHECK(z.metadata.empty());
  std::vector<uint8_t> unaligned =
      make_file(R"({"x":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})",
                le_bytes(std::vector<double>{0.25, -8}));
  CHECK(ember::io::get<double>(parse(unaligned), "x").to_vector() == std::vector<double>{0.25, -8});
}

// ---------------------------------------------------------------------- typed access

TEST_CASE("safetensors: get<T> names the missing key or both dtypes") {
  SafetensorsFile f = ember::io::load_safetensors(kFixtures + "py_written.safetensors");
  check_error([&] { ember::io::get<float>(f, "nope"); }, {"no tensor named 'nope'", "'bias_f64'"});
  check_error([&] { ember::io::get<float>(f, "bias_f64"); },
              {"'bias_f64'", "dtype float64", "stored as F64", "expected float32"});
  check_error([&] { ember::io::get<double>(f, "half_bf16"); },
              {"dtype float32", "stored as BF16", "expected float64"});
}

// ---------------------------------------------------------------------- module/optimizer glue

TEST_CASE("safetensors: save_state / load_state_into copy into the live tensors") {
  TempDir dir;
  Generator gen(5);
  auto w = Tensor<float>::randn({2, 3}, gen).requires_grad_();
  auto b = Tensor<double>::randn({3}, gen).requires_grad_();
  auto step = Tensor<int64_t>::scalar(17);
  const std::string path = dir.file("model.safetensors");
  ember::io::save_state(path, {{"w", w}, {"b", b}, {"step", step}}, {{"epoch", "1"}});

  // Fresh tensors, as a freshly built model holds them; one is a non-contiguous view.
  auto w2 = Tensor<float>::zeros({2, 3}).requires_grad_();
  auto b2 = Tensor<double>::zeros({3}).requires_grad_();
  auto step_storage = Tensor<int64_t>::zeros({2});
  auto step2 = step_storage.select(0, 1);  // a view into a larger tensor
  const float* w2_data = w2.data_ptr();
  auto r = ember::io::load_state_into(path, {{"w", w2}, {"b", b2}, {"step", step2}});
  CHECK(r.missing_keys.empty());
  CHECK(r.unexpected_keys.empty());
  CHECK(w2.data_ptr() == w2_data);  // same storage: loaded in place
  CHECK(w2.to_vector() == w.to_vector());
  CHECK(b2.to_vector() == b.to_vector());
  CHECK(step_storage.to_vector() == std::vector<int64_t>{0, 17});
  CHECK(w2.requires_grad());
  CHECK(w2.is_leaf());
  CHECK(ember::GradMode::is_enabled());

  // A transposed target receives the values in its own (logical) layout.
  auto wt_base = Tensor<float>::zeros({3, 2});
  ember::io::load_state_into(path, {{"w", wt_base.t()}, {"b", b2}, {"step", step2}});
  CHECK(wt_base.t().to_vector() == w.to_vector());

  // BF16 in the file fills a float32 target.
  auto half = Tensor<float>::zeros({4});
  auto r2 = ember::io::load_state_into(kFixtures + "py_written.safetensors",
                                       {{"half_bf16", half}, {"not_there", Tensor<float>{0}}},
                                       /*strict=*/false);
  CHECK(half.to_vector() == std::vector<float>{1.0f, -2.0f, 0.5f, 3.140625f});
  CHECK(r2.missing_keys == std::vector<std::string>{"not_there"});
  CHECK(r2.unexpected_keys.size() == 4);
}

TEST_CASE("safetensors: load_state_into reports missing, unexpected, shape and dtype errors") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  ember::io::save_state(path, {{"w", Tensor<float>::ones({2, 3})}, {"b", Tensor<double>{1, 2, 3}}});
  auto w = Tensor<float>::zeros({2, 3});
  auto b = Tensor<double>::zeros({3});

  check_error(
      [&] {
        ember::io::load_state_into(path, {{"w", w}, {"b", b}, {"extra", b}});
      },
      {path, "missing keys", "['extra']", "unexpected keys", "[]"});
  check_error(
      [&] {
        ember::io::load_state_into(path, {{"w", w}});
      },
      {path, "missing keys", "unexpected keys", "['b']"});
  check_error(
      [&] {
        ember::io::load_state_into(path, {{"w", Tensor<float>::zeros({3, 2})}, {"b", b}});
      },
      {path, "'w'", "shape [2, 3] in the file", "[3, 2] in the state dict"});
  check_error(
      [&] {
        ember::io::load_state_into(path, {{"w", w}, {"b", Tensor<float>::zeros({3})}});
      },
      {path, "'b'", "dtype float64", "stored as F64", "float32 in the state dict"});
  check_error(
      [&] {
        ember::io::load_state_into(path, {{"w", w}, {"w", w}, {"b", b}});
      },
      {"duplicate target name 'w'"});
  // A failed load changes nothing: 'w' matched but 'b' did not, and 'w' is still zeros.
  CHECK(w.to_vector() == std::vector<float>(6, 0.0f));
  // Non-strict still refuses shape and dtype mismatches.
  check_error(
      [&] {
        ember::io::load_state_into(path, {{"w", Tensor<float>::zeros({6})}}, false);
      },
      {"'w'", "[2, 3]", "[6]"});
  // A corrupt checkpoint surfaces as the reader's error.
  check_error(
      [&] {
        ember::io::load_state_into(kFixtures + "truncated.safetensors", {{"w", w}});
      },
      {"truncated.safetensors"});
}

// ---------------------------------------------------------------------- writing

TEST_CASE("safetensors: atomic writes leave no temporary files and replace the old file") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  write_bytes(path, {'o', 'l', 'd'});
  ember::io::save_safetensors(path, {{"x", Tensor<double>{1, 2}}});
  CHECK(ember::io::get<double>(ember::io::load_safetensors(path), "x").to_vector() ==
        std::vector<double>{1, 2});
  ember::io::save_safetensors(path, {{"x", Tensor<double>{3}}});  // over an existing checkpoint
  CHECK(ember::io::get<double>(ember::io::load_safetensors(path), "x").to_vector() ==
        std::vector<double>{3});
  CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});

  // A failed save (bad input) leaves the old file as it was and no temporary file.
  const std::vector<uint8_t> before = read_bytes(path);
  check_error(
      [&] {
        ember::io::save_safetensors(path, {{"a", Tensor<float>{1}}, {"a", Tensor<float>{2}}});
      },
      {"duplicate tensor name 'a'"});
  CHECK(read_bytes(path) == before);
  // Saving onto a directory fails at the rename: the temporary file is removed.
  fs::create_directory(dir.file("sub"));
  check_error(
      [&] {
        ember::io::save_safetensors(dir.file("sub"), {{"x", Tensor<float>{1}}});
      },
      {"cannot rename", "sub"});
  for (const std::string& e : dir.entries()) CHECK_MESSAGE(e.find(".tmp") == std::string::npos, e);
  CHECK(dir.entries().size() == 2);

  // A directory that does not exist.
  check_error(
      [&] {
        ember::io::save_safetensors(dir.file("missing/dir/x.safetensors"),
                                    {{"x", Tensor<float>{1}}});
      },
      {"cannot create", "missing/dir/x.safetensors"});
}

TEST_CASE("safetensors: save rejects names and metadata it cannot write") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  check_error(
      [&] {
        ember::io::save_safetensors(path, {{"__metadata__", Tensor<float>{1}}});
      },
      {"reserved"});
  check_error(
      [&] {
        ember::io::save_safetensors(path, {{"x", AnyTensor()}});
      },
      {"'x' is undefined"});
  check_error(
      [&] {
        ember::io::save_safetensors(path, {{"x", Tensor<float>{1}}}, {{"ember.complex128", "[]"}});
      },
      {"reserved"});
  check_error(
      [&] {
        ember::io::save_safetensors(path, {{"bad\xff", Tensor<float>{1}}});
      },
      {"UTF-8"});
  CHECK_FALSE(fs::exists(path));
  CHECK(dir.entries().empty());
}
