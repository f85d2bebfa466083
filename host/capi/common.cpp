// The C ABI's shared pieces: the thread-local last error, array checks, names and the version.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include <mutex>
#include <unordered_set>

#include "arguments.hpp"
#include "handles.hpp"
#include "guard.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/ngvi.h"
#include "ngvi/status.hpp"
#include "ngvi/version.hpp"

namespace ngvi::capi {
namespace {

// A fixed buffer, so that recording an error never allocates (it runs while handling bad_alloc).
thread_local char t_last_error[2048] = "";

// The C enums are the C++ ones: check that every value agrees.
static_assert(NGVI_FAMILY_FULL == static_cast<int>(Family::Full) &&
              NGVI_FAMILY_DIAGONAL == static_cast<int>(Family::Diagonal));
static_assert(NGVI_LINEAR == static_cast<int>(Likelihood::Linear) &&
              NGVI_LOGISTIC == static_cast<int>(Likelihood::Logistic) &&
              NGVI_POISSON == static_cast<int>(Likelihood::Poisson) &&
              NGVI_PROBIT == static_cast<int>(Likelihood::Probit));
static_assert(NGVI_ESTIMATOR_AUTO == static_cast<int>(Estimator::Auto) &&
              NGVI_ESTIMATOR_PRICE == static_cast<int>(Estimator::Price) &&
              NGVI_ESTIMATOR_STEIN == static_cast<int>(Estimator::Stein) &&
              NGVI_ESTIMATOR_SCORE == static_cast<int>(Estimator::Score) &&
              NGVI_ESTIMATOR_QUADRATURE == static_cast<int>(Estimator::Quadrature));
static_assert(NGVI_RULE_IBLR == static_cast<int>(Rule::IBLR) && NGVI_RULE_BLR == static_cast<int>(Rule::BLR) &&
              NGVI_RULE_CHOLESKY_FACTOR == static_cast<int>(Rule::CholeskyFactor) &&
              NGVI_RULE_ADAM == static_cast<int>(Rule::Adam));
static_assert(NGVI_SCHEDULE_CONSTANT == static_cast<int>(Schedule::Constant) &&
              NGVI_SCHEDULE_ROBBINS_MONRO == static_cast<int>(Schedule::RobbinsMonro) &&
              NGVI_SCHEDULE_ADAPTIVE == static_cast<int>(Schedule::Adaptive));
static_assert(NGVI_BACKEND_AUTO == static_cast<int>(Backend::Auto) &&
              NGVI_BACKEND_CPU == static_cast<int>(Backend::Cpu) &&
              NGVI_BACKEND_CUDA == static_cast<int>(Backend::Cuda));
static_assert(NGVI_CONVERSION_OK == static_cast<int>(ConversionStatus::Ok) &&
              NGVI_CONVERSION_NON_FINITE == static_cast<int>(ConversionStatus::NonFinite) &&
              NGVI_CONVERSION_NOT_POSITIVE_DEFINITE == static_cast<int>(ConversionStatus::NotPositiveDefinite));
static_assert(NGVI_FIT_CONVERGED == static_cast<int>(Status::Converged) &&
              NGVI_FIT_STEP_BUDGET == static_cast<int>(Status::StepBudget) &&
              NGVI_FIT_RUNNING == static_cast<int>(Status::Running) &&
              NGVI_FIT_INVALID_DATA == static_cast<int>(Status::InvalidData) &&
              NGVI_FIT_INVALID_STATE == static_cast<int>(Status::InvalidState) &&
              NGVI_FIT_NON_FINITE_VALUE == static_cast<int>(Status::NonFiniteValue) &&
              NGVI_FIT_NON_FINITE_GRADIENT == static_cast<int>(Status::NonFiniteGradient) &&
              NGVI_FIT_NON_FINITE_HESSIAN == static_cast<int>(Status::NonFiniteHessian) &&
              NGVI_FIT_NOT_POSITIVE_DEFINITE == static_cast<int>(Status::NotPositiveDefinite) &&
              NGVI_FIT_MODEL_ERROR == static_cast<int>(Status::ModelError));
static_assert(NGVI_DERIVATIVES_VALUE == static_cast<int>(Derivatives::Value) &&
              NGVI_DERIVATIVES_GRADIENT == static_cast<int>(Derivatives::Gradient) &&
              NGVI_DERIVATIVES_HESSIAN == static_cast<int>(Derivatives::Hessian));
static_assert(NGVI_FIT_STATUS_COUNT == kStatusCount && kStatusCount <= NGVI_FIT_STATUS_CAPACITY);

}  // namespace

namespace {
std::mutex g_handles_mutex;
std::unordered_set<const void*> g_handles;
}  // namespace

void register_handle(const void* h) {
  std::lock_guard<std::mutex> lock(g_handles_mutex);
  g_handles.insert(h);
}

bool unregister_handle(const void* h) {
  std::lock_guard<std::mutex> lock(g_handles_mutex);
  return g_handles.erase(h) > 0;
}

bool is_registered(const void* h) {
  std::lock_guard<std::mutex> lock(g_handles_mutex);
  return g_handles.count(h) > 0;
}

ngvi_status record_error(ngvi_status status, const char* function, const char* message) noexcept {
  std::snprintf(t_last_error, sizeof t_last_error, "%s: %s", function, message);
  return status;
}

void clear_error() noexcept { t_last_error[0] = '\0'; }

std::string dtype_name(ngvi_dtype dtype) {
  switch (dtype) {
    case NGVI_FLOAT32: return "float32";
    case NGVI_FLOAT64: return "float64";
    case NGVI_INT32: return "int32";
    case NGVI_INT64: return "int64";
  }
  return fmt::format("{} (not an ngvi_dtype)", static_cast<int>(dtype));
}

Shape::Shape(const char* names, std::initializer_list<std::size_t> dims) : names_(names), rank_(dims.size()) {
  if (rank_ > dims_.size()) throw std::logic_error("ngvi::capi::Shape: rank above 4");
  std::copy(dims.begin(), dims.end(), dims_.begin());
}

std::size_t Shape::size() const {
  std::size_t n = 1;
  for (std::size_t k = 0; k < rank_; ++k)
    if (__builtin_mul_overflow(n, dims_[k], &n))
      throw CallError(NGVI_ERROR_SIZE, fmt::format("the shape {} has more elements than size_t holds", describe()));
  return n;
}

std::string Shape::describe() const {
  std::string values;
  for (std::size_t k = 0; k < rank_; ++k) values += fmt::format("{}{}", k ? ", " : "", dims_[k]);
  return fmt::format("{} = ({})", names_, values);
}

template <class Array>
void check_array(const Array& a, const char* name, ngvi_dtype dtype, const Shape& shape, bool optional) {
  const std::size_t expected = shape.size();
  if (absent(a)) {
    if (optional || expected == 0) return;
    throw CallError(NGVI_ERROR_NULL_POINTER, fmt::format("argument `{}` is absent (NULL), but the call needs {} "
                                                         "elements of shape {}",
                                                         name, expected, shape.describe()));
  }
  if (a.memory == NGVI_MEMORY_DEVICE)
    throw CallError(NGVI_ERROR_UNAVAILABLE,
                    fmt::format("argument `{}` is a device array (NGVI_MEMORY_DEVICE), but ngvi does not take "
                                "device arrays yet (its CUDA backend uploads host arrays): pass host memory",
                                name));
  if (a.memory != NGVI_MEMORY_HOST)
    throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                    fmt::format("argument `{}` has memory = {}, which is not an ngvi_memory", name,
                                static_cast<int>(a.memory)));
  if (a.dtype != dtype)
    throw CallError(NGVI_ERROR_DTYPE, fmt::format("argument `{}` has dtype {}, but the call needs {}", name,
                                                  dtype_name(a.dtype), dtype_name(dtype)));
  if (a.data == nullptr)
    throw CallError(NGVI_ERROR_NULL_POINTER, fmt::format("argument `{}` has data = NULL and size {}", name, a.size));
  if (a.size != expected)
    throw CallError(NGVI_ERROR_SIZE, fmt::format("argument `{}` has {} elements, but the call needs {}: shape {}", name,
                                                 a.size, expected, shape.describe()));
}

void require_float_dtype(ngvi_dtype dtype, const char* name) {
  if (dtype != NGVI_FLOAT32 && dtype != NGVI_FLOAT64)
    throw CallError(NGVI_ERROR_DTYPE,
                    fmt::format("{} is {}, but only float32 and float64 are supported", name, dtype_name(dtype)));
}

void require_struct_size(std::size_t struct_size, std::size_t expected, const char* name, const char* type) {
  if (struct_size != expected)
    throw CallError(NGVI_ERROR_STRUCT_SIZE,
                    fmt::format("{} = {}, but this library's {} has {} bytes", name, struct_size, type, expected));
}

void copy_text(const std::string& text, char* buffer, std::size_t buffer_size, std::size_t* length) {
  if (buffer == nullptr && buffer_size > 0)
    throw CallError(NGVI_ERROR_NULL_POINTER, fmt::format("argument `buffer` is NULL but buffer_size = {}", buffer_size));
  if (length) *length = text.size();
  if (buffer_size == 0) return;
  const std::size_t n = std::min(text.size(), buffer_size - 1);
  std::memcpy(buffer, text.data(), n);
  buffer[n] = '\0';
}

void require_dimension(std::int32_t dimension) {
  if (dimension < 1)
    throw CallError(NGVI_ERROR_INVALID_ARGUMENT, fmt::format("dimension = {} must be at least 1", dimension));
}

void require_batch_size(std::size_t batch_size, std::int32_t dimension, std::size_t scalar_bytes, const char* name) {
  const std::size_t d = static_cast<std::size_t>(dimension);  // d^2 < 2^62: no overflow
  constexpr auto kMaxBytes = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
  std::size_t entries = 0;
  if (__builtin_mul_overflow(batch_size, d * d, &entries) || entries > kMaxBytes / scalar_bytes)
    throw CallError(NGVI_ERROR_SIZE, fmt::format("{} = {} with dimension = {}: the batch's B d^2 matrix entries are "
                                                 "more elements than size_t holds or than {}-byte scalars can address "
                                                 "(is {} a negative number?)",
                                                 name, batch_size, dimension, scalar_bytes, name));
}

std::size_t plus_one(std::size_t n, const char* name) {
  if (n == std::numeric_limits<std::size_t>::max())
    throw CallError(NGVI_ERROR_SIZE, fmt::format("{} = {}: {} + 1 does not fit in size_t", name, n, name));
  return n + 1;
}

template void check_array(const ngvi_input_array&, const char*, ngvi_dtype, const Shape&, bool);
template void check_array(const ngvi_output_array&, const char*, ngvi_dtype, const Shape&, bool);

}  // namespace ngvi::capi

extern "C" {

const char* ngvi_last_error(void) { return ngvi::capi::t_last_error; }

const char* ngvi_status_name(ngvi_status status) {
  switch (status) {
    case NGVI_OK: return "ok";
    case NGVI_ERROR_INVALID_HANDLE: return "invalid_handle";
    case NGVI_ERROR_NULL_POINTER: return "null_pointer";
    case NGVI_ERROR_STRUCT_SIZE: return "struct_size";
    case NGVI_ERROR_SIZE: return "size";
    case NGVI_ERROR_DTYPE: return "dtype";
    case NGVI_ERROR_INVALID_ARGUMENT: return "invalid_argument";
    case NGVI_ERROR_UNAVAILABLE: return "unavailable";
    case NGVI_ERROR_OUT_OF_MEMORY: return "out_of_memory";
    case NGVI_ERROR_INTERNAL: return "internal";
    case NGVI_ERROR_INVALID_OPERATION: return "invalid_operation";
    case NGVI_ERROR_FILE: return "file";
  }
  return "unknown";
}

const char* ngvi_version(void) { return NGVI_VERSION_STRING; }

ngvi_status ngvi_backend_available(ngvi_backend backend) {
  return ngvi::capi::guarded("ngvi_backend_available", [&](const char*) {
    using ngvi::capi::CallError;
    if (backend != NGVI_BACKEND_AUTO && backend != NGVI_BACKEND_CPU && backend != NGVI_BACKEND_CUDA)
      throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                      fmt::format("backend = {} is not an ngvi_backend", static_cast<int>(backend)));
    std::string why;
    if (!ngvi::backend_available(static_cast<ngvi::Backend>(backend), &why))
      throw CallError(NGVI_ERROR_UNAVAILABLE, why);
  });
}

const char* ngvi_fit_status_name(int32_t status) {
  return status >= 0 && status < ngvi::kStatusCount ? ngvi::status_name(static_cast<ngvi::Status>(status)) : "unknown";
}

const char* ngvi_fit_status_message(int32_t status) {
  return status >= 0 && status < ngvi::kStatusCount ? ngvi::status_message(static_cast<ngvi::Status>(status))
                                                     : "unknown status";
}

const char* ngvi_conversion_status_name(int32_t status) {
  return ngvi::conversion_status_name(static_cast<ngvi::ConversionStatus>(status));  // "unknown" if out of range
}

}  // extern "C"
