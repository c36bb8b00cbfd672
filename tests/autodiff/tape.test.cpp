#include "mgvae/autodiff/tape.hpp"

#include "mgvae/autodiff/gradcheck.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

TEST_CASE("backward fills leaf gradients; they accumulate until zero_grad", "[autodiff]") {
  VD x(TD::from({2}, {3.0, -1.0}), true), c(TD::from({2}, {5.0, 2.0}), false);
  backward(sum(mul(x, c)));
  REQUIRE(x.grad().defined());
  CHECK(x.grad()(0) == Approx(5.0));
  CHECK(x.grad()(1) == Approx(2.0));
  CHECK_FALSE(c.grad().defined());  // gated: no gradient for constants
  backward(sum(mul(x, c)));
  CHECK(x.grad()(0) == Approx(10.0));
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  CHECK(Tape::local().size() == 0);  // backward clears the tape
}

TEST_CASE("a value used twice receives both contributions", "[autodiff]") {
  VD x(TD::from({1}, {2.0}), true);
  VD y = mul(x, x);       // x^2
  VD z = add(y, mul(y, x));  // x^2 + x^3
  backward(sum(z));
  CHECK(x.grad()(0) == Approx(2 * 2.0 + 3 * 4.0));
}

TEST_CASE("no_grad records nothing and results need no gradient", "[autodiff]") {
  VD x(TD::from({2}, {1.0, 2.0}), true);
  {
    NoGradGuard ng;
    VD y = exp(x);
    CHECK_FALSE(y.requires_grad());
    CHECK(Tape::local().size() == 0);
  }
  VD y = exp(x);
  CHECK(y.requires_grad());
  CHECK(Tape::local().size() == 1);
  Tape::local().clear();
}

TEST_CASE("backward of a non-scalar needs a seed of the same shape", "[autodiff]") {
  VD x(TD::from({2}, {1.0, 2.0}), true);
  VD y = mul(x, x);
  CHECK_THROWS_AS(backward(y), std::invalid_argument);
  CHECK_THROWS_AS(backward(y, TD::zeros({3})), std::invalid_argument);
  backward(y, TD::from({2}, {1.0, 0.5}));
  CHECK(x.grad()(0) == Approx(2.0));
  CHECK(x.grad()(1) == Approx(2.0));
}

TEST_CASE("detach cuts the graph", "[autodiff]") {
  VD x(TD::from({1}, {2.0}), true);
  VD y = mul(x.detach(), x);
  backward(sum(y));
  CHECK(x.grad()(0) == Approx(2.0));
}

TEST_CASE("gradcheck detects a wrong backward", "[autodiff][gradcheck]") {
  // An op whose backward is deliberately wrong (factor 2 missing): gradcheck must fail.
  auto bad_square = [](const std::vector<VD>& v) {
    const VD& x = v[0];
    TD y = x.value().clone();
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data()[i] *= y.data()[i];
    return make_result<double>(y, {x}, [x](const TD& g) { x.node().accumulate(mul(VD(g), x.detach()).value()); });
  };
  const auto r = gradcheck(bad_square, {TD::from({3}, {1.0, 2.0, -0.5})});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("analytic") != std::string::npos);
  // ...and accepts the right one (full Jacobian), and a large output through projections.
  CHECK(gradcheck([](const std::vector<VD>& v) { return mul(v[0], v[0]); }, {TD::from({3}, {1.0, 2.0, -0.5})}).ok);
  GradcheckOptions o;
  o.full_jacobian_max_outputs = 2;
  const auto rp = gradcheck([](const std::vector<VD>& v) { return tanh(v[0]); }, {TD::uniform({4, 5}, CounterRng(1))}, o);
  CHECK(rp.ok);
  CHECK(rp.checked == 20 * o.random_projections);
}

TEST_CASE("arena scope: step tensors come from the arena and die with it", "[autodiff][arena]") {
  VD w(TD::from({2}, {1.0, 2.0}), true);  // parameter on the heap
  TD escaped;
  for (int step = 0; step < 3; ++step) {
    ArenaScope scope;
    VD y = mul(w, w);
    CHECK(y.value().arena_backed());
    backward(sum(y));
    escaped = y.value();
  }
  CHECK_FALSE(w.value().arena_backed());
  CHECK_FALSE(w.grad().arena_backed());  // leaf gradients live on the heap
  CHECK(w.grad()(1) == Approx(3 * 4.0));
  CHECK_THROWS_AS(escaped.data(), std::logic_error);
  const std::size_t cap = Arena::local().capacity();
  for (int step = 0; step < 10; ++step) {
    ArenaScope scope;
    (void)mul(VD(w.value()), VD(w.value()));
  }
  CHECK(Arena::local().capacity() == cap);  // memory is reused, not grown
}
