// The flags every example program takes, on ember::util::ArgParser:
//
//   --device cpu|cuda   where the work runs (cpu by default)
//   --quick             a seconds-long run on tiny sizes (the smoke test's)
//   --out DIR           output folder (default out/<name>)
//   --seed N            the first seed (default 0)
//   --seeds N           how many seeds the criteria rest on: seed, seed+1, ... (default per
//   example)
//   --help              the usage
//
// An example adds its own flags to the same parser (ExampleOptions::parser() returns it), then
// reads them from ExampleOptions::args after parse().
#pragma once

#include <cstdint>
#include <ember/core/device.hpp>
#include <ember/core/error.hpp>
#include <ember/util/args.hpp>
#include <string>
#include <vector>

namespace ember::kit {

struct StandardOptions {
  std::string device = "cpu";
  bool quick = false;
  bool help = false;
  std::string out;  // out/<name> unless --out
  uint64_t seed = 0;
  int64_t seeds = 1;

  // The seeds a run uses: seed, seed + 1, ..., seed + seeds - 1.
  std::vector<uint64_t> seed_list() const {
    std::vector<uint64_t> s;
    for (int64_t i = 0; i < seeds; ++i) s.push_back(seed + uint64_t(i));
    return s;
  }
};

// Adds the standard flags to `p`. `default_seeds` is the example's own (what its criteria are
// judged on), shown in the usage.
inline void add_standard_flags(util::ArgParser& p, const std::string& name, int64_t default_seeds) {
  p.add("device", "cpu|cuda", "where to run (default cpu)");
  p.add_switch("quick", "a run of seconds on tiny sizes (the smoke test)");
  p.add("out", "DIR", "output folder (default out/" + name + ")");
  p.add("seed", "N", "first seed (default 0)");
  p.add("seeds", "N",
        "number of seeds, seed..seed+N-1 (default " + std::to_string(default_seeds) + ")");
}

// Reads the standard flags of `a`; ember::Error names the flag for a bad value.
inline StandardOptions read_standard_flags(const util::ParsedArgs& a, const std::string& name,
                                           int64_t default_seeds) {
  StandardOptions o;
  o.help = a.has("help");
  o.quick = a.has("quick");
  o.device = a.get<std::string>("device", o.device);
  EMBER_CHECK(o.device == "cpu" || o.device == "cuda", "--device: expected cpu or cuda, got '",
              o.device, "'");
  o.out = a.get<std::string>("out", "out/" + name);
  EMBER_CHECK(!o.out.empty(), "--out: empty path");
  o.seed = a.get<uint64_t>("seed", o.seed);
  o.seeds = a.get<int64_t>("seeds", default_seeds);
  EMBER_CHECK(o.seeds >= 1 && o.seeds <= 1000, "--seeds: expected 1 to 1000, got ", o.seeds);
  return o;
}

}  // namespace ember::kit
