#pragma once
/// @file graphgen.hpp
/// All-at-once MGVAE for general graph generation (paper App. D.5): data, model, evaluation, SVG.
#include "mgvae/models/graphgen/eval.hpp"
#include "mgvae/models/graphgen/graph_data.hpp"
#include "mgvae/models/graphgen/model.hpp"
#include "mgvae/models/graphgen/ops.hpp"
#include "mgvae/models/graphgen/svg.hpp"
#include "mgvae/models/graphgen/tuning.hpp"
