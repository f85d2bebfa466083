// The C ABI of the built-in models: ngvi_model_* over ngvi::GeneralizedLinearModel and
// ngvi::QuadraticModel. A model handle owns copies of the caller's arrays, which its C++ model views.
#include <algorithm>
#include <memory>
#include <vector>

#include "arguments.hpp"
#include "guard.hpp"
#include "handles.hpp"
#include "ngvi/data.hpp"
#include "ngvi/models.hpp"
#include "ngvi/ngvi.h"
#include "ngvi/prior.hpp"
#include "prior.hpp"

using namespace ngvi::capi;
using ngvi::Prior;

namespace ngvi::capi {
namespace {

template <class T>
std::vector<T> copy_of(const T* data, std::size_t size) {
  return data ? std::vector<T>(data, data + size) : std::vector<T>();
}

}  // namespace

template <class T>
Prior<T> make_prior(const ngvi_prior* prior, std::size_t B, std::int32_t dimension, Prior<T> fallback) {
  if (prior == nullptr) return fallback;
  if (prior->struct_size != sizeof(ngvi_prior))
    throw CallError(NGVI_ERROR_STRUCT_SIZE, fmt::format("prior->struct_size = {}, but this library's ngvi_prior has "
                                                        "{} bytes: fill it with ngvi_prior_init",
                                                        prior->struct_size, sizeof(ngvi_prior)));
  const std::size_t d = static_cast<std::size_t>(dimension);
  auto mean = [&] {
    const T* m = input_one_of<T>(prior->mean, "prior->mean", {Shape("(d)", {d}), Shape("(B, d)", {B, d})}, true);
    return copy_of(m, prior->mean.size);
  };
  switch (prior->kind) {
    case NGVI_PRIOR_NONE:
      if (!absent(prior->precision) || !absent(prior->mean))
        throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                        "prior->kind = NGVI_PRIOR_NONE, but prior->precision or prior->mean is given");
      return Prior<T>::none();
    case NGVI_PRIOR_ISOTROPIC: {
      const T* p = input_one_of<T>(prior->precision, "prior->precision", {Shape("(1)", {1}), Shape("(B)", {B})}, true);
      std::vector<T> precisions = p ? copy_of(p, prior->precision.size) : std::vector<T>{T(1)};
      return Prior<T>::isotropic(std::move(precisions), mean());
    }
    case NGVI_PRIOR_FULL: {
      const T* p = input_one_of<T>(prior->precision, "prior->precision",
                                   {Shape("(d, d)", {d, d}), Shape("(B, d, d)", {B, d, d})}, false);
      return Prior<T>::full(dimension, copy_of(p, prior->precision.size), mean());
    }
  }
  throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                  fmt::format("prior->kind = {} is not an ngvi_prior_kind", static_cast<int>(prior->kind)));
}

template Prior<float> make_prior(const ngvi_prior*, std::size_t, std::int32_t, Prior<float>);
template Prior<double> make_prior(const ngvi_prior*, std::size_t, std::int32_t, Prior<double>);

}  // namespace ngvi::capi

namespace {

// A new model handle of scalar T; `build(owned)` fills the copies and creates the C++ model.
template <class T, class Build>
ngvi_model* new_model(Build&& build) {
  auto handle = std::make_unique<ngvi_model>(ngvi_model{HandleKind::Model, OwnedModel<T>()});
  build(std::get<OwnedModel<T>>(handle->model));
  return hand_out(std::move(handle));
}

template <class T>
void build_glm(OwnedModel<T>& owned, ngvi_likelihood likelihood, std::size_t B, std::int32_t dimension,
               std::size_t rows_per_problem, const ngvi_input_array& x, const ngvi_input_array& y,
               const ngvi_input_array& offsets, const ngvi_prior* prior, double noise_sd) {
  const std::size_t d = static_cast<std::size_t>(dimension);
  const std::int64_t* row_offsets = input<std::int64_t>(offsets, "offsets", Shape("(B + 1)", {plus_one(B, "num_problems")}), true);
  if (row_offsets && rows_per_problem != 0)
    throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                    fmt::format("rows_per_problem = {} must be 0 when `offsets` gives ragged rows", rows_per_problem));
  if (row_offsets && row_offsets[B] < 0)
    throw CallError(NGVI_ERROR_INVALID_ARGUMENT, fmt::format("offsets[B] = {} is negative", row_offsets[B]));
  const std::size_t ragged_rows = row_offsets ? static_cast<std::size_t>(row_offsets[B]) : 0;
  const Shape x_shape =
      row_offsets ? Shape("(offsets[B], d)", {ragged_rows, d}) : Shape("(B, N, d)", {B, rows_per_problem, d});
  const Shape y_shape = row_offsets ? Shape("(offsets[B])", {ragged_rows}) : Shape("(B, N)", {B, rows_per_problem});
  const std::size_t rows = y_shape.size();
  const T* xs = input<T>(x, "x", x_shape);
  const T* ys = input<T>(y, "y", y_shape);
  Prior<T> p = make_prior<T>(prior, B, dimension, Prior<T>::isotropic(T(1)));

  owned.values = copy_of(xs, rows * d);
  owned.values.insert(owned.values.end(), ys, ys + rows);
  owned.offsets = copy_of(row_offsets, row_offsets ? B + 1 : 0);
  const T* x_copy = owned.values.data();
  const T* y_copy = x_copy + rows * d;
  const auto data = row_offsets
                        ? ngvi::RegressionData<T>::ragged(x_copy, y_copy, owned.offsets.data(), B, dimension)
                        : ngvi::RegressionData<T>::dense(x_copy, y_copy, B, rows_per_problem, dimension);
  owned.model = std::make_unique<ngvi::GeneralizedLinearModel<T>>(static_cast<ngvi::Likelihood>(likelihood), data,
                                                                   std::move(p), static_cast<T>(noise_sd));
}

template <class T>
void build_quadratic(OwnedModel<T>& owned, std::size_t B, std::int32_t dimension, const ngvi_input_array& centers,
                     const ngvi_input_array& curvatures, const ngvi_prior* prior) {
  const std::size_t d = static_cast<std::size_t>(dimension);
  const T* a = input<T>(centers, "centers", Shape("(B, d)", {B, d}));
  std::size_t per_problem = 0;
  const T* A = input_one_of<T>(curvatures, "curvatures", {Shape("(d, d)", {d, d}), Shape("(B, d, d)", {B, d, d})},
                               false, &per_problem);
  Prior<T> p = make_prior<T>(prior, B, dimension, Prior<T>::none());
  owned.values = copy_of(a, B * d);
  owned.values.insert(owned.values.end(), A, A + curvatures.size);
  const T* a_copy = owned.values.data();
  owned.model = std::make_unique<ngvi::QuadraticModel<T>>(B, dimension, a_copy, a_copy + B * d, per_problem == 0,
                                                          std::move(p));
}

}  // namespace

extern "C" {

ngvi_status ngvi_prior_defaults(ngvi_prior* prior, size_t struct_size) {
  return guarded("ngvi_prior_defaults", [&](const char*) {
    require_pointer(prior, "prior");
    if (struct_size != sizeof(ngvi_prior))
      throw CallError(NGVI_ERROR_STRUCT_SIZE, fmt::format("struct_size = {}, but this library's ngvi_prior has {} "
                                                          "bytes",
                                                          struct_size, sizeof(ngvi_prior)));
    *prior = ngvi_prior{};
    prior->struct_size = struct_size;
    prior->kind = NGVI_PRIOR_ISOTROPIC;
  });
}

ngvi_status ngvi_model_create_glm(ngvi_model** model, ngvi_likelihood likelihood, size_t num_problems,
                                  int32_t dimension, size_t rows_per_problem, ngvi_input_array x, ngvi_input_array y,
                                  ngvi_input_array offsets, const ngvi_prior* prior, double noise_sd) {
  return guarded("ngvi_model_create_glm", [&](const char*) {
    require_pointer(model, "model");
    *model = nullptr;
    if (likelihood < NGVI_LINEAR || likelihood > NGVI_PROBIT)
      throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                      fmt::format("likelihood = {} is not an ngvi_likelihood", static_cast<int>(likelihood)));
    require_dimension(dimension);
    const ngvi_dtype dtype = absent(x) ? NGVI_FLOAT64 : x.dtype;  // an absent x is reported by the shape check
    require_float_dtype(dtype, "x.dtype");
    require_batch_size(num_problems, dimension, dtype == NGVI_FLOAT32 ? 4 : 8, "num_problems");
    auto build = [&](auto& owned) {
      build_glm(owned, likelihood, num_problems, dimension, rows_per_problem, x, y, offsets, prior, noise_sd);
    };
    *model = dtype == NGVI_FLOAT32 ? new_model<float>(build) : new_model<double>(build);
  });
}

ngvi_status ngvi_model_create_quadratic(ngvi_model** model, size_t num_problems, int32_t dimension,
                                        ngvi_input_array centers, ngvi_input_array curvatures,
                                        const ngvi_prior* prior) {
  return guarded("ngvi_model_create_quadratic", [&](const char*) {
    require_pointer(model, "model");
    *model = nullptr;
    require_dimension(dimension);
    const ngvi_dtype dtype = absent(centers) ? NGVI_FLOAT64 : centers.dtype;
    require_float_dtype(dtype, "centers.dtype");
    require_batch_size(num_problems, dimension, dtype == NGVI_FLOAT32 ? 4 : 8, "num_problems");
    auto build = [&](auto& owned) { build_quadratic(owned, num_problems, dimension, centers, curvatures, prior); };
    *model = dtype == NGVI_FLOAT32 ? new_model<float>(build) : new_model<double>(build);
  });
}

ngvi_status ngvi_model_destroy(ngvi_model* model) {
  return guarded("ngvi_model_destroy", [&](const char*) { destroy(model, "model"); });
}

ngvi_status ngvi_model_shape(const ngvi_model* model, size_t* num_problems, int32_t* dimension, ngvi_dtype* dtype) {
  return guarded("ngvi_model_shape", [&](const char*) {
    std::visit(
        [&](const auto& owned) {
          if (num_problems) *num_problems = owned.model->num_problems();
          if (dimension) *dimension = owned.model->dimension();
          if (dtype) *dtype = dtype_of<scalar_t<decltype(owned)>>();
        },
        live(model, "model").model);
  });
}

}  // extern "C"
