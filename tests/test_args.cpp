// util::ArgParser (the flag parser of the examples): both value forms, switches, typed getters
// with range and syntax checks, usage text, and ember::Error for every bad command line.
#include <doctest/doctest.h>

#include <cstdint>
#include <ember/util/args.hpp>
#include <string>
#include <string_view>
#include <vector>

using ember::util::ArgParser;
using ember::util::ParsedArgs;

namespace {

ArgParser make_parser() {
  ArgParser p("prog", "Does things.");
  p.add("epochs", "N", "training epochs");
  p.add("lr", "X", "learning rate");
  p.add("out", "DIR", "output directory");
  p.add_switch("quick", "smoke test");
  return p;
}

std::string error_of(const std::vector<std::string_view>& args) {
  try {
    (void)make_parser().parse(args);
  } catch (const ember::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("args: --name value, --name=value, switches, last one wins, defaults") {
  const ParsedArgs a =
      make_parser().parse({"--epochs", "3", "--lr=0.5", "--quick", "--out", "a=b", "--epochs=7"});
  CHECK(a.get<int64_t>("epochs", 1) == 7);
  CHECK(a.get<double>("lr", 0.0) == 0.5);
  CHECK(a.get<std::string>("out", "") == "a=b");
  CHECK(a.has("quick"));
  CHECK_FALSE(a.has("help"));
  const ParsedArgs none = make_parser().parse(std::vector<std::string_view>{});
  CHECK(none.get<int64_t>("epochs", 8) == 8);
  CHECK_FALSE(none.has("quick"));
  const char* argv[] = {"prog", "-h"};
  CHECK(make_parser().parse(2, argv).has("help"));
  CHECK(make_parser().parse({"--out="}).get<std::string>("out", "x").empty());
}

TEST_CASE("args: typed getters reject malformed and out-of-range numbers") {
  auto get_epochs = [](std::string_view text) {
    return make_parser().parse({"--epochs", text}).get<int64_t>("epochs", 0);
  };
  CHECK(get_epochs("-3") == -3);
  CHECK_THROWS_WITH_AS(get_epochs("12abc"), "--epochs: expected a number, got '12abc'",
                       ember::Error);
  CHECK_THROWS_WITH_AS(get_epochs(""), "--epochs: expected a number, got ''", ember::Error);
  CHECK_THROWS_WITH_AS(get_epochs("99999999999999999999"),
                       "--epochs: number '99999999999999999999' is out of range", ember::Error);
  const ParsedArgs a = make_parser().parse({"--epochs", "-1", "--lr", "1e400"});
  CHECK_THROWS_AS(a.get<uint64_t>("epochs", 0), ember::Error);  // negative for unsigned
  CHECK_THROWS_AS(a.get<double>("lr", 0.0), ember::Error);      // overflows double
  CHECK(ParsedArgs::convert<bool>("quick", "true"));
  CHECK_THROWS_AS(ParsedArgs::convert<bool>("quick", "yes"), ember::Error);
}

TEST_CASE("args: bad command lines throw ember::Error naming the flag") {
  CHECK(error_of({"--bogus"}) == "unknown option '--bogus'");
  CHECK(error_of({"--bogus=1"}) == "unknown option '--bogus=1'");
  CHECK(error_of({"--epochs"}) == "--epochs: missing value");
  CHECK(error_of({"--quick=1"}) == "--quick takes no value");
  CHECK(error_of({"positional"}).rfind("unexpected argument 'positional'", 0) == 0);
  CHECK(error_of({"--"}).rfind("unexpected argument '--'", 0) == 0);
  CHECK(error_of({"-x"}).rfind("unexpected argument '-x'", 0) == 0);
}

TEST_CASE("args: usage lists every flag, aligned") {
  const std::string u = make_parser().usage();
  CHECK(u ==
        "usage: prog [options]\n\nDoes things.\n\n"
        "  --epochs N   training epochs\n"
        "  --lr X       learning rate\n"
        "  --out DIR    output directory\n"
        "  --quick      smoke test\n"
        "  --help       this message\n");
}
