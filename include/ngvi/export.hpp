/// @file export.hpp
/// @brief Symbol visibility for the shared library: only what is marked NGVI_API is exported.
#pragma once

#if defined(_WIN32)
#define NGVI_API
#elif defined(NGVI_STATIC_DEFINE)
#define NGVI_API
#else
#define NGVI_API __attribute__((visibility("default")))
#endif
