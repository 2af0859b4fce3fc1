// A claim's criteria: each is a measured value, a comparison and a threshold from the paper's
// note, and the seeds the value rests on. The verdict is computed from them, never typed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ember/core/error.hpp>
#include <ember/kit/table.hpp>
#include <string>
#include <vector>

namespace ember::kit {

enum class Compare { at_least, at_most, greater, less };

inline const char* compare_symbol(Compare c) {
  switch (c) {
    case Compare::at_least:
      return "≥";
    case Compare::at_most:
      return "≤";
    case Compare::greater:
      return ">";
    case Compare::less:
      return "<";
  }
  return "?";
}

// The symbol of the failed comparison ("0.81 < 0.85" for a failed ≥).
inline const char* negated_symbol(Compare c) {
  switch (c) {
    case Compare::at_least:
      return "<";
    case Compare::at_most:
      return ">";
    case Compare::greater:
      return "≤";
    case Compare::less:
      return "≥";
  }
  return "?";
}

struct Criterion {
  std::string name;  // "test accuracy", "SROCC gain over the single-task baseline"
  double value = 0;  // what the run measured
  Compare compare = Compare::at_least;
  double threshold = 0;         // from the paper's note
  std::vector<uint64_t> seeds;  // the seeds the value rests on
  std::string detail;           // optional: how the value was computed

  // A NaN value never passes: a run that produced no number reproduced nothing.
  bool passed() const {
    if (std::isnan(value) || std::isnan(threshold)) return false;
    switch (compare) {
      case Compare::at_least:
        return value >= threshold;
      case Compare::at_most:
        return value <= threshold;
      case Compare::greater:
        return value > threshold;
      case Compare::less:
        return value < threshold;
    }
    return false;
  }

  // "test accuracy 0.874 ≥ 0.85" or, failed, "test accuracy 0.81 < 0.85 required".
  std::string summary() const {
    const bool ok = passed();
    return name + " " + fmt(value) + " " +
           (ok ? compare_symbol(compare) : negated_symbol(compare)) + " " + fmt(threshold) +
           (ok ? "" : " required");
  }
};

// "seed 3" / "seeds 0-4" / "seeds 0, 2, 7".
inline std::string describe_seeds(const std::vector<uint64_t>& seeds) {
  if (seeds.empty()) return "no seed";
  if (seeds.size() == 1) return "seed " + std::to_string(seeds[0]);
  bool run = true;
  for (size_t i = 1; i < seeds.size(); ++i) run = run && seeds[i] == seeds[i - 1] + 1;
  if (run) return "seeds " + std::to_string(seeds.front()) + "-" + std::to_string(seeds.back());
  std::string s = "seeds ";
  for (size_t i = 0; i < seeds.size(); ++i) s += (i ? ", " : "") + std::to_string(seeds[i]);
  return s;
}

// The one verdict line: `claim: reproduced — <every criterion>` when all pass, else
// `claim: NOT reproduced — <the failed criteria>`; both name the seeds.
inline std::string verdict_line(const std::vector<Criterion>& criteria) {
  EMBER_CHECK(!criteria.empty(), "verdict: an example must state at least one criterion");
  std::vector<const Criterion*> failed;
  for (const auto& c : criteria)
    if (!c.passed()) failed.push_back(&c);
  std::vector<uint64_t> seeds;
  for (const auto& c : criteria)
    for (uint64_t s : c.seeds)
      if (std::find(seeds.begin(), seeds.end(), s) == seeds.end()) seeds.push_back(s);
  std::sort(seeds.begin(), seeds.end());
  std::string list;
  auto add = [&](const Criterion& c) { list += (list.empty() ? "" : "; ") + c.summary(); };
  if (failed.empty())
    for (const auto& c : criteria) add(c);
  else
    for (const Criterion* c : failed) add(*c);
  return std::string(failed.empty() ? "claim: reproduced — " : "claim: NOT reproduced — ") + list +
         " (" + describe_seeds(seeds) + ")";
}

}  // namespace ember::kit
