// Unsupervised QM9 property prediction with MGVAE features (paper §5.2, App. D.3, Table 3 top):
//   1. train the all-at-once second-order MGVAE (models/molgen) to reconstruct the adjacency (bond
//      classes), the coarsened adjacencies and the one-hot atom types (no chemical features) on a
//      random subset of the training split;
//   2. encode every molecule of the train and test split files: feature = mean over atoms of the
//      finest-level posterior mean μ (an S_n-invariant vector of size --latent);
//   3. per target, fit an MLP (2 hidden layers of 512, sigmoid) on 90 % of the training split,
//      select the epoch on the other 10 % (validation), report the test MAE in standardised and in
//      physical units (× the standard deviation of the paper's Table 9).
//
//   qm9_properties [--data DIR] [--train-size N] [--vae-epochs E] [--mlp-epochs E] [--latent D]
//                  [--targets alpha,Cv,...] [--seed S] [--threads T] [--out DIR]
//                  [--time-budget-min M] [--features FILE]
//
// Writes OUT/metrics.json, OUT/parity.svg, OUT/features.bin (the cached features; rerun the MLPs
// with --features OUT/features.bin) and OUT/vae.safetensors. See docs/qm9_properties.md.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mgvae/core/arena.hpp"
#include "mgvae/data/molecules/qm9.hpp"
#include "mgvae/data/molecules/smiles.hpp"
#include "mgvae/models/molgen/molgen.hpp"
#include "common/property/qm9_features.hpp"
#include "mgvae/nn/checkpoint.hpp"
#include "mgvae/nn/optim.hpp"
#include "../common/divergence.hpp"
#include "../common/example_util.hpp"
#include "../common/resume.hpp"

using namespace mgvae;
using namespace mgvae::models::property;
using molgen::MolBatch;
using molgen::MolEpochSums;
using molgen::MolecularGraph;
using mgvae::examples::class_weights;
using mgvae::examples::Clock;
using mgvae::examples::fmt_fixed;
using mgvae::examples::hms;
using mgvae::examples::seconds_since;
using mgvae::examples::write_atomic;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ','))
    if (!tok.empty()) out.push_back(tok);
  return out;
}

// ---- feature cache: "MGVAEQ9F" | int64 rows | int64 dim | rows × (int64 row, dim × float32) ----
constexpr char kMagic[8] = {'M', 'G', 'V', 'A', 'E', 'Q', '9', 'F'};

void save_features(const fs::path& path, const std::vector<std::int64_t>& rows, const Tensor<float>& f) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary);
    if (!o) throw std::runtime_error("cannot write " + tmp.string());
    const std::int64_t n = static_cast<std::int64_t>(rows.size()), d = f.size(1);
    o.write(kMagic, 8);
    o.write(reinterpret_cast<const char*>(&n), 8);
    o.write(reinterpret_cast<const char*>(&d), 8);
    for (std::int64_t i = 0; i < n; ++i) {
      o.write(reinterpret_cast<const char*>(&rows[static_cast<std::size_t>(i)]), 8);
      o.write(reinterpret_cast<const char*>(f.data() + i * d), static_cast<std::streamsize>(d * sizeof(float)));
    }
    if (!o) throw std::runtime_error("write failed: " + tmp.string());
  }
  fs::rename(tmp, path);
}

/// @throw ParseError (file, 0) for a missing, truncated or foreign file.
void load_features(const std::string& path, std::vector<std::int64_t>& rows, Tensor<float>& f) {
  std::ifstream in(path, std::ios::binary);
  if (!in || is_directory_path(path)) throw open_error(path, "cannot open feature cache");
  char magic[8];
  std::int64_t n = 0, d = 0;
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(&n), 8);
  in.read(reinterpret_cast<char*>(&d), 8);
  if (!in || !std::equal(magic, magic + 8, kMagic) || n < 0 || d <= 0)
    throw ParseError(path, 0, "not a qm9_properties feature cache (bad header)");
  rows.resize(static_cast<std::size_t>(n));
  f = Tensor<float>(Shape{n, d});
  for (std::int64_t i = 0; i < n; ++i) {
    in.read(reinterpret_cast<char*>(&rows[static_cast<std::size_t>(i)]), 8);
    in.read(reinterpret_cast<char*>(f.data() + i * d), static_cast<std::streamsize>(d * sizeof(float)));
  }
  if (!in) throw ParseError(path, 0, "truncated feature cache (header says " + std::to_string(n) + " rows)");
}

/// Class weights w_c ∝ freq_c^(−power), normalised so that Σ_c freq_c w_c = 1 (as the generation trainer).
/// Rows of `f` [N, d] selected by `idx`.
Tensor<float> gather_rows(const Tensor<float>& f, const std::vector<std::int64_t>& idx) {
  const std::int64_t d = f.size(1);
  Tensor<float> out(Shape{static_cast<std::int64_t>(idx.size()), d});
  for (std::size_t i = 0; i < idx.size(); ++i)
    std::copy(f.data() + idx[i] * d, f.data() + (idx[i] + 1) * d, out.data() + static_cast<std::int64_t>(i) * d);
  return out;
}

struct Panel {
  std::string title;
  std::vector<double> y, p;  // standardised
};

/// A grid of parity plots (predicted vs true, standardised units), up to `max_points` points each.
std::string parity_grid_svg(const std::vector<Panel>& panels, const std::string& title, std::size_t max_points) {
  const int cols = std::min<int>(5, static_cast<int>(std::max<std::size_t>(1, panels.size())));
  const int rows = (static_cast<int>(panels.size()) + cols - 1) / cols;
  const double pw = 190, ph = 200, top = 40, pad = 28;
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << cols * pw << "\" height=\"" << top + rows * ph
    << "\" font-family=\"sans-serif\" font-size=\"10\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << cols * pw / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">" << title << "</text>\n";
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const Panel& P = panels[k];
    const double x0 = static_cast<double>(k % static_cast<std::size_t>(cols)) * pw + pad,
                 y0 = top + static_cast<double>(k / static_cast<std::size_t>(cols)) * ph + 18;
    const double w = pw - pad - 8, h = ph - 18 - pad;
    // range: 0.5 % .. 99.5 % quantiles of the true values (outliers are clamped to the border)
    std::vector<double> s = P.y;
    std::sort(s.begin(), s.end());
    double lo = s.empty() ? -1 : s[static_cast<std::size_t>(0.005 * static_cast<double>(s.size()))];
    double hi = s.empty() ? 1 : s[static_cast<std::size_t>(0.995 * static_cast<double>(s.size() - 1))];
    const double m = 0.1 * (hi - lo + 1e-9);
    lo -= m;
    hi += m;
    auto sx = [&](double v) { return x0 + (std::clamp(v, lo, hi) - lo) / (hi - lo) * w; };
    auto sy = [&](double v) { return y0 + h - (std::clamp(v, lo, hi) - lo) / (hi - lo) * h; };
    o << "<text x=\"" << x0 + w / 2 << "\" y=\"" << y0 - 5 << "\" text-anchor=\"middle\">" << P.title << "</text>\n";
    o << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << w << "\" height=\"" << h
      << "\" fill=\"none\" stroke=\"black\"/>\n";
    o << "<line x1=\"" << sx(lo) << "\" y1=\"" << sy(lo) << "\" x2=\"" << sx(hi) << "\" y2=\"" << sy(hi)
      << "\" stroke=\"#d33\" stroke-dasharray=\"3 2\"/>\n";
    o << "<text x=\"" << x0 << "\" y=\"" << y0 + h + 11 << "\">" << fmt_fixed(lo, 1) << "</text><text x=\"" << x0 + w
      << "\" y=\"" << y0 + h + 11 << "\" text-anchor=\"end\">" << fmt_fixed(hi, 1) << "</text>\n";
    o << "<g fill=\"#1f5fa8\" fill-opacity=\"0.35\">";
    const std::size_t stride = std::max<std::size_t>(1, P.y.size() / std::max<std::size_t>(1, max_points));
    for (std::size_t i = 0; i < P.y.size(); i += stride)
      o << "<circle cx=\"" << sx(P.y[i]) << "\" cy=\"" << sy(P.p[i]) << "\" r=\"1.6\"/>";
    o << "</g>\n";
  }
  o << "<text x=\"" << cols * pw / 2 << "\" y=\"" << top + rows * ph - 4
    << "\" text-anchor=\"middle\">x: true, y: predicted (standardised units; dashed: y = x)</text>\n</svg>\n";
  return o.str();
}

}  // namespace

int main(int argc, char** argv) try {
  mgvae::examples::flush_progress_output();
  CLI::App app{"Unsupervised MGVAE features + MLP: QM9 property prediction (paper Table 3 top, App. D.3)"};
  app.option_defaults()->always_capture_default();  // --help shows each option's default
  std::string data_dir = data::molecule_data_dir() + "/qm9", out_dir = "out/qm9_properties", split = "10",
              targets_arg = "all", features_in, levels = "4,2,1", loss_name = "l1";
  std::int64_t max_rows = 0, train_size = 10000, latent = 256, hidden = 32, coarse_hidden = 16, mlp_hidden = 512, mlp_batch = 128,
               enc_chunk = 256;
  int vae_epochs = 4, mlp_epochs = 30, vae_batch = 32, threads = 1, enc_layers = 3, dec_layers = 3, patience = 3;
  double vae_lr = 1e-3, mlp_lr = 1e-3, beta = 0.1, kl_warmup = 1, lambda_coarse = 0.1, lambda_balance = 0.1,
         bond_power = 0.5, clip = 10.0, val_fraction = 0.1, time_budget_min = 0, vae_share = 0.4;
  std::uint64_t seed = 1;
  app.add_option("--data", data_dir, "QM9 directory (SMILES, targets/, splits/)");
  app.add_option("--split", split, "split files splits/<p>.{train,test}.index (p = test percentage; paper: 10)");
  app.add_option("--train-size", train_size,
                 "molecules of the training split the VAE is trained on (random subset; paper: the whole split)")
      ->check(CLI::PositiveNumber);
  app.add_option("--vae-epochs", vae_epochs, "VAE training epochs")->check(CLI::NonNegativeNumber);
  app.add_option("--vae-batch", vae_batch, "molecules per VAE step")->check(CLI::PositiveNumber);
  app.add_option("--vae-lr", vae_lr, "VAE Adam learning rate (paper: 1e-3)")->check(CLI::PositiveNumber);
  app.add_option("--latent", latent, "latent size d per atom = feature size (paper: 256)")->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "channels of the second-order encoder/decoder layers")->check(CLI::PositiveNumber);
  app.add_option("--coarse-hidden", coarse_hidden, "channels of the coarse levels")->check(CLI::PositiveNumber);
  app.add_option("--enc-layers", enc_layers, "second-order encoder layers")->check(CLI::PositiveNumber);
  app.add_option("--dec-layers", dec_layers, "second-order decoder layers")->check(CLI::NonNegativeNumber);
  app.add_option("--levels", levels, "clusters K per coarse level, finest first (paper L = 3: 4,2,1); 'none'");
  app.add_option("--beta", beta, "KL weight");
  app.add_option("--kl-warmup", kl_warmup, "epochs of linear KL warm-up (0 = off)")->check(CLI::NonNegativeNumber);
  app.add_option("--lambda-coarse", lambda_coarse, "weight of the coarse reconstruction + KL terms");
  app.add_option("--lambda-balance", lambda_balance, "weight of the balanced-cut KL");
  app.add_option("--bond-weight-power", bond_power, "pair-class weights ∝ frequency^-p (0 none, 0.5 sqrt)");
  app.add_option("--clip", clip, "VAE gradient-norm clipping (0 = off)");
  app.add_option("--mlp-epochs", mlp_epochs, "MLP epochs per target")->check(CLI::NonNegativeNumber);
  app.add_option("--mlp-batch", mlp_batch, "MLP mini-batch")->check(CLI::PositiveNumber);
  app.add_option("--mlp-lr", mlp_lr, "MLP Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--mlp-hidden", mlp_hidden, "MLP hidden width (paper: 512)")->check(CLI::PositiveNumber);
  app.add_option("--loss", loss_name, "MLP loss: l1 (as the authors' code) or mse")->check(CLI::IsMember({"l1", "mse"}));
  app.add_option("--patience", patience, "halve the MLP learning rate after this many epochs without a better val MAE")
      ->check(CLI::PositiveNumber);
  app.add_option("--val-fraction", val_fraction, "fraction of the training split held out for MLP model selection")
      ->check(CLI::Range(0.01, 0.5));
  app.add_option("--targets", targets_arg, "comma-separated subset of alpha,Cv,G,gap,H,HOMO,LUMO,mu,omega1,R2,U,U0,ZPVE (all)");
  app.add_option("--seed", seed, "seed (VAE subset, initialisation, noise, validation split, MLPs)");
  app.add_option("--threads", threads, "OpenMP threads")->check(CLI::PositiveNumber);
  app.add_option("--out", out_dir, "output directory");
  app.add_option("--time-budget-min", time_budget_min,
                 "wall-clock budget in minutes (0 = none): VAE training stops after --vae-share of it, the time left "
                 "after encoding is shared equally by the MLPs")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--vae-share", vae_share, "fraction of --time-budget-min for VAE training")->check(CLI::Range(0.0, 1.0));
  app.add_option("--features", features_in, "load features from this cache (written as OUT/features.bin) and skip the VAE");
  app.add_option("--max-rows", max_rows, "smoke tests: keep only the first N rows of each split file (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--encode-chunk", enc_chunk, "molecules per encoder call")->check(CLI::PositiveNumber);
  examples::ResumeOptions resume;
  examples::add_resume_options(app, resume);
  app.footer(examples::kDivergenceHelp);
  CLI11_PARSE(app, argc, argv);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  Eigen::setNbThreads(1);
  const auto t_all = Clock::now();
  const double budget_s = 60.0 * time_budget_min;

  // ---- --resume: DIR/train_state.safetensors holds either the VAE's training state after a VAE epoch
  // (phase "vae": parameters, Adam, shuffled order and shuffle-stream position, history, stop flag;
  // noise is keyed by (seed, epoch, step), beta by the step) or, after a property-MLP epoch (phase
  // "mlp"), that MLP's parameters and Adam state, its fit state (epoch, order, shuffle position,
  // learning rate, epochs since the best, best-epoch parameters and histories), the finished targets'
  // results and test predictions, and the trained VAE's parameters (the features are re-encoded).
  const std::string state_file = resume.enabled() ? resume.path() : std::string();
  json resume_cfg = examples::cli_config(app, {"--out"});
  resume_cfg["trainer"] = "qm9_properties";
  std::map<std::string, std::string> rmeta;  // metadata of the state resumed from (empty: fresh start)
  std::string rphase;
  double elapsed_before = 0;  // wall-clock seconds of the runs before this one (the time budget)
  if (resume.enabled()) {
    resume.prepare();
    if (fs::exists(state_file)) {
      rmeta = nn::read_safetensors_metadata(state_file);
      examples::check_resume_config(state_file, rmeta, resume_cfg);
      rphase = examples::meta_at(rmeta, "phase", state_file);
      if (rphase != "vae" && rphase != "mlp") throw nn::StateMismatchError("phase", "'" + state_file + "': unknown phase " + rphase);
      elapsed_before = examples::meta_double(rmeta, "elapsed_seconds", state_file);
    } else {
      std::cout << "no " << state_file << " yet: starting fresh" << std::endl;
    }
  }
  auto elapsed = [&] { return elapsed_before + seconds_since(t_all); };
  std::vector<std::pair<std::string, Tensor<float>>> vae_extra;  // the trained VAE's parameters (phase "mlp" states)
  std::map<std::string, std::string> vae_meta;                   // its history etc. (phase "mlp" states)

  if (!fs::is_directory(data_dir))
    throw ParseError(data_dir, 0, "QM9 data directory not found (pass --data DIR or set MGVAE_DATA_DIR)");
  fs::create_directories(out_dir);

  // ---- targets and splits ------------------------------------------------------------------------
  std::vector<std::string> targets;
  if (targets_arg == "all") {
    for (const auto& r : qm9_table9()) targets.push_back(r.name);
  } else {
    targets = split_csv(targets_arg);
    for (const auto& t : targets) (void)qm9_target_info(t);  // unknown name -> std::invalid_argument
  }
  const std::string smiles_path = (fs::path(data_dir) / "SMILES").string();
  const auto all_smiles = data::read_qm9_smiles(smiles_path);
  const std::int64_t R = static_cast<std::int64_t>(all_smiles.size());
  std::vector<std::vector<double>> y_all;
  for (const auto& t : targets) y_all.push_back(data::read_qm9_target((fs::path(data_dir) / "targets" / t).string(), R));
  const std::string train_path = (fs::path(data_dir) / "splits" / (split + ".train.index")).string(),
                    test_path = (fs::path(data_dir) / "splits" / (split + ".test.index")).string();
  auto train_rows = data::read_qm9_split(train_path, R), test_rows = data::read_qm9_split(test_path, R);
  if (max_rows > 0) {
    train_rows.resize(std::min<std::size_t>(train_rows.size(), static_cast<std::size_t>(max_rows)));
    test_rows.resize(std::min<std::size_t>(test_rows.size(), static_cast<std::size_t>(max_rows)));
  }
  {
    std::vector<char> in_train(static_cast<std::size_t>(R), 0);
    for (auto r : train_rows) in_train[static_cast<std::size_t>(r)] = 1;
    for (std::size_t i = 0; i < test_rows.size(); ++i)
      if (in_train[static_cast<std::size_t>(test_rows[i])])
        throw ParseError(test_path, static_cast<std::int64_t>(i) + 2,
                         "row " + std::to_string(test_rows[i]) + " is also in " + train_path);
  }
  std::cout << "QM9: " << R << " molecules; split " << split << ": train " << train_rows.size() << ", test "
            << test_rows.size() << "; targets";
  for (const auto& t : targets) std::cout << " " << t;
  std::cout << std::endl;

  // ---- features: VAE training + encoding, or the cache --------------------------------------------
  std::vector<std::int64_t> feat_rows;  // QM9 row of every feature row
  Tensor<float> feats;
  json vae_json = nullptr;
  double vae_seconds_per_epoch = 0, encode_seconds = 0;
  const data::AtomVocab vocab = data::AtomVocab::qm9_with_charges();
  if (!features_in.empty()) {
    load_features(features_in, feat_rows, feats);
    std::cout << "loaded " << feat_rows.size() << " feature rows of size " << feats.size(1) << " from " << features_in
              << std::endl;
    vae_json = {{"loaded_features", features_in}};
  } else {
    // graphs of every train/test molecule (the 8-species vocabulary keeps QM9's zwitterions)
    const auto t_conv = Clock::now();
    std::vector<std::int64_t> want(train_rows);
    want.insert(want.end(), test_rows.begin(), test_rows.end());
    std::vector<MolecularGraph> graphs;
    std::vector<std::string> skipped;
    graphs.reserve(want.size());
    for (std::size_t k = 0; k < want.size(); ++k) {
      std::string why;
      auto g = data::smiles_to_graph(all_smiles[static_cast<std::size_t>(want[k])], vocab, 9, false, &why);
      if (!g) {
        skipped.push_back(std::to_string(want[k]) + ": " + why);
        continue;
      }
      MolecularGraph m;
      m.n = g->n;
      m.atom_type = g->atom_type;
      m.bonds = g->bonds;
      graphs.push_back(std::move(m));
      feat_rows.push_back(want[k]);
    }
    std::cout << "converted " << graphs.size() << " molecules in " << fmt_fixed(seconds_since(t_conv), 1) << " s; skipped "
              << skipped.size() << std::endl;
    for (std::size_t i = 0; i < std::min<std::size_t>(5, skipped.size()); ++i) std::cout << "  skipped " << skipped[i] << "\n";
    const std::int64_t n_train_graphs = [&] {
      std::int64_t c = 0;
      std::vector<char> in_train(static_cast<std::size_t>(R), 0);
      for (auto r : train_rows) in_train[static_cast<std::size_t>(r)] = 1;
      for (auto r : feat_rows) c += in_train[static_cast<std::size_t>(r)];
      return c;
    }();

    // VAE training subset: a seeded random draw from the converted training molecules
    std::vector<std::size_t> pool(static_cast<std::size_t>(n_train_graphs));
    std::iota(pool.begin(), pool.end(), 0);  // train rows come first in `graphs`
    CounterRng sh(seed, 0x5348);
    for (std::size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[sh.next_below(i)]);
    pool.resize(std::min<std::size_t>(pool.size(), static_cast<std::size_t>(train_size)));
    const std::int64_t T_ = static_cast<std::int64_t>(pool.size());
    if (T_ == 0) throw std::runtime_error("no training molecules for the VAE");

    const std::int64_t F = vocab.size(), E = 3;
    std::vector<double> bond_counts(static_cast<std::size_t>(E + 1), 0.0);
    for (auto i : pool) {
      const auto& g = graphs[i];
      bond_counts[0] += static_cast<double>(g.n * (g.n - 1) / 2 - static_cast<std::int64_t>(g.bonds.size()));
      for (const auto& b : g.bonds) bond_counts[static_cast<std::size_t>(std::get<2>(b) + 1)] += 1;
    }
    molgen::MolGenConfig cfg;
    cfg.atom_types = F;
    cfg.bond_types = E;
    cfg.hidden = hidden;
    cfg.latent = latent;
    cfg.enc_layers = enc_layers;
    cfg.dec_layers = dec_layers;
    cfg.coarse_hidden = coarse_hidden;
    cfg.clusters.clear();
    if (levels != "none")
      for (const auto& k : split_csv(levels)) cfg.clusters.push_back(std::stoll(k));
    cfg.prior = molgen::PriorKind::Standard;
    cfg.beta = beta;
    cfg.lambda_coarse = lambda_coarse;
    cfg.lambda_balance = lambda_balance;
    cfg.bond_weight = class_weights(bond_counts, bond_power);
    cfg.seed = seed;
    molgen::MolGenModel<float> model(cfg);
    std::cout << "VAE: " << model.num_parameters() << " parameters, latent " << latent << ", levels " << levels
              << ", training on " << T_ << " molecules of the training split" << std::endl;

    nn::Adam<float> opt(model.parameters(), static_cast<float>(vae_lr));
    examples::CheckedOptimizer<nn::Adam<float>, float> checked{opt, model.parameters(), {}};  // drops a non-finite step
    examples::Divergence divergence;
    std::vector<std::size_t> order(pool);
    CounterRng shuf(seed, 0x7368);
    json history = json::array();
    std::vector<double> epoch_seconds;
    const auto t_train = Clock::now();
    const std::int64_t steps_per_epoch = (T_ + vae_batch - 1) / vae_batch;
    bool stop = false;
    int first_ep = 0;
    double train_seconds_before = 0;
    if (rphase == "vae") {
      const auto st = nn::load_training_state<float>(state_file, model, opt);
      const auto& mt = st.metadata;
      first_ep = static_cast<int>(examples::meta_int(mt, "epoch", state_file));
      const json ord = json::parse(examples::meta_at(mt, "order", state_file));
      if (ord.size() != order.size()) throw nn::StateMismatchError("order", "'" + state_file + "': order has another length");
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = ord[i].get<std::size_t>();
      shuf.set_position(static_cast<std::uint64_t>(examples::meta_int(mt, "shuffle_position", state_file)));
      stop = examples::meta_at(mt, "stopped", state_file) == "1";
    } else if (rphase == "mlp") {  // the VAE is trained: its parameters, then re-encode
      const auto ts = nn::load_safetensors<float>(state_file);
      std::map<std::string, const Tensor<float>*> by_name;
      for (const auto& [n, t] : ts) by_name[n] = &t;
      NoGradGuard ng;
      for (const auto& [n, v] : model.named_parameters()) {
        auto it = by_name.find("extra/vae/" + n);
        if (it == by_name.end() || it->second->shape() != v.shape())
          throw nn::StateMismatchError("extra/vae/" + n, "'" + state_file + "' lacks VAE parameter '" + n + "' (or its shape differs)");
        v.value().copy_from(*it->second);
      }
      first_ep = vae_epochs;
    }
    if (!rphase.empty()) {
      history = json::parse(examples::meta_at(rmeta, "vae_history", state_file));
      epoch_seconds = examples::parse_exact_list(examples::meta_at(rmeta, "vae_epoch_seconds", state_file), "vae_epoch_seconds");
      train_seconds_before = examples::meta_double(rmeta, "vae_train_seconds", state_file);
      std::cout << "resuming from " << state_file << (rphase == "vae" ? " after VAE epoch " + std::to_string(first_ep) : " (VAE trained)")
                << (stop ? " (VAE training had stopped)" : "") << std::endl;
    }
    auto vae_state_meta = [&](bool with_train_seconds) {
      std::map<std::string, std::string> m{{"vae_history", history.dump()},
                                           {"vae_epoch_seconds", examples::exact_list(epoch_seconds)}};
      if (with_train_seconds) m["vae_train_seconds"] = nn::format_exact(train_seconds_before + seconds_since(t_train));
      return m;
    };
    for (int ep = first_ep; ep < vae_epochs && !stop; ++ep) {
      const auto t0 = Clock::now();
      for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuf.next_below(i)]);
      MolEpochSums sums;
      std::int64_t step = 0;
      for (std::int64_t start = 0; start < T_; start += vae_batch, ++step) {
        ArenaScope scope;
        std::vector<MolecularGraph> gs;
        for (std::int64_t k = start; k < std::min<std::int64_t>(T_, start + vae_batch); ++k) gs.push_back(graphs[order[k]]);
        if (kl_warmup > 0)
          model.set_beta(beta * std::min(1.0, (ep + static_cast<double>(start) / static_cast<double>(T_)) / kl_warmup));
        const auto f = molgen::train_step(model, checked, gs, F, E, seed, ep, step, clip);
        divergence.epoch = ep + 1;
        divergence.step = static_cast<long long>(ep) * steps_per_epoch + step + 1;
        if (examples::diverged<float>({{"loss", f.loss}, {"bond_ce", f.bond_ce}, {"atom_ce", f.atom_ce}, {"kl", f.kl},
                                       {"coarse_rec", f.coarse_rec}, {"coarse_kl", f.coarse_kl}, {"balance", f.balance}},
                                      checked.bad, divergence)) {
          // no vae.safetensors / features.bin is written (those of an earlier run are kept)
          divergence.report("qm9_properties");
          write_atomic(fs::path(out_dir) / "metrics.json",
                       json{{"diverged", divergence.to_json()}, {"vae", {{"history", history}}}}.dump(2) + "\n");
          return examples::kExitDiverged;
        }
        sums.add(f, static_cast<std::int64_t>(gs.size()));
        if ((step + 1) % 50 == 0) {
          const double el = seconds_since(t0), per = el / static_cast<double>(step + 1);
          const double left = per * static_cast<double>(steps_per_epoch - step - 1) +
                              per * static_cast<double>(steps_per_epoch) * (vae_epochs - ep - 1);
          std::cout << "  vae epoch " << ep + 1 << " step " << step + 1 << "/" << steps_per_epoch << "  loss "
                    << fmt_fixed(sums.mean(sums.loss), 3) << "  " << fmt_fixed(per, 3) << " s/step, ETA VAE "
                    << hms(left) << std::endl;
        }
        if (budget_s > 0 && elapsed() > vae_share * budget_s) {
          std::cout << "  VAE time budget (" << fmt_fixed(vae_share * budget_s / 60, 1) << " min) reached in epoch " << ep + 1
                    << " after " << sums.molecules << " molecules" << std::endl;
          stop = true;
          break;
        }
      }
      const double sec = seconds_since(t0);
      const std::int64_t seen = sums.molecules;
      if (!stop || seen == T_) epoch_seconds.push_back(sec);
      history.push_back({{"epoch", ep + 1},
                         {"molecules", seen},
                         {"complete", seen == T_},
                         {"loss", sums.mean(sums.loss)},
                         {"bond_ce", sums.mean(sums.bond_ce)},
                         {"atom_ce", sums.mean(sums.atom_ce)},
                         {"kl", sums.mean(sums.kl)},
                         {"coarse_rec", sums.mean(sums.coarse_rec)},
                         {"bond_acc", sums.bond_acc()},
                         {"atom_acc", sums.atom_acc()},
                         {"seconds", sec}});
      std::cout << "vae epoch " << ep + 1 << "/" << vae_epochs << "  loss " << fmt_fixed(sums.mean(sums.loss), 3)
                << "  bond " << fmt_fixed(sums.mean(sums.bond_ce), 3) << "  atom " << fmt_fixed(sums.mean(sums.atom_ce), 3)
                << "  kl " << fmt_fixed(sums.mean(sums.kl), 2) << "  coarse " << fmt_fixed(sums.mean(sums.coarse_rec), 3)
                << "  bond_acc " << fmt_fixed(sums.bond_acc(), 3) << "  atom_acc " << fmt_fixed(sums.atom_acc(), 3) << "  "
                << fmt_fixed(sec, 1) << " s" << std::endl;
      if (resume.due(ep + 1, vae_epochs) || (stop && resume.enabled())) {  // the complete state after this epoch, atomically
        auto m = vae_state_meta(true);
        m["config"] = resume_cfg.dump();
        m["phase"] = "vae";
        m["epoch"] = std::to_string(ep + 1);
        m["order"] = json(order).dump();
        m["shuffle_position"] = std::to_string(shuf.position());
        m["stopped"] = stop ? "1" : "0";
        m["elapsed_seconds"] = nn::format_exact(elapsed());
        nn::save_training_state<float>(state_file, model, opt, m);
        std::cout << "checkpoint: vae epoch " << ep + 1 << " -> " << state_file << std::endl;
      }
    }
    const double train_seconds = train_seconds_before + seconds_since(t_train);
    if (resume.enabled()) {
      vae_meta = vae_state_meta(false);
      vae_meta["vae_train_seconds"] = nn::format_exact(train_seconds);
      for (const auto& [n, v] : model.named_parameters()) vae_extra.emplace_back("vae/" + n, v.value().clone());
    }
    if (!epoch_seconds.empty())
      vae_seconds_per_epoch = std::accumulate(epoch_seconds.begin(), epoch_seconds.end(), 0.0) /
                              static_cast<double>(epoch_seconds.size());
    nn::save_checkpoint(model, (fs::path(out_dir) / "vae.safetensors").string(),
                        {{"model", "molgen"}, {"levels", levels}, {"latent", std::to_string(latent)}});

    // encode every converted molecule: node mean of the finest posterior mean μ
    const auto t_enc = Clock::now();
    const std::int64_t G = static_cast<std::int64_t>(graphs.size());
    feats = Tensor<float>(Shape{G, latent});
    for (std::int64_t s = 0, c = 0; s < G; s += enc_chunk, ++c) {
      ArenaScope scope;
      const std::vector<MolecularGraph> gs(graphs.begin() + s, graphs.begin() + std::min(G, s + enc_chunk));
      const auto mb = MolBatch<float>::make(gs, F, E);
      const Tensor<float> f = molgen_mean_features(model, mb);
      std::copy(f.data(), f.data() + f.numel(), feats.data() + s * latent);
      if ((c + 1) % 50 == 0) {
        const double el = seconds_since(t_enc), done = static_cast<double>(s + static_cast<std::int64_t>(gs.size()));
        std::cout << "  encoded " << static_cast<std::int64_t>(done) << "/" << G << ", ETA "
                  << hms(el / done * (static_cast<double>(G) - done)) << std::endl;
      }
    }
    encode_seconds = seconds_since(t_enc);
    std::cout << "encoded " << G << " molecules in " << fmt_fixed(encode_seconds, 1) << " s" << std::endl;
    save_features(fs::path(out_dir) / "features.bin", feat_rows, feats);
    vae_json = {{"train_size", T_},
                {"train_size_requested", train_size},
                {"epochs", vae_epochs},
                {"epochs_completed", static_cast<std::int64_t>(epoch_seconds.size())},
                {"seconds_per_epoch", vae_seconds_per_epoch},
                {"train_seconds", train_seconds},
                {"encode_seconds", encode_seconds},
                {"encoded_molecules", G},
                {"skipped_molecules", skipped.size()},
                {"skipped_examples", std::vector<std::string>(skipped.begin(), skipped.begin() + std::min<std::size_t>(10, skipped.size()))},
                {"parameters", model.num_parameters()},
                {"config",
                 {{"latent", latent}, {"hidden", hidden}, {"coarse_hidden", coarse_hidden}, {"enc_layers", enc_layers},
                  {"dec_layers", dec_layers}, {"levels", levels}, {"prior", "standard N(0, I)"}, {"batch", vae_batch},
                  {"lr", vae_lr}, {"beta", beta}, {"kl_warmup_epochs", kl_warmup}, {"lambda_coarse", lambda_coarse},
                  {"lambda_balance", lambda_balance}, {"bond_weight_power", bond_power}, {"bond_weight", cfg.bond_weight},
                  {"clip", clip}, {"atom_vocabulary", vocab.symbols}}},
                {"history", history}};
  }

  // ---- datasets for the MLPs ----------------------------------------------------------------------
  std::vector<std::int64_t> pos(static_cast<std::size_t>(R), -1);  // QM9 row -> feature row
  for (std::size_t i = 0; i < feat_rows.size(); ++i) {
    if (feat_rows[i] < 0 || feat_rows[i] >= R) throw std::runtime_error("feature cache row out of range");
    pos[static_cast<std::size_t>(feat_rows[i])] = static_cast<std::int64_t>(i);
  }
  std::vector<std::int64_t> tr_rows, te_rows, missing_test;
  for (auto r : train_rows)
    if (pos[static_cast<std::size_t>(r)] >= 0) tr_rows.push_back(r);
  for (auto r : test_rows) {
    if (pos[static_cast<std::size_t>(r)] >= 0) te_rows.push_back(r);
    else missing_test.push_back(r);
  }
  {
    CounterRng vs(seed, 0x76616c);
    for (std::size_t i = tr_rows.size(); i > 1; --i) std::swap(tr_rows[i - 1], tr_rows[vs.next_below(i)]);
  }
  const std::size_t n_val = static_cast<std::size_t>(std::llround(val_fraction * static_cast<double>(tr_rows.size())));
  const std::vector<std::int64_t> va_rows(tr_rows.end() - static_cast<std::ptrdiff_t>(n_val), tr_rows.end());
  tr_rows.resize(tr_rows.size() - n_val);
  auto feature_rows = [&](const std::vector<std::int64_t>& rows) {
    std::vector<std::int64_t> idx;
    for (auto r : rows) idx.push_back(pos[static_cast<std::size_t>(r)]);
    return gather_rows(feats, idx);
  };
  const Tensor<float> Xtr = feature_rows(tr_rows), Xva = feature_rows(va_rows), Xte = feature_rows(te_rows);
  const auto [shift, scale] = feature_standardization(Xtr);
  std::cout << "MLP data: train " << tr_rows.size() << ", val " << va_rows.size() << ", test " << te_rows.size()
            << " (test molecules without features: " << missing_test.size() << ")" << std::endl;
  if (tr_rows.empty() || va_rows.empty() || te_rows.empty()) throw std::runtime_error("an empty MLP split");

  // ---- one MLP per target ------------------------------------------------------------------------
  json per_target = json::object();
  std::vector<Panel> panels;
  std::vector<double> mlp_epoch_seconds;
  int beaten = 0;
  const auto t_mlps = Clock::now();
  std::size_t first_target = 0;  // resumed: targets before it are done, it continues from the state
  std::map<std::string, std::vector<double>> done_pred;  // resumed: test predictions of the finished targets
  if (rphase == "mlp") {
    first_target = static_cast<std::size_t>(examples::meta_int(rmeta, "target", state_file));
    if (first_target >= targets.size()) throw nn::StateMismatchError("target", "'" + state_file + "': target index out of range");
    per_target = json::parse(examples::meta_at(rmeta, "per_target", state_file));
    beaten = static_cast<int>(examples::meta_int(rmeta, "beaten", state_file));
    mlp_epoch_seconds = examples::parse_exact_list(examples::meta_at(rmeta, "mlp_epoch_seconds", state_file), "mlp_epoch_seconds");
    for (const auto& [n, t] : nn::load_safetensors<float>(state_file))
      if (n.rfind("extra/pred/", 0) == 0) {
        std::vector<double> v(static_cast<std::size_t>(t.numel()));
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(t.data()[i]);
        done_pred[n.substr(11)] = std::move(v);
      }
    std::cout << "resuming from " << state_file << " at target " << targets[first_target] << ", MLP epoch "
              << examples::meta_at(rmeta, "mlp_epoch", state_file) << std::endl;
  }
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const auto& info = qm9_target_info(targets[k]);
    auto pick = [&](const std::vector<std::int64_t>& rows) {
      std::vector<double> y;
      for (auto r : rows) y.push_back(y_all[k][static_cast<std::size_t>(r)]);
      return y;
    };
    const auto ytr = pick(tr_rows), yva = pick(va_rows), yte = pick(te_rows);
    if (k < first_target) {  // finished before the state was written
      auto it = done_pred.find(info.name);
      if (it == done_pred.end() || it->second.size() != yte.size() || !per_target.contains(info.name))
        throw nn::StateMismatchError("extra/pred/" + info.name, "'" + state_file + "' lacks the results of target " + info.name);
      panels.push_back({info.name + " (MAE " + fmt_fixed(per_target[info.name]["test_mae_standardised"].get<double>(), 3) + ")", yte,
                        it->second});
      continue;
    }
    PropertyMlpConfig mc;
    mc.in = feats.size(1);
    mc.hidden = mlp_hidden;
    mc.seed = seed * 1000 + k;
    PropertyMLP<float> mlp(mc);
    mlp.set_standardization(shift, scale);
    MlpFitConfig fc;
    fc.epochs = mlp_epochs;
    fc.batch = mlp_batch;
    fc.lr = mlp_lr;
    fc.patience = patience;
    fc.loss = loss_name == "l1" ? RegressionLoss::L1 : RegressionLoss::MSE;
    fc.seed = seed * 1000 + k;
    if (budget_s > 0) fc.time_budget_s = std::max(1.0, (budget_s - elapsed()) / static_cast<double>(targets.size() - k));
    MlpFitHooks<float> hooks;
    if (rphase == "mlp" && k == first_target)
      hooks.begin = [&](MlpFitState<float>& st, nn::Adam<float>& opt) {
        const auto ts = nn::load_training_state<float>(state_file, mlp, opt);
        const auto& mt = ts.metadata;
        fc.time_budget_s = examples::meta_double(mt, "mlp_time_budget_s", state_file);  // fit_property_mlp reads cfg (= fc) after begin
        st.epoch = static_cast<int>(examples::meta_int(mt, "mlp_epoch", state_file));
        st.stopped = examples::meta_at(mt, "mlp_stopped", state_file) == "1";
        const json ord = json::parse(examples::meta_at(mt, "mlp_order", state_file));
        if (ord.size() != st.order.size()) throw nn::StateMismatchError("mlp_order", "'" + state_file + "': order has another length");
        for (std::size_t i = 0; i < st.order.size(); ++i) st.order[i] = ord[i].get<std::int64_t>();
        st.shuffle_position = static_cast<std::uint64_t>(examples::meta_int(mt, "mlp_shuffle_position", state_file));
        st.since_best = static_cast<int>(examples::meta_int(mt, "mlp_since_best", state_file));
        st.lr = examples::meta_double(mt, "mlp_lr", state_file);
        st.spent = examples::meta_double(mt, "mlp_spent", state_file);
        st.res.best_epoch = static_cast<int>(examples::meta_int(mt, "mlp_best_epoch", state_file));
        st.res.epochs_run = static_cast<int>(examples::meta_int(mt, "mlp_epochs_run", state_file));
        st.res.best_val_mae = examples::meta_double(mt, "mlp_best_val_mae", state_file);
        st.res.train_mae_at_best = examples::meta_double(mt, "mlp_train_mae_at_best", state_file);
        st.res.val_history = examples::parse_exact_list(examples::meta_at(mt, "mlp_val_history", state_file), "mlp_val_history");
        st.res.train_history = examples::parse_exact_list(examples::meta_at(mt, "mlp_train_history", state_file), "mlp_train_history");
        st.res.epoch_seconds = examples::parse_exact_list(examples::meta_at(mt, "mlp_fit_epoch_seconds", state_file), "mlp_fit_epoch_seconds");
        const auto named = mlp.named_parameters();
        for (std::size_t i = 0; i < named.size(); ++i) {
          auto it = ts.extra.find("mlp_best/" + named[i].first);
          if (it == ts.extra.end() || it->second.shape() != st.best[i].shape())
            throw nn::StateMismatchError("extra/mlp_best/" + named[i].first, "'" + state_file + "' lacks the best-epoch parameter");
          st.best[i] = it->second.clone();
        }
      };
    if (resume.enabled())
      hooks.after_epoch = [&](const MlpFitState<float>& st, const nn::Adam<float>& opt) {
        if (!resume.due(st.epoch, mlp_epochs) && !st.stopped) return;
        std::map<std::string, std::string> m = vae_meta;
        m["config"] = resume_cfg.dump();
        m["phase"] = "mlp";
        m["target"] = std::to_string(k);
        m["per_target"] = per_target.dump();
        m["beaten"] = std::to_string(beaten);
        m["mlp_epoch_seconds"] = examples::exact_list(mlp_epoch_seconds);
        m["elapsed_seconds"] = nn::format_exact(elapsed());
        m["mlp_time_budget_s"] = nn::format_exact(fc.time_budget_s);
        m["mlp_epoch"] = std::to_string(st.epoch);
        m["mlp_stopped"] = st.stopped ? "1" : "0";
        m["mlp_order"] = json(st.order).dump();
        m["mlp_shuffle_position"] = std::to_string(st.shuffle_position);
        m["mlp_since_best"] = std::to_string(st.since_best);
        m["mlp_lr"] = nn::format_exact(st.lr);
        m["mlp_spent"] = nn::format_exact(st.spent);
        m["mlp_best_epoch"] = std::to_string(st.res.best_epoch);
        m["mlp_epochs_run"] = std::to_string(st.res.epochs_run);
        m["mlp_best_val_mae"] = nn::format_exact(st.res.best_val_mae);
        m["mlp_train_mae_at_best"] = nn::format_exact(st.res.train_mae_at_best);
        m["mlp_val_history"] = examples::exact_list(st.res.val_history);
        m["mlp_train_history"] = examples::exact_list(st.res.train_history);
        m["mlp_fit_epoch_seconds"] = examples::exact_list(st.res.epoch_seconds);
        std::vector<std::pair<std::string, Tensor<float>>> extra = vae_extra;
        const auto named = mlp.named_parameters();
        for (std::size_t i = 0; i < named.size(); ++i) extra.emplace_back("mlp_best/" + named[i].first, st.best[i]);
        for (const auto& [name, pred] : done_pred) {
          Tensor<float> t(Shape{static_cast<std::int64_t>(pred.size())});
          for (std::size_t i = 0; i < pred.size(); ++i) t.data()[i] = static_cast<float>(pred[i]);
          extra.emplace_back("pred/" + name, t);
        }
        nn::save_training_state<float>(state_file, mlp, opt, m, extra);
        std::cout << "checkpoint: " << info.name << " epoch " << st.epoch << " -> " << state_file << std::endl;
      };
    const auto t0 = Clock::now();
    const auto res = fit_property_mlp(mlp, Xtr, ytr, Xva, yva, fc, [&](int ep, double tr, double va, double sec) {
      const double left_this = sec * (mlp_epochs - ep);
      std::cout << "  " << info.name << " epoch " << ep << "/" << mlp_epochs << "  train MAE " << fmt_fixed(tr) << "  val MAE "
                << fmt_fixed(va) << "  " << fmt_fixed(sec, 1) << " s, ETA all MLPs "
                << hms(left_this + (seconds_since(t0) + left_this) * static_cast<double>(targets.size() - k - 1))
                << std::endl;
    }, hooks);
    const auto pte = predict_rows(mlp, Xte);
    if (resume.enabled()) done_pred[info.name] = pte;
    const double mae_std = mean_absolute_error(pte, yte), mae_phys = mae_std * info.std;
    std::vector<double> median_pred(yte.size());
    {
      std::vector<double> s = ytr;
      std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(s.size() / 2), s.end());
      std::fill(median_pred.begin(), median_pred.end(), s[s.size() / 2]);
    }
    const double base = mean_absolute_error(median_pred, yte);
    const bool beats = mae_phys < info.paper_mae;
    beaten += beats ? 1 : 0;
    mlp_epoch_seconds.insert(mlp_epoch_seconds.end(), res.epoch_seconds.begin(), res.epoch_seconds.end());
    per_target[info.name] = {{"test_mae_standardised", mae_std},
                             {"test_mae_physical", mae_phys},
                             {"unit", info.unit},
                             {"table9_std", info.std},
                             {"paper_mgvae_mae_physical", info.paper_mae},
                             {"paper_mgvae_mae_standardised", info.paper_mae / info.std},
                             {"beats_paper", beats},
                             {"val_mae_standardised", res.best_val_mae},
                             {"train_mae_at_best", res.train_mae_at_best},
                             {"best_epoch", res.best_epoch},
                             {"epochs_run", res.epochs_run},
                             {"val_history", res.val_history},
                             {"train_history", res.train_history},
                             {"constant_median_test_mae_standardised", base},
                             {"seconds", seconds_since(t0)}};
    std::cout << info.name << ": test MAE " << fmt_fixed(mae_std) << " (standardised), " << fmt_fixed(mae_phys, 4) << " " << info.unit
              << " (paper MGVAE " << info.paper_mae << ")" << (beats ? "  beats the paper" : "") << "; best epoch "
              << res.best_epoch << ", val " << fmt_fixed(res.best_val_mae) << "; constant-median " << fmt_fixed(base) << std::endl;
    panels.push_back({info.name + " (MAE " + fmt_fixed(mae_std, 3) + ")", yte, pte});
  }
  const double mlp_seconds = seconds_since(t_mlps);
  const double mlp_spe = mlp_epoch_seconds.empty()
                             ? 0.0
                             : std::accumulate(mlp_epoch_seconds.begin(), mlp_epoch_seconds.end(), 0.0) /
                                   static_cast<double>(mlp_epoch_seconds.size());

  // ---- outputs -----------------------------------------------------------------------------------
  write_atomic(fs::path(out_dir) / "parity.svg",
               parity_grid_svg(panels,
                               "MGVAE features + MLP, QM9 split " + split + " test set (" + std::to_string(te_rows.size()) +
                                   " molecules, every " + std::to_string(std::max<std::size_t>(1, te_rows.size() / 200)) +
                                   "-th shown)",
                               200));
  json metrics = {
      {"task", "unsupervised QM9 property prediction: MGVAE node-mean posterior-mean features + per-target MLP"},
      {"targets_beating_paper", beaten},
      {"targets_evaluated", targets.size()},
      {"per_target", per_target},
      {"units_note",
       "targets are standardised in the data files; physical MAE = standardised MAE x the standard deviation of the "
       "paper's Table 9 (assumed to be the standardisation constants)"},
      {"protocol",
       {{"data", data_dir},
        {"split_files", {train_path, test_path}},
        {"split_sizes", {{"train_file", train_rows.size()}, {"test_file", test_rows.size()}}},
        {"mlp_train", tr_rows.size()},
        {"mlp_val", va_rows.size()},
        {"mlp_test", te_rows.size()},
        {"test_rows_without_features", missing_test.size()},
        {"model_selection", "epoch with the best validation MAE (validation = a seeded random " +
                                fmt_fixed(100 * val_fraction, 0) + " % of the training split); test MAE at that epoch"},
        {"feature", "mean over atoms of the finest-level posterior mean mu (no sampling)"},
        {"feature_size", feats.size(1)},
        {"mlp", {{"hidden_layers", 2}, {"hidden", mlp_hidden}, {"activation", "sigmoid"}, {"loss", loss_name},
                 {"optimizer", "Adam"}, {"lr", mlp_lr}, {"batch", mlp_batch}, {"epochs", mlp_epochs},
                 {"lr_halving_patience", patience}, {"input", "features standardised with the MLP-train mean/std"}}},
        {"max_rows", max_rows},
        {"seed", seed},
        {"threads", threads},
        {"time_budget_min", time_budget_min}}},
      {"vae", vae_json},
      {"seconds_per_epoch", {{"vae", vae_seconds_per_epoch}, {"mlp_mean_over_targets", mlp_spe}}},
      {"mlp_seconds", mlp_seconds},
      {"total_seconds", seconds_since(t_all)}};
  write_atomic(fs::path(out_dir) / "metrics.json", metrics.dump(2) + "\n");

  std::cout << "\n" << std::left << std::setw(8) << "target" << std::right << std::setw(12) << "MAE(std)" << std::setw(14)
            << "MAE(phys)" << std::setw(12) << "paper" << "  unit\n";
  for (const auto& t : targets) {
    const auto& j = per_target[t];
    std::cout << std::left << std::setw(8) << t << std::right << std::setw(12) << fmt_fixed(j["test_mae_standardised"].get<double>())
              << std::setw(14) << fmt_fixed(j["test_mae_physical"].get<double>()) << std::setw(12)
              << j["paper_mgvae_mae_physical"].get<double>() << "  " << j["unit"].get<std::string>()
              << (j["beats_paper"].get<bool>() ? "  *" : "") << "\n";
  }
  std::cout << "beats the paper's MGVAE on " << beaten << " of " << targets.size() << " targets; VAE "
            << fmt_fixed(vae_seconds_per_epoch, 1) << " s/epoch, MLP " << fmt_fixed(mlp_spe, 2) << " s/epoch; total "
            << hms(seconds_since(t_all)) << "\nwrote " << (fs::path(out_dir) / "metrics.json").string()
            << ", parity.svg" << (features_in.empty() ? ", features.bin, vae.safetensors" : "") << std::endl;
  return 0;
} catch (const mgvae::DivergenceError& e) {  // e.g. the property MLP (fit_property_mlp)
  std::cerr << "qm9_properties: diverged: " << e.what() << "\n";
  return examples::kExitDiverged;
} catch (const mgvae::ParseError& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 2;
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
