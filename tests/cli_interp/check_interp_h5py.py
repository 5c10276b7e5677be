#!/usr/bin/python3
"""Interpretability commands against independent numpy computations.

`dxl lens`: the last teacher layer's lens equals log_softmax of `dxl forward`'s logits (and the
last student block's that of the student's), within 1e-5; every intermediate read-out equals the
final norm and head applied in numpy to the hidden states `dxl capture --hidden --dtype f32`
stored, with the weights read from model.safetensors here; entropy, top-k and the KL rows of the
ratio layer map are recomputed from the stored log-probabilities; an existing output is refused
without --force.
`dxl align --show`: the shown teacher and student maps (one head with the display filters; the
rollout) and the token highlight recomputed in numpy from `dxl forward`'s maps; the flags are
recorded in the file.
`dxl capture --input-b`: /ab differences against numpy on the stored samples (common prefix
rule, next-token KL, difference of differences and its correlation); identical inputs give
exactly zero differences.
Usage: check_interp_h5py.py DXL_BINARY GOLDEN_MODELS_DIR DATA_MODELS_DIR SCRATCH_DIR
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import h5py
import numpy as np


def run(args, expect=0):
    p = subprocess.run(args, capture_output=True, text=True)
    if expect is not None and p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(args)} -> exit {p.returncode} (expected {expect})\n{p.stdout}\n{p.stderr}")
    return p


def close(a, b, tol, what):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    assert err <= tol, f"{what}: max abs error {err:.3g} > {tol}"


def safetensors(path):
    """name -> float32 array, read with struct/numpy only (format: u64 header length, JSON, data)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    types = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        lo, hi = meta["data_offsets"]
        out[name] = np.frombuffer(data[lo:hi], dtype=types[meta["dtype"]]).reshape(meta["shape"]).astype(np.float32)
    return out


def log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def layer_norm(x, w, b, eps):
    x = np.asarray(x, np.float64)
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps) * w
    return y + b if b is not None else y


def ratio_pairs(n_teacher, n_blocks):
    s = n_teacher // n_blocks
    pairs = []
    for b in range(n_blocks):
        if s == 0:
            pairs.append((b * n_teacher // n_blocks, b))
        else:
            hi = n_teacher if b == n_blocks - 1 else (b + 1) * s
            pairs += [(l, b) for l in range(b * s, hi)]
    return sorted(pairs, key=lambda p: (p[1], p[0]))


def check_lens_file(path, n_teacher, n_blocks, topk):
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "dxl-lens" and f.attrs["schema_version"] == 1, dict(f.attrs)
        T = f["tokens"].shape[0]
        lps = {}
        for scope, kind, n in (("teacher", "layer", n_teacher), ("student", "block", n_blocks)):
            for i in range(n):
                g = f[f"{scope}/{kind}_{i:02d}"]
                lp = g["lens_logprobs"][...]
                assert lp.dtype == np.float32 and lp.shape[0] == T, (lp.dtype, lp.shape)
                assert g["lens_logprobs"].attrs["dims"] == "T,V"
                close(np.exp(lp.astype(np.float64)).sum(-1), np.ones(T), 1e-5, f"{scope} {i} sums to 1")
                close(g["lens_entropy"][...], -(np.exp(lp.astype(np.float64)) * lp).sum(-1), 1e-4,
                      f"{scope} {i} entropy")
                if topk:
                    ids, vals = g["lens_topk_ids"][...], g["lens_topk_logprobs"][...]
                    assert ids.dtype == np.int64 and ids.shape == (T, topk), (ids.dtype, ids.shape)
                    close(vals, -np.sort(-lp, axis=-1)[:, :topk], 0, f"{scope} {i} top-k values")
                    close(np.take_along_axis(lp, ids, -1), vals, 0, f"{scope} {i} top-k ids")
                else:
                    assert "lens_topk_ids" not in g
                lps[(scope, i)] = lp.astype(np.float64)
        expected = ratio_pairs(n_teacher, n_blocks)
        names = sorted(f["kl"].keys())
        assert names == sorted(f"teacher_layer_{l:02d}__student_block_{b:02d}" for l, b in expected), names
        for l, b in expected:
            p, q = lps[("teacher", l)], lps[("student", b)]
            kl = (np.exp(p) * (p - q)).sum(-1)
            close(f[f"kl/teacher_layer_{l:02d}__student_block_{b:02d}"][...], kl, 1e-4, f"KL {l} {b}")
        return lps


def main():
    dxl, golden, data_models, scratch = sys.argv[1:5]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    teacher, student = os.path.join(golden, "gpt2_2600"), os.path.join(golden, "xlstm_lm_2520")
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 97, size=24).tolist()
    tokens = ",".join(map(str, ids))

    # --- lens on the golden gpt2 / xlstm_v1 pair, checked layer by layer from the weights ---
    out = os.path.join(scratch, "lens.h5")
    p = run([dxl, "lens", "--teacher", teacher, "--student", student, "--tokens", tokens, "--out", out,
             "--topk", "5", "--threads", "1"])
    assert "wrote " + out in p.stdout, p.stdout
    lps = check_lens_file(out, 2, 2, 5)
    p = run([dxl, "lens", "--teacher", teacher, "--student", student, "--tokens", tokens, "--out", out], expect=3)
    assert "--force" in p.stderr, p.stderr
    run([dxl, "lens", "--teacher", teacher, "--student", student, "--tokens", tokens, "--out", out, "--force"])

    for model, scope, last in ((teacher, "teacher", 1), (student, "student", 1)):
        fwd = os.path.join(scratch, f"{scope}_forward.h5")
        run([dxl, "forward", "--model", model, "--tokens", tokens, "--out", fwd])
        with h5py.File(fwd, "r") as f:
            close(lps[(scope, last)], log_softmax(f["logits"][...]), 1e-5, f"{scope} final lens vs forward")

    cap = os.path.join(scratch, "hidden.h5")
    run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens", tokens, "--out", cap,
         "--hidden", "--dtype", "f32"])
    tw = safetensors(os.path.join(teacher, "model.safetensors"))
    sw = safetensors(os.path.join(student, "model.safetensors"))
    tcfg = json.load(open(os.path.join(teacher, "config.json")))
    pre = "transformer." if "transformer.wte.weight" in tw else ""
    with h5py.File(cap, "r") as f:
        s = f["sample_000000"]
        for l in range(2):
            h = s[f"teacher/layer_{l:02d}/hidden"][...]
            x = layer_norm(h, tw[pre + "ln_f.weight"], tw[pre + "ln_f.bias"], tcfg["layer_norm_epsilon"])
            close(lps[("teacher", l)], log_softmax(x @ tw[pre + "wte.weight"].T.astype(np.float64)), 1e-4,
                  f"teacher layer {l} read-out")
            h = s[f"student/block_{l:02d}/hidden"][...]
            x = layer_norm(h, 1 + sw["xlstm_block_stack.post_blocks_norm.weight"], None, 1e-5)
            close(lps[("student", l)], log_softmax(x @ sw["lm_head.weight"].T.astype(np.float64)), 1e-4,
                  f"student block {l} read-out")

    # --- lens on the embedded llama teacher / xlstm_v1 student with sLSTM blocks ---
    tt, ts = os.path.join(data_models, "tiny-teacher"), os.path.join(data_models, "tiny-student")
    text = "The cat sat on the mat. The cat sat on the"
    out2 = os.path.join(scratch, "lens_tiny.h5")
    run([dxl, "lens", "--teacher", tt, "--student", ts, "--text", text, "--out", out2])
    lps2 = check_lens_file(out2, 4, 4, 0)
    for model, scope in ((tt, "teacher"), (ts, "student")):
        fwd = os.path.join(scratch, f"tiny_{scope}_forward.h5")
        run([dxl, "forward", "--model", model, "--text", text, "--out", fwd])
        with h5py.File(fwd, "r") as f:
            close(lps2[(scope, 3)], log_softmax(f["logits"][...]), 1e-5, f"tiny {scope} final lens vs forward")
    print("lens: OK")
    check_show(dxl, teacher, student, tokens, scratch)
    print("align --show: OK")
    check_ab(dxl, teacher, student, ids, scratch)
    print("capture --input-b: OK")


def check_ab(dxl, teacher, student, ids, scratch):
    a = ids
    b = ids[:10] + [(x + 1) % 97 for x in ids[10:20]]  # edited from position 10, 20 tokens
    out = os.path.join(scratch, "ab.h5")
    p = run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens", ",".join(map(str, a)),
             "--input-b", ",".join(map(str, b)), "--out", out, "--dtype", "f32", "--implicit-attn"])
    assert ":/ab" in p.stdout, p.stdout
    with h5py.File(out, "r") as f:
        g = f["ab"]
        assert g.attrs["T_common"] == 20 and g.attrs["T_a"] == 24 and g.attrs["T_b"] == 20
        sa, sb = f["sample_000000"], f["sample_000001"]
        assert list(sb["tokens"][...]) == b
        dts = []
        for l in range(2):
            pa = sa[f"teacher/layer_{l:02d}/attn_probs"][...][:, :20, :20].astype(np.float64)
            pb = sb[f"teacher/layer_{l:02d}/attn_probs"][...][:, :20, :20].astype(np.float64)
            d = g[f"teacher/layer_{l:02d}/attn_diff"][...]
            close(d, pa - pb, 1e-6, f"teacher layer {l} A - B")
            assert np.abs(d[:, :10, :]).max() < 1e-6  # positions before the edit do not move
            dts.append(pa - pb)
        Aa = sa["student/block_00/implicit_attn"][...][:, :20, :20].astype(np.float64)
        Ab = sb["student/block_00/implicit_attn"][...][:, :20, :20].astype(np.float64)
        close(g["student/block_00/implicit_diff"][...], Aa - Ab, 1e-6, "student block 0 A - B")
        assert "student/block_01" not in g  # sLSTM
        for scope in ("teacher", "student"):
            p_ = log_softmax(sa[f"{scope}/logits"][...][:20])
            q_ = log_softmax(sb[f"{scope}/logits"][...][:20])
            close(g[f"{scope}/next_token_kl"][...], (np.exp(p_) * (p_ - q_)).sum(-1), 1e-5, f"{scope} KL A||B")
        # Ratio map over all blocks, mLSTM kept: layer 0 -> block 0 (layer 1 -> sLSTM block 1).
        assert sorted(g["dd"].keys()) == ["teacher_layer_00__student_block_00"], list(g["dd"].keys())
        ds = (abs_row(Aa) - abs_row(Ab)).mean(0)
        causal = np.tril(np.ones((20, 20), bool))
        for l in range(1):
            dt = dts[l].mean(0)
            name = f"dd/teacher_layer_{l:02d}__student_block_00"
            close(g[name][...], np.tril(ds - dt), 1e-5, f"dd layer {l}")
            r = np.corrcoef(dt[causal], ds[causal])[0, 1]
            close(g[name].attrs["change_correlation"], r, 1e-6, f"change correlation layer {l}")

    same = os.path.join(scratch, "ab_same.h5")
    run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens", ",".join(map(str, a)),
         "--input-b", ",".join(map(str, a)), "--out", same])
    with h5py.File(same, "r") as f:
        g = f["ab"]
        n = 0
        def visit(name, obj):
            nonlocal n
            if isinstance(obj, h5py.Dataset):
                assert np.all(obj[...] == 0), f"identical inputs: {name} is not exactly zero"
                n += 1
        g.visititems(visit)
        assert n == 2 + 1 + 2 + 1, n
        for k in g["dd"]:
            assert np.isnan(g["dd"][k].attrs["change_correlation"])


def display_filter(a, threshold, top_k, drop_sink, signed):
    """The studio's display filter on one causal (T, T) map, in float64."""
    T = a.shape[0]
    causal = np.tril(np.ones((T, T), bool))
    keep = causal.copy()
    a = np.where(causal, a, 0.0).astype(np.float64)
    if drop_sink:
        keep[:, 0] = False
        a = np.where(keep, a, 0.0)
        if not signed:
            s = a.sum(1, keepdims=True)
            a = np.where(s > 0, a / np.where(s > 0, s, 1), a)
    if top_k:
        score = np.where(keep, np.abs(a), -1.0)
        idx = np.argsort(-score, axis=1, kind="stable")[:, :top_k]
        top = np.zeros_like(keep)
        np.put_along_axis(top, idx, True, 1)
        keep &= top
        a = np.where(keep, a, 0.0)
    if threshold:
        a = np.where(np.abs(a) < threshold, 0.0, a)
    return a


def received(a):
    T = a.shape[0]
    return np.tril(a).sum(0) / np.arange(T, 0, -1)


def rollout(layers):
    """layers: per layer (H, T, T) row distributions, or None (identity)."""
    T = next(l for l in layers if l is not None).shape[-1]
    eye = np.eye(T)
    r = eye.copy()
    for l in layers:
        m = eye if l is None else l.mean(0)
        a = np.tril(0.5 * (m + eye))
        a = a / a.sum(-1, keepdims=True)
        r = a @ r
    return r


def abs_row(A):
    x = np.abs(np.tril(A.astype(np.float64)))
    s = x.sum(-1, keepdims=True)
    return x / np.where(s > 0, s, 1)


def check_show(dxl, teacher, student, tokens, scratch):
    fwd_t, fwd_s = os.path.join(scratch, "teacher_forward.h5"), os.path.join(scratch, "student_forward.h5")
    with h5py.File(fwd_t, "r") as f:
        P = [f[f"teacher/layer_{l:02d}/attn_probs"][...].astype(np.float64) for l in range(2)]
    with h5py.File(fwd_s, "r") as f:
        A0 = f["student/block_00/implicit_attn"][...]
        assert "student/block_01" not in f  # sLSTM block: no implicit attention
    out = os.path.join(scratch, "show")
    base = [dxl, "align", "--teacher", teacher, "--student", student, "--tokens", tokens, "--out", out,
            "--induction-period", "0"]
    p = run(base + ["--show", "1.2,0.1", "--filter-top-k", "3", "--drop-sink", "--highlight", "teacher-received"])
    assert "show.h5" in p.stdout, p.stdout
    with h5py.File(os.path.join(out, "show.h5"), "r") as f:
        assert f.attrs["display_flags"] == "--show 1.2,0.1 --filter-top-k 3 --drop-sink --highlight teacher-received " \
            "--normalize abs-row", f.attrs["display_flags"]
        assert f.attrs["map_mode"] == "single_head" and f.attrs["display_filter_top_k"] == 3
        t = display_filter(P[1][2], 0, 3, True, False)
        close(f["teacher_map"][...], t, 1e-5, "shown teacher map")
        close(f["student_map"][...], display_filter(abs_row(A0)[1], 0, 3, True, False), 1e-5, "shown student map")
        close(f["highlight"][...], received(t), 1e-5, "teacher-received highlight")
    p = run(base + ["--show", "1.2,0.1", "--drop-sink"], expect=3)  # show.h5 exists
    assert "--force" in p.stderr, p.stderr
    # Rollout up to teacher layer 1 and student block 1 (sLSTM: identity), raw norm, threshold.
    run(base + ["--show", "1.0,1.0", "--rollout", "--filter-threshold", "0.05", "--normalize", "raw",
                "--highlight", "difference-received", "--force"])
    with h5py.File(os.path.join(out, "show.h5"), "r") as f:
        assert f.attrs["map_mode"] == "rollout"
        t = display_filter(rollout(P), 0.05, 0, False, False)
        s = display_filter(rollout([np.maximum(np.tril(A0.astype(np.float64)), 0) /
                                    np.maximum(np.maximum(np.tril(A0.astype(np.float64)), 0).sum(-1, keepdims=True),
                                               1e-300), None]), 0.05, 0, False, False)
        close(f["teacher_map"][...], t, 1e-5, "teacher rollout")
        close(f["student_map"][...], s, 1e-5, "student rollout (raw, clamped at 0)")
        close(f["highlight"][...], received(np.abs(s - t)), 1e-5, "difference highlight")


if __name__ == "__main__":
    main()
