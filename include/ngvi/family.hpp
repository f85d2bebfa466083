/// @file family.hpp
/// @brief The variational families: which covariance structure each distribution has.
#pragma once

#include <cstdint>

namespace ngvi {

/// @brief Covariance structure of the distributions in a batch.
enum class Family : std::int32_t {
  Full = 0,      ///< full covariance; state: mean and lower Cholesky factor L of the precision (d x d)
  Diagonal = 1,  ///< mean field; state: mean and the square roots of the precision's diagonal (d)
};

}  // namespace ngvi
