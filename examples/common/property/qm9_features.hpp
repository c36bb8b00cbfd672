#pragma once
/// @file qm9_features.hpp
/// Unsupervised QM9 property prediction (paper §5.2 "unsupervised molecular representation
/// learning", App. D.3, Table 3 top): invariant molecule features from a trained MGVAE and one
/// MLP regressor per target on top of them.
///
///   feature:    f(G) = (1/n) Σ_i μ_i(G)  ∈ ℝ^d     μ [n, d] = posterior mean of the finest-level
///               (input-resolution) node latents of the second-order encoder q(Z | A, X).
///               μ is S_n-equivariant (μ(σ·G) = σ·μ(G)), so the node mean is S_n-invariant
///               (paper Prop. 2); tests/models/property/qm9_features.test.cpp checks it.
///   regressor:  ŷ = W_3 σ(W_2 σ(W_1 x̃ + b_1) + b_2) + b_3,   x̃ = (f − m) / s
///               (2 hidden layers of 512, sigmoid σ; m, s = per-feature mean / std of the
///               training features), trained with Adam on an L1 (default) or MSE loss; the epoch
///               with the best validation MAE is kept (no selection on the test set).
///
/// Also: Table 9 of the paper (units, means and standard deviations of the 13 targets, the paper's
/// MGVAE MAE). The target / split files are read with mgvae/data/qm9_files.hpp (no RDKit), so this
/// header and its tests stay chemistry-free.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mgvae/autodiff/no_grad.hpp"
#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/arena.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/data/qm9_files.hpp"
#include "mgvae/models/molgen/graph.hpp"
#include "mgvae/models/molgen/model.hpp"
#include "common/molgen/train.hpp"
#include "mgvae/nn/finite.hpp"
#include "mgvae/nn/mlp.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/nn/optim.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/loss.hpp"
#include "mgvae/ops/reduce.hpp"
#include "mgvae/ops/shape.hpp"

namespace mgvae::models::property {

// ---- Table 9 ---------------------------------------------------------------------------------

/// One row of the paper's Table 9 plus the paper's unsupervised MGVAE MAE (Table 3 top).
struct Qm9TargetInfo {
  std::string name;  ///< file name under qm9/targets/
  std::string unit;
  double mean = 0;   ///< physical mean (Table 9)
  double std = 1;    ///< physical standard deviation (Table 9): MAE_phys = std · MAE_standardised
  double paper_mae = 0;  ///< MGVAE, Table 3 top, physical units
};

/// The 13 targets in the order of the paper's tables (and data::qm9_target_names()).
inline const std::vector<Qm9TargetInfo>& qm9_table9() {
  static const std::vector<Qm9TargetInfo> t = {
      {"alpha", "bohr^3", 75.2808, 8.1729, 2.83},      {"Cv", "cal/mol/K", 31.6204, 4.0674, 0.91},
      {"G", "eV", -70.8352, 9.4975, 1.78},             {"gap", "eV", 6.8583, 1.2841, 0.66},
      {"H", "eV", -77.0167, 10.4884, 1.87},            {"HOMO", "eV", -6.5362, 0.5977, 0.34},
      {"LUMO", "eV", 0.3220, 1.2748, 0.58},            {"mu", "D", 2.6729, 1.5034, 0.95},
      {"omega1", "cm^-1", 3504.1155, 266.8982, 195.0}, {"R2", "bohr^2", 1189.4091, 280.4725, 90.0},
      {"U", "eV", -76.5789, 10.4143, 1.89},            {"U0", "eV", -76.1145, 10.3229, 1.90},
      {"ZPVE", "eV", 4.0568, 0.9016, 0.14}};
  return t;
}

/// Table 9 row of a target. @throw std::invalid_argument for an unknown name.
inline const Qm9TargetInfo& qm9_target_info(const std::string& name) {
  for (const auto& r : qm9_table9())
    if (r.name == name) return r;
  throw_invalid("qm9_target_info", "unknown QM9 target '" + name + "'");
}

// The target and split files are read with data::read_qm9_target / data::read_qm9_split
// (mgvae/data/qm9_files.hpp, no RDKit): ParseError(file, line) on NaN, count mismatches, bad rows.

// ---- features --------------------------------------------------------------------------------

/// Per-graph mean of node rows: h [N, d] → [B, d]. Graphs with no nodes get zeros.
/// @throw std::invalid_argument if h is not [b.nodes(), d].
template <class T>
Tensor<T> mean_pool_nodes(const RaggedBatch& b, const Tensor<T>& h) {
  check_arg(h.dim() == 2 && h.size(0) == b.nodes(), "mean_pool_nodes", "h",
            "must be [N, d] with N = " + std::to_string(b.nodes()) + ", got " + shape_str(h.shape()));
  const Tensor<T> c = h.contiguous();
  const std::int64_t d = c.size(1), B = b.graphs();
  Tensor<T> out = Tensor<T>::zeros(Shape{B, d});
  for (std::int64_t g = 0; g < B; ++g) {
    const std::int64_t n = b.size(g);
    if (n == 0) continue;
    std::vector<double> s(static_cast<std::size_t>(d), 0.0);
    double* acc = s.data();
    for (std::int64_t i = b.node_off[g]; i < b.node_off[g + 1]; ++i)
      for (std::int64_t k = 0; k < d; ++k) acc[k] += static_cast<double>(c.data()[i * d + k]);
    for (std::int64_t k = 0; k < d; ++k) out.data()[g * d + k] = static_cast<T>(acc[k] / static_cast<double>(n));
  }
  return out;
}

/// Invariant molecule features of a trained molgen::MolGenModel: the mean over atoms of the
/// finest-level posterior mean μ (no sampling, no gradient) → [B, d].
template <class T>
Tensor<T> molgen_mean_features(const molgen::MolGenModel<T>& model, const molgen::MolBatch<T>& mb) {
  NoGradGuard ng;
  const auto post = model.encoder().forward(mb.b, constant(mb.A), constant(mb.X));
  return mean_pool_nodes(mb.b, post.mu.value());
}

// ---- metrics ---------------------------------------------------------------------------------

/// Mean absolute error. @throw std::invalid_argument for different sizes or empty inputs.
inline double mean_absolute_error(const std::vector<double>& pred, const std::vector<double>& y) {
  check_arg(pred.size() == y.size(), "mean_absolute_error", "pred",
            "has " + std::to_string(pred.size()) + " values but y has " + std::to_string(y.size()));
  check_arg(!y.empty(), "mean_absolute_error", "y", "must not be empty");
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += std::abs(pred[i] - y[i]);
  return s / static_cast<double>(y.size());
}

// ---- regressor -------------------------------------------------------------------------------

struct PropertyMlpConfig {
  std::int64_t in = 256;       ///< feature size
  std::int64_t hidden = 512;   ///< width of each hidden layer (paper: 512)
  int hidden_layers = 2;       ///< paper: 2
  nn::Activation act = nn::Activation::Sigmoid;  ///< paper: sigmoid
  std::uint64_t seed = 1;
};

/// x [B, in] → ŷ [B]: hidden layers of `hidden` units with `act`, then a linear output. Inputs are
/// standardised with fixed (non-trainable) per-feature shift/scale set by set_standardization.
template <class T>
class PropertyMLP : public nn::Module<T> {
 public:
  /// @throw std::invalid_argument for non-positive sizes or hidden_layers < 0.
  explicit PropertyMLP(const PropertyMlpConfig& c) : cfg_(c) {
    check_arg(c.in >= 1 && c.hidden >= 1 && c.hidden_layers >= 0, "PropertyMLP", "config",
              "in, hidden must be >= 1 and hidden_layers >= 0");
    std::vector<std::int64_t> sizes{c.in};
    for (int l = 0; l < c.hidden_layers; ++l) sizes.push_back(c.hidden);
    sizes.push_back(1);
    CounterRng rng(c.seed, 0x716d39);
    mlp_ = this->register_module("mlp", std::make_shared<nn::MLP<T>>(sizes, rng, c.act, nn::Activation::None));
    shift_ = Tensor<T>::zeros(Shape{c.in});
    scale_ = Tensor<T>::ones(Shape{c.in});
  }
  /// x̃ = (x − shift) · scale. @throw std::invalid_argument if a vector is not [in].
  void set_standardization(const Tensor<T>& shift, const Tensor<T>& scale) {
    check_arg(shift.shape() == Shape{cfg_.in} && scale.shape() == Shape{cfg_.in}, "PropertyMLP::set_standardization",
              "shift/scale", "must be [" + std::to_string(cfg_.in) + "]");
    shift_ = shift.contiguous().clone();
    scale_ = scale.contiguous().clone();
  }
  /// x [B, in] → [B]. @throw std::invalid_argument if x is not [B, in].
  Var<T> forward(const Var<T>& x) const {
    check_arg(x.dim() == 2 && x.size(1) == cfg_.in, "PropertyMLP::forward", "x",
              "must be [B, " + std::to_string(cfg_.in) + "], got " + shape_str(x.shape()));
    const Var<T> xs = mul(sub(x, constant(shift_)), constant(scale_));
    return reshape(mlp_->forward(xs), Shape{x.size(0)});
  }
  const PropertyMlpConfig& config() const noexcept { return cfg_; }

 private:
  PropertyMlpConfig cfg_;
  std::shared_ptr<nn::MLP<T>> mlp_;
  Tensor<T> shift_, scale_;
};

/// Per-column mean and 1/std (std floored at 1e-6) of x [N, d].
template <class T>
std::pair<Tensor<T>, Tensor<T>> feature_standardization(const Tensor<T>& x) {
  const Tensor<T> c = x.contiguous();
  const std::int64_t N = c.size(0), d = c.size(1);
  std::vector<double> m(static_cast<std::size_t>(d), 0.0), v(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t k = 0; k < d; ++k) m[k] += static_cast<double>(c.data()[i * d + k]);
  for (auto& a : m) a /= std::max<double>(1, static_cast<double>(N));
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t k = 0; k < d; ++k) {
      const double e = static_cast<double>(c.data()[i * d + k]) - m[k];
      v[k] += e * e;
    }
  Tensor<T> shift(Shape{d}), scale(Shape{d});
  for (std::int64_t k = 0; k < d; ++k) {
    shift.data()[k] = static_cast<T>(m[k]);
    scale.data()[k] = static_cast<T>(1.0 / std::max(1e-6, std::sqrt(v[k] / std::max<double>(1, static_cast<double>(N)))));
  }
  return {shift, scale};
}

enum class RegressionLoss { L1, MSE };

struct MlpFitConfig {
  int epochs = 30;
  std::int64_t batch = 128;
  double lr = 1e-3;
  double lr_decay = 0.5;     ///< factor applied when the validation MAE has not improved for `patience` epochs
  int patience = 3;
  double min_lr = 1e-5;
  RegressionLoss loss = RegressionLoss::L1;
  double time_budget_s = 0;  ///< stop after the epoch that crosses it (0 = none)
  std::uint64_t seed = 1;
};

struct MlpFitResult {
  int best_epoch = 0, epochs_run = 0;
  double best_val_mae = std::numeric_limits<double>::infinity();
  double train_mae_at_best = 0;
  std::vector<double> val_history, train_history, epoch_seconds;
};

/// Everything fit_property_mlp carries from one epoch to the next (a trainer's --resume saves it
/// after an epoch and hands it back to continue bit-identically).
template <class T>
struct MlpFitState {
  int epoch = 0;                       ///< epochs done
  bool stopped = false;                ///< the time budget ended the fit after `epoch`
  std::vector<std::int64_t> order;     ///< the shuffled training order after `epoch`
  std::uint64_t shuffle_position = 0;  ///< position of the shuffle stream CounterRng(seed, 0x6d6c70)
  int since_best = 0;                  ///< epochs since the best validation MAE (learning-rate halving)
  double lr = 0, spent = 0;            ///< current learning rate, training seconds so far
  MlpFitResult res;                    ///< histories and best-validation bookkeeping so far
  std::vector<Tensor<T>> best;         ///< parameters (model.parameters() order) of the best epoch so far
};

/// Optional hooks of fit_property_mlp: `begin` is called once after the optimiser is created and may
/// replace the state, the optimiser's state and the model's parameters (resuming); `after_epoch`
/// after every epoch (saving).
template <class T>
struct MlpFitHooks {
  std::function<void(MlpFitState<T>&, nn::Adam<T>&)> begin;
  std::function<void(const MlpFitState<T>&, const nn::Adam<T>&)> after_epoch;
};

/// Predictions of `model` for rows of x [N, in], in chunks (no gradient).
template <class T>
std::vector<double> predict_rows(const PropertyMLP<T>& model, const Tensor<T>& x, std::int64_t chunk = 4096) {
  NoGradGuard ng;
  const Tensor<T> c = x.contiguous();
  const std::int64_t N = c.size(0), d = c.size(1);
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(N));
  for (std::int64_t s = 0; s < N; s += chunk) {
    ArenaScope scope;
    const std::int64_t m = std::min(chunk, N - s);
    Tensor<T> xb(Shape{m, d});
    std::copy(c.data() + s * d, c.data() + (s + m) * d, xb.data());
    const Tensor<T> p = model.forward(constant(xb)).value().contiguous();
    for (std::int64_t i = 0; i < m; ++i) out.push_back(static_cast<double>(p.data()[i]));
  }
  return out;
}

/// Trains `model` on (xtr, ytr) with Adam and mini-batches, evaluates the validation MAE after every
/// epoch and restores the parameters of the best epoch at the end. `on_epoch(epoch, train_mae,
/// val_mae, seconds)` is called after each epoch (may be empty).
/// @throw std::invalid_argument on mismatched sizes or empty sets.
template <class T>
MlpFitResult fit_property_mlp(PropertyMLP<T>& model, const Tensor<T>& xtr, const std::vector<double>& ytr,
                              const Tensor<T>& xval, const std::vector<double>& yval, const MlpFitConfig& cfg,
                              const std::function<void(int, double, double, double)>& on_epoch = {},
                              const MlpFitHooks<T>& hooks = {}) {
  constexpr const char* fn = "fit_property_mlp";
  check_arg(xtr.dim() == 2 && xtr.size(0) == static_cast<std::int64_t>(ytr.size()) && !ytr.empty(), fn, "train",
            "x must be [N, d] with N = ytr.size() > 0");
  check_arg(xval.dim() == 2 && xval.size(0) == static_cast<std::int64_t>(yval.size()) && !yval.empty(), fn, "val",
            "x must be [N, d] with N = yval.size() > 0");
  check_arg(cfg.batch >= 1 && cfg.epochs >= 0 && cfg.lr > 0, fn, "cfg", "batch >= 1, epochs >= 0, lr > 0");
  const Tensor<T> X = xtr.contiguous();
  const std::int64_t N = X.size(0), d = X.size(1);
  auto params = model.parameters();
  nn::Adam<T> opt(params, static_cast<T>(cfg.lr));
  MlpFitState<T> st;
  for (const auto& p : params) st.best.push_back(p.value().clone());
  st.order.resize(static_cast<std::size_t>(N));
  for (std::int64_t i = 0; i < N; ++i) st.order[static_cast<std::size_t>(i)] = i;
  st.lr = cfg.lr;
  if (hooks.begin) {
    hooks.begin(st, opt);
    check_arg(st.order.size() == static_cast<std::size_t>(N) && st.best.size() == params.size(), fn, "hooks.begin",
              "restored state does not fit (order length / best parameter count)");
  }
  std::vector<Tensor<T>>& best = st.best;
  MlpFitResult& res = st.res;
  std::vector<std::int64_t>& order = st.order;
  CounterRng shuf(cfg.seed, 0x6d6c70);
  shuf.set_position(st.shuffle_position);
  int& since_best = st.since_best;
  double& lr = st.lr;
  double& spent = st.spent;
  for (int ep = st.epoch + 1; ep <= cfg.epochs && !st.stopped; ++ep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuf.next_below(i)]);
    double abs_sum = 0;
    for (std::int64_t s = 0; s < N; s += cfg.batch) {
      ArenaScope scope;
      const std::int64_t m = std::min(cfg.batch, N - s);
      Tensor<T> xb(Shape{m, d}), yb(Shape{m});
      for (std::int64_t i = 0; i < m; ++i) {
        const std::int64_t r = order[static_cast<std::size_t>(s + i)];
        std::copy(X.data() + r * d, X.data() + (r + 1) * d, xb.data() + i * d);
        yb.data()[i] = static_cast<T>(ytr[static_cast<std::size_t>(r)]);
      }
      opt.zero_grad();
      const Var<T> pred = model.forward(constant(xb));
      const Var<T> diff = sub(pred, constant(yb));
      const Var<T> loss = cfg.loss == RegressionLoss::L1 ? mean(abs(diff)) : mean(mul(diff, diff));
      backward(loss);
      nn::require_finite_step<T>("property MLP epoch " + std::to_string(ep) + " step " + std::to_string(s / cfg.batch + 1),
                                 {{"loss", static_cast<double>(loss.item())}}, params);  // DivergenceError before a bad step
      opt.step();
      const Tensor<T> dv = diff.value().contiguous();
      for (std::int64_t i = 0; i < m; ++i) abs_sum += std::abs(static_cast<double>(dv.data()[i]));
    }
    const double train_mae = abs_sum / static_cast<double>(N);
    const double val_mae = mean_absolute_error(predict_rows(model, xval), yval);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spent += sec;
    res.train_history.push_back(train_mae);
    res.val_history.push_back(val_mae);
    res.epoch_seconds.push_back(sec);
    res.epochs_run = ep;
    if (val_mae < res.best_val_mae) {
      res.best_val_mae = val_mae;
      res.best_epoch = ep;
      res.train_mae_at_best = train_mae;
      for (std::size_t i = 0; i < params.size(); ++i) best[i] = params[i].value().clone();
      since_best = 0;
    } else if (++since_best >= cfg.patience) {
      lr = std::max(cfg.min_lr, lr * cfg.lr_decay);
      opt.set_lr(static_cast<T>(lr));
      since_best = 0;
    }
    if (on_epoch) on_epoch(ep, train_mae, val_mae, sec);
    st.epoch = ep;
    st.stopped = cfg.time_budget_s > 0 && spent >= cfg.time_budget_s;
    st.shuffle_position = shuf.position();
    if (hooks.after_epoch) hooks.after_epoch(st, opt);
  }
  if (res.best_epoch > 0)
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Tensor<T>& v = params[i].value();  // shared storage: writes reach the parameter
      std::copy(best[i].data(), best[i].data() + best[i].numel(), v.data());
    }
  return std::move(res);
}

}  // namespace mgvae::models::property
