#include "mgvae/nn/optim.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "mgvae/nn/linear.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;

// Reference numbers below come from tests/nn/optim_ref.py (torch.optim, PyTorch 1.13.1, float64):
//   fixed - p0 = [0.5, -1, 2]; the gradient at step k is G[k] (set through backward(sum(G[k] * p)));
//   quad  - p0 = [0.5, -1, 2], loss = Σ (p - [1, 2, -1])², 5 steps.
namespace {
const std::vector<double> kP0 = {0.5, -1.0, 2.0};
const std::vector<std::vector<double>> kG = {{0.1, -0.2, 0.3}, {1.0, 0.5, -2.0}, {-0.3, 0.0, 0.7}};

template <class T>
Var<T> make_param(const std::vector<double>& v) {
  std::vector<T> t(v.begin(), v.end());
  return Var<T>(Tensor<T>::from({static_cast<std::int64_t>(v.size())}, t), true);
}

template <class T>
void set_grad(const Var<T>& p, const std::vector<double>& g) {
  p.zero_grad();
  std::vector<T> t(g.begin(), g.end());
  backward(sum(mul(p, Var<T>(Tensor<T>::from({static_cast<std::int64_t>(g.size())}, t)))));
}

template <class T>
void check_values(const Var<T>& p, const std::vector<double>& want, double tol) {
  const auto got = p.value().to_vector();
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(static_cast<double>(got[i]) == Approx(want[i]).epsilon(tol).margin(tol));
}

// Runs the "fixed" problem; checks after step 1 and after step 3.
template <class T, class Make>
void run_fixed(Make make, const std::vector<double>& after1, const std::vector<double>& after3, double tol) {
  Var<T> p = make_param<T>(kP0);
  auto opt = make(std::vector<Var<T>>{p});
  for (std::size_t k = 0; k < kG.size(); ++k) {
    set_grad(p, kG[k]);
    opt.step();
    if (k == 0) check_values(p, after1, tol);
  }
  check_values(p, after3, tol);
  CHECK(opt.step_count(0) == 3);
}

template <class T, class Make>
void run_quad(Make make, const std::vector<double>& after5, double tol) {
  Var<T> p = make_param<T>(kP0);
  const Var<T> target(Tensor<T>::from({3}, {T(1), T(2), T(-1)}));
  auto opt = make(std::vector<Var<T>>{p});
  for (int s = 0; s < 5; ++s) {
    opt.zero_grad();
    ArenaScope step;  // the optimiser's state lives on the heap, so this is safe
    Var<T> d = sub(p, target);
    backward(sum(mul(d, d)));
    opt.step();
  }
  check_values(p, after5, tol);
}
}  // namespace

TEMPLATE_TEST_CASE("Adam matches torch.optim.Adam", "[nn][optim][adam]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, double> ? 1e-12 : 2e-5;
  auto adam = [](std::vector<Var<T>> ps) { return nn::Adam<T>(ps, T(0.1)); };
  run_fixed<T>(adam, {0.40000000999999902, -0.90000000499999977, 1.9000000033333333},
               {0.27779331277274616, -0.97840489717593027, 1.9892493545004906}, tol);
  run_quad<T>(adam, {0.97218554862939044, -0.50177945622728704, 1.501779456227287}, tol);
  auto adam_wd = [](std::vector<Var<T>> ps) { return nn::Adam<T>(ps, T(0.1), T(0.8), T(0.99), T(1e-6), T(0.1)); };
  run_fixed<T>(adam_wd, {0.40000066666222223, -0.90000033333222218, 1.9000001999995999},
               {0.27032731598635051, -0.93224192869951505, 1.9667826140684552}, tol);
  run_quad<T>(adam_wd, {0.95290705692653865, -0.50344513636977017, 1.5033820540235274}, tol);
}

TEST_CASE("Adam: first step by hand is p - lr * sign(g) (bias correction)", "[nn][optim][adam]") {
  // Step 1: m = (1-β₁)g, v = (1-β₂)g², m̂ = g, v̂ = g²  ⇒  p ← p - lr g / (|g| + ε).
  Var<double> p = make_param<double>({1.0, 2.0});
  nn::Adam<double> opt({p}, 0.01);
  set_grad(p, {4.0, -0.5});
  opt.step();
  CHECK(p.value()(0) == Approx(1.0 - 0.01 * 4.0 / (4.0 + 1e-8)));
  CHECK(p.value()(1) == Approx(2.0 + 0.01 * 0.5 / (0.5 + 1e-8)));
  CHECK(opt.exp_avg(0)(0) == Approx(0.1 * 4.0));
  CHECK(opt.exp_avg_sq(0)(1) == Approx(0.001 * 0.25));
}

TEMPLATE_TEST_CASE("Adagrad matches torch.optim.Adagrad", "[nn][optim][adagrad]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, double> ? 1e-12 : 2e-5;
  auto ada = [](std::vector<Var<T>> ps) { return nn::Adagrad<T>(ps, T(0.1)); };
  run_fixed<T>(ada, {0.40000000009999997, -0.90000000005000003, 1.9000000000333332},
               {0.32910015876354254, -0.99284766912128453, 1.9661847833706816}, tol);
  run_quad<T>(ada, {0.77730821571666664, -0.68334009272337193, 1.6833400927233719}, tol);
  auto ada_init = [](std::vector<Var<T>> ps) { return nn::Adagrad<T>(ps, T(0.1), T(1e-6), T(0.1)); };
  run_fixed<T>(ada_init, {0.46984895645104041, -0.94654789447427612, 1.931175437733206},
               {0.40231934984107626, -1.0266118431718967, 1.9965242872605249}, tol);
  run_quad<T>(ada_init, {0.77036245751296462, -0.68358134779469681, 1.6835813477946966}, tol);
}

TEST_CASE("Adagrad: two steps by hand", "[nn][optim][adagrad]") {
  // s₁ = g₁², p₁ = p₀ - lr g₁/(sqrt(s₁)+ε); s₂ = s₁ + g₂², p₂ = p₁ - lr g₂/(sqrt(s₂)+ε).
  Var<double> p = make_param<double>({1.0});
  nn::Adagrad<double> opt({p}, 0.5, 0.0);
  set_grad(p, {3.0});
  opt.step();
  CHECK(p.value()(0) == Approx(1.0 - 0.5));
  set_grad(p, {4.0});
  opt.step();
  CHECK(p.value()(0) == Approx(0.5 - 0.5 * 4.0 / 5.0));
  CHECK(opt.sum(0)(0) == Approx(25.0));
}

TEMPLATE_TEST_CASE("SGD with and without momentum matches torch.optim.SGD", "[nn][optim][sgd]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, double> ? 1e-12 : 2e-5;
  auto sgdm = [](std::vector<Var<T>> ps) { return nn::SGD<T>(ps, T(0.1), T(0.9)); };
  run_fixed<T>(sgdm, {0.49, -0.98, 1.97}, {0.31289999999999996, -1.0407999999999999, 2.2286999999999999}, tol);
  run_quad<T>(sgdm, {1.2902100000000001, 3.74126, -2.74126}, tol);
  // Plain SGD: p ← p - lr g, by hand.
  auto sgd = [](std::vector<Var<T>> ps) { return nn::SGD<T>(ps, T(0.1)); };
  run_fixed<T>(sgd, {0.49, -0.98, 1.97}, {0.49 - 0.1 + 0.03, -0.98 - 0.05, 1.97 + 0.2 - 0.07}, tol);
}

TEST_CASE("Optimisers skip parameters without a gradient", "[nn][optim]") {
  Var<double> a = make_param<double>({1.0, 2.0}), b = make_param<double>({3.0});
  nn::Adam<double> opt({a, b}, 0.1);
  set_grad(a, {1.0, 1.0});
  opt.step();
  CHECK(b.value()(0) == 3.0);
  CHECK(opt.step_count(0) == 1);
  CHECK(opt.step_count(1) == 0);  // as PyTorch: no gradient, no step
  CHECK(a.value()(0) == Approx(0.9));
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("A NaN or Inf gradient throws std::domain_error naming the parameter; nothing is updated", "[nn][optim]") {
  CounterRng rng(1);
  nn::Linear<double> lin(2, 2, rng);
  nn::SGD<double> opt(lin.parameters(), 0.1);
  Var<double> x(Tensor<double>::ones({1, 2}));
  backward(sum(lin.forward(x)));
  const auto w_before = lin.weight().value().to_vector();
  lin.bias().grad().data()[1] = std::nan("");
  try {
    opt.step();
    FAIL("no exception");
  } catch (const std::domain_error& e) {
    const std::string m = e.what();
    CHECK(m.find("SGD") != std::string::npos);
    CHECK(m.find("parameter 1") != std::string::npos);
    CHECK(m.find("bias") != std::string::npos);
    CHECK(m.find("NaN") != std::string::npos);
  }
  CHECK(lin.weight().value().to_vector() == w_before);  // the step was atomic
  lin.bias().grad().data()[1] = INFINITY;
  CHECK_THROWS_AS(nn::Adam<double>(lin.parameters()).step(), std::domain_error);
  CHECK_THROWS_AS(nn::Adagrad<double>(lin.parameters()).step(), std::domain_error);
}

TEST_CASE("Optimiser constructors validate their arguments", "[nn][optim]") {
  Var<double> p = make_param<double>({1.0});
  CHECK_THROWS_AS(nn::Adam<double>({p, p}), std::invalid_argument);
  CHECK_THROWS_AS(nn::Adam<double>({Var<double>()}), std::invalid_argument);
  CHECK_THROWS_AS(nn::Adam<double>({p}, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(nn::Adam<double>({p}, 0.1, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(nn::SGD<double>({p}, 0.1, -0.5), std::invalid_argument);
  CHECK_THROWS_AS(nn::Adagrad<double>({p}, 0.1, -1.0), std::invalid_argument);
  {
    ArenaScope s;
    Var<double> arena_param(Tensor<double>::ones({2}), true);
    CHECK_THROWS_AS(nn::SGD<double>({arena_param}, 0.1), std::invalid_argument);
  }
  nn::SGD<double> opt({p}, 0.1);
  opt.set_lr(0.5);
  CHECK(opt.lr() == 0.5);
  CHECK_THROWS_AS(opt.set_lr(std::nan("")), std::invalid_argument);
}

TEST_CASE("clip_grad_norm matches torch.nn.utils.clip_grad_norm_", "[nn][optim]") {
  Var<double> p = make_param<double>({0.5, -1.0, 2.0});
  Var<double> q(Tensor<double>::from({1, 2}, {3.0, 4.0}), true), none = make_param<double>({1.0});
  set_grad(p, {1.0, 2.0, 2.0});
  backward(sum(mul(q, Var<double>(Tensor<double>::from({1, 2}, {0.0, 4.0})))));
  const double n = nn::clip_grad_norm<double>({p, q, none}, 2.5);
  CHECK(n == Approx(5.0));
  const std::vector<double> pg = {0.49999990000001998, 0.99999980000003996, 0.99999980000003996};
  for (int i = 0; i < 3; ++i) CHECK(p.grad()(i) == Approx(pg[static_cast<std::size_t>(i)]).epsilon(1e-14));
  CHECK(q.grad()(0, 1) == Approx(1.9999996000000799).epsilon(1e-14));
  CHECK(nn::clip_grad_norm<double>({p, q}, 10.0) == Approx(2.5).epsilon(1e-6));  // below the bound: untouched
  CHECK(p.grad()(0) == Approx(pg[0]).epsilon(1e-14));
}

TEMPLATE_TEST_CASE("Adam converges on a small least-squares problem", "[nn][optim][adam]", float, double) {
  using T = TestType;
  // y = X w* + b* exactly; fit a Linear(4 -> 1) by minimising the mean squared error.
  CounterRng rng(3);
  const std::int64_t n = 64;
  Tensor<T> X = Tensor<T>::randn({n, 4}, CounterRng(10));
  const std::vector<T> wstar = {T(1.5), T(-2), T(0.5), T(3)};
  const T bstar = T(0.7);
  Tensor<T> Y({n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    T acc = bstar;
    for (std::int64_t j = 0; j < 4; ++j) acc += X(i, j) * wstar[static_cast<std::size_t>(j)];
    Y(i, 0) = acc;
  }
  nn::Linear<T> lin(4, 1, rng);
  nn::Adam<T> opt(lin.parameters(), T(0.05));
  const Var<T> x(X), y(Y);
  T first = 0, last = 0;
  for (int step = 0; step < 600; ++step) {
    ArenaScope scope;
    opt.zero_grad();
    Var<T> d = sub(lin.forward(x), y);
    Var<T> loss = mean(mul(d, d));
    if (step == 0) first = loss.item();
    last = loss.item();
    backward(loss);
    opt.step();
  }
  INFO("loss " << first << " -> " << last);
  CHECK(last < T(1e-6) * first);
  for (std::int64_t j = 0; j < 4; ++j) CHECK(lin.weight().value()(j, 0) == Approx(wstar[static_cast<std::size_t>(j)]).margin(1e-2));
  CHECK(lin.bias().value()(0) == Approx(bstar).margin(1e-2));
}
