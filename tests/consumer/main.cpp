// Uses an installed ember through find_package: sum(ones(2, 3)^2) must be 6.
#include <ember/ember.hpp>

#include <cstdio>

int main() {
  auto x = ember::Tensor<float>::ones({2, 3});
  auto y = ember::sum(x * x);
  const float v = y.item();
  std::printf("ember consumer: sum(x * x) = %g (expected 6)\n", static_cast<double>(v));
  return v == 6.0f ? 0 : 1;
}
