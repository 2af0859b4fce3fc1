// Element types. A tensor's dtype is known at compile time through Tensor<T> and at run time
// through DType, so the autograd engine can hold tensors of any type behind one pointer.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace ember {

enum class DType : uint8_t { Bool, UInt8, Int32, Int64, Float32, Float64, Complex64, Complex128 };

template <class T>
struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<std::complex<float>> { static constexpr DType value = DType::Complex64; };
template <> struct dtype_of<std::complex<double>> { static constexpr DType value = DType::Complex128; };

template <class T>
inline constexpr DType dtype_v = dtype_of<T>::value;

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Complex64: return "complex64";
    case DType::Complex128: return "complex128";
  }
  return "?";
}

inline size_t dtype_size(DType d) {
  switch (d) {
    case DType::Bool:
    case DType::UInt8: return 1;
    case DType::Int32:
    case DType::Float32: return 4;
    case DType::Int64:
    case DType::Float64:
    case DType::Complex64: return 8;
    case DType::Complex128: return 16;
  }
  return 0;
}

template <class T> struct is_complex : std::false_type {};
template <class R> struct is_complex<std::complex<R>> : std::true_type {};
template <class T> inline constexpr bool is_complex_v = is_complex<T>::value;

// The real type underneath: float for complex<float>, T itself otherwise.
template <class T> struct real_of { using type = T; };
template <class R> struct real_of<std::complex<R>> { using type = R; };
template <class T> using real_t = typename real_of<T>::type;

// Types that can carry gradients.
template <class T>
inline constexpr bool is_differentiable_v = std::is_floating_point_v<T> || is_complex_v<T>;

// conj that is the identity on real types, so one gradient rule serves real and complex.
template <class T>
inline T conj_scalar(const T& x) {
  if constexpr (is_complex_v<T>) return std::conj(x);
  else return x;
}

// Calls f with a value of the C++ type for a run-time dtype (as a null pointer of that type).
template <class F>
decltype(auto) visit_dtype(DType d, F&& f) {
  switch (d) {
    case DType::Bool: return f(static_cast<bool*>(nullptr));
    case DType::UInt8: return f(static_cast<uint8_t*>(nullptr));
    case DType::Int32: return f(static_cast<int32_t*>(nullptr));
    case DType::Int64: return f(static_cast<int64_t*>(nullptr));
    case DType::Float32: return f(static_cast<float*>(nullptr));
    case DType::Float64: return f(static_cast<double*>(nullptr));
    case DType::Complex64: return f(static_cast<std::complex<float>*>(nullptr));
    case DType::Complex128: return f(static_cast<std::complex<double>*>(nullptr));
  }
  return f(static_cast<float*>(nullptr));
}

}  // namespace ember
