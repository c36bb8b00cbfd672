#pragma once
/// @file module.hpp
/// `nn::Module<T>`: a parameter registry with named sub-modules (PyTorch's `nn.Module` idea).
///
/// A layer derives from `Module<T>`, registers its trainable tensors with `register_parameter`
/// and its children with `register_module`, and implements its own `forward`. Parameters are
/// `Var<T>` leaves with `requires_grad = true` whose storage is always on the heap (they are
/// created under `HeapScope`, so a layer built inside a step's `ArenaScope` still owns
/// long-lived parameters). A `Var<T>` is a handle to a shared node: copies of it see the
/// optimiser's in-place updates.
///
/// Names: a parameter and a sub-module of the same module share one namespace; names are
/// non-empty and contain no '.'. `named_parameters()` lists this module's own parameters in
/// registration order, then each sub-module's (recursively, names prefixed "sub."), the same
/// order as PyTorch.
#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/arena.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::nn {

template <class T>
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  /// Copies are shallow: the copy shares parameters and sub-modules with the original.
  Module(const Module&) = default;
  Module& operator=(const Module&) = default;
  Module(Module&&) noexcept = default;
  Module& operator=(Module&&) noexcept = default;

  /// Registers a trainable tensor under `name` and returns its Var (a leaf with
  /// requires_grad = true). The value is moved to the heap (copied under `HeapScope`) if it is
  /// arena-backed or not contiguous; otherwise its storage is taken as is. The returned reference
  /// stays valid for the module's lifetime.
  /// @throw std::invalid_argument if `name` is empty, contains '.', is already used by a
  ///        parameter or sub-module of this module, or `init` is undefined.
  Var<T>& register_parameter(const std::string& name, Tensor<T> init) {
    check_new_name("register_parameter", name);
    if (!init.defined()) throw_invalid("Module::register_parameter", "parameter '" + name + "' has an undefined tensor");
    if (init.arena_backed() || !init.is_contiguous()) {
      HeapScope heap;
      init = init.clone();
    }
    Var<T> v(std::move(init), true);
    v.node().name = name;
    params_.emplace_back(name, std::move(v));
    return params_.back().second;
  }

  /// Registers a child module under `name` and returns it. Its parameters appear in
  /// named_parameters() as "name.<child name>"; the nodes' `name` fields are updated to that path.
  /// @throw std::invalid_argument if `name` is empty, contains '.', is already used, or `m` is null.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    static_assert(std::is_base_of_v<Module<T>, M>, "register_module: M must derive from nn::Module<T>");
    check_new_name("register_module", name);
    if (!m) throw_invalid("Module::register_module", "sub-module '" + name + "' is null");
    modules_.emplace_back(name, std::static_pointer_cast<Module<T>>(m));
    for (auto& [n, v] : m->named_parameters()) v.node().name = name + "." + n;
    return m;
  }

  /// All parameters, recursively: own ones first (registration order), then each sub-module's
  /// with its name as prefix ("enc.fc0.weight").
  std::vector<std::pair<std::string, Var<T>>> named_parameters() const {
    std::vector<std::pair<std::string, Var<T>>> out;
    collect("", out);
    return out;
  }

  /// The Vars of named_parameters(), same order (what optimisers take).
  std::vector<Var<T>> parameters() const {
    std::vector<Var<T>> out;
    for (auto& [n, v] : named_parameters()) out.push_back(v);
    return out;
  }

  /// The parameter at a dotted path ("enc.fc0.weight").
  /// @throw std::invalid_argument if there is none.
  Var<T> parameter(const std::string& path) const {
    for (auto& [n, v] : named_parameters())
      if (n == path) return v;
    throw_invalid("Module::parameter", "no parameter named '" + path + "'");
  }

  /// Direct children, registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>>& children() const noexcept { return modules_; }

  /// Clears the gradients of every parameter (recursively).
  void zero_grad() {
    for (auto& [n, v] : named_parameters()) v.zero_grad();
  }

  /// Total number of scalar parameters (recursively).
  std::int64_t num_parameters() const {
    std::int64_t n = 0;
    for (auto& [name, v] : named_parameters()) n += v.numel();
    return n;
  }

  /// Sets training mode on this module and every sub-module (layers such as dropout read it).
  void train(bool on = true) {
    training_ = on;
    for (auto& [n, m] : modules_) m->train(on);
  }
  /// Same as train(false).
  void eval() { train(false); }
  bool is_training() const noexcept { return training_; }

 private:
  void check_new_name(const char* fn, const std::string& name) const {
    const std::string f = std::string("Module::") + fn;
    if (name.empty()) throw_invalid(f, "empty name");
    if (name.find('.') != std::string::npos) throw_invalid(f, "name '" + name + "' contains '.'");
    for (const auto& p : params_)
      if (p.first == name) throw_invalid(f, "name '" + name + "' is already a parameter of this module");
    for (const auto& m : modules_)
      if (m.first == name) throw_invalid(f, "name '" + name + "' is already a sub-module of this module");
  }

  void collect(const std::string& prefix, std::vector<std::pair<std::string, Var<T>>>& out) const {
    for (const auto& [n, v] : params_) out.emplace_back(prefix + n, v);
    for (const auto& [n, m] : modules_) m->collect(prefix + n + ".", out);
  }

  std::deque<std::pair<std::string, Var<T>>> params_;  // deque: references stay valid on growth
  std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>> modules_;
  bool training_ = true;
};

}  // namespace mgvae::nn
