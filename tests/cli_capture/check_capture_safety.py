#!/usr/bin/python3
"""Capture files are never lost or silently replaced: token id 0 (a NUL byte) verifies, an existing
capture is kept unless --force, --append reports the bytes it added and never touches the finished
file (not even when the disk fills), repair keeps every verified sample and writes beside an
existing file, and SIGINT finalizes the samples captured so far. Checked with h5py and hashlib.
Usage: check_capture_safety.py DXL_BINARY REPO_DATA_MODELS GOLDEN_MODELS SCRATCH_DIR
"""
import fcntl
import hashlib
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time

import h5py
import numpy as np


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    dxl, models, golden, scratch = sys.argv[1:5]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    byte_t, byte_s = os.path.join(models, "tiny-teacher"), os.path.join(models, "tiny-student")
    teacher, student = os.path.join(golden, "gpt2_2600"), os.path.join(golden, "xlstm_lm_2520")
    rng = np.random.default_rng(7)
    tokens = os.path.join(scratch, "tokens.txt")
    with open(tokens, "w") as f:
        for _ in range(6):
            f.write(",".join(map(str, rng.integers(0, 97, size=24).tolist())) + "\n")
    base = [dxl, "capture", "--teacher", teacher, "--student", student, "--threads", "1"]

    # Token id 0 is a NUL byte for the byte tokenizer: the capture must verify.
    nul = os.path.join(scratch, "nul.h5")
    r = run([dxl, "capture", "--teacher", byte_t, "--student", byte_s, "--tokens", "37,0,93,0,40",
             "--out", nul, "--threads", "1"])
    assert r.returncode == 0, r.stderr
    r = run([dxl, "inspect", nul])
    assert r.returncode == 0 and "integrity:   OK" in r.stdout, r.stdout + r.stderr
    with h5py.File(nul, "r") as f:
        labels = [s.decode() if isinstance(s, bytes) else s for s in f["sample_000000/token_strings"][()]]
    assert labels[1] == "\u2400" and labels[3] == "\u2400", labels

    # An existing capture is kept unless --force.
    out = os.path.join(scratch, "run.h5")
    r = run(base + ["--tokens-file", tokens, "--out", out])
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "a") as f:  # what `dxl align` adds
        f.create_group("align").attrs["marker"] = 1
    before = sha(out)
    r = run(base + ["--tokens", "1,2,3", "--out", out])
    assert r.returncode == 2 and "--force" in r.stderr and "/align" in r.stderr, r.stderr
    assert sha(out) == before, "a refused capture changed the file"
    forced = os.path.join(scratch, "forced.h5")
    shutil.copy(out, forced)
    r = run(base + ["--tokens", "1,2,3", "--out", forced, "--force"])
    assert r.returncode == 0, r.stderr
    with h5py.File(forced, "r") as f:
        assert int(f["manifest"].attrs["count"]) == 1

    # --append: reports the bytes it added, relative to the new samples only; keeps /align.
    size0 = os.path.getsize(out)
    r = run(base + ["--tokens-file", tokens, "--out", out, "--append"])
    assert r.returncode == 0, r.stderr
    added = os.path.getsize(out) - size0
    pct = float(r.stdout.split("% of")[0].split("= ")[-1])
    assert "6 samples added to 6 already there" in r.stdout, r.stdout
    # Only the bytes this run added count (small samples carry HDF5 overhead, so about 100 %);
    # the whole file against the new samples alone gave about twice that.
    assert "(+" in r.stdout and 0 < pct < 150, r.stdout
    with h5py.File(out, "r") as f:
        assert int(f["manifest"].attrs["count"]) == 12 and "align" in f

    # Another process holds the capture (an align writing /align): append and align wait their turn.
    fd = os.open(out, os.O_RDWR)
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hh4xqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
    before = sha(out)
    r = run(base + ["--tokens", "1,2,3", "--out", out, "--append"])
    assert r.returncode == 3 and "in use" in r.stderr, (r.returncode, r.stderr)
    r = run([dxl, "align", out, "--threads", "1"])
    assert r.returncode == 3 and "in use" in r.stderr, (r.returncode, r.stderr)
    os.close(fd)
    assert sha(out) == before and not os.path.exists(out + ".partial")

    # Disk full while appending: the finished file stays byte-identical and intact.
    before = sha(out)
    limit = os.path.getsize(out) + 40 * 1024

    def limit_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    many = os.path.join(scratch, "many.txt")
    with open(many, "w") as f:
        for _ in range(40):
            f.write(",".join(map(str, rng.integers(0, 97, size=32).tolist())) + "\n")
    r = run(base + ["--tokens-file", many, "--out", out, "--append", "--dtype", "f32",
                    "--compression", "none"], preexec_fn=limit_size)
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "is unchanged" in r.stderr, r.stderr
    assert sha(out) == before, "a failed --append changed the finished capture"
    r = run([dxl, "inspect", out])
    assert r.returncode == 0, r.stdout + r.stderr
    # Its partial repairs beside the finished file, which stays as it is (the partial may itself be
    # beyond repair after the write error: then a typed error, and still nothing is replaced).
    r = run([dxl, "inspect", out, "--repair"])
    assert r.returncode in (0, 4), r.stdout + r.stderr
    assert sha(out) == before, "repairing the partial of an append changed the finished capture"
    if r.returncode == 0:
        assert os.path.exists(os.path.join(scratch, "run.repaired.h5")), r.stdout

    # Repair keeps every verified sample, not only the prefix before a damaged one.
    dmg = os.path.join(scratch, "damaged.h5")
    r = run(base + ["--tokens-file", tokens, "--out", dmg, "--dtype", "f32", "--compression", "none"])
    assert r.returncode == 0, r.stderr
    with h5py.File(dmg, "a") as f:
        d = f["sample_000002/teacher/logits"]
        d[0, 0] = d[0, 0] + 1.0
    before = sha(dmg)
    r = run([dxl, "inspect", dmg])
    assert r.returncode == 4, r.stdout + r.stderr
    r = run([dxl, "inspect", dmg, "--repair"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert sha(dmg) == before, "repair must not rewrite the damaged file in place"
    fixed = os.path.join(scratch, "damaged.repaired.h5")
    with h5py.File(fixed, "r") as f:
        assert int(f["manifest"].attrs["count"]) == 5
        assert int(f["sample_000002"].attrs["original_index"]) == 3
        with h5py.File(dmg, "r") as g:
            np.testing.assert_array_equal(f["sample_000004/tokens"][()], g["sample_000005/tokens"][()])
    r = run([dxl, "inspect", fixed])
    assert r.returncode == 0, r.stdout + r.stderr

    # SIGINT: the current sample finishes, the file is finalized, exit 10.
    long_in = os.path.join(scratch, "long.txt")
    with open(long_in, "w") as f:
        for _ in range(3000):
            f.write(",".join(map(str, rng.integers(0, 97, size=32).tolist())) + "\n")
    sig = os.path.join(scratch, "sig.h5")
    p = subprocess.Popen(base + ["--tokens-file", long_in, "--out", sig, "--implicit-attn", "--hidden",
                                 "--dtype", "f32", "--compression", "none"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = sig + ".partial.journal"
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(journal) and open(journal).read().count("\n") >= 3:
            break
        time.sleep(0.02)
    assert p.poll() is None, "capture finished before it could be interrupted"
    p.send_signal(signal.SIGINT)
    so, se = p.communicate(timeout=120)
    assert p.returncode == 10, (p.returncode, se)
    assert "stopped by signal" in se, se
    assert os.path.exists(sig) and not os.path.exists(sig + ".partial"), os.listdir(scratch)
    with h5py.File(sig, "r") as f:
        n = int(f["manifest"].attrs["count"])
        assert f.attrs["status"] in (b"complete", "complete") and 3 <= n < 3000, n
    r = run([dxl, "inspect", sig])
    assert r.returncode == 0, r.stdout + r.stderr
    print(f"capture safety: OK (NUL token verifies; overwrite refused; append +{added} bytes = {pct}%; "
          f"disk-full append left the capture intact; repair kept 5 of 6; SIGINT kept {n} samples)")


if __name__ == "__main__":
    main()
