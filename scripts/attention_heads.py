#!/usr/bin/python3
"""Previous-token and induction scores of every attention head (Transformer attn_probs) or
mLSTM head (|implicit attention| row-normalised) of a dxl model, on random letter sequences
repeated twice (Olsson et al. 2022): prev = mean_i P[i, i-1]; induction = mean over the second
copy of P[i, i-L+1] (the token after the previous occurrence of the current token). A uniform
causal head scores about 1/i on both.
usage: attention_heads.py DXL MODEL_DIR [L] [N_SEQ]   (Debian python3 with h5py/numpy)"""
import os
import random
import subprocess
import sys
import tempfile

import h5py
import numpy as np

dxl, model = sys.argv[1], sys.argv[2]
L = int(sys.argv[3]) if len(sys.argv) > 3 else 40
n_seq = int(sys.argv[4]) if len(sys.argv) > 4 else 4
rng = random.Random(0)
scores = {}
with tempfile.TemporaryDirectory() as tmp:
    for s in range(n_seq):
        seg = [rng.randrange(ord("a"), ord("z") + 1) for _ in range(L)]
        toks = [256] + seg + seg  # <|bos|> s s
        out = os.path.join(tmp, "f%d.h5" % s)
        subprocess.run([dxl, "forward", "--model", model, "--tokens", ",".join(map(str, toks)), "--out", out,
                        "--threads", "1"], check=True, capture_output=True)
        with h5py.File(out, "r") as f:
            groups = []
            f.visit(lambda n: groups.append(n) if n.endswith("attn_probs") or n.endswith("implicit_attn") else None)
            for g in sorted(groups):
                P = np.array(f[g], dtype=np.float64)  # (H, T, T)
                if g.endswith("implicit_attn"):
                    P = np.abs(P)
                    P = P / np.maximum(P.sum(-1, keepdims=True), 1e-30)
                T = P.shape[-1]
                idx = np.arange(2, T)
                prev = P[:, idx, idx - 1].mean(-1)
                second = np.arange(L + 2, T)  # positions in the second copy (after its first token)
                ind = P[:, second, second - L + 1].mean(-1)
                acc = scores.setdefault(g, [np.zeros_like(prev), np.zeros_like(ind)])
                acc[0] += prev / n_seq
                acc[1] += ind / n_seq
print("%-40s %s" % ("layer", "per head: prev-token / induction"))
best_prev = best_ind = 0.0
for g, (prev, ind) in scores.items():
    print("%-40s %s" % (g.rsplit("/", 1)[0], "  ".join("h%d %.2f/%.2f" % (h, p, i) for h, (p, i) in enumerate(zip(prev, ind)))))
    best_prev, best_ind = max(best_prev, prev.max()), max(best_ind, ind.max())
print("best prev-token %.2f, best induction %.2f (uniform ~%.3f)" % (best_prev, best_ind, 1.0 / L))
