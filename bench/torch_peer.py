#!/usr/bin/env python3
"""PyTorch CPU training throughput for the models `cascade bench train` reports, same shapes.

usage: python3 bench/torch_peer.py [--threads 1] [--steps 50] [--rows 1000000]
Prints one line per model:
  peer=torch model=mlp threads=1 batch=512 samples_per_s=X ms_per_step=Y
  peer=torch model=embedding threads=1 batch=512 samples_per_s=X ms_per_step=Y

Models (identical to Cascade's TrainingBenchmark):
  mlp:       input 320 -> 256 -> 128 -> 1, ReLU, BCE with logits, Adam(lr 1e-3), batch 512.
  embedding: 26 categorical fields, each a rows x 16 table (one fused table of 26 * rows rows
             with per-field offsets, sparse gradients, SparseAdam), ids Zipf-like per field,
             the 26 x 16 = 416 embeddings concatenated into 416 -> 256 -> 128 -> 1 (ReLU),
             BCE with logits, Adam for the dense layers.
Each figure is the median step time over `steps` steps after 5 warm-up steps, data pre-generated."""
import argparse, time, statistics
import numpy as np
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=50)
p.add_argument("--rows", type=int, default=1_000_000)
p.add_argument("--batch", type=int, default=512)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
rng = np.random.default_rng(0)
B = args.batch


def timed(step, batches):
    for i in range(5):
        step(*batches[i % len(batches)])
    times = []
    for i in range(args.steps):
        t = time.perf_counter()
        step(*batches[i % len(batches)])
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def mlp(n_in):
    return nn.Sequential(nn.Linear(n_in, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 1))


# MLP
model = mlp(320)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.BCEWithLogitsLoss()
batches = [(torch.randn(B, 320), torch.randint(0, 2, (B, 1)).float()) for _ in range(8)]


def mlp_step(x, y):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()


s = timed(mlp_step, batches)
print(f"peer=torch version={torch.__version__} model=mlp threads={args.threads} batch={B} "
      f"samples_per_s={B / s:.0f} ms_per_step={s * 1e3:.3f}", flush=True)

# Embedding model
F, D, R = 26, 16, args.rows
emb = nn.Embedding(F * R, D, sparse=True)
nn.init.normal_(emb.weight, std=0.01)
top = mlp(F * D)
opt_s = torch.optim.SparseAdam(list(emb.parameters()), lr=1e-3)
opt_d = torch.optim.Adam(top.parameters(), lr=1e-3)
offsets = torch.arange(F, dtype=torch.int64) * R


def zipf_ids():
    # Zipf-like ids (exponent ~1.1) clipped to the table, independent per field.
    z = rng.zipf(1.1, size=(B, F)) - 1
    return torch.from_numpy(np.minimum(z, R - 1).astype(np.int64))


ebatches = [(zipf_ids() + offsets, torch.randint(0, 2, (B, 1)).float()) for _ in range(8)]


def emb_step(ids, y):
    opt_s.zero_grad(set_to_none=True)
    opt_d.zero_grad(set_to_none=True)
    x = emb(ids).reshape(B, F * D)
    loss = loss_fn(top(x), y)
    loss.backward()
    opt_s.step()
    opt_d.step()


s = timed(emb_step, ebatches)
print(f"peer=torch version={torch.__version__} model=embedding threads={args.threads} batch={B} rows={R} "
      f"samples_per_s={B / s:.0f} ms_per_step={s * 1e3:.3f}", flush=True)
