// Background photos for the scene examples, split into a training and a test set by photo
// group (data/photos.tsv's `group`: stereo pairs, calibration series and the same scene twice
// share one), so no test background is a near-duplicate of a training one.
#pragma once

#include <cstddef>
#include <ember/core/error.hpp>
#include <ember/data/crops.hpp>
#include <ember/data/photos.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ember::data {

struct BackgroundSplit {
  std::vector<Image> train, test;  // RGB photos
};

// Every test_every-th group (in sorted group order) is held out for testing; photos smaller
// than min_side on either side are skipped; at most per_split photos each (0: no limit).
inline BackgroundSplit background_photos(int min_side, size_t per_split = 0, int test_every = 4,
                                         const std::string& root = data_root()) {
  EMBER_CHECK(min_side >= 1 && test_every >= 2, "background_photos: expected min_side >= 1 and ",
              "test_every >= 2, got ", min_side, " and ", test_every);
  const std::vector<PhotoEntry> catalogue = photo_catalogue(root);
  std::set<std::string> groups;
  for (const PhotoEntry& e : catalogue) groups.insert(e.group);
  std::map<std::string, bool> held_out;
  int k = 0;
  for (const std::string& g : groups) held_out[g] = ++k % test_every == 0;
  BackgroundSplit s;
  for (const PhotoEntry& e : catalogue) {
    if (e.width < min_side || e.height < min_side) continue;
    std::vector<Image>& dst = held_out[e.group] ? s.test : s.train;
    if (per_split > 0 && dst.size() >= per_split) continue;
    dst.push_back(to_rgb(load_photo(e, root)));
  }
  EMBER_CHECK(!s.train.empty() && !s.test.empty(), "background_photos: the catalogue gave ",
              s.train.size(), " training and ", s.test.size(), " test photos of at least ",
              min_side, " px; expected both non-empty (run ", "data/install.sh)");
  return s;
}

}  // namespace ember::data
