#include "mgvae/core/arena.hpp"

#include <cstdint>

#include "mgvae/tensor/tensor.hpp"
#include "support/catch.hpp"

using namespace mgvae;
using TD = Tensor<double>;

TEST_CASE("arena: nested scopes release in order; dead storage throws", "[core][arena]") {
  Arena& a = Arena::local();
  CHECK_FALSE(a.active());
  const std::size_t base = a.in_use();
  TD outer_t, inner_t;
  {
    ArenaScope outer;
    CHECK(a.active());
    CHECK(a.current_scope() == outer.id());
    outer_t = TD::full({10}, 1.0);
    CHECK(outer_t.arena_backed());
    const std::size_t after_outer = a.in_use();
    CHECK(after_outer > base);
    {
      ArenaScope inner;
      CHECK(a.current_scope() == inner.id());
      inner_t = TD::full({100}, 2.0);
      CHECK(a.in_use() > after_outer);
      CHECK(a.is_live(outer.id()));
      CHECK(a.is_live(inner.id()));
    }
    CHECK(a.in_use() == after_outer);
    CHECK_THROWS_AS(inner_t.data(), std::logic_error);
    CHECK(outer_t(3) == 1.0);  // the outer scope's memory is still valid
  }
  CHECK_FALSE(a.active());
  CHECK(a.in_use() == base);
  CHECK_THROWS_AS(outer_t.data(), std::logic_error);
}

TEST_CASE("arena: memory is reused across scopes and 64-byte aligned", "[core][arena]") {
  Arena& a = Arena::local();
  const double* first = nullptr;
  std::size_t cap = 0;
  for (int i = 0; i < 5; ++i) {
    ArenaScope s;
    TD t = TD::zeros({1000});
    TD u = TD::zeros({3});
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % Arena::kAlign == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(u.data()) % Arena::kAlign == 0);
    if (i == 0) {
      first = t.data();
      cap = a.capacity();
    } else {
      CHECK(t.data() == first);  // same address every step
      CHECK(a.capacity() == cap);
    }
  }
  // a request bigger than the current block grows the arena; later scopes reuse it
  std::size_t grown = 0;
  {
    ArenaScope s;
    TD big = TD::zeros({(std::int64_t{1} << 20)});  // 8 MiB
    big.data()[(std::int64_t{1} << 20) - 1] = 1.0;
    grown = a.capacity();
    CHECK(grown >= (std::size_t{8} << 20));
    CHECK(a.peak() >= (std::size_t{8} << 20));
  }
  {
    ArenaScope s;
    TD big = TD::zeros({(std::int64_t{1} << 20)});
    CHECK(a.capacity() == grown);
  }
  CHECK(a.in_use() == 0);
}

TEST_CASE("HeapScope routes allocations to the heap inside an ArenaScope", "[core][arena]") {
  TD kept, step;
  {
    ArenaScope s;
    step = TD::ones({4});
    {
      HeapScope h;
      CHECK(HeapScope::heap_forced());
      kept = TD::full({4}, 3.0);
      {
        HeapScope h2;  // nests
      }
      CHECK(HeapScope::heap_forced());
    }
    CHECK_FALSE(HeapScope::heap_forced());
    CHECK(step.arena_backed());
    CHECK_FALSE(kept.arena_backed());
  }
  CHECK(kept(2) == 3.0);  // survives the ArenaScope
  CHECK_THROWS_AS(step.data(), std::logic_error);
  TD outside = TD::ones({2});  // no scope: heap
  CHECK_FALSE(outside.arena_backed());
}
