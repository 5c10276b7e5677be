#!/usr/bin/python3
"""Large-model workflow on a small random checkpoint of a real layout (Qwen2-style, bf16, two
shards, 40k vocabulary): `dxl info --model` from the headers, `dxl student --for`, `--tokenizer`,
the vocabulary pre-flight and the top-k logits default of `dxl capture`. Files are checked with
numpy/h5py, independently of dxl's reader.
Usage: check_real_scale.py DXL_BINARY REPO_ROOT SCRATCH_DIR
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import h5py
import numpy as np


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return h, 8 + n


def tensor_bytes(path, name):
    h, off = header(path)
    b, e = h[name]["data_offsets"]
    with open(path, "rb") as f:
        f.seek(off + b)
        return h[name], f.read(e - b)


def main():
    dxl, root, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    def run(*argv, code=0):
        p = subprocess.run([dxl] + list(argv), capture_output=True, text=True)
        check(p.returncode == code, f"dxl {' '.join(argv[:3])} ... exits {code} (got {p.returncode}: {p.stderr.strip()})")
        return p

    teacher = os.path.join(scratch, "teacher")
    subprocess.run([sys.executable, os.path.join(root, "scripts/make_random_model.py"), "--shape", "tiny",
                    "--dtype", "bf16", "--shards", "2", "--tokenizer", "--out", teacher], check=True)
    cfg = json.load(open(os.path.join(teacher, "config.json")))
    shards = sorted(f for f in os.listdir(teacher) if f.startswith("model-"))
    n_params = sum(int(np.prod(t["shape"])) for s in shards for t in header(os.path.join(teacher, s))[0].values())

    # info: counts from the config, weights from the headers.
    p = run("info", "--model", teacher)
    check(f"({n_params:,})" in p.stdout, f"info prints the {n_params:,} parameters the headers hold")
    check("vocab         40000" in p.stdout and "2 file(s)" in p.stdout and "BF16" in p.stdout,
          "info names vocabulary, shards and dtype")
    check("holds" not in p.stdout, "config and headers agree")

    # student --for: embedding and head copied bit for bit in the teacher's dtype.
    student = os.path.join(scratch, "student")
    p = run("student", "--for", teacher, "--preset", "v2", "--out", student)
    check("trainable" in p.stdout and "wrote" in p.stdout, "student prints counts and what it wrote")
    scfg = json.load(open(os.path.join(student, "config.json")))
    check(scfg["vocab_size"] == 40000 and scfg["embedding_dim"] == cfg["hidden_size"],
          "student takes the teacher's vocabulary and width")
    emb = next(os.path.join(teacher, s) for s in shards if "model.embed_tokens.weight" in header(os.path.join(teacher, s))[0])
    te, tb = tensor_bytes(emb, "model.embed_tokens.weight")
    sf = os.path.join(student, "model.safetensors")
    for name in ("token_embedding.weight", "lm_head.weight"):
        se, sb = tensor_bytes(sf, name)
        check(se["dtype"] == "BF16" and se["shape"] == te["shape"] and sb == tb,
              f"student {name} is the teacher's embedding, BF16, byte-identical")
    check(open(os.path.join(student, "tokenizer.json"), "rb").read() == open(os.path.join(teacher, "tokenizer.json"), "rb").read(),
          "student carries the teacher's tokenizer.json")
    run("student", "--for", teacher, "--out", student, code=3)  # refuses to overwrite a model

    # --tokenizer for a checkpoint without one (byte-level: ids are the UTF-8 bytes).
    bare = os.path.join(scratch, "bare")
    shutil.copytree(teacher, bare)
    os.remove(os.path.join(bare, "tokenizer.json"))
    out = os.path.join(scratch, "f.h5")
    run("forward", "--model", bare, "--text", "hi", "--out", out, code=2)
    run("forward", "--model", bare, "--text", "hi", "--tokenizer", os.path.join(teacher, "tokenizer.json"), "--out", out)
    with h5py.File(out) as f:
        check(list(f["tokens"][()]) == [ord("h"), ord("i")], "--tokenizer encodes the text")

    # capture: above 32k tokens the default keeps top-k logits with the log-normaliser.
    cap = os.path.join(scratch, "cap.h5")
    p = run("capture", "--teacher", teacher, "--student", student, "--tokens", "5,6,7,8,9,10", "--out", cap)
    check("top 64" in p.stdout, "capture states the logits policy")
    with h5py.File(cap) as f:
        s = f["sample_000000/teacher"]
        check("logits" not in s and s["logits_topk_values"].shape == (6, 64) and s["logits_logsumexp"].shape == (6,),
              "teacher logits stored as top 64 + log-normaliser")

    # vocabulary mismatch: refused from the configs, naming the fix.
    byte_student = os.path.join(root, "data/models/tiny-student")
    for argv in (["capture", "--teacher", teacher, "--student", byte_student, "--tokens", "1", "--out", cap + "2"],
                 ["align", "--teacher", teacher, "--student", byte_student, "--tokens", "1", "--out", os.path.join(scratch, "al")]):
        p = run(*argv, code=7)
        check(f"dxl student --for {teacher}" in p.stderr and "40000" in p.stderr, f"{argv[0]}: mismatch names the fix")

    print(f"{len(failures)} failed")
    # Memory guard: more sequences than this machine can hold the maps and logits of are refused
    # before any forward (their logits alone need about twice the physical memory).
    mem_total = next(int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    per_seq = 2 * 500 * 40000 * 4
    n = 2 * mem_total // per_seq + 1
    many = os.path.join(scratch, "many_tokens.txt")
    with open(many, "w") as f:
        for i in range(n):
            f.write(",".join(str((7 * i + t) % 250) for t in range(500)) + "\n")
    p = run("align", "--teacher", teacher, "--student", student, "--tokens-file", many, code=7)
    check("can spare" in p.stderr and f"{n} sequences" in p.stderr, "align: over-large input refused, with its size")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
