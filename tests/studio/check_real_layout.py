#!/usr/bin/python3
"""The studio at a real model's layout: a random Qwen2.5-0.5B-layout teacher (24 layers x 14
heads, 40k vocabulary, width 224) and the paper student `dxl student --for` builds for it
(6 blocks x 16 heads), toured with `dxl-studio --screenshots`. The tour fails on a blank shot, a
core error or an attention map squeezed below its readable size (also with the Distill dock
open); this checks it ran every shot and wrote valid PNGs of the window's size.
Usage: check_real_layout.py DXL DXL_STUDIO REPO_ROOT SCRATCH_DIR
"""
import os
import shutil
import struct
import subprocess
import sys


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def main():
    dxl, studio, root, scratch = sys.argv[1:5]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    teacher, student, shots = (os.path.join(scratch, n) for n in ("teacher", "student", "shots"))
    subprocess.run([sys.executable, os.path.join(root, "scripts/make_random_model.py"), "--shape",
                    "qwen-layout", "--dtype", "bf16", "--tokenizer", "--out", teacher], check=True)
    subprocess.run([dxl, "student", "--for", teacher, "--preset", "paper", "--out", student],
                   check=True)
    cmd = [studio, "--teacher", teacher, "--student", student, "--screenshots", shots]
    env = dict(os.environ)
    xvfb = shutil.which("xvfb-run")
    if xvfb:
        cmd = [xvfb, "-a", "-s", "-screen 0 1600x1000x24"] + cmd
        env.pop("QT_QPA_PLATFORM", None)
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    print(p.stdout + p.stderr)
    failures = []
    if p.returncode != 0:
        failures.append(f"dxl-studio --screenshots exited {p.returncode}")
    expected = ["01_inspect.png", "02_heads_dock.png", "03_alignment.png", "04_recurrent_state.png",
                "04b_logit_lens.png", "05_inspect_distill_dock.png", "06_alignment_distill_dock.png"]
    for name in expected:
        path = os.path.join(shots, name)
        size = png_size(path) if os.path.exists(path) else None
        if size is None:
            failures.append(f"{name}: missing or not a PNG")
        elif name != "02_heads_dock.png" and size != (1500, 900):
            failures.append(f"{name}: {size[0]}x{size[1]}, expected the 1500x900 window")
        elif path not in p.stdout:
            failures.append(f"{name}: not reported as written")
    for f in failures:
        print("FAIL " + f)
    print(f"{len(expected) - len(failures)}/{len(expected)} screenshots checked")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
