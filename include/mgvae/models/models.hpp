#pragma once
/// @file models.hpp
/// Facade: the first-order MGN / MGVAE modules and the VGAE baseline (namespace mgvae::models).
#include "mgvae/models/mgn/clustering.hpp"
#include "mgvae/models/mgn/coarsen.hpp"
#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/models/mgn/mgn.hpp"
#include "mgvae/models/mgn/pooling.hpp"
#include "mgvae/models/mgvae/decoder.hpp"
#include "mgvae/models/mgvae/elbo.hpp"
#include "mgvae/models/mgvae/encoder.hpp"
#include "mgvae/models/mgvae/mgvae.hpp"
#include "mgvae/models/vgae.hpp"
