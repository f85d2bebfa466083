#include "ngvi/prior.hpp"

#include <fmt/format.h>

#include <cmath>

#include "ngvi/error.hpp"
#include "math/dense.cuh"

namespace ngvi {

template <class T>
Prior<T> Prior<T>::isotropic(T precision, std::vector<T> mean) {
  return isotropic(std::vector<T>{precision}, std::move(mean));
}

template <class T>
Prior<T> Prior<T>::isotropic(std::vector<T> precisions, std::vector<T> mean) {
  for (std::size_t i = 0; i < precisions.size(); ++i)
    if (!(precisions[i] > T(0)) || !std::isfinite(precisions[i]))
      throw Error(fmt::format("Prior::isotropic: precision[{}] = {} must be positive and finite", i, precisions[i]));
  if (precisions.empty()) throw Error("Prior::isotropic: no precision given");
  Prior prior;
  prior.kind_ = Kind::Isotropic;
  prior.precision_ = std::move(precisions);
  prior.mean_ = std::move(mean);
  return prior;
}

template <class T>
Prior<T> Prior<T>::full(int dimension, std::vector<T> precisions, std::vector<T> mean) {
  const std::size_t m = static_cast<std::size_t>(dimension) * static_cast<std::size_t>(dimension);
  if (dimension < 1) throw Error(fmt::format("Prior::full: dimension must be at least 1 (got {})", dimension));
  if (precisions.empty() || precisions.size() % m != 0)
    throw Error(fmt::format("Prior::full: precisions has {} entries, not a multiple of d*d = {}", precisions.size(), m));
  Prior prior;
  prior.kind_ = Kind::Full;
  prior.dimension_ = dimension;
  prior.precision_ = std::move(precisions);
  prior.factor_ = prior.precision_;
  const std::size_t count = prior.precision_.size() / m;
  prior.log_det_.resize(count);
  for (std::size_t k = 0; k < count; ++k) {
    T* L = prior.factor_.data() + k * m;
    if (!math::cholesky_in_place(L, dimension))
      throw Error(fmt::format("Prior::full: precision matrix {} is not symmetric positive definite", k));
    prior.log_det_[k] = T(2) * math::log_diagonal_sum(L, dimension);
  }
  prior.mean_ = std::move(mean);
  return prior;
}

template <class T>
void Prior<T>::check(const char* function, std::size_t num_problems, int dimension) const {
  if (kind_ == Kind::None) return;
  const std::size_t d = static_cast<std::size_t>(dimension);
  if (kind_ == Kind::Isotropic && precision_.size() != 1 && precision_.size() != num_problems)
    throw Error(fmt::format("{}: the prior has {} precisions; expected 1 or one per problem ({})", function,
                            precision_.size(), num_problems));
  if (kind_ == Kind::Full) {
    if (dimension_ != dimension)
      throw Error(fmt::format("{}: the prior's dimension is {} but the model's is {}", function, dimension_, dimension));
    if (log_det_.size() != 1 && log_det_.size() != num_problems)
      throw Error(fmt::format("{}: the prior has {} precision matrices; expected 1 or one per problem ({})", function,
                              log_det_.size(), num_problems));
  }
  if (!mean_.empty() && mean_.size() != d && mean_.size() != num_problems * d)
    throw Error(fmt::format("{}: the prior mean has {} entries; expected d = {} or B*d = {}", function, mean_.size(), d,
                            num_problems * d));
  for (std::size_t i = 0; i < mean_.size(); ++i)
    if (!std::isfinite(mean_[i])) throw Error(fmt::format("{}: the prior mean[{}] is not finite", function, i));
}

template <class T>
const T* Prior<T>::precision(std::size_t problem) const {
  if (kind_ == Kind::None) return nullptr;
  const std::size_t stride = kind_ == Kind::Full ? static_cast<std::size_t>(dimension_ * dimension_) : 1;
  return precision_.size() == stride ? precision_.data() : precision_.data() + problem * stride;
}

template <class T>
const T* Prior<T>::precision_cholesky(std::size_t problem) const {
  if (kind_ != Kind::Full) return nullptr;
  const std::size_t m = static_cast<std::size_t>(dimension_ * dimension_);
  return factor_.size() == m ? factor_.data() : factor_.data() + problem * m;
}

template <class T>
const T* Prior<T>::mean(std::size_t problem, int dimension) const {
  const std::size_t d = static_cast<std::size_t>(dimension);
  if (mean_.empty()) return nullptr;
  return mean_.size() == d ? mean_.data() : mean_.data() + problem * d;
}

template <class T>
T Prior<T>::log_det_precision(std::size_t problem, int dimension) const {
  if (kind_ == Kind::None) return T(0);
  if (kind_ == Kind::Isotropic) return T(dimension) * std::log(*precision(problem));
  return log_det_.size() == 1 ? log_det_[0] : log_det_[problem];
}

template class Prior<float>;
template class Prior<double>;

}  // namespace ngvi
