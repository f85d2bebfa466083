/// @file error.hpp
/// @brief The exception thrown for invalid arguments and options.
#pragma once

#include <stdexcept>
#include <string>

#include "ngvi/export.hpp"

namespace ngvi {

/// @brief Thrown when a call cannot start: a shape that does not match, an option out of range, a
/// backend that is not available. The message names the function, the argument and the bad value.
/// Problems of one distribution never throw; they are reported in its Status.
class NGVI_API Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& message) : std::invalid_argument(message) {}
};

}  // namespace ngvi
