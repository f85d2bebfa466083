// A contextual bandit with one Bayesian logistic regression per arm, updated online round by round:
// Thompson sampling against greedy and epsilon-greedy.
//
// Each of A arms a pays 1 with probability sigmoid(x^T theta_a) for the context x of the pull
// (d = 8: an intercept and 7 features), with theta_a ~ N(m, C) unknown. A pull shows a context and
// K arms drawn at random (a user and the items eligible for them); the policy picks one of the K
// from each arm's posterior q_a = N(mu_a, Sigma_a):
//   - thompson: the arm maximizing x^T z_a for one draw z_a ~ q_a per arm and round
//     (ngvi::thompson_draws: the draws of a round are fixed, as in batched Thompson sampling);
//   - greedy: the arm maximizing x^T mu_a;
//   - epsilon-greedy: greedy, but a random one of the K with probability epsilon.
// Rewards arrive at the end of a round of P pulls; ngvi::fit_online_round then fits each arm to its
// new rows under its current posterior as the prior. The three policies see the same contexts,
// candidates and reward draws (common random numbers). Regret of a pull: the best candidate's
// success probability minus the chosen one's.
//
// Run: build/examples/bandit [--arms A] [--pulls P] [--rounds R] [--seed S] [--threads T] [--svg FILE]
// Prints the cumulative regret and the time of every round, and writes the plot to --svg.
// With --check, exits non-zero unless every policy learns: its regret per pull in the last round is
// below 0.6 of the first round's (where all arms are still at the prior N(0, I)). Which policy wins
// is not checked: in this regime (many arms, few pulls of each) greedy did best on every seed tried
// (README, "Many related problems").
#include <ngvi/ngvi.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/svg_plot.hpp"

namespace {

constexpr int kDimension = 8;
constexpr int kCandidates = 10;
constexpr double kEpsilon = 0.1;

struct Settings {
  std::size_t arms = 10000, pulls = 100000;
  int rounds = 20, threads = 0;
  std::uint64_t seed = 1;
  std::string svg;
  bool check = false;
};

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--check") {
      s.check = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bandit: %s needs a value\n", flag.c_str());
      std::exit(2);
    }
    const char* value = argv[++i];
    if (flag == "--arms") s.arms = std::stoul(value);
    else if (flag == "--pulls") s.pulls = std::stoul(value);
    else if (flag == "--rounds") s.rounds = std::stoi(value);
    else if (flag == "--seed") s.seed = std::stoull(value);
    else if (flag == "--threads") s.threads = std::stoi(value);
    else if (flag == "--svg") s.svg = value;
    else {
      std::fprintf(stderr, "bandit: unknown option %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (s.arms < kCandidates || s.pulls == 0 || s.rounds < 1) {
    std::fprintf(stderr, "bandit: need --arms >= %d, --pulls >= 1, --rounds >= 1\n", kCandidates);
    std::exit(2);
  }
  return s;
}

double sigmoid(double a) { return 1.0 / (1.0 + std::exp(-a)); }

double dot(const double* a, const double* b) {
  double s = 0;
  for (int i = 0; i < kDimension; ++i) s += a[i] * b[i];
  return s;
}

// The world: true coefficients, and every pull's context, candidates and uniform reward draw.
struct World {
  std::vector<double> theta;  // (A, d)
  explicit World(const Settings& s) : theta(s.arms * kDimension) {
    std::mt19937_64 rng(s.seed);
    std::normal_distribution<double> normal;
    // Arms share a mean (a low base rate, features that matter) and differ around it.
    const double mean[kDimension] = {-1.5, 0.8, -0.5, 0.3, 0.0, 0.6, -0.2, 0.4};
    for (std::size_t a = 0; a < s.arms; ++a)
      for (int i = 0; i < kDimension; ++i) theta[a * kDimension + i] = mean[i] + 0.7 * normal(rng);
  }
};

struct Pulls {
  std::vector<double> x;              // (P, d)
  std::vector<std::uint32_t> arms;    // (P, K)
  std::vector<double> u;              // (P,): reward = u < p
  Pulls(const Settings& s, int round) : x(s.pulls * kDimension), arms(s.pulls * kCandidates), u(s.pulls) {
    std::mt19937_64 rng(s.seed * 1000003u + static_cast<std::uint64_t>(round) + 1);
    std::normal_distribution<double> normal;
    std::uniform_int_distribution<std::uint32_t> arm(0, static_cast<std::uint32_t>(s.arms - 1));
    std::uniform_real_distribution<double> uniform;
    for (std::size_t t = 0; t < s.pulls; ++t) {
      x[t * kDimension] = 1.0;
      for (int i = 1; i < kDimension; ++i) x[t * kDimension + i] = normal(rng) / std::sqrt(kDimension - 1.0);
      for (int k = 0; k < kCandidates; ++k) arms[t * kCandidates + k] = arm(rng);
      u[t] = uniform(rng);
    }
  }
};

enum class Policy { Thompson, Greedy, EpsilonGreedy };
const char* policy_name(Policy p) {
  return p == Policy::Thompson ? "thompson" : p == Policy::Greedy ? "greedy" : "epsilon-greedy";
}

// One policy's learner: the arms' posteriors and the history of a run.
struct Learner {
  Policy policy;
  ngvi::GaussianBatch<double> posterior;
  std::vector<double> cumulative_regret;        // after each round
  std::vector<double> decide_seconds, fit_seconds;
  double regret = 0;
  Learner(Policy p, std::size_t arms) : policy(p), posterior(arms, kDimension) {}  // N(0, I) to start
};

void play_round(Learner& learner, const World& world, const Pulls& pulls, const Settings& s, int round,
                const ngvi::Options& options) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  // The coefficients each arm is scored with: the posterior means, or for Thompson sampling a fresh
  // draw per arm every A pulls (so that a draw serves about one pull of its arm), keyed by the round
  // and the block.
  const std::size_t block = learner.policy == Policy::Thompson ? s.arms : s.pulls;
  const std::uint32_t blocks = static_cast<std::uint32_t>((s.pulls + block - 1) / block);
  std::vector<double> scores_from(learner.posterior.mean(), learner.posterior.mean() + s.arms * kDimension);
  std::mt19937_64 explore(s.seed * 7919u + static_cast<std::uint64_t>(round));
  std::uniform_real_distribution<double> uniform;
  std::uniform_int_distribution<int> candidate(0, kCandidates - 1);
  std::vector<std::uint32_t> chosen(s.pulls);
  std::vector<double> reward(s.pulls);
  for (std::size_t t = 0; t < s.pulls; ++t) {
    if (learner.policy == Policy::Thompson && t % block == 0)
      scores_from = ngvi::thompson_draws(learner.posterior, s.seed, static_cast<std::uint32_t>(round) * blocks +
                                                                         static_cast<std::uint32_t>(t / block));
    const double* x = &pulls.x[t * kDimension];
    const std::uint32_t* arms = &pulls.arms[t * kCandidates];
    int pick = 0;
    if (learner.policy == Policy::EpsilonGreedy && uniform(explore) < kEpsilon) {
      pick = candidate(explore);
    } else {
      double best = -INFINITY;
      for (int k = 0; k < kCandidates; ++k) {
        const double score = dot(x, &scores_from[arms[k] * kDimension]);
        if (score > best) best = score, pick = k;
      }
    }
    double best_p = 0;
    for (int k = 0; k < kCandidates; ++k) best_p = std::max(best_p, sigmoid(dot(x, &world.theta[arms[k] * kDimension])));
    const double p = sigmoid(dot(x, &world.theta[arms[pick] * kDimension]));
    learner.regret += best_p - p;
    chosen[t] = arms[pick];
    reward[t] = pulls.u[t] < p ? 1.0 : 0.0;
  }
  const auto decided = Clock::now();

  // The round's rows grouped by arm (a ragged layout), then one online round for every arm.
  std::vector<std::int64_t> offsets(s.arms + 1, 0);
  for (std::uint32_t a : chosen) ++offsets[a + 1];
  for (std::size_t a = 0; a < s.arms; ++a) offsets[a + 1] += offsets[a];
  std::vector<std::int64_t> next(offsets.begin(), offsets.end() - 1);
  std::vector<double> x(s.pulls * kDimension), y(s.pulls);
  for (std::size_t t = 0; t < s.pulls; ++t) {
    const std::int64_t row = next[chosen[t]]++;
    std::copy_n(&pulls.x[t * kDimension], kDimension, &x[row * kDimension]);
    y[row] = reward[t];
  }
  const ngvi::LogisticRegression<double> new_rows(
      ngvi::RegressionData<double>::ragged(x.data(), y.data(), offsets.data(), s.arms, kDimension));
  const ngvi::Summary summary = ngvi::fit_online_round(new_rows, learner.posterior, options);
  if (summary.failures() > 0)
    std::fprintf(stderr, "bandit: %s, round %d: %zu arms failed to fit\n", policy_name(learner.policy), round,
                 summary.failures());
  const auto fitted = Clock::now();
  learner.cumulative_regret.push_back(learner.regret);
  learner.decide_seconds.push_back(std::chrono::duration<double>(decided - start).count());
  learner.fit_seconds.push_back(std::chrono::duration<double>(fitted - decided).count());
}

void write_plot(const std::vector<Learner>& learners, const Settings& s) {
  ngvi::io::PlotPanel regret{"Cumulative regret", "pulls", "cumulative regret", false, false, {}, ""};
  ngvi::io::PlotPanel timing{"Time per round (decisions + online fit)", "round", "seconds", false, false, {}, ""};
  for (const Learner& l : learners) {
    ngvi::io::PlotSeries r{policy_name(l.policy), {0.0}, {0.0}, true}, t{policy_name(l.policy), {}, {}, true};
    for (std::size_t k = 0; k < l.cumulative_regret.size(); ++k) {
      r.x.push_back(static_cast<double>((k + 1) * s.pulls));
      r.y.push_back(l.cumulative_regret[k]);
      t.x.push_back(static_cast<double>(k + 1));
      t.y.push_back(l.decide_seconds[k] + l.fit_seconds[k]);
    }
    regret.series.push_back(r);
    timing.series.push_back(t);
  }
  const std::string title = "Contextual bandit: " + std::to_string(s.arms) + " arms (logistic, d = 8), rounds of " +
                            std::to_string(s.pulls) + " pulls, " + std::to_string(kCandidates) +
                            " candidate arms per pull";
  std::ofstream(s.svg) << ngvi::io::render_svg(title, {regret, timing});
}

}  // namespace

int main(int argc, char** argv) {
  const Settings s = parse(argc, argv);
  const World world(s);
  ngvi::Options options;  // estimator auto (exact quadrature for logistic), rule iblr
  options.num_threads = s.threads;
  // The default 1000 final draws per arm (for the ELBO's Monte Carlo error and PSIS k-hat, which a
  // quadrature fit does not need to converge) would cost more than the fit of a round's few rows.
  options.final_samples = 16;
  std::vector<Learner> learners;
  for (Policy p : {Policy::Thompson, Policy::Greedy, Policy::EpsilonGreedy}) learners.emplace_back(p, s.arms);

  std::printf("contextual bandit: %zu arms, d = %d, %d rounds of %zu pulls, %d candidates per pull, seed %llu\n",
              s.arms, kDimension, s.rounds, s.pulls, kCandidates, static_cast<unsigned long long>(s.seed));
  std::printf("%5s %10s  %-36s %-36s %-36s\n", "round", "pulls", "thompson: regret (decide s, fit s)",
              "greedy", "epsilon-greedy");
  for (int round = 0; round < s.rounds; ++round) {
    const Pulls pulls(s, round);
    for (Learner& l : learners) play_round(l, world, pulls, s, round, options);
    std::printf("%5d %10zu", round + 1, (round + 1) * s.pulls);
    for (const Learner& l : learners)
      std::printf("  %12.1f (%5.2f s, %5.2f s)      ", l.cumulative_regret.back(), l.decide_seconds.back(),
                  l.fit_seconds.back());
    std::printf("\n");
  }
  if (!s.svg.empty()) {
    write_plot(learners, s);
    std::printf("plot: %s\n", s.svg.c_str());
  }
  int status = 0;
  for (const Learner& l : learners) {
    const std::vector<double>& c = l.cumulative_regret;
    const double first = c.front(), last = c.size() > 1 ? c.back() - c[c.size() - 2] : c.back();
    if (s.check && !(last < 0.6 * first)) {
      std::fprintf(stderr, "bandit: %s did not learn: regret %.1f in the last round, %.1f in the first\n",
                   policy_name(l.policy), last, first);
      status = 1;
    }
  }
  return status;
}
