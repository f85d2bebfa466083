// ngvi_prior -> ngvi::Prior, for the models and the optimizer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ngvi/ngvi.h"
#include "ngvi/prior.hpp"

namespace ngvi::capi {

/// The C++ prior described by `prior` (nullptr: `fallback`), its arrays checked against B problems of
/// dimension d and the scalar type T. Throws CallError or ngvi::Error naming the bad field.
template <class T>
Prior<T> make_prior(const ngvi_prior* prior, std::size_t B, std::int32_t dimension, Prior<T> fallback);

extern template Prior<float> make_prior(const ngvi_prior*, std::size_t, std::int32_t, Prior<float>);
extern template Prior<double> make_prior(const ngvi_prior*, std::size_t, std::int32_t, Prior<double>);

}  // namespace ngvi::capi
