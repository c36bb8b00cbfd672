#pragma once
/// @file csr.hpp
/// `CsrMatrix<T>`: a constant sparse matrix in compressed sparse row form (the graph
/// adjacency / normalised Laplacian operand of `spmm`, ops/spmm.hpp).
///
/// Invariants checked by `validate`: rows, cols >= 0; row_ptr has rows+1 non-decreasing
/// entries from 0 to nnz; col and val have nnz entries; every column index is in [0, cols).
/// Column indices within a row need not be sorted (from_triplets and transpose produce sorted
/// rows without duplicates).
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "mgvae/core/error.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae {

template <class T>
struct CsrMatrix {
  std::int64_t rows = 0, cols = 0;
  std::vector<std::int64_t> row_ptr;  ///< rows + 1 offsets into col/val
  std::vector<std::int64_t> col;      ///< column index of each stored entry
  std::vector<T> val;                 ///< value of each stored entry

  /// Number of stored entries.
  std::int64_t nnz() const noexcept { return static_cast<std::int64_t>(col.size()); }

  /// Shape as a tensor shape [rows, cols].
  Shape shape() const { return Shape{rows, cols}; }

  /// Checks the invariants above.
  /// @throw std::invalid_argument "<fn>: ..." naming the first inconsistency.
  void validate(const char* fn) const {
    if (rows < 0 || cols < 0) throw_invalid(fn, "CSR matrix has negative shape " + shape_str(shape()));
    if (static_cast<std::int64_t>(row_ptr.size()) != rows + 1)
      throw_invalid(fn, "CSR row_ptr has " + std::to_string(row_ptr.size()) + " entries, expected rows + 1 = " +
                            std::to_string(rows + 1));
    if (col.size() != val.size())
      throw_invalid(fn, "CSR col has " + std::to_string(col.size()) + " entries but val has " +
                            std::to_string(val.size()));
    if (row_ptr[0] != 0) throw_invalid(fn, "CSR row_ptr[0] is " + std::to_string(row_ptr[0]) + ", expected 0");
    for (std::int64_t r = 0; r < rows; ++r)
      if (row_ptr[static_cast<std::size_t>(r + 1)] < row_ptr[static_cast<std::size_t>(r)])
        throw_invalid(fn, "CSR row_ptr decreases at row " + std::to_string(r));
    if (row_ptr.back() != nnz())
      throw_invalid(fn, "CSR row_ptr[rows] is " + std::to_string(row_ptr.back()) + " but nnz is " +
                            std::to_string(nnz()));
    for (std::size_t k = 0; k < col.size(); ++k)
      if (col[k] < 0 || col[k] >= cols)
        throw_invalid(fn, "CSR column index " + std::to_string(col[k]) + " (entry " + std::to_string(k) +
                              ") out of range [0, " + std::to_string(cols) + ")");
  }

  /// Builds a matrix from (row, col, value) triplets in any order; duplicates are summed and
  /// every row's columns come out sorted.
  /// @throw std::invalid_argument on a negative shape or an out-of-range row/column.
  static CsrMatrix from_triplets(std::int64_t rows, std::int64_t cols,
                                 const std::vector<std::tuple<std::int64_t, std::int64_t, T>>& triplets) {
    if (rows < 0 || cols < 0)
      throw_invalid("CsrMatrix::from_triplets", "negative shape " + shape_str(Shape{rows, cols}));
    for (std::size_t k = 0; k < triplets.size(); ++k) {
      const auto& [r, c, v] = triplets[k];
      (void)v;
      if (r < 0 || r >= rows || c < 0 || c >= cols)
        throw_invalid("CsrMatrix::from_triplets", "triplet " + std::to_string(k) + " index (" + std::to_string(r) +
                                                      ", " + std::to_string(c) + ") out of range for shape " +
                                                      shape_str(Shape{rows, cols}));
    }
    std::vector<std::size_t> order(triplets.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const auto& ta = triplets[a];
      const auto& tb = triplets[b];
      return std::get<0>(ta) != std::get<0>(tb) ? std::get<0>(ta) < std::get<0>(tb) : std::get<1>(ta) < std::get<1>(tb);
    });
    CsrMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.row_ptr.assign(static_cast<std::size_t>(rows + 1), 0);
    std::int64_t last_r = -1, last_c = -1;
    for (std::size_t o : order) {
      const auto& [r, c, v] = triplets[o];
      if (r == last_r && c == last_c) {
        m.val.back() += v;  // duplicate: sum
        continue;
      }
      m.col.push_back(c);
      m.val.push_back(v);
      ++m.row_ptr[static_cast<std::size_t>(r + 1)];
      last_r = r;
      last_c = c;
    }
    for (std::int64_t r = 0; r < rows; ++r)
      m.row_ptr[static_cast<std::size_t>(r + 1)] += m.row_ptr[static_cast<std::size_t>(r)];
    return m;
  }

  /// The transpose [cols x rows] (counting sort: O(nnz + rows + cols); rows of the result are
  /// sorted by column).
  CsrMatrix transpose() const {
    validate("CsrMatrix::transpose");
    CsrMatrix t;
    t.rows = cols;
    t.cols = rows;
    t.row_ptr.assign(static_cast<std::size_t>(cols + 1), 0);
    for (std::int64_t c : col) ++t.row_ptr[static_cast<std::size_t>(c + 1)];
    for (std::int64_t c = 0; c < cols; ++c)
      t.row_ptr[static_cast<std::size_t>(c + 1)] += t.row_ptr[static_cast<std::size_t>(c)];
    t.col.resize(col.size());
    t.val.resize(val.size());
    std::vector<std::int64_t> next(t.row_ptr.begin(), t.row_ptr.end() - 1);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t k = row_ptr[static_cast<std::size_t>(r)]; k < row_ptr[static_cast<std::size_t>(r + 1)]; ++k) {
        const auto dst = static_cast<std::size_t>(next[static_cast<std::size_t>(col[static_cast<std::size_t>(k)])]++);
        t.col[dst] = r;
        t.val[dst] = val[static_cast<std::size_t>(k)];
      }
    return t;
  }

  /// Dense copy [rows, cols] (duplicate entries, if any, are summed).
  Tensor<T> to_dense() const {
    validate("CsrMatrix::to_dense");
    Tensor<T> d = Tensor<T>::zeros(shape());
    T* p = d.data();
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t k = row_ptr[static_cast<std::size_t>(r)]; k < row_ptr[static_cast<std::size_t>(r + 1)]; ++k)
        p[r * cols + col[static_cast<std::size_t>(k)]] += val[static_cast<std::size_t>(k)];
    return d;
  }
};

}  // namespace mgvae
