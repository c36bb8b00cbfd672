// The mgvae::prebuilt library: the MGVAE models instantiated once for float and double, so that
// a program linking mgvae::prebuilt (which defines MGVAE_PREBUILT for it) does not instantiate
// them in every translation unit. mgvae stays header-only; this library is optional
// (docs/getting-started.md, "Faster builds").
#define MGVAE_PREBUILT_BUILDING 1
#include "mgvae/mgvae.hpp"

#define MGVAE_DETAIL_INSTANTIATE_MGVAE(T)                                                                   \
  template class mgvae::models::Mgvae<T, 1>;                                                                \
  template class mgvae::models::Mgvae<T, 2>;                                                                \
  template mgvae::models::MgvaeOutput<T, 2> mgvae::models::Mgvae<T, 2>::forward<2>(                         \
      const mgvae::RaggedBatch&, const mgvae::Var<T>&, const mgvae::Var<T>&, const mgvae::models::MgvaeNoise<T>&) \
      const;                                                                                                \
  template mgvae::models::LossTerms<T> mgvae::models::Mgvae<T, 2>::loss<2>(const mgvae::models::MgvaeOutput<T, 2>&) const;

MGVAE_DETAIL_INSTANTIATE_MGVAE(float)
MGVAE_DETAIL_INSTANTIATE_MGVAE(double)
