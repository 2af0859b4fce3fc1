// A table of results: printed aligned on stdout and written as markdown into report.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ember/core/error.hpp>
#include <string>
#include <vector>

namespace ember::kit {

// A number for a table: `digits` significant digits, "nan" / "inf" spelled out.
inline std::string fmt(double v, int digits = 4) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// "0.871 ± 0.004" (mean and sample standard deviation of per-seed values).
inline std::string fmt_pm(double mean, double std, int digits = 3) {
  return fmt(mean, digits) + " ± " + fmt(std, digits > 1 ? digits - 1 : 1);
}

class Table {
 public:
  Table(std::string title, std::vector<std::string> header)
      : title_(std::move(title)), header_(std::move(header)) {
    EMBER_CHECK(!header_.empty(), "Table '", title_, "': needs at least one column");
  }

  Table& row(std::vector<std::string> cells) {
    EMBER_CHECK(cells.size() == header_.size(), "Table '", title_, "': row has ", cells.size(),
                " cells, the header has ", header_.size());
    rows_.push_back(std::move(cells));
    return *this;
  }

  const std::string& title() const { return title_; }
  size_t rows() const { return rows_.size(); }

  // Aligned columns (widths counted in UTF-8 characters, so "±" takes one).
  std::string text() const {
    std::vector<size_t> width(header_.size());
    auto fit = [&](const std::vector<std::string>& r) {
      for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], chars(r[c]));
    };
    fit(header_);
    for (const auto& r : rows_) fit(r);
    auto line = [&](const std::vector<std::string>& r) {
      std::string s;
      for (size_t c = 0; c < r.size(); ++c) {
        if (c) s += "  ";
        s += r[c];
        if (c + 1 < r.size()) s.append(width[c] - chars(r[c]), ' ');
      }
      return s + "\n";
    };
    std::string out = title_.empty() ? "" : title_ + "\n";
    out += line(header_);
    size_t total = 0;
    for (size_t w : width) total += w;
    out += std::string(total + 2 * (width.size() - 1), '-') + "\n";
    for (const auto& r : rows_) out += line(r);
    return out;
  }

  std::string markdown() const {
    auto line = [](const std::vector<std::string>& r) {
      std::string s = "|";
      for (const auto& c : r) s += " " + escape(c) + " |";
      return s + "\n";
    };
    std::string out = title_.empty() ? "" : "**" + title_ + "**\n\n";
    out += line(header_);
    out += "|";
    for (size_t c = 0; c < header_.size(); ++c) out += "---|";
    out += "\n";
    for (const auto& r : rows_) out += line(r);
    return out;
  }

 private:
  static size_t chars(const std::string& s) {
    size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
  }
  static std::string escape(const std::string& s) {
    std::string out;
    for (char ch : s) {
      if (ch == '|') out += '\\';
      out += ch;
    }
    return out;
  }

  std::string title_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ember::kit
