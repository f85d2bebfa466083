/// @file autodiff.hpp
/// @brief Forward-mode automatic differentiation for pointwise models: hyper-dual numbers, which carry
/// a value, two first derivatives and their mixed second derivative exactly (no truncation error).
///
/// A functor for ngvi::make_model whose value() is a template over its scalar type,
/// @code
///   template <class S> S value(std::size_t b, const S* z) const;   // f_b(z), written once
/// @endcode
/// gets exact gradients and Hessians from it: make_model evaluates it on HyperDual<T> seeds. Inside,
/// call the functions unqualified (`using std::exp; exp(x)`) so that those below are found.
/// Cost per point: d passes for a gradient, d (d + 1) / 2 for a Hessian, each about four times the
/// cost of a plain evaluation; past a few tens of dimensions, hand-written derivatives pay.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

namespace ngvi {

/// @brief v + d1 e1 + d2 e2 + d12 e1 e2 with e1^2 = e2^2 = 0: seeded with d1 = 1 along z_i and d2 = 1
/// along z_j, f(z) carries d f / d z_i in d1, d f / d z_j in d2 and d^2 f / d z_i d z_j in d12.
template <class T>
struct HyperDual {
  T v{}, d1{}, d2{}, d12{};

  HyperDual() = default;
  HyperDual(T value) : v(value) {}  // NOLINT(google-explicit-constructor): constants mix in freely
  HyperDual(T value, T first, T second, T mixed) : v(value), d1(first), d2(second), d12(mixed) {}

  HyperDual& operator+=(const HyperDual& b) { return *this = *this + b; }
  HyperDual& operator-=(const HyperDual& b) { return *this = *this - b; }
  HyperDual& operator*=(const HyperDual& b) { return *this = *this * b; }
  HyperDual& operator/=(const HyperDual& b) { return *this = *this / b; }
};

namespace detail {
/// g(x) from g(x.v), g'(x.v) and g''(x.v): the chain rule to second order.
template <class T>
HyperDual<T> chain(const HyperDual<T>& x, T g, T g1, T g2) {
  return {g, g1 * x.d1, g1 * x.d2, g1 * x.d12 + g2 * x.d1 * x.d2};
}
/// Plain numbers of any arithmetic type (2, 0.5, double(b)) mix with hyper-duals as constants.
template <class U>
using if_number = std::enable_if_t<std::is_arithmetic_v<U>, int>;
}  // namespace detail

template <class T>
HyperDual<T> operator+(const HyperDual<T>& a, const HyperDual<T>& b) {
  return {a.v + b.v, a.d1 + b.d1, a.d2 + b.d2, a.d12 + b.d12};
}
template <class T>
HyperDual<T> operator-(const HyperDual<T>& a, const HyperDual<T>& b) {
  return {a.v - b.v, a.d1 - b.d1, a.d2 - b.d2, a.d12 - b.d12};
}
template <class T>
HyperDual<T> operator-(const HyperDual<T>& a) {
  return {-a.v, -a.d1, -a.d2, -a.d12};
}
template <class T>
HyperDual<T> operator+(const HyperDual<T>& a) {
  return a;
}
template <class T>
HyperDual<T> operator*(const HyperDual<T>& a, const HyperDual<T>& b) {
  return {a.v * b.v, a.d1 * b.v + a.v * b.d1, a.d2 * b.v + a.v * b.d2,
          a.d12 * b.v + a.d1 * b.d2 + a.d2 * b.d1 + a.v * b.d12};
}
template <class T>
HyperDual<T> operator/(const HyperDual<T>& a, const HyperDual<T>& b) {
  const T inverse = T(1) / b.v;
  return a * detail::chain(b, inverse, -inverse * inverse, T(2) * inverse * inverse * inverse);
}

#define NGVI_HYPERDUAL_SCALAR_OPERATOR(op)                                                        \
  template <class T, class U, detail::if_number<U> = 0>                                                   \
  HyperDual<T> operator op(const HyperDual<T>& a, U b) { return a op HyperDual<T>(T(b)); }        \
  template <class T, class U, detail::if_number<U> = 0>                                                   \
  HyperDual<T> operator op(U a, const HyperDual<T>& b) { return HyperDual<T>(T(a)) op b; }
NGVI_HYPERDUAL_SCALAR_OPERATOR(+)
NGVI_HYPERDUAL_SCALAR_OPERATOR(-)
NGVI_HYPERDUAL_SCALAR_OPERATOR(*)
NGVI_HYPERDUAL_SCALAR_OPERATOR(/)
#undef NGVI_HYPERDUAL_SCALAR_OPERATOR

// Comparisons look at values only: branches follow the point, derivatives those of the branch taken.
#define NGVI_HYPERDUAL_COMPARISON(op)                                                             \
  template <class T>                                                                              \
  bool operator op(const HyperDual<T>& a, const HyperDual<T>& b) { return a.v op b.v; }           \
  template <class T, class U, detail::if_number<U> = 0>                                                   \
  bool operator op(const HyperDual<T>& a, U b) { return a.v op T(b); }                            \
  template <class T, class U, detail::if_number<U> = 0>                                                   \
  bool operator op(U a, const HyperDual<T>& b) { return T(a) op b.v; }
NGVI_HYPERDUAL_COMPARISON(<)
NGVI_HYPERDUAL_COMPARISON(<=)
NGVI_HYPERDUAL_COMPARISON(>)
NGVI_HYPERDUAL_COMPARISON(>=)
NGVI_HYPERDUAL_COMPARISON(==)
NGVI_HYPERDUAL_COMPARISON(!=)
#undef NGVI_HYPERDUAL_COMPARISON

template <class T>
HyperDual<T> exp(const HyperDual<T>& x) {
  const T e = std::exp(x.v);
  return detail::chain(x, e, e, e);
}
template <class T>
HyperDual<T> expm1(const HyperDual<T>& x) {
  const T e = std::exp(x.v);
  return detail::chain(x, std::expm1(x.v), e, e);
}
template <class T>
HyperDual<T> log(const HyperDual<T>& x) {
  const T inverse = T(1) / x.v;
  return detail::chain(x, std::log(x.v), inverse, -inverse * inverse);
}
template <class T>
HyperDual<T> log1p(const HyperDual<T>& x) {
  const T inverse = T(1) / (T(1) + x.v);
  return detail::chain(x, std::log1p(x.v), inverse, -inverse * inverse);
}
template <class T>
HyperDual<T> sqrt(const HyperDual<T>& x) {
  const T root = std::sqrt(x.v);
  return detail::chain(x, root, T(0.5) / root, T(-0.25) / (root * x.v));
}
/// x^p for a constant exponent p.
template <class T, class U, detail::if_number<U> = 0>
HyperDual<T> pow(const HyperDual<T>& x, U exponent) {
  const T p = T(exponent);
  return detail::chain(x, std::pow(x.v, p), p * std::pow(x.v, p - T(1)), p * (p - T(1)) * std::pow(x.v, p - T(2)));
}
template <class T>
HyperDual<T> sin(const HyperDual<T>& x) {
  return detail::chain(x, std::sin(x.v), std::cos(x.v), -std::sin(x.v));
}
template <class T>
HyperDual<T> cos(const HyperDual<T>& x) {
  return detail::chain(x, std::cos(x.v), -std::sin(x.v), -std::cos(x.v));
}
template <class T>
HyperDual<T> tanh(const HyperDual<T>& x) {
  const T t = std::tanh(x.v), s = T(1) - t * t;
  return detail::chain(x, t, s, T(-2) * t * s);
}
template <class T>
HyperDual<T> cosh(const HyperDual<T>& x) {
  return detail::chain(x, std::cosh(x.v), std::sinh(x.v), std::cosh(x.v));
}
template <class T>
HyperDual<T> sinh(const HyperDual<T>& x) {
  return detail::chain(x, std::sinh(x.v), std::cosh(x.v), std::sinh(x.v));
}
template <class T>
HyperDual<T> abs(const HyperDual<T>& x) {
  return x.v < T(0) ? -x : x;
}

namespace detail {
/// f(z) of a functor with a generic value(), with grad f(z) into `gradient` (d) and hess f(z) into
/// `hessian` (d, d) where non-null, by hyper-dual passes; `seeds` holds d entries.
template <class T, class F>
T value_and_derivatives(const F& function, std::size_t problem, const T* z, int d, T* gradient, T* hessian,
                        HyperDual<T>* seeds) {
  const HyperDual<T>* point = seeds;
  for (int k = 0; k < d; ++k) seeds[k] = HyperDual<T>(z[k]);
  T value{};
  for (int i = 0; i < d; ++i) {
    seeds[i].d1 = T(1);
    if (hessian) {
      for (int j = i; j < d; ++j) {  // the upper triangle; the gradient along the diagonal
        seeds[j].d2 = T(1);
        const HyperDual<T> f = function.value(problem, point);
        hessian[i * d + j] = hessian[j * d + i] = f.d12;
        if (gradient && i == j) gradient[i] = f.d1;
        value = f.v;
        seeds[j].d2 = T(0);
      }
    } else {
      const HyperDual<T> f = function.value(problem, point);
      if (gradient) gradient[i] = f.d1;
      value = f.v;
    }
    seeds[i].d1 = T(0);
  }
  return value;
}
}  // namespace detail

}  // namespace ngvi
