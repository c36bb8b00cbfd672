// Molecule generation on QM9 with the all-at-once second-order MGVAE (paper §5.2, App. B–D.2,
// Table 2): train on a random subset of the QM9 training split, sample from the prior at the finest
// level with atom counts drawn from the training size distribution, decode by argmax ("without
// correction") and with the valence-aware correcting process, and score the samples with RDKit.
//
//   molecule_generation [--data DIR] [--train-size N] [--epochs E] [--batch B] [--lr LR]
//                       [--samples S] [--seed S] [--threads T] [--out DIR]
//                       [--decoder all-at-once|mlp|autoregressive] [--interpolate SMILES_A,SMILES_B] [--interp-steps K] ...
//                       [--dataset qm9|zinc] [--zinc-vocab charged|elements]
//
// `--dataset zinc`: ZINC-250k (shared/data/zinc250k): --train-size molecules drawn at random with the
// seed from the GDSS training pool (every row not in gdss_test_idx.txt), at most 38 heavy atoms.
// Writes OUT/generated.smi (corrected samples), OUT/generated_raw.smi (argmax samples),
// OUT/generated_raw.graphs (the argmax samples as graphs: "n | atom types | u-v-bondtype ...", one per
// line, so that any other validity definition can be recomputed),
// OUT/metrics.json (atomically), OUT/model.safetensors, OUT/samples.svg and OUT/interpolation.svg
// (a latent interpolation strip, paper Fig. 9). `--decoder mlp` is the Table 6 ablation (an MLP
// decoder on the padded latent, not permutation-equivariant). `--decoder autoregressive` trains the
// autoregressive MGN instead (models/molgen/autoregressive.hpp, run_autoregressive below: BFS order,
// GRU state, valence masks; no latent, no correction, no interpolation; writes generated.smi,
// metrics.json, samples.svg, model.safetensors); with --ar-size-matching [--size-calibration N] its samples are
// rejection-sampled to the training heavy-atom counts (models/size_matching.hpp). See docs/molecule_generation.md.
// Needs RDKit (built only when it is found).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mgvae/core/arena.hpp"
#include "mgvae/data/molecules/qm9.hpp"
#include "mgvae/data/molecules/smiles.hpp"
#include "mgvae/data/molecules/zinc.hpp"
#include "mgvae/metrics/molecules/generation.hpp"
#include "mgvae/metrics/molecules/qed.hpp"
#include "mgvae/models/molgen/molgen.hpp"
#include "common/molgen/train.hpp"
#include "mgvae/nn/checkpoint.hpp"
#include "mgvae/nn/optim.hpp"
#include "../common/divergence.hpp"
#include "../common/example_util.hpp"
#include "../common/resume.hpp"

using namespace mgvae;
using namespace mgvae::molgen;
using json = nlohmann::json;
namespace fs = std::filesystem;
using mgvae::examples::class_weights;
using mgvae::examples::Clock;
using mgvae::examples::fmt_fixed;
using mgvae::examples::mean_std;
using mgvae::examples::MeanStd;
using mgvae::examples::seconds_since;
using mgvae::examples::write_atomic;

namespace {

MolecularGraph to_molgen(const data::MolGraph& g) {
  MolecularGraph m;
  m.n = g.n;
  m.atom_type = g.atom_type;
  m.bonds = g.bonds;
  return m;
}
data::MolGraph to_data(const MolecularGraph& m) {
  data::MolGraph g;
  g.n = m.n;
  g.atom_type = m.atom_type;
  g.bonds = m.bonds;
  return g;
}

struct Generated {
  std::vector<data::MolGraph> raw, corrected;
  CorrectionInfo totals;
  std::int64_t downgraded_mols = 0, connected_mols = 0, dropped_mols = 0;
};

/// Samples `count` molecules: sizes from `size_pool` and z from the prior (i.i.d. slots from
/// `slot_probs`), or — with `slot_sets` — the size and matched slots of a random training molecule;
/// then argmax and corrected decoding.
Generated generate(const MolGenModel<float>& model, std::int64_t count, const std::vector<std::int64_t>& size_pool,
                   const std::vector<double>& slot_probs, const std::vector<int>& valences, std::uint64_t seed,
                   double temperature = 1.0, const std::vector<std::vector<std::int64_t>>* slot_sets = nullptr,
                   const std::vector<double>* debias = nullptr, std::int64_t chunk = 250) {
  Generated out;
  CounterRng pick(seed, 0x5153);
  const auto& cfg = model.config();
  for (std::int64_t start = 0, c = 0; start < count; start += chunk, ++c) {
    ArenaScope scope;
    const std::int64_t m = std::min(chunk, count - start);
    std::vector<std::int64_t> sizes, slots;
    for (std::int64_t i = 0; i < m; ++i) {
      if (slot_sets) {
        const auto& s = (*slot_sets)[pick.next_below(slot_sets->size())];
        sizes.push_back(static_cast<std::int64_t>(s.size()));
        slots.insert(slots.end(), s.begin(), s.end());
      } else {
        sizes.push_back(size_pool[pick.next_below(size_pool.size())]);
      }
    }
    const RaggedBatch b = RaggedBatch::from_sizes(sizes);
    const Tensor<float> z = model.sample_prior(b, CounterRng(seed, 1000 + static_cast<std::uint64_t>(c)), slot_probs,
                                               temperature, slot_sets ? &slots : nullptr);
    for (auto& d : model.decode_graphs(b, z)) {
      if (debias) {  // undo the class weights of the loss: p(c) ∝ p_w(c) / w_c, the optimum of the unweighted CE
        const std::int64_t C = model.pair_classes();
        for (std::size_t r = 0; r < d.pair_probs.size() / static_cast<std::size_t>(C); ++r) {
          double s = 0;
          for (std::int64_t c = 0; c < C; ++c) s += d.pair_probs[r * C + c] / (*debias)[c];
          for (std::int64_t c = 0; c < C; ++c)
            d.pair_probs[r * C + c] = static_cast<float>(d.pair_probs[r * C + c] / (*debias)[c] / s);
        }
      }
      out.raw.push_back(to_data(argmax_graph(d.n, d.atom_logits, d.pair_probs, cfg.atom_types, model.pair_classes())));
      const auto& types = out.raw.back().atom_type;
      CorrectionInfo ci;
      out.corrected.push_back(to_data(correct_graph(d.n, types, d.pair_probs, model.pair_classes(), valences, &ci)));
      out.totals.downgraded += ci.downgraded;
      out.totals.skipped += ci.skipped;
      out.totals.connecting += ci.connecting;
      out.totals.dropped_atoms += ci.dropped_atoms;
      if (ci.downgraded || ci.skipped) ++out.downgraded_mols;
      if (ci.connecting) ++out.connected_mols;
      if (ci.dropped_atoms) ++out.dropped_mols;
    }
  }
  return out;
}

/// An SVG grid of the first `k` valid SMILES (RDKit MolDraw2DSVG), `cols` per row, `pw`×`ph` panels;
/// the legend of entry i is `labels[i]` when given (else the SMILES). `text_labels`: atom labels and
/// legends as SVG <text> instead of FreeType glyph paths (a much smaller file).
std::string svg_grid(const std::vector<std::string>& smiles, int k, int cols = 6, int pw = 200, int ph = 200,
                     const std::vector<std::string>* labels = nullptr, bool text_labels = false) {
  std::vector<std::unique_ptr<RDKit::ROMol>> keep;
  std::vector<RDKit::ROMol*> mols;
  std::vector<std::string> legends;
  for (std::size_t i = 0; i < smiles.size(); ++i) {
    const auto& s = smiles[i];
    if (static_cast<int>(mols.size()) >= k) break;
    std::unique_ptr<RDKit::ROMol> m(RDKit::SmilesToMol(s));
    if (!m) continue;
    RDDepict::compute2DCoords(*m);
    mols.push_back(m.get());
    legends.push_back(labels && i < labels->size() ? (*labels)[i] : s);
    keep.push_back(std::move(m));
  }
  if (mols.empty()) return "<svg xmlns='http://www.w3.org/2000/svg'/>\n";
  cols = std::max(1, std::min(cols, static_cast<int>(mols.size())));
  const int rows = (static_cast<int>(mols.size()) + cols - 1) / cols;
  RDKit::MolDraw2DSVG drawer(cols * pw, rows * ph, pw, ph, text_labels);
  drawer.drawMolecules(mols, &legends);
  drawer.finishDrawing();
  return drawer.getDrawingText();
}

/// Latent interpolation (paper Fig. 9): posterior means z_A, z_B of two molecules, z(t) = (1 − t) z_A + t z_B
/// for t = 0, 1/(k−1), …, 1, each decoded (argmax atom types, correcting process). Different atom counts:
/// the smaller latent is padded with zero rows and every step is decoded with max(n_A, n_B) atoms.
/// With the equivariant decoder (`align`), the atoms of B are first reordered by a minimum-cost
/// (Hungarian) matching of the posterior means to those of A, so that atom i moves towards its nearest
/// counterpart (the decoded B is unchanged: the decoder is equivariant).
json interpolate(const MolGenModel<float>& model, const data::MolGraph& ga, const data::MolGraph& gb, int steps,
                 const data::AtomVocab& vocab, const std::vector<int>& valences, bool align,
                 std::vector<std::string>& smiles_out, std::vector<std::string>& labels_out) {
  const auto& cfg = model.config();
  const std::int64_t F = cfg.atom_types, E = cfg.bond_types, d = cfg.latent;
  const Tensor<float> za0 = model.posterior_mean(MolBatch<float>::make({to_molgen(ga)}, F, E));
  const Tensor<float> zb0 = model.posterior_mean(MolBatch<float>::make({to_molgen(gb)}, F, E));
  const std::int64_t na = ga.n, nb = gb.n, n = std::max(na, nb);
  Tensor<float> za = Tensor<float>::zeros(Shape{n, d}), zb = Tensor<float>::zeros(Shape{n, d});
  for (std::int64_t k = 0; k < na * d; ++k) za.data()[k] = za0.data()[k];
  for (std::int64_t k = 0; k < nb * d; ++k) zb.data()[k] = zb0.data()[k];
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  if (align) {
    Tensor<float> cost(Shape{n, n});
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::int64_t c = 0; c < d; ++c) {
          const double x = za.data()[i * d + c] - zb.data()[j * d + c];
          s += x * x;
        }
        cost.data()[i * n + j] = static_cast<float>(s);
      }
    perm = hungarian_matching(cost);  // row i of A ↔ row perm[i] of B
    Tensor<float> zp(Shape{n, d});
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t c = 0; c < d; ++c) zp.data()[i * d + c] = zb.data()[perm[i] * d + c];
    zb = zp;
  }
  const RaggedBatch b = RaggedBatch::from_sizes({n});
  json steps_json = json::array();
  for (int k = 0; k < steps; ++k) {
    const double t = steps == 1 ? 0.0 : static_cast<double>(k) / static_cast<double>(steps - 1);
    Tensor<float> z(Shape{n, d});
    for (std::int64_t q = 0; q < n * d; ++q)
      z.data()[q] = static_cast<float>((1 - t) * za.data()[q] + t * zb.data()[q]);
    const auto dec = model.decode_graphs(b, z)[0];
    const auto raw = argmax_graph(dec.n, dec.atom_logits, dec.pair_probs, F, model.pair_classes());
    const auto cor = correct_graph(dec.n, raw.atom_type, dec.pair_probs, model.pair_classes(), valences);
    std::string why_r, why_c;
    const auto sr = data::graph_to_smiles(to_data(raw), vocab, &why_r);
    const auto sc = data::graph_to_smiles(to_data(cor), vocab, &why_c);
    smiles_out.push_back(sc ? *sc : "");
    labels_out.push_back("t=" + fmt_fixed(t, 2) + "  " + (sc ? *sc : "invalid"));
    steps_json.push_back({{"t", t},
                          {"smiles", sc ? json(*sc) : json(nullptr)},
                          {"smiles_without_correction", sr ? json(*sr) : json("INVALID: " + why_r)}});
  }
  return {{"atoms", {na, nb}},
          {"decoded_atoms", n},
          {"padding", na == nb ? "none (equal atom counts)" : "the smaller latent padded with zero rows"},
          {"aligned_by_hungarian_matching", align},
          {"b_atom_order", perm},
          {"steps", steps_json}};
}

/// Inputs of the autoregressive run (`--decoder autoregressive`).
struct ArRunArgs {
  const std::vector<MolecularGraph>* train = nullptr;
  const std::vector<std::string>* train_smiles = nullptr;
  std::vector<std::string> whole_split_smiles;  ///< novelty reference beyond the training set (empty: skipped)
  std::string whole_split_name, dataset_name, out_dir;
  json dataset_json;
  const data::AtomVocab* vocab = nullptr;
  std::vector<int> valences;
  ArConfig cfg;
  int epochs = 1, batch = 32, threads = 1;
  double lr = 1e-3, clip = 10, max_minutes = 0, temperature = 1, stop_temperature = 0;
  std::int64_t samples = 1000;
  std::uint64_t seed = 1, sample_seed = 2;
  std::string load;
  bool size_matching = false;             ///< --ar-size-matching: rejection sampling to the training sizes
  std::int64_t size_calibration = 10000;  ///< --size-calibration: calibration batch (molecules)
  examples::ResumeOptions resume;         ///< --resume DIR / --checkpoint-every N
  json resume_cfg;                        ///< the flags a training state must have been written with
};

/// Trains the autoregressive MGN (teacher forcing on random BFS orders), samples, scores, writes
/// generated.smi, metrics.json, samples.svg and the checkpoint. Returns the exit code.
int run_autoregressive(const ArRunArgs& a) {
  const auto t_all = Clock::now();
  const auto& train = *a.train;
  const std::int64_t T_ = static_cast<std::int64_t>(train.size());
  ArMolGen<float> model(a.cfg);
  if (!a.load.empty()) {
    nn::load_checkpoint(model, a.load);
    std::cout << "loaded " << a.load << "\n";
  }
  std::cout << "autoregressive MGN: " << model.num_parameters() << " parameters; " << a.cfg.layers
            << " second-order layers of " << a.cfg.hidden << " channels, GRU state " << a.cfg.state << "\n";
  nn::Adam<float> opt(model.parameters(), static_cast<float>(a.lr));
  examples::CheckedOptimizer<nn::Adam<float>, float> checked{opt, model.parameters(), {}};  // drops a non-finite step
  examples::Divergence divergence;
  bool run_diverged = false;
  json history = json::array();
  std::vector<double> epoch_seconds;
  std::vector<std::size_t> order(static_cast<std::size_t>(T_));
  std::iota(order.begin(), order.end(), 0);
  CounterRng shuf(a.seed, 0x7368);
  const auto t_train = Clock::now();
  int epochs_run = 0;
  // ---- --resume: parameters, Adam state, the shuffled order and the shuffle stream's position,
  // history and the stop flag; the BFS orders are keyed by (seed, epoch, step), there is no schedule.
  const std::string state_file = a.resume.enabled() ? a.resume.path() : std::string();
  double train_seconds_before = 0;
  bool stopped = false;
  int first_ep = 0;
  if (a.resume.enabled()) {
    a.resume.prepare();
    if (fs::exists(state_file)) {
      const auto meta = nn::read_safetensors_metadata(state_file);
      examples::check_resume_config(state_file, meta, a.resume_cfg);
      const auto st = nn::load_training_state<float>(state_file, model, opt);
      const auto& mt = st.metadata;
      const int done = static_cast<int>(examples::meta_int(mt, "epoch", state_file));
      const json ord = json::parse(examples::meta_at(mt, "order", state_file));
      if (ord.size() != order.size()) throw nn::StateMismatchError("order", "'" + state_file + "': order has another length");
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = ord[i].get<std::size_t>();
      shuf.set_position(static_cast<std::uint64_t>(examples::meta_int(mt, "shuffle_position", state_file)));
      history = json::parse(examples::meta_at(mt, "history", state_file));
      epoch_seconds = examples::parse_exact_list(examples::meta_at(mt, "epoch_seconds", state_file), "epoch_seconds");
      epochs_run = static_cast<int>(examples::meta_int(mt, "epochs_run", state_file));
      stopped = examples::meta_at(mt, "stopped", state_file) == "1";
      train_seconds_before = examples::meta_double(mt, "train_seconds", state_file);
      first_ep = stopped ? a.epochs : done;
      std::cout << "resuming from " << state_file << " after epoch " << done << (stopped ? " (training had stopped)" : "") << std::endl;
    } else {
      std::cout << "no " << state_file << " yet: starting fresh" << std::endl;
    }
  }
  for (int ep = first_ep; ep < a.epochs; ++ep) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuf.next_below(i)]);
    const auto t_ep = Clock::now();
    ArEpochSums sums;
    std::int64_t step = 0;
    for (std::int64_t s = 0; s < T_; s += a.batch, ++step) {
      ArenaScope scope;
      std::vector<MolecularGraph> gs;
      for (std::int64_t k = s; k < std::min<std::int64_t>(T_, s + a.batch); ++k) gs.push_back(train[order[k]]);
      const auto f = ar_train_step(model, checked, gs, a.seed, ep, step, a.clip);
      divergence.epoch = ep + 1;
      divergence.step = static_cast<long long>(ep) * ((T_ + a.batch - 1) / a.batch) + step + 1;
      if (examples::diverged<float>({{"loss", f.loss}, {"type_ce", f.type_ce}, {"edge_ce", f.edge_ce}}, checked.bad, divergence)) {
        run_diverged = true;
        break;
      }
      sums.add(f, static_cast<std::int64_t>(gs.size()));
    }
    if (run_diverged) {  // no checkpoint is written: model.safetensors from an earlier run is kept
      divergence.report("molecule_generation");
      fs::create_directories(a.out_dir);
      write_atomic(fs::path(a.out_dir) / "metrics.json",
                   json{{"diverged", divergence.to_json()}, {"training", {{"history", history}}}}.dump(2) + "\n");
      return examples::kExitDiverged;
    }
    const double sec = seconds_since(t_ep);
    epoch_seconds.push_back(sec);
    ++epochs_run;
    json h = {{"epoch", ep + 1}, {"loss", sums.mean(sums.loss)}, {"type_ce", sums.mean(sums.type_ce)},
              {"edge_ce", sums.mean(sums.edge_ce)}, {"type_acc", sums.type_acc()}, {"edge_acc", sums.edge_acc()},
              {"seconds", sec}};
    std::cout << "epoch " << ep + 1 << "/" << a.epochs << "  loss " << fmt_fixed(sums.mean(sums.loss), 3) << "  atom/stop "
              << fmt_fixed(sums.mean(sums.type_ce), 3) << "  bonds " << fmt_fixed(sums.mean(sums.edge_ce), 3) << "  atom_acc "
              << fmt_fixed(sums.type_acc(), 3) << "  bond_acc " << fmt_fixed(sums.edge_acc(), 3) << "  " << fmt_fixed(sec, 1) << " s/epoch"
              << std::endl;
    history.push_back(h);
    if (a.max_minutes > 0 && train_seconds_before + seconds_since(t_train) > 60.0 * a.max_minutes) {
      std::cout << "stopping: --max-minutes " << a.max_minutes << " reached after epoch " << ep + 1 << "\n";
      stopped = true;
    }
    if (a.resume.due(ep + 1, a.epochs) || (stopped && a.resume.enabled())) {  // the complete state after this epoch, atomically
      nn::save_training_state<float>(state_file, model, opt,
                                     {{"config", a.resume_cfg.dump()},
                                      {"epoch", std::to_string(ep + 1)},
                                      {"order", json(order).dump()},
                                      {"shuffle_position", std::to_string(shuf.position())},
                                      {"history", history.dump()},
                                      {"epoch_seconds", examples::exact_list(epoch_seconds)},
                                      {"epochs_run", std::to_string(epochs_run)},
                                      {"stopped", stopped ? "1" : "0"},
                                      {"train_seconds", nn::format_exact(train_seconds_before + seconds_since(t_train))}});
      std::cout << "checkpoint: epoch " << ep + 1 << " -> " << state_file << std::endl;
    }
    if (stopped) break;
  }
  const double train_seconds = train_seconds_before + seconds_since(t_train);
  nn::save_checkpoint(model, (fs::path(a.out_dir) / "model.safetensors").string(),
                      {{"model", "molgen_autoregressive"}, {"decoder", "autoregressive"}});

  const auto t_sample = Clock::now();
  std::vector<MolecularGraph> gen;
  json size_matching_json;
  if (a.size_matching) {  // rejection sampling to the training molecules' heavy-atom counts
    std::vector<int> ref_sizes;
    for (const auto& g : train) ref_sizes.push_back(static_cast<int>(g.n));
    SizeMatchingOptions so;
    so.calibration = a.size_calibration;
    auto sm = ar_sample_size_matched(model, ref_sizes, a.samples, a.sample_seed, so, a.temperature, 500, a.stop_temperature);
    gen = std::move(sm.items);
    std::cout << "size matching: calibration " << a.size_calibration << " molecules, expected acceptance "
              << fmt_fixed(100 * sm.calibration.expected_acceptance_rate, 2) << " %, realised "
              << fmt_fixed(100 * sm.realised_rate(), 2) << " % (" << sm.accepted << " of " << sm.drawn << " drawn in "
              << sm.chunks << " chunks)\n  n  p_train  p_gen  a(n)  output\n";
    for (std::size_t n = 0; n < sm.reference_probs.size(); ++n)
      if (sm.reference_probs[n] > 0 || sm.calibration.generated_probs[n] > 0)
        std::cout << "  " << n << "  " << fmt_fixed(sm.reference_probs[n], 4) << "  " << fmt_fixed(sm.calibration.generated_probs[n], 4)
                  << "  " << fmt_fixed(sm.calibration.acceptance[n], 4) << "  " << sm.output_counts[n] << "\n";
    size_matching_json = {
        {"method", "rejection sampling: accept a molecule with n heavy atoms with probability a(n) = r(n) / max r, "
                   "r(n) = p_train(n) / p_gen(n), p_gen from a calibration batch of the model (its own random "
                   "stream); output = the first --samples accepted molecules. Not in the paper."},
        {"calibration_samples", a.size_calibration},
        {"acceptance", sm.calibration.acceptance},
        {"train_probs", sm.reference_probs},
        {"calibration_generated_probs", sm.calibration.generated_probs},
        {"expected_acceptance_rate", sm.calibration.expected_acceptance_rate},
        {"realised_acceptance_rate", sm.realised_rate()},
        {"drawn", sm.drawn},
        {"accepted", sm.accepted},
        {"chunks", sm.chunks},
        {"drawn_size_counts", sm.drawn_counts},
        {"generated_size_counts", sm.output_counts},
        {"size_index", "entry n = n heavy atoms, n = 0..max_atoms"}};
  } else {
    gen = model.sample(a.samples, a.sample_seed, a.temperature, 500, a.stop_temperature);
  }
  const double sample_seconds = seconds_since(t_sample);
  std::vector<data::MolGraph> graphs;
  for (const auto& g : gen) graphs.push_back(to_data(g));

  const auto t_metrics = Clock::now();
  const auto train_set = metrics::canonical_smiles_set(*a.train_smiles);
  const auto res = metrics::evaluate_generation(graphs, *a.vocab, train_set, metrics::GenerationOptions{false});
  const auto res_frag = metrics::evaluate_generation(graphs, *a.vocab, train_set);
  json novelty_all_json = nullptr;
  if (!a.whole_split_smiles.empty()) {
    const auto whole = metrics::canonical_smiles_set(a.whole_split_smiles);
    std::unordered_set<std::string> uniq(res.valid_smiles.begin(), res.valid_smiles.end());
    std::int64_t novel = 0;
    for (const auto& s : uniq) novel += whole.count(s) ? 0 : 1;
    novelty_all_json = {{"reference", a.whole_split_name},
                        {"reference_unique_canonical", whole.size()},
                        {"novel", novel},
                        {"novelty", uniq.empty() ? 0.0 : double(novel) / double(uniq.size())}};
  }
  std::vector<double> qeds, sizes;
  for (const auto& s : res.valid_smiles)
    if (auto q = metrics::qed(s)) qeds.push_back(*q);
  for (const auto& g : gen) sizes.push_back(static_cast<double>(g.n));
  const MeanStd q = mean_std(qeds);
  // valence / connectivity check of every sample, independent of RDKit
  std::int64_t over_valent = 0, disconnected = 0;
  for (const auto& g : gen) {
    const auto used = bond_order_sums(g);
    for (std::int64_t i = 0; i < g.n; ++i)
      if (used[i] > a.valences[static_cast<std::size_t>(g.atom_type[i])]) {
        ++over_valent;
        break;
      }
    std::int64_t k = 0;
    components(g, &k);
    disconnected += k > 1 ? 1 : 0;
  }
  const double metrics_seconds = seconds_since(t_metrics);
  {
    std::ostringstream c;
    for (const auto& g : graphs) {
      std::string why;
      auto s = data::graph_to_smiles(g, *a.vocab, &why);
      c << (s ? *s : "INVALID\t" + why) << "\n";
    }
    write_atomic(fs::path(a.out_dir) / "generated.smi", c.str());
  }
  std::string svg_note = "samples.svg: first 48 valid samples (RDKit MolDraw2DSVG), captions QED";
  try {
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < std::min<std::size_t>(48, res.valid_smiles.size()); ++i) {
      const auto qq = metrics::qed(res.valid_smiles[i]);
      labels.push_back(res.valid_smiles[i] + (qq ? "  QED " + fmt_fixed(*qq, 3) : std::string()));
    }
    write_atomic(fs::path(a.out_dir) / "samples.svg", svg_grid(res.valid_smiles, 48, 6, 200, 200, &labels));
  } catch (const std::exception& e) {
    svg_note = std::string("samples.svg not written: ") + e.what();
  }
  const MeanStd es = mean_std(epoch_seconds);
  json metrics_json = {
      {"task", a.dataset_name + " molecule generation, autoregressive second-order MGN (BFS order, GRU state)"},
      {"dataset", a.dataset_json},
      {"decoder", "autoregressive"},
      {"samples", a.samples},
      {"validity_without_correction", res_frag.validity},
      {"validity_without_correction_connected", res.validity},
      {"validity", res.validity},
      {"validity_note", "the autoregressive model has no correcting process: valence masks make every emitted bond "
                        "legal and force a connected molecule, so the validity with and without correction are the "
                        "same samples and the same number (100 % by construction, checked by RDKit sanitization)"},
      {"uniqueness", res.uniqueness},
      {"novelty", res.novelty},
      {"novelty_reference", "the " + std::to_string(T_) + " training molecules (canonical SMILES)"},
      {"novelty_vs_whole_split", novelty_all_json},
      {"counts", {{"valid", res.valid}, {"valid_fragments_allowed", res_frag.valid}, {"unique", res.unique},
                  {"novel", res.novel}, {"over_valent", over_valent}, {"disconnected", disconnected}}},
      {"qed", {{"mean", q.mean}, {"std", q.std}, {"n", q.n}, {"over", "valid samples"}}},
      {"generated_atoms_mean", mean_std(sizes).mean},
      {"seconds_per_epoch", es.mean},
      {"seconds_per_epoch_std", es.std},
      {"train_seconds", train_seconds},
      {"epochs_run", epochs_run},
      {"sampling_seconds", sample_seconds},
      {"sampling_note", "autoregressive decoding of all samples (500 in parallel), without RDKit scoring"},
      {"metrics_seconds", metrics_seconds},
      {"total_seconds", seconds_since(t_all)},
      {"svg", svg_note},
      {"invalid_examples", json(std::vector<std::string>(res.invalid_log.begin(),
                                                         res.invalid_log.begin() + std::min<std::size_t>(20, res.invalid_log.size())))},
      {"config",
       {{"train_size", T_}, {"epochs", a.epochs}, {"batch", a.batch}, {"lr", a.lr}, {"clip", a.clip}, {"seed", a.seed}, {"sample_seed", a.sample_seed},
        {"threads", a.threads}, {"temperature", a.temperature}, {"stop_temperature", a.stop_temperature}, {"hidden", a.cfg.hidden}, {"layers", a.cfg.layers},
        {"state", a.cfg.state}, {"head_hidden", a.cfg.head_hidden}, {"max_atoms", a.cfg.max_atoms},
        {"max_valence", a.cfg.max_valence}, {"parameters", model.num_parameters()}, {"load", a.load}}},
      {"history", history}};
  if (a.size_matching) {
    metrics_json["size_matching"] = size_matching_json;
    metrics_json["config"]["ar_size_matching"] = true;
    metrics_json["config"]["size_calibration"] = a.size_calibration;
    metrics_json["sampling_note"] = "size-matched autoregressive decoding (calibration batch + proposals, 500 in "
                                    "parallel), without RDKit scoring";
  }
  write_atomic(fs::path(a.out_dir) / "metrics.json", metrics_json.dump(2) + "\n");
  std::cout << "samples " << a.samples << ": validity " << fmt_fixed(100 * res.validity, 2)
            << " % (no correction; over-valent " << over_valent << ", disconnected " << disconnected << "), uniqueness "
            << fmt_fixed(100 * res.uniqueness, 2) << " %, novelty " << fmt_fixed(100 * res.novelty, 2) << " % (vs " << T_
            << " training molecules)";
  if (!novelty_all_json.is_null()) std::cout << ", " << fmt_fixed(100 * novelty_all_json["novelty"].get<double>(), 2) << " % (vs whole split)";
  std::cout << "\nQED " << fmt_fixed(q.mean, 3) << " ± " << fmt_fixed(q.std, 3) << "; " << fmt_fixed(es.mean, 1) << " s/epoch; sampling "
            << fmt_fixed(sample_seconds, 1) << " s; metrics " << fmt_fixed(metrics_seconds, 1) << " s\n";
  std::cout << "wrote " << (fs::path(a.out_dir) / "metrics.json").string() << ", generated.smi, samples.svg\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  mgvae::examples::flush_progress_output();
  CLI::App app{"All-at-once second-order MGVAE: molecule generation on QM9 (paper Table 2)"};
  app.option_defaults()->always_capture_default();  // --help shows each option's default
  std::string data_dir = examples::default_data_dir("qm9"), out_dir = "out/molecule_generation", split = "10", prior = "learned",
              levels = "4,2,1", load, slot_sampling = "iid";
  std::int64_t train_size = 10000, samples = 10000, hidden = 32, latent = 16, coarse_hidden = 16, slots = 16,
               eval_samples = 256, dec_edge = 2;
  int epochs = 30, batch = 32, threads = 1, enc_layers = 3, dec_layers = 3;
  double kl_warmup = 3, lr = 1e-3, beta = 0.1, lambda_coarse = 0.1, lambda_balance = 0.1, bond_power = 0.5, atom_power = 0.0, clip = 10.0,
         max_minutes = 0, temperature = 1.0, stop_temperature = 0.0, valence_reg = 0.0,
         valence_reg_temperature = 1.0, valence_reg_isolated = 0.0;
  std::uint64_t seed = 1;
  std::int64_t sample_seed = -1;
  bool novelty_all = true, debias = false;
  std::string decoder = "all-at-once", interpolate_arg;
  std::int64_t max_atoms = 9, mlp_hidden = 512;
  int interp_steps = 8;
  std::string dataset = "qm9", zinc_vocab = "charged";
  app.add_option("--dataset", dataset, "qm9 or zinc (ZINC-250k, GDSS training pool; docs/molecule_generation.md)")
      ->check(CLI::IsMember({"qm9", "zinc"}));
  app.add_option("--zinc-vocab", zinc_vocab,
                 "zinc atom types: charged (C N O F P S Cl Br I + the 8 charged species of "
                 "AtomVocab::zinc()) or elements (the 9 neutral elements; molecules with a charged atom are "
                 "counted and skipped)")
      ->check(CLI::IsMember({"charged", "elements"}));
  app.add_option("--data", data_dir, "QM9 directory (SMILES, splits/); with --dataset zinc the zinc250k directory "
                                     "(zinc250k.tsv.gz, gdss_test_idx.txt)");
  app.add_option("--split", split, "training split splits/<p>.train.index (p = test percentage; 'all' = every row)");
  app.add_option("--train-size", train_size, "random training molecules drawn from the split (paper: 10,000)")
      ->check(CLI::PositiveNumber);
  app.add_option("--epochs", epochs, "training epochs")->check(CLI::NonNegativeNumber);
  app.add_option("--batch", batch, "molecules per step")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "Adam learning rate (paper: 1e-3)")->check(CLI::PositiveNumber);
  app.add_option("--samples", samples, "molecules to generate for the metrics")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "seed (subset, initialisation, noise, sampling)");
  app.add_option("--sample-seed", sample_seed,
                 "seed of the final sampling only (default: --seed + 1), so that a loaded model can be resampled "
                 "without changing the training subset drawn by --seed")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--threads", threads, "OpenMP threads")->check(CLI::PositiveNumber);
  app.add_option("--out", out_dir, "output directory");
  app.add_option("--hidden", hidden, "channels of the second-order encoder/decoder layers")->check(CLI::PositiveNumber);
  app.add_option("--latent", latent, "latent channels d_z per atom (paper: 256)")->check(CLI::PositiveNumber);
  app.add_option("--enc-layers", enc_layers, "second-order encoder layers")->check(CLI::PositiveNumber);
  app.add_option("--dec-layers", dec_layers, "second-order decoder layers")->check(CLI::NonNegativeNumber);
  app.add_option("--dec-edge-channels", dec_edge, "learned adjacency channels of the decoder")->check(CLI::PositiveNumber);
  app.add_option("--levels", levels, "clusters K of each coarse level, finest first, e.g. 4,2,1 (paper L = 3); 'none'");
  app.add_option("--coarse-hidden", coarse_hidden, "channels of the coarse levels")->check(CLI::PositiveNumber);
  app.add_option("--prior", prior, "standard N(0, I) or learned (App. C, free matching)")
      ->check(CLI::IsMember({"standard", "learned"}));
  app.add_option("--slots", slots, "learned prior: number of slot means")->check(CLI::PositiveNumber);
  app.add_option("--beta", beta, "KL weight");
  app.add_option("--kl-warmup", kl_warmup, "epochs over which β rises linearly from 0 to --beta (0 = off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--lambda-coarse", lambda_coarse, "weight of the coarse levels' reconstruction + KL");
  app.add_option("--lambda-balance", lambda_balance, "weight of the balanced-cut KL");
  app.add_option("--bond-weight-power", bond_power,
                 "pair-class weights ∝ frequency^-p over {none, single, double, triple} (0 none, 0.5 sqrt, 1 balanced)");
  app.add_option("--atom-weight-power", atom_power, "atom-type weights ∝ frequency^-p (0 none)");
  app.add_option("--clip", clip, "gradient-norm clipping (0 = off)");
  app.add_option("--valence-reg", valence_reg,
                 "all-at-once / mlp: weight λ of the valence penalty on decodings of prior samples (not in the paper; "
                 "after Ma et al. 2018; 0 = off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--valence-reg-temperature", valence_reg_temperature,
                 "τ of the valence penalty: softmax(logits/τ); 1 = the decoder's distribution, small = close to the argmax "
                 "decoding")
      ->check(CLI::PositiveNumber);
  app.add_option("--valence-reg-isolated", valence_reg_isolated,
                 "weight of the valence penalty's isolated-atom term relu(1 - V_i)^2 (atoms of molecules with >= 2 atoms; "
                 "0 = off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--eval-samples", eval_samples, "prior samples for the per-epoch validity probe (0 = off)");
  app.add_option("--max-minutes", max_minutes, "stop training after this many minutes (0 = no limit)");
  examples::ResumeOptions resume;
  examples::add_resume_options(app, resume);
  app.add_option("--load", load, "load parameters from a checkpoint (same architecture flags) before training; "
                                 "with --epochs 0 only samples and scores");
  app.add_option("--slot-sampling", slot_sampling,
                 "learned prior: iid (each atom draws a slot from the slot usage) or empirical (the size and "
                 "free-matched slots of a random training molecule)")
      ->check(CLI::IsMember({"iid", "empirical"}));
  app.add_option("--temperature", temperature,
                 "scale of the prior noise at sampling (1 = the prior); autoregressive: softmax temperature of atoms "
                 "and bonds (default 1.3 there)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stop-temperature", stop_temperature,
                 "autoregressive only: temperature of the STOP decision, drawn before the atom type (0 = one draw "
                 "at --temperature over atoms and STOP; 1 keeps the molecule-size distribution while --temperature "
                 "diversifies atoms and bonds; default 1 with the autoregressive decoder)")
      ->check(CLI::NonNegativeNumber);
  bool ar_size_matching = false;
  std::int64_t size_calibration = 10000;
  app.add_flag("--ar-size-matching,!--no-ar-size-matching", ar_size_matching,
               "autoregressive only (default on; off with --no-ar-size-matching): rejection sampling so that the generated "
               "heavy-atom counts follow the training molecules' (a(n) = r(n) / max r, r = p_train / p_gen, p_gen "
               "from a calibration batch); not in the paper");
  app.add_option("--size-calibration", size_calibration,
                 "with --ar-size-matching: molecules in the calibration batch that estimates p_gen (default 10000)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--debias", debias,
               "at sampling, divide the pair probabilities by the bond-class weights and renormalise (the optimum "
               "of the unweighted loss) before argmax and correction");
  app.add_option("--decoder", decoder,
                 "p(G|Z): all-at-once (second-order, equivariant) or mlp (paper Table 6 ablation: MLP on the padded "
                 "latent, not equivariant) or autoregressive (atom-by-atom BFS-order MGN with a GRU state and valence "
                 "masks; uses --hidden, --dec-layers, --ar-state, --max-atoms)")
      ->check(CLI::IsMember({"all-at-once", "mlp", "autoregressive"}));
  app.add_option("--max-atoms", max_atoms, "heavy atoms per molecule (training filter; the MLP decoder's padded size)")
      ->check(CLI::PositiveNumber);
  app.add_option("--mlp-hidden", mlp_hidden, "hidden width of the MLP decoder (authors' mrf_mlp: 512)")
      ->check(CLI::PositiveNumber);
  std::int64_t ar_state = 64;
  app.add_option("--ar-state", ar_state, "autoregressive decoder: GRU state width (its MGN: --hidden channels, default "
                                         "24 there, and --dec-layers second-order layers, default 2 there)")
      ->check(CLI::PositiveNumber);
  app.add_option("--interpolate", interpolate_arg,
                 "SMILES_A,SMILES_B for the latent interpolation strip (default: two training molecules with the "
                 "same atom count, chosen by --seed)");
  app.add_option("--interp-steps", interp_steps, "molecules in the interpolation strip, endpoints included (0 = off)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--novelty-all,!--no-novelty-all", novelty_all, "skip novelty against the whole QM9 training split");
  app.footer(examples::kDivergenceHelp);
  CLI11_PARSE(app, argc, argv);
  const std::uint64_t final_sample_seed = sample_seed < 0 ? seed + 1 : static_cast<std::uint64_t>(sample_seed);
  if (interp_steps == 1) {
    std::cerr << "error: --interp-steps must be 0 (off) or >= 2\n";
    return 2;
  }
  const bool zinc = dataset == "zinc";
  if (zinc) {
    if (app.count("--split")) {
      std::cerr << "error: --split is QM9-only (ZINC uses the GDSS test index)\n";
      return 2;
    }
    if (!app.count("--data")) data_dir = examples::default_data_dir("zinc250k");
    if (!app.count("--max-atoms")) max_atoms = 38;
  } else if (app.count("--zinc-vocab")) {
    std::cerr << "error: --zinc-vocab needs --dataset zinc\n";
    return 2;
  }
  const std::string dname = zinc ? "ZINC-250k" : "QM9";
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  Eigen::setNbThreads(1);
  fs::create_directories(out_dir);
  const auto t_all = Clock::now();

  // ---- data ----------------------------------------------------------------------------------
  const data::AtomVocab vocab = !zinc ? data::AtomVocab::qm9()
                                : zinc_vocab == "charged" ? data::AtomVocab::zinc()
                                                          : data::AtomVocab{{"C", "N", "O", "F", "P", "S", "Cl", "Br", "I"}};
  std::vector<std::string> all_smiles;
  std::vector<std::int64_t> rows;
  std::int64_t split_rows = 0;
  data::MoleculeDataset ds;
  json dataset_json;
  if (zinc) {
    const auto table = data::read_zinc250k((fs::path(data_dir) / "zinc250k.tsv.gz").string());
    const auto test_idx = data::read_index_file((fs::path(data_dir) / "gdss_test_idx.txt").string());
    all_smiles = table.smiles;
    rows = data::zinc_train_pool(table.rows(), test_idx);
    split_rows = static_cast<std::int64_t>(rows.size());
    auto sm = data::sample_molecules(all_smiles, rows, vocab, max_atoms, train_size, seed);
    ds = std::move(sm.data);
    const double skip_frac = sm.examined ? double(sm.skipped()) / double(sm.examined) : 0.0;
    double file_qed = 0;
    for (auto r : ds.source_row) file_qed += table.column("qed")[static_cast<std::size_t>(r)];
    if (!ds.source_row.empty()) file_qed /= double(ds.source_row.size());
    std::cout << "ZINC-250k: " << table.rows() << " rows, GDSS test index " << test_idx.size() << " rows, training pool "
              << split_rows << "; drew " << sm.examined << " rows at random (seed " << seed << "), kept "
              << ds.graphs.size() << ", skipped " << sm.skipped() << " (" << fmt_fixed(100 * skip_frac, 2)
              << " %): out of vocabulary " << sm.out_of_vocab << ", > " << max_atoms << " atoms " << sm.too_many_atoms
              << ", other " << sm.other << "; vocabulary";
    for (const auto& s : vocab.symbols) std::cout << " " << s;
    std::cout << "\n";
    for (std::size_t i = 0; i < std::min<std::size_t>(5, ds.skipped.size()); ++i)
      std::cout << "  skipped row " << ds.skipped[i] << "\n";
    dataset_json = {{"name", "ZINC-250k"},
                    {"file", (fs::path(data_dir) / "zinc250k.tsv.gz").string()},
                    {"rows", table.rows()},
                    {"test_index", (fs::path(data_dir) / "gdss_test_idx.txt").string()},
                    {"test_rows", test_idx.size()},
                    {"training_pool_rows", split_rows},
                    {"sampling", "Fisher-Yates shuffle of the training pool with CounterRng(seed, 0x5348), then the "
                                 "first --train-size rows that convert (data::sample_molecules)"},
                    {"vocab", zinc_vocab},
                    {"atom_types", vocab.symbols},
                    {"max_atoms", max_atoms},
                    {"rows_examined", sm.examined},
                    {"skipped", {{"total", sm.skipped()}, {"fraction_of_examined", skip_frac},
                                 {"out_of_vocabulary", sm.out_of_vocab}, {"too_many_atoms", sm.too_many_atoms},
                                 {"other", sm.other},
                                 {"examples", std::vector<std::string>(ds.skipped.begin(),
                                                                       ds.skipped.begin() + std::min<std::size_t>(20, ds.skipped.size()))}}},
                    {"train_qed_file_mean", file_qed}};
  } else {
    all_smiles = data::read_qm9_smiles((fs::path(data_dir) / "SMILES").string());
    if (split == "all") {
      rows.resize(all_smiles.size());
      std::iota(rows.begin(), rows.end(), 0);
    } else {
      rows = data::read_qm9_split((fs::path(data_dir) / "splits" / (split + ".train.index")).string(),
                                  static_cast<std::int64_t>(all_smiles.size()));
    }
    split_rows = static_cast<std::int64_t>(rows.size());
    {  // Fisher-Yates with the seed, then the first molecules that convert
      CounterRng sh(seed, 0x5348);
      for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[sh.next_below(i)]);
    }
    std::vector<std::int64_t> take(rows.begin(), rows.begin() + std::min<std::int64_t>(split_rows, train_size * 11 / 10 + 100));
    ds = data::load_molecule_dataset(all_smiles, vocab, max_atoms, false, take);
    if (static_cast<std::int64_t>(ds.graphs.size()) > train_size) {
      ds.graphs.resize(static_cast<std::size_t>(train_size));
      ds.smiles.resize(static_cast<std::size_t>(train_size));
    }
    dataset_json = {{"name", "QM9"}, {"split", split}, {"split_rows", split_rows}};
  }
  std::vector<MolecularGraph> train;
  for (const auto& g : ds.graphs) train.push_back(to_molgen(g));
  const std::int64_t T_ = static_cast<std::int64_t>(train.size());
  if (!zinc)
    std::cout << "QM9: " << all_smiles.size() << " molecules, split " << split << ": " << split_rows << " rows; training on "
              << T_ << " (skipped " << ds.num_skipped() << " zwitterions/unconvertible among the drawn rows)\n";
  if (T_ == 0) throw std::runtime_error("no training molecules");
  if (app.count("--stop-temperature") && decoder != "autoregressive") {
    std::cerr << "error: --stop-temperature applies to --decoder autoregressive only\n";
    return 2;
  }
  // The autoregressive sampler chosen on 2026-12-01 (docs/lab/molecule_generation.md, "Size matching"):
  // size matching, T = 1.3 for atoms and bonds, STOP at its trained probability. Explicit flags win.
  if (decoder == "autoregressive") {
    if (app.count("--ar-size-matching") == 0) ar_size_matching = true;  // counts --no-ar-size-matching too
    if (!app.count("--temperature")) temperature = 1.3;
    if (!app.count("--stop-temperature")) stop_temperature = 1.0;
  }
  if ((ar_size_matching || app.count("--size-calibration")) && decoder != "autoregressive") {
    std::cerr << "error: --ar-size-matching and --size-calibration apply to --decoder autoregressive only (the "
                 "other decoders already draw the atom count from the training sizes)\n";
    return 2;
  }
  if (valence_reg > 0 && decoder == "autoregressive") {
    std::cerr << "error: --valence-reg applies to --decoder all-at-once|mlp (the autoregressive model masks valences "
                 "when it samples)\n";
    return 2;
  }
  if (app.count("--size-calibration") && !ar_size_matching) {
    std::cerr << "error: --size-calibration needs --ar-size-matching\n";
    return 2;
  }
  if (decoder == "autoregressive") {  // a separate model and loop (run_autoregressive above)
    if (temperature <= 0) {
      std::cerr << "error: --decoder autoregressive needs --temperature > 0 (it scales the sampling softmax)\n";
      return 2;
    }
    ArRunArgs ar;
    ar.train = &train;
    ar.train_smiles = &ds.smiles;
    ar.dataset_name = dname;
    ar.dataset_json = dataset_json;
    ar.out_dir = out_dir;
    ar.vocab = &vocab;
    ar.valences = max_valences(vocab.symbols);
    ar.cfg.atom_types = static_cast<std::int64_t>(vocab.symbols.size());
    ar.cfg.bond_types = 3;
    ar.cfg.max_valence = ar.valences;
    ar.cfg.hidden = app.count("--hidden") ? hidden : 24;
    ar.cfg.layers = app.count("--dec-layers") ? std::max(1, dec_layers) : 2;
    ar.cfg.state = ar_state;
    ar.cfg.max_atoms = max_atoms;
    ar.cfg.seed = seed;
    ar.epochs = epochs;
    ar.batch = batch;
    ar.threads = threads;
    ar.lr = lr;
    ar.clip = clip;
    ar.max_minutes = max_minutes;
    ar.temperature = temperature;
    ar.stop_temperature = stop_temperature;
    ar.samples = samples;
    ar.seed = seed;
    ar.sample_seed = final_sample_seed;
    ar.load = load;
    ar.size_matching = ar_size_matching;
    ar.size_calibration = size_calibration;
    ar.resume = resume;
    ar.resume_cfg = examples::cli_config(app, {"--out"});
    ar.resume_cfg["trainer"] = "molecule_generation";
    if (novelty_all) {
      for (std::int64_t r : rows) ar.whole_split_smiles.push_back(all_smiles[static_cast<std::size_t>(r)]);
      ar.whole_split_name = zinc ? "all " + std::to_string(split_rows) + " rows of the ZINC-250k training pool"
                                 : "all " + std::to_string(split_rows) + " rows of splits/" + split + ".train.index";
    }
    return run_autoregressive(ar);
  }

  // class statistics, size pool
  const std::int64_t F = static_cast<std::int64_t>(vocab.symbols.size()), E = 3;
  std::vector<double> bond_counts(static_cast<std::size_t>(E + 1), 0.0), atom_counts(static_cast<std::size_t>(F), 0.0);
  std::vector<std::int64_t> size_pool;
  std::map<std::int64_t, std::int64_t> size_hist;
  for (const auto& g : train) {
    size_pool.push_back(g.n);
    ++size_hist[g.n];
    for (auto t : g.atom_type) atom_counts[static_cast<std::size_t>(t)] += 1;
    bond_counts[0] += static_cast<double>(g.n * (g.n - 1) / 2 - static_cast<std::int64_t>(g.bonds.size()));
    for (const auto& b : g.bonds) bond_counts[static_cast<std::size_t>(std::get<2>(b) + 1)] += 1;
  }
  MolGenConfig cfg;
  cfg.atom_types = F;
  cfg.bond_types = E;
  cfg.hidden = hidden;
  cfg.latent = latent;
  cfg.enc_layers = enc_layers;
  cfg.dec_layers = dec_layers;
  cfg.dec_edge_channels = dec_edge;
  cfg.coarse_hidden = coarse_hidden;
  cfg.clusters.clear();
  if (levels != "none" && !levels.empty()) {
    std::stringstream ss(levels);
    std::string tok;
    while (std::getline(ss, tok, ',')) cfg.clusters.push_back(std::stoll(tok));
  }
  cfg.prior = prior == "learned" ? PriorKind::Learned : PriorKind::Standard;
  cfg.prior_slots = slots;
  cfg.beta = beta;
  cfg.lambda_coarse = lambda_coarse;
  cfg.lambda_balance = lambda_balance;
  cfg.bond_weight = class_weights(bond_counts, bond_power);
  cfg.atom_weight = class_weights(atom_counts, atom_power);
  cfg.seed = seed;
  cfg.decoder = decoder == "mlp" ? DecoderKind::Mlp : DecoderKind::AllAtOnce;
  cfg.max_atoms = max_atoms;
  cfg.mlp_hidden = mlp_hidden;
  MolGenModel<float> model(cfg);
  if (!load.empty()) {
    nn::load_checkpoint(model, load);
    std::cout << "loaded " << load << "\n";
  }
  const std::vector<int> valences = max_valences(vocab.symbols);
  std::cout << "model: " << model.num_parameters() << " parameters; decoder " << decoder << "; levels " << levels << "; prior " << prior
            << "; bond weights";
  for (double w : cfg.bond_weight) std::cout << " " << fmt_fixed(w, 3);
  std::cout << "; atom weights";
  for (double w : cfg.atom_weight) std::cout << " " << fmt_fixed(w, 3);
  std::cout << "\n";

  // ---- training --------------------------------------------------------------------------------
  nn::Adam<float> opt(model.parameters(), static_cast<float>(lr));
  examples::CheckedOptimizer<nn::Adam<float>, float> checked{opt, model.parameters(), {}};  // drops a non-finite step
  examples::Divergence divergence;
  bool run_diverged = false;
  std::vector<double> slot_count(static_cast<std::size_t>(slots), 0.0);
  json history = json::array();
  std::vector<double> epoch_seconds;
  std::vector<std::size_t> order(static_cast<std::size_t>(T_));
  std::iota(order.begin(), order.end(), 0);
  CounterRng shuf(seed, 0x7368);
  ValenceReg vreg;  // prior draws of the valence penalty use the previous epoch's slot usage (uniform in epoch 1)
  vreg.weight = valence_reg;
  vreg.caps = valences;
  vreg.temperature = valence_reg_temperature;
  vreg.isolated_weight = valence_reg_isolated;
  const auto t_train = Clock::now();
  int epochs_run = 0;
  // ---- --resume (all-at-once decoder): parameters, Adam state, the shuffled order and the shuffle
  // stream's position, the slot usage of the last epoch (next epoch's valence-penalty prior draws and
  // the sampling), history; noise streams are keyed by (epoch, step), β by the epoch.
  const std::string state_file = resume.enabled() ? resume.path() : std::string();
  json resume_cfg = examples::cli_config(app, {"--out"});
  resume_cfg["trainer"] = "molecule_generation";
  double train_seconds_before = 0;
  bool stopped = false;
  int first_ep = 0;
  if (resume.enabled()) {
    resume.prepare();
    if (fs::exists(state_file)) {
      const auto meta = nn::read_safetensors_metadata(state_file);
      examples::check_resume_config(state_file, meta, resume_cfg);
      const auto st = nn::load_training_state<float>(state_file, model, opt);
      const auto& mt = st.metadata;
      const int done = static_cast<int>(examples::meta_int(mt, "epoch", state_file));
      const json ord = json::parse(examples::meta_at(mt, "order", state_file));
      if (ord.size() != order.size()) throw nn::StateMismatchError("order", "'" + state_file + "': order has another length");
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = ord[i].get<std::size_t>();
      shuf.set_position(static_cast<std::uint64_t>(examples::meta_int(mt, "shuffle_position", state_file)));
      slot_count = examples::parse_exact_list(examples::meta_at(mt, "slot_count", state_file), "slot_count");
      if (slot_count.size() != static_cast<std::size_t>(slots)) throw nn::StateMismatchError("slot_count", "'" + state_file + "': slot count differs");
      history = json::parse(examples::meta_at(mt, "history", state_file));
      epoch_seconds = examples::parse_exact_list(examples::meta_at(mt, "epoch_seconds", state_file), "epoch_seconds");
      epochs_run = static_cast<int>(examples::meta_int(mt, "epochs_run", state_file));
      stopped = examples::meta_at(mt, "stopped", state_file) == "1";
      train_seconds_before = examples::meta_double(mt, "train_seconds", state_file);
      if (kl_warmup > 0 && done > 0) {  // β of the last step taken (the model keeps the value last set)
        const std::int64_t last_start = ((T_ - 1) / batch) * batch;
        model.set_beta(beta * std::min(1.0, (done - 1 + static_cast<double>(last_start) / static_cast<double>(T_)) / kl_warmup));
      }
      first_ep = stopped ? epochs : done;
      std::cout << "resuming from " << state_file << " after epoch " << done << (stopped ? " (training had stopped)" : "") << std::endl;
    } else {
      std::cout << "no " << state_file << " yet: starting fresh" << std::endl;
    }
  }
  for (int ep = first_ep; ep < epochs; ++ep) {
    const auto t0 = Clock::now();
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuf.next_below(i)]);
    if (cfg.prior == PriorKind::Learned && ep > 0) vreg.slot_probs = slot_count;
    std::fill(slot_count.begin(), slot_count.end(), 0.0);
    MolEpochSums sums;
    std::int64_t steps = 0;
    for (std::int64_t start = 0; start < T_; start += batch, ++steps) {
      ArenaScope scope;
      std::vector<MolecularGraph> gs;
      for (std::int64_t k = start; k < std::min<std::int64_t>(T_, start + batch); ++k) gs.push_back(train[order[k]]);
      if (kl_warmup > 0)
        model.set_beta(beta * std::min(1.0, (ep + static_cast<double>(start) / static_cast<double>(T_)) / kl_warmup));
      const auto f = train_step(model, checked, gs, F, E, seed, ep, steps, clip, valence_reg > 0 ? &vreg : nullptr);
      divergence.epoch = ep + 1;
      divergence.step = static_cast<long long>(ep) * ((T_ + batch - 1) / batch) + steps + 1;
      if (examples::diverged<float>({{"loss", f.loss}, {"bond_ce", f.bond_ce}, {"atom_ce", f.atom_ce}, {"kl", f.kl},
                                     {"coarse_rec", f.coarse_rec}, {"coarse_kl", f.coarse_kl}, {"balance", f.balance},
                                     {"valence_penalty", f.valence}},
                                    checked.bad, divergence)) {
        run_diverged = true;
        break;
      }
      sums.add(f, static_cast<std::int64_t>(gs.size()));
      for (auto j : f.prior_match) slot_count[static_cast<std::size_t>(j)] += 1;
    }
    if (run_diverged) {  // no checkpoint is written: model.safetensors from an earlier run is kept
      divergence.report("molecule_generation");
      std::string cmdline;
      for (int i = 0; i < argc; ++i) cmdline += (i ? " " : "") + std::string(argv[i]);
      fs::create_directories(out_dir);
      write_atomic(fs::path(out_dir) / "metrics.json",
                   json{{"diverged", divergence.to_json()}, {"command", cmdline}, {"training", {{"history", history}}}}.dump(2) +
                       "\n");
      return examples::kExitDiverged;
    }
    const double sec = seconds_since(t0);
    epoch_seconds.push_back(sec);
    ++epochs_run;
    json h = {{"epoch", ep + 1},
              {"loss", sums.mean(sums.loss)},
              {"bond_ce", sums.mean(sums.bond_ce)},
              {"atom_ce", sums.mean(sums.atom_ce)},
              {"kl", sums.mean(sums.kl)},
              {"coarse_rec", sums.mean(sums.coarse_rec)},
              {"coarse_kl", sums.mean(sums.coarse_kl)},
              {"balance", sums.mean(sums.balance)},
              {"valence_penalty", sums.mean(sums.valence)},
              {"bond_acc", sums.bond_acc()},
              {"atom_acc", sums.atom_acc()},
              {"seconds", sec}};
    std::cout << "epoch " << ep + 1 << "/" << epochs << "  loss " << fmt_fixed(sums.mean(sums.loss), 3) << "  bond "
              << fmt_fixed(sums.mean(sums.bond_ce), 3) << "  atom " << fmt_fixed(sums.mean(sums.atom_ce), 3) << "  kl "
              << fmt_fixed(sums.mean(sums.kl), 2) << "  coarse " << fmt_fixed(sums.mean(sums.coarse_rec), 3) << "/"
              << fmt_fixed(sums.mean(sums.coarse_kl), 2) << "  bal " << fmt_fixed(sums.mean(sums.balance), 3)
              << (valence_reg > 0 ? "  val " + fmt_fixed(sums.mean(sums.valence), 3) : std::string()) << "  bond_acc "
              << fmt_fixed(sums.bond_acc(), 3) << "  atom_acc " << fmt_fixed(sums.atom_acc(), 3) << "  " << fmt_fixed(sec, 1)
              << " s/epoch";
    if (eval_samples > 0) {
      const auto t_probe = Clock::now();
      const auto g = generate(model, eval_samples, size_pool, slot_count, valences, seed + 7777 + static_cast<std::uint64_t>(ep));
      const auto raw = metrics::evaluate_generation(g.raw, vocab, {}, metrics::GenerationOptions{false});
      const auto cor = metrics::evaluate_generation(g.corrected, vocab, {}, metrics::GenerationOptions{false});
      h["probe_valid_raw"] = raw.validity;
      h["probe_valid_corrected"] = cor.validity;
      h["probe_unique_corrected"] = cor.uniqueness;
      h["probe_seconds"] = seconds_since(t_probe);
      std::cout << "  | probe(" << eval_samples << ") valid w/o corr (connected) " << fmt_fixed(raw.validity, 3) << ", corrected "
                << fmt_fixed(cor.validity, 3) << ", unique " << fmt_fixed(cor.uniqueness, 3);
    }
    std::cout << std::endl;
    history.push_back(h);
    if (max_minutes > 0 && train_seconds_before + seconds_since(t_train) > 60.0 * max_minutes) {
      std::cout << "stopping: --max-minutes " << max_minutes << " reached after epoch " << ep + 1 << "\n";
      stopped = true;
    }
    if (resume.due(ep + 1, epochs) || (stopped && resume.enabled())) {  // the complete state after this epoch, atomically
      nn::save_training_state<float>(state_file, model, opt,
                                     {{"config", resume_cfg.dump()},
                                      {"epoch", std::to_string(ep + 1)},
                                      {"order", json(order).dump()},
                                      {"shuffle_position", std::to_string(shuf.position())},
                                      {"slot_count", examples::exact_list(slot_count)},
                                      {"history", history.dump()},
                                      {"epoch_seconds", examples::exact_list(epoch_seconds)},
                                      {"epochs_run", std::to_string(epochs_run)},
                                      {"stopped", stopped ? "1" : "0"},
                                      {"train_seconds", nn::format_exact(train_seconds_before + seconds_since(t_train))}});
      std::cout << "checkpoint: epoch " << ep + 1 << " -> " << state_file << std::endl;
    }
    if (stopped) break;
  }
  const double train_seconds = train_seconds_before + seconds_since(t_train);
  nn::save_checkpoint(model, (fs::path(out_dir) / "model.safetensors").string(),
                      {{"model", "molgen"}, {"levels", levels}, {"prior", prior}, {"decoder", decoder}});

  // ---- sampling --------------------------------------------------------------------------------
  std::vector<double> slot_probs;
  std::vector<std::vector<std::int64_t>> slot_sets;
  std::string slot_usage_source = "none (standard prior)";
  if (cfg.prior == PriorKind::Learned) {
    slot_probs = slot_count;  // usage in the last training epoch
    slot_usage_source = "free matches of the last training epoch (sampled noise)";
    if (epochs_run == 0 || slot_sampling == "empirical") {  // one pass over the training set, z = μ
      const auto t_match = Clock::now();
      std::vector<double> usage(static_cast<std::size_t>(slots), 0.0);
      for (std::int64_t start = 0; start < T_; start += 250) {
        ArenaScope scope;
        std::vector<MolecularGraph> gs(train.begin() + start, train.begin() + std::min<std::int64_t>(T_, start + 250));
        const auto mb = MolBatch<float>::make(gs, F, E);
        const auto m = model.match_slots(mb);
        for (std::int64_t g = 0; g < mb.b.graphs(); ++g) {
          slot_sets.emplace_back(m.begin() + mb.b.node_off[g], m.begin() + mb.b.node_off[g + 1]);
          for (std::int64_t i = mb.b.node_off[g]; i < mb.b.node_off[g + 1]; ++i) usage[static_cast<std::size_t>(m[i])] += 1;
        }
      }
      if (epochs_run == 0) {
        slot_probs = usage;
        slot_usage_source = "free matches of the training molecules' posterior means";
      }
      std::cout << "slot matching over the training set: " << fmt_fixed(seconds_since(t_match), 1) << " s\n";
    }
  }
  const auto t_sample = Clock::now();
  const Generated gen = generate(model, samples, size_pool, slot_probs, valences, final_sample_seed, temperature,
                                 slot_sampling == "empirical" && !slot_sets.empty() ? &slot_sets : nullptr,
                                 debias ? &cfg.bond_weight : nullptr);
  const double sample_seconds = seconds_since(t_sample);

  // ---- metrics ---------------------------------------------------------------------------------
  const auto t_metrics = Clock::now();
  const auto train_set = metrics::canonical_smiles_set(ds.smiles);
  const auto raw = metrics::evaluate_generation(gen.raw, vocab, train_set);
  const auto raw_conn = metrics::evaluate_generation(gen.raw, vocab, train_set, metrics::GenerationOptions{false});
  const auto raw_gdss = metrics::gdss_validity_without_correction(gen.raw, vocab);
  const auto cor = metrics::evaluate_generation(gen.corrected, vocab, train_set, metrics::GenerationOptions{false});
  json novelty_all_json = nullptr;
  if (novelty_all) {
    std::vector<std::string> split_smiles;
    for (std::int64_t r : rows) split_smiles.push_back(all_smiles[static_cast<std::size_t>(r)]);
    const auto whole = metrics::canonical_smiles_set(split_smiles);
    std::unordered_set<std::string> uniq(cor.valid_smiles.begin(), cor.valid_smiles.end());
    std::int64_t novel = 0;
    for (const auto& s : uniq) novel += whole.count(s) ? 0 : 1;
    novelty_all_json = {{"reference", zinc ? "all " + std::to_string(split_rows) + " rows of the ZINC-250k training pool "
                                                 "(rows not in gdss_test_idx.txt)"
                                           : "all " + std::to_string(split_rows) + " rows of splits/" + split + ".train.index"},
                        {"reference_unique_canonical", whole.size()},
                        {"novel", novel},
                        {"novelty", uniq.empty() ? 0.0 : double(novel) / double(uniq.size())}};
  }
  std::vector<double> qeds;
  for (const auto& s : cor.valid_smiles)
    if (auto q = metrics::qed(s)) qeds.push_back(*q);
  const MeanStd q = mean_std(qeds);
  std::vector<double> gen_sizes;
  for (const auto& g : gen.corrected) gen_sizes.push_back(static_cast<double>(g.n));
  const double metrics_seconds = seconds_since(t_metrics);

  // ---- outputs ---------------------------------------------------------------------------------
  {
    std::ostringstream c, r;
    for (const auto& g : gen.corrected) {
      std::string why;
      auto s = data::graph_to_smiles(g, vocab, &why);
      c << (s ? *s : "INVALID\t" + why) << "\n";
    }
    for (const auto& g : gen.raw) {
      std::string why;
      auto s = data::graph_to_smiles(g, vocab, &why);
      r << (s ? *s : "INVALID\t" + why) << "\n";
    }
    write_atomic(fs::path(out_dir) / "generated.smi", c.str());
    write_atomic(fs::path(out_dir) / "generated_raw.smi", r.str());
    std::ostringstream gr;
    for (const auto& g : gen.raw) {
      gr << g.n << " |";
      for (auto t : g.atom_type) gr << " " << t;
      gr << " |";
      for (const auto& [u, v, t] : g.bonds) gr << " " << u << "-" << v << "-" << t;
      gr << "\n";
    }
    write_atomic(fs::path(out_dir) / "generated_raw.graphs", gr.str());
  }
  std::string svg_note = "samples.svg: first 48 valid corrected samples (RDKit MolDraw2DSVG)";
  try {
    std::string svg = svg_grid(cor.valid_smiles, 48);
    if (zinc) {  // name the data set in the file (QM9 output unchanged)
      const auto gt = svg.find('>', svg.find("<svg"));
      if (gt != std::string::npos)
        svg.insert(gt + 1, "\n<title>MGVAE samples, trained on ZINC-250k (" + std::to_string(T_) +
                               " molecules, decoder " + decoder + ")</title>\n<!-- data set: ZINC-250k -->");
      svg_note += "; trained on ZINC-250k";
    }
    write_atomic(fs::path(out_dir) / "samples.svg", svg);
  } catch (const std::exception& e) {
    svg_note = std::string("samples.svg not written: ") + e.what();
  }
  json interp_json = nullptr;
  if (interp_steps >= 2) {
    const auto t_interp = Clock::now();
    data::MolGraph ga, gb;
    std::string sa, sb, source;
    if (!interpolate_arg.empty()) {
      const auto comma = interpolate_arg.find(',');
      if (comma == std::string::npos) throw std::runtime_error("--interpolate wants SMILES_A,SMILES_B");
      sa = interpolate_arg.substr(0, comma);
      sb = interpolate_arg.substr(comma + 1);
      std::string why;
      auto a = data::smiles_to_graph(sa, vocab, max_atoms, false, &why);
      if (!a) throw std::runtime_error("--interpolate: cannot use '" + sa + "': " + why);
      auto bg = data::smiles_to_graph(sb, vocab, max_atoms, false, &why);
      if (!bg) throw std::runtime_error("--interpolate: cannot use '" + sb + "': " + why);
      ga = *a;
      gb = *bg;
      source = "--interpolate";
    } else {  // two training molecules with the same atom count and different SMILES, chosen by the seed
      CounterRng r(seed, 0x696e7470);
      for (std::uint64_t tries = 0; tries < 1000 && gb.n == 0; ++tries) {
        const std::size_t i = r.next_below(static_cast<std::uint64_t>(T_));
        std::vector<std::size_t> same;
        for (std::size_t j = 0; j < train.size(); ++j)
          if (j != i && train[j].n == train[i].n && ds.smiles[j] != ds.smiles[i]) same.push_back(j);
        if (same.empty() || train[i].n < 2) continue;
        const std::size_t j = same[r.next_below(same.size())];
        ga = ds.graphs[i];
        gb = ds.graphs[j];
        sa = ds.smiles[i];
        sb = ds.smiles[j];
      }
      source = "two training molecules with equal atom counts chosen by --seed";
    }
    if (gb.n > 0) {
      std::vector<std::string> strip, labels;
      interp_json = interpolate(model, ga, gb, interp_steps, vocab, valences, cfg.decoder == DecoderKind::AllAtOnce,
                                strip, labels);
      interp_json["a"] = sa;
      interp_json["b"] = sb;
      interp_json["source"] = source;
      interp_json["latents"] = "posterior means of the finest level, linear interpolation";
      interp_json["decoding"] = "argmax atom types, then the correcting process";
      std::vector<std::string> list;
      for (const auto& st : interp_json["steps"]) list.push_back(st["smiles"].is_string() ? st["smiles"].get<std::string>() : "");
      interp_json["smiles"] = list;
      {  // do the endpoints decode back to A and B? (canonical, non-isomeric)
        auto canon = [](const std::string& x) { return x.empty() ? std::string() : data::canonical_smiles(x, false).value_or(""); };
        interp_json["a_reconstructed"] = !list.empty() && !canon(sa).empty() && canon(sa) == canon(list.front());
        interp_json["b_reconstructed"] = !list.empty() && !canon(sb).empty() && canon(sb) == canon(list.back());
      }
      interp_json["svg"] = "interpolation.svg";
      try {
        write_atomic(fs::path(out_dir) / "interpolation.svg", svg_grid(strip, interp_steps, interp_steps, 180, 180, &labels, true));
      } catch (const std::exception& e) {
        interp_json["svg"] = std::string("not written: ") + e.what();
      }
      interp_json["seconds"] = seconds_since(t_interp);
      std::cout << "interpolation " << sa << " -> " << sb << ":";
      for (const auto& s : list) std::cout << " " << (s.empty() ? "INVALID" : s);
      std::cout << "\n";
    }
  }
  const MeanStd es = mean_std(epoch_seconds);
  json sh = json::object();
  for (auto [n, c] : size_hist) sh[std::to_string(n)] = c;
  json metrics_json = {
      {"task", decoder == "mlp" ? dname + " molecule generation, MGVAE with the MLP decoder (Table 6 ablation)"
                                : dname + " molecule generation, all-at-once second-order MGVAE"},
      {"dataset", dataset_json},
      {"decoder", decoder},
      {"interpolation", interp_json},
      {"samples", samples},
      {"sampling", {{"slot_sampling", cfg.prior == PriorKind::Learned ? slot_sampling : std::string("n/a")},
                    {"temperature", temperature}, {"debias", debias}, {"slot_usage", slot_usage_source},
                    {"slot_probs", slot_probs}, {"loaded", load}}},
      {"validity_without_correction", raw.validity},
      {"validity_without_correction_connected", raw_conn.validity},
      {"validity_without_correction_gdss", raw_gdss.validity},
      {"validity_without_correction_gdss_detail",
       {{"definition", "GDSS/MoFlow: RDKit valence check only (SANITIZE_PROPERTIES), fragments allowed; an N/O/S "
                       "atom one bond over its valence is made a +1 cation (construct_mol); "
                       "metrics::gdss_validity_without_correction"},
        {"valid", raw_gdss.valid}, {"valid_only_with_added_charge", raw_gdss.valid_with_added_charge},
        {"valid_fragmented", raw_gdss.valid_fragmented}}},
      {"validity", cor.validity},
      {"uniqueness", cor.uniqueness},
      {"novelty", cor.novelty},
      {"novelty_reference", "the " + std::to_string(T_) + " training molecules (canonical SMILES)"},
      {"novelty_vs_whole_split", novelty_all_json},
      {"counts", {{"valid_raw", raw.valid}, {"valid_raw_connected", raw_conn.valid}, {"valid", cor.valid},
                  {"unique", cor.unique}, {"novel", cor.novel}}},
      {"uniqueness_without_correction", raw.uniqueness},
      {"qed", {{"mean", q.mean}, {"std", q.std}, {"n", q.n}, {"over", "valid corrected samples"}}},
      {"correction", {{"molecules_with_lowered_or_dropped_bonds", gen.downgraded_mols},
                      {"molecules_joined", gen.connected_mols},
                      {"molecules_with_dropped_fragments", gen.dropped_mols},
                      {"bonds_lowered", gen.totals.downgraded}, {"bonds_dropped", gen.totals.skipped},
                      {"bonds_added_to_connect", gen.totals.connecting}, {"atoms_dropped", gen.totals.dropped_atoms}}},
      {"generated_atoms_mean", mean_std(gen_sizes).mean},
      {"seconds_per_epoch", es.mean},
      {"seconds_per_epoch_std", es.std},
      {"train_seconds", train_seconds},
      {"epochs_run", epochs_run},
      {"sampling_seconds", sample_seconds},
      {"sampling_note", "prior draw + decoder + argmax + correcting process for all samples, without RDKit scoring"},
      {"metrics_seconds", metrics_seconds},
      {"total_seconds", seconds_since(t_all)},
      {"svg", svg_note},
      {"invalid_raw_examples", json(std::vector<std::string>(raw.invalid_log.begin(),
                                                             raw.invalid_log.begin() + std::min<std::size_t>(20, raw.invalid_log.size())))},
      {"config",
       {{"dataset", dataset}, {"data", data_dir}, {"split", zinc ? json("gdss") : json(split)}, {"train_size", T_}, {"epochs", epochs}, {"batch", batch}, {"lr", lr},
        {"seed", seed}, {"sample_seed", final_sample_seed}, {"threads", threads}, {"decoder", decoder}, {"max_atoms", max_atoms}, {"mlp_hidden", mlp_hidden},
        {"hidden", hidden}, {"latent", latent}, {"enc_layers", enc_layers},
        {"dec_layers", dec_layers}, {"dec_edge_channels", dec_edge}, {"levels", levels}, {"coarse_hidden", coarse_hidden},
        {"prior", prior}, {"slots", slots}, {"beta", beta}, {"kl_warmup_epochs", kl_warmup}, {"lambda_coarse", lambda_coarse},
        {"lambda_balance", lambda_balance}, {"bond_weight_power", bond_power}, {"atom_weight_power", atom_power}, {"bond_weight", cfg.bond_weight},
        {"atom_weight", cfg.atom_weight}, {"clip", clip}, {"valence_reg", valence_reg}, {"valence_reg_temperature", valence_reg_temperature},
        {"valence_reg_isolated", valence_reg_isolated}, {"parameters", model.num_parameters()},
        {"train_size_histogram", sh}}},
      {"history", history}};
  write_atomic(fs::path(out_dir) / "metrics.json", metrics_json.dump(2) + "\n");

  std::cout << "samples " << samples << ": validity w/o correction " << fmt_fixed(100 * raw.validity, 2) << " % (connected "
            << fmt_fixed(100 * raw_conn.validity, 2) << " %; GDSS definition " << fmt_fixed(100 * raw_gdss.validity, 2)
            << " %), validity " << fmt_fixed(100 * cor.validity, 2) << " %, uniqueness "
            << fmt_fixed(100 * cor.uniqueness, 2) << " %, novelty " << fmt_fixed(100 * cor.novelty, 2) << " % (vs "
            << T_ << " training molecules)";
  if (!novelty_all_json.is_null()) std::cout << ", " << fmt_fixed(100 * novelty_all_json["novelty"].get<double>(), 2) << " % (vs whole split)";
  std::cout << "\nQED " << fmt_fixed(q.mean, 3) << " ± " << fmt_fixed(q.std, 3) << "; " << fmt_fixed(es.mean, 1) << " s/epoch; sampling "
            << fmt_fixed(sample_seconds, 1) << " s; metrics " << fmt_fixed(metrics_seconds, 1) << " s\n";
  std::cout << "wrote " << (fs::path(out_dir) / "metrics.json").string() << ", generated.smi, generated_raw.smi, generated_raw.graphs, samples.svg\n";
  return 0;
} catch (const std::exception& e) {  // e.g. a data file that is missing or malformed (mgvae::ParseError names it)
  std::cerr << "molecule_generation: error: " << e.what() << "\n";
  return 1;
}
