#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "math/philox.cuh"

namespace ngvi::math {
namespace {

// Known-answer vectors of Philox4x32-10 from Random123's kat_vectors.
TEST(Philox, MatchesRandom123KnownAnswers) {
  struct Case {
    Philox4x32 counter;
    std::uint32_t k0, k1;
    Philox4x32 expected;
  };
  const Case cases[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const Case& c : cases) {
    const Philox4x32 r = philox4x32_10(c.counter, c.k0, c.k1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r.v[i], c.expected.v[i]) << "word " << i;
  }
}

TEST(Philox, NormalsHaveUnitMomentsAndDependOnlyOnTheirAddress) {
  const int n = 200000;
  std::vector<double> z(n);
  standard_normals(42, RandomStream::kSamples, 7, 3, 0, z.data(), n);
  double mean = 0, second = 0, fourth = 0;
  for (double v : z) {
    mean += v;
    second += v * v;
    fourth += v * v * v * v;
  }
  mean /= n, second /= n, fourth /= n;
  EXPECT_NEAR(mean, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(second, 1.0, 5.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(fourth, 3.0, 5.0 * std::sqrt(96.0 / n));
  // A shorter request returns the same leading numbers.
  std::vector<double> head(5);
  standard_normals(42, RandomStream::kSamples, 7, 3, 0, head.data(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(head[i], z[i]);
  // Another step, distribution or stream gives other numbers.
  std::vector<double> other(5);
  standard_normals(42, RandomStream::kSamples, 7, 4, 0, other.data(), 5);
  EXPECT_NE(other[0], z[0]);
  standard_normals(42, RandomStream::kMinibatch, 7, 3, 0, other.data(), 5);
  EXPECT_NE(other[0], z[0]);
}

}  // namespace
}  // namespace ngvi::math
