#pragma once
/// @file sa_score.hpp
/// Synthetic accessibility score (Ertl & Schuffenhauer, J. Cheminf. 1:8, 2009) as computed by
/// RDKit's Contrib/SA_Score/sascorer.py `calculateScore`, ported to C++: fragment score from
/// radius-2 Morgan fingerprint counts looked up in fpscores.pkl.gz, minus size, stereo, spiro,
/// bridgehead and macrocycle penalties, plus the fingerprint-density correction, mapped to 1..10.
/// Also Crippen logP and the penalized logP (logP - SA - cycle) used by the ZINC experiments.
/// Needs RDKit::Fingerprints, RDKit::Descriptors, RDKit::GraphMol, RDKit::RDGeneral and zlib.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <DataStructs/SparseIntVect.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>

#include "mgvae/core/error.hpp"
#include "mgvae/data/molecules/smiles.hpp"

namespace mgvae::metrics {

/// Default location of the fragment scores installed by Debian's rdkit-data.
inline constexpr const char* kDefaultFpscoresPath = "/usr/share/RDKit/Contrib/SA_Score/fpscores.pkl.gz";

/// Fragment contributions: Morgan bit id -> score (the dict built by sascorer.readFragmentScores).
class SAScorer {
 public:
  /// Reads the protocol-0 pickle `path` (gzip): a list of lists [score, id, id, ...]; lines
  /// "F<float>" start a group, lines "aI<int>" are ids. Later groups overwrite earlier ids, as in
  /// Python. Throws mgvae::ParseError when the file is missing or malformed.
  explicit SAScorer(const std::string& path = kDefaultFpscoresPath) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw open_error(path, "cannot open fragment score file");
    std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(f, gzclose);
    char buf[256];
    std::int64_t line = 0;
    bool have_score = false;
    double score = 0;
    scores_.reserve(800000);
    while (gzgets(f, buf, sizeof buf)) {
      ++line;
      const std::string s(buf);
      if (s.size() + 1 >= sizeof buf && s.back() != '\n') throw ParseError(path, line, "line too long");
      if (s[0] == 'F') {
        char* end = nullptr;
        score = std::strtod(s.c_str() + 1, &end);
        if (end == s.c_str() + 1) throw ParseError(path, line, "bad float '" + s.substr(0, s.size() - 1) + "'");
        have_score = true;
        ++groups_;
      } else if (s.size() > 2 && s[0] == 'a' && (s[1] == 'I' || s[1] == 'L')) {
        if (!have_score) throw ParseError(path, line, "fragment id before any score");
        char* end = nullptr;
        const unsigned long long id = std::strtoull(s.c_str() + 2, &end, 10);
        if (end == s.c_str() + 2) throw ParseError(path, line, "bad id '" + s.substr(0, s.size() - 1) + "'");
        scores_[static_cast<std::uint32_t>(id)] = score;
      }
      // other lines are pickle structure: "(lp0", "aa(lp12", "aa."
    }
    if (scores_.empty()) throw ParseError(path, line, "no fragment scores found");
  }

  /// Number of distinct fragment ids and of score groups read.
  std::size_t size() const { return scores_.size(); }
  std::size_t groups() const { return groups_; }

  /// Fragment score of a Morgan bit (-4 when unknown, as sascorer.py).
  double fragment_score(std::uint32_t id) const {
    const auto it = scores_.find(id);
    return it == scores_.end() ? -4.0 : it->second;
  }

  /// SA score (1 = easy .. 10 = hard) of a sanitized molecule; same steps and order as
  /// sascorer.calculateScore. The molecule is copied (stereo perception mutates it).
  double score(const RDKit::ROMol& mol_in) const {
    data::detail::quiet_rdkit();
    RDKit::RWMol m(mol_in);
    // fragment score
    std::unique_ptr<RDKit::SparseIntVect<std::uint32_t>> fp(RDKit::MorganFingerprints::getFingerprint(m, 2));
    const auto& elems = fp->getNonzeroElements();  // std::map: ascending ids, as Python's dict
    double score1 = 0.0;
    long long nf = 0;
    for (const auto& [bit, v] : elems) {
      nf += v;
      score1 += fragment_score(bit) * v;
    }
    score1 /= static_cast<double>(nf);
    const auto nfps = static_cast<double>(elems.size());

    // features score
    const double n_atoms = m.getNumAtoms();
    RDKit::MolOps::assignStereochemistry(m, false, true, true);  // FindMolChiralCenters(includeUnassigned)
    int n_chiral = 0;
    for (const RDKit::Atom* a : m.atoms()) {
      if (a->hasProp(RDKit::common_properties::_CIPCode) ||
          a->hasProp(RDKit::common_properties::_ChiralityPossible))
        ++n_chiral;
    }
    const unsigned n_spiro = RDKit::Descriptors::calcNumSpiroAtoms(m);
    const unsigned n_bridge = RDKit::Descriptors::calcNumBridgeheadAtoms(m);
    int n_macro = 0;
    for (const auto& ring : m.getRingInfo()->atomRings())
      if (ring.size() > 8) ++n_macro;

    const double size_penalty = std::pow(n_atoms, 1.005) - n_atoms;
    const double stereo_penalty = std::log10(n_chiral + 1.0);
    const double spiro_penalty = std::log10(n_spiro + 1.0);
    const double bridge_penalty = std::log10(n_bridge + 1.0);
    const double macro_penalty = n_macro > 0 ? std::log10(2.0) : 0.0;
    const double score2 = 0. - size_penalty - stereo_penalty - spiro_penalty - bridge_penalty - macro_penalty;

    // fingerprint density correction
    double score3 = 0.0;
    if (n_atoms > nfps) score3 = std::log(n_atoms / nfps) * .5;

    double sa = score1 + score2 + score3;
    const double lo = -4.0, hi = 2.5;
    sa = 11. - (sa - lo + 1) / (hi - lo) * 9.;
    if (sa > 8.) sa = 8. + std::log(sa + 1. - 9.);
    if (sa > 10.)
      sa = 10.0;
    else if (sa < 1.)
      sa = 1.0;
    return sa;
  }

  /// SA score of a SMILES; std::nullopt (and `*reason`) if it does not parse or sanitize.
  std::optional<double> score(const std::string& smiles, std::string* reason = nullptr) const {
    auto mol = data::detail::parse_smiles(smiles, reason);
    if (!mol) return std::nullopt;
    return score(*mol);
  }

 private:
  std::unordered_map<std::uint32_t, double> scores_;
  std::size_t groups_ = 0;
};

/// Process-wide scorer reading kDefaultFpscoresPath (or $MGVAE_FPSCORES if set) on first use.
inline const SAScorer& default_sa_scorer() {
  static const SAScorer s([] {
    const char* env = std::getenv("MGVAE_FPSCORES");
    return std::string(env && *env ? env : kDefaultFpscoresPath);
  }());
  return s;
}

/// SA score with the default scorer.
inline double sa_score(const RDKit::ROMol& mol) { return default_sa_scorer().score(mol); }

/// Wildman-Crippen logP (Python's Crippen.MolLogP).
inline double crippen_logp(const RDKit::ROMol& mol) { return RDKit::Descriptors::calcClogP(mol); }

/// Cycle basis of the heavy-atom graph, computed exactly as networkx 2.8's `cycle_basis` on
/// `nx.Graph(Chem.GetAdjacencyMatrix(mol))` (roots: smallest unvisited atom; neighbours in
/// ascending index order; depth-first stack). The basis is not minimal: for fused rings it can
/// hold the envelope cycle, which is what the JT-VAE cycle penalty sees.
inline std::vector<std::vector<int>> networkx_cycle_basis(const RDKit::ROMol& mol) {
  const int n = static_cast<int>(mol.getNumAtoms());
  std::vector<std::vector<int>> nbrs(static_cast<std::size_t>(n));
  for (const RDKit::Bond* b : mol.bonds()) {
    const int u = static_cast<int>(b->getBeginAtomIdx()), v = static_cast<int>(b->getEndAtomIdx());
    nbrs[static_cast<std::size_t>(u)].push_back(v);
    if (u != v) nbrs[static_cast<std::size_t>(v)].push_back(u);
  }
  for (auto& l : nbrs) {
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
  }
  std::vector<std::vector<int>> cycles;
  std::vector<char> visited(static_cast<std::size_t>(n), 0);  // in `used` of some component
  for (int root = 0; root < n; ++root) {
    if (visited[static_cast<std::size_t>(root)]) continue;
    std::vector<int> pred(static_cast<std::size_t>(n), -1);
    std::vector<std::vector<int>> used(static_cast<std::size_t>(n));  // small sets
    std::vector<char> in_used(static_cast<std::size_t>(n), 0);
    auto contains = [](const std::vector<int>& set, int x) { return std::find(set.begin(), set.end(), x) != set.end(); };
    std::vector<int> stack = {root};
    pred[static_cast<std::size_t>(root)] = root;
    in_used[static_cast<std::size_t>(root)] = 1;
    while (!stack.empty()) {
      const int z = stack.back();
      stack.pop_back();
      for (const int nbr : nbrs[static_cast<std::size_t>(z)]) {
        const auto un = static_cast<std::size_t>(nbr);
        if (!in_used[un]) {
          pred[un] = z;
          stack.push_back(nbr);
          in_used[un] = 1;
          used[un] = {z};
        } else if (nbr == z) {
          cycles.push_back({z});
        } else if (!contains(used[static_cast<std::size_t>(z)], nbr)) {
          const auto& pn = used[un];
          std::vector<int> cycle = {nbr, z};
          int p = pred[static_cast<std::size_t>(z)];
          while (!contains(pn, p)) {
            cycle.push_back(p);
            p = pred[static_cast<std::size_t>(p)];
          }
          cycle.push_back(p);
          cycles.push_back(std::move(cycle));
          used[un].push_back(z);
        }
      }
    }
    for (int i = 0; i < n; ++i)
      if (in_used[static_cast<std::size_t>(i)]) visited[static_cast<std::size_t>(i)] = 1;
  }
  return cycles;
}

/// JT-VAE cycle term: max(0, longest cycle of networkx_cycle_basis - 6), as in the ZINC files.
inline int cycle_penalty(const RDKit::ROMol& mol) {
  std::size_t largest = 0;
  for (const auto& c : networkx_cycle_basis(mol)) largest = std::max(largest, c.size());
  return largest > 6 ? static_cast<int>(largest) - 6 : 0;
}

/// Penalized logP = logP - SA - cycle (unnormalized).
inline double penalized_logp(const RDKit::ROMol& mol) {
  return crippen_logp(mol) - sa_score(mol) - cycle_penalty(mol);
}

}  // namespace mgvae::metrics
