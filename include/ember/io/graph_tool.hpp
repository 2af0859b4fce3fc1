// graph-tool's binary `.gt` format (graph-tool.skewed.de, "The gt file format"), read plain or
// gzipped, and written. The graph-tool collection (polblogs, football, polbooks, karate, ...)
// ships in this format.
//
// Layout (every integer in the file's byte order; graph-tool writes little-endian):
//   6 bytes   magic E2 9B BE 20 67 74 ("⛾ gt" in UTF-8)
//   1 byte    version, 0x01
//   1 byte    byte order: 0x00 little-endian, 0x01 big-endian
//   string    comment (a string is a uint64 length and that many bytes, no terminator)
//   1 byte    directed: 0x00 or 0x01
//   uint64    N, the number of vertices
//   N times   the out-neighbours of vertex 0, 1, ...: a uint64 count, then that many vertex
//             indices, each 1, 2, 4 or 8 bytes: the smallest unsigned type whose maximum is
//             at least N (uint8 for N <= 255, ...). An undirected edge is listed once, at one
//             end; the order of the lists numbers the edges 0..E-1.
//   uint64    number of property maps, then each map:
//     1 byte    key type: 0x00 graph, 0x01 vertex, 0x02 edge
//     string    name
//     1 byte    value type (GtType below, 0x00..0x0e)
//     values    one for a graph map, N for a vertex map, E for an edge map (in edge order)
// Value encodings: bool 1 byte (0 or 1), int16/int32/int64/double 2/4/8/8 bytes, long double
// 16 bytes, string as above, a vector as a uint64 length and its elements, python::object as a
// string holding the pickle (kept as raw bytes here; ember does not unpickle).
//
// Two points the prose of graph-tool's page leaves open, settled by the files graph-tool
// writes (every file of its collection): the name of a property map comes BEFORE its value
// type byte (the page's prose lists the type byte first; its hex dumps and the files do not),
// and "long double" is the x86-64 one, an 80-bit x87 extended value in the low 10 of its 16
// bytes (the top 6 are padding and are ignored). A long double in a big-endian file is refused:
// no machine writes an x87 value big-endian, so its layout is not defined.
//
// The parser trusts nothing: every count is checked against the bytes that remain before
// anything is allocated from it (a vertex needs at least 8 bytes, a string or vector 8, ...),
// so a corrupt count cannot cause a huge allocation; vertex indices must be below N; bools
// must be 0 or 1; two maps with the same key type and name are refused; and the file must end
// exactly after the last map. Every failure throws ember::Error naming the file, the byte
// offset and what was expected there.
//
// Needs zlib: link with -lz.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/io/gzip_file.hpp"

namespace ember::io {

// Largest (decompressed) file read_graph_tool accepts: 4 GiB, so a decompression bomb cannot
// exhaust memory.
inline constexpr uint64_t kGraphToolMaxBytes = uint64_t{1} << 32;

enum class GtKey : uint8_t { graph = 0, vertex = 1, edge = 2 };

// The value type indices of the format.
enum class GtType : uint8_t {
  boolean = 0x00,
  int16 = 0x01,
  int32 = 0x02,
  int64 = 0x03,
  float64 = 0x04,
  long_double = 0x05,
  string = 0x06,
  vector_bool = 0x07,
  vector_int16 = 0x08,
  vector_int32 = 0x09,
  vector_int64 = 0x0a,
  vector_float64 = 0x0b,
  vector_long_double = 0x0c,
  vector_string = 0x0d,
  python_object = 0x0e,
};
inline constexpr int kGtNumTypes = 15;

inline const char* gt_type_name(GtType t) noexcept {
  switch (t) {
    case GtType::boolean:
      return "bool";
    case GtType::int16:
      return "int16_t";
    case GtType::int32:
      return "int32_t";
    case GtType::int64:
      return "int64_t";
    case GtType::float64:
      return "double";
    case GtType::long_double:
      return "long double";
    case GtType::string:
      return "string";
    case GtType::vector_bool:
      return "vector<bool>";
    case GtType::vector_int16:
      return "vector<int16_t>";
    case GtType::vector_int32:
      return "vector<int32_t>";
    case GtType::vector_int64:
      return "vector<int64_t>";
    case GtType::vector_float64:
      return "vector<double>";
    case GtType::vector_long_double:
      return "vector<long double>";
    case GtType::vector_string:
      return "vector<string>";
    case GtType::python_object:
      return "python::object";
  }
  return "unknown";
}

inline const char* gt_key_name(GtKey k) noexcept {
  switch (k) {
    case GtKey::graph:
      return "graph";
    case GtKey::vertex:
      return "vertex";
    case GtKey::edge:
      return "edge";
  }
  return "unknown";
}

// The values of one property map. The alternative's index is the GtType index, except that
// python::object shares std::vector<std::string> (index 6) with string: its values are the
// pickled bytes. bool is stored as uint8_t 0/1 (std::vector<bool> has no data()).
using GtValues =
    std::variant<std::vector<uint8_t>, std::vector<int16_t>, std::vector<int32_t>,
                 std::vector<int64_t>, std::vector<double>, std::vector<long double>,
                 std::vector<std::string>, std::vector<std::vector<uint8_t>>,
                 std::vector<std::vector<int16_t>>, std::vector<std::vector<int32_t>>,
                 std::vector<std::vector<int64_t>>, std::vector<std::vector<double>>,
                 std::vector<std::vector<long double>>, std::vector<std::vector<std::string>>>;

// The GtValues alternative that holds values of type t.
inline constexpr size_t gt_variant_index(GtType t) noexcept {
  return t == GtType::python_object ? 6 : static_cast<size_t>(t);
}

inline constexpr bool gt_is_vector(GtType t) noexcept {
  return t >= GtType::vector_bool && t <= GtType::vector_string;
}

struct GraphToolProperty {
  GtKey key = GtKey::vertex;
  std::string name;
  GtType type = GtType::boolean;
  GtValues values;  // the alternative gt_variant_index(type)

  size_t size() const {
    return std::visit([](const auto& v) { return v.size(); }, values);
  }
};

namespace detail {

template <class T>
const char* gt_cpp_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "bool";
  else if constexpr (std::is_same_v<T, std::string>)
    return "std::string";
  else if constexpr (std::is_same_v<T, float>)
    return "float";
  else if constexpr (std::is_same_v<T, double>)
    return "double";
  else if constexpr (std::is_same_v<T, long double>)
    return "long double";
  else if constexpr (std::is_signed_v<T>) {
    switch (sizeof(T)) {
      case 1:
        return "int8_t";
      case 2:
        return "int16_t";
      case 4:
        return "int32_t";
      default:
        return "int64_t";
    }
  } else {
    switch (sizeof(T)) {
      case 1:
        return "uint8_t";
      case 2:
        return "uint16_t";
      case 4:
        return "uint32_t";
      default:
        return "uint64_t";
    }
  }
}

// One stored value converted to T: integers exactly (or an error when out of T's range),
// floating values to integers only when integral and in range, floating to floating with
// overflow to +-inf (never the undefined out-of-range conversion).
template <class T, class S>
bool gt_convert(S v, T& out) {
  if constexpr (std::is_integral_v<S>) {
    if constexpr (std::is_same_v<T, bool>) {
      if (v != 0 && v != 1) return false;
      out = v != 0;
    } else if constexpr (std::is_integral_v<T>) {
      if (!std::in_range<T>(v)) return false;
      out = static_cast<T>(v);
    } else {
      out = static_cast<T>(v);
    }
    return true;
  } else {
    const long double x = v;
    if constexpr (std::is_integral_v<T>) {
      // [lo, hi) holds exactly the integers of T; both bounds are powers of two (or 0).
      const long double lo = static_cast<long double>(std::numeric_limits<T>::min());
      const long double hi = std::ldexp(1.0L, std::numeric_limits<T>::digits);
      if (!std::isfinite(x) || std::trunc(x) != x || x < lo || x >= hi) return false;
      out = static_cast<T>(x);
    } else {
      if (std::isfinite(x) &&
          std::fabs(x) > static_cast<long double>(std::numeric_limits<T>::max()))
        out = std::signbit(x) ? -std::numeric_limits<T>::infinity()
                              : std::numeric_limits<T>::infinity();
      else
        out = static_cast<T>(x);
    }
    return true;
  }
}

template <class S>
std::string gt_value_str(S v) {
  if constexpr (std::is_integral_v<S>)
    return std::to_string(static_cast<int64_t>(v));
  else {
    std::ostringstream os;
    os.precision(17);
    os << static_cast<double>(v);
    return os.str();
  }
}

}  // namespace detail

struct GraphToolGraph {
  std::string comment;
  bool directed = false;
  int64_t num_nodes = 0;
  // Edge e goes from sources[e] to targets[e]; edges are numbered in the file's order, which
  // is grouped by source vertex (the adjacency lists), and edge property values follow it.
  std::vector<int64_t> sources, targets;
  std::vector<GraphToolProperty> properties;  // in the file's order

  int64_t num_edges() const { return static_cast<int64_t>(sources.size()); }

  const GraphToolProperty* find(GtKey key, const std::string& name) const {
    for (const auto& p : properties)
      if (p.key == key && p.name == name) return &p;
    return nullptr;
  }
  bool has_property(GtKey key, const std::string& name) const { return find(key, name) != nullptr; }

  // The map, or an ember::Error listing the maps the graph has.
  const GraphToolProperty& property(GtKey key, const std::string& name) const {
    if (const GraphToolProperty* p = find(key, name)) return *p;
    std::string have;
    for (const auto& p : properties) {
      if (!have.empty()) have += ", ";
      have += std::string(gt_key_name(p.key)) + " '" + p.name + "' (" + gt_type_name(p.type) + ")";
    }
    fail("GraphToolGraph: no ", gt_key_name(key), " property '", name, "'; the graph has ",
         have.empty() ? std::string("no property maps") : have);
  }

  // Scalar values (bool, integers, double, long double) converted to T, or the strings of a
  // string / python::object map when T is std::string. A value T cannot hold exactly (2.5 or
  // 70000 as int16_t) is an error naming the map and the index.
  template <class T>
  std::vector<T> values(GtKey key, const std::string& name) const {
    const GraphToolProperty& p = property(key, name);
    if constexpr (std::is_same_v<T, std::string>) {
      EMBER_CHECK(p.type == GtType::string || p.type == GtType::python_object,
                  "GraphToolGraph::values<std::string>: ", gt_key_name(key), " property '", name,
                  "' holds ", gt_type_name(p.type), " values; expected string or python::object");
      return std::get<6>(p.values);
    } else {
      static_assert(std::is_arithmetic_v<T>, "values<T>: T must be arithmetic or std::string");
      EMBER_CHECK(
          !gt_is_vector(p.type) && p.type != GtType::string && p.type != GtType::python_object,
          "GraphToolGraph::values<", detail::gt_cpp_name<T>(), ">: ", gt_key_name(key),
          " property '", name, "' holds ", gt_type_name(p.type), " values; expected a ",
          "number type (use vector_values for vectors, values<std::string> for strings)");
      return std::visit(
          [&](const auto& src) {
            std::vector<T> out;
            using V = typename std::decay_t<decltype(src)>::value_type;
            if constexpr (std::is_arithmetic_v<V>) {
              out.reserve(src.size());
              for (size_t i = 0; i < src.size(); ++i) {
                T x{};  // not out[i]: std::vector<bool> has no T&
                if (!detail::gt_convert(src[i], x))
                  fail("GraphToolGraph::values<", detail::gt_cpp_name<T>(), ">: ", gt_key_name(key),
                       " property '", name, "' (", gt_type_name(p.type), "): value ", i, " = ",
                       detail::gt_value_str(src[i]), " is not representable as ",
                       detail::gt_cpp_name<T>());
                out.push_back(x);
              }
            }
            return out;
          },
          p.values);
    }
  }

  // The values of a vector map (vector<bool>, vector<int*>, vector<double>, vector<long double>
  // converted to T; vector<string> when T is std::string).
  template <class T>
  std::vector<std::vector<T>> vector_values(GtKey key, const std::string& name) const {
    const GraphToolProperty& p = property(key, name);
    if constexpr (std::is_same_v<T, std::string>) {
      EMBER_CHECK(p.type == GtType::vector_string,
                  "GraphToolGraph::vector_values<std::string>: ", gt_key_name(key), " property '",
                  name, "' holds ", gt_type_name(p.type), " values; expected vector<string>");
      return std::get<13>(p.values);
    } else {
      static_assert(std::is_arithmetic_v<T>, "vector_values<T>: T must be arithmetic or string");
      EMBER_CHECK(gt_is_vector(p.type) && p.type != GtType::vector_string,
                  "GraphToolGraph::vector_values<", detail::gt_cpp_name<T>(),
                  ">: ", gt_key_name(key), " property '", name, "' holds ", gt_type_name(p.type),
                  " values; expected a vector of numbers");
      return std::visit(
          [&](const auto& src) {
            std::vector<std::vector<T>> out;
            using V = typename std::decay_t<decltype(src)>::value_type;
            if constexpr (!std::is_arithmetic_v<V> && !std::is_same_v<V, std::string> &&
                          !std::is_same_v<V, std::vector<std::string>>) {
              using E = typename V::value_type;
              out.resize(src.size());
              for (size_t i = 0; i < src.size(); ++i) {
                out[i].reserve(src[i].size());
                for (size_t j = 0; j < src[i].size(); ++j) {
                  T x{};
                  if (!detail::gt_convert(static_cast<E>(src[i][j]), x))
                    fail("GraphToolGraph::vector_values<", detail::gt_cpp_name<T>(),
                         ">: ", gt_key_name(key), " property '", name, "' (", gt_type_name(p.type),
                         "): element ", j, " of value ", i, " = ", detail::gt_value_str(src[i][j]),
                         " is not representable as ", detail::gt_cpp_name<T>());
                  out[i].push_back(x);
                }
              }
            }
            return out;
          },
          p.values);
    }
  }

  template <class T>
  std::vector<T> vertex_property(const std::string& name) const {
    return values<T>(GtKey::vertex, name);
  }
  template <class T>
  std::vector<T> edge_property(const std::string& name) const {
    return values<T>(GtKey::edge, name);
  }
  template <class T>
  T graph_property(const std::string& name) const {
    return values<T>(GtKey::graph, name).at(0);
  }
  template <class T>
  std::vector<std::vector<T>> vertex_vector_property(const std::string& name) const {
    return vector_values<T>(GtKey::vertex, name);
  }
  template <class T>
  std::vector<std::vector<T>> edge_vector_property(const std::string& name) const {
    return vector_values<T>(GtKey::edge, name);
  }
  template <class T>
  std::vector<T> graph_vector_property(const std::string& name) const {
    return vector_values<T>(GtKey::graph, name).at(0);
  }

  // Class labels from a vertex map, whatever its type: the collection stores them as double
  // (polblogs: 0/1), int32_t (football: 0..11) or string (polbooks: "c"/"l"/"n"). Returns
  // ids[v] in 0..K-1 and classes[k], the k-th distinct value in ascending order (numbers
  // numerically, as integers; strings bytewise). A non-integral number is an error.
  struct Labels {
    std::vector<int64_t> ids;
    std::vector<std::string> classes;
  };
  Labels vertex_labels(const std::string& name) const {
    const GraphToolProperty& p = property(GtKey::vertex, name);
    Labels out;
    if (p.type == GtType::string) {
      const auto& v = std::get<6>(p.values);
      out.classes = v;
      std::sort(out.classes.begin(), out.classes.end());
      out.classes.erase(std::unique(out.classes.begin(), out.classes.end()), out.classes.end());
      out.ids.reserve(v.size());
      for (const auto& s : v)
        out.ids.push_back(std::lower_bound(out.classes.begin(), out.classes.end(), s) -
                          out.classes.begin());
      return out;
    }
    EMBER_CHECK(!gt_is_vector(p.type) && p.type != GtType::python_object,
                "GraphToolGraph::vertex_labels: vertex property '", name, "' holds ",
                gt_type_name(p.type), " values; expected numbers or strings");
    const std::vector<int64_t> v = values<int64_t>(GtKey::vertex, name);
    std::vector<int64_t> distinct = v;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (int64_t d : distinct) out.classes.push_back(std::to_string(d));
    out.ids.reserve(v.size());
    for (int64_t x : v)
      out.ids.push_back(std::lower_bound(distinct.begin(), distinct.end(), x) - distinct.begin());
    return out;
  }
};

namespace detail {

inline constexpr uint8_t kGtMagic[6] = {0xE2, 0x9B, 0xBE, 0x20, 0x67, 0x74};
inline constexpr uint8_t kGtVersion = 1;

// Bytes per vertex index for a graph of n vertices.
inline size_t gt_index_width(uint64_t n) noexcept {
  if (n <= std::numeric_limits<uint8_t>::max()) return 1;
  if (n <= std::numeric_limits<uint16_t>::max()) return 2;
  if (n <= std::numeric_limits<uint32_t>::max()) return 4;
  return 8;
}

// The x87 80-bit extended value in p[0..9] (little-endian: 64-bit significand with its
// explicit integer bit, then sign and 15-bit exponent), as this machine's long double. Exact
// where long double is the x87 type; rounded (or overflowed to +-inf) elsewhere.
inline long double gt_decode_x87(const uint8_t* p) {
  uint64_t mant = 0;
  for (int i = 7; i >= 0; --i) mant = (mant << 8) | p[i];
  const unsigned se = p[8] | (unsigned{p[9]} << 8);
  const int e = static_cast<int>(se & 0x7fffu);
  long double v;
  if (e == 0x7fff)
    v = (mant << 1) == 0 ? std::numeric_limits<long double>::infinity()
                         : std::numeric_limits<long double>::quiet_NaN();
  else
    v = std::ldexp(static_cast<long double>(mant), (e == 0 ? 1 : e) - 16383 - 63);
  return (se & 0x8000u) ? -v : v;
}

// The inverse of gt_decode_x87, into 16 bytes (the padding is zeroed). A NaN becomes the
// default quiet NaN; a value beyond the x87 range (only where long double is wider) +-inf.
inline void gt_encode_x87(long double v, uint8_t* out) {
  std::memset(out, 0, 16);
  uint64_t mant = 0;
  unsigned se = std::signbit(v) ? 0x8000u : 0u;
  if (std::isnan(v)) {
    se |= 0x7fffu;
    mant = uint64_t{0xC} << 60;
  } else if (std::isinf(v)) {
    se |= 0x7fffu;
    mant = uint64_t{1} << 63;
  } else if (v != 0) {
    int e = 0;
    const long double a = std::fabs(v);
    const long double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
    const int biased = e - 1 + 16383;
    if (biased >= 0x7fff) {
      se |= 0x7fffu;
      mant = uint64_t{1} << 63;
    } else if (biased <= 0) {  // an x87 denormal: a = mant * 2^(1 - 16383 - 63)
      mant = static_cast<uint64_t>(std::ldexp(a, 16383 - 1 + 63));
    } else {
      mant = static_cast<uint64_t>(std::ldexp(m, 64));
      se |= static_cast<unsigned>(biased);
    }
  }
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(mant >> (8 * i));
  out[8] = static_cast<uint8_t>(se);
  out[9] = static_cast<uint8_t>(se >> 8);
}

// A cursor over the file's bytes. `section_` and `item_` say where the cursor is (set as the
// parse goes, cheap) so that every error can name the field that failed.
class GtParser {
 public:
  GtParser(const uint8_t* data, size_t size, const std::string& what)
      : p_(data), n_(size), what_(what) {}

  GraphToolGraph parse() {
    GraphToolGraph g;
    section_ = "the header";
    need(6, "the 6-byte magic E2 9B BE 20 67 74 (\"\xE2\x9B\xBE gt\")");
    if (std::memcmp(p_, kGtMagic, 6) != 0) {
      std::string got;
      for (int i = 0; i < 6; ++i) got += hex(p_[i]) + (i < 5 ? " " : "");
      error(0, "expected the magic E2 9B BE 20 67 74 (\"\xE2\x9B\xBE gt\"), got ", got,
            (p_[0] == 0x1f && p_[1] == 0x8b ? " (gzip data passed to the in-memory parser?)"
                                            : " (not a graph-tool .gt file)"));
    }
    pos_ = 6;
    const size_t at_version = pos_;
    const uint8_t version = u8("the version byte");
    if (version != kGtVersion) error(at_version, "expected version 1, got ", int{version});
    const size_t at_order = pos_;
    const uint8_t order = u8("the byte-order byte");
    if (order > 1)
      error(at_order, "expected the byte-order byte 0 (little-endian) or 1 (big-endian), got ",
            int{order});
    big_endian_ = order == 1;
    section_ = "the comment";
    g.comment = str("the comment");

    section_ = "the adjacency";
    const size_t at_dir = pos_;
    const uint8_t dir = u8("the directed flag");
    if (dir > 1) error(at_dir, "expected the directed flag 0 or 1, got ", int{dir});
    g.directed = dir == 1;
    // Each vertex's list needs at least its 8-byte count.
    const uint64_t n = count("the number of vertices N", 8);
    g.num_nodes = static_cast<int64_t>(n);
    const size_t width = gt_index_width(n);
    for (uint64_t v = 0; v < n; ++v) {
      item_ = static_cast<int64_t>(v);
      const uint64_t deg = count("the out-degree of this vertex", width);
      for (uint64_t k = 0; k < deg; ++k) {
        const size_t at = pos_;
        const uint64_t u = uint(width, "a neighbour index");
        if (u >= n)
          error(at, "expected a neighbour index below N = ", n, " (", width, "-byte index), got ",
                u);
        g.sources.push_back(static_cast<int64_t>(v));
        g.targets.push_back(static_cast<int64_t>(u));
      }
    }
    item_ = -1;

    section_ = "the property maps";
    // Each map needs at least a key byte, a name length and a type byte.
    const uint64_t nprops = count("the number of property maps", 10);
    g.properties.reserve(static_cast<size_t>(nprops));
    for (uint64_t i = 0; i < nprops; ++i) {
      section_ = "property map " + std::to_string(i);
      const size_t at_key = pos_;
      const uint8_t key = u8("the key type");
      if (key > 2)
        error(at_key, "expected the key type 0 (graph), 1 (vertex) or 2 (edge), got ", int{key});
      GraphToolProperty prop;
      prop.key = static_cast<GtKey>(key);
      const size_t at_name = pos_;
      prop.name = str("the name");
      section_ = std::string(gt_key_name(prop.key)) + " property '" + prop.name + "'";
      if (g.find(prop.key, prop.name) != nullptr)
        error(at_name, "expected a name not used by an earlier ", gt_key_name(prop.key),
              " property map, got a second '", prop.name, "'");
      const size_t at_type = pos_;
      const uint8_t type = u8("the value type");
      if (type >= kGtNumTypes)
        error(at_type, "expected a value type 0..14 (bool .. python::object), got ", int{type});
      prop.type = static_cast<GtType>(type);
      section_ += std::string(" (") + gt_type_name(prop.type) + ")";
      const uint64_t nvalues = prop.key == GtKey::graph    ? 1
                               : prop.key == GtKey::vertex ? n
                                                           : g.sources.size();
      read_values(prop, nvalues);
      g.properties.push_back(std::move(prop));
    }
    section_ = "the end of the file";
    if (pos_ != n_)
      error(pos_, "expected the end of the file after ", nprops, " property maps, got ", n_ - pos_,
            " more bytes");
    return g;
  }

 private:
  static std::string hex(uint8_t b) {
    const char* d = "0123456789ABCDEF";
    return std::string{d[b >> 4], d[b & 15]};
  }

  template <class... Parts>
  [[noreturn]] void error(size_t at, const Parts&... parts) const {
    if (item_ >= 0)
      fail("parse_graph_tool: '", what_, "': at byte offset ", at, " (", section_, ", item ", item_,
           "): ", parts...);
    fail("parse_graph_tool: '", what_, "': at byte offset ", at, " (", section_, "): ", parts...);
  }

  void need(size_t k, const char* what) const {
    if (n_ - pos_ < k)
      error(pos_, "expected ", what, " (", k, " bytes), but only ", n_ - pos_,
            " bytes remain (truncated file)");
  }

  uint8_t u8(const char* what) {
    need(1, what);
    return p_[pos_++];
  }

  // An unsigned integer of `width` bytes in the file's byte order.
  uint64_t uint(size_t width, const char* what) {
    need(width, what);
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) {
      const size_t b = big_endian_ ? i : width - 1 - i;
      v = (v << 8) | p_[pos_ + b];
    }
    pos_ += width;
    return v;
  }

  // A uint64 count of items that each take at least `min_bytes` bytes: checked against what
  // remains, so that nothing is ever allocated from a corrupt count.
  uint64_t count(const char* what, size_t min_bytes) {
    const size_t at = pos_;
    const uint64_t c = uint(8, what);
    const size_t left = n_ - pos_;
    if (c > left / min_bytes)
      error(at, "expected ", what, " to fit in the ", left, " bytes that remain (at least ",
            min_bytes, " bytes each), got ", c, " (corrupt or truncated file)");
    return c;
  }

  std::string str(const char* what) {
    const size_t n = static_cast<size_t>(count(what, 1));
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }

  template <class T>
  T scalar(const char* what) {
    if constexpr (std::is_same_v<T, long double>) {
      need(16, what);
      const long double v = gt_decode_x87(p_ + pos_);
      pos_ += 16;
      return v;
    } else if constexpr (std::is_same_v<T, uint8_t>) {  // bool
      const size_t at = pos_;
      const uint8_t b = u8(what);
      if (b > 1) error(at, "expected a bool (0 or 1), got ", int{b});
      return b;
    } else {
      using U = std::conditional_t<sizeof(T) == 2, uint16_t,
                                   std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>;
      const U u = static_cast<U>(uint(sizeof(T), what));
      T v;
      std::memcpy(&v, &u, sizeof(T));
      return v;
    }
  }

  template <class T>
  static constexpr size_t stored_size() {
    if constexpr (std::is_same_v<T, long double>)
      return 16;
    else
      return sizeof(T);
  }

  // `c` scalars of T; the caller checked c against the remaining bytes.
  template <class T>
  void scalars(std::vector<T>& out, uint64_t c, const char* what) {
    out.reserve(static_cast<size_t>(c));
    for (uint64_t i = 0; i < c; ++i) out.push_back(scalar<T>(what));
  }

  template <class T>
  void read_column(std::vector<T>& out, uint64_t c) {
    if constexpr (std::is_same_v<T, std::string>) {
      check_fits(c, 8);
      out.reserve(static_cast<size_t>(c));
      for (uint64_t i = 0; i < c; ++i) {
        item_ = static_cast<int64_t>(i);
        out.push_back(str("a string value"));
      }
    } else if constexpr (std::is_arithmetic_v<T>) {
      check_fits(c, stored_size<T>());
      out.reserve(static_cast<size_t>(c));
      for (uint64_t i = 0; i < c; ++i) {
        item_ = static_cast<int64_t>(i);
        out.push_back(scalar<T>("a value"));
      }
    } else {  // a vector per item
      using E = typename T::value_type;
      check_fits(c, 8);
      out.reserve(static_cast<size_t>(c));
      for (uint64_t i = 0; i < c; ++i) {
        item_ = static_cast<int64_t>(i);
        T& vec = out.emplace_back();
        if constexpr (std::is_same_v<E, std::string>) {
          const uint64_t len = count("the length of a vector<string> value", 8);
          vec.reserve(static_cast<size_t>(len));
          for (uint64_t j = 0; j < len; ++j) vec.push_back(str("a string element"));
        } else {
          const uint64_t len = count("the length of a vector value", stored_size<E>());
          scalars(vec, len, "a vector element");
        }
      }
    }
    item_ = -1;
  }

  // `c` items of at least `min_bytes` each must fit in what remains.
  void check_fits(uint64_t c, size_t min_bytes) const {
    const size_t left = n_ - pos_;
    if (c > left / min_bytes)
      error(pos_, "expected ", c, " values of at least ", min_bytes, " bytes each, but only ", left,
            " bytes remain (truncated file)");
  }

  void read_values(GraphToolProperty& prop, uint64_t c) {
    if (big_endian_ &&
        (prop.type == GtType::long_double || prop.type == GtType::vector_long_double))
      error(pos_,
            "expected no long double values in a big-endian file: graph-tool's 16-byte "
            "long double is the little-endian x87 type, so a big-endian one is undefined");
    switch (gt_variant_index(prop.type)) {
#define EMBER_GT_CASE(I)                           \
  case I: {                                        \
    auto& col = prop.values.template emplace<I>(); \
    read_column(col, c);                           \
    break;                                         \
  }
      EMBER_GT_CASE(0)
      EMBER_GT_CASE(1)
      EMBER_GT_CASE(2)
      EMBER_GT_CASE(3)
      EMBER_GT_CASE(4)
      EMBER_GT_CASE(5)
      EMBER_GT_CASE(6)
      EMBER_GT_CASE(7)
      EMBER_GT_CASE(8)
      EMBER_GT_CASE(9)
      EMBER_GT_CASE(10)
      EMBER_GT_CASE(11)
      EMBER_GT_CASE(12)
      EMBER_GT_CASE(13)
#undef EMBER_GT_CASE
      default:
        error(pos_, "internal: no storage for value type ", int(prop.type));
    }
  }

  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& what_;
  bool big_endian_ = false;
  std::string section_;
  int64_t item_ = -1;
};

// Little-endian writer for encode_graph_tool.
struct GtWriter {
  std::vector<uint8_t> out;
  void u8(uint8_t b) { out.push_back(b); }
  void uint(uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void str(const std::string& s) {
    uint(s.size(), 8);
    out.insert(out.end(), s.begin(), s.end());
  }
  template <class T>
  void scalar(T v) {
    if constexpr (std::is_same_v<T, long double>) {
      uint8_t b[16];
      gt_encode_x87(v, b);
      out.insert(out.end(), b, b + 16);
    } else if constexpr (std::is_same_v<T, uint8_t>) {
      u8(v);
    } else {
      using U = std::conditional_t<sizeof(T) == 2, uint16_t,
                                   std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>;
      U u;
      std::memcpy(&u, &v, sizeof(T));
      uint(u, sizeof(T));
    }
  }
  template <class T>
  void column(const std::vector<T>& col) {
    for (const T& x : col) {
      if constexpr (std::is_same_v<T, std::string>) {
        str(x);
      } else if constexpr (std::is_arithmetic_v<T>) {
        scalar(x);
      } else {
        uint(x.size(), 8);
        for (const auto& e : x) {
          if constexpr (std::is_same_v<std::decay_t<decltype(e)>, std::string>)
            str(e);
          else
            scalar(e);
        }
      }
    }
  }
};

template <class T>
bool gt_bools_ok(const std::vector<T>& col) {
  if constexpr (std::is_same_v<T, uint8_t>) {
    for (uint8_t b : col)
      if (b > 1) return false;
  } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
    for (const auto& v : col)
      for (uint8_t b : v)
        if (b > 1) return false;
  }
  return true;
}

}  // namespace detail

// Parses a .gt file held in memory (uncompressed). `what` names the source in errors (a path,
// "<fuzz>"). Never reads outside the span.
inline GraphToolGraph parse_graph_tool(std::span<const uint8_t> bytes, const std::string& what) {
  EMBER_CHECK(bytes.data() != nullptr || bytes.empty(), "parse_graph_tool: null data for '", what,
              "'");
  return detail::GtParser(bytes.data(), bytes.size(), what).parse();
}

inline GraphToolGraph parse_graph_tool(const uint8_t* data, size_t size, const std::string& what) {
  return parse_graph_tool(std::span<const uint8_t>(data, size), what);
}

// Reads a .gt file, gzipped (.gt.gz, as graph-tool's collection ships) or plain.
inline GraphToolGraph read_graph_tool(const std::string& path) {
  const std::vector<uint8_t> bytes = read_maybe_gzipped(
      path, "read_graph_tool", "a graph-tool .gt file (plain or gzipped)", kGraphToolMaxBytes);
  return parse_graph_tool(bytes, path);
}

// Serialises a graph in the .gt format (little-endian, version 1), the inverse of
// parse_graph_tool. The edges must be grouped by source in non-decreasing order (the format
// stores them as adjacency lists, and edge property values follow that order), every index
// must be below num_nodes, each map must hold 1 / num_nodes / num_edges values of the
// alternative its type names, bools must be 0 or 1, and names must be unique per key type.
inline std::vector<uint8_t> encode_graph_tool(const GraphToolGraph& g) {
  EMBER_CHECK(g.num_nodes >= 0, "encode_graph_tool: expected num_nodes >= 0, got ", g.num_nodes);
  EMBER_CHECK(g.sources.size() == g.targets.size(), "encode_graph_tool: expected as many ",
              "targets as sources, got ", g.sources.size(), " sources and ", g.targets.size(),
              " targets");
  const size_t e = g.sources.size();
  for (size_t i = 0; i < e; ++i) {
    EMBER_CHECK(g.sources[i] >= 0 && g.sources[i] < g.num_nodes && g.targets[i] >= 0 &&
                    g.targets[i] < g.num_nodes,
                "encode_graph_tool: edge ", i, " (", g.sources[i], " -> ", g.targets[i],
                ") has an endpoint outside [0, ", g.num_nodes, ")");
    EMBER_CHECK(i == 0 || g.sources[i] >= g.sources[i - 1], "encode_graph_tool: edge ", i,
                " has source ", g.sources[i], " after an edge with source ", g.sources[i - 1],
                "; expected the edges grouped by source in non-decreasing order");
  }
  for (size_t i = 0; i < g.properties.size(); ++i) {
    const GraphToolProperty& p = g.properties[i];
    EMBER_CHECK(static_cast<uint8_t>(p.key) <= 2 && static_cast<int>(p.type) < kGtNumTypes,
                "encode_graph_tool: property '", p.name, "' has key type ", int(p.key),
                " and value type ", int(p.type), "; expected 0..2 and 0..14");
    EMBER_CHECK(p.values.index() == gt_variant_index(p.type),
                "encode_graph_tool: ", gt_key_name(p.key), " property '", p.name, "' of type ",
                gt_type_name(p.type), " holds the storage of alternative ", p.values.index(),
                ", expected ", gt_variant_index(p.type));
    const size_t want = p.key == GtKey::graph    ? 1
                        : p.key == GtKey::vertex ? static_cast<size_t>(g.num_nodes)
                                                 : e;
    EMBER_CHECK(p.size() == want, "encode_graph_tool: ", gt_key_name(p.key), " property '", p.name,
                "' holds ", p.size(), " values, expected ", want);
    EMBER_CHECK(std::visit([](const auto& col) { return detail::gt_bools_ok(col); }, p.values),
                "encode_graph_tool: ", gt_key_name(p.key), " property '", p.name,
                "' holds a bool other than 0 or 1");
    for (size_t j = 0; j < i; ++j)
      EMBER_CHECK(g.properties[j].key != p.key || g.properties[j].name != p.name,
                  "encode_graph_tool: two ", gt_key_name(p.key), " properties named '", p.name,
                  "'");
  }
  detail::GtWriter w;
  // Byte by byte: GCC 12 warns (-Wstringop-overflow, a false positive) on a range insert here.
  for (uint8_t b : detail::kGtMagic) w.u8(b);
  w.u8(detail::kGtVersion);
  w.u8(0);  // little-endian
  w.str(g.comment);
  w.u8(g.directed ? 1 : 0);
  const auto n = static_cast<uint64_t>(g.num_nodes);
  w.uint(n, 8);
  const size_t width = detail::gt_index_width(n);
  size_t next = 0;
  for (uint64_t v = 0; v < n; ++v) {
    size_t end = next;
    while (end < e && static_cast<uint64_t>(g.sources[end]) == v) ++end;
    w.uint(end - next, 8);
    for (size_t i = next; i < end; ++i) w.uint(static_cast<uint64_t>(g.targets[i]), width);
    next = end;
  }
  w.uint(g.properties.size(), 8);
  for (const GraphToolProperty& p : g.properties) {
    w.u8(static_cast<uint8_t>(p.key));
    w.str(p.name);
    w.u8(static_cast<uint8_t>(p.type));
    std::visit([&](const auto& col) { w.column(col); }, p.values);
  }
  return std::move(w.out);
}

}  // namespace ember::io
