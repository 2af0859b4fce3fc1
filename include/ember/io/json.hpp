// ember::io::json: a small, strict JSON reader and writer.
//
// It exists for checkpoint headers (safetensors), which come from files we did not write, so the
// parser treats its input as hostile: every malformed byte sequence throws ember::Error naming the
// byte offset, nesting is bounded so a crafted header cannot blow the stack, strings must be valid
// UTF-8, and duplicate object keys are rejected (a duplicated tensor name would otherwise be
// ambiguous). Integers keep their exact int64/uint64 value next to the double, because data
// offsets are byte counts that a double could round above 2^53.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <ember/core/error.hpp>

namespace ember::io::json {

class Value;
using Array = std::vector<Value>;
using Member = std::pair<std::string, Value>;
using Object = std::vector<Member>;  // a vector, not a map: insertion order is kept for dump()

enum class Type { Null, Bool, Number, String, Array, Object };

inline const char* type_name(Type t) {
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "bool";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

// A number remembers whether its literal was an integer: `d` is always set (nearest double),
// `i`/`u` hold the exact value for kinds Int (fits int64) and UInt (above INT64_MAX).
struct Number {
  enum Kind { Real, Int, UInt } kind = Real;
  double d = 0;
  int64_t i = 0;
  uint64_t u = 0;
  friend bool operator==(const Number& a, const Number& b) {
    if (a.kind != b.kind) return false;  // 3 and 3.0 are different values here, as in dump()
    return a.kind == Int ? a.i == b.i : a.kind == UInt ? a.u == b.u : a.d == b.d;
  }
};

class Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  template <std::floating_point F>
  Value(F f) : data_(Number{Number::Real, static_cast<double>(f), 0, 0}) {}
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  Value(I v) {
    if constexpr (std::is_signed_v<I>) {
      data_ = Number{Number::Int, static_cast<double>(v), static_cast<int64_t>(v), 0};
    } else if (static_cast<uint64_t>(v) <= static_cast<uint64_t>(INT64_MAX)) {
      data_ = Number{Number::Int, static_cast<double>(v), static_cast<int64_t>(v), 0};
    } else {
      data_ = Number{Number::UInt, static_cast<double>(v), 0, static_cast<uint64_t>(v)};
    }
  }
  Value(Number n) : data_(n) {}
  // const char* must be spelled out, or a string literal would convert to bool.
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(Array a) : data_(std::move(a)) {}
  Value(Object o) : data_(std::move(o)) {}

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_number() const { return type() == Type::Number; }
  bool is_integer() const { return is_number() && std::get<Number>(data_).kind != Number::Real; }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }

  bool as_bool() const { return get<bool>(Type::Bool); }
  const Number& as_number() const { return get<Number>(Type::Number); }
  double as_double() const { return as_number().d; }
  int64_t as_int64() const {
    const Number& n = as_number();
    if (n.kind == Number::Int) return n.i;
    if (n.kind == Number::UInt) fail("json: integer ", n.u, " does not fit in int64");
    fail("json: expected an integer, got the non-integer number ", n.d);
  }
  uint64_t as_uint64() const {
    const Number& n = as_number();
    if (n.kind == Number::UInt) return n.u;
    if (n.kind == Number::Int && n.i >= 0) return static_cast<uint64_t>(n.i);
    if (n.kind == Number::Int) fail("json: expected a non-negative integer, got ", n.i);
    fail("json: expected an integer, got the non-integer number ", n.d);
  }
  const std::string& as_string() const { return get<std::string>(Type::String); }
  const Array& as_array() const { return get<Array>(Type::Array); }
  Array& as_array() { return const_cast<Array&>(std::as_const(*this).as_array()); }
  const Object& as_object() const { return get<Object>(Type::Object); }
  Object& as_object() { return const_cast<Object&>(std::as_const(*this).as_object()); }

  // Member lookup on an object (linear: headers are small and order matters more than speed).
  const Value* find(std::string_view key) const {
    for (const auto& [k, v] : as_object())
      if (k == key) return &v;
    return nullptr;
  }
  const Value& at(std::string_view key) const {
    if (const Value* v = find(key)) return *v;
    fail("json: object has no key \"", key, "\"");
  }

  friend bool operator==(const Value& a, const Value& b) { return a.data_ == b.data_; }

 private:
  template <class T>
  const T& get(Type want) const {
    if (type() != want) fail("json: expected ", type_name(want), ", got ", type_name(type()));
    return std::get<T>(data_);
  }
  // Alternative order must match enum Type, so type() is just the index.
  std::variant<std::monostate, bool, Number, std::string, Array, Object> data_;
};

namespace detail {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if it is not one. Rejects
// overlong forms, UTF-16 surrogates and code points above U+10FFFF (RFC 3629, table 3-7 of Unicode).
inline size_t utf8_len(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return at(k) >= lo && at(k) <= hi;
  };
  unsigned b = at(0);
  if (i >= s.size()) return 0;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return cont(1) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    unsigned lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    unsigned lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

inline void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, int max_depth) : s_(text), max_depth_(max_depth) {}

  Value document() {
    skip_ws();
    Value v = value(0);
    skip_ws();
    if (pos_ != s_.size()) error("unexpected ", got(), " after the end of the JSON value");
    return v;
  }

 private:
  template <class... Parts>
  [[noreturn]] void error(const Parts&... parts) const {
    fail("json parse error at byte ", pos_, ": ", parts...);
  }
  // The current byte, printable even when it is a control or non-ASCII byte.
  std::string got() const {
    if (pos_ >= s_.size()) return "end of input";
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  bool is_digit() const { return !at_end() && s_[pos_] >= '0' && s_[pos_] <= '9'; }
  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }
  void expect(char c, const char* context) {
    if (peek() != c || at_end()) error("expected '", c, "' ", context, ", got ", got());
    ++pos_;
  }

  Value value(int depth) {
    switch (peek()) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return string();
      case 't': return literal("true", Value(true));
      case 'f': return literal("false", Value(false));
      case 'n': return literal("null", Value());
      default:
        if (peek() == '-' || is_digit()) return number();
        error("expected a JSON value, got ", got());
    }
  }

  Value literal(std::string_view word, Value v) {
    if (s_.substr(pos_, word.size()) != word) error("invalid literal, expected '", word, "'");
    pos_ += word.size();
    return v;
  }

  void enter(int depth) {
    if (depth > max_depth_) error("nesting deeper than ", max_depth_, " levels");
  }

  Value object(int depth) {
    enter(depth);
    ++pos_;  // '{'
    Object obj;
    std::unordered_set<std::string> seen;
    skip_ws();
    if (peek() == '}') return ++pos_, Value(std::move(obj));
    for (;;) {
      if (peek() != '"') error("expected a string key in object, got ", got());
      size_t key_pos = pos_;
      std::string key = string_body();
      skip_ws();
      expect(':', "after object key");
      skip_ws();
      Value v = value(depth);
      if (!seen.insert(key).second) {
        pos_ = key_pos;
        error("duplicate object key \"", key, "\"");
      }
      obj.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (peek() == ',' && !at_end()) {
        ++pos_;
        skip_ws();
      } else if (peek() == '}' && !at_end()) {
        ++pos_;
        return Value(std::move(obj));
      } else {
        error("expected ',' or '}' in object, got ", got());
      }
    }
  }

  Value array(int depth) {
    enter(depth);
    ++pos_;  // '['
    Array arr;
    skip_ws();
    if (peek() == ']') return ++pos_, Value(std::move(arr));
    for (;;) {
      arr.push_back(value(depth));
      skip_ws();
      if (peek() == ',' && !at_end()) {
        ++pos_;
        skip_ws();  // a trailing comma then fails in value(): "expected a JSON value, got ']'"
      } else if (peek() == ']' && !at_end()) {
        ++pos_;
        return Value(std::move(arr));
      } else {
        error("expected ',' or ']' in array, got ", got());
      }
    }
  }

  Value string() { return Value(string_body()); }

  std::string string_body() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) error("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') return ++pos_, out;
      if (c == '\\') {
        escape(out);
      } else if (c < 0x20) {
        error("unescaped control character (", got(), ") in string");
      } else {
        size_t n = utf8_len(s_, pos_);
        if (n == 0) error("invalid UTF-8 (", got(), ") in string");
        out.append(s_.substr(pos_, n));
        pos_ += n;
      }
    }
  }

  void escape(std::string& out) {
    ++pos_;  // backslash
    char c = peek();
    if (at_end()) error("unterminated escape sequence");
    ++pos_;
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: --pos_; error("invalid escape sequence \\", got());
    }
    uint32_t cp = hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF) error("unpaired low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      // Characters above U+FFFF arrive as a UTF-16 pair; a lone half is not a character.
      if (s_.substr(pos_, 2) != "\\u") error("high surrogate not followed by a \\u low surrogate");
      pos_ += 2;
      uint32_t lo = hex4();
      if (lo < 0xDC00 || lo > 0xDFFF) error("high surrogate not followed by a low surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    append_utf8(out, cp);
  }

  uint32_t hex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = peek();
      if (at_end()) error("truncated \\u escape");
      int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) error("invalid hex digit ", got(), " in \\u escape");
      v = v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    return v;
  }

  Value number() {
    size_t start = pos_;
    bool neg = peek() == '-';
    if (neg) ++pos_;
    if (!is_digit()) error("expected a digit, got ", got());
    if (peek() == '0') {
      ++pos_;
      if (is_digit()) error("leading zeros are not allowed in numbers");
    } else {
      while (is_digit()) ++pos_;
    }
    bool integral = true;
    if (peek() == '.' && !at_end()) {
      ++pos_, integral = false;
      if (!is_digit()) error("expected a digit after the decimal point, got ", got());
      while (is_digit()) ++pos_;
    }
    if ((peek() == 'e' || peek() == 'E') && !at_end()) {
      ++pos_, integral = false;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!is_digit()) error("expected a digit in the exponent, got ", got());
      while (is_digit()) ++pos_;
    }
    std::string_view lit = s_.substr(start, pos_ - start);

    Number n;
    auto [ptr, ec] = std::from_chars(lit.data(), lit.data() + lit.size(), n.d);
    if (ec == std::errc::result_out_of_range) {
      // libstdc++ reports underflow and overflow alike; underflow rounds to zero as IEEE does.
      if (decimal_magnitude(lit) > 0) pos_ = start, error("number ", lit, " overflows a double");
      n.d = neg ? -0.0 : 0.0;
    } else if (ec != std::errc() || ptr != lit.data() + lit.size()) {
      pos_ = start, error("invalid number ", lit);
    }
    if (!integral) return Value(n);

    // Exact integer: accumulate the magnitude in uint64, falling back to Real when it overflows.
    uint64_t mag = 0;
    for (char c : lit.substr(neg ? 1 : 0)) {
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (mag > (UINT64_MAX - d) / 10) return Value(n);
      mag = mag * 10 + d;
    }
    if (!neg && mag > static_cast<uint64_t>(INT64_MAX)) {
      n.kind = Number::UInt, n.u = mag;
    } else if (!neg) {
      n.kind = Number::Int, n.i = static_cast<int64_t>(mag);
    } else if (mag <= static_cast<uint64_t>(INT64_MAX) + 1) {
      n.kind = Number::Int, n.i = static_cast<int64_t>(0 - mag);  // wraps to INT64_MIN exactly
      if (mag == 0) n.d = 0.0;                                     // "-0" is the integer 0
    }
    return Value(n);
  }

  // For a nonzero literal x, the k with 10^(k-1) <= |x| < 10^k (saturated): > 0 means |x| >= 1.
  static long decimal_magnitude(std::string_view lit) {
    size_t p = lit[0] == '-' ? 1 : 0, lead_int = 0, lead_zeros = 0;
    while (p < lit.size() && lit[p] == '0') ++p;
    while (p < lit.size() && lit[p] >= '0' && lit[p] <= '9') ++p, ++lead_int;
    if (p < lit.size() && lit[p] == '.') {
      ++p;
      while (p < lit.size() && lit[p] == '0') ++p, ++lead_zeros;
      while (p < lit.size() && lit[p] >= '0' && lit[p] <= '9') ++p;
    }
    long exp = 0, sign = 1;
    if (p < lit.size() && (lit[p] == 'e' || lit[p] == 'E')) {
      ++p;
      if (p < lit.size() && (lit[p] == '+' || lit[p] == '-')) sign = lit[p++] == '-' ? -1 : 1;
      for (; p < lit.size(); ++p) exp = std::min(exp * 10 + (lit[p] - '0'), 1000000L);
    }
    long lead = lead_int > 0 ? static_cast<long>(lead_int) : -static_cast<long>(lead_zeros);
    return lead + sign * exp;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int max_depth_;
};

inline void dump_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\', out += static_cast<char>(c);
    } else if (c < 0x20) {
      const char* named = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r" : c == '\t' ? "\\t" : nullptr;
      if (named) {
        out += named;
      } else {
        const char* hex = "0123456789abcdef";
        out += "\\u00", out += hex[c >> 4], out += hex[c & 15];
      }
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // Refuse to write what parse() would refuse to read.
      size_t n = utf8_len(s, i);
      if (n == 0) fail("json::dump: string has invalid UTF-8 at byte ", i);
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
  out += '"';
}

inline void dump_number(std::string& out, const Number& n) {
  char buf[64];
  std::to_chars_result r;
  if (n.kind == Number::Int) {
    r = std::to_chars(buf, buf + sizeof buf, n.i);
  } else if (n.kind == Number::UInt) {
    r = std::to_chars(buf, buf + sizeof buf, n.u);
  } else {
    if (!std::isfinite(n.d)) fail("json::dump: cannot write non-finite number ", n.d);
    r = std::to_chars(buf, buf + sizeof buf, n.d);  // shortest text that round-trips exactly
  }
  std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  out += text;
  // Keep a real number real across a round trip: 3.0 is written "3.0", not "3".
  if (n.kind == Number::Real && text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

inline void dump_to(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::Null: out += "null"; return;
    case Type::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Type::Number: dump_number(out, v.as_number()); return;
    case Type::String: dump_string(out, v.as_string()); return;
    case Type::Array: {
      out += '[';
      for (size_t i = 0; i < v.as_array().size(); ++i) {
        if (i) out += ',';
        dump_to(out, v.as_array()[i]);
      }
      out += ']';
      return;
    }
    case Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& [k, child] : v.as_object()) {
        if (!first) out += ',';
        first = false;
        dump_string(out, k);
        out += ':';
        dump_to(out, child);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace detail

inline constexpr int kDefaultMaxDepth = 64;

// Parses one complete JSON document (RFC 8259; surrounding whitespace allowed, nothing else).
// Throws ember::Error with the byte offset on any malformed input.
inline Value parse(std::string_view text, int max_depth = kDefaultMaxDepth) {
  return detail::Parser(text, max_depth).document();
}

// Compact, deterministic text: no whitespace, object members in insertion order.
inline std::string dump(const Value& v) {
  std::string out;
  detail::dump_to(out, v);
  return out;
}

}  // namespace ember::io::json
