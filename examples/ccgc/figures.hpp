// The ccgc example's figures: the 2-D PCA of an embedding coloured by true class and by
// predicted cluster, side by side; training loss and ACC against the epoch for several arms.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/core/tensor.hpp>
#include <ember/data/image.hpp>
#include <ember/numeric/pca.hpp>
#include <ember/plot.hpp>
#include <ember/viz.hpp>
#include <filesystem>
#include <string>
#include <vector>

namespace ccgc {

// The figures left to right in one PNG (all of one height).
inline void save_side_by_side(const std::filesystem::path& path,
                              const std::vector<ember::plot::Figure>& figs) {
  const int h = figs.front().image.height;
  int w = 0;
  for (const auto& f : figs) w += f.image.width;
  ember::data::Image all = ember::viz::blank(h, w);
  int x0 = 0;
  for (const auto& f : figs) {
    const int fw = f.image.width;
    for (int r = 0; r < h; ++r)
      std::copy_n(&f.image.pixels[size_t(r) * size_t(fw) * 3], size_t(fw) * 3,
                  &all.pixels[(size_t(r) * size_t(w) + size_t(x0)) * 3]);
    x0 += fw;
  }
  ember::data::write_png(path.string(), all);
}

// PCA of the rows of `embedding` [N, h] to 2-D; points coloured by truth (left) and by the
// predicted clusters relabelled to their matched classes (right), so that colours agree.
inline void save_embedding(const std::filesystem::path& path, const std::string& title,
                           const ember::Tensor<float>& embedding, const std::vector<int64_t>& truth,
                           const std::vector<int64_t>& matched_pred) {
  namespace plot = ember::plot;
  ember::numeric::PCA pca(2);
  const ember::numeric::Matrix xy = pca.fit_transform(ember::numeric::Matrix(embedding));
  plot::ScatterData t, p;
  for (int64_t i = 0; i < xy.rows(); ++i) {
    t.x.push_back(xy(i, 0));
    t.y.push_back(xy(i, 1));
    t.labels.push_back(int(truth[size_t(i)]));
    p.labels.push_back(int(matched_pred[size_t(i)]));
  }
  p.x = t.x;
  p.y = t.y;
  const plot::ChartSpec spec{.title = title + ": true class",
                             .xlabel = "PC 1",
                             .ylabel = "PC 2",
                             .width = 560,
                             .height = 460};
  plot::ChartSpec spec2 = spec;
  spec2.title = title + ": predicted cluster";
  save_side_by_side(path, {plot::scatter(t, spec), plot::scatter(p, spec2)});
}

struct Curve {
  std::string name;
  std::vector<double> x, y;
};

// Loss per epoch (log scale) and ACC per evaluation, side by side.
inline void save_curves(const std::filesystem::path& path, const std::string& title,
                        const std::vector<Curve>& loss, const std::vector<Curve>& acc) {
  namespace plot = ember::plot;
  std::vector<plot::Series> ls, as;
  for (const auto& c : loss) ls.push_back({c.name, c.x, c.y, std::nullopt});
  for (const auto& c : acc) as.push_back({c.name, c.x, c.y, std::nullopt});
  const plot::Figure lf = plot::line_chart(ls, {.title = title + ": training loss",
                                                .xlabel = "epoch",
                                                .ylabel = "loss",
                                                .log_y = true,
                                                .width = 560,
                                                .height = 460});
  const plot::Figure af = plot::line_chart(as, {.title = title + ": ACC of k-means on (Z1+Z2)/2",
                                                .xlabel = "epoch",
                                                .ylabel = "ACC (%)",
                                                .width = 560,
                                                .height = 460});
  save_side_by_side(path, {lf, af});
}

}  // namespace ccgc
