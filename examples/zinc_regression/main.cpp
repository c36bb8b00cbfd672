// Supervised ZINC-12k regression with a Multiresolution Graph Network (paper App. D.4, Table 3
// bottom): node latents of every resolution level averaged per level, concatenated, linear head,
// L1 loss, Adam; model selection on validation MAE (test MAE reported at the best-val epoch).
//
//   zinc_regression [--data-dir DIR] [--target NAME] [--epochs E] [--seed S] [--out DIR] ...
//
// DIR is either zinc12k_bgnn/ (train/val/test.tsv, the true Benchmarking-GNNs 10k/1k/1k split;
// default) or zinc12k_mgvae/ (smiles, logp, new_{train,val,test}.index: the split the paper's code
// used, whose train/val/test overlap). Writes OUT/metrics.json and OUT/parity.svg.
// See docs/zinc_regression.md.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mgvae/autodiff/no_grad.hpp"
#include "mgvae/core/arena.hpp"
#include "mgvae/data/molecules/qm9.hpp"
#include "mgvae/data/molecules/zinc.hpp"
#include "mgvae/metrics/molecules/sa_score.hpp"
#include "mgvae/models/property/mgn_regressor.hpp"
#include "mgvae/nn/optim.hpp"
#include "mgvae/nn/schedule.hpp"
#include "mgvae/ops/loss.hpp"
#include "mgvae/ops/reduce.hpp"
#include "../common/divergence.hpp"
#include "../common/example_util.hpp"
#include "../common/resume.hpp"
#include "mgvae/nn/checkpoint.hpp"

using namespace mgvae;
using namespace mgvae::models::property;
using mgvae::examples::fmt;
using mgvae::examples::write_atomic;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Split {
  std::string name;
  std::vector<PropertyGraph> graphs;
  std::vector<double> y;
  std::vector<std::string> smiles;
  std::int64_t rows = 0;                 ///< rows in the file (after --limit)
  std::vector<std::string> skipped;      ///< "row: reason"
};

PropertyGraph to_property_graph(const data::MolGraph& m) {
  PropertyGraph g;
  g.n = m.n;
  g.node_type = m.atom_type;
  g.edges = m.bonds;
  return g;
}

/// SMILES + targets -> graphs (rows RDKit or the vocabulary reject are skipped and reported).
Split make_split(const std::string& name, const std::vector<std::string>& smiles, const std::vector<double>& y,
                 std::int64_t limit) {
  Split s;
  s.name = name;
  std::vector<std::int64_t> rows;
  const auto n = static_cast<std::int64_t>(smiles.size());
  s.rows = limit > 0 ? std::min(limit, n) : n;
  for (std::int64_t r = 0; r < s.rows; ++r) rows.push_back(r);
  const auto d = data::load_molecule_dataset(smiles, data::AtomVocab::zinc(), 64, false, rows);
  for (std::size_t k = 0; k < d.graphs.size(); ++k) {
    s.graphs.push_back(to_property_graph(d.graphs[k]));
    s.y.push_back(y[static_cast<std::size_t>(d.source_row[k])]);
    s.smiles.push_back(d.smiles[k]);
  }
  s.skipped = d.skipped;
  return s;
}

// JT-VAE / GCPN normalisation constants of penalized_logP_normalized (shared/data/README.md §3b).
double penalized_logp_normalized(const std::string& smi) {
  std::string why;
  auto mol = data::detail::parse_smiles(smi, &why);
  if (!mol) throw std::runtime_error("cannot parse SMILES '" + smi + "': " + why);
  const double logp = metrics::crippen_logp(*mol), sas = metrics::sa_score(*mol);
  const double cyc = metrics::cycle_penalty(*mol);
  return (logp - 2.4570953396190123) / 1.434324401111988 + (-sas + 3.0525811293166134) / 0.8335207024513095 +
         (-cyc + 0.0485696876403053) / 0.2860212110245455;
}

struct Eval {
  double mae = 0;
  std::vector<double> pred;
};

template <class Model>
Eval evaluate(const Model& model, const std::vector<GraphBatch<float>>& batches, const std::vector<double>& y) {
  NoGradGuard ng;
  Eval e;
  for (const auto& b : batches) {
    ArenaScope scope;
    const auto p = model.forward(b).prediction.value().to_vector();
    for (float v : p) e.pred.push_back(static_cast<double>(v));
  }
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += std::abs(e.pred[i] - y[i]);
  e.mae = y.empty() ? 0.0 : s / static_cast<double>(y.size());
  return e;
}

/// The same MAE with the training-mode clustering: predictions averaged over `samples` Gumbel draws
/// per batch (a fixed stream from `rng`, so the number is reproducible). The paper's clustering in
/// practice is the Gumbel sample (§3, after Eq. 4), and it is what the model sees in training.
template <class Model>
Eval evaluate_sampled(const Model& model, const std::vector<GraphBatch<float>>& batches, const std::vector<double>& y,
                      int samples, const CounterRng& rng) {
  NoGradGuard ng;
  Eval e;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto& b = batches[i];
    std::vector<double> acc;
    for (int k = 0; k < samples; ++k) {
      ArenaScope scope;
      const auto noise = model.draw_noise(b, rng.split(static_cast<std::uint64_t>(i) * 4096u + static_cast<std::uint64_t>(k)));
      const auto p = model.forward(b, noise).prediction.value().to_vector();
      if (acc.empty()) acc.assign(p.size(), 0.0);
      for (std::size_t j = 0; j < p.size(); ++j) acc[j] += static_cast<double>(p[j]) / samples;
    }
    e.pred.insert(e.pred.end(), acc.begin(), acc.end());
  }
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += std::abs(e.pred[i] - y[i]);
  e.mae = y.empty() ? 0.0 : s / static_cast<double>(y.size());
  return e;
}

std::vector<GraphBatch<float>> fixed_batches(const Split& s, std::int64_t bs, const MgnRegressorConfig& cfg) {
  std::vector<GraphBatch<float>> out;
  for (std::size_t i = 0; i < s.graphs.size(); i += static_cast<std::size_t>(bs)) {
    std::vector<const PropertyGraph*> g;
    for (std::size_t k = i; k < std::min(s.graphs.size(), i + static_cast<std::size_t>(bs)); ++k) g.push_back(&s.graphs[k]);
    out.push_back(make_batch<float>(g, cfg.num_node_types, cfg.num_edge_types, cfg.readout));
  }
  return out;
}

/// Predicted vs true scatter plot, by hand.
std::string parity_svg(const std::vector<double>& y, const std::vector<double>& p, const std::string& title,
                       const std::string& subtitle) {
  const double W = 520, H = 540, L = 70, R = 20, T = 70, Bm = 60;
  double lo = 0, hi = 0;
  if (!y.empty()) {
    lo = *std::min_element(y.begin(), y.end());
    hi = *std::max_element(y.begin(), y.end());
    for (double v : p) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  lo = std::floor(lo) - 0.5;
  hi = std::ceil(hi) + 0.5;
  auto sx = [&](double v) { return L + (v - lo) / (hi - lo) * (W - L - R); };
  auto sy = [&](double v) { return H - Bm - (v - lo) / (hi - lo) * (H - T - Bm); };
  std::ostringstream o;
  o << std::fixed << std::setprecision(2);
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << ' ' << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">" << title << "</text>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"46\" text-anchor=\"middle\">" << subtitle << "</text>\n";
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - Bm
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  const double step = (hi - lo) > 12 ? 4 : ((hi - lo) > 6 ? 2 : 1);
  for (double t = std::ceil(lo / step) * step; t <= hi; t += step) {
    o << "<line x1=\"" << sx(t) << "\" y1=\"" << H - Bm << "\" x2=\"" << sx(t) << "\" y2=\"" << H - Bm + 5 << "\" stroke=\"black\"/>"
      << "<text x=\"" << sx(t) << "\" y=\"" << H - Bm + 18 << "\" text-anchor=\"middle\">" << fmt(t, 3) << "</text>\n";
    o << "<line x1=\"" << L - 5 << "\" y1=\"" << sy(t) << "\" x2=\"" << L << "\" y2=\"" << sy(t) << "\" stroke=\"black\"/>"
      << "<text x=\"" << L - 8 << "\" y=\"" << sy(t) + 4 << "\" text-anchor=\"end\">" << fmt(t, 3) << "</text>\n";
    o << "<line x1=\"" << sx(t) << "\" y1=\"" << T << "\" x2=\"" << sx(t) << "\" y2=\"" << H - Bm << "\" stroke=\"#eee\"/>"
      << "<line x1=\"" << L << "\" y1=\"" << sy(t) << "\" x2=\"" << W - R << "\" y2=\"" << sy(t) << "\" stroke=\"#eee\"/>\n";
  }
  o << "<line x1=\"" << sx(lo) << "\" y1=\"" << sy(lo) << "\" x2=\"" << sx(hi) << "\" y2=\"" << sy(hi)
    << "\" stroke=\"#d33\" stroke-dasharray=\"4 3\"/>\n<g fill=\"#1f5fa8\" fill-opacity=\"0.35\">\n";
  for (std::size_t i = 0; i < y.size(); ++i) o << "<circle cx=\"" << sx(y[i]) << "\" cy=\"" << sy(p[i]) << "\" r=\"2.2\"/>\n";
  o << "</g>\n<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 15 << "\" text-anchor=\"middle\">true</text>\n";
  o << "<text x=\"18\" y=\"" << (T + H - Bm) / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " << (T + H - Bm) / 2
    << ")\">predicted</text>\n</svg>\n";
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  mgvae::examples::flush_progress_output();
  CLI::App app{"Supervised MGN regression on ZINC-12k (paper App. D.4, Table 3 bottom)"};
  app.option_defaults()->always_capture_default();  // --help shows each option's default
  std::string data_dir = data::molecule_data_dir() + "/zinc12k_bgnn", target = "auto", out_dir = "out/zinc_regression";
  std::string readout = "mean";
  int epochs = 60, threads = 1, levels = 3, layers = 4, coarse_layers = 2, patience = 5, log_every = 1;
  int final_eval_samples = 8, rwse = 16;
  std::int64_t hidden = 64, clusters = 2, batch = 32, limit = 0, eval_batch = 32;
  double lr = 2e-3, lr_factor = 0.5, min_lr = 1e-5, clip = 0.0, max_minutes = 0;
  std::uint64_t seed = 1;
  bool no_edge_types = false, stop_at_min_lr = false;
  app.add_option("--data-dir", data_dir,
                 "zinc12k_bgnn/ (train/val/test.tsv) or zinc12k_mgvae/ (smiles, logp, new_*.index)");
  app.add_option("--target", target,
                 "target column: auto = penalized_logP_normalized (bgnn) / logp (mgvae); bgnn: any TSV column; "
                 "mgvae: logp (file) or penalized_logP_normalized (recomputed with RDKit)");
  app.add_option("--epochs", epochs, "training epochs")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "seed (initialisation, shuffling, Gumbel noise)");
  app.add_option("--threads", threads, "OpenMP threads (sparse products)")->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "width d of every layer and level latent (paper: 256)")->check(CLI::PositiveNumber);
  app.add_option("--levels", levels, "resolution levels L including the finest (readout size d*L)")->check(CLI::PositiveNumber);
  app.add_option("--clusters", clusters, "K: coarse level s has K^(L-s) clusters per molecule")->check(CLI::PositiveNumber);
  app.add_option("--layers", layers, "message-passing layers at the finest level")->check(CLI::NonNegativeNumber);
  app.add_option("--coarse-layers", coarse_layers, "GCN layers per coarse level")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--lr-factor", lr_factor, "multiply lr by this after --patience epochs without val improvement")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--patience", patience, "epochs without val improvement before lowering lr")->check(CLI::PositiveNumber);
  app.add_option("--min-lr", min_lr, "lower bound of the learning rate")->check(CLI::NonNegativeNumber);
  app.add_option("--clip", clip, "clip the gradient norm (0 = off)")->check(CLI::NonNegativeNumber);
  app.add_option("--max-minutes", max_minutes, "stop training after the epoch in which this many minutes have passed (0 = no limit)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--stop-at-min-lr", stop_at_min_lr,
               "stop when a plateau occurs with the learning rate already at --min-lr (the Benchmarking-GNNs stopping rule)");
  app.add_option("--batch", batch, "molecules per optimiser step (one block-diagonal batch)")->check(CLI::PositiveNumber);
  app.add_option("--eval-batch", eval_batch, "molecules per evaluation batch (block-diagonal coarse graphs: keep it small)")->check(CLI::PositiveNumber);
  app.add_option("--final-eval-samples", final_eval_samples,
                 "after training, also evaluate the best-val parameters with the training-mode (Gumbel-sampled) "
                 "clustering, predictions averaged over this many draws (0 = off; selection is unchanged)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--readout", readout, "per-level aggregation of node latents (paper: mean)")
      ->check(CLI::IsMember({"mean", "sum"}));
  app.add_flag("--no-edge-types", no_edge_types, "plain GCN on the 0/1 adjacency instead of bond-type-aware layers");
  app.add_option("--rwse", rwse,
                 "append K random-walk landing probabilities [(D^-1 A)^k]_ii, k = 1..K, to each atom's input "
                 "(0 = the paper's one-hot input only)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--limit", limit, "use only the first N molecules of each split (smoke tests)")->check(CLI::NonNegativeNumber);
  app.add_option("--log-every", log_every, "print a progress line every N epochs")->check(CLI::PositiveNumber);
  app.add_option("--out", out_dir, "output directory (metrics.json, parity.svg)");
  examples::ResumeOptions resume;
  examples::add_resume_options(app, resume);
  app.footer(examples::kDivergenceHelp);
  CLI11_PARSE(app, argc, argv);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif

  try {
    // ---- data -------------------------------------------------------------------------------
    const auto t_load = std::chrono::steady_clock::now();
    const fs::path dir(data_dir);
    std::string split_kind;
    std::vector<Split> splits;
    if (fs::exists(dir / "smiles") && fs::exists(dir / "new_train.index") && !fs::exists(dir / "train.tsv")) {
      split_kind = "zinc12k_mgvae";
      if (target == "auto") target = "logp";
      if (target != "logp" && target != "penalized_logP_normalized")
        throw std::invalid_argument("--target for zinc12k_mgvae must be logp or penalized_logP_normalized, got '" + target + "'");
      const auto smiles = data::read_count_lines((dir / "smiles").string());
      std::vector<double> y;
      if (target == "logp") {
        y = data::read_qm9_target((dir / "logp").string());
        if (y.size() != smiles.size())
          throw ParseError((dir / "logp").string(), 0, std::to_string(y.size()) + " values for " + std::to_string(smiles.size()) + " SMILES");
      }
      for (const char* s : {"train", "val", "test"}) {
        const std::string f = (dir / ("new_" + std::string(s) + ".index")).string();
        const auto idx = data::read_index_file(f);
        std::vector<std::string> sm;
        std::vector<double> yy;
        for (auto i : idx) {
          if (i >= static_cast<std::int64_t>(smiles.size())) throw ParseError(f, 1, "index " + std::to_string(i) + " out of range");
          sm.push_back(smiles[static_cast<std::size_t>(i)]);
          yy.push_back(target == "logp" ? y[static_cast<std::size_t>(i)] : 0.0);
        }
        if (target != "logp") {
          const std::int64_t n = limit > 0 ? std::min<std::int64_t>(limit, static_cast<std::int64_t>(sm.size())) : static_cast<std::int64_t>(sm.size());
          for (std::int64_t k = 0; k < n; ++k) yy[static_cast<std::size_t>(k)] = penalized_logp_normalized(sm[static_cast<std::size_t>(k)]);
        }
        splits.push_back(make_split(s, sm, yy, limit));
      }
    } else {
      split_kind = fs::path(data_dir).filename() == "zinc12k_bgnn" || fs::path(data_dir).parent_path().filename() == "zinc12k_bgnn"
                       ? "zinc12k_bgnn"
                       : "bgnn-format";
      if (target == "auto") target = "penalized_logP_normalized";
      if (!fs::exists(dir / "train.tsv"))
        throw std::runtime_error("--data-dir " + data_dir + ": neither " + (dir / "train.tsv").string() +
                                 " (zinc12k_bgnn format: train/val/test.tsv) nor " + (dir / "smiles").string() + " and " +
                                 (dir / "new_train.index").string() + " (zinc12k_mgvae format) exist");
      for (const char* s : {"train", "val", "test"}) {
        const auto t = data::read_zinc12k_bgnn((dir / (std::string(s) + ".tsv")).string());  // ParseError names a missing file
        splits.push_back(make_split(s, t.smiles, t.column(target), limit));
      }
    }
    if (rwse > 0) {
      const auto t_pe = std::chrono::steady_clock::now();
      for (auto& s : splits)
        for (auto& g : s.graphs) {
          g.features = random_walk_encoding(g, rwse);
          g.feature_dim = rwse;
        }
      std::cout << "random-walk encoding: " << rwse << " steps per atom ("
                << fmt(std::chrono::duration<double>(std::chrono::steady_clock::now() - t_pe).count(), 3) << " s)\n";
    }
    const Split &train = splits[0], &val = splits[1], &test = splits[2];
    std::int64_t max_atoms = 0;
    double mean_atoms = 0;
    for (const auto& g : train.graphs) {
      max_atoms = std::max(max_atoms, g.n);
      mean_atoms += static_cast<double>(g.n);
    }
    mean_atoms /= std::max<double>(1.0, static_cast<double>(train.graphs.size()));
    for (const auto& s : splits) {
      std::cout << s.name << ": " << s.graphs.size() << " molecules (" << s.rows << " rows, " << s.skipped.size() << " skipped)\n";
      for (std::size_t k = 0; k < std::min<std::size_t>(3, s.skipped.size()); ++k) std::cout << "  skipped " << s.skipped[k] << "\n";
    }
    if (train.graphs.empty() || val.graphs.empty() || test.graphs.empty())
      throw std::runtime_error("a split has no usable molecules");
    std::vector<double> ys = train.y;
    std::sort(ys.begin(), ys.end());
    const double median = ys[ys.size() / 2];
    double ymean = 0;
    for (double v : train.y) ymean += v;
    ymean /= static_cast<double>(train.y.size());
    double ystd = 0;
    for (double v : train.y) ystd += (v - ymean) * (v - ymean);
    ystd = std::sqrt(ystd / static_cast<double>(train.y.size()));
    // MAE of predicting the train median everywhere: the trivial baseline.
    auto const_mae = [&](const Split& s) {
      double a = 0;
      for (double v : s.y) a += std::abs(v - median);
      return a / static_cast<double>(s.y.size());
    };
    std::cout << "split " << split_kind << ", target " << target << ": train mean " << fmt(ymean) << ", std " << fmt(ystd)
              << ", median " << fmt(median) << "; constant-median MAE val " << fmt(const_mae(val)) << ", test "
              << fmt(const_mae(test)) << "; atoms mean " << fmt(mean_atoms) << ", max " << max_atoms << "  ("
              << fmt(std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count(), 3) << " s)\n";

    // ---- model ------------------------------------------------------------------------------
    MgnRegressorConfig cfg;
    cfg.num_node_types = static_cast<std::int64_t>(data::AtomVocab::zinc().symbols.size());
    cfg.num_edge_types = 3;
    cfg.hidden = hidden;
    cfg.layers = layers;
    cfg.coarse_layers = coarse_layers;
    cfg.levels = levels;
    cfg.clusters = clusters;
    cfg.use_edge_types = !no_edge_types;
    cfg.node_feature_dim = rwse;
    cfg.readout = readout == "sum" ? Readout::Sum : Readout::Mean;
    cfg.seed = seed;
    MgnRegressor<float> model(cfg);
    model.head().bias().value().data()[0] = static_cast<float>(median);  // start at the L1-optimal constant
    nn::Adam<float> opt(model.parameters(), static_cast<float>(lr));
    std::cout << "model: " << model.num_parameters() << " parameters; d " << hidden << ", " << layers << " "
              << (cfg.use_edge_types ? "bond-type-aware" : "plain GCN") << " layers, L " << levels << " levels (clusters per molecule:";
    for (auto k : cfg.cluster_counts()) std::cout << ' ' << k;
    std::cout << "), " << readout << " readout, readout size " << hidden * levels << "; batch " << batch << ", Adam lr " << lr
              << ", threads " << threads << "\n";

    const auto val_b = fixed_batches(val, eval_batch, cfg), test_b = fixed_batches(test, eval_batch, cfg);

    // ---- training ---------------------------------------------------------------------------
    CounterRng rng(seed, 0x21C);
    std::vector<std::size_t> order(train.graphs.size());
    std::iota(order.begin(), order.end(), 0);
    json history = json::array();
    double best_val = 1e300, test_at_best = 0, train_at_best = 0;
    int best_epoch = 0;
    nn::PlateauSchedule sched(lr, {lr_factor, patience, min_lr});
    std::vector<double> best_test_pred;
    std::vector<Tensor<float>> best_params;
    const auto t0 = std::chrono::steady_clock::now();
    std::int64_t step = 0;
    int epochs_run = 0;
    std::string stop_reason = "epochs";
    examples::Divergence divergence;
    bool run_diverged = false;
    double seconds_before = 0;  // training time of the runs this one resumes (timing only)
    int first_ep = 1;
    // ---- --resume: everything later numbers depend on is in DIR/train_state.safetensors: parameters,
    // Adam moments and step counts, the plateau schedule, the shuffled order (shuffles compound), the
    // noise step counter, the best-validation bookkeeping and the history.
    const json resume_cfg{{"trainer", "zinc_regression"}, {"data_dir", data_dir}, {"target", target}, {"split", split_kind},
                          {"limit", limit},               {"epochs", epochs},     {"seed", seed},
                          {"threads", threads},           {"hidden", hidden},     {"levels", levels},
                          {"clusters", clusters},         {"layers", layers},     {"coarse_layers", coarse_layers},
                          {"edge_types", !no_edge_types}, {"rwse", rwse},         {"readout", readout},
                          {"batch", batch},               {"eval_batch", eval_batch}, {"lr", lr},
                          {"lr_factor", lr_factor},       {"patience", patience}, {"min_lr", min_lr},
                          {"clip", clip},                 {"max_minutes", max_minutes}, {"stop_at_min_lr", stop_at_min_lr},
                          {"final_eval_samples", final_eval_samples}, {"train", train.graphs.size()}};
    const std::string state_file = resume.enabled() ? resume.path() : std::string();
    if (resume.enabled()) {
      resume.prepare();
      if (fs::exists(state_file)) {
        auto meta = nn::read_safetensors_metadata(state_file);
        examples::check_resume_config(state_file, meta, resume_cfg);
        const nn::TrainingState<float> st = nn::load_training_state<float>(state_file, model, opt);
        const auto& mt = st.metadata;
        const int done = static_cast<int>(examples::meta_int(mt, "epoch", state_file));
        std::map<std::string, std::string> sched_state;
        for (const auto& [k, v] : mt)
          if (k.rfind("sched.", 0) == 0) sched_state[k.substr(6)] = v;
        sched.load_state(sched_state);
        const json ord = json::parse(examples::meta_at(mt, "order", state_file));
        if (ord.size() != order.size()) throw nn::StateMismatchError("order", "'" + state_file + "': order has another length");
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = ord[i].get<std::size_t>();
        step = examples::meta_int(mt, "step", state_file);
        history = json::parse(examples::meta_at(mt, "history", state_file));
        best_val = examples::meta_double(mt, "best_val", state_file);
        test_at_best = examples::meta_double(mt, "test_at_best", state_file);
        train_at_best = examples::meta_double(mt, "train_at_best", state_file);
        best_epoch = static_cast<int>(examples::meta_int(mt, "best_epoch", state_file));
        best_test_pred = examples::parse_exact_list(examples::meta_at(mt, "best_test_pred", state_file), "best_test_pred");
        epochs_run = static_cast<int>(examples::meta_int(mt, "epochs_run", state_file));
        stop_reason = examples::meta_at(mt, "stop_reason", state_file);
        seconds_before = examples::meta_double(mt, "seconds", state_file);
        {
          HeapScope heap;
          for (const auto& [name, v] : model.named_parameters()) {
            auto it = st.extra.find("best/" + name);
            if (it == st.extra.end()) break;  // none saved (no improvement yet, or --final-eval-samples 0)
            best_params.push_back(it->second.clone());
          }
        }
        first_ep = stop_reason == "epochs" ? done + 1 : epochs + 1;
        std::cout << "resuming from " << state_file << " after epoch " << done
                  << (stop_reason == "epochs" ? std::string() : " (training had stopped: " + stop_reason + ")") << std::endl;
      } else {
        std::cout << "no " << state_file << " yet: starting fresh" << std::endl;
      }
    }
    for (int ep = first_ep; ep <= epochs; ++ep) {
      const auto te = std::chrono::steady_clock::now();
      CounterRng shuf = rng.split(static_cast<std::uint64_t>(ep));
      for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuf.next_below(i)]);
      double sum_abs = 0;
      for (std::size_t s = 0; s < order.size(); s += static_cast<std::size_t>(batch)) {
        ArenaScope scope;
        std::vector<const PropertyGraph*> bg;
        std::vector<float> yt;
        for (std::size_t k = s; k < std::min(order.size(), s + static_cast<std::size_t>(batch)); ++k) {
          bg.push_back(&train.graphs[order[k]]);
          yt.push_back(static_cast<float>(train.y[order[k]]));
        }
        const auto b = make_batch<float>(bg, cfg.num_node_types, cfg.num_edge_types, cfg.readout);
        const auto noise = model.draw_noise(b, CounterRng(seed, 0x6B1ull).split(static_cast<std::uint64_t>(step++)));
        const auto out = model.forward(b, noise);
        const Var<float> target_v(Tensor<float>::from(Shape{static_cast<std::int64_t>(yt.size())}, yt), false);
        const Var<float> loss = mean(abs(sub(out.prediction, target_v)));  // L1 (MAE)
        sum_abs += static_cast<double>(loss.item()) * static_cast<double>(yt.size());
        opt.zero_grad();
        backward(loss);
        {  // divergence check before clipping and the step (reads values only)
          const std::vector<std::pair<std::string, double>> tv{{"l1", static_cast<double>(loss.item())}};
          divergence.epoch = ep;
          divergence.step = step;  // 1-based: `step` was advanced when this step's noise was drawn
          if (examples::diverged(tv, opt.params(), divergence)) {
            run_diverged = true;
            break;
          }
        }
        if (clip > 0) nn::clip_grad_norm(opt.params(), static_cast<float>(clip));
        opt.step();
      }
      if (run_diverged) {  // the parameters are those of the last finite step; the best-val epoch is kept
        divergence.report("zinc_regression");
        stop_reason = "diverged";
        break;
      }
      const double train_mae = sum_abs / static_cast<double>(order.size());
      const double train_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - te).count();
      const Eval ev = evaluate(model, val_b, val.y), et = evaluate(model, test_b, test.y);
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - te).count();
      if (!std::isfinite(ev.mae)) {  // the last update blew the parameters up (the schedule would throw on NaN)
        divergence.epoch = ep;
        divergence.step = step;
        divergence.term = "val_mae";
        divergence.what = "validation MAE is " + nn::finite_str(ev.mae) + " after the update";
        run_diverged = true;
        divergence.report("zinc_regression");
        stop_reason = "diverged";
        break;
      }
      const nn::PlateauStep ps = sched.update(ev.mae);
      const bool improved = ps.improved;
      if (improved) {
        best_val = ev.mae;
        test_at_best = et.mae;
        train_at_best = train_mae;
        best_epoch = ep;
        best_test_pred = et.pred;
        if (final_eval_samples > 0) {
          best_params.clear();
          HeapScope heap;
          for (const auto& p : model.parameters()) best_params.push_back(p.value().clone());
        }
      } else if (ps.reduced) {
        const auto nl = static_cast<float>(sched.lr());
        std::cout << "  lr " << fmt(opt.lr(), 3) << " -> " << fmt(nl, 3) << "\n";
        opt.set_lr(nl);
      }
      history.push_back({{"epoch", ep}, {"train_mae", train_mae}, {"val_mae", ev.mae}, {"test_mae", et.mae},
                         {"lr", opt.lr()}, {"seconds", sec}, {"train_seconds", train_sec}});
      if (ep % log_every == 0 || ep == epochs || ep == 1) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << "epoch " << ep << "/" << epochs << "  train MAE " << fmt(train_mae) << "  val " << fmt(ev.mae) << "  test "
                  << fmt(et.mae) << (improved ? " *" : "  ") << "  lr " << fmt(opt.lr(), 3) << "  " << fmt(sec, 3)
                  << " s/epoch (train " << fmt(train_sec, 3) << ")  ETA " << fmt(elapsed / (ep - first_ep + 1) * (epochs - ep), 3) << " s"
                  << std::endl;
      }
      epochs_run = ep;
      const double minutes = (seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) / 60.0;
      bool stop = false;
      if (stop_at_min_lr && ps.stop) {
        stop_reason = "plateau at --min-lr";
        std::cout << "stopping after epoch " << ep << ": no val improvement for " << patience << " epochs at the minimum lr\n";
        stop = true;
      } else if (max_minutes > 0 && minutes >= max_minutes && ep < epochs) {
        stop_reason = "--max-minutes";
        std::cout << "stopping after epoch " << ep << ": --max-minutes " << max_minutes << " reached\n";
        stop = true;
      }
      if (resume.due(ep, epochs) || (stop && resume.enabled())) {  // the complete state after this epoch, atomically
        std::map<std::string, std::string> meta{
            {"config", resume_cfg.dump()},
            {"epoch", std::to_string(ep)},
            {"step", std::to_string(step)},
            {"order", json(order).dump()},
            {"history", history.dump()},
            {"best_val", nn::format_exact(best_val)},
            {"test_at_best", nn::format_exact(test_at_best)},
            {"train_at_best", nn::format_exact(train_at_best)},
            {"best_epoch", std::to_string(best_epoch)},
            {"best_test_pred", examples::exact_list(best_test_pred)},
            {"epochs_run", std::to_string(epochs_run)},
            {"stop_reason", stop_reason},
            {"seconds", nn::format_exact(seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count())}};
        for (const auto& [k, v] : sched.state()) meta["sched." + k] = v;
        std::vector<std::pair<std::string, Tensor<float>>> extra;
        const auto named = model.named_parameters();
        for (std::size_t i = 0; i < named.size() && i < best_params.size(); ++i) extra.emplace_back("best/" + named[i].first, best_params[i]);
        nn::save_training_state<float>(state_file, model, opt, meta, extra);
        std::cout << "checkpoint: epoch " << ep << " -> " << state_file << std::endl;
      }
      if (stop) break;
    }
    const double total = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "best epoch " << best_epoch << ": val MAE " << fmt(best_val) << ", test MAE " << fmt(test_at_best)
              << "  (training " << fmt(total, 4) << " s, " << epochs_run << " epochs, "
              << fmt(epochs_run > 0 ? total / epochs_run : 0, 3) << " s/epoch)\n";
    json sampled_eval = nullptr;
    if (final_eval_samples > 0 && !best_params.empty()) {
      auto ps = model.parameters();
      for (std::size_t i = 0; i < ps.size(); ++i) ps[i].value().copy_from(best_params[i]);
      const auto ts = std::chrono::steady_clock::now();
      const Eval rv = evaluate(model, val_b, val.y), rt = evaluate(model, test_b, test.y);  // argmax again
      const CounterRng er(seed, 0xE7A1ull);
      const Eval sv = evaluate_sampled(model, val_b, val.y, final_eval_samples, er.split(1)),
                 st = evaluate_sampled(model, test_b, test.y, final_eval_samples, er.split(2));
      const Eval s1v = evaluate_sampled(model, val_b, val.y, 1, er.split(3)),
                 s1t = evaluate_sampled(model, test_b, test.y, 1, er.split(4));
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
      std::cout << "best-val parameters, clustering at evaluation: argmax val " << fmt(rv.mae) << " test " << fmt(rt.mae)
                << " | one Gumbel sample val " << fmt(s1v.mae) << " test " << fmt(s1t.mae) << " | mean of "
                << final_eval_samples << " samples val " << fmt(sv.mae) << " test " << fmt(st.mae) << "  (" << fmt(sec, 3)
                << " s)\n";
      sampled_eval = {{"samples", final_eval_samples},
                      {"argmax", {{"val_mae", rv.mae}, {"test_mae", rt.mae}}},
                      {"one_sample", {{"val_mae", s1v.mae}, {"test_mae", s1t.mae}}},
                      {"mean_of_samples", {{"val_mae", sv.mae}, {"test_mae", st.mae}}},
                      {"note", "selection (epoch, lr schedule) used the argmax; these re-evaluate the best-val parameters"}};
    }

    // ---- outputs ----------------------------------------------------------------------------
    fs::create_directories(out_dir);
    json m;
    m["task"] = "ZINC-12k supervised regression (paper App. D.4, Table 3 bottom)";
    m["data"] = {{"dir", data_dir},
                 {"split", split_kind},
                 {"target", target},
                 {"overlapping_splits", split_kind == "zinc12k_mgvae"},
                 {"train", train.graphs.size()},
                 {"val", val.graphs.size()},
                 {"test", test.graphs.size()},
                 {"skipped", {{"train", train.skipped.size()}, {"val", val.skipped.size()}, {"test", test.skipped.size()}}},
                 {"limit", limit},
                 {"train_target_mean", ymean},
                 {"train_target_std", ystd},
                 {"constant_median_mae", {{"val", const_mae(val)}, {"test", const_mae(test)}}}};
    m["config"] = {{"epochs", epochs},           {"seed", seed},
                   {"threads", threads},         {"hidden", hidden},
                   {"levels", levels},           {"clusters", clusters},
                   {"clusters_per_level", cfg.cluster_counts()},
                   {"layers", layers},           {"coarse_layers", coarse_layers},
                   {"edge_types", cfg.use_edge_types},
                   {"node_features", rwse > 0 ? "one-hot atom type (AtomVocab::zinc, 17 types) + random-walk encoding"
                                              : "one-hot atom type (AtomVocab::zinc, 17 types)"},
                   {"rwse_steps", rwse},
                   {"readout", readout},         {"batch", batch},
                   {"optimizer", "adam"},        {"lr", lr},
                   {"lr_factor", lr_factor},     {"patience", patience},
                   {"min_lr", min_lr},           {"clip", clip},
                   {"max_minutes", max_minutes}, {"stop_at_min_lr", stop_at_min_lr},
                   {"loss", "L1"},               {"clustering", "learned, Gumbel straight-through (train), argmax (eval)"},
                   {"parameters", model.num_parameters()}};
    m["result"] = {{"best_epoch", best_epoch},
                   {"val_mae", best_val},
                   {"test_mae", test_at_best},
                   {"train_mae_at_best", train_at_best},
                   {"final_test_mae", history.empty() ? 0.0 : history.back()["test_mae"].get<double>()},
                   {"epochs_run", epochs_run},
                   {"stop_reason", stop_reason},
                   {"seconds", total},
                   {"seconds_per_epoch", epochs_run > 0 ? total / epochs_run : 0.0}};
    m["result"]["eval_clustering"] = sampled_eval;
    m["config"]["final_eval_samples"] = final_eval_samples;
    m["history"] = history;
    if (run_diverged) m["diverged"] = divergence.to_json();
    write_atomic(fs::path(out_dir) / "metrics.json", m.dump(2) + "\n");
    if (!best_test_pred.empty())
      write_atomic(fs::path(out_dir) / "parity.svg",
                   parity_svg(test.y, best_test_pred, "MGN, " + split_kind + " test set, " + target,
                              "test MAE " + fmt(test_at_best, 4) + " at best-val epoch " + std::to_string(best_epoch) +
                                  ", seed " + std::to_string(seed) + ", " + std::to_string(test.y.size()) + " molecules"));
    std::cout << "wrote " << (fs::path(out_dir) / "metrics.json").string() << " and parity.svg\n";
    if (run_diverged) return examples::kExitDiverged;
  } catch (const DivergenceError& e) {
    std::cerr << "zinc_regression: diverged: " << e.what() << "\n";
    return examples::kExitDiverged;
  } catch (const ParseError& e) {
    std::cerr << "data error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
