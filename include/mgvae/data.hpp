#pragma once
/// @file data.hpp
/// Facade: the RDKit-free readers and generators (namespace mgvae::data): LINQS citation data
/// (linqs.hpp), graph lists (graph_list.hpp), synthetic graphs (generators.hpp), the link-prediction
/// edge split (edge_split.hpp) and the QM9 CSV reader (qm9_files.hpp).
/// SMILES, QM9 and ZINC molecules need RDKit: mgvae/chem.hpp.
#include "mgvae/data/edge_split.hpp"
#include "mgvae/data/generators.hpp"
#include "mgvae/data/graph_list.hpp"
#include "mgvae/data/linqs.hpp"
#include "mgvae/data/qm9_files.hpp"
