// demo: the smallest end-to-end use of mgvae's nn layer.
//
// Generates the "two moons" binary-classification set with a counter-based RNG, trains an MLP
// (2 -> 32 -> 32 -> 1, tanh) with Adam on the logistic loss, one full-batch step per epoch inside
// an ArenaScope (every temporary of the step is released at once when the scope ends), prints
// progress with an ETA, reports train and test accuracy, and writes the trained parameters to
// out/demo.safetensors (atomically; readable by any safetensors reader).
//
//   demo [--seed N] [--epochs N] [--out DIR]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "mgvae/mgvae.hpp"

using namespace mgvae;
using T = float;

namespace {

struct Options {
  std::uint64_t seed = 1;
  int epochs = 300;
  std::string out = "out";
};

[[noreturn]] void usage(int code) {
  (code == 0 ? std::cout : std::cerr) << "usage: demo [--seed N] [--epochs N] [--out DIR]\n"
               "  --seed N     random seed for data, split and initial weights (default 1)\n"
               "  --epochs N   number of full-batch Adam steps (default 300)\n"
               "  --out DIR    where demo.safetensors is written (default out)\n";
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "demo: " << a << " needs a value\n";
        usage(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--help" || a == "-h") usage(0);
      else if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--epochs") o.epochs = std::stoi(value());
      else if (a == "--out") o.out = value();
      else {
        std::cerr << "demo: unknown argument '" << a << "'\n";
        usage(2);
      }
    } catch (const std::logic_error&) {  // std::stoi / std::stoull
      std::cerr << "demo: bad number for " << a << "\n";
      usage(2);
    }
  }
  if (o.epochs < 1) {
    std::cerr << "demo: --epochs must be positive\n";
    usage(2);
  }
  return o;
}

// Two interleaving half circles with Gaussian noise; label 0 on the upper moon, 1 on the lower.
void two_moons(std::int64_t n, double noise, CounterRng rng, Tensor<T>& x, Tensor<T>& y) {
  x = Tensor<T>({n, 2});
  y = Tensor<T>({n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    const bool lower = i % 2 == 1;
    const double t = 3.141592653589793 * rng.next_uniform();
    const double px = lower ? 1.0 - std::cos(t) : std::cos(t);
    const double py = lower ? 0.5 - std::sin(t) : std::sin(t);
    x(i, 0) = static_cast<T>(px + noise * rng.next_normal());
    x(i, 1) = static_cast<T>(py + noise * rng.next_normal());
    y(i, 0) = lower ? T(1) : T(0);
  }
}

double accuracy(const Tensor<T>& logits, const Tensor<T>& y) {
  const auto z = logits.to_vector(), t = y.to_vector();
  std::size_t ok = 0;
  for (std::size_t i = 0; i < z.size(); ++i) ok += (z[i] > 0) == (t[i] > T(0.5));
  return z.empty() ? 0.0 : static_cast<double>(ok) / static_cast<double>(z.size());
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  const CounterRng root(opt.seed);

  // Data: 400 training points, 200 test points, drawn from independent streams.
  Tensor<T> xtr, ytr, xte, yte;
  two_moons(400, 0.15, root.split(0), xtr, ytr);
  two_moons(200, 0.15, root.split(1), xte, yte);

  CounterRng init = root.split(2);
  nn::MLP<T> model({2, 32, 32, 1}, init, nn::Activation::Tanh);
  nn::Adam<T> adam(model.parameters(), T(0.01));
  std::cout << "demo: two moons, MLP 2-32-32-1 (" << model.num_parameters() << " parameters), Adam lr 0.01, seed "
            << opt.seed << ", " << opt.epochs << " epochs\n";

  const Var<T> X(xtr), Y(ytr);
  const auto t0 = std::chrono::steady_clock::now();
  const int every = std::max(1, opt.epochs / 10);
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    ArenaScope step;  // activations, tape closures' tensors and temporaries die here
    adam.zero_grad();
    Var<T> logits = model.forward(X);
    Var<T> loss = bce_with_logits(logits, Y);  // mean logistic loss (ops/loss.hpp)
    backward(loss);
    adam.step();
    if (epoch % every == 0 || epoch == opt.epochs) {
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double eta = el / epoch * (opt.epochs - epoch);
      std::printf("epoch %4d/%d  loss %.4f  train acc %.3f  elapsed %.2fs  ETA %.2fs\n", epoch, opt.epochs,
                  static_cast<double>(loss.item()), accuracy(logits.value(), ytr), el, eta);
      std::fflush(stdout);
    }
  }

  double train_acc = 0, test_acc = 0;
  {
    ArenaScope scope;
    NoGradGuard no_grad;
    model.eval();
    train_acc = accuracy(model.forward(X).value(), ytr);
    test_acc = accuracy(model.forward(Var<T>(xte)).value(), yte);
  }
  std::printf("final: train accuracy %.3f, test accuracy %.3f\n", train_acc, test_acc);

  std::filesystem::create_directories(opt.out);
  const std::string path = (std::filesystem::path(opt.out) / "demo.safetensors").string();
  nn::save_checkpoint(model, path,
                      {{"model", "MLP 2-32-32-1 tanh"},
                       {"seed", std::to_string(opt.seed)},
                       {"epochs", std::to_string(opt.epochs)},
                       {"test_accuracy", std::to_string(test_acc)}});
  std::cout << "wrote " << path << "\n";
  return 0;
}
