/// @file ngvi.hpp
/// @brief The whole C++ API of ngvi: natural-gradient variational inference on batches of Gaussians.
#pragma once

#include "ngvi/checkpoint.hpp"
#include "ngvi/data.hpp"
#include "ngvi/error.hpp"
#include "ngvi/family.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/gaussian.hpp"
#include "ngvi/method.hpp"
#include "ngvi/model.hpp"
#include "ngvi/model_with_prior.hpp"
#include "ngvi/models.hpp"
#include "ngvi/online.hpp"
#include "ngvi/optimizer.hpp"
#include "ngvi/options.hpp"
#include "ngvi/pooling.hpp"
#include "ngvi/prior.hpp"
#include "ngvi/status.hpp"
#include "ngvi/synthetic.hpp"
#include "ngvi/version.hpp"
