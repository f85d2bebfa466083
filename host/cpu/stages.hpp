// The per-distribution stages of a Monte Carlo step on the host (the draw, the estimate of g and H,
// the rule with its trust region), compiled once for every small dimension as well as for any d.
//
// At the dimensions ngvi is built for (a few to a few tens), the d x d algebra of a step is a few
// hundred row operations of d entries each: with d known only at run time every one of them pays for
// its loop control and its remainder iterations, and rows cannot stay in registers. A copy of the
// stages for each d up to kFixedDimensions, in which d is a constant, runs such a step about 1.5
// times faster (bench/README.md, "CPU step stages"). The arithmetic is the same kernels/math code,
// element for element: only the loops around it change shape, so results agree with the generic
// stages up to the order of the sums the vectorizer may reassociate (NGVI_SIMD_SUM).
//
// Like the GLMs' rows, the stages are also compiled for x86-64-v3 (AVX2, FMA; engine/cpu_level.hpp),
// which the library takes on every CPU that has it (AVX-512 is slower on rows of a few entries).
// Fused multiply-adds round differently: the levels agree to rounding.
#pragma once

#include <cstdint>
#include <type_traits>

#include "math/step.cuh"

namespace ngvi::detail {

/// Dimensions 1..kFixedDimensions have stages of their own; larger ones share the generic stages.
inline constexpr int kFixedDimensions = 16;

template <class T>
struct StepStages {
  /// detail::draw_samples.
  void (*draw)(const math::StepPlan& p, std::uint32_t b, std::uint32_t step, const T* mu, const T* factor, T* eps,
               T* points, T* scratch);
  /// math::estimate.
  void (*estimate)(const math::StepPlan& p, const T* factor, const math::StepWorkspace<T>& w);
  /// math::take_step.
  bool (*take_step)(const math::StepPlan& p, T rho, T* mu, T* factor, const math::StepWorkspace<T>& w,
                    const math::StepRecord<T>& r);
};

/// The stages for plans of dimension d (any d >= 1), of the CPU's level.
template <class T>
StepStages<T> step_stages(int d);

/// One compilation's stages: entry d for dimension d (1..kFixedDimensions), entry 0 for any d.
struct StepStageTables {
  const StepStages<float>* single;
  const StepStages<double>* double_precision;

  template <class T>
  const StepStages<T>* of() const {
    if constexpr (std::is_same_v<T, float>) return single;
    else return double_precision;
  }
};

/// Each compilation's tables (the x86-64-v3 one exists with NGVI_CPU_DISPATCH only).
StepStageTables step_stages_generic();
StepStageTables step_stages_x86_64_v3();

}  // namespace ngvi::detail
