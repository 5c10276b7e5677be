#!/usr/bin/python3
"""Capture store: disk full. The capture runs under a file-size limit (RLIMIT_FSIZE, as
`ulimit -f` sets; writes past it fail with EFBIG like a full disk). It must exit non-zero with a
clear message, leave no file under the final name, and keep the committed samples recoverable.
Usage: check_capture_diskfull.py DXL_BINARY MODELS_DIR SCRATCH_DIR
"""
import os
import resource
import shutil
import subprocess
import sys

import h5py
import numpy as np


def main():
    dxl, models, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    teacher = os.path.join(models, "gpt2_2600")
    student = os.path.join(models, "xlstm_lm_2520")
    rng = np.random.default_rng(4)
    tokens_file = os.path.join(scratch, "tokens.txt")
    with open(tokens_file, "w") as f:
        for _ in range(60):
            f.write(",".join(map(str, rng.integers(0, 97, size=32).tolist())) + "\n")
    out = os.path.join(scratch, "full.h5")
    limit = 600 * 1024  # bytes: room for a few samples only

    def limit_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    p = subprocess.run([dxl, "capture", "--teacher", teacher, "--student", student, "--tokens-file", tokens_file,
                        "--out", out, "--dtype", "f32", "--compression", "none", "--threads", "1"],
                       capture_output=True, text=True, preexec_fn=limit_size)
    assert p.returncode > 0, f"expected a non-zero exit (not a signal), got {p.returncode}\n{p.stderr}"
    msg = p.stderr.strip()
    assert "disk full" in msg and "--repair" in msg, msg
    assert len(msg.splitlines()) == 1, f"one clear line expected:\n{msg}"
    assert not os.path.exists(out), "no file may appear under the final name"
    assert os.path.exists(out + ".partial")
    r = subprocess.run([dxl, "inspect", out, "--repair"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    with h5py.File(out, "r") as f:
        count = int(f["manifest"].attrs["count"])
        assert 0 < count < 60, count
        assert sorted(k for k in f.keys() if k.startswith("sample_")) == [f"sample_{i:06d}" for i in range(count)]
    print(f"capture disk-full check: OK (exit {p.returncode}: {msg[:120]}...; {count} samples recovered)")


if __name__ == "__main__":
    main()
