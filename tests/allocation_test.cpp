// The step itself never allocates (issue: "no allocation inside the step"): every buffer is sized
// once per fit. Counted by replacing the global operator new for this test program.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ngvi {
namespace {

TEST(Allocation, StepsAllocateNothing) {
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 64, 8, 100, 300, 4);
  const LogisticRegression<double> model(problems.data());
  for (Estimator estimator : {Estimator::Stein, Estimator::Price, Estimator::Quadrature})
    for (Rule rule : {Rule::IBLR, Rule::CholeskyFactor, Rule::Adam}) {
      GaussianBatch<double> q(64, 8);
      Options options;
      options.estimator = estimator;
      options.rule = rule;
      options.step_size = rule == Rule::Adam ? 0.05 : 0.5;
      options.max_steps = 12;
      options.tolerance = 0;
      std::vector<long> counts;
      counts.reserve(16);
      options.progress = [&](const Progress&) {
        counts.push_back(allocations.load());
        return true;
      };
      fit(model, q, options);
      ASSERT_EQ(counts.size(), 12u);
      // From the second step on (the first may warm up the thread pool), no allocation at all.
      EXPECT_EQ(counts.back(), counts[1]) << estimator_name(estimator) << " " << rule_name(rule);
    }
}

}  // namespace
}  // namespace ngvi
