// One activation enum (nn/activation.hpp): models::Activation is nn::Activation, the GCN spellings
// Identity/Relu are the values None/ReLU, and GCN / second-order layers built with either spelling
// compute the same thing.
#include <type_traits>

#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "mgvae/nn/activation.hpp"
#include "mgvae/nn/mlp.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using VD = Var<double>;

static_assert(std::is_same_v<models::Activation, nn::Activation>);
static_assert(nn::Activation::Identity == nn::Activation::None);
static_assert(nn::Activation::Relu == nn::Activation::ReLU);
static_assert(models::Activation::Relu == nn::Activation::ReLU);

TEST_CASE("activation: the old spellings name the same activation", "[nn][activation]") {
  CHECK(std::string(nn::activation_name(models::Activation::Identity)) == "none");
  CHECK(std::string(nn::activation_name(models::Activation::Relu)) == "relu");
  const TD x = TD::from({4}, {-1.5, -0.25, 0.0, 2.0});
  CHECK(models::activate(VD(x), models::Activation::Relu).value().to_vector() == std::vector<double>{0, 0, 0, 2});
  CHECK(models::activate(VD(x), models::Activation::Identity).value().to_vector() == x.to_vector());
}

TEST_CASE("activation: a GcnLayer built with nn::Activation::ReLU equals one built with models::Activation::Relu",
          "[nn][activation][models]") {
  CounterRng r1(3), r2(3);
  const models::GcnLayer<double> a(3, 4, r1, models::Activation::Relu), b(3, 4, r2, nn::Activation::ReLU);
  const VD adj(TD::from({2, 2}, {0.5, 0.5, 0.5, 0.5}));
  const VD x(TD::randn({2, 3}, CounterRng(4)));
  const auto ya = a.forward(models::Adjacency<double>::of(adj), x), yb = b.forward(models::Adjacency<double>::of(adj), x);
  CHECK(max_abs_diff(ya.value(), yb.value()) == 0.0);
  // the MLP takes the same enum
  CounterRng r3(5);
  const nn::MLP<double> m({3, 2}, r3, models::Activation::Relu, models::Activation::Identity);
  CHECK(m.final_activation() == nn::Activation::None);
}
