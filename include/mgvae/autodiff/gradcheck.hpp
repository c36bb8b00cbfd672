#pragma once
/// @file gradcheck.hpp
/// Public finite-difference gradient checker (Stan `expect_ad` + flashlight's full Jacobian +
/// ggml's per-op overrides). Compares the tape's vector-Jacobian products with central
/// differences in double precision.
///
/// For outputs with at most `full_jacobian_max_outputs` elements the whole Jacobian is checked
/// (one backward pass per output element with a one-hot seed); larger outputs are checked along
/// `random_projections` random seeds u (the gradient of <u, f(x)>).
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"

namespace mgvae {

struct GradcheckOptions {
  double eps = 1e-6;         ///< finite-difference step (scaled by max(1,|x|) when relative_step)
  double rtol = 1e-5;        ///< relative tolerance
  double atol = 1e-7;        ///< absolute tolerance
  bool four_point = true;    ///< 4-point stencil (O(h^4)) instead of 2-point
  bool relative_step = false;
  std::int64_t full_jacobian_max_outputs = 64;
  int random_projections = 3;
  std::uint64_t seed = 12345;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0, max_rel_err = 0;
  std::int64_t checked = 0;  ///< number of Jacobian entries (or projected gradients) compared
  std::string message;       ///< first failure, human readable
};

/// Checks the gradient of `f` at `inputs` with respect to the inputs flagged in `wrt`
/// (all if empty). `f` must be a deterministic function of its inputs.
inline GradcheckResult gradcheck(const std::function<Var<double>(const std::vector<Var<double>>&)>& f,
                                 const std::vector<Tensor<double>>& inputs, const GradcheckOptions& opt = {},
                                 std::vector<bool> wrt = {}) {
  if (wrt.empty()) wrt.assign(inputs.size(), true);
  if (wrt.size() != inputs.size()) throw_invalid("gradcheck", "wrt must have one flag per input");
  GradcheckResult res;
  std::vector<Tensor<double>> xs;
  for (const auto& t : inputs) xs.push_back(t.clone());

  auto eval = [&](const std::vector<Tensor<double>>& vals) {
    NoGradGuard ng;
    std::vector<Var<double>> vs;
    for (const auto& t : vals) vs.emplace_back(t, false);
    return f(vs).value().clone();  // a copy: f may return a view of its input, which at() restores
  };
  const Tensor<double> y0 = eval(xs);
  const std::int64_t m = y0.numel();

  // Seeds: one-hot rows of the Jacobian, or random projections.
  std::vector<Tensor<double>> seeds;
  if (m <= opt.full_jacobian_max_outputs) {
    for (std::int64_t o = 0; o < m; ++o) {
      auto s = Tensor<double>::zeros(y0.shape());
      s.data()[o] = 1.0;
      seeds.push_back(s);
    }
  } else {
    for (int r = 0; r < opt.random_projections; ++r)
      seeds.push_back(Tensor<double>::randn(y0.shape(), CounterRng(opt.seed, static_cast<std::uint64_t>(r))));
  }

  // Analytic: one backward pass per seed.
  std::vector<std::vector<Tensor<double>>> analytic(seeds.size());
  for (std::size_t s = 0; s < seeds.size(); ++s) {
    std::vector<Var<double>> vs;
    for (std::size_t i = 0; i < xs.size(); ++i) vs.emplace_back(xs[i].clone(), static_cast<bool>(wrt[i]));
    Var<double> y = f(vs);
    check_same_shape("gradcheck", "output", y.shape(), "first evaluation", y0.shape());
    if (y.requires_grad()) backward(y, seeds[s]);
    else Tape::local().clear();
    for (std::size_t i = 0; i < xs.size(); ++i)
      analytic[s].push_back(vs[i].grad().defined() ? vs[i].grad().clone() : Tensor<double>::zeros(xs[i].shape()));
  }

  // Numeric: perturb each input element, project the output difference on every seed.
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!wrt[i]) continue;
    const std::int64_t n = xs[i].numel();
    for (std::int64_t k = 0; k < n; ++k) {
      double* p = xs[i].data() + k;
      const double x0 = *p;
      const double h = opt.relative_step ? opt.eps * std::max(1.0, std::abs(x0)) : opt.eps;
      auto at = [&](double v) {
        *p = v;
        Tensor<double> y = eval(xs);
        *p = x0;
        return y;
      };
      Tensor<double> yp = at(x0 + h), ym = at(x0 - h);
      Tensor<double> yp2, ym2;
      if (opt.four_point) {
        yp2 = at(x0 + 2 * h);
        ym2 = at(x0 - 2 * h);
      }
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        const double* u = seeds[s].data();
        double d1 = 0, d2 = 0;
        for (std::int64_t o = 0; o < m; ++o) {
          d1 += u[o] * (yp.data()[o] - ym.data()[o]);
          if (opt.four_point) d2 += u[o] * (yp2.data()[o] - ym2.data()[o]);
        }
        const double num = opt.four_point ? (8.0 * d1 - d2) / (12.0 * h) : d1 / (2.0 * h);
        const double ana = analytic[s][i].contiguous().data()[k];
        const double err = std::abs(num - ana);
        const double rel = err / std::max(std::abs(num), std::abs(ana));
        ++res.checked;
        if (std::isfinite(err)) res.max_abs_err = std::max(res.max_abs_err, err);
        if (std::isfinite(rel)) res.max_rel_err = std::max(res.max_rel_err, rel);
        const bool bad = !(err <= opt.atol + opt.rtol * std::max(std::abs(num), std::abs(ana)));
        if (bad && res.ok) {
          res.ok = false;
          std::ostringstream os;
          os << "gradcheck: input " << i << " element " << k << ", seed " << s << ": analytic " << ana
             << " vs numeric " << num << " (abs err " << err << ")";
          res.message = os.str();
        }
      }
    }
  }
  return res;
}

}  // namespace mgvae
