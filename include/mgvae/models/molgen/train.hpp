#pragma once
/// @file train.hpp
/// One training step of the molecule MGVAE and the per-epoch running sums, shared by the trainers
/// examples/molecule_generation and examples/qm9_properties.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/models/molgen/model.hpp"
#include "mgvae/nn/optim.hpp"

namespace mgvae::molgen {

/// Sums over the molecules of one epoch; each batch's mean terms are weighted by its size.
struct MolEpochSums {
  double loss = 0, bond_ce = 0, atom_ce = 0, kl = 0, coarse_rec = 0, coarse_kl = 0, balance = 0;
  std::int64_t bond_correct = 0, bond_total = 0, atom_correct = 0, atom_total = 0, molecules = 0;

  template <class T>
  void add(const MolForward<T>& f, std::int64_t batch_molecules) {
    const double w = static_cast<double>(batch_molecules);
    molecules += batch_molecules;
    loss += f.loss.item() * w;
    bond_ce += f.bond_ce.item() * w;
    atom_ce += f.atom_ce.item() * w;
    kl += f.kl.item() * w;
    coarse_rec += f.coarse_rec.item() * w;
    coarse_kl += f.coarse_kl.item() * w;
    balance += f.balance.item() * w;
    bond_correct += f.bond_correct;
    bond_total += f.bond_total;
    atom_correct += f.atom_correct;
    atom_total += f.atom_total;
  }
  /// Per-molecule mean of one of the sums above (0 before any molecule).
  double mean(double sum) const { return sum / static_cast<double>(std::max<std::int64_t>(molecules, 1)); }
  double bond_acc() const { return bond_total ? double(bond_correct) / double(bond_total) : 0.0; }
  double atom_acc() const { return atom_total ? double(atom_correct) / double(atom_total) : 0.0; }
};

/// One optimiser step on the molecules `gs`: batch them (F atom types, E bond types), draw the
/// step's noise from CounterRng(seed, 0x10000000 + 100000·epoch + step) (so a run is reproducible
/// from its seed), forward, backward, clip the gradient norm to `clip` (≤ 0: no clipping), step.
/// The caller keeps an ArenaScope open while it uses the returned forward pass.
template <class T, class Optimizer>
MolForward<T> train_step(MolGenModel<T>& model, Optimizer& opt, const std::vector<MolecularGraph>& gs, std::int64_t F,
                         std::int64_t E, std::uint64_t seed, int epoch, std::int64_t step, double clip) {
  const auto mb = MolBatch<T>::make(gs, F, E);
  const auto nz = model.draw_noise(
      mb.b, CounterRng(seed, 0x10000000ull + static_cast<std::uint64_t>(epoch) * 100000 + static_cast<std::uint64_t>(step)));
  opt.zero_grad();
  auto f = model.forward(mb, nz);
  backward(f.loss);
  if (clip > 0) nn::clip_grad_norm(model.parameters(), static_cast<T>(clip));
  opt.step();
  return f;
}

}  // namespace mgvae::molgen
