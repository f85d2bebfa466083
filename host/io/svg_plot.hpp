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

/// An SVG document with the panels side by side under a title.
std::string render_svg(const std::string& title, const std::vector<PlotPanel>& panels);

}  // namespace ngvi::io
