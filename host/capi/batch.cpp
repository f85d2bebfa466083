// The C ABI of batches of Gaussians: ngvi_batch_* and ngvi_convert over ngvi::GaussianBatch.
#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "guard.hpp"
#include "handles.hpp"
#include "ngvi/ngvi.h"

using namespace ngvi::capi;
using ngvi::ConversionStatus;
using ngvi::GaussianBatch;

namespace {

// Names of the two arrays of a parameterization, for messages; throws for an unknown one.
struct ParameterNames {
  const char* first;
  const char* second;
};

ParameterNames parameter_names(ngvi_parameters which, const char* argument) {
  switch (which) {
    case NGVI_MOMENTS: return {"mean", "covariance"};
    case NGVI_PRECISION: return {"mean", "precision"};
    case NGVI_PRECISION_CHOLESKY: return {"mean", "precision_cholesky"};
    case NGVI_NATURAL: return {"eta1", "eta2"};
    case NGVI_EXPECTATION: return {"m1", "m2"};
  }
  throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                  fmt::format("{} = {} is not an ngvi_parameters", argument, static_cast<int>(which)));
}

// The shape of the second array of every parameterization: (B, d, d) for the full family, (B, d)
// (the diagonals) for the diagonal one; throws for an unknown family.
Shape matrix_shape(std::size_t batch_size, std::int32_t dimension, ngvi_family family) {
  const std::size_t d = static_cast<std::size_t>(dimension);
  switch (family) {
    case NGVI_FAMILY_FULL: return Shape("(B, d, d)", {batch_size, d, d});
    case NGVI_FAMILY_DIAGONAL: return Shape("(B, d)", {batch_size, d});
  }
  throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                  fmt::format("family = {} is not an ngvi_family", static_cast<int>(family)));
}

// The shapes of the two arrays of every parameterization: (B, d) and the matrix shape.
struct ParameterShapes {
  Shape first, second;
  ParameterShapes(std::size_t batch_size, std::int32_t dimension, ngvi_family family)
      : first("(B, d)", {batch_size, static_cast<std::size_t>(dimension)}),
        second(matrix_shape(batch_size, dimension, family)) {}
};

template <class T>
ParameterShapes shapes_of(const GaussianBatch<T>& q) {
  return ParameterShapes(q.size(), q.dimension(), static_cast<ngvi_family>(q.family()));
}

// "first (mean)"
std::string argument_name(const char* argument, const char* parameter) {
  return fmt::format("{} ({})", argument, parameter);
}

template <class T>
std::vector<ConversionStatus> set_parameters(GaussianBatch<T>& q, ngvi_parameters which, const T* first,
                                             const T* second) {
  switch (which) {
    case NGVI_MOMENTS: return q.set_moments(first, second);
    case NGVI_PRECISION: return q.set_precision(first, second);
    case NGVI_PRECISION_CHOLESKY: return q.set_precision_cholesky(first, second);
    case NGVI_NATURAL: return q.set_natural(first, second);
    case NGVI_EXPECTATION: return q.set_expectation(first, second);
  }
  return {};  // unreachable: `which` was checked by parameter_names
}

// Writes the parameters `which` of every distribution; a null output is skipped.
template <class T>
void get_parameters(const GaussianBatch<T>& q, ngvi_parameters which, T* first, T* second) {
  const std::size_t vectors = q.size() * static_cast<std::size_t>(q.dimension());
  const std::size_t matrices = q.size() * q.matrix_size();
  switch (which) {
    case NGVI_MOMENTS:
    case NGVI_PRECISION:
    case NGVI_PRECISION_CHOLESKY:
      if (first) std::copy(q.mean(), q.mean() + vectors, first);
      if (second && which == NGVI_MOMENTS) q.covariance(second);
      if (second && which == NGVI_PRECISION) q.precision(second);
      if (second && which == NGVI_PRECISION_CHOLESKY)
        std::copy(q.precision_cholesky(), q.precision_cholesky() + matrices, second);
      return;
    case NGVI_NATURAL:
    case NGVI_EXPECTATION: {
      // Both halves come from one computation: a skipped output goes to scratch.
      std::vector<T> scratch(first ? 0 : vectors);
      std::vector<T> scratch2(second ? 0 : matrices);
      T* a = first ? first : scratch.data();
      T* c = second ? second : scratch2.data();
      if (which == NGVI_NATURAL) q.natural(a, c);
      else q.expectation(a, c);
      return;
    }
  }
}

void copy_statuses(const std::vector<ConversionStatus>& statuses, std::int32_t* out) {
  if (out)
    std::transform(statuses.begin(), statuses.end(), out,
                   [](ConversionStatus s) { return static_cast<std::int32_t>(s); });
}

}  // namespace

ngvi_batch& ngvi::capi::changeable(ngvi_batch* h, const char* name) {
  ngvi_batch& batch = live(h, name);
  if (batch.in_optimizer)
    throw CallError(NGVI_ERROR_INVALID_OPERATION,
                    fmt::format("argument `{}` is being fitted by an ngvi_optimizer: it can be read, not changed, "
                                "until ngvi_optimizer_destroy",
                                name));
  return batch;
}

extern "C" {

ngvi_status ngvi_batch_create(ngvi_batch** batch, size_t batch_size, int32_t dimension, ngvi_family family,
                              ngvi_dtype dtype) {
  return guarded("ngvi_batch_create", [&](const char*) {
    require_pointer(batch, "batch");
    *batch = nullptr;
    require_float_dtype(dtype, "dtype");
    require_dimension(dimension);
    matrix_shape(batch_size, dimension, family);  // refuses an unknown family
    require_batch_size(batch_size, dimension, dtype == NGVI_FLOAT32 ? 4 : 8, "batch_size");
    const auto f = static_cast<ngvi::Family>(family);
    *batch = hand_out(
        dtype == NGVI_FLOAT32
            ? std::make_unique<ngvi_batch>(ngvi_batch{HandleKind::Batch, GaussianBatch<float>(batch_size, dimension, f)})
            : std::make_unique<ngvi_batch>(ngvi_batch{HandleKind::Batch, GaussianBatch<double>(batch_size, dimension, f)}));
  });
}

ngvi_status ngvi_batch_destroy(ngvi_batch* batch) {
  return guarded("ngvi_batch_destroy", [&](const char*) {
    if (batch) changeable(batch, "batch");
    destroy(batch, "batch");
  });
}

ngvi_status ngvi_batch_shape(const ngvi_batch* batch, size_t* batch_size, int32_t* dimension, ngvi_family* family,
                             ngvi_dtype* dtype) {
  return guarded("ngvi_batch_shape", [&](const char*) {
    std::visit(
        [&](const auto& q) {
          if (batch_size) *batch_size = q.size();
          if (dimension) *dimension = q.dimension();
          if (family) *family = static_cast<ngvi_family>(q.family());
          if (dtype) *dtype = dtype_of<scalar_t<decltype(q)>>();
        },
        live(batch, "batch").batch);
  });
}

ngvi_status ngvi_batch_set(ngvi_batch* batch, ngvi_parameters which, ngvi_input_array first, ngvi_input_array second,
                           ngvi_output_array conversion_status) {
  return guarded("ngvi_batch_set", [&](const char*) {
    auto& handle = changeable(batch, "batch");
    const ParameterNames names = parameter_names(which, "which");
    std::visit(
        [&](auto& q) {
          using T = scalar_t<decltype(q)>;
          const ParameterShapes shapes = shapes_of(q);
          const T* a = input<T>(first, argument_name("first", names.first).c_str(), shapes.first);
          const T* c = input<T>(second, argument_name("second", names.second).c_str(), shapes.second);
          std::int32_t* statuses =
              output<std::int32_t>(conversion_status, "conversion_status", Shape("(B)", {q.size()}), true);
          copy_statuses(set_parameters(q, which, a, c), statuses);
        },
        handle.batch);
  });
}

ngvi_status ngvi_batch_get(const ngvi_batch* batch, ngvi_parameters which, ngvi_output_array first,
                           ngvi_output_array second) {
  return guarded("ngvi_batch_get", [&](const char*) {
    const auto& handle = live(batch, "batch");
    const ParameterNames names = parameter_names(which, "which");
    if (absent(first) && absent(second))
      throw CallError(NGVI_ERROR_NULL_POINTER, "arguments `first` and `second` are both absent: nothing to write");
    std::visit(
        [&](const auto& q) {
          using T = scalar_t<decltype(q)>;
          const ParameterShapes shapes = shapes_of(q);
          T* a = output<T>(first, argument_name("first", names.first).c_str(), shapes.first, true);
          T* c = output<T>(second, argument_name("second", names.second).c_str(), shapes.second, true);
          get_parameters(q, which, a, c);
        },
        handle.batch);
  });
}

ngvi_status ngvi_batch_entropy(const ngvi_batch* batch, ngvi_output_array entropy) {
  return guarded("ngvi_batch_entropy", [&](const char*) {
    std::visit(
        [&](const auto& q) {
          using T = scalar_t<decltype(q)>;
          q.entropy(output<T>(entropy, "entropy", Shape("(B)", {q.size()})));
        },
        live(batch, "batch").batch);
  });
}

ngvi_status ngvi_batch_kl_divergence(const ngvi_batch* batch, const ngvi_batch* other, ngvi_output_array kl) {
  return guarded("ngvi_batch_kl_divergence", [&](const char*) {
    const auto& p = live(batch, "batch");
    const auto& q = live(other, "other");
    if (p.batch.index() != q.batch.index())
      throw CallError(NGVI_ERROR_DTYPE, "arguments `batch` and `other` have different dtypes");
    std::visit(
        [&](const auto& a) {
          using T = scalar_t<decltype(a)>;
          const auto& b = std::get<GaussianBatch<T>>(q.batch);
          if (a.size() != b.size() || a.dimension() != b.dimension() || a.family() != b.family())
            throw CallError(NGVI_ERROR_SIZE,
                            fmt::format("argument `other` has (B, d, family) = ({}, {}, {}) but `batch` has "
                                        "({}, {}, {})",
                                        b.size(), b.dimension(), static_cast<int>(b.family()), a.size(),
                                        a.dimension(), static_cast<int>(a.family())));
          a.kl_divergence(b, output<T>(kl, "kl", Shape("(B)", {a.size()})));
        },
        p.batch);
  });
}

ngvi_status ngvi_batch_sample(const ngvi_batch* batch, uint64_t seed, uint32_t step, int32_t num_samples,
                              int32_t antithetic, ngvi_output_array samples) {
  return guarded("ngvi_batch_sample", [&](const char*) {
    const auto& handle = live(batch, "batch");
    if (num_samples < 1)
      throw CallError(NGVI_ERROR_INVALID_ARGUMENT, fmt::format("num_samples = {} must be at least 1", num_samples));
    const bool pairs = to_bool(antithetic, "antithetic");
    std::visit(
        [&](const auto& q) {
          using T = scalar_t<decltype(q)>;
          const Shape shape("(B, S, d)", {q.size(), static_cast<std::size_t>(num_samples),
                                          static_cast<std::size_t>(q.dimension())});
          q.sample(seed, step, num_samples, output<T>(samples, "samples", shape), pairs);
        },
        handle.batch);
  });
}

ngvi_status ngvi_convert(ngvi_family family, size_t batch_size, int32_t dimension, ngvi_parameters from,
                         ngvi_input_array from_first, ngvi_input_array from_second, ngvi_parameters to,
                         ngvi_output_array to_first, ngvi_output_array to_second,
                         ngvi_output_array conversion_status) {
  return guarded("ngvi_convert", [&](const char*) {
    require_dimension(dimension);
    const ParameterShapes shapes(batch_size, dimension, family);
    const ParameterNames in = parameter_names(from, "from");
    const ParameterNames out = parameter_names(to, "to");
    if (absent(to_first) && absent(to_second))
      throw CallError(NGVI_ERROR_NULL_POINTER,
                      "arguments `to_first` and `to_second` are both absent: nothing to write");
    // The inputs' dtype decides T; an absent from_first is reported by input<T> below.
    const ngvi_dtype dtype = absent(from_first) ? NGVI_FLOAT64 : from_first.dtype;
    require_float_dtype(dtype, "from_first.dtype");
    require_batch_size(batch_size, dimension, dtype == NGVI_FLOAT32 ? 4 : 8, "batch_size");
    auto convert = [&](auto scalar) {
      using T = decltype(scalar);
      const T* a = input<T>(from_first, argument_name("from_first", in.first).c_str(), shapes.first);
      const T* c = input<T>(from_second, argument_name("from_second", in.second).c_str(), shapes.second);
      T* x = output<T>(to_first, argument_name("to_first", out.first).c_str(), shapes.first, true);
      T* y = output<T>(to_second, argument_name("to_second", out.second).c_str(), shapes.second, true);
      std::int32_t* s =
          output<std::int32_t>(conversion_status, "conversion_status", Shape("(B)", {batch_size}), true);
      GaussianBatch<T> q(batch_size, dimension, static_cast<ngvi::Family>(family));
      const std::vector<ConversionStatus> statuses = set_parameters(q, from, a, c);
      get_parameters(q, to, x, y);
      // A distribution that did not convert still holds N(0, I): its outputs must not pass for results.
      const std::size_t d = static_cast<std::size_t>(dimension), m = q.matrix_size();
      for (std::size_t b = 0; b < batch_size; ++b) {
        if (statuses[b] == ConversionStatus::Ok) continue;
        if (x) std::fill(x + b * d, x + (b + 1) * d, std::numeric_limits<T>::quiet_NaN());
        if (y) std::fill(y + b * m, y + (b + 1) * m, std::numeric_limits<T>::quiet_NaN());
      }
      copy_statuses(statuses, s);
    };
    if (dtype == NGVI_FLOAT32) convert(float());
    else convert(double());
  });
}

}  // extern "C"
