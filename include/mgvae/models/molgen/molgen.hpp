#pragma once
/// @file molgen.hpp
/// Facade: the all-at-once second-order MGVAE for molecule generation (namespace mgvae::molgen),
/// with the MLP-decoder ablation (mlp_decoder.hpp) and the autoregressive MGN (autoregressive.hpp).
/// RDKit-free; examples/molecule_generation adds the chemistry (SMILES, validity, QED), and
/// examples/common/molgen/ the training loop and the valence penalty.
#include "mgvae/models/molgen/autoregressive.hpp"
#include "mgvae/models/molgen/graph.hpp"
#include "mgvae/models/molgen/mlp_decoder.hpp"
#include "mgvae/models/molgen/model.hpp"
