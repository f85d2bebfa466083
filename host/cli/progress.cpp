#include "cli/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>

namespace ngvi::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

constexpr int kBarWidth = 24;

}  // namespace

ProgressDisplay::Mode ProgressDisplay::choose(bool quiet, bool verbose) {
  if (quiet) return Mode::Off;
  if (isatty(STDERR_FILENO)) return Mode::Bar;
  return verbose ? Mode::Lines : Mode::Off;
}

ProgressDisplay::ProgressDisplay(Mode mode, int max_steps, std::size_t batch_size)
    : mode_(mode), max_steps_(max_steps), batch_size_(batch_size), previous_active_(batch_size) {
  g_interrupted = 0;
  previous_handler_ = std::signal(SIGINT, on_interrupt);
}

ProgressDisplay::~ProgressDisplay() {
  finish();
  std::signal(SIGINT, previous_handler_ == SIG_ERR ? SIG_DFL : previous_handler_);
}

bool ProgressDisplay::interrupted() const { return g_interrupted != 0; }

std::function<bool(const Progress&)> ProgressDisplay::callback() {
  return [this](const Progress& progress) {
    if (mode_ != Mode::Off) draw(progress);
    return g_interrupted == 0;
  };
}

void ProgressDisplay::draw(const Progress& p) {
  // Every distribution active before this step took it.
  distribution_steps_ += static_cast<double>(previous_active_);
  previous_active_ = p.active;
  const auto now = std::chrono::steady_clock::now();
  const bool last = p.active == 0 || p.iteration >= max_steps_;
  const auto interval = mode_ == Mode::Bar ? std::chrono::milliseconds(100) : std::chrono::milliseconds(2000);
  if (!last && drawn_ && now - last_draw_ < interval) return;
  last_draw_ = now;
  drawn_ = true;
  // The fit ends when every distribution has converged or at the step budget, whichever comes first.
  const double done = std::max(static_cast<double>(batch_size_ - p.active) / static_cast<double>(batch_size_),
                               static_cast<double>(p.iteration) / max_steps_);
  const std::string elbo = std::isnan(p.mean_elbo) ? std::string() : fmt::format("  mean ELBO {:.6g}", p.mean_elbo);
  const std::string text =
      fmt::format("step {}/{}  active {}/{}{}  {:.3g} distribution-steps/s  {:.1f} s", p.iteration, max_steps_,
                  p.active, batch_size_, elbo, p.seconds > 0 ? distribution_steps_ / p.seconds : 0.0, p.seconds);
  if (mode_ == Mode::Bar) {
    const int filled = static_cast<int>(std::lround(done * kBarWidth));
    std::fprintf(stderr, "\r\033[K[%s%s] %s", std::string(filled, '#').c_str(),
                 std::string(kBarWidth - filled, '.').c_str(), text.c_str());
  } else {
    std::fprintf(stderr, "ngvi: %s\n", text.c_str());
  }
  std::fflush(stderr);
}

void ProgressDisplay::finish() {
  if (mode_ == Mode::Bar && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  drawn_ = false;
}

}  // namespace ngvi::cli
