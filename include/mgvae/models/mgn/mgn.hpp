#pragma once
/// @file mgn.hpp
/// Multiresolution Graph Network (paper Def. 4): the level schedule (schedule.hpp) and one level,
/// `MgnLevel<T, Order>` (level.hpp), for first-order (Order 1, GCN) and second-order (Order 2,
/// Eq. 3 on ragged batches) message passing. `Mgvae<T, Order>` (models/mgvae/mgvae.hpp) is the
/// level loop and the hierarchical ELBO on top of it.
///
/// Level step s turns graph G_s (n_s nodes, adjacency A_s, node latents Z_s) into G_{s+1}:
///   1. clustering  c: Π_s = c(A_s, Z_s)                         (clustering.hpp; learned or fixed)
///   2. local decoders d_local: reconstruct every cluster's sub-adjacency [A_s]_k from [Z_s]_k
///   3. coarsening  A_{s+1} = Π_sᵀ A_s Π_s                        (coarsen.hpp)
///   4. pooling     p: X_{s+1} = normalize(Π_sᵀ Z_s)              (pooling.hpp, invariant per cluster)
///   5. encoder     e: Z_{s+1} ~ q(· | A_{s+1}, X_{s+1})           (gcn.hpp / second_order.hpp; Eq. 8)
///   6. optional global decoder d_global on G_{s+1}.
/// In the authors' citation code (and here) the first-order encoder message-passes over the whole
/// level graph (not over each cluster separately): on the finest level that is the VGAE encoder.
///
/// Equivariance (Prop. 2). Every map above is equivariant in the node index of G_s (GCN or
/// second-order layers, row-wise argmax/softmax with per-node noise, pair losses) or invariant
/// (coarsening, pooling), so the coarse graphs G_{s≥1}, their latents and all losses are invariant
/// under a permutation of the input nodes, and the finest-level outputs (Z_0, Π_0) permute with it.
/// tests/models/equivariance.test.cpp and mgvae_order2.test.cpp check this to 1e-9 in double.
#include "mgvae/models/mgn/level.hpp"
#include "mgvae/models/mgn/schedule.hpp"
