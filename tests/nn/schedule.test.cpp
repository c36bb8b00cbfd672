// PlateauSchedule: reductions, floor, stopping rule and typed errors, on metric sequences whose
// outcome is derived by hand (the rule is PyTorch's ReduceLROnPlateau, mode "min", threshold 0).
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "mgvae/nn/schedule.hpp"
#include "support/catch.hpp"

using mgvae::nn::PlateauOptions;
using mgvae::nn::PlateauSchedule;

TEST_CASE("PlateauSchedule halves the rate after `patience` epochs without a strict improvement", "[nn][schedule]") {
  PlateauSchedule s(1.0, PlateauOptions{0.5, 2, 0.1});
  // epoch:          1    2    3    4    5    6    7
  // metric:         3    2    2    2.5  1    1    1
  // improved:       y    y    n    n    y    n    n
  // bad count:      0    0    1    2→0  0    1    2→0
  // lr after:       1    1    1    0.5  0.5  0.5  0.25
  const std::vector<double> metric{3, 2, 2, 2.5, 1, 1, 1};
  const std::vector<double> lr{1, 1, 1, 0.5, 0.5, 0.5, 0.25};
  const std::vector<bool> improved{true, true, false, false, true, false, false};
  const std::vector<bool> reduced{false, false, false, true, false, false, true};
  for (std::size_t i = 0; i < metric.size(); ++i) {
    INFO("epoch " << i + 1);
    const auto st = s.update(metric[i]);
    CHECK(st.improved == improved[i]);
    CHECK(st.reduced == reduced[i]);
    CHECK_FALSE(st.stop);
    CHECK(s.lr() == lr[i]);
  }
  CHECK(s.best() == 1.0);
  CHECK(s.epochs_since_best() == 0);
}

TEST_CASE("PlateauSchedule clamps at min_lr and then signals stop on the next plateau", "[nn][schedule]") {
  PlateauSchedule s(1.0, PlateauOptions{0.3, 1, 0.2});
  CHECK(s.update(5).improved);
  auto st = s.update(5);  // plateau: 1 -> 0.3
  CHECK(st.reduced);
  CHECK(s.lr() == Approx(0.3).epsilon(1e-15));
  st = s.update(6);  // plateau: 0.3 * 0.3 = 0.09 < 0.2 -> clamped to 0.2
  CHECK(st.reduced);
  CHECK(s.lr() == 0.2);
  CHECK_FALSE(st.stop);
  st = s.update(7);  // plateau at the floor: stop, rate unchanged
  CHECK(st.stop);
  CHECK_FALSE(st.reduced);
  CHECK(s.lr() == 0.2);
  st = s.update(4);  // an improvement still registers after a stop signal
  CHECK(st.improved);
  CHECK_FALSE(st.stop);
}

TEST_CASE("PlateauSchedule with min_lr equal to lr stops at the first plateau", "[nn][schedule]") {
  PlateauSchedule s(0.01, PlateauOptions{0.5, 3, 0.01});
  CHECK(s.update(1).improved);
  CHECK_FALSE(s.update(1).stop);
  CHECK_FALSE(s.update(1).stop);
  CHECK(s.update(1).stop);
  CHECK(s.lr() == 0.01);
}

TEST_CASE("PlateauSchedule treats +inf as no improvement after the first value and rejects NaN", "[nn][schedule]") {
  PlateauSchedule s(1.0, PlateauOptions{0.5, 1, 0.0});
  CHECK_FALSE(s.update(std::numeric_limits<double>::infinity()).improved);  // not < +inf
  CHECK(s.lr() == 0.5);
  CHECK_THROWS_AS(s.update(std::nan("")), std::domain_error);
  CHECK(s.lr() == 0.5);  // unchanged by the rejected update
}

TEST_CASE("PlateauSchedule rejects bad settings with std::invalid_argument naming the argument", "[nn][schedule]") {
  CHECK_THROWS_WITH(PlateauSchedule(0.0), Catch::Contains("'lr'"));
  CHECK_THROWS_WITH(PlateauSchedule(std::nan("")), Catch::Contains("'lr'"));
  CHECK_THROWS_WITH(PlateauSchedule(1.0, PlateauOptions{1.0, 5, 0.0}), Catch::Contains("'factor'"));
  CHECK_THROWS_WITH(PlateauSchedule(1.0, PlateauOptions{0.0, 5, 0.0}), Catch::Contains("'factor'"));
  CHECK_THROWS_WITH(PlateauSchedule(1.0, PlateauOptions{0.5, 0, 0.0}), Catch::Contains("'patience'"));
  CHECK_THROWS_WITH(PlateauSchedule(1.0, PlateauOptions{0.5, 5, -1.0}), Catch::Contains("'min_lr'"));
  CHECK_THROWS_WITH(PlateauSchedule(1.0, PlateauOptions{0.5, 5, 2.0}), Catch::Contains("'min_lr'"));
  CHECK_THROWS_AS(PlateauSchedule(1.0, PlateauOptions{0.5, 0, 0.0}), std::invalid_argument);
}
