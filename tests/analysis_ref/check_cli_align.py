#!/usr/bin/python3
"""CLI check of `dxl align` on the golden tiny models (GPT-2 2x4 heads, xLSTM mLSTM+sLSTM).

1. In-memory mode on tests/data/inputs/tiny_ids.txt writes summary.json, pairs.csv, heads.csv and
   align.h5; the files agree with each other (h5py reads /align), the assignment is a permutation
   and every value names its normalisation.
2. A float32, uncompressed `dxl capture` of the same tokens aligned in capture-file mode gives the
   same pair metrics (A rebuilt from the stored q, k and gates) and writes /align into the file.
3. Bad options fail with a usage error naming the option.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np


def run(args, expect_rc=0):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != expect_rc:
        print(p.stdout, p.stderr)
        raise SystemExit(f"FAIL: {' '.join(args)} returned {p.returncode}, expected {expect_rc}")
    return p


def read_pairs(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main(dxl, repo, scratch):
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    golden = f"{repo}/tests/data/golden/models"
    teacher, student = f"{golden}/gpt2_2600", f"{golden}/xlstm_lm_2520"
    tokens = f"{repo}/tests/data/inputs/tiny_ids.txt"
    mem = f"{scratch}/mem"
    p = run([dxl, "align", "--teacher", teacher, "--student", student, "--tokens-file", tokens, "--out", mem,
             "--threads", "1"])
    assert "normalisation abs-row" in p.stdout and "best matched heads" in p.stdout, p.stdout
    assert "layer map (ratio/all-blocks): L0->B0" in p.stdout, p.stdout
    summary = json.load(open(f"{mem}/summary.json"))
    assert summary["normalization"] == "abs-row" and summary["match_metric"] == "js"
    rows = read_pairs(f"{mem}/pairs.csv")
    assert len(rows) == 16 and all(r["normalization"] == "abs-row" for r in rows)
    with h5py.File(f"{mem}/align.h5", "r") as f:
        g = f["align"]
        assert g.attrs["normalization"] == "abs-row"
        m = g["pair_layer_00_block_00/metrics"][()]
        a = g["pair_layer_00_block_00/assignment"][()]
        assert sorted(a.tolist()) == [0, 1, 2, 3], a
        names = g.attrs["metrics"].split(",")
        for r in rows:
            h, s = int(r["teacher_head"]), int(r["student_head"])
            for k, n in enumerate(names):
                assert np.isclose(float(r[n]), m[k, h, s], rtol=1e-7, atol=1e-12), (n, r[n], m[k, h, s])
            assert (a[h] == s) == (r["matched"] == "1")
        js = m[names.index("js")]
        # the matched JS is the minimum over all permutations
        import itertools
        best = min(sum(js[i, perm[i]] for i in range(4)) for perm in itertools.permutations(range(4)))
        assert np.isclose(sum(js[i, a[i]] for i in range(4)), best)
        assert np.isclose(g.attrs["mean_alignment"], best / 4)

    cap = f"{scratch}/run.h5"
    run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens-file", tokens, "--out", cap,
         "--store-dtype", "f32", "--compression", "none", "--hidden", "--threads", "1"])
    run([dxl, "align", cap, "--out", f"{scratch}/file", "--threads", "1"])
    rows2 = read_pairs(f"{scratch}/file/pairs.csv")
    for r1, r2 in zip(rows, rows2):
        for n in ["frob", "kl", "js", "pearson", "spearman", "cosine"]:
            assert np.isclose(float(r1[n]), float(r2[n]), rtol=1e-4, atol=1e-6), (n, r1[n], r2[n])
    with h5py.File(cap, "r") as f:
        assert f["align"].attrs["n_samples"] == 1 and "cka_linear" in f["align"]

    p = run([dxl, "align", "--teacher", teacher, "--student", student, "--tokens-file", tokens,
             "--metric", "nope"], expect_rc=2)
    assert "--metric" in p.stderr, p.stderr
    p = run([dxl, "align", "--teacher", teacher, "--student", student, "--tokens-file", tokens,
             "--normalize", "bad"], expect_rc=2)
    assert "--normalize" in p.stderr, p.stderr
    print("cli_align: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
