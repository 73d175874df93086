#!/usr/bin/env python3
"""PyTorch CPU training throughput of the DCN-V2 ranker `cascade bench rank` trains, same shapes.

usage: ~/.cache/cascade/peers-venv/bin/python bench/torch_rank_peer.py [--threads 1] [--steps 50] [--batch 512]
Prints one line:
  peer=torch model=dcnv2 tasks=3 threads=1 batch=512 x0=180 samples_per_s=X ms_per_step=Y

Model (identical to Cascade's DCNv2 with the bench's feature set):
  10 single-valued fields and 1 bag (1-4 tags, mean-pooled) in one fused 16-dim embedding table
  (per-field id ranges, sparse gradients, SparseAdam), 4 dense inputs; x0 = 11 * 16 + 4 = 180;
  3 full-rank cross layers x_{l+1} = x0 * (x_l W_l + b_l) + x_l (parallel layout); a deep MLP
  180 -> 256 -> 128 (ReLU); head on [x_3, h] -> 3 task logits (click, like, finish); BCE with
  logits on the 3 columns; Adam(lr 1e-3) on the dense layers.
Random data (Zipf-like ids), pre-generated. The figure is the median step time over `steps`
steps after 5 warm-up steps. Cascade's figure (bench=rank:train) is the mean over one epoch
including mini-batch assembly, so this comparison slightly favours the peer."""
import argparse, time, statistics
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=50)
p.add_argument("--batch", type=int, default=512)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
rng = np.random.default_rng(0)
B, D, T = args.batch, 16, 3
# Vocabulary sizes of the bench's fields: user_id, user_age, user_gender, user_city (hashed),
# device, item_id, author, category, hour, scene; then the tag bag.
sizes = [20000, 8, 4, 1001, 6, 50000, 5001, 51, 25, 5]
tag_vocab = 201
bases = np.cumsum([0] + sizes + [tag_vocab])
rows = int(bases[-1])
n_dense = 4
n = (len(sizes) + 1) * D + n_dense


class DCNv2(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(rows, D, sparse=True)
        nn.init.normal_(self.table.weight, std=0.01)
        self.cross = nn.ModuleList([nn.Linear(n, n) for _ in range(3)])
        self.deep = nn.Sequential(nn.Linear(n, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())
        self.head = nn.Linear(n + 128, T)

    def forward(self, ids, bag_ids, bag_offsets, dense):
        e = self.table(ids).reshape(ids.shape[0], -1)
        bag = Fn.embedding_bag(bag_ids, self.table.weight, bag_offsets, mode="mean", sparse=True)
        x0 = torch.cat([e, bag, dense], dim=1)
        x = x0
        for layer in self.cross:
            x = x0 * layer(x) + x
        return self.head(torch.cat([x, self.deep(x0)], dim=1))


def make_batch():
    cols = []
    for f, s in enumerate(sizes):
        z = np.minimum(rng.zipf(1.2, size=B) - 1, s - 1)
        cols.append(z + bases[f])
    ids = torch.from_numpy(np.stack(cols, axis=1).astype(np.int64))
    counts = rng.integers(1, 5, size=B)
    bag_ids = torch.from_numpy((rng.integers(0, tag_vocab, size=int(counts.sum())) + bases[len(sizes)]).astype(np.int64))
    bag_offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64))
    dense = torch.randn(B, n_dense)
    y = torch.randint(0, 2, (B, T)).float()
    return ids, bag_ids, bag_offsets, dense, y


model = DCNv2()
opt_s = torch.optim.SparseAdam([model.table.weight], lr=1e-3)
opt_d = torch.optim.Adam([p for name, p in model.named_parameters() if name != "table.weight"], lr=1e-3)
loss_fn = nn.BCEWithLogitsLoss()
batches = [make_batch() for _ in range(8)]


def step(ids, bag_ids, bag_offsets, dense, y):
    opt_s.zero_grad(set_to_none=True)
    opt_d.zero_grad(set_to_none=True)
    loss = loss_fn(model(ids, bag_ids, bag_offsets, dense), y)
    loss.backward()
    opt_s.step()
    opt_d.step()


for i in range(5):
    step(*batches[i % len(batches)])
times = []
for i in range(args.steps):
    t = time.perf_counter()
    step(*batches[i % len(batches)])
    times.append(time.perf_counter() - t)
s = statistics.median(times)
print(f"peer=torch version={torch.__version__} model=dcnv2 tasks={T} threads={args.threads} batch={B} x0={n} "
      f"samples_per_s={B / s:.0f} ms_per_step={s * 1e3:.3f}", flush=True)
