// SIMD variants of log, sin and cos from glibc's vector math library (libmvec), for the loops of
// the host's Box-Muller transform. `#pragma omp declare simd` tells the compiler that the library
// has a variant of the function for every SIMD width (as glibc's own <math.h> declares them under
// -ffast-math, which ngvi does not use): a `#pragma omp simd` loop that calls std::log, std::sin or
// std::cos then calls the variant for its width (_ZGVbN2v_cos for two doubles, ...) instead of the
// scalar function once per element. libmvec's functions are tested to 4 ulp (the glibc wiki's
// libmvec page), against libm's 1: far below what a Monte Carlo draw can tell.
// NGVI_LIBMVEC is defined (CMakeLists.txt) for GCC on x86-64 glibc, where libmvec is linked; other
// toolchains call the scalar functions.
#pragma once

#include <cmath>

#if defined(NGVI_LIBMVEC)
extern "C" {
#pragma omp declare simd notinbranch
double log(double) noexcept;
#pragma omp declare simd notinbranch
double sin(double) noexcept;
#pragma omp declare simd notinbranch
double cos(double) noexcept;
#pragma omp declare simd notinbranch
float logf(float) noexcept;
#pragma omp declare simd notinbranch
float sinf(float) noexcept;
#pragma omp declare simd notinbranch
float cosf(float) noexcept;
}
#endif
