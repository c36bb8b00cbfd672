// Printing tensors and Vars (tensor/print.hpp, autodiff/var.hpp): exact strings for every layout
// (0-d, 1-d, 2-d, 3-d), every number format (whole, fixed, scientific, nan/inf), summarised
// dimensions, non-contiguous views, undefined and empty tensors, and the options.
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/tensor/print.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;
using TF = Tensor<float>;

namespace {
template <class X>
std::string str(const X& x) {
  std::ostringstream os;
  os << x;
  return os.str();
}
TD arange(const Shape& s) {
  TD t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<double>(i);
  return t;
}
}  // namespace

TEST_CASE("print: 2-d fixed point, shape and dtype", "[tensor][print]") {
  const TD t = TD::from({2, 3}, {1, 2.5, 3, 4, 5, 6});
  CHECK(str(t) ==
        "tensor([[1.0000, 2.5000, 3.0000],\n"
        "        [4.0000, 5.0000, 6.0000]], shape=[2, 3], dtype=float64)");
  CHECK(to_string(t) == str(t));
}

TEST_CASE("print: whole numbers, float32, negative values right-aligned", "[tensor][print]") {
  CHECK(str(TF::from({3}, {1, -20, 3})) == "tensor([  1., -20.,   3.], shape=[3], dtype=float32)");
  CHECK(str(TD::scalar(7)) == "tensor(7., shape=[], dtype=float64)");
  CHECK(str(TD::scalar(-0.5)) == "tensor(-0.5000, shape=[], dtype=float64)");
}

TEST_CASE("print: scientific when magnitudes span more than 1e3 or leave [1e-4, 1e8)", "[tensor][print]") {
  CHECK(str(TD::from({2}, {1e-5, 1})) == "tensor([1.0000e-05, 1.0000e+00], shape=[2], dtype=float64)");
  CHECK(str(TD::from({2}, {0.5, 1e9})) == "tensor([5.0000e-01, 1.0000e+09], shape=[2], dtype=float64)");
  CHECK(str(TD::from({2}, {0.5, 200})) == "tensor([  0.5000, 200.0000], shape=[2], dtype=float64)");
}

TEST_CASE("print: nan and inf", "[tensor][print]") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(str(TD::from({4}, {std::nan(""), inf, -inf, 1.5})) ==
        "tensor([   nan,    inf,   -inf, 1.5000], shape=[4], dtype=float64)");
  CHECK(str(TD::from({2}, {inf, 2})) == "tensor([inf,  2.], shape=[2], dtype=float64)");
}

TEST_CASE("print: a dimension longer than 6 shows 3 + ... + 3 entries", "[tensor][print]") {
  CHECK(str(arange({10})) == "tensor([0., 1., 2., ..., 7., 8., 9.], shape=[10], dtype=float64)");
  CHECK(str(arange({6})) == "tensor([0., 1., 2., 3., 4., 5.], shape=[6], dtype=float64)");
  CHECK(str(arange({8, 2})) ==
        "tensor([[ 0.,  1.],\n"
        "        [ 2.,  3.],\n"
        "        [ 4.,  5.],\n"
        "        ...,\n"
        "        [10., 11.],\n"
        "        [12., 13.],\n"
        "        [14., 15.]], shape=[8, 2], dtype=float64)");
  PrintOptions o;
  o.max_per_dim = 3;
  o.edge_items = 1;
  o.precision = 2;
  CHECK(to_string(TD::from({4}, {0.5, 1, 2, 3.25}), o) == "tensor([0.50, ..., 3.25], shape=[4], dtype=float64)");
  o.edge_items = 0;
  CHECK_THROWS_AS(to_string(TD::scalar(1), o), std::invalid_argument);
}

TEST_CASE("print: 3-d blocks separated by a blank line; views print their own elements", "[tensor][print]") {
  const TD t = arange({2, 2, 2});
  CHECK(str(t) ==
        "tensor([[[0., 1.],\n"
        "         [2., 3.]],\n"
        "\n"
        "        [[4., 5.],\n"
        "         [6., 7.]]], shape=[2, 2, 2], dtype=float64)");
  const TD tr = arange({2, 3}).transpose(0, 1);  // non-contiguous [3, 2]
  CHECK(str(tr) ==
        "tensor([[0., 3.],\n"
        "        [1., 4.],\n"
        "        [2., 5.]], shape=[3, 2], dtype=float64)");
  CHECK(str(arange({2, 3}).slice(1, 1, 3)) ==
        "tensor([[1., 2.],\n"
        "        [4., 5.]], shape=[2, 2], dtype=float64)");
}

TEST_CASE("print: undefined and empty tensors", "[tensor][print]") {
  CHECK(str(TD()) == "tensor(undefined)");
  CHECK(str(TD(Shape{0, 3})) == "tensor([], shape=[0, 3], dtype=float64)");
}

TEST_CASE("print: Var shows its value and requires_grad", "[tensor][print][autodiff]") {
  CHECK(str(Var<double>(TD::from({2}, {1, 2}), true)) == "tensor([1., 2.], shape=[2], dtype=float64, requires_grad=true)");
  CHECK(str(Var<float>(TF::scalar(0.25f))) == "tensor(0.2500, shape=[], dtype=float32, requires_grad=false)");
  CHECK(str(Var<double>()) == "tensor(undefined)");
}
