// Tests for ember::io::json: the strict parser that reads untrusted safetensors headers.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

#include <ember/io/json.hpp>

namespace json = ember::io::json;
using namespace std::string_literals;

TEST_CASE("json: parses scalars") {
  CHECK(json::parse("null").is_null());
  CHECK(json::parse("true").as_bool() == true);
  CHECK(json::parse(" false ").as_bool() == false);
  CHECK(json::parse("0").as_int64() == 0);
  CHECK(json::parse("-17").as_int64() == -17);
  CHECK(json::parse("2.5").as_double() == 2.5);
  CHECK(json::parse("-1.5e3").as_double() == -1500.0);
  CHECK(json::parse("1E-2").as_double() == 0.01);
  CHECK(json::parse("\"hi\"").as_string() == "hi");
  CHECK(json::parse("\t\r\n 7 \n").as_int64() == 7);
}

TEST_CASE("json: a safetensors-style header") {
  const char* text = R"({"__metadata__":{"format":"pt"},
    "w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},
    "b":{"dtype":"F64","shape":[],"data_offsets":[24,32]}}   )";
  json::Value v = json::parse(text);
  const json::Object& obj = v.as_object();
  REQUIRE(obj.size() == 3);
  // Insertion order is preserved.
  CHECK(obj[0].first == "__metadata__");
  CHECK(obj[1].first == "w");
  CHECK(obj[2].first == "b");
  const json::Value* w = v.find("w");
  REQUIRE(w != nullptr);
  CHECK(w->at("dtype").as_string() == "F32");
  CHECK(w->at("shape").as_array().size() == 2);
  CHECK(w->at("shape").as_array()[1].as_int64() == 3);
  CHECK(w->at("data_offsets").as_array()[1].as_uint64() == 24);
  CHECK(v.find("missing") == nullptr);
  CHECK(v.at("b").at("shape").as_array().empty());
  CHECK_THROWS_AS(v.at("missing"), ember::Error);
}

TEST_CASE("json: accessors throw on the wrong type") {
  json::Value v = json::parse(R"({"a":[1,2],"s":"x","f":1.5})");
  CHECK_THROWS_AS(v.as_array(), ember::Error);
  CHECK_THROWS_AS(v.as_string(), ember::Error);
  CHECK_THROWS_AS(v.at("a").as_object(), ember::Error);
  CHECK_THROWS_AS(v.at("a").find("k"), ember::Error);
  CHECK_THROWS_AS(v.at("s").as_int64(), ember::Error);
  CHECK_THROWS_AS(v.at("s").as_double(), ember::Error);
  CHECK_THROWS_AS(v.at("f").as_int64(), ember::Error);  // 1.5 is not an integer
  CHECK_THROWS_AS(v.at("f").as_bool(), ember::Error);
  CHECK_THROWS_AS(json::parse("-1").as_uint64(), ember::Error);
}

TEST_CASE("json: integers are exact beyond 2^53") {
  // 2^53 + 1 is not representable as a double; the int64 keeps it.
  json::Value a = json::parse("9007199254740993");
  CHECK(a.is_integer());
  CHECK(a.as_int64() == 9007199254740993LL);
  CHECK(json::parse("-9007199254740993").as_int64() == -9007199254740993LL);
  CHECK(json::parse("9223372036854775807").as_int64() == INT64_MAX);
  CHECK(json::parse("-9223372036854775808").as_int64() == INT64_MIN);
  // Above INT64_MAX: exact as uint64, refused as int64.
  json::Value u = json::parse("18446744073709551615");
  CHECK(u.as_uint64() == UINT64_MAX);
  CHECK_THROWS_AS(u.as_int64(), ember::Error);
  // Beyond uint64 (or below INT64_MIN) only the double survives.
  json::Value big = json::parse("18446744073709551616");
  CHECK_FALSE(big.is_integer());
  CHECK(big.as_double() == 18446744073709551616.0);
  CHECK_FALSE(json::parse("-9223372036854775809").is_integer());
  // Non-integer literals stay real even when integral in value.
  CHECK_FALSE(json::parse("3.0").is_integer());
  CHECK_FALSE(json::parse("1e2").is_integer());
  CHECK(json::dump(json::parse("9007199254740993")) == "9007199254740993");
  CHECK(json::dump(json::Value(UINT64_MAX)) == "18446744073709551615");
}

TEST_CASE("json: doubles at the edges") {
  CHECK(json::parse("1e300").as_double() == 1e300);
  CHECK(json::parse("4.9e-324").as_double() > 0);
  CHECK(json::parse("1e-400").as_double() == 0.0);  // underflow rounds to zero, like IEEE
  CHECK(json::parse("0.1").as_double() == 0.1);
  CHECK(json::dump(json::Value(0.1)) == "0.1");
  CHECK(json::dump(json::Value(3.0)) == "3.0");
  CHECK(json::dump(json::Value(1e300)) == "1e+300");
  CHECK(json::dump(json::Value(-0.0)) == "-0.0");
  CHECK_THROWS_AS(json::dump(json::Value(std::numeric_limits<double>::infinity())), ember::Error);
  CHECK_THROWS_AS(json::dump(json::Value(std::numeric_limits<double>::quiet_NaN())),
                  ember::Error);
}

TEST_CASE("json: string escapes") {
  CHECK(json::parse(R"("a\"b\\c\/d")").as_string() == "a\"b\\c/d");
  CHECK(json::parse(R"("\b\f\n\r\t")").as_string() == "\b\f\n\r\t");
  CHECK(json::parse(R"("\u0041\u00e9\u20AC")").as_string() == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(json::parse(R"("\u0000")").as_string() == "\0"s);
  // A surrogate pair becomes one 4-byte UTF-8 character (U+1F600).
  CHECK(json::parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");
  // Raw UTF-8 passes through.
  CHECK(json::parse("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").as_string() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  // dump escapes what must be escaped and nothing else.
  CHECK(json::dump(json::Value("q\"\\\n\x01/\xC3\xA9")) == R"("q\"\\\n\u0001/)"s + "\xC3\xA9\"");
  CHECK_THROWS_AS(json::dump(json::Value("\xFF")), ember::Error);
}

TEST_CASE("json: dump is compact, ordered and round-trips") {
  json::Value v(json::Object{
      {"z", 1},
      {"a", json::Array{true, false, nullptr, 2.5, "s"}},
      {"m", json::Object{{"k", -7}, {"e", json::Object{}}, {"l", json::Array{}}}},
  });
  std::string text = json::dump(v);
  CHECK(text == R"({"z":1,"a":[true,false,null,2.5,"s"],"m":{"k":-7,"e":{},"l":[]}})");
  CHECK(json::parse(text) == v);
  CHECK(json::dump(json::parse(text)) == text);

  const char* doc =
      R"({"x":[1e-7,123456789.125,-0.5,9223372036854775807],"esc":"\u0007\t\"","u":"\ud83d\ude00"})";
  json::Value p = json::parse(doc);
  CHECK(json::parse(json::dump(p)) == p);
  CHECK(json::dump(json::parse(json::dump(p))) == json::dump(p));
}

TEST_CASE("json: nesting is bounded") {
  std::string ok = std::string(64, '[') + std::string(64, ']');
  CHECK_NOTHROW(json::parse(ok));
  std::string deep = std::string(65, '[') + std::string(65, ']');
  CHECK_THROWS_AS(json::parse(deep), ember::Error);
  // Far deeper input must fail cleanly, not overflow the stack.
  std::string very_deep(1000000, '[');
  CHECK_THROWS_AS(json::parse(very_deep), ember::Error);
  std::string objs;
  for (int i = 0; i < 100; ++i) objs += "{\"a\":";
  CHECK_THROWS_AS(json::parse(objs), ember::Error);
}

TEST_CASE("json: malformed input throws ember::Error") {
  const std::string bad[] = {
      "",                       // empty
      "   ",                    // whitespace only
      "{",                      // unterminated object
      "[1,2",                   // unterminated array
      "[1,]",                   // trailing comma in array
      "{\"a\":1,}",             // trailing comma in object
      "{\"a\" 1}",              // missing colon
      "{a:1}",                  // unquoted key
      "{1:2}",                  // non-string key
      "{\"a\":1 \"b\":2}",      // missing comma
      "{\"a\":1,\"a\":2}",      // duplicate key
      "\"abc",                  // unterminated string
      "\"a\nb\"",               // raw control character in string
      "\"a\x1f\"",              // raw control character in string
      "\"\\x41\"",              // invalid escape
      "\"\\u12\"",              // short \u escape
      "\"\\u12G4\"",            // bad hex digit
      "\"\\ud83d\"",            // lone high surrogate
      "\"\\ud83d\\u0041\"",     // high surrogate followed by a non-surrogate
      "\"\\ude00\"",            // lone low surrogate
      "\"\xC3\"",               // truncated UTF-8
      "\"\xC0\xAF\"",           // overlong UTF-8
      "\"\xED\xA0\x80\"",       // UTF-8-encoded surrogate
      "\"\xF4\x90\x80\x80\"",   // beyond U+10FFFF
      "\"\xFF\"",               // never valid in UTF-8
      "01",                     // leading zero
      "-01",                    // leading zero
      "+1",                     // plus sign
      "-",                      // sign only
      "1.",                     // no fraction digits
      ".5",                     // no integer digits
      "1e",                     // no exponent digits
      "1e+",                    // no exponent digits
      "0x10",                   // hex
      "1e400",                  // overflows double
      "NaN",                    // not JSON
      "Infinity",               // not JSON
      "tru",                    // truncated literal
      "nul",                    // truncated literal
      "True",                   // wrong case
      "1 2",                    // trailing garbage
      "{} x",                   // trailing garbage
      "[]]",                    // trailing garbage
      "{\"a\":1}\0"s,           // trailing NUL
      "\xEF\xBB\xBF{}",         // byte order mark
      "[1,\x01]",               // control byte outside a string
      "// c\n{}",               // comments are not JSON
      "'a'",                    // single quotes
  };
  for (const std::string& text : bad) {
    CAPTURE(text);
    CHECK_THROWS_AS(json::parse(text), ember::Error);
  }
}

TEST_CASE("json: error messages name the byte offset") {
  try {
    json::parse(R"({"a":[1,2,x]})");
    FAIL("expected a throw");
  } catch (const ember::Error& e) {
    std::string msg = e.what();
    CHECK(msg.find("byte 10") != std::string::npos);
    CHECK(msg.find("'x'") != std::string::npos);
  }
}

TEST_CASE("json: arbitrary bytes never crash the parser") {
  // A cheap deterministic fuzz: mutate a valid header byte by byte and truncate it everywhere.
  // Every outcome must be a Value or an ember::Error, nothing else.
  const std::string seed =
      R"({"__metadata__":{"k":"v\u00e9"},"t":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  int parsed = 0, rejected = 0;
  auto attempt = [&](const std::string& text) {
    try {
      json::Value v = json::parse(text);
      CHECK(json::parse(json::dump(v)) == v);  // anything accepted must round-trip
      ++parsed;
    } catch (const ember::Error&) {
      ++rejected;
    }
  };
  for (size_t n = 0; n <= seed.size(); ++n) attempt(seed.substr(0, n));
  for (int i = 0; i < 3000; ++i) {
    std::string s = seed;
    for (uint64_t k = next() % 4 + 1; k > 0; --k) s[next() % s.size()] = static_cast<char>(next());
    attempt(s);
  }
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}
