#pragma once
/// @file chem.hpp
/// Facade: the chemistry layer, which needs RDKit (and zlib for ZINC and the SA score).
/// With an installed mgvae: find_package(mgvae COMPONENTS chem) and link mgvae::chem.
///   data/molecules/     SMILES ⇄ molecular graph, QM9 and ZINC readers (namespace mgvae::data)
///   metrics/molecules/  validity / uniqueness / novelty, QED, SA score (namespace mgvae::metrics)
/// Not included by mgvae/mgvae.hpp.
#include "mgvae/data/molecules/qm9.hpp"
#include "mgvae/data/molecules/smiles.hpp"
#include "mgvae/data/molecules/zinc.hpp"
#include "mgvae/metrics/molecules/generation.hpp"
#include "mgvae/metrics/molecules/qed.hpp"
#include "mgvae/metrics/molecules/sa_score.hpp"
