#!/usr/bin/python3
"""Compare the fused second-order message passing (Eq. 3) of mgvae with plain PyTorch, 1 thread.

Usage:
    /usr/bin/python3 benchmarks/compare_pytorch.py PATH/TO/contraction_bench [--reps 5]

PyTorch side: the fastest plain-PyTorch form we know — a padded batch (every graph padded to n_max),
the four n³ contractions as batched matmuls over the (j, c) columns (torch.matmul), the two O(n²) ones
as broadcasts, concatenated on channels; forward + backward to H (A is a constant input, as in the
C++ benchmark). Padding is what PyTorch needs for batching; the C++ kernel runs on the ragged batch.
Both sides use float32 and one thread (OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1, torch.set_num_threads(1),
OPENBLAS_CORETYPE unset so OpenBLAS picks its AVX-512 kernels; see shared/TOOLCHAIN.md).

Shapes (same as benchmarks/contraction.bench.cpp): QM9 = 128 graphs with n ~ U{1..9} (C = 64, 256),
ZINC = 128 graphs with n ~ U{10..38} (C = 64), one large graph n = 256 (C = 64). The graph sizes are
drawn by each side's own generator (the padded PyTorch cost depends only on B and n_max).

Timing: best of --reps runs (after three warm-up calls) on both sides; the C++ side is run in the same process
tree with --benchmark_format=json --benchmark_repetitions=REPS and the minimum real time is taken.
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ.pop("OPENBLAS_CORETYPE", None)

import torch  # noqa: E402

torch.set_num_threads(1)

SHAPES = [
    # name, B, n_lo, n_hi, C
    ("qm9_c64", 128, 1, 9, 64),
    ("qm9_c256", 128, 1, 9, 256),
    ("zinc_c64", 128, 10, 38, 64),
    ("large256_c64", 1, 256, 256, 64),
]


def make_padded(B, lo, hi, C, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = torch.randint(lo, hi + 1, (B,), generator=g)
    N = int(n.max())
    A = torch.zeros(B, N, N)
    H = torch.zeros(B, N, N, C)
    for b in range(B):
        k = int(n[b])
        A[b, :k, :k] = torch.rand(k, k, generator=g) * 2 - 1
        H[b, :k, :k] = torch.rand(k, k, C, generator=g) * 2 - 1
    return A, H


def second_order_mp(A, H):
    """Six contractions of A ⊗ H, channel order (k, c) as in mgvae (E = 1)."""
    B, N, _, C = H.shape
    # torch.matmul on contiguous operands: the fastest of bmm / matmul / einsum we measured here
    # (bmm with a transposed copy of H hit a slow path: ~8x slower at the QM9 shape).
    At = A.transpose(1, 2).contiguous()
    Hr = H.reshape(B, N, N * C)                       # rows a, columns (j, c)
    Ht = H.transpose(1, 2).reshape(B, N, N * C)       # X(a, (j, c)) = H[j, a, c]
    trA = torch.diagonal(A, dim1=1, dim2=2).sum(-1)   # [B]
    trH = torch.diagonal(H, dim1=1, dim2=2).sum(-1)   # [B, C]
    o0 = trA[:, None, None, None] * H                 # (1,2)
    o1 = torch.matmul(At, Hr).view(B, N, N, C)        # (1,3) Aᵀ H
    o2 = torch.matmul(A, Hr).view(B, N, N, C)         # (2,3) A H
    o3 = torch.matmul(At, Ht).view(B, N, N, C)        # (1,4) Σ_a A_ai H_ja
    o4 = torch.matmul(A, Ht).view(B, N, N, C)         # (2,4) Σ_b A_ib H_jb
    o5 = A[..., None] * trH[:, None, None, :]         # (3,4)
    return torch.cat([o0, o1, o2, o3, o4, o5], dim=-1)


def time_torch(B, lo, hi, C, reps, backward):
    A, H = make_padded(B, lo, hi, C)
    H.requires_grad_(backward)
    G = torch.rand(H.shape[:3] + (6 * C,))
    best, best_cpu = float("inf"), float("inf")
    warmup = 3  # the first calls are much slower (allocator / page faults): measured 37 ms vs 3 ms at QM9
    for r in range(reps + warmup):
        t0, c0 = time.perf_counter(), time.thread_time()
        out = second_order_mp(A, H)
        if backward:
            out.backward(G)
        dt, dc = time.perf_counter() - t0, time.thread_time() - c0
        if backward:
            H.grad = None
        if r >= warmup:
            best, best_cpu = min(best, dt), min(best_cpu, dc)
    return best * 1e3, best_cpu * 1e3


def run_ours(binary, reps):
    names = "|".join(s[0] for s in SHAPES)
    flt = f"BM_fused/({names})_(fwd|fwdbwd)/threads:1/"
    cmd = [binary, f"--benchmark_filter={flt}", "--benchmark_format=json",
           f"--benchmark_repetitions={reps}", "--benchmark_min_time=0.2"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=True)
    data = json.loads(res.stdout)
    best = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        # name: BM_fused/zinc_c64_fwdbwd/threads:1/real_time
        key = b["name"].split("/")[1]
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        w, c = best.get(key, (float("inf"), float("inf")))
        best[key] = (min(w, b["real_time"] * scale), min(c, b["cpu_time"] * scale))
    return best, data.get("context", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="path to the built benchmarks/contraction.bench.cpp binary")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    try:
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
    except OSError:
        load = ["?"] * 3
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, load average {' '.join(load)}")
    ours, ctx = run_ours(args.binary, args.reps)
    print(f"ours: {ctx.get('host_name', '')} {ctx.get('num_cpus', '')} cpus, "
          f"library_build_type {ctx.get('library_build_type', '')}")
    print("wall = best-of-N wall-clock time; cpu = best-of-N CPU time of the (single) working thread,")
    print("which is the fairer number when the machine is shared (see the load average above).")
    print(f"{'shape':<22} {'ours (ms)':>10} {'PyTorch (ms)':>13} {'ratio':>7} | {'ours cpu':>9} {'PyT cpu':>9} {'ratio':>7}")
    for name, B, lo, hi, C in SHAPES:
        for mode in ("fwd", "fwdbwd"):
            key = f"{name}_{mode}"
            pt, ptc = time_torch(B, lo, hi, C, args.reps, backward=(mode == "fwdbwd"))
            o, oc = ours.get(key, (float("nan"), float("nan")))
            print(f"{key:<22} {o:>10.3f} {pt:>13.3f} {pt / o:>7.2f} | {oc:>9.3f} {ptc:>9.3f} {ptc / oc:>7.2f}")
    print("ratio = PyTorch / ours (> 1: ours is faster)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
