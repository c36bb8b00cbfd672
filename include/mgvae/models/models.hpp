#pragma once
/// @file models.hpp
/// Facade: every RDKit-free model (the same set as mgvae/models.hpp).
///   mgn/          first-order MGN levels (GCN, clustering, coarsening, pooling) and the
///                 second-order encoder layers (namespace mgvae::models)
///   mgvae/        Mgvae<T, 1> (citation graphs) and Mgvae<T, 2> (ragged batches), ELBO terms
///   vgae.hpp      the VGAE baseline;  equivariant_prior.hpp, size_matching.hpp
///   molgen/       all-at-once second-order molecule generator (namespace mgvae::molgen; the
///                 chemistry, SMILES and QED, is in mgvae/chem.hpp)
///   graphgen/     all-at-once general graph generator (namespace mgvae::graphgen)
///   property/     MGN property regressor (namespace mgvae::models::property)
#include "mgvae/models/equivariant_prior.hpp"
#include "mgvae/models/graphgen/graphgen.hpp"
#include "mgvae/models/mgn/clustering.hpp"
#include "mgvae/models/mgn/coarsen.hpp"
#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/models/mgn/mgn.hpp"
#include "mgvae/models/mgn/pooling.hpp"
#include "mgvae/models/mgn/second_order.hpp"
#include "mgvae/models/mgvae/common.hpp"
#include "mgvae/models/mgvae/decoder.hpp"
#include "mgvae/models/mgvae/elbo.hpp"
#include "mgvae/models/mgvae/encoder.hpp"
#include "mgvae/models/mgvae/mgvae.hpp"
#include "mgvae/models/molgen/molgen.hpp"
#include "mgvae/models/property/mgn_regressor.hpp"
#include "mgvae/models/size_matching.hpp"
#include "mgvae/models/vgae.hpp"
