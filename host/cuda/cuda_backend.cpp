// The CUDA backend's host side: which device, how the batch is cut into chunks that fit in device
// memory, and the loop of steps, which mirrors run_cpu.
//
// A chunk is a range of distributions whose state, bookkeeping, data and prior are uploaded
// together. When the whole batch fits (the usual case) there is one chunk, resident on the device
// for the whole fit: only a few bytes of progress come back per step. Otherwise two runners, each
// with its own stream and buffers, take the chunks in turn, so that one chunk's copies overlap the
// other's steps. A fit sharded across several devices (the scheduler) runs one range of the batch
// per device, each on a thread of its own with its own chunks and runners. Without a progress callback or an ELBO trace a chunk runs all its steps at once;
// with them, every chunk takes one step per sweep so that the callback sees every step of the batch.
//
// A Monte Carlo fit's convergence monitor (engine/convergence.hpp) runs on the host, as on the CPU
// backend: after each step the runner brings back the chunk's state and what the step estimated,
// the monitor decides, and the statuses and each distribution's next rho go back to the device. Its
// final phase (the average, the ELBO and the diagnostics) is the CPU backend's, which the scheduler
// runs after this backend (finish_on_cpu).
#include "cuda/cuda_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <future>
#include <limits>
#include <memory>
#include <numeric>
#include <thread>
#include <type_traits>
#include <vector>

#include <cuda_runtime_api.h>

#include "cuda/batched.hpp"
#include "cuda/device.hpp"
#include "cuda/error.hpp"
#include "cuda/kernels.hpp"
#include "cuda/memory.hpp"
#include "engine/sharding.hpp"
#include "ngvi/model_with_prior.hpp"
#include "ngvi/models.hpp"

namespace ngvi::detail {

CudaTuning& cuda_tuning() {
  static CudaTuning tuning;
  return tuning;
}

namespace {

using gpu::DeviceBuffer;

// The model whose data the device reads: a ModelWithPrior (fit_pooled, fit_online_round) is its
// wrapped model's data under another prior, which the fit takes from the outer model.
template <class T>
const Model<T>& data_model(const Model<T>& model) {
  if (const auto* view = dynamic_cast<const ModelWithPrior<T>*>(&model)) return data_model(view->model());
  return model;
}

template <class T>
const GeneralizedLinearModel<T>* as_glm(const Model<T>& model) {
  return dynamic_cast<const GeneralizedLinearModel<T>*>(&model);
}

template <class T>
const QuadraticModel<T>* as_quadratic(const Model<T>& model) {
  return dynamic_cast<const QuadraticModel<T>*>(&model);
}

/// Distributions [first, first + count) of the batch; `rows` of data (GLMs) start at row `first_row`.
struct Chunk {
  std::size_t first = 0, count = 0;
  std::size_t first_row = 0, rows = 0;
};

// ---------------------------------------------------------------- a model's data on the device

template <class HostModel>
class ModelBuffers;

/// GLM rows, one chunk at a time.
template <class T>
class ModelBuffers<GeneralizedLinearModel<T>> {
 public:
  using View = gpu::DeviceGlm<T>;

  static std::size_t problem_bytes(const GeneralizedLinearModel<T>& model, std::size_t b) {
    const std::size_t d = static_cast<std::size_t>(model.dimension());
    return model.data().rows(b) * (d + 1) * sizeof(T) + sizeof(std::int64_t) + sizeof(T);
  }
  static std::size_t shared_bytes(const GeneralizedLinearModel<T>&) { return 0; }
  static std::size_t first_row(const GeneralizedLinearModel<T>& model, std::size_t b) { return model.data().begin(b); }

  ModelBuffers(const GeneralizedLinearModel<T>& model, const Options& options, std::size_t capacity,
               std::size_t row_capacity, cudaStream_t)
      : model_(model),
        x_(row_capacity * model.dimension()),
        y_(row_capacity),
        offsets_(model.data().offsets ? capacity + 1 : 0),
        constants_(capacity) {
    view_.likelihood = model.likelihood();
    view_.inv_variance = T(1) / (model.noise_sd() * model.noise_sd());
    view_.d = model.dimension();
    view_.rows_per_problem = model.data().rows_per_problem;
    view_.minibatch_rows = options.minibatch_rows;
    view_.x = x_.data();
    view_.y = y_.data();
    view_.offsets = model.data().offsets ? offsets_.data() : nullptr;
    view_.constants = constants_.data();
  }

  const View& upload(const Chunk& c, cudaStream_t stream) {
    const RegressionData<T>& data = model_.data();
    const std::size_t d = static_cast<std::size_t>(data.dimension);
    gpu::copy_to_device(x_.data(), data.x + c.first_row * d, c.rows * d, stream);
    gpu::copy_to_device(y_.data(), data.y + c.first_row, c.rows, stream);
    if (data.offsets) {
      std::vector<std::int64_t> offsets(c.count + 1);
      for (std::size_t k = 0; k <= c.count; ++k) offsets[k] = data.offsets[c.first + k] - data.offsets[c.first];
      gpu::copy_to_device(offsets_.data(), offsets.data(), offsets.size(), stream);
    }
    std::vector<T> constants(c.count);
    for (std::size_t k = 0; k < c.count; ++k) constants[k] = model_.value_constant(c.first + k);
    gpu::copy_to_device(constants_.data(), constants.data(), constants.size(), stream);
    return view_;
  }

 private:
  const GeneralizedLinearModel<T>& model_;
  DeviceBuffer<T> x_, y_;
  DeviceBuffer<std::int64_t> offsets_;
  DeviceBuffer<T> constants_;
  View view_;
};

/// Quadratic centers and curvatures; a shared curvature is uploaded once.
template <class T>
class ModelBuffers<QuadraticModel<T>> {
 public:
  using View = gpu::DeviceQuadratic<T>;

  static std::size_t problem_bytes(const QuadraticModel<T>& model, std::size_t) {
    const std::size_t d = static_cast<std::size_t>(model.dimension());
    return (d + (model.shared_curvature() ? 0 : d * d)) * sizeof(T);
  }
  static std::size_t shared_bytes(const QuadraticModel<T>& model) {
    const std::size_t d = static_cast<std::size_t>(model.dimension());
    return model.shared_curvature() ? d * d * sizeof(T) : 0;
  }
  static std::size_t first_row(const QuadraticModel<T>&, std::size_t) { return 0; }

  ModelBuffers(const QuadraticModel<T>& model, const Options&, std::size_t capacity, std::size_t, cudaStream_t stream)
      : model_(model),
        centers_(capacity * model.dimension()),
        curvatures_((model.shared_curvature() ? 1 : capacity) * model.dimension() * model.dimension()) {
    view_.d = model.dimension();
    view_.centers = centers_.data();
    view_.curvatures = curvatures_.data();
    view_.shared = model.shared_curvature();
    if (view_.shared) gpu::copy_to_device(curvatures_.data(), model.curvatures(), curvatures_.size(), stream);
  }

  const View& upload(const Chunk& c, cudaStream_t stream) {
    const std::size_t d = static_cast<std::size_t>(model_.dimension());
    gpu::copy_to_device(centers_.data(), model_.centers() + c.first * d, c.count * d, stream);
    if (!view_.shared)
      gpu::copy_to_device(curvatures_.data(), model_.curvatures() + c.first * d * d, c.count * d * d, stream);
    return view_;
  }

 private:
  const QuadraticModel<T>& model_;
  DeviceBuffer<T> centers_, curvatures_;
  View view_;
};

// ---------------------------------------------------------------- the prior on the device

/// One part of a Prior (precision, factor or mean): shared by all problems, or one per problem.
/// Prior keeps each part in one array, so a part is per problem exactly when its views of problems
/// 0 and 1 differ.
template <class T>
struct PriorPart {
  const T* host = nullptr;  // problem 0's
  std::size_t size = 0;     // entries per problem
  bool per_problem = false;

  PriorPart(const T* first, const T* second, std::size_t part_size, std::size_t problems)
      : host(first), size(first ? part_size : 0), per_problem(first && problems > 1 && first != second) {}
  std::size_t device_entries(std::size_t capacity) const { return per_problem ? capacity * size : size; }
  std::size_t stride() const { return per_problem ? size : 0; }
};

template <class T>
class PriorBuffers {
 public:
  static std::size_t problem_bytes(const Prior<T>& prior, std::size_t problems, int d) {
    std::size_t entries = 1;  // log det
    for (const PriorPart<T>& part : parts(prior, problems, d))
      if (part.per_problem) entries += part.size;
    return entries * sizeof(T);
  }
  static std::size_t shared_bytes(const Prior<T>& prior, std::size_t problems, int d) {
    std::size_t entries = 0;
    for (const PriorPart<T>& part : parts(prior, problems, d))
      if (!part.per_problem) entries += part.size;
    return entries * sizeof(T);
  }

  PriorBuffers(const Prior<T>& prior, std::size_t problems, int d, std::size_t capacity, cudaStream_t stream)
      : prior_(prior), d_(d), parts_(parts(prior, problems, d)), log_det_(capacity) {
    view_.kind = prior.kind() == Prior<T>::Kind::None        ? math::PriorKind::None
                 : prior.kind() == Prior<T>::Kind::Isotropic ? math::PriorKind::Isotropic
                                                            : math::PriorKind::Full;
    const T** device_parts[3] = {&view_.precision, &view_.factor, &view_.mean};
    std::size_t* strides[3] = {&view_.precision_stride, &view_.factor_stride, &view_.mean_stride};
    for (int k = 0; k < 3; ++k) {
      buffers_[k] = DeviceBuffer<T>(parts_[k].device_entries(capacity));
      *device_parts[k] = parts_[k].host ? buffers_[k].data() : nullptr;
      *strides[k] = parts_[k].stride();
      if (parts_[k].host && !parts_[k].per_problem)
        gpu::copy_to_device(buffers_[k].data(), parts_[k].host, parts_[k].size, stream);
    }
    view_.log_det = log_det_.data();
  }

  const gpu::DevicePrior<T>& upload(const Chunk& c, cudaStream_t stream) {
    if (view_.kind == math::PriorKind::None) return view_;
    for (int k = 0; k < 3; ++k)
      if (parts_[k].per_problem)
        gpu::copy_to_device(buffers_[k].data(), parts_[k].host + c.first * parts_[k].size, c.count * parts_[k].size,
                            stream);
    std::vector<T> log_det(c.count);
    for (std::size_t k = 0; k < c.count; ++k) log_det[k] = prior_.log_det_precision(c.first + k, d_);
    gpu::copy_to_device(log_det_.data(), log_det.data(), log_det.size(), stream);
    return view_;
  }

 private:
  static std::vector<PriorPart<T>> parts(const Prior<T>& prior, std::size_t problems, int d) {
    const std::size_t second = problems > 1 ? 1 : 0;
    const std::size_t matrix = static_cast<std::size_t>(d) * static_cast<std::size_t>(d);
    const std::size_t precision_size = prior.kind() == Prior<T>::Kind::Full ? matrix : 1;
    return {PriorPart<T>(prior.precision(0), prior.precision(second), precision_size, problems),
            PriorPart<T>(prior.precision_cholesky(0), prior.precision_cholesky(second), matrix, problems),
            PriorPart<T>(prior.mean(0, d), prior.mean(second, d), static_cast<std::size_t>(d), problems)};
  }

  const Prior<T>& prior_;
  int d_;
  std::vector<PriorPart<T>> parts_;
  DeviceBuffer<T> buffers_[3];
  DeviceBuffer<T> log_det_;
  gpu::DevicePrior<T> view_;
};

// ---------------------------------------------------------------- one runner: buffers, stream, steps

/// What every runner of a fit shares.
template <class T, class HostModel>
struct FitContext {
  const HostModel& model;
  const Prior<T>& prior;  // the fitted model's prior, which a ModelWithPrior replaces
  GaussianBatch<T>& batch;
  const FitPlan& plan;
  FitState<T>& state;
  gpu::DeviceInfo device;
  CudaPath path;  // Fused or Batched
  bool want_values;
  bool monitored;  // the host runs the convergence monitor (Monte Carlo estimators; ConvergenceMonitor::active)
  gpu::FusedConfig fused;     // the fused path's launches
  std::size_t slot_rows = 0;  // the batched path's rows per distribution
  std::size_t workspace_budget = 0;  // the batched path's workspace bytes per runner: a share of the budget
};

/// Device bytes of every distribution besides its data: state, bookkeeping, active lists, prior.
template <class T, class HostModel>
std::size_t distribution_bytes(const FitContext<T, HostModel>& fit) {
  const std::size_t d = static_cast<std::size_t>(fit.batch.dimension());
  const std::size_t state = (d + fit.batch.matrix_size()) * sizeof(T);
  const std::size_t bookkeeping = sizeof(Status) + 3 * sizeof(int) + sizeof(T) + 2 * sizeof(double) +
                                  static_cast<std::size_t>(math::rule_state_size(fit.plan.step)) * sizeof(T);
  const std::size_t active = 3 * sizeof(std::uint32_t) + 16;  // two lists and the selection scratch, generously
  const std::size_t monitor = fit.monitored ? (gpu::monitor_targets_stride(fit.plan.step) + 1) * sizeof(T) : 0;
  return state + bookkeeping + active + monitor +
         PriorBuffers<T>::problem_bytes(fit.prior, fit.batch.size(), fit.batch.dimension());
}

template <class T, class HostModel>
class ChunkRunner {
 public:
  using View = typename ModelBuffers<HostModel>::View;

  ChunkRunner(const FitContext<T, HostModel>& fit, std::size_t capacity, std::size_t row_capacity)
      : fit_(fit),
        p_(fit.plan.step),
        capacity_(capacity),
        m_(fit.batch.matrix_size()),
        model_(fit.model, fit.plan.options, capacity, row_capacity, stream_.get()),
        prior_(fit.prior, fit.batch.size(), fit.batch.dimension(), capacity, stream_.get()),
        mean_(capacity * p_.d),
        factor_(capacity * m_),
        status_(capacity),
        steps_(capacity),
        streak_(capacity),
        step_scale_(capacity),
        rejected_(capacity),
        elbo_(capacity),
        last_kl_(capacity),
        rule_state_(capacity * static_cast<std::size_t>(math::rule_state_size(p_))),
        active_(capacity),
        next_(capacity),
        count_(1),
        selection_bytes_(gpu::selection_scratch_bytes(static_cast<int>(capacity))),
        selection_(selection_bytes_),
        host_count_(1) {
    if (fit.monitored) {
      rho_each_ = DeviceBuffer<T>(capacity);
      targets_ = DeviceBuffer<T>(capacity * gpu::monitor_targets_stride(p_));
    }
    chunk_.mean = mean_.data();
    chunk_.factor = factor_.data();
    chunk_.status = status_.data();
    chunk_.steps = steps_.data();
    chunk_.streak = streak_.data();
    chunk_.step_scale = step_scale_.data();
    chunk_.rejected = rejected_.data();
    chunk_.elbo = elbo_.data();
    chunk_.last_kl = last_kl_.data();
    chunk_.rule_state = rule_state_.data();
    chunk_.rule_state_size = math::rule_state_size(p_);
    if (fit.path == CudaPath::Batched) {
      if constexpr (std::is_same_v<View, gpu::DeviceGlm<T>>)
        batched_ = std::make_unique<gpu::BatchedStepper<T>>(p_, fit.slot_rows, fit.workspace_budget, capacity,
                                                            stream_.get());
    } else {
      areas_ = DeviceBuffer<T>(fit.fused.global_areas(capacity) * fit.fused.area_entries);
    }
    stream_.synchronize();
  }

  /// Device bytes a runner for `capacity` distributions takes beyond their per-distribution bytes.
  static std::size_t fixed_bytes(const FitContext<T, HostModel>& fit, std::size_t capacity) {
    std::size_t bytes = ModelBuffers<HostModel>::shared_bytes(fit.model) +
                        PriorBuffers<T>::shared_bytes(fit.prior, fit.batch.size(), fit.batch.dimension());
    if (fit.path == CudaPath::Batched) {
      bytes += gpu::BatchedStepper<T>::workspace_bytes(fit.plan.step, fit.slot_rows, fit.workspace_budget, capacity);
    } else {
      bytes += fit.fused.global_areas(capacity) * fit.fused.area_entries * sizeof(T);
    }
    return bytes;
  }

  bool holds(std::size_t chunk) const { return held_ == chunk; }
  int active() const { return count_now_; }

  /// Uploads chunk `index` (unless it is already here) and selects its running distributions.
  void load(std::size_t index, const Chunk& c) {
    if (holds(index)) return;
    const cudaStream_t s = stream_.get();
    const std::size_t d = static_cast<std::size_t>(p_.d);
    chunk_.first = static_cast<std::uint32_t>(c.first);
    view_ = model_.upload(c, s);
    prior_view_ = prior_.upload(c, s);
    FitState<T>& st = fit_.state;
    gpu::copy_to_device(mean_.data(), fit_.batch.mean() + c.first * d, c.count * d, s);
    gpu::copy_to_device(factor_.data(), fit_.batch.precision_cholesky() + c.first * m_, c.count * m_, s);
    gpu::copy_to_device(status_.data(), st.status.data() + c.first, c.count, s);
    gpu::copy_to_device(steps_.data(), st.steps.data() + c.first, c.count, s);
    gpu::copy_to_device(streak_.data(), st.streak.data() + c.first, c.count, s);
    gpu::copy_to_device(step_scale_.data(), st.step_scale.data() + c.first, c.count, s);
    gpu::copy_to_device(rejected_.data(), st.rejected.data() + c.first, c.count, s);
    gpu::copy_to_device(elbo_.data(), st.elbo.data() + c.first, c.count, s);
    gpu::copy_to_device(last_kl_.data(), st.last_kl.data() + c.first, c.count, s);
    const std::size_t r = static_cast<std::size_t>(chunk_.rule_state_size);
    gpu::copy_to_device(rule_state_.data(), st.rule_state.data() + c.first * r, c.count * r, s);
    held_ = index;
    held_chunk_ = c;
    select(gpu::Selection::Running, nullptr, static_cast<int>(c.count));
  }

  /// One step of the running distributions at the batch's step `iteration`, then their compaction.
  void step(int iteration, T rho) {
    if (count_now_ == 0) return;
    gpu::StepArgs<T> args;
    args.active = active_.data();
    args.count = count_now_;
    args.iteration = static_cast<std::uint32_t>(iteration);
    args.rho = rho;
    args.want_values = fit_.want_values;
    if (fit_.monitored) {
      prepare_monitored_step(iteration);
      args.rho_each = rho_each_.data();
      args.targets = targets_.data();
    }
    if (batched_) {
      if constexpr (std::is_same_v<View, gpu::DeviceGlm<T>>)
        batched_->step(chunk_, view_, prior_view_, args, stream_.get());
    } else {
      gpu::launch_fused_step<T, View>(fit_.fused, p_, chunk_, view_, prior_view_, args, areas_.data(), stream_.get());
    }
    if (fit_.monitored) monitor_step();
    select(gpu::Selection::Running, active_.data(), count_now_);
  }

  /// Whether step() leaves the held chunk's state on the host (as store() does) after every step.
  bool stores_every_step() const { return fit_.monitored; }

  /// Final ELBOs of the held chunk (not for a monitored fit: the host's final phase computes them).
  void final_elbo() {
    select_into(gpu::Selection::FinalElbo, nullptr, static_cast<int>(held_chunk_.count), next_.data());
    const int count = host_count_[0];
    if (batched_) {
      if constexpr (std::is_same_v<View, gpu::DeviceGlm<T>>)
        batched_->final_elbo(chunk_, view_, prior_view_, next_.data(), count, stream_.get());
    } else {
      gpu::launch_final_elbo<T, View>(fit_.fused, p_, chunk_, view_, prior_view_, next_.data(), count,
                                      areas_.data(), stream_.get());
    }
    stream_.synchronize();
  }

  /// Downloads the held chunk's state and bookkeeping into the batch and the FitState.
  void store() {
    const cudaStream_t s = stream_.get();
    const Chunk& c = held_chunk_;
    const std::size_t d = static_cast<std::size_t>(p_.d);
    FitState<T>& st = fit_.state;
    gpu::copy_to_host(fit_.batch.mean() + c.first * d, mean_.data(), c.count * d, s);
    gpu::copy_to_host(fit_.batch.precision_cholesky() + c.first * m_, factor_.data(), c.count * m_, s);
    gpu::copy_to_host(st.status.data() + c.first, status_.data(), c.count, s);
    gpu::copy_to_host(st.steps.data() + c.first, steps_.data(), c.count, s);
    gpu::copy_to_host(st.streak.data() + c.first, streak_.data(), c.count, s);
    gpu::copy_to_host(st.step_scale.data() + c.first, step_scale_.data(), c.count, s);
    gpu::copy_to_host(st.rejected.data() + c.first, rejected_.data(), c.count, s);
    gpu::copy_to_host(st.elbo.data() + c.first, elbo_.data(), c.count, s);
    gpu::copy_to_host(st.last_kl.data() + c.first, last_kl_.data(), c.count, s);
    const std::size_t r = static_cast<std::size_t>(chunk_.rule_state_size);
    gpu::copy_to_host(st.rule_state.data() + c.first * r, rule_state_.data(), c.count * r, s);
    stream_.synchronize();
  }

 private:
  // Before a monitored step: which distributions step, with the bookkeeping they step from, and
  // each one's rho on the device.
  void prepare_monitored_step(int iteration) {
    const cudaStream_t s = stream_.get();
    stepped_.resize(static_cast<std::size_t>(count_now_));
    gpu::copy_to_host(stepped_.data(), active_.data(), stepped_.size(), s);
    stream_.synchronize();
    const std::size_t first = held_chunk_.first;
    rho_host_.resize(held_chunk_.count);
    rejected_before_.resize(stepped_.size());
    any_averaging_ = false;
    for (std::size_t k = 0; k < stepped_.size(); ++k) {
      const std::size_t b = first + stepped_[k];
      rho_host_[stepped_[k]] = static_cast<T>(monitored_step_size(fit_.plan, fit_.state, b, iteration));
      rejected_before_[k] = fit_.state.rejected[b];  // the host holds the device's bookkeeping between steps
      const int* counts = fit_.state.monitor_counts.data() + b * kMonitorCounts;
      any_averaging_ = any_averaging_ || ConvergenceMonitor<T>::averaging(counts);
    }
    gpu::copy_to_device(rho_each_.data(), rho_host_.data(), rho_host_.size(), s);
  }

  // After a monitored step: the state and the step's targets come back, the monitor runs on the host
  // (Stepper::accept's part around take_step), and the statuses and streaks it changed go back.
  void monitor_step() {
    const cudaStream_t s = stream_.get();
    const std::size_t stride = gpu::monitor_targets_stride(p_);
    const Chunk& c = held_chunk_;
    // Only an averaging distribution's targets are read (add_targets); the others' stay on the device.
    targets_host_.resize(c.count * stride);
    if (any_averaging_) gpu::copy_to_host(targets_host_.data(), targets_.data(), targets_host_.size(), s);
    store();  // synchronizes
    FitState<T>& st = fit_.state;
    monitor_device_steps(fit_.plan, fit_.batch, st, c.first, stepped_.data(), stepped_.size(), targets_host_.data(),
                         stride, rejected_before_.data());
    gpu::copy_to_device(status_.data(), st.status.data() + c.first, c.count, s);
    gpu::copy_to_device(streak_.data(), st.streak.data() + c.first, c.count, s);
  }

  // Selects from `candidates` (null: all n positions) into `out`; the count comes back to the host.
  void select_into(gpu::Selection selection, const std::uint32_t* candidates, int n, std::uint32_t* out) {
    if (n == 0) {
      host_count_[0] = 0;
      return;
    }
    gpu::select(selection, status_.data(), candidates, n, out, count_.data(), selection_.data(), selection_bytes_,
                stream_.get());
    gpu::copy_to_host(host_count_.data(), count_.data(), 1, stream_.get());
    stream_.synchronize();
  }

  // The new active set: the running distributions among the candidates.
  void select(gpu::Selection selection, const std::uint32_t* candidates, int n) {
    select_into(selection, candidates, n, next_.data());
    active_.swap(next_);
    count_now_ = host_count_[0];
  }

  const FitContext<T, HostModel>& fit_;
  const math::StepPlan& p_;
  std::size_t capacity_;
  std::size_t m_;
  gpu::Stream stream_;
  ModelBuffers<HostModel> model_;
  PriorBuffers<T> prior_;
  DeviceBuffer<T> mean_, factor_;
  DeviceBuffer<Status> status_;
  DeviceBuffer<int> steps_, streak_;
  DeviceBuffer<T> step_scale_;
  DeviceBuffer<int> rejected_;
  DeviceBuffer<double> elbo_, last_kl_;
  DeviceBuffer<T> rule_state_;
  DeviceBuffer<std::uint32_t> active_, next_;
  DeviceBuffer<int> count_;
  std::size_t selection_bytes_;
  DeviceBuffer<unsigned char> selection_;
  gpu::PinnedBuffer<int> host_count_;
  DeviceBuffer<T> areas_;
  std::unique_ptr<gpu::BatchedStepper<T>> batched_;
  // The convergence monitor's: rho and targets per position (device), and their host copies.
  DeviceBuffer<T> rho_each_, targets_;
  std::vector<T> rho_host_, targets_host_;
  std::vector<std::uint32_t> stepped_;
  std::vector<int> rejected_before_;
  bool any_averaging_ = false;

  gpu::ChunkState<T> chunk_;
  View view_;
  gpu::DevicePrior<T> prior_view_;
  std::size_t held_ = std::numeric_limits<std::size_t>::max();
  Chunk held_chunk_;
  int count_now_ = 0;
};

// ---------------------------------------------------------------- chunks and the loop of steps

/// Cuts distributions [range.first, range.first + range.count) into chunks of at most `budget` bytes
/// and `max_count` distributions.
template <class T, class HostModel>
std::vector<Chunk> plan_chunks(const FitContext<T, HostModel>& fit, const Chunk& range, std::size_t budget,
                               std::size_t max_count) {
  std::vector<Chunk> chunks;
  const std::size_t each = distribution_bytes(fit);
  Chunk c;
  c.first = range.first;
  std::size_t bytes = 0;
  for (std::size_t b = range.first; b < range.first + range.count; ++b) {
    const std::size_t need = each + ModelBuffers<HostModel>::problem_bytes(fit.model, b);
    if (c.count > 0 && (bytes + need > budget || c.count == max_count)) {
      chunks.push_back(c);
      c = Chunk{};
      c.first = b;
      bytes = 0;
    }
    if (need > budget)
      throw Error(fmt::format("ngvi::fit (CUDA backend): problem {} needs {} bytes of device memory, more than the "
                              "{} bytes available to one chunk",
                              b, need, budget));
    bytes += need;
    ++c.count;
  }
  chunks.push_back(c);
  for (Chunk& chunk : chunks) {
    chunk.first_row = ModelBuffers<HostModel>::first_row(fit.model, chunk.first);
    chunk.rows = ModelBuffers<HostModel>::first_row(fit.model, chunk.first + chunk.count) - chunk.first_row;
  }
  return chunks;
}

/// Runs body(runner, chunk index) for every chunk, the chunks dealt to the runners in turn, each
/// runner on its own thread when there are several.
template <class Runner, class Body>
void for_each_chunk(std::vector<std::unique_ptr<Runner>>& runners, std::size_t chunks, int device, Body&& body) {
  if (runners.size() == 1) {
    for (std::size_t c = 0; c < chunks; ++c) body(*runners[0], c);
    return;
  }
  std::vector<std::future<void>> work;
  for (std::size_t r = 0; r < runners.size(); ++r)
    work.push_back(std::async(std::launch::async, [&, r] {
      NGVI_CUDA_TRY(cudaSetDevice(device));
      for (std::size_t c = r; c < chunks; c += runners.size()) body(*runners[r], c);
    }));
  std::exception_ptr error;
  for (std::future<void>& w : work) {
    try {
      w.get();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

template <class T, class HostModel>
CudaRun run_on_device(const HostModel& model, const Prior<T>& prior, GaussianBatch<T>& batch, const FitPlan& plan,
                      FitState<T>& state, const Chunk& range, int device) {
  using Clock = std::chrono::steady_clock;
  using Runner = ChunkRunner<T, HostModel>;
  const Clock::time_point start = Clock::now();
  NGVI_CUDA_TRY(cudaSetDevice(device));
  const Options& options = plan.options;
  const CudaTuning tuning = cuda_tuning();
  FitContext<T, HostModel> fit{model,
                               prior,
                               batch,
                               plan,
                               state,
                               gpu::current_device(),
                               tuning.path,
                               plan.step.estimator == Estimator::Score || options.trace_elbo,
                               math::needs_samples(plan.step),
                               gpu::FusedConfig{},
                               0};
  constexpr bool kGlm = std::is_same_v<HostModel, GeneralizedLinearModel<T>>;
  if (fit.path == CudaPath::Auto)
    fit.path = gpu::batched_supports(plan.step, kGlm) && plan.step.d > tuning.fused_max_dimension ? CudaPath::Batched
                                                                                                  : CudaPath::Fused;
  if (fit.path == CudaPath::Batched && !gpu::batched_supports(plan.step, kGlm))
    throw Error(fmt::format("ngvi::fit (CUDA backend): the batched path does not run this fit ({}); use the fused path",
                            gpu::batched_limits()));
  if (fit.path == CudaPath::Fused) {
    fit.fused = gpu::fused_config<T, typename Runner::View>(plan.step, typename Runner::View{}, fit.device);
  } else if constexpr (kGlm) {
    fit.slot_rows = gpu::batched_slot_rows(plan.step, model.data().max_rows(), options.minibatch_rows);
  }

  // Chunks and runners, halving the memory budget when the device refuses an allocation.
  // Leave room for the CUDA context, cuBLAS and cuSOLVER, and fragmentation.
  const std::size_t free = fit.device.free_memory;
  const std::size_t margin = std::max<std::size_t>(free / 10, std::size_t(256) << 20);
  std::size_t budget = free > 2 * margin ? free - margin : free / 2;
  if (tuning.memory_budget > 0) budget = std::min(budget, tuning.memory_budget);
  std::vector<Chunk> chunks;
  std::vector<std::unique_ptr<Runner>> runners;
  for (;;) {
    try {
      // One runner holds the whole batch if it fits, else two share the budget.
      for (const std::size_t count : {std::size_t(1), std::size_t(2)}) {
        const std::size_t share = budget / count;
        fit.workspace_budget = share / 4;  // the batched path's micro-batches; the rest holds the chunks
        const std::size_t fixed = Runner::fixed_bytes(fit, range.count);
        if (share <= fixed) continue;
        chunks = plan_chunks(fit, range, share - fixed, tuning.max_chunk > 0 ? tuning.max_chunk : range.count);
        if (chunks.size() == 1 || count == 2) break;
      }
      if (chunks.empty()) throw gpu::CudaOutOfMemory("no memory for the runners' fixed buffers");
      std::size_t capacity = 0, row_capacity = 0;
      for (const Chunk& c : chunks) {
        capacity = std::max(capacity, c.count);
        row_capacity = std::max(row_capacity, c.rows);
      }
      runners.clear();
      for (std::size_t r = 0; r < std::min<std::size_t>(2, chunks.size()); ++r)
        runners.push_back(std::make_unique<Runner>(fit, capacity, row_capacity));
      break;
    } catch (const gpu::CudaOutOfMemory& e) {
      runners.clear();
      chunks.clear();
      if (budget < (std::size_t(16) << 20)) throw;
      budget /= 2;
    }
  }

  const int max_steps = options.max_steps;
  auto rho_at = [&](int iteration) { return static_cast<T>(step_size_at(options, iteration)); };
  // With a progress callback, an ELBO trace or checkpoints, after_iteration sees every step of the
  // batch; the last two read the state on the host, so it comes back after every step.
  const bool lock_step = static_cast<bool>(options.progress) || options.trace_elbo || !options.checkpoint_path.empty();
  int iterations_taken = state.iteration;
  if (!lock_step) {
    // Every chunk runs to the end on its own: the same per-distribution results, fewer copies.
    const int first = state.iteration;  // not 0 when resuming
    std::vector<int> iterations(chunks.size(), first);
    for_each_chunk(runners, chunks.size(), fit.device.id, [&](Runner& runner, std::size_t c) {
      runner.load(c, chunks[c]);
      int t = first;
      for (; runner.active() > 0 && t < max_steps; ++t) runner.step(t, rho_at(t));
      if (!fit.monitored) runner.final_elbo();
      runner.store();
      iterations[c] = t;
    });
    iterations_taken = *std::max_element(iterations.begin(), iterations.end());
  } else {
    const bool resident = chunks.size() <= runners.size();
    const bool host_state = !resident || options.trace_elbo || !options.checkpoint_path.empty();
    std::vector<int> active(chunks.size());
    for (std::size_t c = 0; c < chunks.size(); ++c)
      active[c] = static_cast<int>(std::count(state.status.begin() + chunks[c].first,
                                              state.status.begin() + chunks[c].first + chunks[c].count,
                                              Status::Running));
    auto running = [&] {
      std::size_t n = 0;
      for (int a : active) n += static_cast<std::size_t>(a);
      return n;
    };
    while (running() > 0 && state.iteration < max_steps) {
      const T rho = rho_at(state.iteration);
      const int iteration = state.iteration;
      for_each_chunk(runners, chunks.size(), fit.device.id, [&](Runner& runner, std::size_t c) {
        if (active[c] == 0) return;
        runner.load(c, chunks[c]);
        runner.step(iteration, rho);
        active[c] = runner.active();
        if (host_state && !runner.stores_every_step()) runner.store();
      });
      ++state.iteration;
      if (!after_iteration(plan, batch, state, running(), std::chrono::duration<double>(Clock::now() - start).count()))
        break;
    }
    if (!fit.monitored)
      for_each_chunk(runners, chunks.size(), fit.device.id, [&](Runner& runner, std::size_t c) {
        runner.load(c, chunks[c]);
        runner.final_elbo();
        runner.store();
      });
    iterations_taken = state.iteration;
  }

  const char* path = fit.path == CudaPath::Batched ? "batched cuBLAS/cuSOLVER path" : "fused path";
  std::string where;
  if (fit.path == CudaPath::Fused) where = fit.fused.shared_area ? ", state in shared memory" : ", state in global memory";
  return {fmt::format("{}; {}{}, {} chunk{}", fit.device.description(), path, where, chunks.size(),
                      chunks.size() == 1 ? "" : "s"),
          iterations_taken};
}

}  // namespace

std::string cuda_device_unavailable() {
  std::string why;
  if (gpu::usable_device_count(&why) == 0) return "no CUDA device is present (" + why + ")";
  return {};
}

template <class T>
std::string cuda_unavailable(const Model<T>& model) {
  if (!as_glm(data_model(model)) && !as_quadratic(data_model(model)))
    return "the model is a custom Model subclass, which runs on the CPU (the CUDA backend runs the built-in "
           "GeneralizedLinearModel and QuadraticModel)";
  return cuda_device_unavailable();
}

template <class T>
CudaRun run_cuda(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state,
                 std::size_t first, std::size_t count, int device) {
  Chunk range;
  range.first = first;
  range.count = count;
  const Model<T>& data = data_model(model);
  if (const GeneralizedLinearModel<T>* glm = as_glm(data))
    return run_on_device(*glm, model.prior(), batch, plan, state, range, device);
  if (const QuadraticModel<T>* quadratic = as_quadratic(data))
    return run_on_device(*quadratic, model.prior(), batch, plan, state, range, device);
  throw Error("ngvi::fit: options.backend = cuda, but " + cuda_unavailable(model));
}

namespace {

int current_device() {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();  // clear the error so that it does not surface in a later call
    return 0;
  }
  return device;
}

// options.devices as CUDA device ordinals.
std::vector<int> cuda_devices(const Options& options) {
  const int count = gpu::usable_device_count(nullptr);
  if (options.devices.empty()) return {current_device()};
  if (options.devices.size() == 1 && options.devices[0] == kAllDevices) {
    std::vector<int> every(static_cast<std::size_t>(count));
    std::iota(every.begin(), every.end(), 0);
    return every;
  }
  for (std::size_t k = 0; k < options.devices.size(); ++k)
    if (options.devices[k] >= count)
      throw Error(fmt::format("ngvi::fit: options.devices[{}] = {}, but this process sees {} CUDA device{}", k,
                              options.devices[k], count, count == 1 ? "" : "s"));
  return options.devices;
}

}  // namespace

template <class T>
std::string run_cuda_devices(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
  const std::vector<int> devices = cuda_devices(plan.options);
  const std::vector<std::uint32_t> active = state.active();
  if (devices.size() == 1 || active.empty())
    return run_cuda(model, batch, plan, state, 0, batch.size(), devices[0]).description;
  if (plan.options.trace_elbo || !plan.options.checkpoint_path.empty())
    throw Error(fmt::format("ngvi::fit: options.devices lists {} CUDA devices, but a fit with an ELBO trace or "
                            "checkpoints runs on one (give one device, or one MPI rank per device: docs/scaling.md)",
                            devices.size()));
  FitPlan unobserved = plan;
  unobserved.options.progress = nullptr;
  const std::vector<Shard> shards = balanced_shards(active.size(), devices.size());
  std::vector<CudaRun> runs(devices.size());
  for_each_shard(devices.size(), [&](std::size_t k) {
    if (shards[k].size() == 0) return;
    // The range runs from the shard's first running distribution to the next shard's.
    const std::size_t first = k == 0 ? 0 : active[shards[k].begin];
    const bool last = k + 1 == devices.size() || shards[k + 1].size() == 0;
    const std::size_t end = last ? batch.size() : active[shards[k + 1].begin];
    runs[k] = run_cuda(model, batch, unobserved, state, first, end - first, devices[k]);
  });
  std::string description;
  int iterations = state.iteration;
  for (const CudaRun& run : runs) {
    if (run.description.empty()) continue;
    description += (description.empty() ? "" : " | ") + run.description;
    iterations = std::max(iterations, run.iterations);
  }
  state.iteration = iterations;
  return description;
}

template std::string run_cuda_devices(const Model<float>&, GaussianBatch<float>&, const FitPlan&, FitState<float>&);
template std::string run_cuda_devices(const Model<double>&, GaussianBatch<double>&, const FitPlan&,
                                      FitState<double>&);
template std::string cuda_unavailable(const Model<float>&);
template std::string cuda_unavailable(const Model<double>&);
template CudaRun run_cuda(const Model<float>&, GaussianBatch<float>&, const FitPlan&, FitState<float>&, std::size_t,
                          std::size_t, int);
template CudaRun run_cuda(const Model<double>&, GaussianBatch<double>&, const FitPlan&, FitState<double>&, std::size_t,
                          std::size_t, int);

}  // namespace ngvi::detail
