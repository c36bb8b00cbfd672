#include "mgvae/nn/linear.hpp"

#include <functional>
#include <string>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;

namespace {
// y[r, o] = b[o] + Σ_i x[r, i] W[i, o] over the flattened leading axes r.
template <class T>
std::vector<T> naive_linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>* b) {
  const auto xv = x.to_vector(), wv = w.to_vector();
  const std::int64_t in = w.shape()[0], out = w.shape()[1], rows = x.numel() / in;
  std::vector<T> y(static_cast<std::size_t>(rows * out));
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      double acc = b ? static_cast<double>(b->to_vector()[static_cast<std::size_t>(o)]) : 0.0;
      for (std::int64_t i = 0; i < in; ++i)
        acc += static_cast<double>(xv[static_cast<std::size_t>(r * in + i)]) * static_cast<double>(wv[static_cast<std::size_t>(i * out + o)]);
      y[static_cast<std::size_t>(r * out + o)] = static_cast<T>(acc);
    }
  return y;
}

// Finite-difference check of d loss / d parameter for every parameter element of a module
// (central differences, perturbing the parameter values in place).
double module_fd_max_err(nn::Module<double>& m, const std::function<Var<double>()>& loss) {
  m.zero_grad();
  backward(loss());
  double worst = 0;
  for (auto& [name, p] : m.named_parameters()) {
    REQUIRE(p.grad().defined());
    const Tensor<double> g = p.grad().clone();
    for (std::int64_t k = 0; k < p.numel(); ++k) {
      double* v = p.value().data() + k;
      const double v0 = *v, h = 1e-6;
      double f[2];
      for (int s = 0; s < 2; ++s) {
        *v = v0 + (s ? -h : h);
        NoGradGuard ng;
        f[s] = loss().item();
      }
      *v = v0;
      const double num = (f[0] - f[1]) / (2 * h);
      worst = std::max(worst, std::abs(num - g.data()[k]) / std::max(1.0, std::abs(num)));
    }
  }
  m.zero_grad();
  return worst;
}
}  // namespace

TEMPLATE_TEST_CASE("Linear matches a naive loop for inputs of rank 1 to 4", "[nn][linear]", float, double) {
  using T = TestType;
  CounterRng rng(2024);
  const bool bias = GENERATE(true, false);
  nn::Linear<T> lin(5, 3, rng, bias);
  CHECK(lin.in_features() == 5);
  CHECK(lin.out_features() == 3);
  CHECK(lin.has_bias() == bias);
  CHECK(lin.named_parameters().size() == (bias ? 2u : 1u));
  if (bias) {
    // a non-zero bias, so the test sees it
    lin.bias().value().copy_from(Tensor<T>::from({3}, {T(0.5), T(-1), T(2)}));
  }
  const Tensor<T>* b = bias ? &lin.bias().value() : nullptr;
  for (const Shape& xs : {Shape{5}, Shape{4, 5}, Shape{2, 4, 5}, Shape{2, 3, 2, 5}, Shape{0, 5}}) {
    Tensor<T> x = Tensor<T>::randn(xs, CounterRng(static_cast<std::uint64_t>(xs.size())));
    Var<T> y = lin.forward(Var<T>(x));
    Shape ys = xs;
    ys.back() = 3;
    REQUIRE(y.shape() == ys);
    const auto want = naive_linear(x, lin.weight().value(), b);
    const auto got = y.value().to_vector();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("Linear: weight is [in, out], Glorot-bounded; bias starts at zero", "[nn][linear]") {
  CounterRng rng(1);
  nn::Linear<double> lin(6, 10, rng);
  CHECK(lin.weight().shape() == Shape{6, 10});
  CHECK(lin.bias().shape() == Shape{10});
  const double a = std::sqrt(6.0 / 16.0);
  for (double v : lin.weight().value().to_vector()) CHECK(std::abs(v) <= a);
  for (double v : lin.bias().value().to_vector()) CHECK(v == 0.0);
  CHECK_THROWS_AS(nn::Linear<double>(0, 3, rng), std::invalid_argument);
  CHECK_THROWS_AS(nn::Linear<double>(3, -1, rng), std::invalid_argument);
}

TEST_CASE("Linear: shape mismatch names Linear and both shapes", "[nn][linear]") {
  CounterRng rng(1);
  nn::Linear<double> lin(4, 2, rng);
  Var<double> x(Tensor<double>::zeros({3, 5}));
  try {
    (void)lin.forward(x);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("Linear") != std::string::npos);
    CHECK(m.find("[3, 5]") != std::string::npos);
    CHECK(m.find("[4, 2]") != std::string::npos);
  }
  CHECK_THROWS_AS(lin.forward(Var<double>(Tensor<double>::scalar(1.0))), std::invalid_argument);
  CHECK_THROWS_AS(nn::linear(x, Var<double>(Tensor<double>::zeros({5, 2})), Var<double>(Tensor<double>::zeros({3}))),
                  std::invalid_argument);
}

TEST_CASE("Linear: gradcheck of the functional form w.r.t. x, W and b (double)", "[nn][linear][gradcheck]") {
  for (const Shape& xs : {Shape{3}, Shape{4, 3}, Shape{2, 2, 3}, Shape{2, 1, 2, 3}}) {
    const auto r = gradcheck(
        [](const std::vector<Var<double>>& v) { return nn::linear(v[0], v[1], v[2]); },
        {Tensor<double>::randn(xs, CounterRng(1)), Tensor<double>::randn({3, 2}, CounterRng(2)),
         Tensor<double>::randn({2}, CounterRng(3))});
    INFO(shape_str(xs) << ": " << r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("Linear: parameter gradients of the module agree with finite differences", "[nn][linear][gradcheck]") {
  CounterRng rng(8);
  nn::Linear<double> lin(3, 4, rng);
  lin.bias().value().copy_from(Tensor<double>::randn({4}, CounterRng(4)));
  Var<double> x(Tensor<double>::randn({2, 5, 3}, CounterRng(9)));
  // A non-linear scalar loss so every entry of W and b matters differently.
  auto loss = [&] { return sum(tanh(lin.forward(x))); };
  CHECK(module_fd_max_err(lin, loss) < 1e-7);
}

TEST_CASE("Linear inside an ArenaScope: activations in the arena, gradients on the heap", "[nn][linear][arena]") {
  CounterRng rng(8);
  nn::Linear<float> lin(3, 2, rng);
  Var<float> x(Tensor<float>::ones({4, 3}));
  {
    ArenaScope step;
    Var<float> y = lin.forward(x);
    CHECK(y.value().arena_backed());
    backward(sum(y));
  }
  CHECK_FALSE(lin.weight().grad().arena_backed());
  CHECK(lin.bias().grad()(0) == Approx(4.0f));  // d Σy / d b = number of rows
  CHECK(lin.weight().grad()(1, 1) == Approx(4.0f));
}
