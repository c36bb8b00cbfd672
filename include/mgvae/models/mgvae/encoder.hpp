#pragma once
/// @file encoder.hpp
/// Probabilistic encoders of MGVAE (§4.1 Eq. 6, §4.2 Eq. 8): at every level a first-order graph
/// encoder outputs μ and log σ per node and samples z = μ + σ ⊙ ε (reparameterisation).
///   finest level:  q(Z^(L) | G^(L))              — GcnGaussianEncoder on (Â, X)
///   coarse levels: q(Z^(ℓ) | Z^(ℓ+1), G^(ℓ))     — GcnGaussianEncoder on (Â^(ℓ), p(Z^(ℓ+1)))
/// where Â^(ℓ) is the GCN normalisation of the coarsened adjacency (coarsen.hpp) and p the pooling
/// network (pooling.hpp). The encoder itself lives in mgn/gcn.hpp (it is also the VGAE encoder).
#include "mgvae/models/mgn/coarsen.hpp"
#include "mgvae/models/mgn/gcn.hpp"
#include "mgvae/models/mgn/pooling.hpp"
