// Progress of a running fit on stderr, and stopping it cleanly on Ctrl-C.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "ngvi/options.hpp"

namespace ngvi::cli {

/// Draws the progress of a fit through Options::progress: a bar redrawn in place when stderr is a
/// terminal, a line every few seconds with --verbose otherwise, nothing with --quiet.
///
/// While it lives, the first SIGINT asks the fit to stop after the current step (the callback returns
/// false and interrupted() turns true); a second one ends the process as usual.
class ProgressDisplay {
 public:
  enum class Mode { Off, Bar, Lines };
  /// Bar when stderr is a terminal and not quiet, Lines when verbose, else Off.
  static Mode choose(bool quiet, bool verbose);

  ProgressDisplay(Mode mode, int max_steps, std::size_t batch_size);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  Mode mode() const { return mode_; }
  /// The callback to put in Options::progress.
  std::function<bool(const Progress&)> callback();
  /// Erases the bar; call when the fit returns.
  void finish();
  /// True once SIGINT was received.
  bool interrupted() const;

 private:
  void draw(const Progress& progress);

  Mode mode_;
  int max_steps_;
  std::size_t batch_size_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
  std::size_t previous_active_;
  double distribution_steps_ = 0;
  void (*previous_handler_)(int) = nullptr;
};

}  // namespace ngvi::cli
