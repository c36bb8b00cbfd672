#pragma once
/// @file checkpoint.hpp
/// Tensors to and from files in the safetensors layout
/// (https://github.com/huggingface/safetensors, "Format"):
///
///     [8 bytes: N, unsigned little-endian]
///     [N bytes: JSON header, padded with spaces to a multiple of 8]
///     [data: raw little-endian values, tensors back to back]
///
/// The header maps each tensor name to {"dtype": "F32"|"F64", "shape": [...],
/// "data_offsets": [begin, end]} (offsets relative to the start of the data section) and may
/// hold "__metadata__": {string: string}. We write tensors in name order (byte-wise), and the
/// reader checks what the reference implementation checks: the header is a JSON object, every
/// entry is well formed, byte ranges match shape × dtype size, and the ranges tile the data
/// section exactly (no gaps, no overlap, no trailing bytes).
///
/// Saving is atomic: the bytes go to `<path>.tmp.<pid>`, are fsync'ed, and the file is renamed
/// over `path`; on failure the temporary file is removed, so `path` is either the old file or the
/// complete new one. Loading errors are `mgvae::ParseError(path, byte_offset, msg)`: for these
/// binary files the "line" slot of the message holds the byte offset ("model.safetensors:8: ...
/// (at byte 8)").
///
/// A *training state* file (save_training_state / load_training_state) is one such file holding
/// everything a trainer needs to continue bit-identically: the module's parameters ("param/<name>"),
/// the optimiser's state ("optim/<entry>", scalars in "__metadata__" as "mgvae.optim.<key>"), any
/// further tensors of the trainer ("extra/<name>", e.g. the best-validation parameters) and the
/// trainer's own string metadata (epoch, step, RNG counters, schedule, best values, ...).
///
/// The JSON reader/writer here is a small self-contained one (only what the header needs), so
/// the core stays free of dependencies.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#define MGVAE_HAVE_POSIX_IO 1
#endif

#include "mgvae/autodiff/tape.hpp"
#include "mgvae/core/arena.hpp"
#include "mgvae/core/error.hpp"
#include "mgvae/nn/finite.hpp"
#include "mgvae/nn/module.hpp"
#include "mgvae/nn/optim.hpp"
#include "mgvae/nn/state.hpp"
#include "mgvae/tensor/tensor.hpp"

namespace mgvae::nn {

namespace detail {

// ---- a minimal JSON value and parser (objects, arrays, strings, numbers, literals) ------------

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  bool is_uint = false;       ///< number is a non-negative integer that fits in uint64
  std::uint64_t uint = 0;
  std::string str;            ///< string value, or the number's text
  std::vector<Json> arr;   ///< array elements, or object values
  std::vector<std::string> keys;  ///< object keys (insertion order), parallel to arr
  std::size_t pos = 0;        ///< byte offset of the value within the parsed text
};

class JsonParser {
 public:
  /// `base` is added to positions in error messages (the header starts at byte 8).
  JsonParser(const std::string& text, const std::string& file, std::size_t base) : s_(text), file_(file), base_(base) {}

  Json parse_document() {
    skip_ws();
    Json v = value(0);
    skip_ws();
    if (i_ != s_.size()) fail("unexpected character after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const { fail_at(i_, msg); }
  [[noreturn]] void fail_at(std::size_t at, const std::string& msg) const {
    const std::size_t b = base_ + at;
    throw ParseError(file_, static_cast<std::int64_t>(b), "bad safetensors JSON header: " + msg + " (at byte " + std::to_string(b) + ")");
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }

  Json value(int depth) {
    if (depth > 64) fail("nesting deeper than 64 levels");
    if (i_ >= s_.size()) fail("unexpected end of header");
    Json v;
    v.pos = i_;
    const char c = s_[i_];
    if (c == '{') {
      v.kind = Json::Kind::Object;
      ++i_;
      skip_ws();
      if (eat('}')) return v;
      std::set<std::string> keys;
      for (;;) {
        skip_ws();
        const std::size_t kpos = i_;
        if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string key");
        std::string k = string_body();
        if (!keys.insert(k).second) fail_at(kpos, "duplicate key \"" + k + "\"");
        skip_ws();
        expect(':');
        skip_ws();
        Json child = value(depth + 1);
        v.keys.push_back(std::move(k));
        v.arr.push_back(std::move(child));
        skip_ws();
        if (eat('}')) return v;
        expect(',');
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::Array;
      ++i_;
      skip_ws();
      if (eat(']')) return v;
      for (;;) {
        skip_ws();
        v.arr.push_back(value(depth + 1));
        skip_ws();
        if (eat(']')) return v;
        expect(',');
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::String;
      v.str = string_body();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (s_.compare(i_, 4, "true") == 0) {
      v.kind = Json::Kind::Bool;
      v.boolean = true;
      i_ += 4;
      return v;
    }
    if (s_.compare(i_, 5, "false") == 0) {
      v.kind = Json::Kind::Bool;
      i_ += 5;
      return v;
    }
    if (s_.compare(i_, 4, "null") == 0) {
      i_ += 4;
      return v;
    }
    fail(std::string("unexpected character '") + (static_cast<unsigned char>(c) >= 32 ? std::string(1, c) : "\\x" + hex2(c)) + "'");
  }

  static std::string hex2(char c) {
    const char* d = "0123456789abcdef";
    const auto u = static_cast<unsigned char>(c);
    return std::string{d[u >> 4], d[u & 15]};
  }

  Json number() {
    Json v;
    v.kind = Json::Kind::Number;
    v.pos = i_;
    const std::size_t start = i_;
    const bool neg = eat('-');
    if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) fail("malformed number");
    bool overflow = false;
    std::uint64_t u = 0;
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        const auto d = static_cast<std::uint64_t>(s_[i_] - '0');
        if (u > (UINT64_MAX - d) / 10) overflow = true;
        else u = u * 10 + d;
        ++i_;
      }
    }
    bool integral = true;
    if (eat('.')) {
      integral = false;
      if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) fail("malformed number");
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      integral = false;
      ++i_;
      if (!eat('+')) eat('-');
      if (i_ >= s_.size() || !(s_[i_] >= '0' && s_[i_] <= '9')) fail("malformed number");
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    v.str = s_.substr(start, i_ - start);
    v.is_uint = integral && !neg && !overflow;
    v.uint = u;
    return v;
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned x = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      x <<= 4;
      if (c >= '0' && c <= '9') x |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') x |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') x |= static_cast<unsigned>(c - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return x;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  /// Reads a string starting at the opening quote; returns the unescaped UTF-8 bytes.
  std::string string_body() {
    expect('"');
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail_at(i_ - 1, "control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // surrogate pair
            if (!(eat('\\') && eat('u'))) fail("unpaired surrogate in \\u escape");
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("bad low surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate in \\u escape");
          }
          put_utf8(out, cp);
          break;
        }
        default: fail_at(i_ - 1, std::string("bad escape '\\") + e + "'");
      }
    }
  }

  const std::string& s_;
  const std::string& file_;
  std::size_t base_;
  std::size_t i_ = 0;
};

/// JSON string literal with escapes (UTF-8 passes through).
inline std::string json_quote(const std::string& s) {
  std::string o = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      case '\b': o += "\\b"; break;
      case '\f': o += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const char* d = "0123456789abcdef";
          o += "\\u00";
          o += d[(c >> 4) & 15];
          o += d[c & 15];
        } else {
          o += c;
        }
    }
  }
  return o + "\"";
}

// ---- byte order ------------------------------------------------------------------------------

template <class U>
inline void store_le(char* dst, U v) {
  static_assert(std::is_trivially_copyable_v<U>);
  char b[sizeof(U)];
  std::memcpy(b, &v, sizeof(U));
  if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(U));
  std::memcpy(dst, b, sizeof(U));
}

template <class U>
inline U load_le(const char* src) {
  char b[sizeof(U)];
  std::memcpy(b, src, sizeof(U));
  if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(U));
  U v;
  std::memcpy(&v, b, sizeof(U));
  return v;
}

template <class T>
constexpr const char* dtype_name() {
  return std::is_same_v<T, float> ? "F32" : "F64";
}

// ---- the parsed header ------------------------------------------------------------------------

struct StEntry {
  std::string name;
  std::string dtype;  ///< "F32" or "F64"
  Shape shape;
  std::uint64_t begin = 0, end = 0;  ///< relative to the data section
};

struct StHeader {
  std::vector<StEntry> entries;  ///< sorted by begin offset
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  ///< absolute byte offset of the data section
  std::uint64_t file_size = 0;
};

/// Opens `path`, reads and validates the header (needs only the header bytes and the file size).
inline StHeader read_st_header(const std::string& path, std::ifstream& in) {
  in.open(path, std::ios::binary);
  if (!in) throw ParseError(path, 0, "cannot open safetensors file: " + std::string(std::strerror(errno)) + " (at byte 0)");
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (!in || end < 0) throw ParseError(path, 0, "cannot read safetensors file (a directory?) (at byte 0)");
  const auto fsz = static_cast<std::uint64_t>(end);
  in.seekg(0, std::ios::beg);
  StHeader h;
  h.file_size = fsz;
  if (fsz < 8)
    throw ParseError(path, static_cast<std::int64_t>(fsz),
                     "truncated safetensors file: " + std::to_string(fsz) + " bytes, the 8-byte header length is missing (at byte " +
                         std::to_string(fsz) + ")");
  char lenb[8];
  in.read(lenb, 8);
  const auto n = load_le<std::uint64_t>(lenb);
  if (n > fsz - 8)
    throw ParseError(path, 0,
                     "header length " + std::to_string(n) + " (read at byte 0) runs past the end of the file (" +
                         std::to_string(fsz) + " bytes): truncated or not a safetensors file (at byte 0)");
  if (n > 100'000'000ull) throw ParseError(path, 0, "header length " + std::to_string(n) + " exceeds 100 MB (at byte 0)");
  std::string text(static_cast<std::size_t>(n), '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  if (!in) throw ParseError(path, 8, "cannot read the header (at byte 8)");
  if (n == 0 || text[0] != '{') throw ParseError(path, 8, "header does not start with '{' (at byte 8)");
  // Trailing spaces are padding; the JSON parser skips them as whitespace.
  Json doc = JsonParser(text, path, 8).parse_document();
  if (doc.kind != Json::Kind::Object) throw ParseError(path, 8, "header is not a JSON object (at byte 8)");
  h.data_start = 8 + n;
  const std::uint64_t data_size = fsz - h.data_start;

  auto err = [&](std::size_t pos, const std::string& msg) -> ParseError {
    const std::uint64_t b = 8 + pos;
    return ParseError(path, static_cast<std::int64_t>(b), msg + " (at byte " + std::to_string(b) + ")");
  };
  auto field = [&](const Json& o, const std::string& entry, const char* key) -> const Json& {
    for (std::size_t j = 0; j < o.keys.size(); ++j)
      if (o.keys[j] == key) return o.arr[j];
    throw err(o.pos, "tensor '" + entry + "' has no \"" + key + "\"");
  };
  auto uint_of = [&](const Json& v, const std::string& what) -> std::uint64_t {
    if (v.kind != Json::Kind::Number || !v.is_uint || v.uint > static_cast<std::uint64_t>(INT64_MAX))
      throw err(v.pos, what + " must be a non-negative integer, got " + (v.kind == Json::Kind::Number ? v.str : "a non-number"));
    return v.uint;
  };

  for (std::size_t j = 0; j < doc.keys.size(); ++j) {
    const std::string& name = doc.keys[j];
    const Json& v = doc.arr[j];
    if (name == "__metadata__") {
      if (v.kind != Json::Kind::Object) throw err(v.pos, "__metadata__ must be an object of strings");
      for (std::size_t q = 0; q < v.keys.size(); ++q) {
        const std::string& mk = v.keys[q];
        const Json& mv = v.arr[q];
        if (mv.kind != Json::Kind::String) throw err(mv.pos, "__metadata__ value of \"" + mk + "\" is not a string");
        h.metadata[mk] = mv.str;
      }
      continue;
    }
    if (v.kind != Json::Kind::Object) throw err(v.pos, "entry '" + name + "' is not an object");
    StEntry e;
    e.name = name;
    const Json& dt = field(v, name, "dtype");
    if (dt.kind != Json::Kind::String) throw err(dt.pos, "dtype of tensor '" + name + "' is not a string");
    if (dt.str != "F32" && dt.str != "F64")
      throw err(dt.pos, "tensor '" + name + "' has dtype \"" + dt.str + "\"; mgvae reads F32 and F64 only");
    e.dtype = dt.str;
    const Json& sh = field(v, name, "shape");
    if (sh.kind != Json::Kind::Array) throw err(sh.pos, "shape of tensor '" + name + "' is not an array");
    std::uint64_t numel = 1;
    bool numel_overflow = false;
    for (const auto& d : sh.arr) {
      const std::uint64_t x = uint_of(d, "dimension of tensor '" + name + "'");
      e.shape.push_back(static_cast<std::int64_t>(x));
      if (x != 0 && numel > UINT64_MAX / x) numel_overflow = true;
      else numel *= x;
    }
    const Json& off = field(v, name, "data_offsets");
    if (off.kind != Json::Kind::Array || off.arr.size() != 2)
      throw err(off.pos, "data_offsets of tensor '" + name + "' must be [begin, end]");
    e.begin = uint_of(off.arr[0], "data_offsets of tensor '" + name + "'");
    e.end = uint_of(off.arr[1], "data_offsets of tensor '" + name + "'");
    if (e.begin > e.end)
      throw err(off.pos, "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] of tensor '" + name +
                             "' are reversed");
    if (e.end > data_size)
      throw ParseError(path, static_cast<std::int64_t>(h.data_start + data_size),
                       "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] of tensor '" + name +
                           "' run past the end of the data section (" + std::to_string(data_size) +
                           " bytes): file truncated? (at byte " + std::to_string(h.data_start + data_size) + ")");
    const std::uint64_t esz = e.dtype == "F32" ? 4 : 8;
    if (numel_overflow || numel > UINT64_MAX / esz || numel * esz != e.end - e.begin)
      throw err(off.pos, "tensor '" + name + "' of shape " + shape_str(e.shape) + " and dtype " + e.dtype + " needs " +
                             (numel_overflow ? std::string("too many") : std::to_string(numel * esz)) + " bytes but data_offsets [" +
                             std::to_string(e.begin) + ", " + std::to_string(e.end) + "] span " + std::to_string(e.end - e.begin));
    h.entries.push_back(std::move(e));
  }
  // The byte ranges must tile [0, data_size) exactly (as the reference implementation checks).
  std::sort(h.entries.begin(), h.entries.end(),
            [](const StEntry& a, const StEntry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  std::uint64_t at = 0;
  for (const auto& e : h.entries) {
    if (e.begin != at)
      throw ParseError(path, static_cast<std::int64_t>(h.data_start + std::min(e.begin, at)),
                       "data_offsets of tensor '" + e.name + "' start at " + std::to_string(e.begin) + " but the previous tensor ends at " +
                           std::to_string(at) + " (gap or overlap) (at byte " + std::to_string(h.data_start + std::min(e.begin, at)) + ")");
    at = e.end;
  }
  if (at != data_size)
    throw ParseError(path, static_cast<std::int64_t>(h.data_start + at),
                     "data section has " + std::to_string(data_size) + " bytes but the tensors cover " + std::to_string(at) +
                         " (at byte " + std::to_string(h.data_start + at) + ")");
  return h;
}

}  // namespace detail

/// Writes `tensors` (in name order) and `metadata` to `path` in the safetensors layout, atomically.
/// Tensors need not be contiguous. Element type F32 for float, F64 for double.
/// @throw std::invalid_argument for an empty, duplicate or reserved ("__metadata__") name or an
///        undefined tensor; mgvae::DivergenceError naming the tensor if one holds a NaN or ±Inf
///        (checked before the file is touched); std::system_error (with errno) if the file cannot be written (the
///        temporary file is removed and `path` is left as it was).
template <class T>
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor<T>>>& tensors,
                      const std::map<std::string, std::string>& metadata = {}) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "save_safetensors: float or double");
  std::vector<const std::pair<std::string, Tensor<T>>*> order;
  for (const auto& p : tensors) {
    if (p.first.empty()) throw_invalid("save_safetensors", "empty tensor name");
    if (p.first == "__metadata__") throw_invalid("save_safetensors", "\"__metadata__\" is reserved and cannot name a tensor");
    if (!p.second.defined()) throw_invalid("save_safetensors", "tensor '" + p.first + "' is undefined");
    order.push_back(&p);
  }
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (std::size_t i = 1; i < order.size(); ++i)
    if (order[i]->first == order[i - 1]->first) throw_invalid("save_safetensors", "duplicate tensor name '" + order[i]->first + "'");
  // A non-finite tensor is refused before anything is written: a diverged run never replaces a
  // good checkpoint.
  for (const auto* p : order) {
    const std::int64_t bad = first_non_finite_index(p->second);
    if (bad >= 0)
      throw DivergenceError("save_safetensors", p->first,
                            "tensor '" + p->first + "' has a non-finite value at flat index " + std::to_string(bad) +
                                "; refusing to write '" + path + "' (the existing file, if any, is kept)");
  }

  // Header JSON.
  std::string hdr = "{";
  bool first = true;
  if (!metadata.empty()) {
    hdr += "\"__metadata__\":{";
    bool mf = true;
    for (const auto& [k, v] : metadata) {
      hdr += (mf ? "" : ",") + detail::json_quote(k) + ":" + detail::json_quote(v);
      mf = false;
    }
    hdr += "}";
    first = false;
  }
  std::uint64_t off = 0;
  for (const auto* p : order) {
    const std::uint64_t bytes = static_cast<std::uint64_t>(p->second.numel()) * sizeof(T);
    hdr += (first ? "" : ",") + detail::json_quote(p->first) + ":{\"dtype\":\"" + detail::dtype_name<T>() + "\",\"shape\":[";
    for (std::size_t d = 0; d < p->second.shape().size(); ++d) hdr += (d ? "," : "") + std::to_string(p->second.shape()[d]);
    hdr += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + bytes) + "]}";
    off += bytes;
    first = false;
  }
  hdr += "}";
  while (hdr.size() % 8 != 0) hdr += ' ';

  // Whole file in memory, then one write.
  std::string buf(8 + hdr.size() + off, '\0');
  detail::store_le<std::uint64_t>(buf.data(), hdr.size());
  std::memcpy(buf.data() + 8, hdr.data(), hdr.size());
  char* dst = buf.data() + 8 + hdr.size();
  for (const auto* p : order) {
    const std::vector<T> v = p->second.to_vector();
    for (const T x : v) {
      detail::store_le<T>(dst, x);
      dst += sizeof(T);
    }
  }

#ifdef MGVAE_HAVE_POSIX_IO
  const std::string tmp = path + ".tmp." + std::to_string(static_cast<long long>(::getpid()));
  auto fail = [&](const std::string& what, int e) {
    ::unlink(tmp.c_str());
    throw std::system_error(e, std::generic_category(), "save_safetensors: " + what);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int e = errno;
    throw std::system_error(e, std::generic_category(), "save_safetensors: cannot create '" + tmp + "'");
  }
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t w = ::write(fd, buf.data() + done, buf.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      fail("cannot write '" + tmp + "'", e);
    }
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    fail("cannot fsync '" + tmp + "'", e);
  }
  if (::close(fd) != 0) fail("cannot close '" + tmp + "'", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename '" + tmp + "' to '" + path + "'", errno);
  // Make the rename itself durable (best effort).
  {
    const std::size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
  }
#else
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::system_error(errno, std::generic_category(), "save_safetensors: cannot create '" + tmp + "'");
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw std::system_error(errno, std::generic_category(), "save_safetensors: cannot write '" + tmp + "'");
    }
  }
  std::remove(path.c_str());
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw std::system_error(e, std::generic_category(), "save_safetensors: cannot rename '" + tmp + "'");
  }
#endif
}

namespace detail {
template <class T>
std::vector<std::pair<std::string, Tensor<T>>> load_st(const std::string& path, std::map<std::string, std::string>* metadata) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "load_safetensors: float or double");
  std::ifstream in;
  const StHeader h = read_st_header(path, in);
  std::string data(static_cast<std::size_t>(h.file_size - h.data_start), '\0');
  in.seekg(static_cast<std::streamoff>(h.data_start), std::ios::beg);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (!in)
    throw ParseError(path, static_cast<std::int64_t>(h.data_start),
                     "cannot read the data section (at byte " + std::to_string(h.data_start) + ")");
  std::vector<std::pair<std::string, Tensor<T>>> out;
  HeapScope heap;
  for (const auto& e : h.entries) {
    Tensor<T> t(e.shape);
    const char* src = data.data() + e.begin;
    T* p = t.data();
    const std::int64_t n = t.numel();
    if (e.dtype == "F32")
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(load_le<float>(src + 4 * i));
    else
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(load_le<double>(src + 8 * i));
    out.emplace_back(e.name, std::move(t));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (metadata) *metadata = h.metadata;
  return out;
}
}  // namespace detail

/// Reads every tensor of a safetensors file (F32 or F64, converted to T), in name order.
/// The tensors are heap-allocated (safe to keep past an ArenaScope).
/// @throw mgvae::ParseError(path, byte offset, msg) for a missing, truncated or malformed file:
///        short file, header length beyond the file, bad JSON, unknown dtype, shape × dtype size
///        ≠ byte range, offsets out of range, gaps or overlaps.
template <class T>
std::vector<std::pair<std::string, Tensor<T>>> load_safetensors(const std::string& path) {
  return detail::load_st<T>(path, nullptr);
}

/// The "__metadata__" map of a safetensors file (empty if none). Reads only the header.
/// @throw mgvae::ParseError as load_safetensors.
inline std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  std::ifstream in;
  return detail::read_st_header(path, in).metadata;
}

/// Saves every parameter of `m` (named_parameters() names, values of type T) atomically.
/// @throw as save_safetensors.
template <class T>
void save_checkpoint(const Module<T>& m, const std::string& path, const std::map<std::string, std::string>& metadata = {}) {
  std::vector<std::pair<std::string, Tensor<T>>> ts;
  for (const auto& [n, v] : m.named_parameters()) ts.emplace_back(n, v.value());
  save_safetensors<T>(path, ts, metadata);
}

/// Loads parameter values from `path` into `m` in place (the parameters keep their storage, so
/// optimisers and copies of the Vars see the new values). Every parameter must be in the file
/// with the same shape and every tensor in the file must be a parameter; nothing is changed
/// unless all agree. Returns the file's metadata.
/// @throw mgvae::ParseError for a malformed file; std::invalid_argument naming the parameter for
///        a missing, extra or differently shaped tensor.
template <class T>
std::map<std::string, std::string> load_checkpoint(Module<T>& m, const std::string& path) {
  std::map<std::string, std::string> meta;
  auto ts = detail::load_st<T>(path, &meta);
  std::map<std::string, const Tensor<T>*> byname;
  for (const auto& [n, t] : ts) byname[n] = &t;
  const auto params = m.named_parameters();
  std::set<std::string> pnames;
  for (const auto& [n, v] : params) {
    pnames.insert(n);
    auto it = byname.find(n);
    if (it == byname.end()) throw_invalid("load_checkpoint", "parameter '" + n + "' is missing from '" + path + "'");
    if (it->second->shape() != v.shape())
      throw_invalid("load_checkpoint", "parameter '" + n + "' has shape " + shape_str(v.shape()) + " but '" + path + "' holds " +
                                           shape_str(it->second->shape()));
  }
  for (const auto& [n, t] : ts)
    if (!pnames.count(n)) throw_invalid("load_checkpoint", "'" + path + "' holds tensor '" + n + "' that is not a parameter of the module");
  NoGradGuard ng;
  for (const auto& [n, v] : params) v.value().copy_from(*byname[n]);
  return meta;
}

/// Format tag of a training-state file ("mgvae.format" in its metadata).
inline constexpr const char* kTrainingStateFormat = "mgvae-training-state/1";

/// What load_training_state returns besides restoring the module and the optimiser.
template <class T>
struct TrainingState {
  std::map<std::string, std::string> metadata;  ///< the trainer's metadata (the "mgvae.*" keys removed)
  std::map<std::string, Tensor<T>> extra;       ///< the extra tensors, by the names they were saved under
};

/// Writes a training state atomically (see save_safetensors: `path` is either the previous file or
/// the complete new one, even if the process is killed during the write): every parameter of `m`,
/// the full state of `opt` (OptimizerState), the `extra` tensors and `metadata`.
/// @throw std::invalid_argument for a metadata key starting with "mgvae." (reserved) or a bad
///        extra name; otherwise as save_safetensors (DivergenceError for a non-finite tensor,
///        std::system_error for a failed write, both leaving `path` untouched).
template <class T>
void save_training_state(const std::string& path, const Module<T>& m, const Optimizer<T>& opt,
                         const std::map<std::string, std::string>& metadata,
                         const std::vector<std::pair<std::string, Tensor<T>>>& extra = {}) {
  std::vector<std::pair<std::string, Tensor<T>>> ts;
  for (const auto& [n, v] : m.named_parameters()) ts.emplace_back("param/" + n, v.value());
  const OptimizerState<T> os = opt.state();
  for (const auto& [n, t] : os.tensors) ts.emplace_back("optim/" + n, t);
  for (const auto& [n, t] : extra) {
    if (n.empty()) throw_invalid("save_training_state", "empty extra tensor name");
    ts.emplace_back("extra/" + n, t);
  }
  std::map<std::string, std::string> meta;
  for (const auto& [k, v] : metadata) {
    if (k.rfind("mgvae.", 0) == 0) throw_invalid("save_training_state", "metadata key '" + k + "' uses the reserved prefix \"mgvae.\"");
    meta[k] = v;
  }
  for (const auto& [k, v] : os.scalars) meta["mgvae.optim." + k] = v;
  meta["mgvae.format"] = kTrainingStateFormat;
  meta["mgvae.dtype"] = detail::dtype_name<T>();
  save_safetensors<T>(path, ts, meta);
}

/// Reads a file written by save_training_state and restores `m`'s parameters and `opt`'s state
/// bit-for-bit. Everything is checked before anything changes: on any error `m` and `opt` are
/// as they were.
/// @throw mgvae::ParseError (IoError when missing) for an unreadable or malformed file;
///        StateMismatchError naming the entry for a file that is not a training state
///        ("mgvae.format"), was written with the other element type ("mgvae.dtype"), lacks a
///        parameter or has one of another shape ("param/<name>"), has a tensor that is not a
///        parameter, or whose optimiser state does not fit (`opt.load_state`).
template <class T>
TrainingState<T> load_training_state(const std::string& path, Module<T>& m, Optimizer<T>& opt) {
  std::map<std::string, std::string> meta;
  auto ts = detail::load_st<T>(path, &meta);
  auto need = [&](const std::string& key) -> const std::string& {
    auto it = meta.find(key);
    if (it == meta.end()) throw StateMismatchError(key, "'" + path + "' is not a training-state file (no \"" + key + "\" in its metadata)");
    return it->second;
  };
  if (need("mgvae.format") != kTrainingStateFormat)
    throw StateMismatchError("mgvae.format", "'" + path + "' has training-state format \"" + meta["mgvae.format"] + "\", expected \"" +
                                                 kTrainingStateFormat + "\"");
  if (need("mgvae.dtype") != detail::dtype_name<T>())
    throw StateMismatchError("mgvae.dtype", "'" + path + "' holds " + meta["mgvae.dtype"] + " values, this model is " +
                                                detail::dtype_name<T>() + " (resuming must not change the element type)");
  std::map<std::string, Tensor<T>> params_in, extra;
  OptimizerState<T> os;
  for (auto& [n, t] : ts) {
    if (n.rfind("param/", 0) == 0) params_in.emplace(n.substr(6), std::move(t));
    else if (n.rfind("optim/", 0) == 0) os.tensors.emplace(n.substr(6), std::move(t));
    else if (n.rfind("extra/", 0) == 0) extra.emplace(n.substr(6), std::move(t));
    else throw StateMismatchError(n, "'" + path + "' holds tensor '" + n + "' outside param/, optim/ and extra/");
  }
  TrainingState<T> out;
  for (const auto& [k, v] : meta) {
    if (k.rfind("mgvae.optim.", 0) == 0) os.scalars[k.substr(12)] = v;
    else if (k.rfind("mgvae.", 0) != 0) out.metadata[k] = v;
  }
  const auto params = m.named_parameters();
  std::set<std::string> pnames;
  for (const auto& [n, v] : params) {
    pnames.insert(n);
    auto it = params_in.find(n);
    if (it == params_in.end()) throw StateMismatchError("param/" + n, "parameter '" + n + "' is missing from '" + path + "'");
    if (it->second.shape() != v.shape())
      throw StateMismatchError("param/" + n, "parameter '" + n + "' has shape " + shape_str(v.shape()) + " but '" + path + "' holds " +
                                                 shape_str(it->second.shape()));
  }
  for (const auto& [n, t] : params_in)
    if (!pnames.count(n)) throw StateMismatchError("param/" + n, "'" + path + "' holds parameter '" + n + "' that the module does not have");
  try {
    opt.load_state(os);  // checks everything before changing the optimiser
  } catch (const StateMismatchError& e) {
    throw StateMismatchError("optim/" + e.entry(), "'" + path + "': " + e.what());
  }
  NoGradGuard ng;
  for (const auto& [n, v] : params) v.value().copy_from(params_in.at(n));
  out.extra = std::move(extra);
  return out;
}

}  // namespace mgvae::nn
