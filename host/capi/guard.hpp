// The boundary of the C ABI: every entry point runs its body through guarded(), the one place that
// catches exceptions, turns them into an ngvi_status and records the thread-local message.
#pragma once

#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "ngvi/error.hpp"
#include "ngvi/ngvi.h"

namespace ngvi::capi {

/// A failure detected by the C layer itself, with the status it maps to.
class CallError : public std::runtime_error {
 public:
  CallError(ngvi_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  ngvi_status status() const { return status_; }

 private:
  ngvi_status status_;
};

/// Records `message` (prefixed by `function`) as this thread's last error and returns `status`.
/// Never allocates, so it is safe while handling std::bad_alloc.
ngvi_status record_error(ngvi_status status, const char* function, const char* message) noexcept;
/// Empties this thread's last error (a call that succeeds leaves "").
void clear_error() noexcept;

/// Runs body(function) and maps what it throws: CallError to its status, ngvi::Error (bad arguments
/// found by the C++ API) to NGVI_ERROR_INVALID_ARGUMENT, std::bad_alloc to NGVI_ERROR_OUT_OF_MEMORY,
/// std::length_error (a size no container can hold) to NGVI_ERROR_SIZE,
/// anything else to NGVI_ERROR_INTERNAL. Nothing escapes.
template <class Body>
ngvi_status guarded(const char* function, Body&& body) noexcept {
  clear_error();
  try {
    std::forward<Body>(body)(function);
    return NGVI_OK;
  } catch (const CallError& e) {
    return record_error(e.status(), function, e.what());
  } catch (const Error& e) {
    return record_error(NGVI_ERROR_INVALID_ARGUMENT, function, e.what());
  } catch (const std::bad_alloc&) {
    return record_error(NGVI_ERROR_OUT_OF_MEMORY, function, "out of memory");
  } catch (const std::length_error& e) {  // a container asked for more than it can hold: a size from the caller
    return record_error(NGVI_ERROR_SIZE, function, e.what());
  } catch (const std::exception& e) {
    return record_error(NGVI_ERROR_INTERNAL, function, e.what());
  } catch (...) {
    return record_error(NGVI_ERROR_INTERNAL, function, "unknown exception");
  }
}

}  // namespace ngvi::capi
