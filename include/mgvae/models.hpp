#pragma once
/// @file models.hpp
/// Facade: every RDKit-free model (MGN, Mgvae<T, 1>, Mgvae<T, 2>, VGAE, the equivariant prior,
/// size matching, the molecule and graph generators, the property regressor).
/// See models/models.hpp for the list; included by mgvae/mgvae.hpp.
#include "mgvae/models/models.hpp"
