#pragma once
/// @file activation.hpp
/// `nn::Activation`: the one activation enum of the library (MLPs, GCN and second-order layers),
/// with `activation_name` and `activate`. `models::Activation` is an alias of it (models/mgn/gcn.hpp);
/// the enumerators `Identity` and `Relu` are kept as other spellings of `None` and `ReLU`.
#include <string>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/ops/elementwise.hpp"

namespace mgvae::nn {

enum class Activation {
  None,
  ReLU,
  Tanh,
  Sigmoid,
  Softplus,
  Identity = None,  ///< same value as None (the spelling of the GCN layers)
  Relu = ReLU,      ///< same value as ReLU
};

/// Name of an activation ("none", "relu", "tanh", "sigmoid", "softplus").
inline const char* activation_name(Activation a) {
  switch (a) {
    case Activation::None: return "none";
    case Activation::ReLU: return "relu";
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Softplus: return "softplus";
  }
  return "?";
}

/// Applies an activation elementwise (None returns x itself).
/// @throw std::invalid_argument for a value outside the enum.
template <class T>
Var<T> activate(const Var<T>& x, Activation a) {
  switch (a) {
    case Activation::None: return x;
    case Activation::ReLU: return relu(x);
    case Activation::Tanh: return tanh(x);
    case Activation::Sigmoid: return sigmoid(x);
    case Activation::Softplus: return softplus(x);
  }
  throw_invalid("activate", "unknown activation " + std::to_string(static_cast<int>(a)));
}

}  // namespace mgvae::nn
