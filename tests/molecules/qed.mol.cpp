// QED port vs Python RDKit's rdkit.Chem.QED.qed on 1,000 reference molecules.
#include <algorithm>
#include <cmath>

#include "mgvae/metrics/molecules/qed.hpp"
#include "support/molecules/reference.hpp"
#include "support/catch.hpp"

using mgvae::metrics::qed;
using mgvae::metrics::qed_properties;

TEST_CASE("QED of aspirin matches Python RDKit", "[molecules][qed]") {
  const auto q = qed(std::string("CC(=O)Oc1ccccc1C(=O)O"));
  REQUIRE(q.has_value());
  CHECK(std::round(*q * 1e4) / 1e4 == Approx(0.5501).margin(1e-12));
  // doctest values in QED.py
  CHECK(*qed(std::string("N=C(CCSCc1csc(N=C(N)N)n1)NS(N)(=O)=O")) == Approx(0.253).margin(1e-3));
  CHECK(*qed(std::string("CNC(=NCCSCc1nc[nH]c1C)NC#N")) == Approx(0.234).margin(1e-3));
}

TEST_CASE("QED of an invalid SMILES is nullopt with a reason", "[molecules][qed]") {
  std::string why;
  CHECK_FALSE(qed(std::string("C1CC"), &why).has_value());
  CHECK_FALSE(why.empty());
  CHECK_FALSE(qed(std::string("c1cccc1"), &why).has_value());
}

TEST_CASE("QED agrees with Python RDKit on all 1,000 reference molecules", "[molecules][qed]") {
  const auto rows = mgvae_test::read_qed_reference();
  REQUIRE(rows.size() == 1000);
  double max_diff = 0;
  int bad = 0;
  for (const auto& r : rows) {
    auto mol = mgvae::data::detail::parse_smiles(r.smiles, nullptr);
    REQUIRE(mol);
    const auto p = qed_properties(*mol);
    const double q = mgvae::metrics::qed_from_properties(p);
    const double d = std::abs(q - r.qed);
    max_diff = std::max(max_diff, d);
    if (d > 1e-6 || p.hba != r.hba || p.hbd != r.hbd || p.rotb != r.rotb || p.arom != r.arom ||
        p.alerts != r.alerts || std::abs(p.mw - r.mw) > 1e-9 || std::abs(p.psa - r.psa) > 1e-9) {
      ++bad;
      UNSCOPED_INFO(r.smiles << ": qed " << q << " vs " << r.qed << " hba " << p.hba << "/" << r.hba << " hbd "
                             << p.hbd << "/" << r.hbd << " rotb " << p.rotb << "/" << r.rotb << " arom " << p.arom
                             << "/" << r.arom << " alerts " << p.alerts << "/" << r.alerts);
    }
  }
  WARN("QED max |C++ - Python| over 1000 molecules = " << max_diff);
  CHECK(bad == 0);
  CHECK(max_diff <= 1e-6);
}
