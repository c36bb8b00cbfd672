#pragma once
/// @file layers.hpp
/// The second-order layer and encoder of the molecule MGVAE. These were once faster copies of
/// `models::SecondOrderLayer` / `models::SecondOrderEncoder` (split mixing weight, no
/// [P, 6EC + 15C] concatenation); that form now lives in models/mgn/second_order.hpp itself, so the
/// names below are aliases kept for the molecule code and its tests.
#include "mgvae/models/mgn/second_order.hpp"

namespace mgvae::molgen {

/// models::SecondOrderLayer (Eq. 3 contractions + the 2→2 basis, split mixing).
template <class T>
using SplitSecondOrderLayer = models::SecondOrderLayer<T>;

/// models::SecondOrderEncoder (App. B, Σ = L Lᵀ + εI).
template <class T>
using SplitSecondOrderEncoder = models::SecondOrderEncoder<T>;

}  // namespace mgvae::molgen
