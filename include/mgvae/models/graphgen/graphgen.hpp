#pragma once
/// @file graphgen.hpp
/// All-at-once MGVAE for general graph generation (paper App. D.5): data and model.
/// The experiment's evaluation, SVG writer and tuning helpers live with its trainer
/// (examples/common/graphgen/).
#include "mgvae/models/graphgen/graph_data.hpp"
#include "mgvae/models/graphgen/model.hpp"
