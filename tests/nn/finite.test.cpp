#include "mgvae/nn/finite.hpp"

#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <unistd.h>

#include "mgvae/nn/checkpoint.hpp"
#include "mgvae/nn/linear.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;
namespace fs = std::filesystem;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// A two-layer module: "fc0.weight", "fc0.bias", "fc1.weight", "fc1.bias".
template <class T>
struct Net : nn::Module<T> {
  std::shared_ptr<nn::Linear<T>> fc0, fc1;
  explicit Net(CounterRng rng) {
    fc0 = this->register_module("fc0", std::make_shared<nn::Linear<T>>(3, 4, rng));
    fc1 = this->register_module("fc1", std::make_shared<nn::Linear<T>>(4, 2, rng));
  }
  Var<T> loss(const Var<T>& x) const { return sum(fc1->forward(fc0->forward(x))); }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_CASE("first_non_finite names the first NaN or Inf loss term", "[nn][finite]") {
  using V = std::vector<std::pair<std::string, double>>;
  CHECK_FALSE(nn::first_non_finite(V{{"recon", 1.5}, {"kl", -3.0}, {"balance", 0.0}}).has_value());
  CHECK_FALSE(nn::first_non_finite(V{}).has_value());
  CHECK(nn::first_non_finite(V{{"recon", 1.5}, {"kl", kNaN}, {"balance", kInf}}).value() == "kl");
  CHECK(nn::first_non_finite(V{{"recon", 1.5}, {"kl", 2.0}, {"balance", kInf}}).value() == "balance");
  CHECK(nn::first_non_finite(V{{"recon", -kInf}}).value() == "recon");
  const std::map<std::string, double> m{{"a", 1.0}, {"b", kNaN}};
  CHECK(nn::first_non_finite(m).value() == "b");

  // named Vars (models::LossTerms::terms)
  std::vector<std::pair<std::string, Var<float>>> vt{{"recon", Var<float>(Tensor<float>::scalar(1.f))},
                                                      {"kl[0]", Var<float>(Tensor<float>::scalar(std::numeric_limits<float>::infinity()))}};
  CHECK(nn::first_non_finite(vt).value() == "kl[0]");
  vt.pop_back();
  CHECK_FALSE(nn::first_non_finite(vt).has_value());

  CHECK(nn::finite_str(kNaN) == "nan");
  CHECK(nn::finite_str(-kInf) == "-inf");
  CHECK(nn::finite_str(2.5) == "2.5");
}

TEMPLATE_TEST_CASE("grads_finite names the parameter with a non-finite gradient", "[nn][finite]", float, double) {
  using T = TestType;
  Net<T> net(CounterRng(3));
  const Var<T> x(Tensor<T>::randn({5, 3}, CounterRng(4)));
  std::string which = "untouched";
  // before backward: no gradients at all -> finite
  CHECK(nn::grads_finite(net.parameters(), &which));
  CHECK(which == "untouched");
  backward(net.loss(x));
  CHECK(nn::grads_finite(net.parameters(), &which));
  CHECK(nn::grads_finite(net.named_parameters(), &which));
  CHECK_FALSE(nn::check_step<T>({{"loss", 1.0}}, net.parameters()).has_value());

  // poison one gradient element of fc1.weight
  net.fc1->weight().grad().data()[5] = std::numeric_limits<T>::quiet_NaN();
  CHECK_FALSE(nn::grads_finite(net.parameters(), &which));
  CHECK(which == "fc1.weight");
  which.clear();
  CHECK_FALSE(nn::grads_finite(net.named_parameters(), &which));
  CHECK(which == "fc1.weight");
  // an earlier parameter with an Inf gradient is named first
  net.fc0->bias().grad().data()[0] = std::numeric_limits<T>::infinity();
  CHECK_FALSE(nn::grads_finite(net.parameters(), &which));
  CHECK(which == "fc0.bias");

  // check_step: loss terms first, then gradients
  auto r = nn::check_step<T>({{"recon", 1.0}, {"kl", kInf}}, net.parameters());
  REQUIRE(r.has_value());
  CHECK(r->term == "kl");
  CHECK(r->what == "loss term 'kl' is inf");
  r = nn::check_step<T>({{"recon", 1.0}}, net.parameters());
  REQUIRE(r.has_value());
  CHECK(r->term == "fc0.bias");
  CHECK(r->what == "gradient of parameter 'fc0.bias' is not finite");

  // require_finite_step throws a DivergenceError naming where and what
  try {
    nn::require_finite_step<T>("seed 1 epoch 200 step 7", {{"recon", kNaN}}, net.parameters());
    FAIL("no DivergenceError");
  } catch (const DivergenceError& e) {
    CHECK(std::string(e.what()) == "seed 1 epoch 200 step 7: loss term 'recon' is nan");
    CHECK(e.where() == "seed 1 epoch 200 step 7");
    CHECK(e.term() == "recon");
  }

  net.zero_grad();
  CHECK(nn::grads_finite(net.parameters(), &which));
  // values_finite
  CHECK(nn::values_finite(net.parameters(), &which));
  net.fc1->bias().value().data()[1] = -std::numeric_limits<T>::infinity();
  CHECK_FALSE(nn::values_finite(net.parameters(), &which));
  CHECK(which == "fc1.bias");
}

TEMPLATE_TEST_CASE("a non-finite parameter is never written over a good checkpoint", "[nn][finite][checkpoint]", float,
                   double) {
  using T = TestType;
  const fs::path dir = fs::temp_directory_path() / ("mgvae_finite_" + std::to_string(static_cast<long long>(::getpid())));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string p = (dir / "model.safetensors").string();

  Net<T> net(CounterRng(9));
  nn::save_checkpoint(net, p, {{"epoch", "1"}});
  const std::string good = slurp(p);
  REQUIRE(good.size() > 8);

  // one NaN in fc0.weight (after a would-be update)
  net.fc0->weight().value().data()[2] = std::numeric_limits<T>::quiet_NaN();
  try {
    nn::save_checkpoint(net, p, {{"epoch", "2"}});
    FAIL("no DivergenceError");
  } catch (const DivergenceError& e) {
    const std::string msg = e.what();
    CHECK(e.term() == "fc0.weight");
    CHECK(msg.find("tensor 'fc0.weight' has a non-finite value at flat index 2") != std::string::npos);
    CHECK(msg.find(p) != std::string::npos);
  }
  CHECK(slurp(p) == good);  // bytes unchanged
  CHECK(nn::read_safetensors_metadata(p).at("epoch") == "1");
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".tmp") == std::string::npos);

  // Inf via save_safetensors directly, to a new path: nothing is created
  const std::string q = (dir / "other.safetensors").string();
  Tensor<T> t = Tensor<T>::zeros({2, 2});
  t.data()[3] = std::numeric_limits<T>::infinity();
  CHECK_THROWS_AS(nn::save_safetensors<T>(q, {{"w", t}}), DivergenceError);
  CHECK_FALSE(fs::exists(q));
  // a finite save still works and replaces the file
  t.data()[3] = T(1);
  nn::save_safetensors<T>(p, {{"w", t}});
  CHECK(slurp(p) != good);
  CHECK(nn::load_safetensors<T>(p).at(0).second.data()[3] == T(1));
  fs::remove_all(dir);
}
