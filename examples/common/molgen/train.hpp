#pragma once
/// @file train.hpp
/// One training step of the molecule MGVAE and the per-epoch running sums, shared by the trainers
/// examples/molecule_generation and examples/qm9_properties.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "mgvae/autodiff/var.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/core/rng.hpp"
#include "mgvae/models/molgen/model.hpp"
#include "common/molgen/valence_reg.hpp"
#include "mgvae/nn/optim.hpp"

namespace mgvae::molgen {

/// Sums over the molecules of one epoch; each batch's mean terms are weighted by its size.
struct MolEpochSums {
  double loss = 0, bond_ce = 0, atom_ce = 0, kl = 0, coarse_rec = 0, coarse_kl = 0, balance = 0;
  double valence = 0;  ///< valence penalty R of the prior decodings (0 without ValenceReg)
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
    if (f.valence.defined()) valence += f.valence.item() * w;
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

/// Valence regularization of one training step (valence_reg.hpp; not in the paper): the decoder
/// also decodes latents drawn from the prior for the batch's graph sizes, and λ · R of those
/// decodings is added to the loss. The prior draw uses CounterRng(seed, 0x20000000 + 100000·epoch
/// + step) and, with the learned prior, i.i.d. slots from `slot_probs` (empty = uniform).
struct ValenceReg {
  double weight = 0;               ///< λ (0 = off)
  std::vector<int> caps;           ///< maximal valence per atom type
  double temperature = 1.0;        ///< τ of valence_penalty (1 = the decoder's distribution, → 0 = argmax)
  double isolated_weight = 0.0;    ///< w_iso of valence_penalty (atoms without bonds; 0 = off)
  std::vector<double> slot_probs;  ///< learned prior: slot distribution of the prior draw
};

/// One optimiser step on the molecules `gs`: batch them (F atom types, E bond types), draw the
/// step's noise from CounterRng(seed, 0x10000000 + 100000·epoch + step) (so a run is reproducible
/// from its seed), forward, add λ·R of prior decodings when `reg` has λ > 0 (f.valence holds R, and
/// f.loss then includes λ·R), backward, clip the gradient norm to `clip` (≤ 0: no clipping), step.
/// The caller keeps an ArenaScope open while it uses the returned forward pass.
/// @throw std::invalid_argument for λ < 0 or a `reg` whose caps do not match F.
template <class T, class Optimizer>
MolForward<T> train_step(MolGenModel<T>& model, Optimizer& opt, const std::vector<MolecularGraph>& gs, std::int64_t F,
                         std::int64_t E, std::uint64_t seed, int epoch, std::int64_t step, double clip,
                         const ValenceReg* reg = nullptr) {
  const auto mb = MolBatch<T>::make(gs, F, E);
  const std::uint64_t key = static_cast<std::uint64_t>(epoch) * 100000 + static_cast<std::uint64_t>(step);
  const auto nz = model.draw_noise(mb.b, CounterRng(seed, 0x10000000ull + key));
  opt.zero_grad();
  auto f = model.forward(mb, nz);
  if (reg) {
    check_arg(reg->weight >= 0, "molgen::train_step", "reg.weight", "must be >= 0");
    if (reg->weight > 0) {
      check_arg(static_cast<std::int64_t>(reg->caps.size()) == F, "molgen::train_step", "reg.caps",
                "must have one entry per atom type (" + std::to_string(F) + ")");
      const Tensor<T> zp = model.sample_prior(mb.b, CounterRng(seed, 0x20000000ull + key), reg->slot_probs);
      const auto [e, a] = model.decode(mb.b, constant(zp));
      f.valence = valence_penalty(mb.b, e, a, reg->caps, reg->temperature, reg->isolated_weight);
      f.loss = add(f.loss, mul_scalar(f.valence, static_cast<T>(reg->weight)));
    }
  }
  backward(f.loss);
  if (clip > 0) nn::clip_grad_norm(model.parameters(), static_cast<T>(clip));
  opt.step();
  return f;
}

}  // namespace mgvae::molgen
