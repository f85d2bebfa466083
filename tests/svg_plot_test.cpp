// The SVG plots of `ngvi demo` (host/io/svg_plot): tick labels written as by hand, and axes that run
// from a labelled tick at or below the data to one at or above it, read back from the SVG itself.
#include "io/svg_plot.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <string>
#include <vector>

namespace {

using ngvi::io::PlotPanel;
using ngvi::io::PlotSeries;
using ngvi::io::render_svg;
using ngvi::io::tick_label;

TEST(TickLabel, PlainBelowTenThousandAndShortScientificAbove) {
  EXPECT_EQ(tick_label(0), "0");
  EXPECT_EQ(tick_label(0.25), "0.25");
  EXPECT_EQ(tick_label(1500), "1500");
  EXPECT_EQ(tick_label(-250), "-250");
  EXPECT_EQ(tick_label(500000), "5e5");
  EXPECT_EQ(tick_label(-500000), "-5e5");
  EXPECT_EQ(tick_label(25000), "2.5e4");
  EXPECT_EQ(tick_label(1e-6), "1e-6");
  EXPECT_EQ(tick_label(99999.5), "1e5");  // the mantissa rounds up to 10
  EXPECT_EQ(tick_label(1e20), "1e20");
}

// A y tick read from the SVG: its value (parsed from its label) and its pixel row.
struct Tick {
  double value, y;
};

double parse_label(const std::string& label) {
  EXPECT_TRUE(std::regex_match(label, std::regex(R"(-?\d+(\.\d+)?(e-?\d+)?)"))) << label;
  EXPECT_EQ(label.find("0000"), std::string::npos) << label;  // 5e5, never 500000
  return std::stod(label);
}

// The y axis's labelled ticks (labels right-aligned left of the plot) and every plotted point's row.
void read_plot(const std::string& svg, std::vector<Tick>& ticks, std::vector<double>& rows) {
  const std::regex label(R"re(<text x="[\d.]+" y="([\d.]+)" font-size="11" text-anchor="end">([^<]*)</text>)re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator(); ++it)
    ticks.push_back({parse_label((*it)[2]), std::stod((*it)[1]) - 4});
  const std::regex polyline(R"re(points="([^"]*)")re"), point(R"(([\d.]+),([\d.]+))");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline); it != std::sregex_iterator(); ++it) {
    const std::string points = (*it)[1];
    for (auto p = std::sregex_iterator(points.begin(), points.end(), point); p != std::sregex_iterator(); ++p)
      rows.push_back(std::stod((*p)[2]));
  }
}

PlotPanel panel_of(const std::vector<double>& y, bool log_y) {
  PlotPanel panel;
  panel.title = "t";
  panel.log_x = true;
  panel.log_y = log_y;
  PlotSeries s;
  for (std::size_t k = 0; k < y.size(); ++k) {
    s.x.push_back(static_cast<double>(k + 1));
    s.y.push_back(y[k]);
  }
  panel.series.push_back(s);
  return panel;
}

// Every point lies between the lowest and the highest labelled tick, and the ticks hug the data: no
// whole tick interval (no decade, on a log axis) beyond the data on either side.
void expect_tight_labelled_range(const std::vector<double>& y, bool log_y) {
  std::vector<Tick> ticks;
  std::vector<double> rows;
  read_plot(render_svg("plot", {panel_of(y, log_y)}), ticks, rows);
  ASSERT_GE(ticks.size(), 3u);
  ASSERT_EQ(rows.size(), y.size());
  ASSERT_LE(ticks.size(), 10u);
  std::sort(ticks.begin(), ticks.end(), [](const Tick& a, const Tick& b) { return a.value < b.value; });
  const Tick& low = ticks.front();
  const Tick& high = ticks.back();
  for (double row : rows) {
    EXPECT_LE(row, low.y + 0.01);   // pixel rows grow downwards
    EXPECT_GE(row, high.y - 0.01);
  }
  const double lo = *std::min_element(y.begin(), y.end()), hi = *std::max_element(y.begin(), y.end());
  EXPECT_LE(low.value, lo);
  EXPECT_GE(high.value, hi);
  auto unit = [&](double v) { return log_y ? std::log10(v) : v; };
  const double step = unit(ticks[1].value) - unit(ticks[0].value);
  if (!log_y || step >= 1) {  // evenly spaced ticks: linear, or one per decade or more
    EXPECT_GT(unit(low.value) + step, unit(lo) - 1e-9 * step);
    EXPECT_LT(unit(high.value) - step, unit(hi) + 1e-9 * step);
  }
}

TEST(SvgPlot, LinearAxisOfLargeValuesRunsFromLabelledTickToLabelledTick) {
  std::vector<double> y;
  for (int k = 0; k < 50; ++k) y.push_back(312000 + 385000 * std::sqrt(k / 49.0));
  expect_tight_labelled_range(y, false);
}

TEST(SvgPlot, LinearAxisOfNegativeElbos) {
  std::vector<double> y;
  for (int k = 0; k < 50; ++k) y.push_back(-138.6 + 60.2 * (1 - std::exp(-k / 5.0)));
  expect_tight_labelled_range(y, false);
}

TEST(SvgPlot, LogAxisOfGapsOverManyDecades) {
  std::vector<double> y;
  for (int k = 0; k < 50; ++k) y.push_back(450 * std::pow(10.0, -k * 11.2 / 49));
  expect_tight_labelled_range(y, true);
}

TEST(SvgPlot, LogAxisWithinTwoDecades) {
  expect_tight_labelled_range({0.031, 0.2, 1.7, 2.9}, true);
}

}  // namespace
