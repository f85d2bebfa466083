// ngvi_options <-> ngvi::Options, for every call that takes options (fit, resume, the optimizer) or
// fills them (defaults, checkpoint info). ngvi_options has grown once: both layouts are accepted.
#pragma once

#include "ngvi/ngvi.h"
#include "ngvi/options.hpp"

namespace ngvi::capi {

/// The C++ options described by `c` (nullptr: the defaults). Throws CallError for a struct_size of no
/// known layout and for flags other than 0 and 1; enum values and ranges are left to
/// ngvi::Options::check, which every fit runs first.
Options to_options(const ngvi_options* c);

/// Writes `o` into `c`, as far as c->struct_size reaches (the caller sets it); no progress callback,
/// no checkpoint path, no devices. Throws CallError for an unknown struct_size.
void write_options(const Options& o, ngvi_options* c, const char* name);

}  // namespace ngvi::capi
