// Compiled once per x86-64 level (cpu/stages.hpp), like models/glm_rows.cpp: NGVI_CPU_LEVEL_TOKEN
// names the level, and CMake localizes every symbol of a non-generic compilation but its entry point.
#include "cpu/stages.hpp"

#include <utility>

#include "cpu/sampling.hpp"
#include "engine/cpu_level.hpp"

#if !defined(NGVI_CPU_LEVEL_TOKEN)
#define NGVI_CPU_LEVEL_TOKEN generic  // the library's own compilation, which also chooses the level
#define NGVI_CHOOSES_LEVEL
#endif
#define NGVI_PASTE(a, b) a##b
#define NGVI_STAGES_ENTRY(level) NGVI_PASTE(step_stages_, level)

namespace ngvi::detail {
namespace {

// Each stage for a dimension D fixed at compile time (0: the plan's d). `flatten` inlines the whole
// call tree into the stage, so that the constant reaches every loop of kernels/math; the plan's copy
// carries it there.
template <int D>
math::StepPlan with_dimension(const math::StepPlan& p) {
  math::StepPlan fixed = p;
  if (D > 0) fixed.d = D;
  return fixed;
}

template <class T, int D>
[[gnu::flatten]] void draw(const math::StepPlan& p, std::uint32_t b, std::uint32_t step, const T* mu, const T* factor,
                           T* eps, T* points, T* scratch) {
  draw_samples(with_dimension<D>(p), b, step, mu, factor, eps, points, scratch);
}

template <class T, int D>
[[gnu::flatten]] void estimate(const math::StepPlan& p, const T* factor, const math::StepWorkspace<T>& w) {
  math::estimate(with_dimension<D>(p), factor, w);
}

template <class T, int D>
[[gnu::flatten]] bool take_step(const math::StepPlan& p, T rho, T* mu, T* factor, const math::StepWorkspace<T>& w,
                                const math::StepRecord<T>& r) {
  return math::take_step(with_dimension<D>(p), rho, mu, factor, w, r);
}

template <class T, int D>
constexpr StepStages<T> stages_for() {
  return {&draw<T, D>, &estimate<T, D>, &take_step<T, D>};
}

// Entry d: the stages of dimension d (entry 0: the generic ones).
template <class T, int... D>
constexpr StepStages<T> kTable[] = {stages_for<T, D>()...};

template <class T, std::size_t... D>
constexpr const StepStages<T>* table(std::index_sequence<D...>) {
  return kTable<T, static_cast<int>(D)...>;
}

template <class T>
constexpr const StepStages<T>* table() {
  return table<T>(std::make_index_sequence<kFixedDimensions + 1>());
}

}  // namespace

StepStageTables NGVI_STAGES_ENTRY(NGVI_CPU_LEVEL_TOKEN)() { return {table<float>(), table<double>()}; }

#if defined(NGVI_CHOOSES_LEVEL)
template <class T>
StepStages<T> step_stages(int d) {
  // Chosen at the first call that succeeds: a bad NGVI_CPU_LEVEL throws from every call.
  static const StepStageTables tables = [] {
    [[maybe_unused]] const CpuLevel level = cpu_level();
#if defined(NGVI_CPU_DISPATCH)
    if (level >= CpuLevel::X86_64_V3) return step_stages_x86_64_v3();
#endif
    return step_stages_generic();
  }();
  return tables.of<T>()[d >= 1 && d <= kFixedDimensions ? d : 0];
}

template StepStages<float> step_stages(int);
template StepStages<double> step_stages(int);
#endif

}  // namespace ngvi::detail
