// Validation split of the training graphs (model selection without the test set).
#include <algorithm>
#include <set>
#include <vector>

#include "mgvae/models/graphgen/graph_data.hpp"
#include "support/catch.hpp"

using namespace mgvae::graphgen;

TEST_CASE("graphgen: validation split is a deterministic partition independent of the training seed", "[graphgen][split]") {
  const auto s = validation_split(80, 16, 0);
  REQUIRE(s.val.size() == 16);
  REQUIRE(s.train.size() == 64);
  CHECK(std::is_sorted(s.val.begin(), s.val.end()));
  CHECK(std::is_sorted(s.train.begin(), s.train.end()));
  std::set<std::size_t> all(s.val.begin(), s.val.end());
  for (auto i : s.train) CHECK(all.insert(i).second);  // disjoint
  CHECK(all.size() == 80);
  CHECK(*all.rbegin() == 79);
  // deterministic given val_seed; a different val_seed gives a different split
  const auto s2 = validation_split(80, 16, 0);
  CHECK(s2.val == s.val);
  CHECK(s2.train == s.train);
  CHECK(validation_split(80, 16, 1).val != s.val);
  // not simply the first or last graphs
  CHECK(s.val != std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  // val_count = 0: everything is training, in the original order (today's behaviour)
  const auto z = validation_split(80, 0, 0);
  CHECK(z.val.empty());
  REQUIRE(z.train.size() == 80);
  for (std::size_t i = 0; i < 80; ++i) CHECK(z.train[i] == i);
  CHECK_THROWS(validation_split(10, 10, 0));
}
