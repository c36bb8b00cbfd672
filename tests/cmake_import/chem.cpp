// Consumer of the installed chemistry component: find_package(mgvae COMPONENTS chem), target
// mgvae::chem, header <mgvae/chem.hpp>. Parses one SMILES into a molecular graph.
#include <mgvae/chem.hpp>
#include <mgvae/mgvae.hpp>

#include <iostream>
#include <string>

int main() {
  std::string reason;
  const auto mol = mgvae::data::smiles_to_graph("c1ccccc1O", mgvae::data::AtomVocab::qm9(), 0, false, &reason);
  if (!mol) {
    std::cout << "could not parse the SMILES: " << reason << "\n";
    return 1;
  }
  // phenol: 7 heavy atoms, 7 bonds (kekulized: 3 double)
  std::cout << "phenol: " << mol->n << " atoms, " << mol->bonds.size() << " bonds\n";
  if (mol->n != 7 || mol->bonds.size() != 7) return 1;
  std::cout << "mgvae chem consumer OK\n";
  return 0;
}
