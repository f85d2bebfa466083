// The error the readers and writers throw: the message names the file and what is wrong with it.
#pragma once

#include <stdexcept>
#include <string>

namespace ngvi::io {

class IoError : public std::runtime_error {
 public:
  explicit IoError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace ngvi::io
