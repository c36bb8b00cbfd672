#!/usr/bin/env python3
"""Reference values for tests/nn/optim.test.cpp, computed with torch.optim (PyTorch 1.13.1,
float64). Run with /usr/bin/python3 (Debian python3-torch) and paste the printed numbers.

Two problems:
  fixed   - p0 = [0.5, -1.0, 2.0]; the gradient at step k is G[k] whatever p is
            (the C++ test gets it from backward(sum(G[k] * p)));
  quad    - p0 = [0.5, -1.0, 2.0], loss = sum((p - [1, 2, -1])**2), 5 steps.
"""
import torch

torch.set_default_dtype(torch.float64)
P0 = [0.5, -1.0, 2.0]
G = [[0.1, -0.2, 0.3], [1.0, 0.5, -2.0], [-0.3, 0.0, 0.7]]
TARGET = [1.0, 2.0, -1.0]


def fmt(t):
    return "{" + ", ".join("%.17g" % x for x in t.tolist()) + "}"


def run_fixed(make, name):
    p = torch.tensor(P0, requires_grad=True)
    opt = make([p])
    for k, g in enumerate(G):
        p.grad = torch.tensor(g)
        opt.step()
        if k in (0, 2):
            print("%s fixed after %d: %s" % (name, k + 1, fmt(p.detach())))


def run_quad(make, name, steps=5):
    p = torch.tensor(P0, requires_grad=True)
    opt = make([p])
    for _ in range(steps):
        opt.zero_grad()
        loss = ((p - torch.tensor(TARGET)) ** 2).sum()
        loss.backward()
        opt.step()
    print("%s quad after %d: %s" % (name, steps, fmt(p.detach())))


cases = {
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.1),
    "adam_wd": lambda ps: torch.optim.Adam(ps, lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=0.1),
    "adagrad_init": lambda ps: torch.optim.Adagrad(ps, lr=0.1, eps=1e-6, initial_accumulator_value=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
}
print("torch", torch.__version__)
for name, make in cases.items():
    run_fixed(make, name)
    run_quad(make, name)

# clip_grad_norm_
p = torch.tensor(P0, requires_grad=True)
q = torch.tensor([[3.0, 4.0]], requires_grad=True)
p.grad = torch.tensor([1.0, 2.0, 2.0])
q.grad = torch.tensor([[0.0, 4.0]])
n = torch.nn.utils.clip_grad_norm_([p, q], 2.5)
print("clip norm %.17g p.grad %s q.grad %s" % (float(n), fmt(p.grad), fmt(q.grad.flatten())))
