// The CPU backend: the shared per-distribution math of kernels/math in threaded loops.
#pragma once

#include <string>

#include "engine/engine.hpp"

namespace ngvi::detail {

/// Runs steps until every distribution has stopped, the step budget is spent or the progress
/// callback asks to stop; then computes every distribution's final ELBO. The running distributions
/// are dealt afresh at every step to plan.devices.size() groups of threads (the CPU's "devices",
/// sharing Options::num_threads), in balanced contiguous shards.
template <class T>
void run_cpu(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state);

/// The end of a fit, after its steps, for every distribution: its final state (a Monte Carlo fit
/// ends at the average of its stationary iterates), its final ELBO and diagnostics from fresh draws
/// (Options::final_samples), on Options::num_threads threads. run_cpu ends with it, and so does a
/// Monte Carlo fit on the CUDA backend, whose convergence monitor runs on the host.
template <class T>
void finish_on_cpu(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state);

/// Threads of each of plan.devices: Options::num_threads shared out (at least one each).
int threads_per_device(const FitPlan& plan);

/// e.g. "CPU (2 threads)", or "CPU (3 devices of 2 threads)" for a fit sharded across thread groups.
std::string cpu_device_name(int threads, std::size_t devices = 1);

}  // namespace ngvi::detail
