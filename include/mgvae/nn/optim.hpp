#pragma once
/// @file optim.hpp
/// First-order optimisers with PyTorch's update rules: Adam (bias-corrected, L2 weight decay
/// added to the gradient as in `torch.optim.Adam`, not AdamW), Adagrad, SGD with momentum,
/// and `clip_grad_norm`.
///
/// Conventions shared by all optimisers:
///  - parameters whose gradient is undefined (nothing flowed into them) are skipped, and their
///    per-parameter step count does not advance (PyTorch: `p.grad is None`);
///  - before touching anything, `step()` checks every gradient for NaN/Inf and throws
///    std::domain_error naming the parameter index (and its name, if registered through a
///    Module), so a bad step never half-updates a model;
///  - updates are in place on the parameter value tensors, under `NoGradGuard`;
///  - optimiser state is allocated under `HeapScope` at construction, so `step()` may run
///    inside a step's `ArenaScope`;
///  - `state()` exports the complete state (moment tensors, per-parameter step counts, the current
///    learning rate and the hyper-parameters as exact text) and `load_state()` restores it
///    bit-for-bit; a state that does not fit (other optimiser, other hyper-parameters, another
///    parameter count or shape, a missing or extra entry) throws `StateMismatchError` naming the
///    entry, before anything is changed. `save_training_state` (checkpoint.hpp) stores it in a file.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/autodiff/tape.hpp"
#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/arena.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/nn/state.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::nn {

/// The complete state of an optimiser (see Optimizer::state()).
template <class T>
struct OptimizerState {
  /// Per-parameter state tensors: "exp_avg.<i>", "exp_avg_sq.<i>" (Adam), "sum.<i>" (Adagrad),
  /// "momentum_buffer.<i>" (SGD with momentum), i = the parameter's index in params().
  std::map<std::string, Tensor<T>> tensors;
  /// "kind" (Adam | Adagrad | SGD), "num_params", "steps" (comma-separated per-parameter step
  /// counts), "lr" (current rate, exact) and the hyper-parameters ("beta1", "eps", ...; exact).
  std::map<std::string, std::string> scalars;
};

template <class T>
class Optimizer {
 public:
  /// @throw std::invalid_argument if a Var is undefined, appears twice, has a non-contiguous or
  ///        arena-backed value, or lr is negative / not finite.
  Optimizer(std::vector<Var<T>> params, T lr, const char* name) : params_(std::move(params)), lr_(lr), name_(name) {
    if (!(lr >= T(0)) || !std::isfinite(lr)) throw_invalid(name_, "learning rate must be finite and >= 0, got " + std::to_string(lr));
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i].defined()) throw_invalid(name_, "parameter " + std::to_string(i) + " is an undefined Var");
      for (std::size_t j = 0; j < i; ++j)
        if (params_[j].ptr() == params_[i].ptr())
          throw_invalid(name_, "parameter " + std::to_string(i) + " is the same Var as parameter " + std::to_string(j));
      const Tensor<T>& v = params_[i].value();
      if (!v.defined() || !v.is_contiguous() || v.arena_backed())
        throw_invalid(name_, "parameter " + label(i) + " must be a defined, contiguous heap tensor");
    }
    steps_.assign(params_.size(), 0);
  }
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient.
  /// @throw std::domain_error naming the parameter if a gradient has a NaN or Inf (nothing is updated).
  virtual void step() = 0;

  /// Clears the gradients of all parameters.
  void zero_grad() {
    for (auto& p : params_) p.zero_grad();
  }

  const std::vector<Var<T>>& params() const noexcept { return params_; }
  T lr() const noexcept { return lr_; }
  /// Changes the learning rate (schedules).
  void set_lr(T lr) {
    if (!(lr >= T(0)) || !std::isfinite(lr)) throw_invalid(name_, "learning rate must be finite and >= 0");
    lr_ = lr;
  }
  /// Number of updates parameter i has received.
  std::int64_t step_count(std::size_t i) const { return steps_.at(i); }

  /// A copy of the complete state (heap tensors; later steps do not change it).
  OptimizerState<T> state() const {
    OptimizerState<T> s;
    s.scalars = hyper();
    s.scalars["kind"] = name_;
    s.scalars["num_params"] = std::to_string(params_.size());
    s.scalars["lr"] = format_exact(static_cast<double>(lr_));
    std::string st;
    for (std::size_t i = 0; i < steps_.size(); ++i) st += (i ? "," : "") + std::to_string(steps_[i]);
    s.scalars["steps"] = st;
    HeapScope heap;
    for (const auto& [n, t] : const_cast<Optimizer*>(this)->slots()) s.tensors.emplace(n, t->clone());
    return s;
  }

  /// Restores a state exported by state() of an optimiser of the same kind, hyper-parameters and
  /// parameter shapes: moments, step counts and learning rate become bit-identical to it. All
  /// entries are checked before anything changes.
  /// @throw StateMismatchError naming the first missing, extra or mismatched entry.
  void load_state(const OptimizerState<T>& s) {
    auto get = [&](const std::string& key) -> const std::string& {
      auto it = s.scalars.find(key);
      if (it == s.scalars.end()) throw StateMismatchError(key, std::string(name_) + "::load_state: state has no '" + key + "'");
      return it->second;
    };
    if (get("kind") != name_)
      throw StateMismatchError("kind", std::string(name_) + "::load_state: state is of a " + get("kind") + " optimiser");
    if (get("num_params") != std::to_string(params_.size()))
      throw StateMismatchError("num_params", std::string(name_) + "::load_state: state is for " + get("num_params") +
                                                 " parameters, this optimiser has " + std::to_string(params_.size()));
    for (const auto& [k, v] : hyper()) {
      const std::string& got = get(k);
      if (parse_exact(got, k) != parse_exact(v, k))
        throw StateMismatchError(k, std::string(name_) + "::load_state: hyper-parameter '" + k + "' is " + got +
                                        " in the state but " + v + " here");
    }
    const double lr = parse_exact(get("lr"), "lr");
    if (!(lr >= 0) || !std::isfinite(lr)) throw StateMismatchError("lr", std::string(name_) + "::load_state: bad learning rate " + get("lr"));
    std::vector<std::int64_t> steps;
    {
      const std::string& st = get("steps");
      std::size_t a = 0;
      while (!st.empty() && a <= st.size()) {
        const std::size_t b = std::min(st.find(',', a), st.size());
        const long long v = parse_exact_int(st.substr(a, b - a), "steps");
        if (v < 0) throw StateMismatchError("steps", std::string(name_) + "::load_state: negative step count");
        steps.push_back(v);
        a = b + 1;
      }
      if (steps.size() != params_.size())
        throw StateMismatchError("steps", std::string(name_) + "::load_state: " + std::to_string(steps.size()) +
                                              " step counts for " + std::to_string(params_.size()) + " parameters");
    }
    const auto sl = slots();
    for (const auto& [n, t] : sl) {
      auto it = s.tensors.find(n);
      if (it == s.tensors.end()) throw StateMismatchError(n, std::string(name_) + "::load_state: state tensor '" + n + "' is missing");
      if (!it->second.defined() || it->second.shape() != t->shape())
        throw StateMismatchError(n, std::string(name_) + "::load_state: state tensor '" + n + "' has shape " +
                                        (it->second.defined() ? shape_str(it->second.shape()) : std::string("(undefined)")) +
                                        " but " + shape_str(t->shape()) + " is expected");
    }
    for (const auto& [n, t] : s.tensors) {
      bool known = false;
      for (const auto& q : sl) known = known || q.first == n;
      if (!known) throw StateMismatchError(n, std::string(name_) + "::load_state: unexpected state tensor '" + n + "'");
    }
    // everything fits: apply
    NoGradGuard ng;
    for (const auto& [n, t] : sl) t->copy_from(s.tensors.at(n));
    steps_ = steps;
    lr_ = static_cast<T>(lr);
  }

 protected:
  /// The state tensors by name (see OptimizerState::tensors); empty for a stateless optimiser.
  virtual std::vector<std::pair<std::string, Tensor<T>*>> slots() { return {}; }
  /// The hyper-parameters as exact text (compared by load_state).
  virtual std::map<std::string, std::string> hyper() const { return {}; }
  /// "exp_avg.3"
  static std::string slot_name(const char* what, std::size_t i) { return std::string(what) + "." + std::to_string(i); }

  /// "3" or "3 ('enc.fc0.weight')".
  std::string label(std::size_t i) const {
    const std::string& n = params_[i].node().name;
    return std::to_string(i) + (n.empty() ? "" : " ('" + n + "')");
  }

  /// Gradient checks shared by every step(): shape agreement and finiteness. Returns, per
  /// parameter, a contiguous gradient or an undefined tensor (skip).
  std::vector<Tensor<T>> checked_grads() const {
    std::vector<Tensor<T>> gs(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor<T>& g = params_[i].grad();
      if (!g.defined()) continue;
      if (g.shape() != params_[i].shape())
        throw_invalid(name_, "gradient of parameter " + label(i) + " has shape " + shape_str(g.shape()) +
                                 " but the parameter has shape " + shape_str(params_[i].shape()));
      Tensor<T> c = g.contiguous();
      const T* p = c.data();
      for (std::int64_t k = 0; k < c.numel(); ++k)
        if (!std::isfinite(p[k]))
          throw_domain(name_, "gradient of parameter " + label(i) + " (shape " + shape_str(g.shape()) + ") is " +
                                  (std::isnan(p[k]) ? "NaN" : "infinite") + " at flat index " + std::to_string(k));
      gs[i] = c;
    }
    return gs;
  }

  /// Zero state tensors shaped like each parameter, on the heap.
  std::vector<Tensor<T>> zeros_like_params(T fill = T(0)) const {
    HeapScope heap;
    std::vector<Tensor<T>> s;
    for (const auto& p : params_) s.push_back(Tensor<T>::full(p.shape(), fill));
    return s;
  }

  std::vector<Var<T>> params_;
  T lr_;
  const char* name_;
  std::vector<std::int64_t> steps_;
};

/// Adam (Kingma & Ba 2015) exactly as `torch.optim.Adam` (amsgrad=False, maximize=False):
///   g ← g + λ p;  m ← β₁ m + (1-β₁) g;  v ← β₂ v + (1-β₂) g²;
///   p ← p − lr/(1-β₁ᵗ) · m / (sqrt(v)/sqrt(1-β₂ᵗ) + ε),  t = this parameter's step count.
template <class T>
class Adam : public Optimizer<T> {
 public:
  /// @throw std::invalid_argument for betas outside [0, 1), negative eps or weight_decay.
  explicit Adam(std::vector<Var<T>> params, T lr = T(1e-3), T beta1 = T(0.9), T beta2 = T(0.999), T eps = T(1e-8),
                T weight_decay = T(0))
      : Optimizer<T>(std::move(params), lr, "Adam"), b1_(beta1), b2_(beta2), eps_(eps), wd_(weight_decay) {
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
      throw_invalid("Adam", "betas must lie in [0, 1), got " + std::to_string(beta1) + ", " + std::to_string(beta2));
    if (!(eps >= 0) || !(weight_decay >= 0)) throw_invalid("Adam", "eps and weight_decay must be >= 0");
    m_ = this->zeros_like_params();
    v_ = this->zeros_like_params();
  }

  void step() override {
    NoGradGuard ng;
    const std::vector<Tensor<T>> gs = this->checked_grads();
    for (std::size_t i = 0; i < gs.size(); ++i) {
      if (!gs[i].defined()) continue;
      const std::int64_t t = ++this->steps_[i];
      const double bc1 = 1.0 - std::pow(static_cast<double>(b1_), static_cast<double>(t));
      const double bc2 = 1.0 - std::pow(static_cast<double>(b2_), static_cast<double>(t));
      const T step_size = static_cast<T>(static_cast<double>(this->lr_) / bc1);
      const T bc2_sqrt = static_cast<T>(std::sqrt(bc2));
      T* p = this->params_[i].value().data();
      T* m = m_[i].data();
      T* v = v_[i].data();
      const T* g = gs[i].data();
      const std::int64_t n = gs[i].numel();
      for (std::int64_t k = 0; k < n; ++k) {
        const T gk = wd_ != T(0) ? g[k] + wd_ * p[k] : g[k];
        m[k] = b1_ * m[k] + (T(1) - b1_) * gk;
        v[k] = b2_ * v[k] + (T(1) - b2_) * gk * gk;
        p[k] -= step_size * m[k] / (std::sqrt(v[k]) / bc2_sqrt + eps_);
      }
    }
  }

  /// First and second moment estimates of parameter i (for inspection and tests).
  const Tensor<T>& exp_avg(std::size_t i) const { return m_.at(i); }
  const Tensor<T>& exp_avg_sq(std::size_t i) const { return v_.at(i); }

 protected:
  std::vector<std::pair<std::string, Tensor<T>*>> slots() override {
    std::vector<std::pair<std::string, Tensor<T>*>> s;
    for (std::size_t i = 0; i < m_.size(); ++i) s.emplace_back(this->slot_name("exp_avg", i), &m_[i]);
    for (std::size_t i = 0; i < v_.size(); ++i) s.emplace_back(this->slot_name("exp_avg_sq", i), &v_[i]);
    return s;
  }
  std::map<std::string, std::string> hyper() const override {
    return {{"beta1", format_exact(b1_)}, {"beta2", format_exact(b2_)}, {"eps", format_exact(eps_)}, {"weight_decay", format_exact(wd_)}};
  }

 private:
  T b1_, b2_, eps_, wd_;
  std::vector<Tensor<T>> m_, v_;
};

/// Adagrad (Duchi et al. 2011) as `torch.optim.Adagrad` with lr_decay = 0, weight_decay = 0:
///   s ← s + g²;  p ← p − lr · g / (sqrt(s) + ε),  s starting at `initial_accumulator`.
template <class T>
class Adagrad : public Optimizer<T> {
 public:
  /// @throw std::invalid_argument for negative eps or initial_accumulator.
  explicit Adagrad(std::vector<Var<T>> params, T lr = T(1e-2), T eps = T(1e-10), T initial_accumulator = T(0))
      : Optimizer<T>(std::move(params), lr, "Adagrad"), eps_(eps) {
    if (!(eps >= 0) || !(initial_accumulator >= 0)) throw_invalid("Adagrad", "eps and initial_accumulator must be >= 0");
    sum_ = this->zeros_like_params(initial_accumulator);
  }

  void step() override {
    NoGradGuard ng;
    const std::vector<Tensor<T>> gs = this->checked_grads();
    for (std::size_t i = 0; i < gs.size(); ++i) {
      if (!gs[i].defined()) continue;
      ++this->steps_[i];
      T* p = this->params_[i].value().data();
      T* s = sum_[i].data();
      const T* g = gs[i].data();
      const std::int64_t n = gs[i].numel();
      for (std::int64_t k = 0; k < n; ++k) {
        s[k] += g[k] * g[k];
        p[k] -= this->lr_ * g[k] / (std::sqrt(s[k]) + eps_);
      }
    }
  }

  /// Accumulated squared gradients of parameter i.
  const Tensor<T>& sum(std::size_t i) const { return sum_.at(i); }

 protected:
  std::vector<std::pair<std::string, Tensor<T>*>> slots() override {
    std::vector<std::pair<std::string, Tensor<T>*>> s;
    for (std::size_t i = 0; i < sum_.size(); ++i) s.emplace_back(this->slot_name("sum", i), &sum_[i]);
    return s;
  }
  std::map<std::string, std::string> hyper() const override { return {{"eps", format_exact(eps_)}}; }

 private:
  T eps_;
  std::vector<Tensor<T>> sum_;
};

/// Stochastic gradient descent as `torch.optim.SGD` (dampening 0, no Nesterov):
///   momentum = 0: p ← p − lr g;  otherwise b ← g at the first step, then b ← μ b + g;  p ← p − lr b.
template <class T>
class SGD : public Optimizer<T> {
 public:
  /// @throw std::invalid_argument for negative momentum.
  SGD(std::vector<Var<T>> params, T lr, T momentum = T(0))
      : Optimizer<T>(std::move(params), lr, "SGD"), mu_(momentum) {
    if (!(momentum >= 0)) throw_invalid("SGD", "momentum must be >= 0");
    if (mu_ != T(0)) buf_ = this->zeros_like_params();
  }

  void step() override {
    NoGradGuard ng;
    const std::vector<Tensor<T>> gs = this->checked_grads();
    for (std::size_t i = 0; i < gs.size(); ++i) {
      if (!gs[i].defined()) continue;
      const std::int64_t t = ++this->steps_[i];
      T* p = this->params_[i].value().data();
      const T* g = gs[i].data();
      const std::int64_t n = gs[i].numel();
      if (mu_ == T(0)) {
        for (std::int64_t k = 0; k < n; ++k) p[k] -= this->lr_ * g[k];
        continue;
      }
      T* b = buf_[i].data();
      for (std::int64_t k = 0; k < n; ++k) {
        b[k] = t == 1 ? g[k] : mu_ * b[k] + g[k];
        p[k] -= this->lr_ * b[k];
      }
    }
  }

 protected:
  std::vector<std::pair<std::string, Tensor<T>*>> slots() override {
    std::vector<std::pair<std::string, Tensor<T>*>> s;
    for (std::size_t i = 0; i < buf_.size(); ++i) s.emplace_back(this->slot_name("momentum_buffer", i), &buf_[i]);
    return s;
  }
  std::map<std::string, std::string> hyper() const override { return {{"momentum", format_exact(mu_)}}; }

 private:
  T mu_;
  std::vector<Tensor<T>> buf_;
};

/// Rescales the gradients so that their joint L2 norm is at most `max_norm`
/// (`torch.nn.utils.clip_grad_norm_`: factor max_norm / (norm + 1e-6) when that is < 1).
/// Parameters without a gradient are ignored. Returns the norm before clipping. A non-finite
/// norm leaves the gradients untouched (the optimiser's step() then reports the parameter).
/// @throw std::invalid_argument if max_norm is negative or NaN.
template <class T>
T clip_grad_norm(const std::vector<Var<T>>& params, T max_norm) {
  if (!(max_norm >= T(0))) throw_invalid("clip_grad_norm", "max_norm must be >= 0");
  double sq = 0;
  for (const auto& p : params) {
    const Tensor<T>& g = p.grad();
    if (!g.defined()) continue;
    for (T x : g.to_vector()) sq += static_cast<double>(x) * static_cast<double>(x);
  }
  const double norm = std::sqrt(sq);
  if (!std::isfinite(norm)) return static_cast<T>(norm);
  const double coef = static_cast<double>(max_norm) / (norm + 1e-6);
  if (coef < 1.0) {
    for (const auto& p : params) {
      const Tensor<T>& g = p.grad();
      if (!g.defined()) continue;
      Tensor<T> gv = g;  // handle; scale through its storage
      if (!gv.is_contiguous()) {
        Tensor<T> c = gv.contiguous();
        for (std::int64_t k = 0; k < c.numel(); ++k) c.data()[k] = static_cast<T>(c.data()[k] * coef);
        gv.copy_from(c);
      } else {
        for (std::int64_t k = 0; k < gv.numel(); ++k) gv.data()[k] = static_cast<T>(gv.data()[k] * coef);
      }
    }
  }
  return static_cast<T>(norm);
}

}  // namespace mgvae::nn
