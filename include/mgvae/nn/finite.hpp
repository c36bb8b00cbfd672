#pragma once
/// @file finite.hpp
/// Divergence checks for training loops: which loss term, gradient or parameter first holds a
/// NaN or ±Inf. The checks only read values (a normal run is bit-identical with or without
/// them); a trainer calls them after `backward(loss)` and before `opt.step()`, and on a hit
/// stops (or skips the update) with a message naming the step and the term — see
/// `mgvae::DivergenceError` (core/error.hpp). `save_checkpoint` / `save_safetensors` refuse
/// non-finite tensors on their own (nn/checkpoint.hpp), so a good checkpoint is never replaced.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::nn {

/// "nan", "inf", "-inf" or the value printed with %g (for divergence messages).
inline std::string finite_str(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

/// Flat index of the first non-finite element of `t`, or -1 if all are finite (or `t` is
/// undefined). Reads contiguous tensors in place.
template <class T>
std::int64_t first_non_finite_index(const Tensor<T>& t) {
  if (!t.defined()) return -1;
  if (t.is_contiguous()) {
    const T* p = t.data();
    const std::int64_t n = t.numel();
    for (std::int64_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) return i;
    return -1;
  }
  const std::vector<T> v = t.to_vector();
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) return static_cast<std::int64_t>(i);
  return -1;
}

/// Name of the first loss term whose value is NaN or ±Inf (in the given order), or nullopt.
inline std::optional<std::string> first_non_finite(const std::vector<std::pair<std::string, double>>& terms) {
  for (const auto& [name, v] : terms)
    if (!std::isfinite(v)) return name;
  return std::nullopt;
}

/// Same for a map of terms (name order).
inline std::optional<std::string> first_non_finite(const std::map<std::string, double>& terms) {
  for (const auto& [name, v] : terms)
    if (!std::isfinite(v)) return name;
  return std::nullopt;
}

/// Same for named Vars (e.g. `models::LossTerms::terms`): a term is non-finite if any of its
/// elements is.
template <class T>
std::optional<std::string> first_non_finite(const std::vector<std::pair<std::string, Var<T>>>& terms) {
  for (const auto& [name, v] : terms)
    if (v.defined() && first_non_finite_index(v.value()) >= 0) return name;
  return std::nullopt;
}

/// True if every defined gradient of `params` is finite. Otherwise false, and `*which` (if not
/// null) is set to the first offending parameter's registered name (`nn::Module::register_*`
/// set the node names to the dotted path, e.g. "enc.fc0.weight"; "#<index>" if unnamed).
/// Parameters without a gradient (unused this step) count as finite.
template <class T>
bool grads_finite(const std::vector<Var<T>>& params, std::string* which = nullptr) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Var<T>& p = params[i];
    if (!p.defined() || first_non_finite_index(p.grad()) < 0) continue;
    if (which) *which = p.node().name.empty() ? "#" + std::to_string(i) : p.node().name;
    return false;
  }
  return true;
}

/// Same, for `Module::named_parameters()` (names taken from the pairs).
template <class T>
bool grads_finite(const std::vector<std::pair<std::string, Var<T>>>& params, std::string* which = nullptr) {
  for (const auto& [name, p] : params) {
    if (!p.defined() || first_non_finite_index(p.grad()) < 0) continue;
    if (which) *which = name;
    return false;
  }
  return true;
}

/// True if every parameter value is finite; otherwise false and `*which` names the first bad one.
template <class T>
bool values_finite(const std::vector<Var<T>>& params, std::string* which = nullptr) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Var<T>& p = params[i];
    if (!p.defined() || first_non_finite_index(p.value()) < 0) continue;
    if (which) *which = p.node().name.empty() ? "#" + std::to_string(i) : p.node().name;
    return false;
  }
  return true;
}

/// What a step's divergence check found: `term` is the loss term or parameter name, `what` a
/// phrase for the message ("loss term 'kl' is nan", "gradient of parameter 'fc.weight' is not
/// finite").
struct NonFinite {
  std::string term;
  std::string what;
};

/// The per-step check trainers run after `backward(loss)`, before the optimiser step: first the
/// loss terms (in order), then the gradients of `params`. nullopt when everything is finite.
inline std::optional<NonFinite> check_step(const std::vector<std::pair<std::string, double>>& terms) {
  for (const auto& [name, v] : terms)
    if (!std::isfinite(v)) return NonFinite{name, "loss term '" + name + "' is " + finite_str(v)};
  return std::nullopt;
}

template <class T>
std::optional<NonFinite> check_step(const std::vector<std::pair<std::string, double>>& terms, const std::vector<Var<T>>& params) {
  if (auto r = check_step(terms)) return r;
  std::string which;
  if (!grads_finite(params, &which)) return NonFinite{which, "gradient of parameter '" + which + "' is not finite"};
  return std::nullopt;
}

/// Throws DivergenceError("<where>", term, what) if check_step finds something.
template <class T>
void require_finite_step(const std::string& where, const std::vector<std::pair<std::string, double>>& terms,
                         const std::vector<Var<T>>& params) {
  if (auto r = check_step(terms, params)) throw DivergenceError(where, r->term, r->what);
}

}  // namespace mgvae::nn
