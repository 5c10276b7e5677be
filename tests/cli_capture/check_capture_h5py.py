#!/usr/bin/python3
"""Capture store: `dxl capture` on the golden tiny teacher/student writes a file that
plain h5py (an independent HDF5 reader; LZF is built into h5py) reads with the documented
shapes, dtypes, attributes and NXdata chain; teacher attn_probs equal `dxl forward`'s for the
same tokens; `dxl inspect` summarises it; the size guard refuses with a remedy; truncated and
bit-flipped files are reported as damaged (exit 4), never a crash.
Usage: check_capture_h5py.py DXL_BINARY MODELS_DIR SCRATCH_DIR
"""
import json
import os
import random
import shutil
import subprocess
import sys

import h5py
import numpy as np


def run(args, expect=0):
    p = subprocess.run(args, capture_output=True, text=True)
    if expect is not None and p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(args)} -> exit {p.returncode} (expected {expect})\n{p.stdout}\n{p.stderr}")
    return p


def main():
    dxl, models, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    teacher = os.path.join(models, "gpt2_2600")
    student = os.path.join(models, "xlstm_lm_2520")
    rng = np.random.default_rng(7)
    seqs = [rng.integers(0, 97, size=n).tolist() for n in (32, 20, 9)]
    tokens_file = os.path.join(scratch, "tokens.txt")
    with open(tokens_file, "w") as f:
        for s in seqs:
            f.write(",".join(map(str, s)) + "\n")

    # Default format: fp16 + LZF, chunk-boundary states, implicit attention requested.
    out = os.path.join(scratch, "run.h5")
    p = run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens-file", tokens_file,
             "--out", out, "--implicit-attn", "--chunk-size", "8", "--threads", "1"])
    assert "wrote" in p.stdout, p.stdout
    assert not os.path.exists(out + ".partial")
    with h5py.File(out, "r") as f:
        a = f.attrs
        assert a["format"] == "dxl-capture" and a["schema_version"] == 1, dict(a)
        assert a["status"] == "complete"
        for k in ("producer", "producer_version", "producer_git_revision", "creation_time_utc", "tokenizer_hash",
                  "convention_C_layout", "convention_key_scale", "convention_stabilizer", "convention_normalization",
                  "compression_filter"):
            assert k in a, k
        assert json.loads(a["teacher_config_json"])["model_type"] == "gpt2"
        assert json.loads(a["student_config_json"])["model_type"] == "xlstm_v1"
        assert a["compression_filter"] == "shuffle-lzf"
        assert f["manifest"].attrs["count"] == 3
        assert list(f["manifest/sample_index"][:]) == [0, 1, 2]
        samples = sorted(k for k in f.keys() if k.startswith("sample_"))
        assert samples == ["sample_000000", "sample_000001", "sample_000002"], samples
        # NXdata default chain: root -> NXentry -> NXdata with an image signal.
        entry = f[a["default"]]
        assert entry.attrs["NX_class"] == "NXentry"
        nxdata = entry[entry.attrs["default"]]
        assert nxdata.attrs["NX_class"] == "NXdata"
        sig = nxdata[nxdata.attrs["signal"]]
        assert sig.attrs["interpretation"] == "image" and len(nxdata.attrs["axes"]) == sig.ndim
        for i, s in enumerate(seqs):
            g = f[samples[i]]
            T = len(s)
            assert g["tokens"].dtype == np.int64 and list(g["tokens"][:]) == s
            for l in range(2):
                d = g[f"teacher/layer_{l:02d}/attn_probs"]
                assert d.shape == (4, T, T) and d.dtype == np.float16, (d.shape, d.dtype)
                assert d.chunks == (1, T, T), d.chunks
                # Datasets of 4 KiB or more are filtered (smaller ones gain nothing).
                assert d.compression == ("lzf" if d.size * 2 >= 4096 else None), (d.compression, d.size)
                assert d.shuffle == (d.size * 2 >= 4096)
                assert d.attrs["dims"] == "H,T,T"
                P = d[:].astype(np.float64)
                assert np.allclose(P.sum(-1), 1.0, atol=5e-3), "softmax rows must sum to 1"
                assert np.all(np.triu(P, 1) == 0), "causal"
            assert g["teacher/logits"].shape == (T, 97) and g["student/logits"].shape == (T, 97)
            b = g["student/block_00"]
            assert b.attrs["type"] == "mlstm" and g["student/block_01"].attrs["type"] == "slstm"
            H, Dh = b["q"].shape[0], b["q"].shape[2]
            for n in ("q", "k", "v"):
                assert b[n].shape == (H, T, Dh) and b[n].dtype == np.float16 and b[n].attrs["dims"] == "H,T,Dh"
            for n in ("igate_pre", "fgate_pre"):
                assert b[n].shape == (H, T) and b[n].dtype == np.float32
            assert b["implicit_attn"].shape == (H, T, T)
            pos = [t for t in range(7, T, 8)] + ([T - 1] if (T - 1) % 8 != 7 else [])
            assert list(b["state/positions"][:]) == pos, (list(b["state/positions"][:]), pos)
            assert b["state/C"].shape == (H, len(pos), Dh, Dh) and b["state/C"].attrs["dims"] == "H,P,Dh,Dh"
            assert b["state/m"].dtype == np.float32
            s1 = g["student/block_01"]
            for n in ("igate_pre", "fgate_pre", "zgate_pre", "ogate_pre", "c", "n", "m", "h"):
                assert s1[n].shape == (T, 64), (n, s1[n].shape)
            # Independent check of the stored statistics: A rebuilt in numpy from q, k, gates
            # (docs/method.md#implicit-attention) matches the stored implicit attention (fp16
            # inputs, so a loose bound).
            q = b["q"][:].astype(np.float64)
            k = b["k"][:].astype(np.float64)
            ig = b["igate_pre"][:].astype(np.float64)
            fg = b["fgate_pre"][:].astype(np.float64)
            logf = -np.logaddexp(0, -fg)
            F = np.cumsum(logf, axis=1)
            logD = F[:, :, None] - F[:, None, :] + ig[:, None, :]
            logD = np.where(np.tril(np.ones((T, T), bool)), logD, -np.inf)
            S = q @ k.transpose(0, 2, 1) / np.sqrt(Dh)
            C = S * np.exp(logD)
            A = C / np.maximum(np.abs(C.sum(-1, keepdims=True)), 1.0)
            stored = b["implicit_attn"][:].astype(np.float64)
            err = np.abs(A - stored).max() / max(1e-9, np.abs(stored).max())
            assert err < 2e-2, f"implicit attention rebuilt in numpy differs: rel {err}"

    # Teacher maps equal `dxl forward` (float32) for the same tokens, within fp16 rounding; and
    # exactly with --store-dtype f32.
    out32 = os.path.join(scratch, "run32.h5")
    run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens", ",".join(map(str, seqs[0])),
         "--out", out32, "--store-dtype", "f32", "--state-positions", "none", "--compression", "none"])
    fwd = os.path.join(scratch, "fwd.h5")
    run([dxl, "forward", "--model", teacher, "--tokens", ",".join(map(str, seqs[0])), "--out", fwd])
    with h5py.File(fwd, "r") as fw, h5py.File(out, "r") as f16, h5py.File(out32, "r") as f32:
        assert "state" not in f32["sample_000000/student/block_00"]
        for l in range(2):
            ref = fw[f"teacher/layer_{l:02d}/attn_probs"][:]
            a32 = f32[f"sample_000000/teacher/layer_{l:02d}/attn_probs"]
            assert a32.dtype == np.float32 and a32.compression is None
            assert np.array_equal(a32[:], ref), "f32 capture must equal dxl forward exactly"
            a16 = f16[f"sample_000000/teacher/layer_{l:02d}/attn_probs"][:].astype(np.float32)
            assert np.abs(a16 - ref).max() <= 1e-3, np.abs(a16 - ref).max()
        assert np.array_equal(f32["sample_000000/teacher/logits"][:], fw["logits"][:])

    # Plain LZF (no shuffle) is also read by plain h5py, with the same values.
    outl = os.path.join(scratch, "run_lzf.h5")
    run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens", ",".join(map(str, seqs[0])),
         "--out", outl, "--compression", "lzf", "--chunk-size", "8"])
    with h5py.File(outl, "r") as fl, h5py.File(out, "r") as f16:
        d = fl["sample_000000/teacher/layer_00/attn_probs"]
        assert not d.shuffle and d.compression == "lzf", (d.shuffle, d.compression)
        assert np.array_equal(d[:], f16["sample_000000/teacher/layer_00/attn_probs"][:])
        assert fl.attrs["compression_filter"] == "lzf"

    # dxl inspect: readable summary, integrity OK.
    p = run([dxl, "inspect", out])
    for needle in ("dxl-capture", "schema_version 1", "3 committed", "teacher/layer_00/attn_probs", "gpt2",
                   "xlstm_v1", "integrity:   OK (3/3"):
        assert needle in p.stdout, (needle, p.stdout)

    # --append adds samples to the finished file.
    run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens", "1,2,3,4", "--out", out,
         "--append", "--chunk-size", "8"])
    with h5py.File(out, "r") as f:
        assert f["manifest"].attrs["count"] == 4 and list(f["sample_000003/tokens"][:]) == [1, 2, 3, 4]
    run([dxl, "inspect", out])

    # Size guard: refuses before writing anything, proposing remedies.
    small = os.path.join(scratch, "small.h5")
    p = run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens-file", tokens_file, "--out",
             small, "--max-bytes", "10K"], expect=7)
    assert "--max-bytes" in p.stderr and "--layers" in p.stderr and "--heads" in p.stderr, p.stderr
    assert not os.path.exists(small) and not os.path.exists(small + ".partial")

    # Foreign and damaged files: typed errors (exit 4), never a signal.
    run([dxl, "inspect", fwd], expect=4)
    data = open(out, "rb").read()
    random.seed(5)
    damaged_detected = 0
    for i in range(30):
        d = bytearray(data)
        if i % 2 == 0:
            d = d[: random.randrange(len(d))]
        else:
            at = random.randrange(1024, len(d))
            d[at] ^= 1 << random.randrange(8)
        path = os.path.join(scratch, f"damaged_{i}.h5")
        open(path, "wb").write(bytes(d))
        p = run([dxl, "inspect", path], expect=None)
        assert p.returncode >= 0, f"dxl inspect crashed with signal {-p.returncode} on {path}"
        assert p.returncode in (0, 3, 4), (p.returncode, p.stderr)
        if p.returncode != 0:
            assert p.stderr.strip(), "an error must say what is damaged"
            damaged_detected += 1
        if i % 2 == 0:
            assert p.returncode != 0, f"truncated file {path} was not reported as damaged"
    print(f"capture h5py check: OK ({damaged_detected}/30 damaged files reported)")


if __name__ == "__main__":
    main()
