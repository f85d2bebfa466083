// Line plots written as self-contained SVG documents (no dependency; any browser opens them).
#pragma once

#include <string>
#include <vector>

namespace ngvi::io {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;  ///< points with a non-finite coordinate are left out (the line breaks there)
  bool markers = false;      ///< draw a dot at every point
};

struct PlotPanel {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  std::vector<PlotSeries> series;
  std::string note;  ///< one line under the legend (e.g. what could not be plotted)
};

/// An SVG document with the panels side by side under a title. Each axis runs from a labelled tick at or
/// below its smallest value to one at or above its largest (whole decades on a log axis).
std::string render_svg(const std::string& title, const std::vector<PlotPanel>& panels);

/// A tick's label: plain below 1e4 (0.25, 1500), else as written by hand (5e5, 2.5e4, 1e-6).
std::string tick_label(double value);

}  // namespace ngvi::io
