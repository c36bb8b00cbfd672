#pragma once
// `--resume DIR` / `--checkpoint-every N` for the trainers (docs: each trainer's "Resuming"
// paragraph). The trainer writes DIR/train_state.safetensors (nn::save_training_state: parameters,
// optimiser state and the trainer's metadata, atomically) every N epochs and after its last epoch;
// started with the same command line after a kill it restores the state and continues with the
// next epoch, ending bit-identical to an uninterrupted run. A state written with other
// model/training flags is refused (nn::StateMismatchError naming the flag).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "mgvae/nn/checkpoint.hpp"
#include "mgvae/nn/state.hpp"

namespace mgvae::examples {

struct ResumeOptions {
  std::string dir;  ///< empty: no training state is written or read
  int every = 1;    ///< epochs between two training-state writes

  bool enabled() const { return !dir.empty(); }
  std::string path() const { return (std::filesystem::path(dir) / "train_state.safetensors").string(); }
  /// Creates DIR and removes the temporaries a write killed midway left behind
  /// (train_state.safetensors.tmp.<pid>; the state file itself is always complete).
  void prepare() const {
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    const std::string stem = "train_state.safetensors.tmp.";
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string().rfind(stem, 0) == 0) {
        std::error_code ec;
        fs::remove(e.path(), ec);
      }
  }
  /// Write the state after epoch `ep` (1-based) of a run of `last` epochs?
  bool due(long ep, long last) const { return enabled() && (ep % every == 0 || ep == last); }
};

inline void add_resume_options(CLI::App& app, ResumeOptions& o) {
  app.add_option("--resume", o.dir,
                 "training-state directory: DIR/train_state.safetensors (parameters, optimiser, RNG position, epoch, "
                 "schedule, best-validation bookkeeping) is written atomically every --checkpoint-every epochs; if it "
                 "exists at start, training continues from it bit-identically (flags must match), else starts fresh");
  app.add_option("--checkpoint-every", o.every, "epochs between training-state writes with --resume (the last epoch is always written)")
      ->check(CLI::PositiveNumber);
}

/// The config a state was written with must equal the current one: names the first differing flag.
/// @throw nn::StateMismatchError("config.<flag>", ...).
inline void check_resume_config(const std::string& path, const std::map<std::string, std::string>& meta,
                                const nlohmann::json& now) {
  auto it = meta.find("config");
  if (it == meta.end()) throw nn::StateMismatchError("config", "'" + path + "' has no \"config\": not written by this trainer");
  const nlohmann::json saved = nlohmann::json::parse(it->second);
  for (auto& [k, v] : now.items())
    if (!saved.contains(k) || saved.at(k) != v)
      throw nn::StateMismatchError("config." + k, "cannot resume from '" + path + "': it was written with " + k + " = " +
                                                      (saved.contains(k) ? saved.at(k).dump() : std::string("(absent)")) +
                                                      ", this run has " + k + " = " + v.dump() +
                                                      " (use the original flags, or another --resume directory)");
  for (auto& [k, v] : saved.items())
    if (!now.contains(k))
      throw nn::StateMismatchError("config." + k, "cannot resume from '" + path + "': it was written with an unknown setting " + k);
}

/// Every option of `app` (long name -> the given values, or the default) except those in `exclude`
/// (output places, logging, the resume options themselves): the config a resumed run must match.
inline nlohmann::json cli_config(CLI::App& app, const std::vector<std::string>& exclude) {
  nlohmann::json j = nlohmann::json::object();
  for (const CLI::Option* o : app.get_options()) {
    const std::string name = o->get_name();
    if (name.empty() || name == "--help" || name == "-h" || name == "--resume" || name == "--checkpoint-every") continue;
    bool skip = false;
    for (const auto& e : exclude) skip = skip || e == name;
    if (skip) continue;
    std::string v;
    if (o->count() > 0) {
      for (const auto& r : o->results()) v += (v.empty() ? "" : " ") + r;
    } else {
      v = o->get_default_str();
    }
    j[name] = v;
  }
  return j;
}

/// meta[key], or StateMismatchError naming the key.
inline const std::string& meta_at(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) throw nn::StateMismatchError(key, "'" + path + "' has no \"" + key + "\" in its metadata");
  return it->second;
}
inline double meta_double(const std::map<std::string, std::string>& m, const std::string& key, const std::string& path) {
  return nn::parse_exact(meta_at(m, key, path), key);
}
inline long long meta_int(const std::map<std::string, std::string>& m, const std::string& key, const std::string& path) {
  return nn::parse_exact_int(meta_at(m, key, path), key);
}

/// Exact text of a vector of doubles (JSON array of format_exact strings) and back.
inline std::string exact_list(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(nn::format_exact(x));
  return a.dump();
}
inline std::vector<double> parse_exact_list(const std::string& text, const std::string& key) {
  std::vector<double> v;
  for (const auto& s : nlohmann::json::parse(text)) v.push_back(nn::parse_exact(s.get<std::string>(), key));
  return v;
}

}  // namespace mgvae::examples
