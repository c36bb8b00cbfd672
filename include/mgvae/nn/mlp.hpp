#pragma once
/// @file mlp.hpp
/// Multi-layer perceptron: Linear layers with an activation (nn/activation.hpp) between them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/nn/activation.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/ops/elementwise.hpp"

namespace mgvae::nn {

/// sizes = {in, hidden..., out}: Linear(sizes[i], sizes[i+1]) named "fc<i>", `act` after every
/// layer but the last, `final_act` after the last. Layers draw their weights from `rng` in order.
template <class T>
class MLP : public Module<T> {
 public:
  /// @throw std::invalid_argument if sizes has fewer than 2 entries or a non-positive entry.
  MLP(std::vector<std::int64_t> sizes, CounterRng& rng, Activation act = Activation::ReLU,
      Activation final_act = Activation::None, bool bias = true)
      : sizes_(std::move(sizes)), act_(act), final_act_(final_act) {
    if (sizes_.size() < 2)
      throw_invalid("MLP", "sizes must list at least input and output, got " + shape_str(sizes_));
    for (auto s : sizes_)
      if (s <= 0) throw_invalid("MLP", "sizes must be positive, got " + shape_str(sizes_));
    for (std::size_t i = 0; i + 1 < sizes_.size(); ++i)
      layers_.push_back(this->register_module("fc" + std::to_string(i),
                                              std::make_shared<Linear<T>>(sizes_[i], sizes_[i + 1], rng, bias)));
  }

  /// x [..., sizes.front()] -> [..., sizes.back()].
  /// @throw std::invalid_argument (from Linear) if the last axis of x is not sizes.front().
  Var<T> forward(const Var<T>& x) const {
    Var<T> h = x;
    for (std::size_t i = 0; i < layers_.size(); ++i)
      h = activate(layers_[i]->forward(h), i + 1 < layers_.size() ? act_ : final_act_);
    return h;
  }
  Var<T> operator()(const Var<T>& x) const { return forward(x); }

  const std::vector<std::int64_t>& sizes() const noexcept { return sizes_; }
  const std::vector<std::shared_ptr<Linear<T>>>& layers() const noexcept { return layers_; }
  Activation activation() const noexcept { return act_; }
  Activation final_activation() const noexcept { return final_act_; }

 private:
  std::vector<std::int64_t> sizes_;
  Activation act_, final_act_;
  std::vector<std::shared_ptr<Linear<T>>> layers_;
};

}  // namespace mgvae::nn
