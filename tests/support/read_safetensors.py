#!/usr/bin/env python3
"""Independent reader for files written by mgvae::nn::save_safetensors.

Follows the safetensors format description (https://github.com/huggingface/safetensors, "Format")
with only the Python standard library (struct + json):

    8 bytes   N, unsigned 64-bit little-endian
    N bytes   JSON header (UTF-8, starts with '{', may be padded with spaces)
    rest      raw little-endian tensor data; "data_offsets" are relative to this section

Prints one line per tensor, in name order:

    tensor<TAB>name<TAB>dtype<TAB>shape as 2,3 (empty for a scalar)<TAB>sum (repr of a Python float)

and one line per metadata entry:

    meta<TAB>key<TAB>value

Checks what the reference implementation checks (offsets tile the data section exactly, byte
ranges match shape x dtype size) and exits with status 1 and a message on stderr otherwise.
If the `safetensors` Python package is importable, the file is also opened with it
(safe_open, framework="numpy" when numpy exists) and the sums are compared; a line
"safetensors-module<TAB>ok" or "safetensors-module<TAB>absent" reports which happened.

Usage: read_safetensors.py FILE
Used by tests/nn/checkpoint.test.cpp (skipped with a warning when /usr/bin/python3 is missing).
"""
import json
import math
import struct
import sys

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
FORMATS = {"F64": "<d", "F32": "<f"}


def fail(msg):
    sys.stderr.write("read_safetensors.py: " + msg + "\n")
    sys.exit(1)


def main(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        fail("header length %d runs past the end of the file (%d bytes)" % (n, len(raw)))
    header_bytes = raw[8:8 + n]
    if not header_bytes.startswith(b"{"):
        fail("header does not start with '{'")
    if n % 8 != 0:
        fail("header length %d is not a multiple of 8 (mgvae always pads)" % n)
    header = json.loads(header_bytes.decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    for k, v in meta.items():
        if not isinstance(v, str):
            fail("metadata value of %r is not a string" % k)

    spans = []
    sums = {}
    for name in sorted(header):
        e = header[name]
        dtype, shape, (b, end) = e["dtype"], e["shape"], e["data_offsets"]
        if dtype not in SIZES:
            fail("unknown dtype %r of %r" % (dtype, name))
        count = 1
        for d in shape:
            if not isinstance(d, int) or d < 0:
                fail("bad dimension %r of %r" % (d, name))
            count *= d
        if end - b != count * SIZES[dtype] or b > end or end > len(data):
            fail("byte range [%d, %d] of %r does not fit shape %r / dtype %s" % (b, end, name, shape, dtype))
        spans.append((b, end, name))
        if dtype not in FORMATS:
            fail("dtype %s of %r is valid safetensors but not written by mgvae" % (dtype, name))
        fmt = FORMATS[dtype]
        size = SIZES[dtype]
        total = math.fsum(struct.unpack_from(fmt, data, b + size * i)[0] for i in range(count))
        sums[name] = total
        print("tensor\t%s\t%s\t%s\t%r" % (name, dtype, ",".join(str(d) for d in shape), total))

    at = 0
    for b, end, name in sorted(spans):
        if b != at:
            fail("tensor %r starts at %d, previous ends at %d (gap or overlap)" % (name, b, at))
        at = end
    if at != len(data):
        fail("tensors cover %d bytes of a %d-byte data section" % (at, len(data)))
    for k in sorted(meta):
        print("meta\t%s\t%s" % (k, meta[k]))

    try:
        from safetensors import safe_open  # optional cross-check with the reference reader
    except ImportError:
        print("safetensors-module\tabsent")
        return
    try:
        import numpy  # noqa: F401
        framework = "numpy"
    except ImportError:
        framework = "pt"
    with safe_open(path, framework=framework) as f:
        if sorted(f.keys()) != sorted(sums):
            fail("safetensors module sees tensors %r" % sorted(f.keys()))
        for name in f.keys():
            t = f.get_tensor(name)
            s = float(t.astype("float64").sum()) if framework == "numpy" else float(t.double().sum())
            if abs(s - sums[name]) > 1e-9 * max(1.0, abs(s)):
                fail("safetensors module sum of %r is %r, ours %r" % (name, s, sums[name]))
        if (f.metadata() or {}) != meta:
            fail("safetensors module metadata %r differs from %r" % (f.metadata(), meta))
    print("safetensors-module\tok")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: read_safetensors.py FILE\n")
        sys.exit(2)
    main(sys.argv[1])
