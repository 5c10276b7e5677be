#!/usr/bin/python3
"""CLI golden check: `dxl forward` on every golden model directory must reproduce its
expected.h5 (logits and every attention layer) within the file's own tolerance attributes.

Reads both files with h5py, an independent HDF5 reader. Also checks that every mLSTM form gives
the same logits for the xLSTM model and that the output carries the documented layout.
Usage: check_forward_golden.py DXL_BINARY MODELS_DIR SCRATCH_DIR
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def main():
    dxl, models_dir, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(scratch, ignore_errors=True)  # forward keeps existing outputs
    os.makedirs(scratch)
    passed = failed = 0
    for name in sorted(os.listdir(models_dir)):
        mdir = os.path.join(models_dir, name)
        exp_path = os.path.join(mdir, "expected.h5")
        if not os.path.exists(exp_path):
            continue
        with h5py.File(exp_path, "r") as exp:
            tokens = exp["tokens"][:]
            tol_logits = float(exp.attrs["tolerance_logits_abs"])
            tol_attn = float(exp.attrs["tolerance_attn_abs"])
            forms = ["auto"]
            if exp.attrs["model_type"] == "xlstm_v1":
                forms = ["auto", "parallel", "chunkwise", "recurrent"]
            for form in forms:
                out = os.path.join(scratch, f"{name}_{form}.h5")
                run([dxl, "forward", "--model", mdir, "--tokens", ",".join(map(str, tokens)),
                     "--form", form, "--chunk-size", "16", "--out", out])
                with h5py.File(out, "r") as got:
                    checks = [("tokens", got["tokens"][:], tokens, 0.0),
                              ("logits", got["logits"][:], exp["logits"][:], tol_logits)]
                    assert got["tokens"].dtype == np.int64 and got["logits"].dtype == np.float32
                    assert got.attrs["format"] == "dxl-forward"
                    if "attn_probs" in exp:
                        for layer in sorted(exp["attn_probs"].keys()):
                            checks.append((f"teacher/{layer}/attn_probs",
                                           got[f"teacher/{layer}/attn_probs"][:],
                                           exp[f"attn_probs/{layer}"][:], tol_attn))
                    else:
                        blocks = sorted(got["student"].keys()) if "student" in got else []
                        if not blocks:
                            print(f"FAIL {name} [{form}]: no /student/block_NN/implicit_attn written")
                            failed += 1
                        for b in blocks:
                            a = got[f"student/{b}/implicit_attn"][:]
                            upper = np.triu(np.ones(a.shape[-2:], dtype=bool), 1)
                            if a.ndim != 3 or a.shape[1:] != (len(tokens), len(tokens)) or np.abs(a[:, upper]).max() != 0:
                                print(f"FAIL {name} [{form}] {b}: implicit_attn shape {a.shape} or not causal")
                                failed += 1
                    for what, g, e, tol in checks:
                        if g.shape != e.shape:
                            print(f"FAIL {name} [{form}] {what}: shape {g.shape} != expected {e.shape}")
                            failed += 1
                            continue
                        d = float(np.abs(g.astype(np.float64) - e.astype(np.float64)).max()) if g.size else 0.0
                        ok = d <= tol
                        print(f"{'ok  ' if ok else 'FAIL'} {name} [{form}] {what}: max|diff| {d:.3g} (tol {tol:g})")
                        passed += ok
                        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
