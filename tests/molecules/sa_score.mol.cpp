// SA score port vs Python RDKit Contrib/SA_Score/sascorer.py on 1,000 reference molecules.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "mgvae/metrics/molecules/sa_score.hpp"
#include "support/molecules/reference.hpp"
#include "support/catch.hpp"

using mgvae::metrics::default_sa_scorer;

TEST_CASE("fpscores.pkl.gz loads like Python", "[molecules][sa]") {
  const auto& s = default_sa_scorer();
  CHECK(s.groups() == 3549);
  CHECK(s.size() > 700000);
  CHECK(s.fragment_score(0xFFFFFFFFu) == -4.0);
}

TEST_CASE("SA score of aspirin", "[molecules][sa]") {
  const auto v = default_sa_scorer().score(std::string("CC(=O)Oc1ccccc1C(=O)O"));
  REQUIRE(v.has_value());
  CHECK(*v == Approx(1.58).margin(0.005));
  std::string why;
  CHECK_FALSE(default_sa_scorer().score(std::string("C(C"), &why).has_value());
  CHECK_FALSE(why.empty());
}

TEST_CASE("SA score and Crippen logP agree with Python on 1,000 reference molecules", "[molecules][sa]") {
  const auto rows = mgvae_test::read_qed_reference();
  REQUIRE(rows.size() == 1000);
  double max_sa = 0, max_logp = 0;
  int bad = 0;
  for (const auto& r : rows) {
    auto mol = mgvae::data::detail::parse_smiles(r.smiles, nullptr);
    REQUIRE(mol);
    const double sa = mgvae::metrics::sa_score(*mol);
    const double lp = mgvae::metrics::crippen_logp(*mol);
    max_sa = std::max(max_sa, std::abs(sa - r.sa));
    max_logp = std::max(max_logp, std::abs(lp - r.logp));
    if (std::abs(sa - r.sa) > 1e-6 || std::abs(lp - r.logp) > 1e-9) {
      ++bad;
      UNSCOPED_INFO(r.smiles << ": sa " << sa << " vs " << r.sa << ", logp " << lp << " vs " << r.logp);
    }
  }
  WARN("SA max |C++ - Python| = " << max_sa << ", logP max diff = " << max_logp);
  CHECK(bad == 0);
}

TEST_CASE("a malformed fragment score file throws ParseError naming the file", "[molecules][sa]") {
  const auto path = (std::filesystem::temp_directory_path() / "mgvae_bad_fpscores.pkl.gz").string();
  {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f);
    gzputs(f, "(lp0\n(lp1\naI12345\n");
    gzclose(f);
  }
  try {
    mgvae::metrics::SAScorer s(path);
    FAIL("no exception");
  } catch (const mgvae::ParseError& e) {
    CHECK(e.file() == path);
    CHECK(e.line() == 3);
  }
  std::remove(path.c_str());
  CHECK_THROWS_AS(mgvae::metrics::SAScorer("/nonexistent/fpscores.pkl.gz"), mgvae::ParseError);
}
