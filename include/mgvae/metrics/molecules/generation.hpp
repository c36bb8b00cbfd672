#pragma once
/// @file generation.hpp
/// Validity, uniqueness and novelty of generated molecules (the usual molecular-generation
/// metrics). A generated graph is valid when graph_to_mol builds a molecule that RDKit sanitizes;
/// run it on the raw decoder outputs for "validity without correction". Uniqueness and novelty are
/// computed on canonical SMILES:
///   validity   = valid / total
///   uniqueness = unique / valid          (distinct canonical SMILES among the valid ones)
///   novelty    = novel / unique          (distinct valid SMILES not in the training set)
/// Needs RDKit::SmilesParse, RDKit::GraphMol, RDKit::RDGeneral.
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "mgvae/data/molecules/smiles.hpp"

namespace mgvae::metrics {

struct GenerationOptions {
  /// Accept a disconnected molecule (dot-separated SMILES) as valid. When false such a sample
  /// counts as invalid with reason "disconnected".
  bool allow_disconnected = true;
};

struct GenerationMetrics {
  std::int64_t total = 0, valid = 0, unique = 0, novel = 0;
  double validity = 0, uniqueness = 0, novelty = 0;
  /// Canonical SMILES of every valid sample, in input order (duplicates kept).
  std::vector<std::string> valid_smiles;
  /// One entry per invalid sample: "<index>: <reason>".
  std::vector<std::string> invalid_log;
};

/// Canonical (non-isomeric by default) SMILES of every parsable input; unparsable ones are skipped.
inline std::unordered_set<std::string> canonical_smiles_set(const std::vector<std::string>& smiles,
                                                            bool isomeric = false) {
  std::unordered_set<std::string> out;
  out.reserve(smiles.size());
  for (const auto& s : smiles)
    if (auto c = data::canonical_smiles(s, isomeric)) out.insert(*c);
  return out;
}

namespace detail {

inline void finish_generation_metrics(GenerationMetrics& m, const std::unordered_set<std::string>& train) {
  std::unordered_set<std::string> uniq(m.valid_smiles.begin(), m.valid_smiles.end());
  m.valid = static_cast<std::int64_t>(m.valid_smiles.size());
  m.unique = static_cast<std::int64_t>(uniq.size());
  m.novel = 0;
  for (const auto& s : uniq)
    if (!train.count(s)) ++m.novel;
  m.validity = m.total ? double(m.valid) / double(m.total) : 0.0;
  m.uniqueness = m.valid ? double(m.unique) / double(m.valid) : 0.0;
  m.novelty = m.unique ? double(m.novel) / double(m.unique) : 0.0;
}

inline bool accept_smiles(const std::string& smi, const GenerationOptions& opt, std::int64_t i,
                          GenerationMetrics& m) {
  if (!opt.allow_disconnected && smi.find('.') != std::string::npos) {
    m.invalid_log.push_back(std::to_string(i) + ": disconnected (" + smi + ")");
    return false;
  }
  m.valid_smiles.push_back(smi);
  return true;
}

}  // namespace detail

/// Metrics of generated graphs. `train_canonical` holds canonical SMILES of the training set as
/// produced by graph_to_smiles or canonical_smiles(s, false) (non-isomeric; graphs carry no stereo).
inline GenerationMetrics evaluate_generation(const std::vector<data::MolGraph>& generated, const data::AtomVocab& vocab,
                                             const std::unordered_set<std::string>& train_canonical,
                                             const GenerationOptions& opt = {}) {
  GenerationMetrics m;
  m.total = static_cast<std::int64_t>(generated.size());
  for (std::int64_t i = 0; i < m.total; ++i) {
    std::string why;
    auto smi = data::graph_to_smiles(generated[static_cast<std::size_t>(i)], vocab, &why);
    if (!smi) {
      m.invalid_log.push_back(std::to_string(i) + ": " + why);
      continue;
    }
    detail::accept_smiles(*smi, opt, i, m);
  }
  detail::finish_generation_metrics(m, train_canonical);
  return m;
}

/// Same metrics for generated SMILES strings (canonicalized without stereo).
inline GenerationMetrics evaluate_generation_smiles(const std::vector<std::string>& generated,
                                                    const std::unordered_set<std::string>& train_canonical,
                                                    const GenerationOptions& opt = {}) {
  GenerationMetrics m;
  m.total = static_cast<std::int64_t>(generated.size());
  for (std::int64_t i = 0; i < m.total; ++i) {
    std::string why;
    auto smi = data::canonical_smiles(generated[static_cast<std::size_t>(i)], false, &why);
    if (!smi) {
      m.invalid_log.push_back(std::to_string(i) + ": " + why);
      continue;
    }
    detail::accept_smiles(*smi, opt, i, m);
  }
  detail::finish_generation_metrics(m, train_canonical);
  return m;
}

}  // namespace mgvae::metrics
