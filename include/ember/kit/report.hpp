// An example's report: the metrics tables, the criteria and their computed verdict, the
// figures and the run's provenance. finish() prints the tables and the verdict line on stdout
// and writes <out>/report.md and <out>/metrics.json (every number; each criterion with
// pass/fail).
//
//   kit::Report& r = run.report;
//   r.metric("test_accuracy", acc);
//   r.add_table(std::move(table));
//   r.criterion({.name = "test accuracy", .value = acc, .compare = kit::Compare::at_least,
//                .threshold = 0.85, .seeds = run.options.seed_list()});
//   r.figure("predictions.png", "16 test images; green frame: right, red: wrong");
//   r.finish();
#pragma once

#include <cmath>
#include <cstdio>
#include <ctime>
#include <ember/core/error.hpp>
#include <ember/io/json.hpp>
#include <ember/kit/criteria.hpp>
#include <ember/kit/output.hpp>
#include <ember/kit/table.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace ember::kit {

// A JSON number, or null for NaN / infinity (JSON has neither).
inline io::json::Value json_number(double v) {
  return std::isfinite(v) ? io::json::Value(v) : io::json::Value();
}

// "2026-12-04 19:42 UTC".
inline std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// The CPU's model name from /proc/cpuinfo, or "unknown CPU".
inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  return "unknown CPU";
}

class Report {
 public:
  Report() = default;
  Report(std::string example, std::filesystem::path out)
      : example_(std::move(example)), out_(std::move(out)) {}

  // The paper and its claim in one sentence, for the top of report.md.
  void set_claim(std::string paper, std::string claim) {
    paper_ = std::move(paper);
    claim_ = std::move(claim);
  }

  // A number for metrics.json (names are unique; a second call replaces the value).
  void metric(const std::string& name, double value) {
    for (auto& [k, v] : metrics_)
      if (k == name) return void(v = json_number(value));
    metrics_.emplace_back(name, json_number(value));
  }
  // A list of numbers (per seed, per epoch) for metrics.json.
  void metric(const std::string& name, const std::vector<double>& values) {
    io::json::Array a;
    for (double v : values) a.push_back(json_number(v));
    for (auto& [k, v] : metrics_)
      if (k == name) return void(v = io::json::Value(std::move(a)));
    metrics_.emplace_back(name, io::json::Value(std::move(a)));
  }

  void add_table(Table t) { tables_.push_back(std::move(t)); }

  void criterion(Criterion c) {
    EMBER_CHECK(!c.name.empty(), "Report::criterion: a criterion needs a name");
    criteria_.push_back(std::move(c));
  }
  const std::vector<Criterion>& criteria() const { return criteria_; }

  // A PNG the example wrote into the output folder (a path relative to it); finish() checks
  // that it exists.
  void figure(std::string file, std::string caption) {
    figures_.push_back({std::move(file), std::move(caption)});
  }

  // A line of provenance: "data" -> "Fashion-MNIST 60000/10000 from ...", "generated" -> ...
  void provenance(std::string key, std::string value) {
    for (auto& [k, v] : provenance_)
      if (k == key) return void(v = std::move(value));
    provenance_.emplace_back(std::move(key), std::move(value));
  }

  // A paragraph of text for report.md (what was learned, how the data differ from the paper's).
  void note(std::string text) { notes_.push_back(std::move(text)); }

  bool reproduced() const {
    for (const auto& c : criteria_)
      if (!c.passed()) return false;
    return !criteria_.empty();
  }
  std::string verdict() const { return verdict_line(criteria_); }

  // Prints the tables and the verdict line, writes report.md and metrics.json. Returns
  // whether the claim was reproduced (not an error either way: the exit status stays 0).
  bool finish() {
    const std::string verdict = verdict_line(criteria_);
    for (const auto& f : figures_)
      EMBER_CHECK(std::filesystem::exists(out_ / f.file), "Report: figure '", f.file,
                  "' was not written into '", out_.string(), "'");
    std::string text;
    for (const auto& t : tables_) text += "\n" + t.text();
    text += "\n" + criteria_table().text() + "\n" + verdict + "\n";
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    write_file_atomic(out_ / "report.md", markdown(verdict));
    write_file_atomic(out_ / "metrics.json", io::json::dump(json(verdict)) + "\n");
    std::printf("wrote %s and %s\n", (out_ / "report.md").c_str(), (out_ / "metrics.json").c_str());
    return reproduced();
  }

  Table criteria_table() const {
    Table t("Criteria", {"criterion", "measured", "required", "seeds", "result"});
    for (const auto& c : criteria_)
      t.row({c.name, fmt(c.value), std::string(compare_symbol(c.compare)) + " " + fmt(c.threshold),
             describe_seeds(c.seeds), c.passed() ? "pass" : "FAIL"});
    return t;
  }

  std::string markdown(const std::string& verdict) const {
    std::string md = "# " + example_ + "\n\n";
    if (!paper_.empty()) md += "**Paper:** " + paper_ + "\n\n";
    if (!claim_.empty()) md += "**Claim:** " + claim_ + "\n\n";
    md += "**Verdict:** `" + verdict + "`\n\n";
    for (const auto& t : tables_) md += t.markdown() + "\n";
    md += criteria_table().markdown() + "\n";
    for (const auto& n : notes_) md += n + "\n\n";
    if (!figures_.empty()) md += "## Figures\n\n";
    for (const auto& f : figures_)
      md += "![" + f.caption + "](" + f.file + ")\n\n" + f.caption + "\n\n";
    md += "## Provenance\n\n";
    for (const auto& [k, v] : provenance_) md += "- **" + k + ":** " + v + "\n";
    return md;
  }

  io::json::Value json(const std::string& verdict) const {
    io::json::Array criteria;
    for (const auto& c : criteria_) {
      io::json::Array seeds;
      for (uint64_t s : c.seeds) seeds.emplace_back(s);
      criteria.emplace_back(io::json::Object{{"name", c.name},
                                             {"value", json_number(c.value)},
                                             {"compare", compare_symbol(c.compare)},
                                             {"threshold", json_number(c.threshold)},
                                             {"seeds", std::move(seeds)},
                                             {"passed", c.passed()},
                                             {"detail", c.detail}});
    }
    io::json::Object prov;
    for (const auto& [k, v] : provenance_) prov.emplace_back(k, v);
    io::json::Array figs;
    for (const auto& f : figures_) figs.emplace_back(f.file);
    return io::json::Object{{"example", example_},
                            {"reproduced", reproduced()},
                            {"verdict", verdict},
                            {"metrics", io::json::Object(metrics_)},
                            {"criteria", std::move(criteria)},
                            {"figures", std::move(figs)},
                            {"provenance", std::move(prov)}};
  }

 private:
  struct Figure {
    std::string file, caption;
  };
  std::string example_, paper_, claim_;
  std::filesystem::path out_;
  io::json::Object metrics_;
  std::vector<Table> tables_;
  std::vector<Criterion> criteria_;
  std::vector<Figure> figures_;
  std::vector<std::pair<std::string, std::string>> provenance_;
  std::vector<std::string> notes_;
};

}  // namespace ember::kit
