#pragma once
/// @file var.hpp
/// `Var<T>`: a tensor value with an adjoint, the handle every differentiable op takes.
///
/// Leaves (parameters, inputs) are made with `Var<T>(tensor, requires_grad)`; op results are
/// made by `make_result`, which records the op's backward closure on the tape when any input
/// needs a gradient and grad mode is on. `backward(loss)` seeds the loss adjoint and runs the
/// tape once in reverse (`loss.backward()` is the same call); leaf gradients accumulate across
/// calls until `zero_grad()`. `std::cout << v` prints the value and requires_grad (tensor/print.hpp).
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "mgvae/autodiff/tape.hpp"
#include "mgvae/tensor/print.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae {

namespace detail {
/// Adds `g` into `acc` elementwise (same shape).
template <class T>
inline void add_into(Tensor<T>& acc, const Tensor<T>& g) {
  if (!acc.defined()) {
    acc = g.clone();
    return;
  }
  check_same_shape("backward", "gradient", acc.shape(), "incoming gradient", g.shape());
  Tensor<T> c = g.contiguous();
  T* a = acc.data();
  const T* b = c.data();
  const std::int64_t n = acc.numel();
  for (std::int64_t i = 0; i < n; ++i) a[i] += b[i];
}
}  // namespace detail

/// Node behind a Var: value, adjoint and flags.
template <class T>
struct VarNode {
  Tensor<T> value;
  Tensor<T> grad;  ///< undefined until something flows into it
  bool requires_grad = false;
  bool is_leaf = true;
  std::string name;

  /// Accumulates an incoming adjoint (ignored when the node needs no gradient).
  void accumulate(const Tensor<T>& g) {
    if (!requires_grad) return;
    if (!grad.defined() && is_leaf) {
      HeapScope heap;  // leaf gradients (parameters) outlive a step's ArenaScope
      grad = g.clone();
      return;
    }
    detail::add_into(grad, g);
  }
};

template <class T>
class Var {
 public:
  Var() = default;
  /// A leaf holding `value`; `requires_grad` makes backward() fill its gradient.
  explicit Var(Tensor<T> value, bool requires_grad = false) : n_(std::make_shared<VarNode<T>>()) {
    n_->value = std::move(value);
    n_->requires_grad = requires_grad;
  }
  explicit Var(std::shared_ptr<VarNode<T>> n) : n_(std::move(n)) {}

  bool defined() const noexcept { return static_cast<bool>(n_); }
  const Tensor<T>& value() const { return node().value; }
  /// The accumulated adjoint (undefined tensor if none flowed here).
  const Tensor<T>& grad() const { return node().grad; }
  bool requires_grad() const { return node().requires_grad; }
  bool is_leaf() const { return node().is_leaf; }
  const Shape& shape() const { return node().value.shape(); }
  std::int64_t dim() const { return node().value.dim(); }
  std::int64_t size(int axis) const { return node().value.size(axis); }
  std::int64_t numel() const { return node().value.numel(); }
  T item() const { return node().value.item(); }
  /// Clears the adjoint.
  void zero_grad() const { node().grad = Tensor<T>(); }
  void set_requires_grad(bool r) const { node().requires_grad = r; }
  /// A leaf sharing this value but cut from the graph.
  Var detach() const { return Var(node().value, false); }
  /// Reverse pass from this one-element Var: the same as the free function `backward(*this)`.
  /// @throw std::invalid_argument if it has more than one element.
  void backward() const;
  /// Reverse pass with the given adjoint `seed`: `backward(*this, seed)`.
  /// @throw std::invalid_argument if the shapes differ.
  void backward(const Tensor<T>& seed) const;
  VarNode<T>& node() const {
    if (!n_) throw std::logic_error("mgvae::Var: use of an undefined Var");
    return *n_;
  }
  const std::shared_ptr<VarNode<T>>& ptr() const noexcept { return n_; }

 private:
  std::shared_ptr<VarNode<T>> n_;
};

namespace detail {
/// Builds the result node; records `bw` on the tape only in grad mode and only when an input in
/// [first, last) requires a gradient.
template <class T, class It, class BW>
Var<T> make_result_range(Tensor<T> value, It first, It last, BW&& bw) {
  auto node = std::make_shared<VarNode<T>>();
  node->value = std::move(value);
  node->is_leaf = false;
  bool need = false;
  if (grad_enabled())
    for (It it = first; it != last; ++it) need = need || (it->defined() && it->requires_grad());
  node->requires_grad = need;
  if (need) {
    VarNode<T>* self = node.get();
    Tape::local().push(TapeEntry{node, [self, f = std::forward<BW>(bw)]() mutable {
                                   if (self->grad.defined()) f(self->grad);
                                 }});
  }
  return Var<T>(node);
}
}  // namespace detail

/// Creates an op result. `inputs` are the op's Var inputs; `bw(gout)` receives the output's
/// adjoint and must call `accumulate` on the inputs that need it (check requires_grad() first:
/// that is the per-input gradient gating). Recording happens only in grad mode when at least
/// one input requires a gradient.
template <class T, class BW>
Var<T> make_result(Tensor<T> value, std::initializer_list<Var<T>> inputs, BW&& bw) {
  return detail::make_result_range<T>(std::move(value), inputs.begin(), inputs.end(), std::forward<BW>(bw));
}

/// Same, for ops with a variable number of inputs.
template <class T, class BW>
Var<T> make_result_n(Tensor<T> value, const std::vector<Var<T>>& inputs, BW&& bw) {
  return detail::make_result_range<T>(std::move(value), inputs.begin(), inputs.end(), std::forward<BW>(bw));
}

namespace detail {
template <class T>
void run_backward(const Var<T>& loss, const Tensor<T>* seed) {
  if (!loss.requires_grad()) {
    Tape::local().clear();
    return;
  }
  if (seed) {
    check_same_shape("backward", "loss", loss.shape(), "seed", seed->shape());
    loss.node().grad = seed->clone();
  } else {
    if (loss.numel() != 1)
      throw_invalid("backward", "loss of shape " + shape_str(loss.shape()) + " is not a scalar; pass a seed");
    loss.node().grad = Tensor<T>::ones(loss.shape());
  }
  Tape::local().run_backward();
  Tape::local().clear();
}
}  // namespace detail

/// Reverse pass from a one-element `loss` (its adjoint is 1). The tape is cleared afterwards
/// (intermediate nodes are released); leaf gradients remain and accumulate.
/// @throw std::invalid_argument if loss has more than one element.
template <class T>
void backward(const Var<T>& loss) {
  detail::run_backward<T>(loss, nullptr);
}

/// Reverse pass from `loss` with the given adjoint `seed` (same shape as loss).
/// @throw std::invalid_argument if the shapes differ.
template <class T>
void backward(const Var<T>& loss, const Tensor<T>& seed) {
  detail::run_backward<T>(loss, &seed);
}

template <class T>
void Var<T>::backward() const {
  detail::run_backward<T>(*this, nullptr);
}

template <class T>
void Var<T>::backward(const Tensor<T>& seed) const {
  detail::run_backward<T>(*this, &seed);
}

/// The value as `to_string(v.value(), o)` with ", requires_grad=true|false" before the ")".
/// @throw std::invalid_argument for invalid options (see tensor/print.hpp).
template <class T>
std::string to_string(const Var<T>& v, const PrintOptions& o = {}) {
  if (!v.defined()) return "tensor(undefined)";
  return detail::format_tensor(v.value(), o, v.requires_grad() ? ", requires_grad=true" : ", requires_grad=false");
}

template <class T>
std::ostream& operator<<(std::ostream& os, const Var<T>& v) {
  return os << to_string(v);
}

}  // namespace mgvae
