// The x86-64 level of the CPU the library runs on, for the code compiled once per level: the rows of
// the GLMs (models/glm_rows.hpp) and the step stages (cpu/stages.hpp). The library is compiled for
// its architecture's baseline; with NGVI_CPU_DISPATCH (an x86-64 GCC build without -march=native)
// those files are also compiled for x86-64-v3 (AVX2, FMA) and, the GLM rows, for x86-64-v4
// (AVX-512), and each picks the highest level the CPU has, once.
#pragma once

namespace ngvi::detail {

enum class CpuLevel { Generic = 0, X86_64_V3 = 1, X86_64_V4 = 2 };

/// The highest level this build has and the CPU supports, at most NGVI_CPU_LEVEL's
/// (generic|x86-64-v3|x86-64-v4, to compare the levels on one machine or to rule one out). Decided
/// at the first call; a name this library does not have throws ngvi::Error at every call.
CpuLevel cpu_level();

/// "generic", "x86-64-v3" or "x86-64-v4".
const char* cpu_level_name(CpuLevel level);

}  // namespace ngvi::detail
