// Real data for the tests: two linear-regression data sets of posteriordb (tests/data).
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace ngvi::testing {

/// sblrc-blr and sblri-blr as one dense batch of B = 2 problems with 100 rows of d = 5 each.
struct RealLinearData {
  std::vector<double> x, y;
  RealLinearData() {
    for (const char* name : {"sblrc-blr.json", "sblri-blr.json"}) {
      std::ifstream file(std::string(NGVI_TEST_DATA_DIR) + "/" + name);
      const nlohmann::json json = nlohmann::json::parse(file);
      for (const auto& row : json["X"])
        for (double v : row) x.push_back(v);
      for (double v : json["y"]) y.push_back(v);
    }
  }
};

}  // namespace ngvi::testing
