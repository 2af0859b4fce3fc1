// The example kit: standard flags, device choice, output folder, progress lines, tables,
// criteria and the computed verdict, report.md / metrics.json, and the harness's exit codes.
#include <doctest/doctest.h>

#include <ember/io/json.hpp>
#include <ember/kit.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace ember;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("ember_kit_" + name);
  fs::remove_all(d);
  return d;
}

std::string read_all(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int run_main(kit::Example& ex, std::vector<std::string> words,
             const std::function<void(kit::Run&)>& body) {
  words.insert(words.begin(), "example");
  std::vector<const char*> argv;
  for (const auto& w : words) argv.push_back(w.c_str());
  return ex.main(int(argv.size()), argv.data(), body);
}

}  // namespace

TEST_CASE("kit: the standard flags, their defaults and their errors") {
  kit::Example ex("demo", "a demo", 3);
  ex.parser().add("epochs", "N", "epochs");
  const char* plain[] = {"demo"};
  kit::Run r = ex.parse(1, plain);
  CHECK(r.options.device == "cpu");
  CHECK(r.options.out == "out/demo");
  CHECK(!r.options.quick);
  CHECK(r.options.seed_list() == std::vector<uint64_t>{0, 1, 2});

  const char* given[] = {"demo",  "--quick", "--seed",   "5", "--seeds=2",
                         "--out", "/tmp/x",  "--epochs", "7"};
  r = ex.parse(9, given);
  CHECK(r.options.quick);
  CHECK(r.options.seed_list() == std::vector<uint64_t>{5, 6});
  CHECK(r.options.out == "/tmp/x");
  CHECK(r.args.get<int64_t>("epochs", 1) == 7);

  const char* bad_device[] = {"demo", "--device", "tpu"};
  CHECK_THROWS_WITH_AS(ex.parse(3, bad_device), doctest::Contains("cpu or cuda"), Error);
  const char* bad_seeds[] = {"demo", "--seeds", "0"};
  CHECK_THROWS_AS(ex.parse(3, bad_seeds), Error);
  CHECK(ex.parser().usage().find("--device") != std::string::npos);
  CHECK(ex.parser().usage().find("default 3") != std::string::npos);
}

TEST_CASE("kit: --device cuda names what is missing") {
  CHECK(kit::resolve_device("cpu") == Device::cpu());
  if constexpr (!cuda_built)
    CHECK_THROWS_WITH_AS(kit::resolve_device("cuda"), doctest::Contains("-DEMBER_CUDA=ON"), Error);
}

TEST_CASE("kit: the output folder is created and proved writable first") {
  const fs::path d = fresh_dir("out") / "a" / "b";
  kit::prepare_output_dir(d);
  CHECK(fs::is_directory(d));
  CHECK(fs::is_empty(d));  // the probe is removed
  CHECK_THROWS_WITH_AS(kit::prepare_output_dir("/proc/ember_cannot_be_here"),
                       doctest::Contains("/proc/ember_cannot_be_here"), Error);
  kit::write_file_atomic(d / "f.txt", "hello");
  CHECK(read_all(d / "f.txt") == "hello");
  CHECK(!fs::exists(d / "f.txt.tmp"));
}

TEST_CASE("kit: progress prints the first, the last and at most one line per interval") {
  double now = 100;
  std::vector<std::string> lines;
  kit::Progress p(
      "train", 10, 1.0, [&] { return now; }, [&](const std::string& s) { lines.push_back(s); });
  p.update(1, "loss 2.0");  // first: printed
  now += 0.5;
  p.update(2);  // 0.5 s later: quiet
  now += 0.6;
  p.update(3);  // 1.1 s after the first: printed
  now += 0.1;
  p.update(10, "loss 0.5");  // last: printed
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("[train] 1/10 (10.0%)  loss 2.0") == 0);
  // 1.1 s for 3 steps: 7 more take about 2.6 s.
  CHECK(lines[1].find("0:01 elapsed, about 0:03 left") != std::string::npos);
  CHECK(lines[2].find("done") != std::string::npos);
  CHECK(kit::format_duration(3725) == "1:02:05");
  CHECK(kit::format_duration(59.4) == "0:59");
  CHECK_THROWS_AS(kit::Progress("x", 0), Error);
}

TEST_CASE("kit: tables align by characters and escape markdown") {
  kit::Table t("Results", {"method", "acc"});
  t.row({"ours", "0.9 ± 0.01"}).row({"a|b", "0.8"});
  const std::string text = t.text();
  CHECK(text.find("method  acc\n") != std::string::npos);
  CHECK(text.find("a|b     0.8\n") != std::string::npos);
  CHECK(t.markdown().find("| a\\|b | 0.8 |") != std::string::npos);
  CHECK_THROWS_AS(t.row({"only one"}), Error);
  CHECK(kit::fmt(0.123456) == "0.1235");
  CHECK(kit::fmt(std::nan("")) == "nan");
}

TEST_CASE("kit: the verdict is computed from the criteria") {
  using kit::Compare;
  kit::Criterion acc{"test accuracy", 0.87, Compare::at_least, 0.85, {0, 1, 2}, ""};
  kit::Criterion gap{"gap", 0.02, Compare::less, 0.01, {0, 1, 2}, ""};
  CHECK(acc.passed());
  CHECK(!gap.passed());
  CHECK(kit::verdict_line({acc}) == "claim: reproduced — test accuracy 0.87 ≥ 0.85 (seeds 0-2)");
  CHECK(kit::verdict_line({acc, gap}) ==
        "claim: NOT reproduced — gap 0.02 ≥ 0.01 required (seeds 0-2)");
  kit::Criterion nan_value{"loss", std::nan(""), Compare::at_most, 1.0, {4}, ""};
  CHECK(!nan_value.passed());
  CHECK(kit::verdict_line({nan_value}).find("NOT reproduced") != std::string::npos);
  CHECK_THROWS_AS(kit::verdict_line({}), Error);
  CHECK(kit::describe_seeds({0, 2, 7}) == "seeds 0, 2, 7");
}

TEST_CASE("kit: report.md and metrics.json carry every number, criterion and figure") {
  const fs::path d = fresh_dir("report");
  kit::prepare_output_dir(d);
  kit::Report r("demo", d);
  r.set_claim("A paper (arXiv 0000.00000)", "it works");
  r.metric("accuracy", 0.9);
  r.metric("curve", std::vector<double>{1.0, 0.5, std::nan("")});
  r.add_table(kit::Table("T", {"a"}).row({"1"}));
  r.criterion({"accuracy", 0.9, kit::Compare::at_least, 0.85, {0}, ""});
  r.figure("f.png", "a figure");
  r.provenance("data", "generated");
  CHECK_THROWS_WITH_AS(r.finish(), doctest::Contains("f.png"), Error);  // not written yet
  kit::write_file_atomic(d / "f.png", "not really a png");
  CHECK(r.finish());

  const io::json::Value m = io::json::parse(read_all(d / "metrics.json"));
  CHECK(m.at("reproduced").as_bool());
  CHECK(m.at("metrics").at("accuracy").as_number().d == doctest::Approx(0.9));
  CHECK(m.at("metrics").at("curve").as_array()[2].type() == io::json::Type::Null);
  CHECK(m.at("criteria").as_array()[0].at("passed").as_bool());
  CHECK(m.at("verdict").as_string().rfind("claim: reproduced", 0) == 0);
  const std::string md = read_all(d / "report.md");
  CHECK(md.find("![a figure](f.png)") != std::string::npos);
  CHECK(md.find("| accuracy | 0.9 | ≥ 0.85 | seed 0 | pass |") != std::string::npos);
  CHECK(md.find("**data:** generated") != std::string::npos);
}

TEST_CASE("kit: the harness's exit codes, and a bad --out fails before the work") {
  kit::Example ex("demo", "a demo");
  int calls = 0;
  auto body = [&](kit::Run& run) {
    ++calls;
    CHECK(fs::is_directory(run.out));
  };
  const fs::path d = fresh_dir("harness");
  CHECK(run_main(ex, {"--out", d.string()}, body) == 0);
  CHECK(calls == 1);
  CHECK(run_main(ex, {"--no-such-flag"}, body) == 2);
  CHECK(run_main(ex, {"--help"}, body) == 0);
  CHECK(run_main(ex, {"--out", "/proc/ember_no"}, body) == 1);
  CHECK(calls == 1);  // neither --help nor the bad folder ran the body
  CHECK(run_main(ex, {"--out", d.string()}, [](kit::Run&) { fail("boom"); }) == 1);
  CHECK(run_main(ex, {"--out", d.string()}, [](kit::Run&) { throw std::runtime_error("x"); }) == 1);
}
