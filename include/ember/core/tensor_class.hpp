// Tensor<T>: the class itself. Include <ember/core/tensor.hpp>, which adds the arithmetic,
// sums and the autograd engine that its methods rely on.
//
// Tensor<T>: a typed handle to a TensorImpl. Copies of a Tensor share the same impl (like
// torch.Tensor); views share storage. Creation, element access, views and their gradients
// live here; math ops live in ops/.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <optional>
#include <ostream>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <ember/autograd/anomaly.hpp>
#include <ember/autograd/grad_mode.hpp>
#include <ember/autograd/node.hpp>
#include <ember/backend/cpu/loops.hpp>
#include <ember/core/device.hpp>
#include <ember/core/dtype.hpp>
#include <ember/core/error.hpp>
#include <ember/core/random.hpp>
#include <ember/core/tensor_impl.hpp>

namespace ember {

template <class T>
class Tensor;

// A tensor of any dtype (or none): what backward rules return and the engine passes around.
struct AnyTensor {
  ImplPtr impl;
  AnyTensor() = default;
  AnyTensor(ImplPtr p) : impl(std::move(p)) {}
  template <class U>
  AnyTensor(const Tensor<U>& t) : impl(t.impl()) {}
  bool defined() const { return impl != nullptr; }
};

// Gradient results of a backward rule, in the order of the op's inputs.
using Grads = std::vector<AnyTensor>;

// Named tensors of any dtype: what modules and optimizers save and load (io/safetensors.hpp).
using StateDict = std::vector<std::pair<std::string, AnyTensor>>;

// True when an op applied to these inputs must record a graph node.
template <class... Ts>
bool any_requires_grad(const Tensor<Ts>&... ts) {
  return GradMode::is_enabled() && (... || (ts.defined() && ts.requires_grad()));
}

namespace detail {
// During grad(outputs, inputs): the tensors whose gradient leads to one of `inputs` (set by the
// engine, autograd/engine.hpp); null during backward(), where every gradient is wanted.
inline const std::unordered_set<const TensorImpl*>*& wanted_grads() {
  thread_local const std::unordered_set<const TensorImpl*>* wanted = nullptr;
  return wanted;
}
}  // namespace detail

// For a backward rule: true when it must compute the gradient of its input t. That is
// t.requires_grad(), except inside grad(outputs, inputs), where a gradient that leads to none
// of `inputs` is skipped (torch.autograd.grad's needs_input_grad): a conv's input gradient
// when only its weight's is asked for, say. The recorded graph is unaffected.
template <class T>
bool grad_wanted(const Tensor<T>& t) {
  if (!t.defined() || !t.requires_grad()) return false;
  const auto* wanted = detail::wanted_grads();
  return wanted == nullptr || wanted->count(t.impl().get()) > 0;
}

// Records `out` as the result of op `name` on `inputs` (a braced list, or a vector for ops
// with a run-time number of inputs such as cat), with backward rule `rule`:
// rule(const Tensor<T>& grad_out) -> Grads, one entry per input. Call only when
// any_requires_grad(inputs...) holds. The rule must not capture `out` itself (that would be a
// reference cycle); capture out.detach() where the result is needed.
template <class T, class Rule>
void record(Tensor<T>& out, const char* name, const std::vector<AnyTensor>& inputs, Rule&& rule);
template <class T, class Rule>
void record(Tensor<T>& out, const char* name, std::initializer_list<AnyTensor> inputs, Rule&& rule) {
  record(out, name, std::vector<AnyTensor>(inputs), std::forward<Rule>(rule));
}

template <class T>
class Tensor {
 public:
  using value_type = T;

  Tensor() = default;
  explicit Tensor(ImplPtr impl) : impl_(std::move(impl)) {
    EMBER_CHECK(!impl_ || impl_->dtype == dtype_v<T>, "Tensor<", dtype_name(dtype_v<T>),
                ">: cannot wrap a tensor of dtype ", dtype_name(impl_->dtype));
  }
  // 1-D tensor from values: Tensor<float>{1, 2, 3}.
  Tensor(std::initializer_list<T> values)
      : Tensor(from_vector(std::vector<T>(values), {int64_t(values.size())})) {}

  // ------------------------------------------------------------------ creation
  static Tensor empty(const Shape& shape, Device device = Device::cpu()) {
    const int64_t n = checked_numel(shape, "Tensor::empty");
    auto impl = std::make_shared<TensorImpl>();
    impl->dtype = dtype_v<T>;
    impl->shape = shape;
    impl->strides = cpu::contiguous_strides(shape);
    impl->storage = std::make_shared<Storage>(size_t(n) * sizeof(T), device);
    return Tensor(std::move(impl));
  }
  static Tensor full(const Shape& shape, T value, Device device = Device::cpu()) {
    Tensor t = empty(shape, device);
    if (device.is_cuda()) detail::device_fill(t.data_ptr(), &value, sizeof(T), t.numel(), device);
    else std::fill_n(t.data_ptr(), t.numel(), value);
    return t;
  }
  static Tensor zeros(const Shape& shape, Device device = Device::cpu()) {
    return full(shape, T(0), device);
  }
  static Tensor ones(const Shape& shape, Device device = Device::cpu()) {
    return full(shape, T(1), device);
  }
  static Tensor scalar(T value) { return full({}, value); }
  static Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.device()); }
  static Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.device()); }

  static Tensor from_vector(const std::vector<T>& values, Shape shape = {}) {
    if (shape.empty() && values.size() != 1) shape = {int64_t(values.size())};
    const int64_t n = checked_numel(shape, "Tensor::from_vector");
    EMBER_CHECK(n == int64_t(values.size()), "Tensor::from_vector: ", values.size(),
                " values do not fill shape ", shape_str(shape), " (", n, " elements)");
    Tensor t = empty(shape);
    std::copy(values.begin(), values.end(), t.data_ptr());
    return t;
  }
  // [start, end) in steps of step, like torch.arange.
  static Tensor arange(T start, T end, T step = T(1)) {
    static_assert(!is_complex_v<T>, "arange: complex tensors have no order");
    EMBER_CHECK(step != T(0), "arange: step must be non-zero");
    const double count = std::ceil((double(end) - double(start)) / double(step));
    Tensor t = empty({std::max<int64_t>(0, int64_t(count))});
    for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr()[i] = T(double(start) + double(i) * double(step));
    return t;
  }
  static Tensor arange(T end) { return arange(T(0), end, T(1)); }
  static Tensor linspace(T start, T end, int64_t steps) {
    EMBER_CHECK(steps >= 0, "linspace: steps must be non-negative, got ", steps);
    Tensor t = empty({steps});
    for (int64_t i = 0; i < steps; ++i)
      t.data_ptr()[i] = steps == 1 ? start : T(start + (end - start) * (real_t<T>(i) / real_t<T>(steps - 1)));
    return t;
  }
  // Uniform in [low, high).
  static Tensor rand(const Shape& shape, Generator& gen = default_generator(), double low = 0.0,
                     double high = 1.0) {
    Tensor t = empty(shape);
    T* p = t.data_ptr();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (is_complex_v<T>) {
        const double re = gen.uniform(), im = gen.uniform();
        p[i] = T(low + (high - low) * re, low + (high - low) * im);
      } else {
        p[i] = T(low + (high - low) * gen.uniform());
      }
    }
    return t;
  }
  static Tensor randn(const Shape& shape, Generator& gen = default_generator(), double mean = 0.0,
                      double std = 1.0) {
    Tensor t = empty(shape);
    T* p = t.data_ptr();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (is_complex_v<T>) {  // unit variance overall, split between the parts
        const double re = gen.normal(), im = gen.normal();
        p[i] = T(mean + std * re * M_SQRT1_2, std * im * M_SQRT1_2);
      } else {
        p[i] = T(mean + std * gen.normal());
      }
    }
    return t;
  }
  static Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen = default_generator()) {
    EMBER_CHECK(low < high, "randint: low (", low, ") must be below high (", high, ")");
    Tensor t = empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data_ptr()[i] = T(gen.randint(low, high));
    return t;
  }

  // ------------------------------------------------------------------ properties
  bool defined() const { return impl_ != nullptr; }
  const ImplPtr& impl() const { return impl_; }
  const Shape& shape() const { return checked().shape; }
  const Shape& strides() const { return checked().strides; }
  int64_t dim() const { return int64_t(shape().size()); }
  int64_t size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
  int64_t stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }
  int64_t numel() const { return checked().numel(); }
  int64_t storage_offset() const { return checked().offset; }
  bool is_contiguous() const { return checked().is_contiguous(); }
  Device device() const { return checked().storage->device(); }
  DType dtype() const { return dtype_v<T>; }
  bool shares_storage_with(const Tensor& o) const { return checked().storage == o.checked().storage; }

  // Pointer to the first element (storage + offset). Valid on the CPU only.
  T* data_ptr() const {
    const TensorImpl& i = checked();
    return static_cast<T*>(i.storage->data()) + i.offset;
  }

  // ------------------------------------------------------------------ element access
  T item() const {
    EMBER_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ",
                shape_str(shape()));
    check_cpu(device(), "item");
    return *data_ptr();
  }
  // Reference to one element: t.at({i, j}). For tests and small host-side code.
  T& at(std::initializer_list<int64_t> index) const {
    check_cpu(device(), "at");  // a CUDA tensor's memory is not readable from the host
    EMBER_CHECK(int64_t(index.size()) == dim(), "at: index of ", index.size(),
                " coordinates for a tensor of shape ", shape_str(shape()));
    int64_t off = 0, d = 0;
    for (int64_t i : index) {
      const int64_t n = shape()[d];
      EMBER_CHECK(i >= -n && i < n, "at: index ", i, " out of range for dimension ", d,
                  " of size ", n);
      off += (i < 0 ? i + n : i) * strides()[d];
      ++d;
    }
    return data_ptr()[off];
  }
  // All elements in row-major order.
  std::vector<T> to_vector() const {
    if (device().is_cuda()) return to(Device::cpu()).to_vector();
    Tensor c = contiguous();
    return std::vector<T>(c.data_ptr(), c.data_ptr() + c.numel());
  }

  // ------------------------------------------------------------------ views (share storage)
  Tensor view(Shape shape) const;
  Tensor reshape(Shape shape) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor mT() const { return transpose(-2, -1); }  // transpose of the last two dims
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const {
    return slice(dim, start, start + length, 1);
  }
  Tensor select(int64_t dim, int64_t index) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor expand(const Shape& shape) const;
  Tensor broadcast_to(const Shape& shape) const { return expand(shape); }

  // ------------------------------------------------------------------ copies
  Tensor contiguous() const { return is_contiguous() ? *this : clone(); }
  Tensor clone() const;
  // A tensor sharing storage but cut from the graph.
  Tensor detach() const {
    auto impl = std::make_shared<TensorImpl>(checked());
    impl->requires_grad = false;
    impl->grad = nullptr;
    impl->grad_fn = nullptr;
    return Tensor(std::move(impl));
  }
  template <class U>
  Tensor<U> to() const;
  // A copy on `device` (this tensor itself when already there); gradients flow back.
  Tensor to(Device device) const;

  // ------------------------------------------------------------------ in place (no graph)
  // These write data directly; they are for initialisation and optimizer updates and refuse to
  // run where they would invalidate a recorded graph.
  Tensor& fill_(T value) {
    check_inplace("fill_");
    if (device().is_cuda()) {
      EMBER_CHECK(is_contiguous(), "fill_: non-contiguous CUDA tensors are not supported yet");
      detail::device_fill(data_ptr(), &value, sizeof(T), numel(), device());
      return *this;
    }
    cpu::for_each_row<1>(shape(), {strides()}, [&](auto off, int64_t n, auto st) {
      T* p = data_ptr() + off[0];
      for (int64_t i = 0; i < n; ++i) p[i * st[0]] = value;
    });
    return *this;
  }
  Tensor& zero_() { return fill_(T(0)); }
  // Copies src (broadcast to this shape) into this tensor.
  Tensor& copy_(const Tensor& src);

  // ------------------------------------------------------------------ autograd
  bool requires_grad() const { return checked().requires_grad; }
  Tensor& requires_grad_(bool on = true) {
    EMBER_CHECK(!on || is_differentiable_v<T>, "requires_grad_: tensors of dtype ",
                dtype_name(dtype_v<T>), " cannot require gradients");
    EMBER_CHECK(on || is_leaf(), "requires_grad_(false): only leaves can stop requiring "
                "gradients; use detach() on the result of an op");
    impl_->requires_grad = on;
    return *this;
  }
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  // The accumulated gradient of a leaf (undefined before the first backward).
  Tensor grad() const { return checked().grad ? Tensor(checked().grad) : Tensor(); }
  void set_grad(const Tensor& g) const { checked().grad = g.impl_; }
  void zero_grad() const { checked().grad = nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return checked().grad_fn; }
  // Backpropagates from this tensor into every leaf that requires gradients. A tensor with
  // more than one element needs an explicit gradient (of the same shape).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;

 private:
  TensorImpl& checked() const {
    EMBER_CHECK(impl_ != nullptr, "Tensor: use of an undefined tensor");
    return *impl_;
  }
  void check_inplace(const char* op) const {
    EMBER_CHECK(!(GradMode::is_enabled() && requires_grad() && is_leaf()), op,
                ": in-place write to a leaf that requires grad; wrap it in NoGradGuard");
    ++impl_->version;
  }
  // A new impl sharing this tensor's storage with the given geometry.
  Tensor make_view(Shape shape, Shape strides, int64_t offset) const {
    auto impl = std::make_shared<TensorImpl>();
    impl->dtype = dtype_v<T>;
    impl->shape = std::move(shape);
    impl->strides = std::move(strides);
    impl->offset = offset;
    impl->storage = checked().storage;
    return Tensor(std::move(impl));
  }

  ImplPtr impl_;
};

// ---------------------------------------------------------------------- graph recording

template <class T, class Rule>
void record(Tensor<T>& out, const char* name, const std::vector<AnyTensor>& inputs, Rule&& rule) {
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const AnyTensor& in : inputs)
    node->inputs.push_back(in.defined() && in.impl->requires_grad ? in.impl : nullptr);
  node->backward = [rule = std::forward<Rule>(rule)](const ImplPtr& g) -> std::vector<ImplPtr> {
    Grads grads = rule(Tensor<T>(g));
    std::vector<ImplPtr> out;
    out.reserve(grads.size());
    for (auto& a : grads) out.push_back(std::move(a.impl));
    return out;
  };
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::move(node);
  // Anomaly mode (autograd/anomaly.hpp): every recorded op's output is scanned for NaN/Inf.
  if (AnomalyMode::is_enabled()) detail::check_forward_output(*out.impl(), name);
}

template <class T>
Tensor<T> sum_to(const Tensor<T>& t, const Shape& shape);  // ops/reduce.hpp

namespace detail {

// Gradient of a view op that selects part of its input (slice, select): scatter the output
// gradient into zeros of the input's shape. Its own gradient is the same view of the
// incoming gradient, so second derivatives work.
template <class T, class ViewFn>
Tensor<T> embed_into_zeros(const Tensor<T>& g, const Shape& input_shape, ViewFn view_fn) {
  Tensor<T> out = Tensor<T>::zeros(input_shape, g.device());
  {
    NoGradGuard no_grad;
    view_fn(out).copy_(g);
  }
  if (any_requires_grad(g))
    record(out, "embed_into_zeros", {g}, [view_fn](const Tensor<T>& gg) -> Grads { return {view_fn(gg)}; });
  return out;
}

inline Shape infer_shape(Shape shape, int64_t numel, const char* op, const Shape& from) {
  int64_t known = 1, infer_at = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      EMBER_CHECK(infer_at < 0, op, ": only one dimension can be -1, got ", shape_str(shape));
      infer_at = int64_t(d);
    } else {
      EMBER_CHECK(shape[d] >= 0, op, ": invalid size ", shape[d], " in ", shape_str(shape));
      if (shape[d] != 0 && known > std::numeric_limits<int64_t>::max() / shape[d])
        fail(op, ": shape ", shape_str(shape), " has more elements than fit in int64");
      known *= shape[d];
    }
  }
  if (infer_at >= 0) {
    EMBER_CHECK(known != 0 && numel % known == 0, op, ": cannot reshape ", shape_str(from),
                " into ", shape_str(shape));
    shape[infer_at] = numel / known;
  }
  EMBER_CHECK(checked_numel(shape, op) == numel, op, ": cannot reshape ", shape_str(from), " (",
              numel, " elements) into ", shape_str(shape));
  return shape;
}

// Strides that view `from` (with its strides) as `to` without copying, if there are any
// (PyTorch's rule: each run of dims that is contiguous within itself may be regrouped).
inline std::optional<Shape> view_strides(const Shape& from, const Shape& from_strides, const Shape& to) {
  int64_t numel = 1;
  for (int64_t s : from) numel *= s;
  if (numel == 0 || from.empty()) return cpu::contiguous_strides(to);
  Shape out(to.size());
  int64_t view_d = int64_t(to.size()) - 1;
  int64_t chunk_base_stride = from_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(from.size()) - 1; d >= 0; --d) {
    tensor_numel *= from[d];
    if (d == 0 || (from[d - 1] != 1 && from_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || to[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= to[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = from_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------------- view definitions

template <class T>
Tensor<T> Tensor<T>::view(Shape new_shape) const {
  new_shape = detail::infer_shape(std::move(new_shape), numel(), "view", shape());
  std::optional<Shape> st = is_contiguous() ? cpu::contiguous_strides(new_shape)
                                            : detail::view_strides(shape(), strides(), new_shape);
  EMBER_CHECK(st.has_value(), "view: shape ", shape_str(shape()), " with strides ",
              shape_str(strides()), " cannot be viewed as ", shape_str(new_shape),
              " without a copy; use reshape()");
  Tensor out = make_view(new_shape, *st, storage_offset());
  if (any_requires_grad(*this)) {
    record(out, "view", {*this}, [in_shape = shape()](const Tensor& g) -> Grads {
      return {g.reshape(in_shape)};
    });
  }
  return out;
}

template <class T>
Tensor<T> Tensor<T>::reshape(Shape new_shape) const {
  new_shape = detail::infer_shape(std::move(new_shape), numel(), "reshape", shape());
  if (is_contiguous() || detail::view_strides(shape(), strides(), new_shape)) return view(new_shape);
  return clone().view(new_shape);
}

template <class T>
Tensor<T> Tensor<T>::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  start_dim = wrap_dim(start_dim, dim(), "flatten");
  end_dim = wrap_dim(end_dim, dim(), "flatten");
  EMBER_CHECK(start_dim <= end_dim, "flatten: start_dim ", start_dim, " after end_dim ", end_dim);
  Shape s(shape().begin(), shape().begin() + start_dim);
  int64_t n = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) n *= shape()[d];
  s.push_back(n);
  s.insert(s.end(), shape().begin() + end_dim + 1, shape().end());
  return reshape(s);
}

template <class T>
Tensor<T> Tensor<T>::permute(const std::vector<int64_t>& dims) const {
  EMBER_CHECK(int64_t(dims.size()) == dim(), "permute: got ", dims.size(),
              " dims for a tensor of shape ", shape_str(shape()));
  Shape s(dims.size()), st(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], dim(), "permute");
    EMBER_CHECK(inverse[d] < 0, "permute: dimension ", d, " repeated in ", shape_str(dims));
    inverse[d] = int64_t(i);
    s[i] = shape()[d];
    st[i] = strides()[d];
  }
  Tensor out = make_view(s, st, storage_offset());
  if (any_requires_grad(*this))
    record(out, "permute", {*this}, [inverse](const Tensor& g) -> Grads { return {g.permute(inverse)}; });
  return out;
}

template <class T>
Tensor<T> Tensor<T>::transpose(int64_t d0, int64_t d1) const {
  std::vector<int64_t> dims(dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[wrap_dim(d0, dim(), "transpose")], dims[wrap_dim(d1, dim(), "transpose")]);
  return permute(dims);
}

template <class T>
Tensor<T> Tensor<T>::t() const {
  EMBER_CHECK(dim() == 2, "t: expected a 2-D tensor, got shape ", shape_str(shape()));
  return transpose(0, 1);
}

template <class T>
Tensor<T> Tensor<T>::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = wrap_dim(d, dim(), "slice");
  EMBER_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t n = shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = shape(), st = strides();
  s[d] = (end - start + step - 1) / step;
  st[d] *= step;
  Tensor out = make_view(s, st, storage_offset() + start * strides()[d]);
  if (any_requires_grad(*this)) {
    record(out, "slice", {*this}, [in_shape = shape(), d, start, end, step](const Tensor& g) -> Grads {
      return {detail::embed_into_zeros(g, in_shape, [=](const Tensor& z) { return z.slice(d, start, end, step); })};
    });
  }
  return out;
}

template <class T>
Tensor<T> Tensor<T>::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim(), "select");
  const int64_t n = shape()[d];
  EMBER_CHECK(index >= -n && index < n, "select: index ", index, " out of range for dimension ",
              d, " of size ", n, " (shape ", shape_str(shape()), ")");
  if (index < 0) index += n;
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  Tensor out = make_view(s, st, storage_offset() + index * strides()[d]);
  if (any_requires_grad(*this)) {
    record(out, "select", {*this}, [in_shape = shape(), d, index](const Tensor& g) -> Grads {
      return {detail::embed_into_zeros(g, in_shape, [=](const Tensor& z) { return z.select(d, index); })};
    });
  }
  return out;
}

template <class T>
Tensor<T> Tensor<T>::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(s.begin() + d, 1);
  return view(s);
}

template <class T>
Tensor<T> Tensor<T>::squeeze(int64_t d) const {
  d = wrap_dim(d, dim(), "squeeze");
  if (dim() == 0 || shape()[d] != 1) return *this;
  Shape s = shape();
  s.erase(s.begin() + d);
  return view(s);
}

template <class T>
Tensor<T> Tensor<T>::squeeze() const {
  Shape s;
  for (int64_t v : shape())
    if (v != 1) s.push_back(v);
  return view(s);
}

template <class T>
Tensor<T> Tensor<T>::expand(const Shape& target) const {
  EMBER_CHECK(int64_t(target.size()) >= dim(), "expand: cannot expand shape ", shape_str(shape()),
              " to fewer dimensions ", shape_str(target));
  const int64_t lead = int64_t(target.size()) - dim();
  Shape s(target.size()), st(target.size());
  for (int64_t i = 0; i < int64_t(target.size()); ++i) {
    if (i < lead) {
      EMBER_CHECK(target[i] >= 0, "expand: invalid size ", target[i]);
      s[i] = target[i];
      st[i] = 0;
      continue;
    }
    const int64_t have = shape()[i - lead];
    const int64_t want = target[i] == -1 ? have : target[i];
    EMBER_CHECK(have == want || have == 1, "expand: shape ", shape_str(shape()),
                " cannot be broadcast to ", shape_str(target), " (dimension ", i, ": ", have,
                " vs ", want, ")");
    s[i] = want;
    st[i] = have == want ? strides()[i - lead] : 0;
  }
  if (s == shape()) return *this;
  checked_numel(s, "expand");
  Tensor out = make_view(s, st, storage_offset());
  if (any_requires_grad(*this))
    record(out, "expand", {*this}, [in_shape = shape()](const Tensor& g) -> Grads { return {sum_to(g, in_shape)}; });
  return out;
}

// ---------------------------------------------------------------------- copies

template <class T>
Tensor<T>& Tensor<T>::copy_(const Tensor& src) {
  check_inplace("copy_");
  Tensor s = src.expand(shape());
  // A source that shares bytes with this tensor (x.narrow(0, 1, n).copy_(x.narrow(0, 0, n)))
  // is read in full first: neither a row-by-row copy nor cudaMemcpy is defined on overlap.
  if (may_overlap(*impl_, *s.impl_)) s = s.detach().clone();
  if (device().is_cuda() || s.device().is_cuda()) {  // CUDA: a strided copy kernel
    if (s.device() != device()) s = s.contiguous().to(device());
    detail::device_strided_copy(data_ptr(), strides(), s.data_ptr(), s.strides(), shape(),
                                sizeof(T), device());
    return *this;
  }
  T* dst = data_ptr();
  const T* from = s.data_ptr();
  cpu::for_each_row<2>(shape(), {strides(), s.strides()}, [&](auto off, int64_t n, auto st) {
    T* d = dst + off[0];
    const T* f = from + off[1];
    if (st[0] == 1 && st[1] == 1) std::memmove(d, f, size_t(n) * sizeof(T));
    else for (int64_t i = 0; i < n; ++i) d[i * st[0]] = f[i * st[1]];
  });
  return *this;
}

template <class T>
Tensor<T> Tensor<T>::clone() const {
  Tensor out = empty(shape(), device());
  {
    NoGradGuard no_grad;
    out.copy_(*this);
  }
  if (any_requires_grad(*this))
    record(out, "clone", {*this}, [](const Tensor& g) -> Grads { return {g}; });
  return out;
}

template <class T>
template <class U>
Tensor<U> Tensor<T>::to() const {
  if constexpr (std::is_same_v<T, U>) {
    return *this;
  } else {
    static_assert(!(is_complex_v<T> && !is_complex_v<U>),
                  "to<U>: converting complex to real drops the imaginary part; use real()");
    check_cpu(device(), "to<U>");
    Tensor<U> out = Tensor<U>::empty(shape(), device());
    U* dst = out.data_ptr();
    const T* src = data_ptr();
    cpu::for_each_row<2>(shape(), {out.strides(), strides()}, [&](auto off, int64_t n, auto st) {
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<U, bool>) dst[off[0] + i * st[0]] = src[off[1] + i * st[1]] != T(0);
        else if constexpr (is_complex_v<U> && !is_complex_v<T>) dst[off[0] + i * st[0]] = U(real_t<U>(src[off[1] + i * st[1]]));
        else dst[off[0] + i * st[0]] = static_cast<U>(src[off[1] + i * st[1]]);
      }
    });
    if constexpr (is_differentiable_v<T> && is_differentiable_v<U>) {
      if (any_requires_grad(*this))
        record(out, "to", {*this}, [](const Tensor<U>& g) -> Grads {
          if constexpr (is_complex_v<U> && !is_complex_v<T>) {
            // Real input promoted to complex: the gradient is the real part (PyTorch rule).
            Tensor<T> r = Tensor<T>::empty(g.shape(), g.device());
            Tensor<U> gc = g.contiguous();
            for (int64_t i = 0; i < r.numel(); ++i) r.data_ptr()[i] = T(gc.data_ptr()[i].real());
            return {r};
          } else {
            return {g.template to<T>()};
          }
        });
    }
    return out;
  }
}

template <class T>
Tensor<T> Tensor<T>::to(Device device) const {
  if (device == this->device()) return *this;
  const Tensor c = contiguous();
  Tensor out = empty(shape(), device);
  detail::device_copy(out.data_ptr(), device, c.data_ptr(), c.device(), size_t(numel()) * sizeof(T));
  if (any_requires_grad(*this))
    record(out, "to_device", {*this}, [from = this->device()](const Tensor& g) -> Grads { return {g.to(from)}; });
  return out;
}

// ---------------------------------------------------------------------- printing

template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  os << "Tensor<" << dtype_name(dtype_v<T>) << ">" << shape_str(t.shape()) << " ";
  const std::vector<T> v = t.to_vector();
  const size_t shown = std::min<size_t>(v.size(), 64);
  os << "[";
  for (size_t i = 0; i < shown; ++i) {
    if (i) os << ", ";
    if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, bool>) os << int(v[i]);
    else os << v[i];
  }
  if (shown < v.size()) os << ", ... (" << v.size() << " elements)";
  os << "]";
  if (t.requires_grad()) os << " requires_grad";
  return os;
}

}  // namespace ember

