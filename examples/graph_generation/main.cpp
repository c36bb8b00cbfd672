// General graph generation on Community-small with the all-at-once MGVAE (paper App. D.5,
// Table 10) and an honest MMD evaluation: train on the 80 train graphs only, sample from the
// prior, strip padding, and compare with the 20 test graphs (never matched to them).
//
//   graph_generation [--data DIR] [--epochs E] [--runs R] [--samples S] [--protocol paper|gdss|both] [--out DIR]
//
// Model selection: --val-count V holds out V training graphs (split fixed by --val-seed) and reports
// MMDs vs them instead of evaluating the test set. --val-folds K --val-fold i instead holds out fold i of a
// size-stratified K-fold split (every node count in each fold; stratified_fold_split in graphgen/tuning.hpp).
//
// Writes OUT/metrics.json (atomically), OUT/samples.svg and the generated graphs as graph lists
// (shared/data/README.md §4 format, data/graph_list.hpp): OUT/generated_paper.txt and
// OUT/generated_gdss.txt (run 0 of each protocol), or OUT/generated_validation.txt (run 0 of the final
// validation row) with a validation split. See docs/graph_generation.md.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mgvae/data/graph_list.hpp"
#include "mgvae/graph/graph.hpp"
#include "mgvae/metrics/mmd.hpp"
#include "mgvae/models/graphgen/graphgen.hpp"
#include "common/graphgen/svg.hpp"
#include "common/graphgen/tuning.hpp"
#include "mgvae/nn/optim.hpp"
#include "../common/divergence.hpp"
#include "../common/example_util.hpp"
#include "../common/resume.hpp"

using namespace mgvae;
using namespace mgvae::graphgen;
using json = nlohmann::json;
namespace fs = std::filesystem;
using mgvae::examples::Clock;
using mgvae::examples::fmt;
using mgvae::examples::mean_std;
using mgvae::examples::seconds_since;
using mgvae::examples::write_atomic;

namespace {

/// One MMD value with the kernel that produced it.
struct MmdValue {
  double value = 0;
  std::string statistic, kernel;
  double sigma = 0;
  std::size_t n_ref = 0, n_pred = 0;
};

json mmd_json(const MmdValue& m) {
  return {{"value", m.value}, {"kernel", m.kernel}, {"sigma", m.sigma}, {"n_ref", m.n_ref}, {"n_pred", m.n_pred}};
}

}  // namespace

int main(int argc, char** argv) try {
  mgvae::examples::flush_progress_output();
  CLI::App app{"MGVAE general graph generation (Community-small, paper App. D.5)"};
  app.option_defaults()->always_capture_default();  // --help shows each option's default
  std::string data_dir = examples::default_data_dir("community_small"), out_dir = "out/graph_generation", protocol = "both",
              prefix;
  // Defaults chosen on the validation split (docs/lab/graph_generation.md, "Model selection on a validation split" and the later sweeps):
  // 2000 epochs and threshold 0.4; gradient-norm clipping at 50 (second sweep, "Learned equivariant prior and
  // gradient clipping"); size matching on (fourth sweep, size-stratified folds); size-edges calibration (sixth
  // sweep); sampling temperature 0.7 with the standard prior (seventh sweep); everything else as in the paper /
  // the first implementation.
  int epochs = 2000, batch = 20, layers = 10, latent = 16, hidden = 64, dec_hidden = 256, levels = 2, runs = 15,
      samples = 1024, threads = 1, log_every = 10, val_count = 0, val_folds = 0, val_fold = 0, val_runs = 3, val_samples = 512, val_every = 0,
      slots = 16, calib_samples = 1024;
  double lr_min = 0.0;
  std::string lr_schedule = "constant", threshold_calibration = "size-edges";
  double lr = 1e-3, pos_weight = 1.0, beta = 1.0, lambda_rec = 1.0, lambda_bal = 1.0, tau = 1.0, threshold = 0.4,
         clip = 50.0, temperature = 0.7;  // standard prior; the learned prior samples at 1 (see below)
  std::vector<double> val_temperatures;
  std::string prior = "standard";
  std::vector<double> val_thresholds;
  std::uint64_t seed = 1, val_seed = 0;
  bool bernoulli = false, size_matching = true;
  app.add_option("--data", data_dir,
                 "directory with <prefix>.txt (graph list) and <prefix>.train.index / <prefix>.test.index; a missing "
                 "file is an error. Default: the shared community_small directory, or, when that is absent, 100 "
                 "graphs from the seed-fixed community generator (test = first 20, train = last 80)");
  app.add_option("--prefix", prefix, "file prefix inside --data (default: the directory's name, e.g. community_small)");
  app.add_option("--epochs", epochs, "training epochs")->check(CLI::NonNegativeNumber);
  app.add_option("--lr", lr, "Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--lr-schedule", lr_schedule,
                 "constant, or cosine: anneal the learning rate per epoch from --lr to --lr-min (cosine rule)")
      ->check(CLI::IsMember({"constant", "cosine"}));
  app.add_option("--lr-min", lr_min, "final learning rate of --lr-schedule cosine (0 <= lr-min <= lr)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", batch, "graphs per step")->check(CLI::PositiveNumber);
  app.add_option("--layers", layers, "message-passing layers at the finest level (paper: 10)")->check(CLI::PositiveNumber);
  app.add_option("--latent", latent, "latent size d_z per node")->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "message-passing width")->check(CLI::PositiveNumber);
  app.add_option("--dec-hidden", dec_hidden, "hidden width of the global MLP decoder")->check(CLI::PositiveNumber);
  app.add_option("--levels", levels, "coarse levels L (level l has 2^l clusters)")->check(CLI::NonNegativeNumber);
  app.add_option("--pos-weight", pos_weight, "positive-class weight of the edge BCE")->check(CLI::PositiveNumber);
  app.add_option("--beta", beta, "KL weight");
  app.add_option("--lambda-rec", lambda_rec, "weight of the coarse-level reconstruction MSE");
  app.add_option("--lambda-bal", lambda_bal, "weight of the balanced-cut KL");
  app.add_option("--tau", tau, "Gumbel-softmax temperature")->check(CLI::PositiveNumber);
  app.add_option("--prior", prior,
                 "prior of the finest latents: standard (N(0, I)) or learned (equivariant, free matching; paper App. C)")
      ->check(CLI::IsMember({"standard", "learned"}));
  app.add_option("--slots", slots, "slots M of the learned prior")->check(CLI::PositiveNumber);
  app.add_option("--clip", clip, "clip the global gradient norm to this value before each step (0 = off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "seed (parameters, noise, shuffling, sampling)");
  app.add_option("--runs", runs, "independent sampling runs")->check(CLI::PositiveNumber);
  app.add_option("--samples", samples, "generated graphs per run for the paper protocol (paper: 1024)")
      ->check(CLI::PositiveNumber);
  app.add_option("--protocol", protocol, "paper (S samples vs test), gdss (as many samples as test graphs), or both")
      ->check(CLI::IsMember({"paper", "gdss", "both"}));
  app.add_flag("--bernoulli", bernoulli, "sample edges ~ Bernoulli(p) instead of thresholding p");
  app.add_option("--threshold", threshold, "keep an edge when its (symmetrised) probability is > this")
      ->check(CLI::Range(0.0, 1.0));
  auto* temperature_opt = app.add_option(
      "--temperature", temperature,
      "sample z ~ N(0, T^2 I) (reduced-temperature sampling, standard prior only; 1 = the prior, as in the paper; "
      "the learned prior always samples at 1)")
      ->check(CLI::PositiveNumber);
  app.add_option("--val-temperatures", val_temperatures,
                 "after training, also report the validation MMDs with each of these sampling temperatures (at the "
                 "final threshold rule, size matching re-calibrated at each temperature; model selection)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app.add_option("--threshold-calibration", threshold_calibration,
                 "none (use --threshold); edges: after training, replace the threshold by the one at which "
                 "--calib-samples prior samples have the mean edge count of the graphs trained on; size-edges: per "
                 "sample, keep the node set of the thresholded graph and its m most probable pairs, m = the mean edge "
                 "count of the graphs trained on with that many nodes (neither is in the paper; none by default with "
                 "--bernoulli)")
      ->check(CLI::IsMember({"none", "edges", "size-edges"}));
  app.add_flag("--size-matching,!--no-size-matching", size_matching,
               "rejection-sample the generated graphs so that their node counts follow the graphs trained on "
               "(acceptance from --calib-samples calibration samples; not in the paper, GDSS/GRAN draw n from the "
               "training sizes; default on, off with --no-size-matching; off by default with --bernoulli)");
  app.add_option("--calib-samples", calib_samples, "prior samples used by --threshold-calibration edges and --size-matching")
      ->check(CLI::PositiveNumber);
  app.add_option("--val-thresholds", val_thresholds,
                 "after training, also report the validation MMDs with each of these thresholds (model selection); "
                 "with size matching on, each row is size-matched with its own acceptance (calibration samples "
                 "thresholded at that value); no --threshold-calibration")
      ->delimiter(',');
  app.add_option("--threads", threads, "OpenMP threads (statistics and MMD)")->check(CLI::PositiveNumber);
  app.add_option("--log-every", log_every, "print a progress line every N epochs")->check(CLI::PositiveNumber);
  app.add_option("--val-count", val_count,
                 "hold out this many of the training graphs for validation (model selection); 0 = train on all. "
                 "With a validation split the test set is not evaluated")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--val-folds", val_folds,
                 "size-stratified K-fold validation split (K >= 2; 0 = off): within each node count the training "
                 "graphs are shuffled (--val-seed) and dealt round-robin into K folds; fold --val-fold is held out. "
                 "Not with --val-count; the test set is not evaluated")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--val-fold", val_fold, "validation fold of --val-folds (0 <= i < K)")->check(CLI::NonNegativeNumber);
  app.add_option("--val-seed", val_seed, "seed of the validation split (independent of --seed)");
  app.add_option("--val-runs", val_runs, "sampling runs of the validation MMD")->check(CLI::PositiveNumber);
  app.add_option("--val-samples", val_samples, "generated graphs per validation run")->check(CLI::PositiveNumber);
  app.add_option("--val-every", val_every, "also evaluate validation every N epochs (0: only after training)")
      ->check(CLI::NonNegativeNumber);
  examples::ResumeOptions resume;
  examples::add_resume_options(app, resume);
  app.add_option("--out", out_dir,
                 "output directory (metrics.json, samples.svg, generated_{paper,gdss}.txt or generated_validation.txt)");
  app.footer(examples::kDivergenceHelp);
  CLI11_PARSE(app, argc, argv);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  Eigen::setNbThreads(1);
  const LrSchedule lr_sched = lr_schedule == "cosine" ? LrSchedule::Cosine : LrSchedule::Constant;
  try {
    if (epochs > 0) (void)lr_at_epoch(lr_sched, lr, lr_min, 0, epochs);  // typed error for lr_min > lr
  } catch (const std::invalid_argument& e) {
    std::cerr << "--lr-min: " << e.what() << "\n";
    return 1;
  }
  const bool temperature_given = temperature_opt->count() > 0;
  if (prior == "learned" && ((temperature_given && temperature != 1.0) || !val_temperatures.empty())) {
    std::cerr << "--temperature / --val-temperatures need --prior standard (the learned prior samples at temperature 1)\n";
    return 1;
  }
  if (prior == "learned") temperature = 1.0;  // the default 0.7 is for the standard prior
  if (val_folds > 0 && val_count > 0) {
    std::cerr << "--val-folds and --val-count are mutually exclusive (give one validation split)\n";
    return 1;
  }
  if (val_folds == 1 || (val_folds > 0 && val_fold >= val_folds) || (val_folds == 0 && val_fold != 0)) {
    std::cerr << "--val-folds K needs K >= 2 and --val-fold i with 0 <= i < K (got --val-folds " << val_folds
              << " --val-fold " << val_fold << ")\n";
    return 1;
  }
  if (bernoulli && app.count("--size-matching") == 0) size_matching = false;  // the default needs thresholding
  if (bernoulli && app.count("--threshold-calibration") == 0) threshold_calibration = "none";  // likewise
  if (bernoulli && (threshold_calibration != "none" || size_matching)) {
    std::cerr << "--threshold-calibration / --size-matching need thresholding (not --bernoulli)\n";
    return 1;
  }

  // ---- data ----------------------------------------------------------------------------------
  // DIR/<prefix>.txt, .train.index, .test.index with <prefix> = --prefix or DIR's name (as link_prediction).
  // A --data directory (or --prefix) without them is an error; only without both may the default directory
  // be absent, and then the seed-fixed generator stands in.
  std::vector<mgvae::Graph> train, test;
  std::string data_source;
  const fs::path dd(data_dir);
  if (prefix.empty()) prefix = dd.lexically_normal().filename().string();
  if (prefix.empty()) prefix = dd.lexically_normal().parent_path().filename().string();
  const fs::path list_file = dd / (prefix + ".txt"), train_file = dd / (prefix + ".train.index"),
                 test_file = dd / (prefix + ".test.index");
  std::string missing;
  for (const auto& f : {list_file, train_file, test_file})
    if (!fs::is_regular_file(f)) missing += (missing.empty() ? "" : ", ") + f.string();
  if (!missing.empty() && (app.count("--data") > 0 || app.count("--prefix") > 0)) {
    std::cerr << "graph_generation: error: --data " << data_dir << ": "
              << (fs::is_directory(dd) ? "missing " + missing : std::string("no such directory"))
              << " (expects <dir>/<prefix>.txt, <prefix>.train.index and <prefix>.test.index; <prefix> is --prefix, "
                 "default the directory's name)\n";
    return 1;
  }
  if (missing.empty()) {
    const auto all = mgvae::data::read_graph_list(list_file.string());
    const auto G = static_cast<std::int64_t>(all.size());
    const auto tri = mgvae::data::read_index_file(train_file.string(), G);
    const auto tei = mgvae::data::read_index_file(test_file.string(), G);
    std::set<std::int64_t> trs(tri.begin(), tri.end()), tes(tei.begin(), tei.end());
    for (auto i : tri) {
      if (tes.count(i))
        throw std::runtime_error(train_file.string() + " and " + test_file.string() + " overlap at graph " + std::to_string(i));
      train.push_back(all[static_cast<std::size_t>(i)]);
    }
    for (auto i : tei) test.push_back(all[static_cast<std::size_t>(i)]);
    if (trs.size() != tri.size()) throw std::runtime_error(train_file.string() + ": duplicate indices");
    if (tes.size() != tei.size()) throw std::runtime_error(test_file.string() + ": duplicate indices");
    data_source = "file:" + fs::weakly_canonical(dd).string() + " (GDSS split: test = graphs 0..19, train = 20..99)";
  } else {
    const auto all = generate_community_small(seed);
    for (std::size_t i = 0; i < all.size(); ++i) (i < 20 ? test : train).push_back(all[i]);
    data_source = "generated: 100 GraphRNN-style 2-community graphs (seed " + std::to_string(seed) +
                  "), test = first 20, train = last 80 (" + data_dir + " not found)";
  }
  std::cout << "data: " << data_source << "\n";
  int n_max = 0;  // over all training graphs, before the validation split (sizes only; no test data)
  for (const auto& g : train) n_max = std::max(n_max, static_cast<int>(g.n));
  std::vector<mgvae::Graph> val;
  std::vector<std::size_t> val_positions;  // positions in the training list (= the .train.index order)
  if (val_count > 0 || val_folds > 0) {
    ValidationSplit sp;
    if (val_folds > 0) {
      std::vector<int> sizes;
      for (const auto& g : train) sizes.push_back(static_cast<int>(g.n));
      try {
        sp = stratified_fold_split(sizes, static_cast<std::size_t>(val_folds), static_cast<std::size_t>(val_fold), val_seed);
      } catch (const std::invalid_argument& e) {
        std::cerr << "--val-folds / --val-fold: " << e.what() << "\n";
        return 1;
      }
    } else {
      sp = validation_split(train.size(), static_cast<std::size_t>(val_count), val_seed);
    }
    std::vector<mgvae::Graph> rest;
    for (auto i : sp.train) rest.push_back(train[i]);
    for (auto i : sp.val) val.push_back(train[i]);
    val_positions = sp.val;
    train = std::move(rest);
    std::cout << "validation: " << val.size() << " of the training graphs held out (";
    if (val_folds > 0) std::cout << "size-stratified fold " << val_fold << " of " << val_folds << ", ";
    std::cout << "val-seed " << val_seed << "), training on " << train.size() << "; the test set is not evaluated\n";
  }
  auto summary = [](const std::vector<mgvae::Graph>& gs) {
    double n = 0, m = 0;
    for (const auto& g : gs) {
      n += g.n;
      m += static_cast<double>(g.edges.size());
    }
    return std::make_pair(n / std::max<std::size_t>(gs.size(), 1), m / std::max<std::size_t>(gs.size(), 1));
  };
  std::cout << "train " << train.size() << " graphs (mean n " << fmt(summary(train).first) << ", mean m "
            << fmt(summary(train).second) << "), test " << test.size() << " graphs, N_max " << n_max << "\n";

  // ---- model ---------------------------------------------------------------------------------
  ModelConfig cfg;
  cfg.n_max = n_max;
  cfg.hidden = hidden;
  cfg.latent = latent;
  cfg.layers = layers;
  cfg.levels = levels;
  cfg.dec_hidden = dec_hidden;
  cfg.tau = tau;
  cfg.pos_weight = pos_weight;
  cfg.beta = beta;
  cfg.lambda_rec = lambda_rec;
  cfg.lambda_bal = lambda_bal;
  cfg.seed = seed;
  cfg.prior = prior == "learned" ? PriorKind::Learned : PriorKind::Standard;
  cfg.prior_slots = slots;
  GraphGenModel<float> model(cfg);
  nn::Adam<float> opt(model.parameters(), static_cast<float>(lr));
  std::cout << "model: " << model.num_parameters() << " parameters, " << layers << " MP layers, d_z " << latent
            << ", coarse levels with K =";
  for (int k : model.cluster_counts()) std::cout << ' ' << k;
  std::cout << "\n";

  // Learned prior: sampling draws the node count from the trained-on graphs' sizes and the slots
  // i.i.d. from their usage (filled after training); the standard prior ignores both.
  std::vector<double> slot_probs, size_probs;
  if (cfg.prior == PriorKind::Learned) {
    size_probs.assign(static_cast<std::size_t>(n_max + 1), 0.0);
    for (const auto& g : train) size_probs[static_cast<std::size_t>(g.n)] += 1.0;
  }
  // slot usage = free matches of the trained-on graphs' posterior means (no noise) under the current model
  auto refresh_slot_probs = [&]() {
    if (cfg.prior != PriorKind::Learned) return;
    slot_probs.assign(static_cast<std::size_t>(slots), 0.0);
    for (std::size_t s0 = 0; s0 < train.size(); s0 += 20) {
      ArenaScope scope;
      std::vector<const mgvae::Graph*> bg;
      for (std::size_t k = s0; k < std::min(train.size(), s0 + 20); ++k) bg.push_back(&train[k]);
      for (const auto& m : model.match_slots(make_batch<float>(bg, n_max)))
        for (auto j : m) slot_probs[static_cast<std::size_t>(j)] += 1.0;
    }
  };

  // ---- evaluation ----------------------------------------------------------------------------
  // MMDs from the project's metrics (mgvae::metrics, GraphRNN definitions).
  auto all_mmd = [&](const std::vector<mgvae::Graph>& ref, const std::vector<mgvae::Graph>& pred) {
    namespace mt = mgvae::metrics;
    auto conv = [](const mt::MmdResult& r, const char* stat) {
      return MmdValue{r.value, stat, r.kernel, r.sigma, static_cast<std::size_t>(r.n1), static_cast<std::size_t>(r.n2)};
    };
    mt::MmdOptions dtv = mt::MmdOptions::degree(), ctv = mt::MmdOptions::clustering();
    dtv.kernel = mt::MmdKernel::GaussianTv;
    ctv.kernel = mt::MmdKernel::GaussianTv;
    std::vector<MmdValue> v{conv(mt::mmd_degree(ref, pred), "degree"), conv(mt::mmd_clustering(ref, pred), "clustering"),
                            conv(mt::mmd_orbit(ref, pred), "orbit"), conv(mt::mmd_degree(ref, pred, dtv), "degree"),
                            conv(mt::mmd_clustering(ref, pred, ctv), "clustering")};
    return v;
  };
  const std::vector<std::string> vkeys{"degree", "clustering", "orbit", "degree_tv", "clustering_tv"};
  // Validation MMD: val_runs x val_samples prior samples vs the held-out training graphs. Its own
  // sampling stream (CounterRng(seed, 0x7A1E)), the same at every evaluation, and no effect on training.
  // Sampling rule: threshold (or Bernoulli); with --threshold-calibration size-edges, the per-sample edge
  // count is set from the graphs trained on (table by node count; never validation or test graphs).
  const std::vector<double> size_edges = mean_edges_by_size(train, n_max);
  auto sample_graphs = [&](const Tensor<float>& P, const CounterRng& r, double thr, bool calibrated) {
    if (calibrated && threshold_calibration == "size-edges") return probabilities_to_graphs_size_calibrated(P, thr, size_edges);
    return probabilities_to_graphs(P, bernoulli, r, thr);
  };
  // S graphs from the prior (empty ones included): chunks of 256 decoded on srng.split(s0), edges from
  // srng.split(1 << 20).split(s0). With a non-empty acceptance table `accept` (--size-matching, after
  // training: `size_accept` for the main sampling rule, a per-threshold table for --val-thresholds): chunks
  // of 256 on the sub-stream srng.split(1 << 22), each graph kept with probability accept[n], until S are kept.
  std::vector<double> size_accept;
  const std::vector<double> no_accept;
  auto generate = [&](int S, const CounterRng& srng, double thr, double temp, bool calibrated,
                      const std::vector<double>& accept) {
    std::vector<mgvae::Graph> gen;
    if (accept.empty()) {
      for (int s0 = 0; s0 < S; s0 += 256) {  // decode in chunks
        ArenaScope scope;
        const int cnt = std::min(256, S - s0);
        const auto P = model.sample_probabilities(cnt, srng.split(static_cast<std::uint64_t>(s0)), slot_probs, size_probs, temp);
        for (auto& g : sample_graphs(P, srng.split(1u << 20).split(static_cast<std::uint64_t>(s0)), thr, calibrated))
          gen.push_back(std::move(g));
      }
      return gen;
    }
    const CounterRng mr = srng.split(1u << 22);
    for (std::uint64_t c = 0; static_cast<int>(gen.size()) < S; ++c) {
      if (c > 100000) throw std::runtime_error("--size-matching: acceptance too low");
      ArenaScope scope;
      const auto P = model.sample_probabilities(256, mr.split(c), slot_probs, size_probs, temp);
      for (auto& g : accept_by_size(sample_graphs(P, mr.split(1u << 20).split(c), thr, calibrated), accept,
                                    mr.split(1u << 21), c * 256))
        if (static_cast<int>(gen.size()) < S) gen.push_back(std::move(g));
    }
    return gen;
  };
  json val_history = json::array();
  std::vector<mgvae::Graph> last_val_run0;  // the samples of run 0 of the latest validate() call
  auto validate = [&](int epoch_done, double thr, double temp, bool calibrated, const std::vector<double>& accept) {
    std::vector<std::vector<double>> vv(vkeys.size());
    std::size_t empty = 0;
    double nodes = 0, edges = 0;
    std::size_t counted = 0;
    std::vector<std::size_t> size_hist(static_cast<std::size_t>(n_max + 1), 0);  // node counts of the samples (diagnostic)
    for (int r = 0; r < val_runs; ++r) {
      const CounterRng srng = CounterRng(seed, 0x7A1E).split(static_cast<std::uint64_t>(r));
      std::vector<mgvae::Graph> nonempty;
      std::vector<mgvae::Graph> gen = generate(val_samples, srng, thr, temp, calibrated, accept);
      if (r == 0) last_val_run0 = gen;
      for (auto& g : gen) {
        if (g.n == 0) {
          ++empty;
          continue;
        }
        nodes += g.n;
        edges += static_cast<double>(g.edges.size());
        ++counted;
        ++size_hist[static_cast<std::size_t>(g.n)];
        nonempty.push_back(std::move(g));
      }
      if (nonempty.empty()) continue;
      const auto m = all_mmd(val, nonempty);
      for (std::size_t k = 0; k < vkeys.size(); ++k) vv[k].push_back(m[k].value);
    }
    const bool size_cal = calibrated && threshold_calibration == "size-edges";
    json h = {{"epoch", epoch_done}, {"threshold", thr}, {"temperature", temp}, {"size_edges_calibration", size_cal},
              {"size_matching", !accept.empty()},
              {"empty", empty},
              {"generated_mean_nodes", counted ? nodes / static_cast<double>(counted) : 0.0},
              {"generated_mean_edges", counted ? edges / static_cast<double>(counted) : 0.0},
              {"generated_size_hist", size_hist}};
    std::cout << "validation @" << epoch_done << " (threshold " << thr << ", temperature " << temp
              << (size_cal ? ", size-edges" : "") << (!accept.empty() ? ", size-matched" : "")
              << "):";
    for (std::size_t k = 0; k < vkeys.size(); ++k) {
      const auto ms = mean_std(vv[k]);
      h["mmd"][vkeys[k]] = {{"mean", ms.mean}, {"std", ms.std}, {"runs_used", vv[k].size()}};
      if (k < 3) std::cout << "  " << vkeys[k] << " " << fmt(ms.mean) << " ± " << fmt(ms.std, 2);
    }
    std::cout << "  (mean n " << fmt(h["generated_mean_nodes"].get<double>()) << ", m "
              << fmt(h["generated_mean_edges"].get<double>()) << ", empty " << empty << ")" << std::endl;
    return h;
  };

  // ---- training ------------------------------------------------------------------------------
  CounterRng rng(seed, 0xA11);
  std::vector<std::size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  const auto t_train0 = Clock::now();
  double val_seconds = 0;  // intermediate validations, excluded from the training time
  json history = json::array();
  long long clipped_total = 0, steps_total = 0;
  const int nlev = static_cast<int>(model.cluster_counts().size());
  // ---- --resume: continue after the last epoch written to DIR/train_state.safetensors. The noise and
  // the learning rate follow from the seed and the epoch index; the shuffled order is carried over
  // (each epoch shuffles the previous order in place).
  const std::string state_file = resume.enabled() ? resume.path() : std::string();
  json resume_cfg = examples::cli_config(app, {"--out"});
  resume_cfg["trainer"] = "graph_generation";
  int start_ep = 0;
  double resumed_seconds = 0;  // training time before the resume point
  if (resume.enabled()) {
    resume.prepare();
    if (fs::exists(state_file)) {
      examples::check_resume_config(state_file, nn::read_safetensors_metadata(state_file), resume_cfg);
      const nn::TrainingState<float> st = nn::load_training_state<float>(state_file, model, opt);
      const auto& m = st.metadata;
      start_ep = static_cast<int>(examples::meta_int(m, "epoch", state_file));
      const auto ord = json::parse(examples::meta_at(m, "order", state_file)).get<std::vector<std::size_t>>();
      if (start_ep < 0 || start_ep > epochs || ord.size() != order.size())
        throw nn::StateMismatchError("epoch", "'" + state_file + "' holds an inconsistent position (epoch " +
                                                  std::to_string(start_ep) + ", " + std::to_string(ord.size()) + " graphs)");
      order = ord;
      history = json::parse(examples::meta_at(m, "history", state_file));
      val_history = json::parse(examples::meta_at(m, "val_history", state_file));
      clipped_total = examples::meta_int(m, "clipped_total", state_file);
      steps_total = examples::meta_int(m, "steps_total", state_file);
      resumed_seconds = examples::meta_double(m, "train_seconds", state_file);
      std::cout << "resuming from " << state_file << " after epoch " << start_ep << std::endl;
    }
  }
  for (int ep = start_ep; ep < epochs; ++ep) {
    const auto t0 = Clock::now();
    opt.set_lr(static_cast<float>(lr_at_epoch(lr_sched, lr, lr_min, ep, epochs)));  // constant: always --lr
    CounterRng shuf = rng.split(static_cast<std::uint64_t>(ep) * 2);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuf.next_below(i)]);
    double L = 0, bce = 0, klf = 0, gn = 0, gmax = 0;
    int clipped = 0;
    std::vector<double> klc(static_cast<std::size_t>(nlev), 0), rec(static_cast<std::size_t>(nlev), 0),
        bal(static_cast<std::size_t>(nlev), 0);
    int steps = 0;
    for (std::size_t s = 0; s < order.size(); s += static_cast<std::size_t>(batch)) {
      ArenaScope scope;
      std::vector<const mgvae::Graph*> bg;
      for (std::size_t k = s; k < std::min(order.size(), s + static_cast<std::size_t>(batch)); ++k)
        bg.push_back(&train[order[k]]);
      const auto b = make_batch<float>(bg, n_max);
      const auto nz = model.draw_noise(rng.split(static_cast<std::uint64_t>(ep) * 2 + 1).split(s), b.B);
      const auto o = model.forward(b, nz);
      opt.zero_grad();
      backward(o.loss);
      {  // divergence check before clipping and the step (reads values only): the logged terms, then the gradients
        std::vector<std::pair<std::string, double>> tv{
            {"loss", o.loss.item()}, {"bce", o.bce.item()}, {"kl_fine", o.kl_fine.item()}};
        for (int l = 0; l < nlev; ++l) {
          const auto& lv = o.levels[static_cast<std::size_t>(l)];
          tv.emplace_back("kl_coarse[" + std::to_string(l) + "]", lv.kl.item());
          tv.emplace_back("rec_coarse[" + std::to_string(l) + "]", lv.rec.item());
          tv.emplace_back("balanced_cut_kl[" + std::to_string(l) + "]", lv.bal.item());
        }
        examples::Divergence dv;
        dv.epoch = ep + 1;
        dv.step = steps_total + steps + 1;
        if (examples::diverged(tv, model.parameters(), dv)) {
          dv.report("graph_generation");
          std::string cmdline;
          for (int i = 0; i < argc; ++i) cmdline += (i ? " " : "") + std::string(argv[i]);
          fs::create_directories(out_dir);
          write_atomic(fs::path(out_dir) / "metrics.json",
                       json{{"diverged", dv.to_json()}, {"command", cmdline}, {"training", {{"history", history}}}}.dump(2) + "\n");
          return examples::kExitDiverged;
        }
      }
      // the gradient norm before clipping (clip 0: no clipping, the norm only)
      const float max_norm = clip > 0 ? static_cast<float>(clip) : std::numeric_limits<float>::infinity();
      const double g_norm = static_cast<double>(nn::clip_grad_norm(model.parameters(), max_norm));
      if (clip > 0 && g_norm > clip) ++clipped;
      opt.step();
      gn += g_norm;
      gmax = std::max(gmax, g_norm);
      L += o.loss.item();
      bce += o.bce.item();
      klf += o.kl_fine.item();
      for (int l = 0; l < nlev; ++l) {
        klc[static_cast<std::size_t>(l)] += o.levels[static_cast<std::size_t>(l)].kl.item();
        rec[static_cast<std::size_t>(l)] += o.levels[static_cast<std::size_t>(l)].rec.item();
        bal[static_cast<std::size_t>(l)] += o.levels[static_cast<std::size_t>(l)].bal.item();
      }
      ++steps;
    }
    clipped_total += clipped;
    steps_total += steps;
    const double sec = seconds_since(t0);
    const double elapsed = seconds_since(t_train0);
    const double inv = 1.0 / std::max(steps, 1);
    if (ep % log_every == 0 || ep + 1 == epochs) {
      std::cout << "epoch " << ep + 1 << "/" << epochs << "  loss " << fmt(L * inv) << "  bce " << fmt(bce * inv)
                << "  kl " << fmt(klf * inv);
      for (int l = 0; l < nlev; ++l)
        std::cout << "  [K=" << model.cluster_counts()[static_cast<std::size_t>(l)] << " kl "
                  << fmt(klc[static_cast<std::size_t>(l)] * inv, 3) << " rec " << fmt(rec[static_cast<std::size_t>(l)] * inv, 3)
                  << " bal " << fmt(bal[static_cast<std::size_t>(l)] * inv, 3) << "]";
      std::cout << "  |g| " << fmt(gn * inv, 3) << " (max " << fmt(gmax, 3) << ")";
      if (clip > 0) std::cout << "  clipped " << clipped << "/" << steps;
      std::cout << "  " << fmt(sec, 3) << " s/epoch  ETA "
                << fmt(elapsed / (ep + 1) * (epochs - ep - 1), 3) << " s" << std::endl;
    }
    if (!val.empty() && val_every > 0 && (ep + 1) % val_every == 0 && ep + 1 != epochs) {
      const auto tv0 = Clock::now();
      refresh_slot_probs();
      val_history.push_back(validate(ep + 1, threshold, temperature, true, no_accept));  // before size matching
      val_seconds += seconds_since(tv0);
    }
    if (ep % log_every == 0 || ep + 1 == epochs) {  // history at the logged epochs only
      json h = {{"epoch", ep + 1}, {"loss", L * inv}, {"bce", bce * inv}, {"kl_fine", klf * inv}, {"seconds", sec},
               {"grad_norm_mean", gn * inv}, {"grad_norm_max", gmax}, {"clipped_steps", clipped}};
      h["kl_coarse"] = klc;
      h["rec_coarse"] = rec;
      h["balanced_cut_kl"] = bal;
      for (auto& v : h["kl_coarse"]) v = v.get<double>() * inv;
      for (auto& v : h["rec_coarse"]) v = v.get<double>() * inv;
      for (auto& v : h["balanced_cut_kl"]) v = v.get<double>() * inv;
      history.push_back(h);
    }
    if (resume.due(ep + 1, epochs)) {  // the complete state after this epoch, atomically
      const std::map<std::string, std::string> meta{
          {"config", resume_cfg.dump()},
          {"epoch", std::to_string(ep + 1)},
          {"order", json(order).dump()},
          {"history", history.dump()},
          {"val_history", val_history.dump()},
          {"clipped_total", std::to_string(clipped_total)},
          {"steps_total", std::to_string(steps_total)},
          {"train_seconds", nn::format_exact(resumed_seconds + seconds_since(t_train0) - val_seconds)}};
      nn::save_training_state<float>(state_file, model, opt, meta);
      std::cout << "checkpoint: epoch " << ep + 1 << " -> " << state_file << std::endl;
    }
  }
  const double train_seconds =
      resumed_seconds + seconds_since(t_train0) - val_seconds;
  const double sec_per_epoch = epochs > 0 ? train_seconds / epochs : 0.0;
  std::cout << "training: " << fmt(train_seconds, 4) << " s (" << fmt(sec_per_epoch, 3) << " s/epoch)\n";
  refresh_slot_probs();
  if (cfg.prior == PriorKind::Learned) {
    int used = 0;
    for (double v : slot_probs) used += v > 0 ? 1 : 0;
    std::cout << "learned prior: " << used << " of " << slots << " slots used by the training graphs\n";
  }
  // Threshold calibration on the graphs trained on (never validation or test graphs): its own sampling
  // stream CounterRng(seed, 0x7A1F); the calibrated threshold replaces --threshold for everything below.
  json calib_json;
  const double threshold_given = threshold;
  if (threshold_calibration == "edges") {
    std::vector<Tensor<float>> Ps;
    const CounterRng crng(seed, 0x7A1F);
    for (int s0 = 0; s0 < calib_samples; s0 += 256) {
      HeapScope heap;  // keep the probabilities beyond the arena scope
      Ps.push_back(model.sample_probabilities(std::min(256, calib_samples - s0), crng.split(static_cast<std::uint64_t>(s0)),
                                              slot_probs, size_probs, temperature));
    }
    const double target = summary(train).second;
    const auto c = calibrate_threshold_to_edges(Ps, target);
    threshold = c.threshold;
    calib_json = {{"method", "edges: global threshold at which the prior samples' mean edge count matches the graphs trained on"},
                  {"threshold_given", threshold_given}, {"threshold", c.threshold}, {"target_mean_edges", c.target_edges},
                  {"calibration_mean_edges", c.mean_edges}, {"samples", c.samples}};
    std::cout << "threshold calibration (edges): " << c.samples << " prior samples, target mean m " << fmt(target)
              << " (graphs trained on) -> threshold " << fmt(c.threshold, 4) << " (mean m " << fmt(c.mean_edges) << ")\n";
  }
  // Size matching: acceptance from --calib-samples samples of the main sampling rule (own stream
  // CounterRng(seed, 0x7A20)) against the node counts of the graphs trained on.
  json size_match_json;
  if (size_matching) {
    const auto sm = calibrate_size_matching(
        train, generate(calib_samples, CounterRng(seed, 0x7A20), threshold, temperature, true, no_accept), n_max);
    size_accept = sm.acceptance;
    size_match_json = {{"acceptance_by_size", size_accept}, {"calibration_size_probs", sm.generated_probs},
                       {"samples", calib_samples}, {"expected_acceptance_rate", sm.expected_acceptance_rate}};
    std::cout << "size matching: expected acceptance rate " << fmt(sm.expected_acceptance_rate, 3) << " ("
              << calib_samples << " calibration samples)\n";
  }

  const std::vector<std::string> keys{"degree", "clustering", "orbit", "degree_tv", "clustering_tv"};
  json metrics;
  metrics["data"] = {{"source", data_source}, {"n_train", train.size()}, {"n_test", test.size()}, {"n_max", n_max}};
  std::vector<std::pair<std::string, std::vector<mgvae::Graph>>> sample_lists;  // written as graph lists
  if (!val.empty()) {
    val_history.push_back(validate(epochs, threshold, temperature, true, size_accept));
    sample_lists.emplace_back("generated_validation.txt", last_val_run0);
    json by_thr = json::array(), by_temp = json::array();
    // One validation row at (thr, temp): plain without size matching; with it, the acceptance table is recomputed
    // at (thr, temp) from the same calibration stream (CounterRng(seed, 0x7A20), --calib-samples samples), so the
    // main threshold and temperature reproduce the main row. A calibration that fails (e.g. every calibration sample
    // empty) gives an error row instead of ending the run.
    auto size_matched_row = [&](double thr, double temp, bool calibrated) -> json {
      if (!size_matching) return validate(epochs, thr, temp, calibrated, no_accept);
      SizeMatchingCalibration sm;
      try {
        sm = calibrate_size_matching(
            train, generate(calib_samples, CounterRng(seed, 0x7A20), thr, temp, calibrated, no_accept), n_max);
      } catch (const std::invalid_argument& e) {
        std::cout << "validation (threshold " << thr << ", temperature " << temp << ", size-matched): " << e.what() << "\n";
        return {{"epoch", epochs}, {"threshold", thr}, {"temperature", temp}, {"size_matching", true}, {"error", e.what()}};
      }
      json row = validate(epochs, thr, temp, calibrated, sm.acceptance);
      row["size_matching_detail"] = {{"acceptance_by_size", sm.acceptance}, {"calibration_size_probs", sm.generated_probs},
                                     {"samples", calib_samples}, {"expected_acceptance_rate", sm.expected_acceptance_rate}};
      return row;
    };
    // --val-thresholds: threshold t instead of the main one (no --threshold-calibration)
    for (double t : val_thresholds) by_thr.push_back(size_matched_row(t, temperature, false));
    // --val-temperatures: sampling temperature t with the main threshold rule
    for (double t : val_temperatures) by_temp.push_back(size_matched_row(threshold, t, true));
    json vj;
    vj["val_count"] = val.size();
    vj["val_seed"] = val_seed;
    if (val_folds > 0) {
      vj["val_folds"] = val_folds;
      vj["val_fold"] = val_fold;
      vj["split"] = "stratified_fold_split(node counts of the 80 training graphs, val_folds, val_fold, val_seed) in "
                    "graphgen/tuning.hpp; positions in the .train.index list";
      std::vector<int> hist(static_cast<std::size_t>(n_max + 1), 0);
      for (const auto& g : val) ++hist[static_cast<std::size_t>(g.n)];
      vj["val_size_hist"] = hist;
    } else {
      vj["split"] = "validation_split(80, val_count, val_seed) in graphgen/graph_data.hpp; positions in the .train.index list";
    }
    vj["val_positions"] = val_positions;
    vj["runs"] = val_runs;
    vj["samples_per_run"] = val_samples;
    vj["reference"] = "validation graphs (held out from training); the test set is not evaluated";
    json floor;
    const auto f = all_mmd(val, train);
    for (std::size_t k = 0; k < keys.size(); ++k) floor[keys[k]] = mmd_json(f[k]);
    floor["note"] = "MMD^2 of the validation graphs vs the graphs trained on, same kernels";
    vj["data_floor_val_vs_train"] = floor;
    std::cout << "validation floor (val vs trained-on graphs): degree " << fmt(f[0].value) << "  clustering "
              << fmt(f[1].value) << "  orbit " << fmt(f[2].value) << "\n";
    vj["history"] = val_history;
    vj["final"] = val_history.back();
    if (!by_thr.empty()) vj["final_by_threshold"] = by_thr;
    if (!by_temp.empty()) vj["final_by_temperature"] = by_temp;
    metrics["validation"] = vj;
  }
  if (val.empty()) {
    json floor;
    const auto f = all_mmd(test, train);
    for (std::size_t k = 0; k < keys.size(); ++k) floor[keys[k]] = mmd_json(f[k]);
    floor["note"] = "MMD^2 of the test graphs vs the train graphs under the same kernels (what real data scores)";
    metrics["data_floor_test_vs_train"] = floor;
    std::cout << "data floor (test vs train): degree " << fmt(f[0].value) << "  clustering " << fmt(f[1].value)
              << "  orbit " << fmt(f[2].value) << "\n";
    if ((protocol == "gdss" || protocol == "both") && test.size() <= train.size()) {
      // The GDSS protocol's floor: what a generator whose samples are real graphs scores with as many samples
      // as test graphs. Per run, |test| distinct training graphs drawn uniformly (partial Fisher-Yates on a
      // fixed stream, the same for every training seed) against the test graphs; mean ± std over --runs.
      std::vector<std::vector<double>> fv(keys.size());
      const CounterRng frng(0, 0xF100D5);
      for (int r = 0; r < runs; ++r) {
        CounterRng rr = frng.split(static_cast<std::uint64_t>(r));
        std::vector<std::size_t> idx(train.size());
        std::iota(idx.begin(), idx.end(), std::size_t{0});
        std::vector<mgvae::Graph> sub;
        for (std::size_t k = 0; k < test.size(); ++k) {
          std::swap(idx[k], idx[k + rr.next_below(idx.size() - k)]);
          sub.push_back(train[idx[k]]);
        }
        const auto m = all_mmd(test, sub);
        for (std::size_t k = 0; k < keys.size(); ++k) fv[k].push_back(m[k].value);
      }
      json fg;
      std::cout << "GDSS-protocol data floor (" << runs << " runs x " << test.size() << " train graphs vs the test graphs):";
      for (std::size_t k = 0; k < keys.size(); ++k) {
        const auto ms = mean_std(fv[k]);
        fg[keys[k]] = {{"mean", ms.mean}, {"std", ms.std}, {"per_run", fv[k]}};
        if (k < 3) std::cout << "  " << keys[k] << " " << fmt(ms.mean) << " ± " << fmt(ms.std, 2);
      }
      std::cout << "\n";
      fg["note"] = "per run, |test| distinct train graphs drawn uniformly (CounterRng(0, 0xF100D5).split(run)) vs the test "
                   "graphs, same kernels: what real graphs score under the GDSS protocol (samples = test graphs)";
      metrics["data_floor_gdss_protocol"] = fg;
    }
  }
  std::vector<std::string> protos;  // none with a validation split: model selection never sees the test set
  if (val.empty() && (protocol == "paper" || protocol == "both")) protos.push_back("paper");
  if (val.empty() && (protocol == "gdss" || protocol == "both")) protos.push_back("gdss");
  std::vector<mgvae::Graph> shown;
  for (const auto& pr : protos) {
    const int S = pr == "paper" ? samples : static_cast<int>(test.size());
    std::vector<std::vector<double>> vals(keys.size());
    json per_run = json::array();
    std::size_t empty_total = 0;
    double nodes = 0, edges = 0;
    std::size_t counted = 0;
    std::vector<std::size_t> size_hist(static_cast<std::size_t>(n_max + 1), 0);  // node counts of the samples (diagnostic)
    const auto t_eval0 = Clock::now();
    for (int r = 0; r < runs; ++r) {
      const CounterRng srng = CounterRng(seed, 0x5A3E).split(static_cast<std::uint64_t>(pr == "paper" ? 0 : 1) * 1000 +
                                                             static_cast<std::uint64_t>(r));
      const std::vector<mgvae::Graph> gen = generate(S, srng, threshold, temperature, true, size_accept);
      std::vector<mgvae::Graph> nonempty;
      std::size_t empty = 0;
      for (auto& g : gen) {
        if (g.n == 0) ++empty;
        else {
          nodes += g.n;
          edges += static_cast<double>(g.edges.size());
          ++counted;
          ++size_hist[static_cast<std::size_t>(g.n)];
          nonempty.push_back(g);
        }
      }
      empty_total += empty;
      if (shown.empty()) shown.assign(gen.begin(), gen.begin() + std::min<std::size_t>(gen.size(), 10));
      if (r == 0) sample_lists.emplace_back("generated_" + pr + ".txt", gen);
      json run = {{"run", r}, {"generated", gen.size()}, {"empty", empty}};
      if (nonempty.empty()) {
        run["note"] = "all generated graphs empty; MMD undefined";
        per_run.push_back(run);
        continue;
      }
      const auto m = all_mmd(test, nonempty);
      for (std::size_t k = 0; k < keys.size(); ++k) {
        vals[k].push_back(m[k].value);
        run[keys[k]] = m[k].value;
      }
      per_run.push_back(run);
    }
    const double eval_seconds = seconds_since(t_eval0);
    json pj;
    pj["samples_per_run"] = S;
    pj["runs"] = runs;
    pj["reference"] = "test";
    pj["n_reference"] = test.size();
    pj["empty_graphs_total"] = empty_total;
    pj["empty_graphs_note"] = "graphs with no edge after thresholding are counted here and left out of the MMD sets";
    pj["generated_mean_nodes"] = counted ? nodes / static_cast<double>(counted) : 0.0;
    pj["generated_mean_edges"] = counted ? edges / static_cast<double>(counted) : 0.0;
    pj["eval_seconds"] = eval_seconds;
    pj["generated_size_hist"] = size_hist;  // entry n = generated graphs with n nodes (all runs)
    const auto proto_m = all_mmd(test, train);  // kernel names and sigmas
    std::cout << "protocol " << pr << " (" << runs << " runs x " << S << " samples vs " << test.size()
              << " test graphs; empty " << empty_total << "):";
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const auto ms = mean_std(vals[k]);
      pj["mmd"][keys[k]] = {{"mean", ms.mean},
                            {"std", ms.std},
                            {"runs_used", vals[k].size()},
                            {"kernel", proto_m[k].kernel},
                            {"sigma", proto_m[k].sigma}};
      if (k < 3) std::cout << "  " << keys[k] << " " << fmt(ms.mean) << " ± " << fmt(ms.std, 2);
    }
    std::cout << "  (mean n " << fmt(pj["generated_mean_nodes"].get<double>()) << ", mean m "
              << fmt(pj["generated_mean_edges"].get<double>()) << ")\n";
    pj["per_run"] = per_run;
    metrics["protocols"][pr] = pj;
  }

  json conf = {{"epochs", epochs},         {"lr", lr},           {"optimizer", "adam"},      {"batch", batch},
               {"layers", layers},         {"latent", latent},   {"hidden", hidden},         {"dec_hidden", dec_hidden},
               {"levels", levels},         {"clusters", model.cluster_counts()},             {"pos_weight", pos_weight},
               {"beta", beta},             {"lambda_rec", lambda_rec},                       {"lambda_bal", lambda_bal},
               {"tau", tau},               {"seed", seed},       {"bernoulli", bernoulli},   {"threshold", threshold},   {"threads", threads},
               {"parameters", model.num_parameters()}, {"val_count", val_count},      {"val_seed", val_seed},
               {"val_folds", val_folds},   {"val_fold", val_fold},
               {"lr_schedule", lr_schedule}, {"lr_min", lr_min}, {"threshold_calibration", threshold_calibration},
               {"threshold_given", threshold_given}, {"temperature", temperature},
               {"prior", prior},           {"clip", clip},       {"clipped_steps", clipped_total}, {"steps", steps_total}};
  if (cfg.prior == PriorKind::Learned) {
    conf["slots"] = slots;
    conf["jitter"] = cfg.jitter;
    conf["slot_usage"] = slot_probs;
    conf["size_probs"] = size_probs;
    conf["prior_sampling"] =
        "node count n from the sizes of the graphs trained on (size_probs[n]), slots i.i.d. from slot_usage (free "
        "matches of their posterior means after training), padding slots N(0, 1)";
  }
  if (!calib_json.is_null()) conf["calibration"] = calib_json;
  if (threshold_calibration == "size-edges")
    conf["calibration"] = {{"method", "size-edges: per sample, node set V of the thresholded graph, keep the round(mean_edges_by_size[|V|]) "
                                      "most probable pairs inside V (sizes not seen in training: threshold only)"},
                           {"mean_edges_by_size", size_edges}};
  conf["size_matching"] = size_matching;
  if (size_matching) conf["size_matching_detail"] = size_match_json;
  metrics["config"] = conf;
  std::string cmdline;
  for (int i = 0; i < argc; ++i) cmdline += (i ? " " : "") + std::string(argv[i]);
  metrics["command"] = cmdline;
  metrics["training"] = {{"seconds", train_seconds}, {"seconds_per_epoch", sec_per_epoch}, {"history", history}};
  metrics["mmd_definition"] =
      "mgvae::metrics (metrics/mmd.hpp): biased MMD^2 (GraphRNN compute_mmd); degree: pmf of degrees, gaussian_emd sigma=1; clustering: 100-bin pmf on "
      "[0,1], gaussian_emd sigma=0.1 with ground distance |i-j|/100; orbit: per-graph mean of 15 ORCA node-orbit "
      "counts (2-4 node graphlets), gaussian sigma=30; *_tv: gaussian total-variation kernel (GRAN/GDSS) with the same "
      "sigmas. Generated graphs: symmetrised, thresholded (or Bernoulli), zero diagonal, isolated nodes removed.";

  fs::create_directories(out_dir);
  write_atomic(fs::path(out_dir) / "metrics.json", metrics.dump(2) + "\n");
  std::vector<mgvae::Graph> tr_show(train.begin(), train.begin() + std::min<std::size_t>(train.size(), 10));
  write_atomic(fs::path(out_dir) / "samples.svg",
               graphs_svg({shown, tr_show}, {"generated (prior samples, padding stripped)", "training graphs"}));
  // The generated graphs in the data set's graph-list format (empty samples as "0 0"), readable with
  // mgvae::data::read_graph_list: run 0 of each protocol, or run 0 of the final validation row.
  std::string written;
  for (const auto& [name, gs] : sample_lists) {
    mgvae::data::write_graph_list((fs::path(out_dir) / name).string(), gs);
    written += ", " + name;
  }
  std::cout << "wrote " << (fs::path(out_dir) / "metrics.json").string() << ", samples.svg" << written << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "graph_generation: error: " << e.what() << "\n";
  return 1;
}
