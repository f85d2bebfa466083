#include "engine/cpu_level.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <string>

#include "ngvi/error.hpp"

namespace ngvi::detail {
namespace {

#if defined(NGVI_CPU_DISPATCH)
// The levels by their defining features: clang's __builtin_cpu_supports knows features, not level names
// (GCC 12 knows both). Every CPU with AVX2, FMA and BMI1/2 also has the rest of x86-64-v3 (F16C, LZCNT,
// MOVBE); x86-64-v4 adds AVX-512 F, BW, CD, DQ and VL.
bool supports_x86_64_v3() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
         __builtin_cpu_supports("bmi2");
}

bool supports_x86_64_v4() {
  return supports_x86_64_v3() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}
constexpr int kLevels = 3;
#else
constexpr int kLevels = 1;
#endif

struct Choice {
  CpuLevel level;
  std::string error;  // a bad NGVI_CPU_LEVEL, reported at every call
};

Choice choose() {
  bool supported[kLevels] = {true};
#if defined(NGVI_CPU_DISPATCH)
  __builtin_cpu_init();
  supported[1] = supports_x86_64_v3();
  supported[2] = supports_x86_64_v4();
#endif
  int cap = kLevels - 1;
  if (const char* wanted = std::getenv("NGVI_CPU_LEVEL"); wanted && *wanted) {
    std::string known;
    for (cap = kLevels - 1; cap >= 0 && cpu_level_name(static_cast<CpuLevel>(cap)) != std::string(wanted); --cap)
      known += (known.empty() ? "" : ", ") + std::string(cpu_level_name(static_cast<CpuLevel>(cap)));
    if (cap < 0)
      return {CpuLevel::Generic, fmt::format("NGVI_CPU_LEVEL={} is not a level this library has ({})", wanted, known)};
  }
  while (!supported[cap]) --cap;
  return {static_cast<CpuLevel>(cap), ""};
}

}  // namespace

CpuLevel cpu_level() {
  static const Choice chosen = choose();
  if (!chosen.error.empty()) throw Error(chosen.error);
  return chosen.level;
}

const char* cpu_level_name(CpuLevel level) {
  switch (level) {
    case CpuLevel::X86_64_V3: return "x86-64-v3";
    case CpuLevel::X86_64_V4: return "x86-64-v4";
    default: return "generic";
  }
}

}  // namespace ngvi::detail
