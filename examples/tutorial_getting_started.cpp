// Getting started with mgvae (docs/getting-started.md): tensors, printing, Vars and gradients,
// a finite-difference gradient check, and a tiny model trained with Adam.
//
// Every step checks what it shows and the program exits with status 1 if a check fails, so CI
// (ctest label "tutorial") keeps this page honest. Runs in well under a second.
#include <mgvae/mgvae.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <vector>

using namespace mgvae;

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("check: %-58s %s\n", what, ok ? "ok" : "FAILED");
  if (!ok) ++failures;
}
}  // namespace

int main() {
  // --- 1. Tensors ------------------------------------------------------------------------------
  // [tensors]
  Tensor<double> a = Tensor<double>::from({2, 3}, {1, 2, 3, 4, 5, 6});  // shape, row-major values
  Tensor<double> z = Tensor<double>::zeros({2, 3});
  Tensor<double> r = Tensor<double>::randn({2, 3}, CounterRng(/*seed=*/42));  // reproducible noise
  std::cout << a << "\n";
  std::cout << "a(1, 2) = " << a(1, 2) << ", numel = " << a.numel() << ", shape " << shape_str(a.shape()) << "\n";
  Tensor<double> at = a.transpose(0, 1);  // a view: no copy
  std::cout << at << "\n";
  // [tensors]
  check(a(1, 2) == 6 && at(2, 1) == 6 && at.shares_storage_with(a), "indexing and transpose view");
  check(z.to_vector() == std::vector<double>(6, 0.0) && r.numel() == 6, "zeros and randn shapes");

  // Long dimensions are summarised like PyTorch's:
  Tensor<double> big = Tensor<double>::zeros({100});
  for (std::int64_t i = 0; i < 100; ++i) big(i) = static_cast<double>(i);
  std::cout << big << "\n";

  // --- 2. Vars and gradients -------------------------------------------------------------------
  // [gradients]
  // A Var is a tensor that takes part in differentiation. requires_grad = true marks a leaf whose
  // gradient backward() fills in.
  Var<double> w(Tensor<double>::from({3}, {0.5, -1.0, 2.0}), /*requires_grad=*/true);
  Var<double> x(Tensor<double>::from({3}, {1.0, 2.0, 3.0}));  // a constant input
  Var<double> loss = sum(mul(tanh(mul(w, x)), x));          // Σ_i x_i tanh(w_i x_i)
  std::cout << "loss = " << loss << "\n";
  loss.backward();                                           // same as backward(loss)
  std::cout << "dloss/dw = " << w.grad() << "\n";            // x_i² (1 − tanh²(w_i x_i))
  // [gradients]
  bool grad_ok = w.grad().defined();
  for (std::int64_t i = 0; grad_ok && i < 3; ++i) {
    const double xi = x.value()(i), t = std::tanh(w.value()(i) * xi);
    grad_ok = std::abs(w.grad()(i) - xi * xi * (1 - t * t)) < 1e-12;
  }
  check(grad_ok, "loss.backward() gives the analytic gradient");
  // Gradients accumulate until zero_grad() (as in PyTorch):
  w.zero_grad();
  check(!w.grad().defined(), "zero_grad() clears the gradient");

  // --- 3. Checking a gradient by finite differences ----------------------------------------------
  // [gradcheck]
  // gradcheck compares the tape's gradient of f with central differences (in double).
  auto f = [](const std::vector<Var<double>>& v) {  // f(W, b) = softplus(W x + b), x fixed
    const Var<double> xin(Tensor<double>::from({3, 1}, {0.3, -0.7, 1.1}));
    return softplus(add(matmul(v[0], xin), v[1]));
  };
  const GradcheckResult gc =
      gradcheck(f, {Tensor<double>::randn({2, 3}, CounterRng(7)), Tensor<double>::randn({2, 1}, CounterRng(8))});
  std::printf("gradcheck: %lld Jacobian entries, max abs error %.2e\n", static_cast<long long>(gc.checked),
              gc.max_abs_err);
  // [gradcheck]
  check(gc.ok, "gradcheck of softplus(W x + b)");

  // --- 4. A tiny model trained with Adam ------------------------------------------------------
  // [training]
  // Fit y = 2 x₀ − x₁ + 0.5 with an nn::Linear(2 → 1).
  CounterRng init(1);
  nn::Linear<double> model(2, 1, init);
  nn::Adam<double> opt(model.parameters(), /*lr=*/0.05);
  const Tensor<double> X = Tensor<double>::randn({64, 2}, CounterRng(2));
  Tensor<double> Y({64, 1});
  for (std::int64_t i = 0; i < 64; ++i) Y(i, 0) = 2 * X(i, 0) - X(i, 1) + 0.5;
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    ArenaScope scope;  // this step's temporaries are freed when the scope ends
    opt.zero_grad();
    Var<double> l = mse(model.forward(Var<double>(X)), Var<double>(Y));
    l.backward();
    opt.step();
    if (step == 0) first = l.item();
    last = l.item();
  }
  std::cout << "mse: first step " << first << ", last step " << last << "\n";
  std::cout << "weight:\n" << model.parameter("weight") << "\n";
  // [training]
  check(last < 1e-3 && last < first, "Adam fits the linear map");

  if (failures) {
    std::printf("%d check(s) FAILED\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
