#pragma once
/// @file svg.hpp
/// Plain-text SVG of graph grids (no dependencies): each graph is drawn in its own cell with a
/// small Fruchterman-Reingold spring layout started from a circle (deterministic).
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "mgvae/models/graphgen/graph_data.hpp"

namespace mgvae::graphgen {

/// Node positions in [0,1]^2: circle start, then `iters` spring iterations.
inline std::vector<std::pair<double, double>> spring_layout(const Graph& g, int iters = 200) {
  const int n = static_cast<int>(g.n);
  std::vector<std::pair<double, double>> p(static_cast<std::size_t>(n));
  const double pi = 3.141592653589793;
  for (int i = 0; i < n; ++i)
    p[static_cast<std::size_t>(i)] = {0.5 + 0.4 * std::cos(2 * pi * i / std::max(n, 1)),
                                      0.5 + 0.4 * std::sin(2 * pi * i / std::max(n, 1))};
  if (n < 2) return p;
  const double k = std::sqrt(1.0 / n);
  double temp = 0.1;
  for (int it = 0; it < iters; ++it) {
    std::vector<std::pair<double, double>> disp(static_cast<std::size_t>(n), {0.0, 0.0});
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        if (i == j) continue;
        const double dx = p[static_cast<std::size_t>(i)].first - p[static_cast<std::size_t>(j)].first;
        const double dy = p[static_cast<std::size_t>(i)].second - p[static_cast<std::size_t>(j)].second;
        const double d = std::max(1e-4, std::sqrt(dx * dx + dy * dy));
        const double f = k * k / d;
        disp[static_cast<std::size_t>(i)].first += dx / d * f;
        disp[static_cast<std::size_t>(i)].second += dy / d * f;
      }
    for (auto [u, v] : g.edges) {
      auto& a = p[static_cast<std::size_t>(u)];
      auto& b = p[static_cast<std::size_t>(v)];
      const double dx = a.first - b.first, dy = a.second - b.second;
      const double d = std::max(1e-4, std::sqrt(dx * dx + dy * dy));
      const double f = d * d / k;
      disp[static_cast<std::size_t>(u)].first -= dx / d * f;
      disp[static_cast<std::size_t>(u)].second -= dy / d * f;
      disp[static_cast<std::size_t>(v)].first += dx / d * f;
      disp[static_cast<std::size_t>(v)].second += dy / d * f;
    }
    for (int i = 0; i < n; ++i) {
      auto& d = disp[static_cast<std::size_t>(i)];
      const double len = std::max(1e-9, std::sqrt(d.first * d.first + d.second * d.second));
      p[static_cast<std::size_t>(i)].first += d.first / len * std::min(len, temp);
      p[static_cast<std::size_t>(i)].second += d.second / len * std::min(len, temp);
    }
    temp *= 0.98;
  }
  double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
  for (auto [x, y] : p) {
    x0 = std::min(x0, x);
    x1 = std::max(x1, x);
    y0 = std::min(y0, y);
    y1 = std::max(y1, y);
  }
  const double s = std::max({x1 - x0, y1 - y0, 1e-9});
  for (auto& [x, y] : p) {
    x = 0.05 + 0.9 * (x - x0) / s;
    y = 0.05 + 0.9 * (y - y0) / s;
  }
  return p;
}

/// One SVG with labelled rows of graphs: rows[i] is drawn as a row titled titles[i].
inline std::string graphs_svg(const std::vector<std::vector<Graph>>& rows, const std::vector<std::string>& titles,
                              int cell = 140) {
  std::size_t cols = 1;
  for (const auto& r : rows) cols = std::max(cols, r.size());
  const int title_h = 22;
  const int W = static_cast<int>(cols) * cell, H = static_cast<int>(rows.size()) * (cell + title_h);
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
     << ' ' << H << "\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const int y0 = static_cast<int>(r) * (cell + title_h);
    os << "<text x=\"6\" y=\"" << y0 + 16 << "\" font-family=\"sans-serif\" font-size=\"14\">"
       << (r < titles.size() ? titles[r] : std::string()) << "</text>\n";
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      const Graph& g = rows[r][c];
      const double ox = static_cast<double>(c) * cell, oy = y0 + title_h;
      os << "<g>\n<rect x=\"" << ox + 2 << "\" y=\"" << oy + 2 << "\" width=\"" << cell - 4 << "\" height=\"" << cell - 4
         << "\" fill=\"none\" stroke=\"#ddd\"/>\n";
      const auto pos = spring_layout(g);
      for (auto [u, v] : g.edges)
        os << "<line x1=\"" << ox + pos[static_cast<std::size_t>(u)].first * cell << "\" y1=\""
           << oy + pos[static_cast<std::size_t>(u)].second * cell << "\" x2=\""
           << ox + pos[static_cast<std::size_t>(v)].first * cell << "\" y2=\""
           << oy + pos[static_cast<std::size_t>(v)].second * cell << "\" stroke=\"#555\" stroke-width=\"1\"/>\n";
      for (auto [x, y] : pos)
        os << "<circle cx=\"" << ox + x * cell << "\" cy=\"" << oy + y * cell << "\" r=\"3\" fill=\"#1f77b4\"/>\n";
      os << "<text x=\"" << ox + 6 << "\" y=\"" << oy + cell - 6 << "\" font-family=\"sans-serif\" font-size=\"10\" fill=\"#888\">n="
         << g.n << " m=" << g.edges.size() << "</text>\n</g>\n";
    }
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace mgvae::graphgen
