// Consumer of an installed mgvae: only the umbrella header and the exported target.
#include <mgvae/mgvae.hpp>

#include <iostream>

int main() {
  mgvae::CounterRng r(1);
  const double u = r.uniform(0);
  std::cout << "mgvae " << MGVAE_VERSION_MAJOR << '.' << MGVAE_VERSION_MINOR << '.' << MGVAE_VERSION_PATCH
            << " uniform(0) = " << u << '\n';
  if (!(u > 0.0 && u < 1.0)) return 1;
  std::cout << "mgvae consumer OK\n";
  return 0;
}
