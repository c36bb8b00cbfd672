#include "mgvae/nn/mlp.hpp"

#include <cmath>
#include <functional>

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;

namespace {
double naive_act(double v, nn::Activation a) {
  switch (a) {
    case nn::Activation::None: return v;
    case nn::Activation::ReLU: return v > 0 ? v : 0;
    case nn::Activation::Tanh: return std::tanh(v);
    case nn::Activation::Sigmoid: return 1 / (1 + std::exp(-v));
    case nn::Activation::Softplus: return std::log1p(std::exp(v));
  }
  return 0;
}

// Row-by-row MLP with plain loops: h ← act(h W + b) per layer.
template <class T>
std::vector<double> naive_mlp(const nn::MLP<T>& m, const Tensor<T>& x) {
  const std::int64_t in = m.sizes().front();
  const std::int64_t rows = x.numel() / in;
  std::vector<double> out;
  const auto xv = x.to_vector();
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<double> h(xv.begin() + r * in, xv.begin() + (r + 1) * in);
    for (std::size_t l = 0; l < m.layers().size(); ++l) {
      const auto& L = *m.layers()[l];
      const auto w = L.weight().value().to_vector();
      std::vector<double> nh(static_cast<std::size_t>(L.out_features()), 0.0);
      for (std::int64_t o = 0; o < L.out_features(); ++o) {
        double acc = L.has_bias() ? L.bias().value().to_vector()[static_cast<std::size_t>(o)] : 0.0;
        for (std::int64_t i = 0; i < L.in_features(); ++i)
          acc += h[static_cast<std::size_t>(i)] * w[static_cast<std::size_t>(i * L.out_features() + o)];
        nh[static_cast<std::size_t>(o)] = naive_act(acc, l + 1 < m.layers().size() ? m.activation() : m.final_activation());
      }
      h = nh;
    }
    out.insert(out.end(), h.begin(), h.end());
  }
  return out;
}
}  // namespace

TEMPLATE_TEST_CASE("MLP matches a naive loop for every activation", "[nn][mlp]", float, double) {
  using T = TestType;
  const auto act = GENERATE(nn::Activation::None, nn::Activation::ReLU, nn::Activation::Tanh, nn::Activation::Sigmoid,
                            nn::Activation::Softplus);
  const auto fin = GENERATE(nn::Activation::None, nn::Activation::Sigmoid);
  const bool bias = GENERATE(true, false);
  CounterRng rng(31);
  nn::MLP<T> m({4, 6, 5, 2}, rng, act, fin, bias);
  if (bias)
    for (auto& L : m.layers()) L->bias().value().copy_from(Tensor<T>::randn(L->bias().shape(), CounterRng(5), T(0.3)));
  REQUIRE(m.layers().size() == 3);
  CHECK(m.named_parameters().size() == (bias ? 6u : 3u));
  CHECK(m.named_parameters()[0].first == "fc0.weight");
  CHECK(m.named_parameters().back().first == (bias ? "fc2.bias" : "fc2.weight"));
  CHECK(m.num_parameters() == 4 * 6 + 6 * 5 + 5 * 2 + (bias ? 6 + 5 + 2 : 0));
  INFO("act " << nn::activation_name(act) << ", final " << nn::activation_name(fin));
  const Tensor<T> x = Tensor<T>::randn({3, 2, 4}, CounterRng(6));
  const Var<T> y = m.forward(Var<T>(x));
  REQUIRE(y.shape() == Shape{3, 2, 2});
  const auto want = naive_mlp(m, x);
  const auto got = y.value().to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(1e-5).margin(1e-6));
}

TEST_CASE("activate: each activation's value and gradcheck (double)", "[nn][mlp][gradcheck]") {
  const auto act = GENERATE(nn::Activation::None, nn::Activation::ReLU, nn::Activation::Tanh, nn::Activation::Sigmoid,
                            nn::Activation::Softplus);
  // Points away from ReLU's kink at 0.
  const Tensor<double> x = Tensor<double>::from({5}, {-2.0, -0.7, 0.3, 1.1, 3.0});
  const auto y = nn::activate(Var<double>(x), act).value().to_vector();
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(naive_act(x.to_vector()[i], act)));
  const auto r = gradcheck([act](const std::vector<Var<double>>& v) { return nn::activate(v[0], act); }, {x});
  INFO(nn::activation_name(act) << ": " << r.message);
  CHECK(r.ok);
}

TEST_CASE("MLP: gradients w.r.t. input and every parameter agree with finite differences", "[nn][mlp][gradcheck]") {
  CounterRng rng(77);
  auto m = std::make_shared<nn::MLP<double>>(std::vector<std::int64_t>{3, 5, 4, 2}, rng, nn::Activation::Tanh,
                                             nn::Activation::Softplus);
  for (auto& L : m->layers()) L->bias().value().copy_from(Tensor<double>::randn(L->bias().shape(), CounterRng(3), 0.2));
  // Input gradient: gradcheck over x with the parameters fixed.
  const auto r = gradcheck([&](const std::vector<Var<double>>& v) { return m->forward(v[0]); },
                           {Tensor<double>::randn({4, 3}, CounterRng(12))});
  INFO(r.message);
  CHECK(r.ok);
  m->zero_grad();  // the check above accumulated into the parameters
  // Parameter gradients: backward once, then central differences on each parameter entry.
  Var<double> x(Tensor<double>::randn({4, 3}, CounterRng(13)));
  auto loss = [&] { return sum(mul(m->forward(x), m->forward(x))); };
  backward(loss());
  for (auto& [name, p] : m->named_parameters()) {
    const Tensor<double> g = p.grad().clone();
    for (std::int64_t k = 0; k < p.numel(); ++k) {
      double* v = p.value().data() + k;
      const double v0 = *v, h = 1e-6;
      NoGradGuard ng;
      *v = v0 + h;
      const double fp = loss().item();
      *v = v0 - h;
      const double fm = loss().item();
      *v = v0;
      INFO(name << "[" << k << "]");
      CHECK(g.data()[k] == Approx((fp - fm) / (2 * h)).epsilon(1e-6).margin(1e-8));
    }
  }
}

TEST_CASE("MLP: bad sizes and inputs throw", "[nn][mlp]") {
  CounterRng rng(1);
  CHECK_THROWS_AS(nn::MLP<double>({4}, rng), std::invalid_argument);
  CHECK_THROWS_AS(nn::MLP<double>({4, 0, 2}, rng), std::invalid_argument);
  nn::MLP<double> m({4, 3, 2}, rng);
  CHECK_THROWS_AS(m.forward(Var<double>(Tensor<double>::zeros({2, 5}))), std::invalid_argument);
  CHECK_THROWS_AS(nn::activate(Var<double>(Tensor<double>::zeros({1})), static_cast<nn::Activation>(42)),
                  std::invalid_argument);
}

TEST_CASE("MLP: same seed, same weights; different seed, different weights", "[nn][mlp]") {
  CounterRng a(5), b(5), c(6);
  nn::MLP<float> m1({3, 4, 1}, a), m2({3, 4, 1}, b), m3({3, 4, 1}, c);
  CHECK(m1.layers()[1]->weight().value().to_vector() == m2.layers()[1]->weight().value().to_vector());
  CHECK(m1.layers()[1]->weight().value().to_vector() != m3.layers()[1]->weight().value().to_vector());
  // layers draw in sequence: the two layers' weights differ
  CHECK(m1.layers()[0]->weight().value()(0, 0) != m1.layers()[1]->weight().value()(0, 0));
}
