#include "mgvae/nn/module.hpp"

#include "mgvae/nn/init.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;

namespace {
// A two-level module: own parameter "scale", sub-modules "enc" and "dec" (Linear layers).
template <class T>
struct TwoLayer : nn::Module<T> {
  TwoLayer(CounterRng& rng) {
    scale = this->register_parameter("scale", nn::ones<T>({1}));
    enc = this->register_module("enc", std::make_shared<nn::Linear<T>>(3, 4, rng));
    dec = this->register_module("dec", std::make_shared<nn::Linear<T>>(4, 2, rng, false));
  }
  Var<T> forward(const Var<T>& x) const { return mul(dec->forward(enc->forward(x)), scale); }
  Var<T> scale;
  std::shared_ptr<nn::Linear<T>> enc, dec;
};
}  // namespace

TEMPLATE_TEST_CASE("Module: recursive named_parameters in registration order", "[nn][module]", float, double) {
  CounterRng rng(7);
  TwoLayer<TestType> m(rng);
  const auto np = m.named_parameters();
  REQUIRE(np.size() == 4);
  CHECK(np[0].first == "scale");
  CHECK(np[1].first == "enc.weight");
  CHECK(np[2].first == "enc.bias");
  CHECK(np[3].first == "dec.weight");
  CHECK(np[1].second.shape() == Shape{3, 4});
  CHECK(np[3].second.shape() == Shape{4, 2});
  CHECK(m.num_parameters() == 1 + 12 + 4 + 8);
  CHECK(m.parameters().size() == 4);
  for (const auto& [n, v] : np) {
    CHECK(v.requires_grad());
    CHECK(v.is_leaf());
    CHECK(v.node().name == n);  // nodes carry their full path (used in optimiser messages)
  }
  CHECK(m.parameter("enc.bias").ptr() == m.enc->bias().ptr());
  CHECK_THROWS_AS(m.parameter("enc.nope"), std::invalid_argument);
  CHECK(m.children().size() == 2);
}

TEST_CASE("Module: names are unique, non-empty and dot-free", "[nn][module]") {
  nn::Module<double> m;
  m.register_parameter("w", nn::zeros<double>({2}));
  CHECK_THROWS_AS(m.register_parameter("w", nn::zeros<double>({2})), std::invalid_argument);
  CHECK_THROWS_AS(m.register_parameter("", nn::zeros<double>({2})), std::invalid_argument);
  CHECK_THROWS_AS(m.register_parameter("a.b", nn::zeros<double>({2})), std::invalid_argument);
  CHECK_THROWS_AS(m.register_parameter("u", Tensor<double>()), std::invalid_argument);
  CounterRng rng(1);
  CHECK_THROWS_AS(m.register_module("w", std::make_shared<nn::Linear<double>>(2, 2, rng)), std::invalid_argument);
  m.register_module("sub", std::make_shared<nn::Linear<double>>(2, 2, rng));
  CHECK_THROWS_AS(m.register_parameter("sub", nn::zeros<double>({2})), std::invalid_argument);
  CHECK_THROWS_AS(m.register_module("sub", std::make_shared<nn::Linear<double>>(2, 2, rng)), std::invalid_argument);
  CHECK_THROWS_AS(m.register_module("null", std::shared_ptr<nn::Linear<double>>()), std::invalid_argument);
  try {
    m.register_parameter("w", nn::zeros<double>({2}));
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("'w'") != std::string::npos);
  }
}

TEST_CASE("Module: parameters made inside an ArenaScope live on the heap", "[nn][module][arena]") {
  std::shared_ptr<nn::Linear<double>> lin;
  nn::Module<double> m;
  {
    ArenaScope step;
    CounterRng rng(3);
    // An init tensor allocated in the arena is copied to the heap at registration.
    Tensor<double> arena_init = Tensor<double>::ones({3});
    REQUIRE(arena_init.arena_backed());
    m.register_parameter("p", arena_init);
    lin = std::make_shared<nn::Linear<double>>(2, 3, rng);
  }
  CHECK_FALSE(m.parameter("p").value().arena_backed());
  CHECK(m.parameter("p").value()(2) == 1.0);  // readable after the scope ended
  CHECK_FALSE(lin->weight().value().arena_backed());
  CHECK_FALSE(lin->bias().value().arena_backed());
}

TEST_CASE("Module: copies of a parameter Var see in-place updates; zero_grad clears all", "[nn][module]") {
  CounterRng rng(5);
  TwoLayer<double> m(rng);
  Var<double> w = m.enc->weight();  // a copy of the handle
  m.named_parameters()[1].second.value().data()[0] = 42.0;
  CHECK(w.value()(0, 0) == 42.0);
  Var<double> x(Tensor<double>::ones({2, 3}));
  backward(sum(m.forward(x)));
  for (const auto& p : m.parameters()) CHECK(p.grad().defined());
  m.zero_grad();
  for (const auto& p : m.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Module: train/eval propagate to sub-modules", "[nn][module]") {
  CounterRng rng(5);
  TwoLayer<float> m(rng);
  CHECK(m.is_training());
  m.train(false);
  CHECK_FALSE(m.is_training());
  CHECK_FALSE(m.enc->is_training());
  CHECK_FALSE(m.dec->is_training());
  m.train();
  CHECK(m.dec->is_training());
  m.eval();
  CHECK_FALSE(m.enc->is_training());
}

TEST_CASE("init: Glorot bounds and moments, zeros, determinism", "[nn][init]") {
  CounterRng rng(11);
  const Tensor<double> w = nn::glorot_uniform<double>({40, 60}, rng);
  const double a = std::sqrt(6.0 / 100.0);
  double mn = 1e9, mx = -1e9, s2 = 0;
  for (double v : w.to_vector()) {
    mn = std::min(mn, v);
    mx = std::max(mx, v);
    s2 += v * v;
  }
  CHECK(mn >= -a);
  CHECK(mx <= a);
  CHECK(mx > 0.95 * a);
  CHECK(mn < -0.95 * a);
  CHECK(s2 / 2400 == Approx(a * a / 3).epsilon(0.1));  // variance of U(-a, a) = a²/3 = 2/(in+out)
  const Tensor<double> g = nn::glorot_normal<double>({40, 60}, rng);
  double g2 = 0;
  for (double v : g.to_vector()) g2 += v * v;
  CHECK(g2 / 2400 == Approx(2.0 / 100.0).epsilon(0.1));
  CHECK(nn::zeros<float>({3, 2}).to_vector() == std::vector<float>(6, 0.0f));
  CounterRng r1(99), r2(99);
  CHECK(nn::glorot_uniform<float>({3, 3}, r1).to_vector() == nn::glorot_uniform<float>({3, 3}, r2).to_vector());
  CounterRng r3 = r2.split(1);
  CHECK(nn::glorot_uniform<float>({3, 3}, r1).to_vector() != nn::glorot_uniform<float>({3, 3}, r3).to_vector());
  CHECK(nn::fans({5, 3, 4}) == std::pair<double, double>(15.0, 20.0));
}
