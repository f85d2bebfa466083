#include "ngvi/synthetic.hpp"

#include <fmt/format.h>

#include <cmath>

#include "math/philox.cuh"
#include "ngvi/error.hpp"
#include "engine/parallel.hpp"

namespace ngvi {
namespace {

// What each random number is for: the `step` field of its address.
enum Purpose : std::uint32_t { kTruth = 0, kRows = 1, kCovariates = 2, kResponse = 3 };

double draw_uniform(std::uint64_t seed, std::size_t b, Purpose purpose, std::size_t index) {
  double u;
  math::uniforms(seed, math::RandomStream::kData, static_cast<std::uint32_t>(b), purpose,
                 static_cast<std::uint32_t>(index), &u, 1);
  return u;
}

// Poisson count by inversion of the CDF (rates here are small).
double draw_poisson(double rate, double u) {
  double k = 0, p = std::exp(-rate), cdf = p;
  while (u > cdf && k < 1000) {
    k += 1;
    p *= rate / k;
    cdf += p;
  }
  return k;
}

}  // namespace

template <class T>
RegressionData<T> SyntheticProblems<T>::data() const {
  const std::size_t rows = static_cast<std::size_t>(offsets[1] - offsets[0]);
  bool dense = true;
  for (std::size_t b = 0; b < num_problems && dense; ++b)
    dense = static_cast<std::size_t>(offsets[b + 1] - offsets[b]) == rows;
  return dense ? RegressionData<T>::dense(x.data(), y.data(), num_problems, rows, dimension)
               : RegressionData<T>::ragged(x.data(), y.data(), offsets.data(), num_problems, dimension);
}

template <class T>
SyntheticProblems<T> SyntheticProblems<T>::generate(Likelihood likelihood, std::size_t num_problems, int dimension,
                                                    std::size_t min_rows, std::size_t max_rows,
                                                    std::uint64_t seed) {
  if (num_problems < 1 || dimension < 1 || min_rows > max_rows)
    throw Error(fmt::format("SyntheticProblems::generate: need B >= 1, d >= 1 and min_rows <= max_rows "
                            "(got B = {}, d = {}, rows {}..{})",
                            num_problems, dimension, min_rows, max_rows));
  SyntheticProblems p;
  p.likelihood = likelihood;
  p.num_problems = num_problems;
  p.dimension = dimension;
  const std::size_t d = static_cast<std::size_t>(dimension);
  p.offsets.assign(num_problems + 1, 0);
  for (std::size_t b = 0; b < num_problems; ++b) {
    const std::size_t span = max_rows - min_rows + 1;
    const std::size_t rows = min_rows + std::min(span - 1, static_cast<std::size_t>(draw_uniform(seed, b, kRows, 0) * span));
    p.offsets[b + 1] = p.offsets[b] + static_cast<std::int64_t>(rows);
  }
  const std::size_t total = static_cast<std::size_t>(p.offsets[num_problems]);
  p.x.resize(total * d);
  p.y.resize(total);
  p.truth.resize(num_problems * d);
  const double scale = (likelihood == Likelihood::Poisson ? 0.5 : 1.0) / std::sqrt(static_cast<double>(d));
  detail::parallel_for(num_problems, detail::resolve_threads(0), [&](std::size_t b, int) {
    T* z = p.truth.data() + b * d;
    math::standard_normals(seed, math::RandomStream::kData, static_cast<std::uint32_t>(b), kTruth, 0, z, dimension);
    for (std::int64_t n = p.offsets[b]; n < p.offsets[b + 1]; ++n) {
      const std::size_t row = static_cast<std::size_t>(n - p.offsets[b]);
      T* x = p.x.data() + static_cast<std::size_t>(n) * d;
      math::standard_normals(seed, math::RandomStream::kData, static_cast<std::uint32_t>(b), kCovariates,
                             static_cast<std::uint32_t>(row), x, dimension);
      double a = 0;
      for (std::size_t i = 0; i < d; ++i) {
        x[i] = static_cast<T>(x[i] * scale);
        a += static_cast<double>(x[i]) * z[i];
      }
      const double u = draw_uniform(seed, b, kResponse, row);
      double response = 0;
      switch (likelihood) {
        case Likelihood::Linear: {
          double e;
          math::standard_normals(seed, math::RandomStream::kData, static_cast<std::uint32_t>(b), kResponse,
                                 static_cast<std::uint32_t>(row), &e, 1);
          response = a + e;
          break;
        }
        case Likelihood::Logistic: response = u < 1.0 / (1.0 + std::exp(-a)) ? 1.0 : 0.0; break;
        case Likelihood::Probit: response = u < 0.5 * std::erfc(-a / std::sqrt(2.0)) ? 1.0 : 0.0; break;
        case Likelihood::Poisson: response = draw_poisson(std::exp(a), u); break;
      }
      p.y[static_cast<std::size_t>(n)] = static_cast<T>(response);
    }
  });
  return p;
}

template struct SyntheticProblems<float>;
template struct SyntheticProblems<double>;

}  // namespace ngvi
