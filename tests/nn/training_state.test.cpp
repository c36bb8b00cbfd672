// Optimiser / schedule state export and the training-state file (nn/optim.hpp, nn/schedule.hpp,
// nn/checkpoint.hpp): a resumed run continues bit-identically, mismatches throw StateMismatchError
// naming the entry, and an interrupted or failed write leaves the previous file loadable.
#include <csignal>
#include <cstdlib>
#include <limits>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "mgvae/nn/checkpoint.hpp"
#include "mgvae/nn/mlp.hpp"
#include "mgvae/nn/optim.hpp"
#include "mgvae/nn/schedule.hpp"
#include "mgvae/ops/elementwise.hpp"
#include "mgvae/ops/reduce.hpp"
#include "support/catch.hpp"

using namespace mgvae;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path dir;
  TempDir() {
    static int c = 0;
    dir = fs::temp_directory_path() / ("mgvae_tstate_" + std::to_string(static_cast<long long>(::getpid())) + "_" + std::to_string(c++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

template <class T>
std::vector<std::vector<T>> values(const nn::Module<T>& m) {
  std::vector<std::vector<T>> v;
  for (const auto& p : m.parameters()) v.push_back(p.value().to_vector());
  return v;
}

// One step on a fixed regression batch (loss = mean((mlp(x) - y)^2)).
template <class T>
void train_step(nn::MLP<T>& mlp, nn::Optimizer<T>& opt, int step) {
  ArenaScope scope;
  opt.zero_grad();
  CounterRng data(99, static_cast<std::uint64_t>(step));
  Tensor<T> x({4, 3}), y({4, 2});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<T>(data.next_normal());
  for (std::int64_t i = 0; i < y.numel(); ++i) y.data()[i] = static_cast<T>(data.next_normal());
  Var<T> d = sub(mlp.forward(Var<T>(x)), Var<T>(y));
  backward(mean(mul(d, d)));
  opt.step();
}

template <class T>
std::unique_ptr<nn::Optimizer<T>> make_opt(const std::string& kind, const nn::MLP<T>& m) {
  if (kind == "adam") return std::make_unique<nn::Adam<T>>(m.parameters(), T(0.01), T(0.9), T(0.99), T(1e-8), T(1e-3));
  if (kind == "adagrad") return std::make_unique<nn::Adagrad<T>>(m.parameters(), T(0.05), T(1e-10), T(0.1));
  return std::make_unique<nn::SGD<T>>(m.parameters(), T(0.05), T(0.9));
}
}  // namespace

TEMPLATE_TEST_CASE("a run resumed from a training-state file ends bit-identical to the uninterrupted run", "[nn][checkpoint][resume]",
                   float, double) {
  using T = TestType;
  for (const std::string kind : {"adam", "adagrad", "sgd"}) {
    INFO(kind);
    TempDir td;
    const std::string p = td.file("train_state.safetensors");
    CounterRng r1(1);
    nn::MLP<T> full({3, 5, 2}, r1);
    auto opt_full = make_opt<T>(kind, full);
    for (int s = 0; s < 12; ++s) train_step(full, *opt_full, s);

    CounterRng r2(1);
    nn::MLP<T> first({3, 5, 2}, r2);
    auto opt_first = make_opt<T>(kind, first);
    for (int s = 0; s < 5; ++s) train_step(first, *opt_first, s);
    opt_first->set_lr(opt_first->lr());  // unchanged; the lr travels with the state anyway
    Tensor<T> best = first.parameters()[0].value().clone();
    nn::save_training_state<T>(p, first, *opt_first, {{"epoch", "5"}, {"best_val", nn::format_exact(0.1)}}, {{"best/w0", best}});

    CounterRng r3(7);  // another initialisation: everything must come from the file
    nn::MLP<T> resumed({3, 5, 2}, r3);
    auto opt_res = make_opt<T>(kind, resumed);
    const nn::TrainingState<T> st = nn::load_training_state<T>(p, resumed, *opt_res);
    CHECK(st.metadata.at("epoch") == "5");
    CHECK(nn::parse_exact(st.metadata.at("best_val"), "best_val") == 0.1);
    CHECK(st.metadata.count("mgvae.format") == 0);
    REQUIRE(st.extra.count("best/w0") == 1);
    CHECK(st.extra.at("best/w0").to_vector() == best.to_vector());
    CHECK(values(resumed) == values(first));
    for (std::size_t i = 0; i < first.parameters().size(); ++i) CHECK(opt_res->step_count(i) == opt_first->step_count(i));
    for (int s = 5; s < 12; ++s) train_step(resumed, *opt_res, s);
    CHECK(values(resumed) == values(full));  // bit-for-bit
  }
}

TEST_CASE("Optimizer::state / load_state round trip and typed mismatches", "[nn][optim][resume]") {
  CounterRng r(1);
  nn::MLP<double> m({3, 4, 2}, r);
  nn::Adam<double> a(m.parameters(), 0.01);
  train_step(m, a, 0);
  a.set_lr(0.005);
  const nn::OptimizerState<double> s = a.state();
  CHECK(s.scalars.at("kind") == "Adam");
  CHECK(s.scalars.at("steps") == "1,1,1,1");
  CHECK(s.tensors.size() == 8);

  nn::Adam<double> b(m.parameters(), 0.01);
  b.load_state(s);
  CHECK(b.lr() == 0.005);
  CHECK(b.step_count(3) == 1);
  CHECK(b.exp_avg_sq(2).to_vector() == a.exp_avg_sq(2).to_vector());

  auto entry_of = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const nn::StateMismatchError& e) {
      return e.entry();
    }
    return "(no error)";
  };
  nn::Adam<double> other_beta(m.parameters(), 0.01, 0.8);
  CHECK(entry_of([&] { other_beta.load_state(s); }) == "beta1");
  CHECK(other_beta.step_count(0) == 0);  // unchanged
  nn::Adagrad<double> ada(m.parameters(), 0.01);
  CHECK(entry_of([&] { ada.load_state(s); }) == "kind");
  const auto ps = m.parameters();
  nn::Adam<double> fewer(std::vector<Var<double>>(ps.begin(), ps.begin() + 2), 0.01);
  CHECK(entry_of([&] { fewer.load_state(s); }) == "num_params");
  auto missing = s;
  missing.tensors.erase("exp_avg.1");
  CHECK(entry_of([&] { b.load_state(missing); }) == "exp_avg.1");
  auto shaped = s;
  shaped.tensors["exp_avg_sq.0"] = Tensor<double>::zeros({7});
  CHECK(entry_of([&] { b.load_state(shaped); }) == "exp_avg_sq.0");
  auto extra = s;
  extra.tensors["sum.0"] = Tensor<double>::zeros({1});
  CHECK(entry_of([&] { b.load_state(extra); }) == "sum.0");
  auto bad_steps = s;
  bad_steps.scalars["steps"] = "1,x,1,1";
  CHECK(entry_of([&] { b.load_state(bad_steps); }) == "steps");
  CHECK_THROWS_AS(b.load_state(bad_steps), std::invalid_argument);  // a StateMismatchError is one
}

TEST_CASE("PlateauSchedule state round trip", "[nn][schedule][resume]") {
  nn::PlateauSchedule a(0.1, {0.5, 2, 1e-3});
  for (double v : {1.0, 0.9, 0.95, 0.97, 0.96}) a.update(v);
  nn::PlateauSchedule b(0.1, {0.5, 2, 1e-3});
  b.load_state(a.state());
  CHECK(b.lr() == a.lr());
  CHECK(b.best() == a.best());
  CHECK(b.epochs_since_best() == a.epochs_since_best());
  for (double v : {0.99, 0.98, 0.5, 0.6}) CHECK(b.update(v).reduced == a.update(v).reduced);
  CHECK(b.lr() == a.lr());
  nn::PlateauSchedule fresh(0.1, {0.5, 2, 1e-3});
  fresh.load_state(nn::PlateauSchedule(0.1, {0.5, 2, 1e-3}).state());  // best = +inf survives the text form
  CHECK(fresh.update(5.0).improved);
  nn::PlateauSchedule c(0.1, {0.5, 3, 1e-3});
  try {
    c.load_state(a.state());
    FAIL("no exception");
  } catch (const nn::StateMismatchError& e) {
    CHECK(e.entry() == "patience");
  }
}

TEST_CASE("load_training_state: typed errors, nothing changed on error", "[nn][checkpoint][resume]") {
  TempDir td;
  const std::string p = td.file("s.safetensors");
  CounterRng r(1);
  nn::MLP<double> m({3, 4, 2}, r);
  nn::Adam<double> opt(m.parameters(), 0.01);
  train_step(m, opt, 0);
  nn::save_training_state(p, m, opt, {{"epoch", "1"}});
  CHECK_THROWS_AS(nn::save_training_state(td.file("x.safetensors"), m, opt, {{"mgvae.format", "x"}}), std::invalid_argument);

  auto entry_of = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const nn::StateMismatchError& e) {
      return e.entry();
    }
    return "(no error)";
  };
  {  // a wider model: the first layer's weight does not fit; model and optimiser stay as they were
    CounterRng r2(2);
    nn::MLP<double> wide({3, 5, 2}, r2);
    nn::Adam<double> o2(wide.parameters(), 0.01);
    const auto before = values(wide);
    CHECK(entry_of([&] { nn::load_training_state(p, wide, o2); }).rfind("param/", 0) == 0);
    CHECK(values(wide) == before);
    CHECK(o2.step_count(0) == 0);
  }
  {  // other optimiser hyper-parameters: named, prefixed "optim/"; the parameters are not touched
    CounterRng r2(2);
    nn::MLP<double> same({3, 4, 2}, r2);
    nn::Adam<double> o2(same.parameters(), 0.01, 0.5);
    const auto before = values(same);
    CHECK(entry_of([&] { nn::load_training_state(p, same, o2); }) == "optim/beta1");
    CHECK(values(same) == before);
  }
  {  // the float model refuses a double state (exactness), and a plain checkpoint is not a training state
    CounterRng r2(2);
    nn::MLP<float> f({3, 4, 2}, r2);
    nn::Adam<float> o2(f.parameters(), 0.01f);
    CHECK(entry_of([&] { nn::load_training_state(p, f, o2); }) == "mgvae.dtype");
    const std::string ck = td.file("plain.safetensors");
    nn::save_checkpoint(m, ck);
    nn::MLP<double> d({3, 4, 2}, r2);
    nn::Adam<double> o3(d.parameters(), 0.01);
    CHECK(entry_of([&] { nn::load_training_state(ck, d, o3); }) == "mgvae.format");
  }
  CHECK_THROWS_AS(nn::load_training_state(td.file("missing.safetensors"), m, opt), ParseError);
}

TEST_CASE("an interrupted or failed training-state write leaves the previous file loadable", "[nn][checkpoint][resume]") {
  TempDir td;
  const std::string p = td.file("train_state.safetensors");
  CounterRng r(1);
  nn::MLP<double> m({3, 4, 2}, r);
  nn::Adam<double> opt(m.parameters(), 0.01);
  train_step(m, opt, 0);
  nn::save_training_state(p, m, opt, {{"epoch", "1"}});
  const auto v1 = values(m);
  train_step(m, opt, 1);

  auto epoch_in_file = [&] {
    CounterRng r2(5);
    nn::MLP<double> q({3, 4, 2}, r2);
    nn::Adam<double> o(q.parameters(), 0.01);
    const auto st = nn::load_training_state(p, q, o);
    CHECK(values(q) == (st.metadata.at("epoch") == "1" ? v1 : values(m)));
    return st.metadata.at("epoch");
  };
  // (a) a process killed mid-write leaves a partial temporary file: it is ignored.
  {
    std::ofstream junk(p + ".tmp.999999", std::ios::binary);
    junk << "\x10\x00\x00\x00partial";
  }
  CHECK(epoch_in_file() == "1");
  // (b) a write that fails (the temporary cannot be created) throws and keeps the old file.
  fs::create_directories(p + ".tmp." + std::to_string(static_cast<long long>(::getpid())));
  CHECK_THROWS_AS(nn::save_training_state(p, m, opt, {{"epoch", "2"}}), std::system_error);
  CHECK(epoch_in_file() == "1");
  fs::remove_all(p + ".tmp." + std::to_string(static_cast<long long>(::getpid())));
  // (c) a non-finite state is refused before the file is touched.
  {
    nn::MLP<double> bad({3, 4, 2}, r);
    nn::Adam<double> ob(bad.parameters(), 0.01);
    bad.parameters()[0].value().data()[0] = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(nn::save_training_state(p, bad, ob, {{"epoch", "3"}}), DivergenceError);
  }
  CHECK(epoch_in_file() == "1");
  nn::save_training_state(p, m, opt, {{"epoch", "2"}});
  CHECK(epoch_in_file() == "2");
#if defined(__unix__) || defined(__APPLE__)
  // (d) SIGKILL at random moments of a writer that rewrites the file in a loop: the file is always
  //     one complete state or the other.
  for (int trial = 0; trial < 6; ++trial) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (long i = 0;; ++i) {
        try {
          nn::save_training_state(p, m, opt, {{"epoch", i % 2 ? "2" : "4"}});
        } catch (...) {
          ::_exit(3);
        }
      }
    }
    ::usleep(static_cast<useconds_t>(2000 + 1700 * trial));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    const std::string e = epoch_in_file();
    CHECK((e == "2" || e == "4"));
  }
#endif
}

TEST_CASE("CounterRng::set_position continues a sequential stream exactly", "[core][rng][resume]") {
  CounterRng a(5, 3);
  for (int i = 0; i < 17; ++i) (void)a.next_below(7);
  CounterRng b(5, 3);
  b.set_position(a.position());
  for (int i = 0; i < 50; ++i) CHECK(a.next_below(1000) == b.next_below(1000));
}
