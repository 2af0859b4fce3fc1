// The MGTAB example's figures: macro-F1 per model and task, homophily per relation for each
// label set (target and measured), and the validation accuracy per epoch of the first seed.
#pragma once

#include <algorithm>
#include <ember/kit/table.hpp>
#include <ember/plot.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "data.hpp"

namespace mgtab {

inline void save_macro_f1_chart(const std::filesystem::path& path,
                                const std::vector<std::string>& models,
                                const std::vector<double>& bot_f1,
                                const std::vector<double>& stance_f1, const std::string& seeds) {
  ember::plot::bar_chart(
      models, {{"bot", bot_f1, std::nullopt}, {"stance", stance_f1, std::nullopt}},
      {.title = "Test macro-F1 at the best-validation epoch (mean over " + seeds + ")",
       .xlabel = "model",
       .ylabel = "macro-F1",
       .width = 1400,
       .height = 500})
      .save_png(path.string());
}

// One label set's target and measured homophily per relation, relations sorted by target
// (highest first, so the legend in the top right corner sits over the lowest bars).
inline void save_homophily_chart(const std::filesystem::path& path, const std::string& label_set,
                                 const std::vector<HomophilyRow>& rows, double random_edges) {
  std::vector<const HomophilyRow*> order;
  for (const HomophilyRow& r : rows) order.push_back(&r);
  const bool bot = label_set == "bot";
  std::stable_sort(order.begin(), order.end(), [&](const HomophilyRow* a, const HomophilyRow* b) {
    return (bot ? a->bot_target : a->stance_target) > (bot ? b->bot_target : b->stance_target);
  });
  std::vector<std::string> names;
  std::vector<double> target, measured;
  for (const HomophilyRow* r : order) {
    names.push_back(r->relation);
    target.push_back(bot ? r->bot_target : r->stance_target);
    measured.push_back(bot ? r->bot_measured : r->stance_measured);
  }
  ember::plot::bar_chart(
      names, {{"target", target, std::nullopt}, {"measured", measured, std::nullopt}},
      {.title = label_set + " labels: edge homophily per relation (random edges: " +
                ember::kit::fmt(random_edges, 3) + ")",
       .xlabel = "relation",
       .ylabel = "fraction of edges joining equal labels",
       .width = 900,
       .height = 450})
      .save_png(path.string());
}

inline void save_val_curves(const std::filesystem::path& path, const std::string& task,
                            const std::vector<std::string>& models,
                            const std::vector<std::vector<double>>& curves) {
  std::vector<ember::plot::Series> series;
  for (size_t m = 0; m < models.size(); ++m) {
    std::vector<double> x;
    for (size_t e = 1; e <= curves[m].size(); ++e) x.push_back(double(e));
    series.push_back({models[m], x, curves[m], std::nullopt});
  }
  ember::plot::line_chart(series, {.title = task + ": validation accuracy per epoch (first seed)",
                                   .xlabel = "epoch",
                                   .ylabel = "validation accuracy",
                                   .width = 900,
                                   .height = 500})
      .save_png(path.string());
}

}  // namespace mgtab
