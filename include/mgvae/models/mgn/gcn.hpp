#pragma once
/// @file gcn.hpp
/// First-order message passing (Def. 6 / Example 1 of the paper, the "GraphConvSparse" of the
/// authors' citation code, REFERENCE-NOTES §3.1):
///   H_t = γ(Â H_{t-1} W_t),   W_t Glorot-uniform, no bias,   Â = D̃^{-1/2}(A+I)D̃^{-1/2}.
/// Permutation equivariance (Prop. 1): Â(σ·G) = P Â Pᵀ and (P X) W = P (X W), so
/// H(σ·G) = P H(G) for any elementwise γ.
///
/// `Adjacency<T>` is the operand Â: a constant CSR matrix (the input graph: sparse, O(|E| d)) or a
/// dense Var (a coarsened graph, small and differentiable w.r.t. the clustering).
/// `NodeFeatures<T>` is the layer input: constant sparse features (bag-of-words: X W by spmm in
/// O(nnz(X) d)) or a dense Var.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/nn/activation.hpp"
#include "mgvae/nn/init.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/matmul.hpp"
#include "mgvae/ops/spmm.hpp"
#include "mgvae/tensor/csr.hpp"

namespace mgvae::models {

/// Â: sparse constant (finest graph) or dense Var (coarse graphs).
template <class T>
struct Adjacency {
  const CsrMatrix<T>* sparse = nullptr;
  Var<T> dense;
  static Adjacency of(const CsrMatrix<T>& a) { return Adjacency{&a, Var<T>()}; }
  static Adjacency of(const Var<T>& a) { return Adjacency{nullptr, a}; }
  std::int64_t num_nodes() const { return sparse ? sparse->rows : dense.size(0); }
};

/// Node features X: sparse constant or dense Var.
template <class T>
struct NodeFeatures {
  const CsrMatrix<T>* sparse = nullptr;
  Var<T> dense;
  static NodeFeatures of(const CsrMatrix<T>& x) { return NodeFeatures{&x, Var<T>()}; }
  static NodeFeatures of(const Var<T>& x) { return NodeFeatures{nullptr, x}; }
  std::int64_t num_nodes() const { return sparse ? sparse->rows : dense.size(0); }
  std::int64_t dim() const { return sparse ? sparse->cols : dense.size(1); }
};

/// Â H.
template <class T>
Var<T> propagate(const Adjacency<T>& a, const Var<T>& h) {
  return a.sparse ? spmm(*a.sparse, h) : matmul(a.dense, h);
}

/// X W.
template <class T>
Var<T> features_times(const NodeFeatures<T>& x, const Var<T>& w) {
  return x.sparse ? spmm(*x.sparse, w) : matmul(x.dense, w);
}

/// The library's one activation enum (nn/activation.hpp); `Identity` and `Relu` are spellings of
/// `None` and `ReLU`.
using Activation = nn::Activation;
using nn::activate;

/// One graph convolution γ(Â X W) (Kipf & Welling 2017; no bias, as the reference).
template <class T>
class GcnLayer : public nn::Module<T> {
 public:
  GcnLayer(std::int64_t in, std::int64_t out, CounterRng& rng, Activation act = Activation::Relu)
      : in_(in), out_(out), act_(act) {
    if (in < 1 || out < 1) throw_invalid("GcnLayer", "sizes must be >= 1");
    w_ = &this->register_parameter("weight", nn::glorot_uniform<T>(Shape{in, out}, rng));
  }
  Var<T> forward(const Adjacency<T>& a, const NodeFeatures<T>& x) const {
    if (x.dim() != in_)
      throw_invalid("GcnLayer::forward", "input has " + std::to_string(x.dim()) + " features, layer expects " +
                                             std::to_string(in_));
    return activate(propagate(a, features_times(x, *w_)), act_);
  }
  Var<T> forward(const Adjacency<T>& a, const Var<T>& x) const { return forward(a, NodeFeatures<T>::of(x)); }
  std::int64_t in() const { return in_; }
  std::int64_t out() const { return out_; }

 private:
  std::int64_t in_, out_;
  Activation act_;
  Var<T>* w_ = nullptr;
};

/// Output of a Gaussian graph encoder q(Z | G) = Π_i N(z_i; μ_i, diag σ_i²) (Eq. 6).
template <class T>
struct GaussianLatent {
  Var<T> mu, logstd, z;  ///< [n, d] each; z = μ + σ ⊙ ε (train) or μ (eval)
};

/// The VGAE encoder (Kipf & Welling 2016), also MGVAE's per-level encoder:
///   H = ReLU GCN layers (hidden sizes), μ = Â H W_μ, log σ = Â H W_σ, z = μ + exp(log σ) ⊙ ε.
template <class T>
class GcnGaussianEncoder : public nn::Module<T> {
 public:
  GcnGaussianEncoder(std::int64_t in, const std::vector<std::int64_t>& hidden, std::int64_t latent, CounterRng& rng) {
    std::int64_t prev = in;
    for (std::size_t i = 0; i < hidden.size(); ++i) {
      layers_.push_back(this->register_module("gc" + std::to_string(i), std::make_shared<GcnLayer<T>>(prev, hidden[i], rng, Activation::Relu)));
      prev = hidden[i];
    }
    mu_ = this->register_module("mu", std::make_shared<GcnLayer<T>>(prev, latent, rng, Activation::Identity));
    ls_ = this->register_module("logstd", std::make_shared<GcnLayer<T>>(prev, latent, rng, Activation::Identity));
    latent_ = latent;
  }
  /// `eps` [n, latent] standard normal noise (constant) or undefined for z = μ (eval).
  GaussianLatent<T> forward(const Adjacency<T>& a, const NodeFeatures<T>& x, const Tensor<T>& eps) const {
    NodeFeatures<T> h = x;
    Var<T> hv;
    for (const auto& l : layers_) {
      hv = l->forward(a, h);
      h = NodeFeatures<T>::of(hv);
    }
    GaussianLatent<T> out;
    out.mu = mu_->forward(a, h);
    out.logstd = ls_->forward(a, h);
    if (eps.defined()) {
      check_same_shape("GcnGaussianEncoder", "eps", eps.shape(), "mu", out.mu.shape());
      out.z = add(out.mu, mul(exp(out.logstd), constant(eps)));
    } else {
      out.z = out.mu;
    }
    return out;
  }
  std::int64_t latent() const { return latent_; }

 private:
  std::vector<std::shared_ptr<GcnLayer<T>>> layers_;
  std::shared_ptr<GcnLayer<T>> mu_, ls_;
  std::int64_t latent_ = 0;
};

/// Standard normal noise [rows, cols] drawn per (row, col) index: noise(i, j) = rng.normal(i·cols + j).
/// Because the value depends only on the index, permuting the rows of the result is the same as
/// drawing for the permuted graph with permuted indices (what the equivariance tests use).
template <class T>
Tensor<T> normal_noise(std::int64_t rows, std::int64_t cols, const CounterRng& rng) {
  Tensor<T> t(Shape{rows, cols});
  for (std::int64_t i = 0; i < rows * cols; ++i) t.data()[i] = static_cast<T>(rng.normal(static_cast<std::uint64_t>(i)));
  return t;
}

/// Standard Gumbel noise [rows, cols], same indexing as normal_noise.
template <class T>
Tensor<T> gumbel_noise(std::int64_t rows, std::int64_t cols, const CounterRng& rng) {
  Tensor<T> t(Shape{rows, cols});
  for (std::int64_t i = 0; i < rows * cols; ++i) t.data()[i] = static_cast<T>(rng.gumbel(static_cast<std::uint64_t>(i)));
  return t;
}

}  // namespace mgvae::models
