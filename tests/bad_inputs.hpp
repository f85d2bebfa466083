// The bad-input corpus (tests/bad_inputs/manifest.json) for the C++ tests of the library layers: the
// cases, their arrays, and the check of a layer's outcome against a case's expectation. Each layer's
// test (bad_inputs_test.cpp: the C++ API; capi_bad_inputs_test.cpp: the C ABI) runs a case and reports
// an Outcome; check_outcome() judges it the same way for both.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "io/npy.hpp"

namespace ngvi::bad_inputs {

inline std::string corpus_path(const std::string& name) { return std::string(NGVI_BAD_INPUTS_DIR) + "/" + name; }

/// One case of the manifest, its arrays read.
struct Case {
  std::string name, model;
  io::NpyArray x, y;
  std::optional<io::NpyArray> offsets, initial_precision;
  nlohmann::json expected;  ///< the expectation of the layer under test
  int max_steps = 0;
  std::uint64_t seed = 0;

  bool ragged() const { return offsets.has_value(); }
  std::size_t num_problems() const { return ragged() ? offsets->size() - 1 : x.shape.at(0); }
  std::size_t rows_per_problem() const { return ragged() ? 0 : x.shape.at(1); }
  int dimension() const { return static_cast<int>(x.shape.back()); }
};

inline nlohmann::json manifest() {
  std::ifstream in(corpus_path("manifest.json"));
  return nlohmann::json::parse(in);
}

/// The cases that apply to `layer` ("cpp" or "capi"): those whose expectation is not a reason string.
inline std::vector<std::string> case_names(const std::string& layer) {
  const nlohmann::json m = manifest();
  std::vector<std::string> names;
  for (const auto& c : m["cases"])
    if (!c[layer].is_string()) names.push_back(c["name"]);
  return names;
}

inline Case load_case(const std::string& name, const std::string& layer) {
  const nlohmann::json m = manifest();
  for (const auto& c : m["cases"]) {
    if (c["name"] != name) continue;
    Case k;
    k.name = name;
    k.model = c["model"];
    k.x = io::read_npy(corpus_path(c["x"]));
    k.y = io::read_npy(corpus_path(c["y"]));
    if (c.contains("offsets")) k.offsets = io::read_npy(corpus_path(c["offsets"]));
    if (c.contains("initial_precision")) k.initial_precision = io::read_npy(corpus_path(c["initial_precision"]));
    k.expected = c[layer];
    k.max_steps = m["options"]["max_steps"];
    k.seed = m["options"]["seed"];
    return k;
  }
  throw std::runtime_error("no case " + name + " in the manifest");
}

/// The same case on the clean data of base/ (its "twin"), for checking that the other problems'
/// results are untouched.
inline Case twin_of(const Case& c, const std::string& layer) {
  Case t = load_case("clean", layer);
  t.model = c.model;
  return t;
}

/// What a layer made of a case.
struct Outcome {
  std::optional<std::string> error;  ///< the message of a failed call
  std::string error_status;          ///< the C ABI's status name of a failed call
  std::vector<std::string> conversion;  ///< per problem, when the case sets an initial precision
  std::vector<std::string> status;      ///< per problem
  std::vector<std::int32_t> steps;
  std::vector<double> mean, factor, elbo;  ///< (B, d), (B, d, d), (B,)
};

inline bool same_bits(const double* a, const double* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(double)) == 0; }

/// Checks `got` against the case's expectation; `twin` is the outcome of the same fit on base/.
inline void check_outcome(const Case& c, const Outcome& got, const Outcome* twin) {
  const nlohmann::json& e = c.expected;
  if (e.contains("error")) {
    ASSERT_TRUE(got.error.has_value()) << c.name << ": the call succeeded but should have failed";
    for (const std::string fragment : e["error"])
      EXPECT_NE(got.error->find(fragment), std::string::npos) << "\"" << *got.error << "\" lacks \"" << fragment << "\"";
    if (e.contains("status")) EXPECT_EQ(got.error_status, e["status"].get<std::string>()) << *got.error;
    return;
  }
  ASSERT_FALSE(got.error.has_value()) << c.name << ": " << *got.error;
  const std::size_t B = got.status.size(), d = static_cast<std::size_t>(c.dimension());
  ASSERT_EQ(B, c.num_problems());
  if (e.contains("conversion")) {
    ASSERT_EQ(got.conversion.size(), B);
    for (std::size_t b = 0; b < B; ++b) {
      const std::string key = std::to_string(b);
      EXPECT_EQ(got.conversion[b], e["conversion"].contains(key) ? e["conversion"][key].get<std::string>() : "ok")
          << "problem " << b;
    }
  }
  for (std::size_t b = 0; b < B; ++b) {
    const std::string key = std::to_string(b);
    if (e["statuses"].contains(key)) {
      EXPECT_EQ(got.status[b], e["statuses"][key].get<std::string>()) << "problem " << b;
      continue;
    }
    EXPECT_TRUE(got.status[b] == "converged" || got.status[b] == "step_budget") << "problem " << b << ": " << got.status[b];
    if (e.value("twin", false)) {
      ASSERT_NE(twin, nullptr);
      EXPECT_EQ(got.status[b], twin->status[b]) << "problem " << b;
      EXPECT_EQ(got.steps[b], twin->steps[b]) << "problem " << b;
      EXPECT_TRUE(same_bits(&got.mean[b * d], &twin->mean[b * d], d)) << "problem " << b << ": mean differs";
      EXPECT_TRUE(same_bits(&got.factor[b * d * d], &twin->factor[b * d * d], d * d)) << "problem " << b;
      EXPECT_TRUE(same_bits(&got.elbo[b], &twin->elbo[b], 1)) << "problem " << b << ": ELBO differs";
    }
  }
  // A problem without rows ends at the prior N(0, I): the factor of the precision is I.
  for (const std::size_t b : e.value("prior", std::vector<std::size_t>{})) {
    for (std::size_t i = 0; i < d; ++i) {
      EXPECT_NEAR(got.mean[b * d + i], 0.0, 1e-12) << "problem " << b;
      for (std::size_t j = 0; j < d; ++j)
        EXPECT_NEAR(got.factor[(b * d + i) * d + j], i == j ? 1.0 : 0.0, 1e-12) << "problem " << b;
    }
  }
}

}  // namespace ngvi::bad_inputs
