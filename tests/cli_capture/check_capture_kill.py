#!/usr/bin/python3
"""Capture store: SIGKILL the capture writer at random moments. After each kill the
documented recovery (`dxl inspect NAME --repair`) yields a file that plain h5py opens and that
holds exactly the committed samples: manifest count == sample groups, each sample's tokens equal
its input line, and `dxl inspect` verifies every checksum. A run that finished is checked as is.
Usage: check_capture_kill.py DXL_BINARY MODELS_DIR SCRATCH_DIR [N=20] [SEED=1]
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np


def main():
    dxl, models, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    random.seed(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    teacher = os.path.join(models, "gpt2_2600")
    student = os.path.join(models, "xlstm_lm_2520")
    rng = np.random.default_rng(3)
    lines = [rng.integers(0, 97, size=int(rng.integers(8, 33))).tolist() for _ in range(150)]
    tokens_file = os.path.join(scratch, "tokens.txt")
    with open(tokens_file, "w") as f:
        for s in lines:
            f.write(",".join(map(str, s)) + "\n")

    def cmd(out):
        return [dxl, "capture", "--teacher", teacher, "--student", student, "--tokens-file", tokens_file,
                "--out", out, "--implicit-attn", "--chunk-size", "8", "--threads", "1"]

    # Calibrate: how long does a full run take?
    t0 = time.monotonic()
    subprocess.run(cmd(os.path.join(scratch, "calibrate.h5")), check=True, capture_output=True)
    full = time.monotonic() - t0

    outcomes = {"finished": 0, "recovered": 0}
    committed = []
    for trial in range(n):
        out = os.path.join(scratch, f"run_{trial:02d}.h5")
        proc = subprocess.Popen(cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0.0, full * 1.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if os.path.exists(out) and not os.path.exists(out + ".partial"):
            outcomes["finished"] += 1
        else:
            r = subprocess.run([dxl, "inspect", out, "--repair"], capture_output=True, text=True)
            if not (os.path.exists(out + ".partial") or os.path.exists(out + ".partial.new")) and r.returncode == 3:
                # Killed before the file existed: nothing to recover, nothing left behind.
                assert not os.path.exists(out), out
                committed.append(0)
                continue
            assert r.returncode == 0, f"trial {trial}: repair failed: {r.stdout} {r.stderr}"
            outcomes["recovered"] += 1
        assert not os.path.exists(out + ".partial") and not os.path.exists(out + ".partial.new")
        with h5py.File(out, "r") as f:  # plain h5py
            count = int(f["manifest"].attrs["count"])
            groups = sorted(k for k in f.keys() if k.startswith("sample_"))
            assert groups == [f"sample_{i:06d}" for i in range(count)], (trial, count, groups[-3:])
            for i in range(count):
                assert list(f[f"sample_{i:06d}/tokens"][:]) == lines[i], (trial, i)
                assert f[f"sample_{i:06d}/teacher/layer_01/attn_probs"].shape[1] == len(lines[i])
        r = subprocess.run([dxl, "inspect", out], capture_output=True, text=True)
        assert r.returncode == 0 and "integrity:   OK" in r.stdout, (trial, r.stdout, r.stderr)
        committed.append(count)
    print(f"capture kill test: {n}/{n} files open with h5py and hold exactly their committed samples "
          f"({outcomes['finished']} finished, {outcomes['recovered']} recovered; committed per trial {committed}; "
          f"full run {full:.2f} s)")


if __name__ == "__main__":
    main()
