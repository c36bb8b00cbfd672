#pragma once
/// @file metrics.hpp
/// Facade: the RDKit-free metrics (namespace mgvae::metrics): link prediction (ROC-AUC, AP and
/// evaluate_link_prediction), graph statistics and MMD for graph generation.
/// Molecule metrics (validity, QED, SA score) need RDKit: mgvae/chem.hpp.
#include "mgvae/metrics/graph_stats.hpp"
#include "mgvae/metrics/link_prediction.hpp"
#include "mgvae/metrics/mmd.hpp"
