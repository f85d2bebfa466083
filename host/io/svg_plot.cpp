#include "io/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ngvi::io {
namespace {

constexpr double kPanelWidth = 520, kPanelHeight = 400;
constexpr double kLeft = 78, kRight = 18, kTop = 40, kBottom = 56;  // plot area margins inside a panel
constexpr double kLegendRow = 18;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

// Two legend entries a row when the labels are short enough to fit side by side.
std::size_t legend_columns(const PlotPanel& panel) {
  std::size_t longest = 0;
  for (const PlotSeries& s : panel.series) longest = std::max(longest, s.label.size());
  return longest <= 30 ? 2 : 1;
}

std::size_t legend_rows(const PlotPanel& panel) {
  const std::size_t columns = legend_columns(panel);
  return (panel.series.size() + columns - 1) / columns + (panel.note.empty() ? 0 : 1);
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// An axis: the data range mapped to pixels, linear or logarithmic, from a labelled tick at or below
// the smallest value to one at or above the largest, so that every point lies between labelled ticks.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;      // in axis units (log10 of the data when log)
  std::vector<double> ticks;  // in data units

  double unit(double v) const { return log ? std::log10(v) : v; }
  bool usable(double v) const { return std::isfinite(v) && (!log || v > 0); }
  double fraction(double v) const { return (unit(v) - lo) / (hi - lo); }
};

// A round step (1, 2, 2.5 or 5 times a power of ten) giving about six intervals over `range`.
double round_step(double range) {
  const double raw = range / 6;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0})
    if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

Axis make_axis(const std::vector<double>& values, bool log) {
  Axis axis;
  axis.log = log;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values)
    if (axis.usable(v)) {
      lo = std::min(lo, axis.unit(v));
      hi = std::max(hi, axis.unit(v));
    }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (log) {
    // Whole decades, every `stride`-th labelled so that there are at most 8; also 2 and 5 times each
    // power when there are only one or two.
    double first = std::floor(lo), last = std::max(std::ceil(hi), first + 1);
    const double stride = std::ceil((last - first) / 8);
    first = std::floor(first / stride) * stride;
    last = std::ceil(last / stride) * stride;
    axis.lo = first, axis.hi = last;
    const bool dense = last - first <= 2;
    for (double e = first; e <= last; e += stride)
      for (double m : dense ? std::vector<double>{1, 2, 5} : std::vector<double>{1})
        if (e + std::log10(m) <= last + 1e-9) axis.ticks.push_back(m * std::pow(10.0, e));
    return axis;
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) lo -= 0.5, hi += 0.5;
  const double step = round_step(hi - lo);
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  axis.lo = first * step, axis.hi = last * step;
  for (double k = first; k <= last; ++k) axis.ticks.push_back(k == 0 ? 0.0 : k * step);
  return axis;
}

std::string render_panel(const PlotPanel& panel, double x0) {
  std::vector<double> xs, ys;
  for (const PlotSeries& s : panel.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  const Axis ax = make_axis(xs, panel.log_x), ay = make_axis(ys, panel.log_y);
  const double left = x0 + kLeft, top = kTop, width = kPanelWidth - kLeft - kRight,
               height = kPanelHeight - kTop - kBottom;
  auto px = [&](double v) { return left + ax.fraction(v) * width; };
  auto py = [&](double v) { return top + (1 - ay.fraction(v)) * height; };

  std::string out;
  out += fmt::format("<text x=\"{:.1f}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
                     left + width / 2, escape(panel.title));
  out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#444\"/>\n",
                     left, top, width, height);
  for (double t : ax.ticks) {
    const double x = px(t);
    out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n", x, top,
                       top + height);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n", x,
                       top + height + 15, tick_label(t));
  }
  for (double t : ay.ticks) {
    const double y = py(t);
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left, y,
                       left + width, y);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n", left - 5,
                       y + 4, tick_label(t));
  }
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n",
                     left + width / 2, top + height + 34, escape(panel.x_label));
  out += fmt::format(
      "<text x=\"{0:.1f}\" y=\"{1:.1f}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 {0:.1f} {1:.1f})\">{2}</text>\n",
      x0 + 16, top + height / 2, escape(panel.y_label));

  out += fmt::format("<svg x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" viewBox=\"{:.1f} {:.1f} {:.1f} {:.1f}\">\n",
                     left, top, width, height, left, top, width, height);  // clips the lines to the plot area
  for (std::size_t i = 0; i < panel.series.size(); ++i) {
    const PlotSeries& s = panel.series[i];
    const char* color = kColors[i % std::size(kColors)];
    std::string points;
    auto flush = [&] {
      if (!points.empty())
        out += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", color, points);
      points.clear();
    };
    for (std::size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k) {
      if (!ax.usable(s.x[k]) || !ay.usable(s.y[k])) {
        flush();
        continue;
      }
      points += fmt::format("{:.2f},{:.2f} ", px(s.x[k]), py(s.y[k]));
      if (s.markers)
        out += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\" fill=\"{}\"/>\n", px(s.x[k]), py(s.y[k]), color);
    }
    flush();
  }
  out += "</svg>\n";

  const std::size_t columns = legend_columns(panel);
  for (std::size_t i = 0; i < panel.series.size(); ++i) {
    const double lx = left + static_cast<double>(i % columns) * width / static_cast<double>(columns);
    const double ly = top + height + 52 + static_cast<double>(i / columns) * kLegendRow;
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"3\"/>\n",
                       lx, ly - 4, lx + 22, ly - 4, kColors[i % std::size(kColors)]);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\">{}</text>\n", lx + 28, ly,
                       escape(panel.series[i].label));
  }
  if (!panel.note.empty()) {
    const double rows = std::ceil(static_cast<double>(panel.series.size()) / static_cast<double>(columns));
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" fill=\"#555\">{}</text>\n", left,
                       top + height + 52 + rows * kLegendRow, escape(panel.note));
  }
  return out;
}

}  // namespace

std::string tick_label(double value) {
  const double a = std::abs(value);
  if (a == 0 || (a >= 1e-3 && a < 1e4)) return fmt::format("{:g}", value);
  // As written by hand: 5e5, 2.5e4, 1e-6 (not 500000, 2.5e+04 or 1e-06).
  int exponent = static_cast<int>(std::floor(std::log10(a)));
  double mantissa = value / std::pow(10.0, exponent);
  if (std::abs(std::round(mantissa * 100) / 100) >= 10) mantissa /= 10, ++exponent;  // 9.999e4 rounds to 1e5
  return fmt::format("{:.3g}e{}", mantissa, exponent);
}

std::string render_svg(const std::string& title, const std::vector<PlotPanel>& panels) {
  std::size_t rows = 0;
  for (const PlotPanel& p : panels) rows = std::max(rows, legend_rows(p));
  const double width = kPanelWidth * static_cast<double>(std::max<std::size_t>(panels.size(), 1));
  const double height = 30 + kPanelHeight + static_cast<double>(rows) * kLegendRow + 10;
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"Helvetica, Arial, sans-serif\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2:.1f}\" y=\"22\" font-size=\"17\" font-weight=\"bold\" text-anchor=\"middle\">{3}</text>\n"
      "<g transform=\"translate(0 30)\">\n",
      width, height, width / 2, escape(title));
  for (std::size_t i = 0; i < panels.size(); ++i) svg += render_panel(panels[i], kPanelWidth * static_cast<double>(i));
  svg += "</g>\n</svg>\n";
  return svg;
}

}  // namespace ngvi::io
