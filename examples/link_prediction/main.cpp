// Link prediction on a citation graph (Hy & Kondor §5.1, App. D.1): VGAE baseline and first-order
// MGVAE (learned Gumbel clustering, or fixed spectral / k-means clusterings).
//
// Protocol (docs/link_prediction.md): per seed a fresh 85/5/10 edge split (data/edge_split.hpp);
// the encoder sees the training edges only; every epoch the model is evaluated in eval mode
// (z = μ, no sampling, NoGradGuard) on the validation pairs; the reported test AUC/AP are those of
// the epoch with the best validation AUC (test pairs never select anything).
//
//   link_prediction                          # default demo (see --help; < 2 min on 2 cores)
//   link_prediction --model vgae --epochs 200 --seeds 5
//   link_prediction --model mgvae --clustering learned --levels 7 --clusters-per-level 2 --seeds 5
#if defined(_OPENMP)
#include <omp.h>
#endif

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "mgvae/data/edge_split.hpp"
#include "mgvae/data/generators.hpp"
#include "mgvae/data/linqs.hpp"
#include "mgvae/graph/kmeans.hpp"
#include "mgvae/graph/normalize.hpp"
#include "mgvae/graph/spectral.hpp"
#include "mgvae/metrics/link_prediction.hpp"
#include "mgvae/models/models.hpp"
#include "mgvae/nn/checkpoint.hpp"
#include "mgvae/nn/optim.hpp"
#include "../common/divergence.hpp"
#include "../common/example_util.hpp"
#include "../common/resume.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace mgvae;
using T = float;
using Pairs = std::vector<std::pair<std::int64_t, std::int64_t>>;

namespace {

std::string default_data_dir() {
  // $MGVAE_DATA_DIR (as for the tests) replaces the built-in places; without a cora/ there, the
  // generated graph is used, as when no data is installed.
  if (const char* env = std::getenv("MGVAE_DATA_DIR"); env != nullptr && *env != '\0')
    return fs::exists(std::string(env) + "/cora/cora.content") ? std::string(env) + "/cora" : std::string();
#if defined(MGVAE_SOURCE_DIR)
  if (fs::exists(std::string(MGVAE_SOURCE_DIR) + "/../shared/data/cora/cora.content"))
    return std::string(MGVAE_SOURCE_DIR) + "/../shared/data/cora";
#endif
#if defined(MGVAE_DEFAULT_DATA_DIR)
  if (fs::exists(std::string(MGVAE_DEFAULT_DATA_DIR) + "/cora/cora.content")) return std::string(MGVAE_DEFAULT_DATA_DIR) + "/cora";
#endif
  if (fs::exists("../shared/data/cora/cora.content")) return "../shared/data/cora";
  return "";
}

double mean_of(const std::vector<double>& v) { return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }
double std_of(const std::vector<double>& v) {  // population std (numpy default), as the paper's tables
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

struct Scores {
  double auc = 0, ap = 0;
};

// Pairs scored by the inner-product decoder σ(⟨μ_u, μ_v⟩), ranked by logit (metrics/link_prediction.hpp).
Scores score_pairs(const Var<T>& mu, const Pairs& pos, const Pairs& neg) {
  const metrics::LinkEval e = metrics::evaluate_link_prediction(mu, pos, neg);
  return Scores{e.auc, e.ap};
}

json balance_json(const graph::ClusterBalance& b) {
  return json{{"clusters", b.k}, {"min", b.min}, {"max", b.max}, {"mean", b.mean}, {"std", b.stddev},
              {"empty", b.empty}, {"kl_uniform", b.kl_uniform}};
}

Pairs sample_negatives(std::int64_t n, std::size_t count, const CsrMatrix<T>& adj, CounterRng rng) {
  Pairs out;
  out.reserve(count);
  while (out.size() < count) {
    auto u = static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(n)));
    auto v = static_cast<std::int64_t>(rng.next_below(static_cast<std::uint64_t>(n)));
    if (u == v || models::detail::csr_has(adj, u, v)) continue;
    out.emplace_back(std::min(u, v), std::max(u, v));
  }
  return out;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"MGVAE / VGAE link prediction on citation graphs (Hy & Kondor 5.1, App. D.1)"};
  app.option_defaults()->always_capture_default();  // --help shows each option's default
  std::string data_dir, prefix, model = "mgvae", clustering = "learned", out_dir = "runs/link_prediction", recon = "dense";
  int levels = 7, layers = 1, epochs = 100, seeds = 1, threads = 2, log_every = 10;
  std::int64_t k = 2, latent = 16, hidden = 32;
  std::uint64_t seed_base = 1;
  double lr = 0.01, w_local = 0.1, w_coarse = 0.01, w_balance = 1.0, w_kl = 1.0;
  bool no_local_grad = false;
  double hierarchy_grad = 0.0;
  std::string balance_on = "sample";
  double w_infomax = 0.0;
  bool standardize_logits = false;
  double cluster_logit_scale = 1.0;
  app.add_option("--data", data_dir, "LINQS directory (<dir>/<prefix>.content, .cites); default $MGVAE_DATA_DIR/cora or ../shared/data/cora, else a generated SBM graph");
  app.add_option("--prefix", prefix, "LINQS file prefix (default: the directory's basename)");
  app.add_option("--model", model, "vgae | mgvae")->check(CLI::IsMember({"vgae", "mgvae"}));
  app.add_option("--clustering", clustering, "MGVAE clustering: learned | spectral | kmeans")
      ->check(CLI::IsMember({"learned", "spectral", "kmeans"}));
  app.add_option("--levels", levels, "L: the finest clustering has K^L clusters, then K^(L-1), ..., 1")->check(CLI::NonNegativeNumber);
  app.add_option("--clusters-per-level", k, "K (App. D.1: K = 2 with L = 7, K = 4 with L = 3)")->check(CLI::PositiveNumber);
  app.add_option("--layers", layers, "hidden GCN layers per encoder (VGAE: 1)")->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "hidden GCN width (VGAE: 32)")->check(CLI::PositiveNumber);
  app.add_option("--latent", latent, "latent size d_z (VGAE: 16; paper's MGVAE: 128)")->check(CLI::PositiveNumber);
  app.add_option("--epochs", epochs, "training epochs per seed")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--seeds", seeds, "number of seeds (seed-base .. seed-base+N-1)")->check(CLI::PositiveNumber);
  app.add_option("--seed-base", seed_base, "first seed");
  app.add_option("--threads", threads, "OpenMP threads")->check(CLI::PositiveNumber);
  app.add_option("--out", out_dir, "output directory (metrics.json, checkpoints)");
  app.add_option("--recon", recon, "finest reconstruction: dense (all N^2 pairs) | sampled (edges + as many random non-edges)")
      ->check(CLI::IsMember({"dense", "sampled"}));
  app.add_option("--w-local", w_local, "weight of the local (per-cluster) decoders");
  app.add_option("--w-coarse", w_coarse, "weight of the coarse global decoders (authors: 0.01)");
  app.add_option("--w-balance", w_balance, "weight of the balanced-cut KL");
  app.add_option("--balance-on", balance_on,
                 "assignment the balanced-cut KL is computed on: sample (training Gumbel sample, the paper) | argmax "
                 "(noiseless Eq. 4 argmax = evaluation partition) | both")
      ->check(CLI::IsMember({"sample", "argmax", "both"}));
  app.add_option("--w-infomax", w_infomax, "weight of the infomax term KL(mean p || U) + mean_i H(p_i) per learned clustering (0 = off)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--standardize-cluster-logits", standardize_logits,
               "column-standardise the learned clustering logits over the nodes before the tanh");
  app.add_option("--cluster-logit-scale", cluster_logit_scale,
                 "multiply the (tanh-bounded) clustering logits by this (1 = paper; larger makes the training Gumbel "
                 "sample follow the evaluation argmax)")
      ->check(CLI::PositiveNumber);
  app.add_option("--w-kl", w_kl, "weight of the Gaussian KL terms");
  app.add_option("--hierarchy-grad", hierarchy_grad, "scale of the gradient the levels above send back into each level's latents (0 = stop-gradient at every level; 1 = plain backprop)");
  app.add_flag("--no-local-grad", no_local_grad, "do not pass local-decoder gradients to the learned clustering");
  app.add_option("--log-every", log_every, "progress line every N epochs")->check(CLI::PositiveNumber);
  examples::ResumeOptions resume;
  examples::add_resume_options(app, resume);
  app.footer(examples::kDivergenceHelp);
  CLI11_PARSE(app, argc, argv);
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif

  // ---- data
  data::CitationData d;
  std::string source;
  if (data_dir.empty()) data_dir = default_data_dir();
  if (!data_dir.empty()) {
    if (prefix.empty()) prefix = fs::path(data_dir).lexically_normal().filename().string();
    if (prefix.empty()) prefix = fs::path(data_dir).lexically_normal().parent_path().filename().string();
    d = data::load_linqs(data_dir, prefix);
    source = data_dir + " (prefix " + prefix + ")";
  } else {
    CounterRng g(12345);
    d = data::sbm_citation_like(g, 1000, 7, 300, 0.02, 0.0008);
    source = "generated SBM citation-like graph (n=1000, 7 communities; no Cora found)";
  }
  std::cout << "data: " << source << ": " << d.graph.n << " nodes, " << d.graph.num_edges() << " edges, " << d.num_features
            << " features\n";
  const std::int64_t n = d.graph.n;
  const CsrMatrix<T> X = graph::dense_to_csr<T>(d.features, n, d.num_features);
  const models::NodeFeatures<T> xin = models::NodeFeatures<T>::of(X);
  std::vector<std::int64_t> hid(static_cast<std::size_t>(layers), hidden);

  models::MgvaeConfig mcfg;
  mcfg.in_features = d.num_features;
  mcfg.hidden = hid;
  mcfg.latent = latent;
  mcfg.levels = levels;
  mcfg.clusters_per_level = k;
  mcfg.clustering = clustering == "learned" ? models::ClusteringKind::Learned : models::ClusteringKind::Fixed;
  mcfg.w_local = w_local;
  mcfg.w_coarse = w_coarse;
  mcfg.w_balance = w_balance;
  mcfg.w_kl = w_kl;
  mcfg.balance_on = balance_on == "argmax" ? models::BalanceOn::Argmax
                    : balance_on == "both" ? models::BalanceOn::Both
                                           : models::BalanceOn::Sample;
  mcfg.w_infomax = w_infomax;
  mcfg.standardize_cluster_logits = standardize_logits;
  mcfg.cluster_logit_scale = cluster_logit_scale;
  mcfg.local_grad_to_clustering = !no_local_grad;
  mcfg.hierarchy_grad = hierarchy_grad;
  if (model == "mgvae") {
    const auto sz = models::level_sizes(n, levels, k);  // validates K^L <= n
    std::cout << "model: MGVAE (first order), clustering " << clustering << ", clusters per level:";
    for (auto s : sz) std::cout << " " << s;
    std::cout << "\n";
  } else {
    std::cout << "model: VGAE (GCN " << hidden << " -> " << latent << ")\n";
  }
  std::cout << "epochs " << epochs << ", lr " << lr << ", seeds " << seed_base << ".." << seed_base + static_cast<std::uint64_t>(seeds) - 1
            << ", threads " << threads << ", recon " << recon << "\n"
            << std::flush;

  fs::create_directories(out_dir);
  json runs = json::array();
  std::vector<double> aucs, aps, vals, spe;
  json balance_rows = json::array();
  // k-means features (PCA-10 of the bag-of-words) do not depend on the split: compute once
  Eigen::MatrixXd pca10;
  if (model == "mgvae" && clustering == "kmeans") pca10 = graph::pca(graph::features_matrix(d.features, n, d.num_features), 10);
  const auto t_all = std::chrono::steady_clock::now();
  long total_epochs_done = 0;
  const long total_epochs = static_cast<long>(epochs) * seeds;
  examples::Divergence divergence;
  bool run_diverged = false;
  json cfg{{"data", source},        {"model", model},   {"clustering", model == "mgvae" ? clustering : "none"},
           {"levels", levels},      {"clusters_per_level", k}, {"layers", layers},
           {"hidden", hidden},      {"latent", latent}, {"epochs", epochs},
           {"lr", lr},              {"seeds", seeds},   {"seed_base", seed_base},
           {"threads", threads},    {"recon", recon},   {"w_local", w_local},
           {"w_coarse", w_coarse},  {"w_balance", w_balance}, {"w_kl", w_kl},
           {"balance_on", balance_on}, {"w_infomax", w_infomax},
           {"standardize_cluster_logits", standardize_logits}, {"cluster_logit_scale", cluster_logit_scale},
           {"local_grad_to_clustering", !no_local_grad}, {"hierarchy_grad", hierarchy_grad}};

  // ---- --resume: continue from DIR/train_state.safetensors (written at the end of an epoch)
  const std::string state_file = resume.enabled() ? resume.path() : std::string();
  json resume_cfg = cfg;
  resume_cfg["trainer"] = "link_prediction";
  std::map<std::string, std::string> resume_meta;  // empty: start fresh
  int start_si = 0, start_ep = 0;                  // seed index and epochs completed in it
  if (resume.enabled()) {
    resume.prepare();
    if (fs::exists(state_file)) {
      resume_meta = nn::read_safetensors_metadata(state_file);
      examples::check_resume_config(state_file, resume_meta, resume_cfg);
      start_si = static_cast<int>(examples::meta_int(resume_meta, "seed_index", state_file));
      start_ep = static_cast<int>(examples::meta_int(resume_meta, "epoch", state_file));
      total_epochs_done = static_cast<long>(examples::meta_int(resume_meta, "total_epochs_done", state_file));
      runs = json::parse(examples::meta_at(resume_meta, "runs", state_file));
      balance_rows = json::parse(examples::meta_at(resume_meta, "balance_rows", state_file));
      aucs = examples::parse_exact_list(examples::meta_at(resume_meta, "aucs", state_file), "aucs");
      aps = examples::parse_exact_list(examples::meta_at(resume_meta, "aps", state_file), "aps");
      vals = examples::parse_exact_list(examples::meta_at(resume_meta, "vals", state_file), "vals");
      spe = examples::parse_exact_list(examples::meta_at(resume_meta, "spe", state_file), "spe");
      if (start_si < 0 || start_si >= seeds || start_ep < 0 || start_ep > epochs || static_cast<int>(aucs.size()) != start_si)
        throw nn::StateMismatchError("epoch", "'" + state_file + "' holds an inconsistent position (seed index " +
                                                  std::to_string(start_si) + ", epoch " + std::to_string(start_ep) + ")");
      std::cout << "resuming from " << state_file << ": seed " << seed_base + static_cast<std::uint64_t>(start_si) << ", after epoch "
                << start_ep << "\n"
                << std::flush;
    } else {
      std::cout << "no " << state_file << " yet: starting fresh\n" << std::flush;
    }
  }

  for (int si = start_si; si < seeds; ++si) {
    const std::uint64_t seed = seed_base + static_cast<std::uint64_t>(si);
    const data::EdgeSplit split = data::split_edges(d.graph, seed);
    const CsrMatrix<T> Anorm = graph::gcn_normalized<T>(split.train_graph);
    const CsrMatrix<T> Araw = graph::adjacency_csr<T>(split.train_graph);
    models::DenseReconTarget<T> target;
    if (recon == "dense") target = models::make_dense_target<T>(n, split.train_pos);
    CounterRng rng(seed * 1000003ull + 17);
    CounterRng init = rng.split(1);
    std::shared_ptr<nn::Module<T>> module;
    std::shared_ptr<models::Vgae<T>> vgae;
    std::shared_ptr<models::Mgvae<T>> mg;
    if (model == "vgae") {
      vgae = std::make_shared<models::Vgae<T>>(d.num_features, hid, latent, init);
      module = vgae;
    } else {
      mg = std::make_shared<models::Mgvae<T>>(mcfg, n, init);
      module = mg;
      if (clustering != "learned") {
        const auto tc = std::chrono::steady_clock::now();
        Eigen::MatrixXd emb;
        if (clustering == "spectral") {
          graph::SpectralOptions so;
          so.isolated = graph::IsolatedNodes::UnitDegree;  // held-out edges leave some nodes isolated
          emb = graph::spectral_embedding(split.train_graph, so);
        } else {
          emb = pca10;
        }
        mg->set_fixed_hierarchy(graph::fixed_hierarchy(emb, mg->sizes(), seed));
        std::cout << "seed " << seed << ": fixed " << clustering << " hierarchy in "
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - tc).count() << " s\n";
      }
    }
    nn::Adam<T> opt(module->parameters(), static_cast<T>(lr));
    models::MgvaeInput<T> in{&Anorm, &Araw, xin};
    models::FinestTarget<T> ft;
    if (recon == "dense") ft.dense = &target;
    else ft.pos = &split.train_pos;

    double best_val = -1, best_val_ap = 0;
    Scores best_test;
    int best_epoch = -1;
    std::vector<Tensor<T>> best_params;
    double sec_train = 0;
    std::map<std::string, double> last_terms;
    std::vector<std::int64_t> last_train_labels;
    int first_ep = 1;
    if (!resume_meta.empty() && si == start_si) {  // everything else is recomputed from the seed and the epoch index
      const nn::TrainingState<T> st = nn::load_training_state<T>(state_file, *module, opt);
      const auto& m = st.metadata;
      best_val = examples::meta_double(m, "best_val", state_file);
      best_val_ap = examples::meta_double(m, "best_val_ap", state_file);
      best_test.auc = examples::meta_double(m, "best_test_auc", state_file);
      best_test.ap = examples::meta_double(m, "best_test_ap", state_file);
      best_epoch = static_cast<int>(examples::meta_int(m, "best_epoch", state_file));
      sec_train = examples::meta_double(m, "sec_train", state_file);
      const json lt = json::parse(examples::meta_at(m, "last_terms", state_file));
      for (const auto& [g, v] : lt.items()) last_terms[g] = nn::parse_exact(v.get<std::string>(), "last_terms");
      last_train_labels = json::parse(examples::meta_at(m, "last_train_labels", state_file)).get<std::vector<std::int64_t>>();
      if (best_epoch > 0) {
        HeapScope heap;
        for (const auto& [name, v] : module->named_parameters()) {
          auto it = st.extra.find("best/" + name);
          if (it == st.extra.end()) throw nn::StateMismatchError("extra/best/" + name, "'" + state_file + "' lacks best/" + name);
          best_params.push_back(it->second.clone());
        }
      }
      first_ep = start_ep + 1;
    }
    for (int ep = first_ep; ep <= epochs; ++ep) {
      const auto t0 = std::chrono::steady_clock::now();
      const CounterRng step_rng = rng.split(100 + static_cast<std::uint64_t>(ep));
      models::LossTerms<T> terms;
      Pairs neg;
      if (recon == "sampled") {
        neg = sample_negatives(n, split.train_pos.size(), Araw, step_rng.split(7));
        ft.neg = &neg;
      }
      if (vgae) {
        const auto q = vgae->forward(Anorm, xin, models::normal_noise<T>(n, latent, step_rng.split(0)));
        terms = recon == "dense" ? vgae->loss(q, target) : vgae->loss_sampled(q, split.train_pos, neg);
      } else {
        const auto noise = mg->draw_noise(step_rng);
        const auto o = mg->forward(in, noise);
        terms = mg->loss(o, in, ft);
        last_train_labels = o.levels.front().clustering.labels;
      }
      const Var<T> loss = terms.total();
      backward(loss);
      {  // divergence check (reads values only): every logged term, the total, then the gradients
        std::vector<std::pair<std::string, double>> tv;
        for (const auto& [name, v] : terms.terms) tv.emplace_back(name, static_cast<double>(v.item()));
        tv.emplace_back("total", static_cast<double>(loss.item()));
        divergence.seed = static_cast<long long>(seed);
        divergence.epoch = divergence.step = ep;  // full batch: one step per epoch
        if (examples::diverged(tv, module->parameters(), divergence)) {
          run_diverged = true;
          break;  // before opt.step(): the parameters stay those of the last finite step
        }
      }
      opt.step();
      opt.zero_grad();
      sec_train += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      last_terms.clear();
      for (const auto& [name, v] : terms.terms) {
        const std::string group = name.substr(0, name.find('['));
        last_terms[group] += static_cast<double>(v.item());
      }
      last_terms["total"] = static_cast<double>(loss.item());
      // ---- evaluation (eval mode: μ, no sampling)
      Scores val, test;
      {
        NoGradGuard ng;
        Var<T> mu;
        if (vgae) mu = vgae->forward(Anorm, xin, Tensor<T>()).mu;
        else mu = mg->forward(in, models::MgvaeNoise<T>{}).base.mu;
        try {
          val = score_pairs(mu, split.val_pos, split.val_neg);
        } catch (const std::domain_error& e) {  // a NaN/Inf logit: the update just taken blew the parameters up
          divergence.term = "val_logits";
          divergence.what = std::string("evaluation after the update: ") + e.what();
          run_diverged = true;
          break;
        }
        if (val.auc > best_val) {
          best_val = val.auc;
          best_val_ap = val.ap;
          best_epoch = ep;
          best_test = score_pairs(mu, split.test_pos, split.test_neg);
          best_params.clear();
          HeapScope heap;
          for (const auto& p : module->parameters()) best_params.push_back(p.value().clone());
        }
      }
      ++total_epochs_done;
      if (ep % log_every == 0 || ep == 1 || ep == epochs) {
        const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
        const double per = el / static_cast<double>(total_epochs_done);
        std::printf("seed %llu epoch %4d | loss %.4f", static_cast<unsigned long long>(seed), ep, last_terms["total"]);
        for (const auto& [g, v] : last_terms)
          if (g != "total") std::printf(" %s %.4f", g.c_str(), v);
        std::printf(" | val AUC %.4f AP %.4f | %.3f s/epoch | ETA %.0f s\n", val.auc, val.ap, per,
                    per * static_cast<double>(total_epochs - total_epochs_done));
        std::fflush(stdout);
      }
      if (resume.due(ep, epochs)) {  // the complete state after this epoch, atomically
        std::map<std::string, std::string> meta{
            {"config", resume_cfg.dump()},
            {"seed_index", std::to_string(si)},
            {"seed", std::to_string(seed)},
            {"epoch", std::to_string(ep)},
            {"total_epochs_done", std::to_string(total_epochs_done)},
            {"best_val", nn::format_exact(best_val)},
            {"best_val_ap", nn::format_exact(best_val_ap)},
            {"best_test_auc", nn::format_exact(best_test.auc)},
            {"best_test_ap", nn::format_exact(best_test.ap)},
            {"best_epoch", std::to_string(best_epoch)},
            {"sec_train", nn::format_exact(sec_train)},
            {"last_train_labels", json(last_train_labels).dump()},
            {"runs", runs.dump()},
            {"balance_rows", balance_rows.dump()},
            {"aucs", examples::exact_list(aucs)},
            {"aps", examples::exact_list(aps)},
            {"vals", examples::exact_list(vals)},
            {"spe", examples::exact_list(spe)}};
        json lt = json::object();
        for (const auto& [g, v] : last_terms) lt[g] = nn::format_exact(v);
        meta["last_terms"] = lt.dump();
        std::vector<std::pair<std::string, Tensor<T>>> extra;
        if (best_epoch > 0) {
          const auto named = module->named_parameters();
          for (std::size_t i = 0; i < named.size() && i < best_params.size(); ++i) extra.emplace_back("best/" + named[i].first, best_params[i]);
        }
        nn::save_training_state<T>(state_file, *module, opt, meta, extra);
        std::printf("checkpoint: seed %llu epoch %d -> %s\n", static_cast<unsigned long long>(seed), ep, state_file.c_str());
        std::fflush(stdout);
      }
    }
    if (run_diverged) divergence.report("link_prediction");
    const double spe_seed = sec_train / epochs;
    std::printf("seed %llu: best val AUC %.4f (epoch %d) -> test AUC %.4f AP %.4f | train %.3f s/epoch\n",
                static_cast<unsigned long long>(seed), best_val, best_epoch, best_test.auc, best_test.ap, spe_seed);
    aucs.push_back(best_test.auc);
    aps.push_back(best_test.ap);
    vals.push_back(best_val);
    spe.push_back(spe_seed);
    json run{{"seed", seed}, {"best_epoch", best_epoch}, {"val_auc", best_val}, {"val_ap", best_val_ap},
             {"test_auc", best_test.auc}, {"test_ap", best_test.ap}, {"seconds_per_epoch", spe_seed},
             {"last_loss_terms", last_terms}};
    if (run_diverged) run["diverged"] = divergence.to_json();
    // restore the best-validation parameters, then checkpoint and measure the cluster balance
    {
      auto ps = module->parameters();
      for (std::size_t i = 0; i < ps.size() && i < best_params.size(); ++i) ps[i].value().copy_from(best_params[i]);
    }
    if (mg && best_epoch > 0) {
      NoGradGuard ng;
      const auto o = mg->forward(in, models::MgvaeNoise<T>{});
      const auto& c0 = o.levels.front().clustering;
      json bal{{"seed", seed}, {"eval_argmax", balance_json(graph::cluster_balance(c0.labels, c0.k))}};
      if (c0.probs.defined()) {  // diagnostic: balanced (Sinkhorn) argmax of the same eval logits
        Tensor<T> logp = c0.probs.value().contiguous().clone();  // log p = logits − lse: same balanced argmax
        for (std::int64_t i = 0; i < logp.numel(); ++i) logp.data()[i] = std::log(std::max(logp.data()[i], T(1e-30)));
        const auto lb = models::balanced_argmax(logp);
        std::int64_t changed = 0;
        for (std::size_t i = 0; i < lb.size(); ++i) changed += lb[i] != c0.labels[i];
        json jb = balance_json(graph::cluster_balance(lb, c0.k));
        jb["nodes_changed_vs_argmax"] = changed;
        bal["eval_balanced_argmax"] = jb;
      }
      if (!last_train_labels.empty())
        bal["last_train_sample"] = balance_json(graph::cluster_balance(last_train_labels, c0.k));
      {  // the clustering the paper uses in practice (§3, after Eq. 4): a Gumbel-max sample, here drawn
         // once from a dedicated stream with the best-validation parameters (training is unaffected)
        const auto os = mg->forward(in, mg->draw_noise(rng.split(99)));
        const auto bs = graph::cluster_balance(os.levels.front().clustering.labels, c0.k);
        bal["best_val_sample"] = balance_json(bs);
        std::printf("seed %llu: finest clustering (%lld clusters, Gumbel sample): min %lld max %lld std %.2f KL-to-uniform %.4f\n",
                    static_cast<unsigned long long>(seed), static_cast<long long>(bs.k), static_cast<long long>(bs.min),
                    static_cast<long long>(bs.max), bs.stddev, bs.kl_uniform);
      }
      run["finest_balance"] = bal;
      balance_rows.push_back(bal);
      const auto b = graph::cluster_balance(c0.labels, c0.k);
      std::printf("seed %llu: finest clustering (%lld clusters, eval): min %lld max %lld std %.2f KL-to-uniform %.4f\n",
                  static_cast<unsigned long long>(seed), static_cast<long long>(b.k), static_cast<long long>(b.min),
                  static_cast<long long>(b.max), b.stddev, b.kl_uniform);
    }
    const std::string ckpt = (fs::path(out_dir) / ("checkpoint_seed" + std::to_string(seed) + ".safetensors")).string();
    if (best_epoch > 0) {  // a run that diverged before its first evaluation has no good parameters to save
      nn::save_checkpoint(*module, ckpt, {{"model", model}, {"clustering", clustering}, {"seed", std::to_string(seed)},
                                          {"best_epoch", std::to_string(best_epoch)}});
      run["checkpoint"] = ckpt;
    }
    runs.push_back(run);

    json summary{{"test_auc_mean", mean_of(aucs)}, {"test_auc_std", std_of(aucs)}, {"test_ap_mean", mean_of(aps)},
                 {"test_ap_std", std_of(aps)},     {"val_auc_mean", mean_of(vals)}, {"seconds_per_epoch_mean", mean_of(spe)},
                 {"seeds_done", aucs.size()},      {"std_kind", "population (ddof=0)"}};
    if (!balance_rows.empty()) summary["finest_balance"] = balance_rows;
    json metrics{{"config", cfg}, {"runs", runs}, {"summary", summary}};
    if (run_diverged) metrics["diverged"] = divergence.to_json();
    examples::write_atomic(fs::path(out_dir) / "metrics.json", metrics.dump(2) + "\n");
    if (run_diverged) break;
  }
  if (run_diverged) {
    std::cout << "wrote " << (fs::path(out_dir) / "metrics.json").string() << " (diverged)\n";
    return examples::kExitDiverged;
  }
  std::printf("RESULT %s%s: test AUC %.2f ± %.2f  AP %.2f ± %.2f  (%zu seed%s, %.3f s/epoch, %d thread%s)\n", model.c_str(),
              model == "mgvae" ? (" (" + clustering + ")").c_str() : "", 100 * mean_of(aucs), 100 * std_of(aucs),
              100 * mean_of(aps), 100 * std_of(aps), aucs.size(), aucs.size() == 1 ? "" : "s", mean_of(spe), threads,
              threads == 1 ? "" : "s");
  std::cout << "wrote " << (fs::path(out_dir) / "metrics.json").string() << "\n";
  return 0;
}

int main(int argc, char** argv) {
  mgvae::examples::flush_progress_output();
  try {
    return run(argc, argv);
  } catch (const DivergenceError& e) {
    std::cerr << "link_prediction: diverged: " << e.what() << "\n";
    return examples::kExitDiverged;
  } catch (const std::exception& e) {
    std::cerr << "link_prediction: error: " << e.what() << "\n";
    return 1;
  }
}
