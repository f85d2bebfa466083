#include "ngvi/online.hpp"

#include <fmt/format.h>

#include <cmath>

#include "ngvi/error.hpp"
#include "ngvi/model_with_prior.hpp"

namespace ngvi {

template <class T>
Prior<T> posterior_prior(const GaussianBatch<T>& batch, double forgetting) {
  if (!(forgetting > 0.0 && forgetting <= 1.0))
    throw Error(fmt::format("ngvi::posterior_prior: forgetting = {} is invalid: must be in (0, 1]", forgetting));
  const std::size_t B = batch.size(), m = batch.matrix_size();
  const std::size_t d = static_cast<std::size_t>(batch.dimension());
  std::vector<T> stored(B * m);
  batch.precision(stored.data());
  std::vector<T> precision(B * d * d, T(0));
  for (std::size_t b = 0; b < B; ++b) {
    T* P = precision.data() + b * d * d;
    const T* Lambda = stored.data() + b * m;
    if (batch.family() == Family::Diagonal) {
      for (std::size_t i = 0; i < d; ++i) P[i * d + i] = static_cast<T>(forgetting) * Lambda[i];
    } else {
      for (std::size_t k = 0; k < d * d; ++k) P[k] = static_cast<T>(forgetting) * Lambda[k];
    }
  }
  std::vector<T> mean(batch.mean(), batch.mean() + B * d);
  return Prior<T>::full(batch.dimension(), std::move(precision), std::move(mean));
}

template <class T>
Summary fit_online_round(const Model<T>& new_rows, GaussianBatch<T>& batch, const Options& options,
                         double forgetting) {
  const ModelWithPrior<T> model(new_rows, posterior_prior(batch, forgetting));
  return fit(model, batch, options);
}

template NGVI_API Prior<float> posterior_prior<float>(const GaussianBatch<float>&, double);
template NGVI_API Prior<double> posterior_prior<double>(const GaussianBatch<double>&, double);
template NGVI_API Summary fit_online_round<float>(const Model<float>&, GaussianBatch<float>&, const Options&, double);
template NGVI_API Summary fit_online_round<double>(const Model<double>&, GaussianBatch<double>&, const Options&,
                                                   double);

}  // namespace ngvi
