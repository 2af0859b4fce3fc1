// A small command-line flag parser for ember's examples and tools.
//
//   ember::util::ArgParser p("fashion_mnist", "Trains an MLP on Fashion-MNIST.");
//   p.add("epochs", "N", "training epochs (default 8)");
//   p.add_switch("quick", "a smoke test");
//   ember::util::ParsedArgs a = p.parse(argc, argv);   // ember::Error on bad input
//   if (a.has("help")) { std::fputs(p.usage().c_str(), stdout); return 0; }
//   int64_t epochs = a.get<int64_t>("epochs", 8);
//
// Long flags only: `--name value` and `--name=value` for flags that take a value, `--name` for
// switches. --help / -h is always known. Numbers must be whole strings (std::from_chars), so
// "12abc", "" or "1e400" are errors instead of silently truncated. Every error is an
// ember::Error naming the flag and what was expected; the parser never exits by itself, so it
// is safe to call from tests and fuzzers.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <ember/core/error.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace ember::util {

// What parse() found: the flags given, in command-line order (a repeated flag: the last wins).
class ParsedArgs {
 public:
  bool has(std::string_view name) const { return find(name) != nullptr; }

  // The raw text of a flag that takes a value (empty for a switch).
  const std::string* raw(std::string_view name) const { return find(name); }

  // The flag's value converted to V (integers, floating point, std::string), or `fallback`
  // when the flag was not given. Throws ember::Error when the text is not a V.
  template <class V>
  V get(std::string_view name, V fallback) const {
    const std::string* text = find(name);
    if (!text) return fallback;
    return convert<V>(name, *text);
  }

  template <class V>
  static V convert(std::string_view name, const std::string& text) {
    if constexpr (std::is_same_v<V, std::string>) {
      return text;
    } else if constexpr (std::is_same_v<V, bool>) {
      if (text == "1" || text == "true") return true;
      if (text == "0" || text == "false") return false;
      fail("--", name, ": expected true/false/1/0, got '", text, "'");
    } else {
      static_assert(std::is_arithmetic_v<V>, "ParsedArgs::get: unsupported value type");
      V v{};
      const char* first = text.data();
      const char* last = first + text.size();
      if (!std::is_signed_v<V> && !text.empty() && text[0] == '-')  // from_chars accepts no '-'
        fail("--", name, ": expected a non-negative number, got '", text, "'");
      auto [end, ec] = std::from_chars(first, last, v);
      if (ec == std::errc::result_out_of_range)
        fail("--", name, ": number '", text, "' is out of range");
      if (ec != std::errc() || end != last || text.empty())
        fail("--", name, ": expected a number, got '", text, "'");
      return v;
    }
  }

  std::vector<std::pair<std::string, std::string>> values;  // (name, text) in order given

 private:
  const std::string* find(std::string_view name) const {
    for (auto it = values.rbegin(); it != values.rend(); ++it)
      if (it->first == name) return &it->second;
    return nullptr;
  }
};

class ArgParser {
 public:
  ArgParser(std::string program, std::string description = "")
      : program_(std::move(program)), description_(std::move(description)) {}

  // A flag that takes a value: `--name VALUE` or `--name=VALUE`.
  ArgParser& add(std::string name, std::string metavar, std::string help) {
    flags_.push_back({std::move(name), std::move(metavar), std::move(help), true});
    return *this;
  }
  // A switch: `--name`, no value.
  ArgParser& add_switch(std::string name, std::string help) {
    flags_.push_back({std::move(name), "", std::move(help), false});
    return *this;
  }

  // Parses argv[1..argc). Throws ember::Error on an unknown flag, a positional argument, a
  // missing value or a value given to a switch; messages name the flag, not the program (the
  // caller prefixes its name when it prints them).
  ParsedArgs parse(int argc, const char* const* argv) const {
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i] ? argv[i] : "");
    return parse(args);
  }
  ParsedArgs parse(const std::vector<std::string_view>& args) const {
    ParsedArgs out;
    for (size_t i = 0; i < args.size(); ++i) {
      std::string_view arg = args[i];
      if (arg == "-h" || arg == "--help") {
        out.values.emplace_back("help", "");
        continue;
      }
      EMBER_CHECK(arg.size() > 2 && arg.substr(0, 2) == "--", "unexpected argument '", arg,
                  "' (options are --name or --name=value)");
      std::string_view name = arg.substr(2), value;
      bool has_value = false;
      if (const size_t eq = name.find('='); eq != std::string_view::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      const Flag* flag = nullptr;
      for (const Flag& f : flags_)
        if (f.name == name) flag = &f;
      EMBER_CHECK(flag != nullptr, "unknown option '", arg, "'");
      if (!flag->takes_value) {
        EMBER_CHECK(!has_value, "--", name, " takes no value");
      } else if (!has_value) {
        EMBER_CHECK(i + 1 < args.size(), "--", name, ": missing value");
        value = args[++i];
      }
      out.values.emplace_back(std::string(name), std::string(value));
    }
    return out;
  }

  // "usage: program [options]", the description, and one aligned line per flag.
  std::string usage() const {
    std::string s = "usage: " + program_ + " [options]\n";
    if (!description_.empty()) s += "\n" + description_ + "\n";
    s += "\n";
    std::vector<std::string> heads;
    size_t width = std::string("  --help").size();
    for (const Flag& f : flags_) {
      heads.push_back("  --" + f.name + (f.takes_value ? " " + f.metavar : ""));
      width = std::max(width, heads.back().size());
    }
    heads.push_back("  --help");
    for (size_t i = 0; i < heads.size(); ++i) {
      const std::string& help = i < flags_.size() ? flags_[i].help : "this message";
      s += heads[i] + std::string(width + 3 - heads[i].size(), ' ') + help + "\n";
    }
    return s;
  }

 private:
  struct Flag {
    std::string name, metavar, help;
    bool takes_value;
  };
  std::string program_, description_;
  std::vector<Flag> flags_;
};

}  // namespace ember::util
