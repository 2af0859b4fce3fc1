// The fashion_mnist example's two figures: the learning curves and a grid of test predictions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ember/data/fashion_mnist.hpp>
#include <ember/plot.hpp>
#include <ember/viz.hpp>
#include <filesystem>
#include <string>
#include <vector>

namespace fashion_mnist {

// Training loss against (fractional) epochs (left) and train / test accuracy per epoch
// (right), side by side.
inline void save_learning_curves(const std::filesystem::path& path,
                                 const std::vector<double>& loss_epoch,
                                 const std::vector<double>& loss,
                                 const std::vector<double>& train_acc,
                                 const std::vector<double>& test_acc) {
  namespace plot = ember::plot;
  std::vector<double> x(train_acc.size());
  for (size_t e = 0; e < x.size(); ++e) x[e] = double(e + 1);
  const plot::Figure losses = plot::line_chart(
      {{"training loss", loss_epoch, loss, std::nullopt}},
      {.title = "Loss", .xlabel = "epoch", .ylabel = "cross-entropy", .width = 520, .height = 400});
  const plot::Figure accuracies = plot::line_chart(
      {{"train", x, train_acc, std::nullopt}, {"test", x, test_acc, std::nullopt}},
      {.title = "Accuracy", .xlabel = "epoch", .ylabel = "accuracy", .width = 520, .height = 400});
  // The two charts side by side in one PNG.
  ember::data::Image both = ember::viz::blank(400, 1040);
  for (int half = 0; half < 2; ++half) {
    const ember::data::Image& src = half ? accuracies.image : losses.image;
    for (int r = 0; r < 400; ++r)
      std::copy_n(&src.pixels[size_t(r) * 520 * 3], 520 * 3,
                  &both.pixels[(size_t(r) * 1040 + size_t(half) * 520) * 3]);
  }
  ember::data::write_png(path.string(), both);
}

// The first 32 test images, each labelled with its predicted class (and the true one when
// wrong), framed green when right and red when wrong.
inline void save_prediction_grid(const std::filesystem::path& path,
                                 const ember::data::TensorDataset<>& test,
                                 const std::vector<int64_t>& pred) {
  namespace plot = ember::plot;
  namespace viz = ember::viz;
  const int64_t count = std::min<int64_t>(32, test.size());
  const int64_t side = ember::data::kFashionMnistSide;
  const float* x = test.inputs().data_ptr();
  const int64_t* y = test.targets().data_ptr();
  std::vector<plot::Panel> panels;
  for (int64_t k = 0; k < count; ++k) {
    ember::data::Image img{int(side), int(side), 1, {}};
    for (int64_t i = 0; i < side * side; ++i)
      img.pixels.push_back(uint8_t(x[k * side * side + i] * 255.0f + 0.5f));
    const bool right = pred[size_t(k)] == y[k];
    std::string label = ember::data::fashion_mnist_class_name(pred[size_t(k)]);
    if (!right) label += std::string("\n(") + ember::data::fashion_mnist_class_name(y[k]) + ")";
    panels.push_back({viz::to_rgb(img), label, right ? viz::kCorrect : viz::kWrong});
  }
  plot::image_grid(
      panels,
      {.title = "Test predictions (true class in brackets when wrong)", .columns = 8, .cell = 84})
      .save_png(path.string());
}

}  // namespace fashion_mnist
