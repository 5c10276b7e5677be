#!/usr/bin/python3
"""Adversarial corpus: bad student configs, bad run configs, bad options and outputs that already
exist, each run through the commands it reaches, with the exit code each must give (docs/cli.md).
No case may crash (a signal), print a stack trace, or need more than one stderr line.
Usage: check_adversarial.py DXL_BINARY REPO_ROOT GOLDEN_MODELS SCRATCH_DIR
"""
import copy
import json
import os
import shutil
import struct
import subprocess
import sys

import h5py


def main():
    dxl, repo, golden, scratch = sys.argv[1:5]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    base_cfg = json.load(open(os.path.join(repo, "data/configs/student_paper_qwen2.5-1.5b.json")))
    xlstm = os.path.join(golden, "xlstm_lm_2520")
    gpt2 = os.path.join(golden, "gpt2_2600")
    teacher = os.path.join(repo, "data/models/tiny-teacher")
    cases = []  # (name, argv, expected exit code, words the stderr line must hold)

    def student_cfg(name, mutate):
        c = copy.deepcopy(base_cfg)
        mutate(c)
        p = os.path.join(scratch, name + ".json")
        json.dump(c, open(p, "w"))
        return p

    def model_with(name, mutate):
        d = os.path.join(scratch, "model_" + name)
        shutil.copytree(xlstm, d)
        p = os.path.join(d, "config.json")
        c = json.load(open(p))
        mutate(c)
        json.dump(c, open(p, "w"))
        return d

    def m(field, value):
        return lambda c: c["mlstm_block"]["mlstm"].__setitem__(field, value)

    def s(field, value):
        return lambda c: c["slstm_block"]["slstm"].__setitem__(field, value)

    def top(field, value):
        return lambda c: c.__setitem__(field, value)

    bad_students = [
        ("mlstm_heads_0", m("num_heads", 0), 4, ["num_heads"]),
        ("mlstm_heads_neg", m("num_heads", -4), 4, ["num_heads"]),
        ("qkv_blocksize_0", m("qkv_proj_blocksize", 0), 4, ["qkv_proj_blocksize"]),
        ("mlstm_conv_0", m("conv1d_kernel_size", 0), 4, ["conv1d_kernel_size"]),
        ("proj_factor_neg", m("proj_factor", -2.0), 4, ["proj_factor"]),
        ("slstm_heads_0", s("num_heads", 0), 4, ["num_heads"]),
        ("slstm_conv_0", s("conv1d_kernel_size", 0), 4, ["conv1d_kernel_size"]),
        ("backend_unknown", s("backend", "triton"), 5, ["backend", "triton"]),
        ("ff_type_unknown", lambda c: c["slstm_block"]["feedforward"].__setitem__("ff_type", "moe"), 5,
         ["ff_type", "moe"]),
        ("block_map_wrong", top("_block_map", "0,0,0,0,0,0"), 4, ["_block_map"]),
        ("block_map_garbage", top("_block_map", "x"), 4, ["_block_map"]),
        ("context_0", top("context_length", 0), 4, ["context_length"]),
        ("context_neg", top("context_length", -1), 4, ["context_length"]),
        ("num_blocks_huge", top("num_blocks", 1000000000), 4, ["num_blocks"]),
        ("embedding_huge", top("embedding_dim", 1 << 40), 4, ["embedding_dim"]),
    ]
    for name, mutate, code, words in bad_students:
        cases.append(("info --config " + name, ["info", "--config", student_cfg(name, mutate)], code, words))
    # The same faults in a model folder reach forward (and every command that loads a model).
    for name, mutate, code, words in [
        ("fwd_heads_0", m("num_heads", 0), 4, ["num_heads"]),
        ("fwd_qkv_0", m("qkv_proj_blocksize", 0), 4, ["qkv_proj_blocksize"]),
        ("fwd_slstm_heads_0", s("num_heads", 0), 4, ["num_heads"]),
    ]:
        d = model_with(name, mutate)
        cases.append(("forward " + name, ["forward", "--model", d, "--tokens", "1,2", "--out",
                                          os.path.join(scratch, name + ".h5")], code, words))

    # A student whose weights hold NaN: a value error in every command that reads it.
    nan_student = os.path.join(scratch, "model_nan")
    shutil.copytree(xlstm, nan_student)
    st = os.path.join(nan_student, "model.safetensors")
    raw = bytearray(open(st, "rb").read())
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen])
    first = next(k for k in sorted(header) if k != "__metadata__")
    off = 8 + hlen + header[first]["data_offsets"][0]
    raw[off:off + 4] = struct.pack("<f", float("nan"))
    open(st, "wb").write(bytes(raw))
    # +inf and -inf in one tensor (their sum is NaN, still refused), in the last tensor.
    inf_student = os.path.join(scratch, "model_inf")
    shutil.copytree(xlstm, inf_student)
    st = os.path.join(inf_student, "model.safetensors")
    raw = bytearray(open(st, "rb").read())
    last = max(k for k in header if k != "__metadata__" and header[k]["dtype"] == "F32"
               and header[k]["data_offsets"][1] - header[k]["data_offsets"][0] >= 8)
    off = 8 + hlen + header[last]["data_offsets"][0]
    raw[off:off + 8] = struct.pack("<ff", float("inf"), float("-inf"))
    open(st, "wb").write(bytes(raw))
    cases += [
        ("forward +-inf student", ["forward", "--model", inf_student, "--tokens", "1,2", "--out",
                                   os.path.join(scratch, "inf.h5")], 7, ["non-finite"]),
        ("capture NaN student", ["capture", "--teacher", gpt2, "--student", nan_student, "--tokens", "1,2,3",
                                 "--out", os.path.join(scratch, "nan.h5")], 7, ["non-finite"]),
        ("align NaN student", ["align", "--teacher", gpt2, "--student", nan_student, "--tokens", "1,2,3"], 7,
         ["non-finite"]),
        ("eval NaN student", ["eval", "--model", nan_student, "--data", "mqar"], 7, ["non-finite"]),
    ]

    # A capture with a damaged sample: align refuses it and points at the repair.
    damaged = os.path.join(scratch, "damaged.h5")
    r = subprocess.run([dxl, "capture", "--teacher", gpt2, "--student", xlstm, "--tokens", "1,2,3,4,5,6",
                        "--out", damaged, "--dtype", "f32", "--compression", "none", "--threads", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(damaged, "a") as f:
        d = f["sample_000000/teacher/logits"]
        d[0, 0] = d[0, 0] + 1.0
    cases.append(("align damaged capture", ["align", damaged], 4, ["checksum", "--repair"]))

    # Run configs: refused before any model is loaded.
    def run_cfg(name, patch):
        c = {"preset": "distil-xlstm", "teacher": teacher, "out_dir": os.path.join(scratch, "run_" + name),
             "stage_overrides": {"steps": 2}}
        c.update(patch)
        p = os.path.join(scratch, "run_" + name + ".json")
        json.dump(c, open(p, "w"))
        return p

    for name, patch, words in [
        ("batch_0", {"batch_size": 0}, ["batch_size"]),
        ("lr_factor_0", {"nonfinite": {"lr_factor": 0}}, ["lr_factor"]),
        ("eval_every_neg", {"eval_every": -1}, ["eval_every"]),
        ("warmup_2", {"stage_overrides": {"steps": 2, "warmup_fraction": 2}}, ["warmup_fraction"]),
        ("lr_neg", {"stage_overrides": {"steps": 2, "lr": -1}}, ["lr"]),
        ("beta_1", {"stage_overrides": {"steps": 2, "beta2": 1.0}}, ["beta"]),
        ("out_dir_empty", {"out_dir": ""}, ["out_dir"]),
    ]:
        cases.append(("distill " + name, ["distill", "--config", run_cfg(name, patch)], 4, words))
    cases.append(("distill student heads 0",
                  ["distill", "--config", run_cfg("student_heads_0", {"student": {
                      "preset": "paper", "overrides": {"mlstm_block": {"mlstm": {"num_heads": 0}}}}})],
                  4, ["num_heads"]))

    # Options.
    out_ok = os.path.join(scratch, "exists.h5")
    r = subprocess.run([dxl, "forward", "--model", gpt2, "--tokens", "1,2", "--out", out_ok],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    folder = os.path.join(scratch, "a_folder")
    os.makedirs(folder)
    huge = os.path.join(scratch, "huge_tokens.txt")
    open(huge, "w").write(",".join(["1"] * 200000) + "\n")
    cases += [
        ("threads huge", ["info", "--model", gpt2, "--threads", "100000"], 2, ["--threads"]),
        ("threads negative", ["info", "--model", gpt2, "--threads", "-3"], 2, ["--threads"]),
        ("student input too long", ["forward", "--model", xlstm, "--tokens-file", huge, "--out",
                                    os.path.join(scratch, "huge.h5")], 7, ["tokens need", "shorten"]),
        ("forward over existing", ["forward", "--model", gpt2, "--tokens", "1,2", "--out", out_ok], 2,
         ["exists", "--force"]),
        ("forward out is a folder", ["forward", "--model", gpt2, "--tokens", "1,2", "--out", folder], 3,
         ["folder"]),
        ("capture out is a folder", ["capture", "--teacher", gpt2, "--student", xlstm, "--tokens", "1,2",
                                     "--out", folder], 3, ["folder"]),
        ("capture over existing", ["capture", "--teacher", gpt2, "--student", xlstm, "--tokens", "1,2",
                                   "--out", out_ok], 2, ["exists", "--force"]),
    ]

    failures = []
    for name, argv, code, words in cases:
        r = subprocess.run([dxl] + argv + ([] if "--threads" in argv else ["--threads", "1"]),
                           capture_output=True, text=True, timeout=300)
        err = r.stderr.strip()
        lines = [x for x in err.splitlines() if x.strip()]
        problems = []
        if r.returncode != code:
            problems.append("exit %d, expected %d" % (r.returncode, code))
        if any(w not in err for w in words):
            problems.append("stderr lacks %s" % words)
        if len(lines) != 1 or "Traceback" in err or "Exception raised from" in err:
            problems.append("expected one stderr line, got %d" % len(lines))
        if problems:
            failures.append("%s: %s\n    stderr: %s" % (name, "; ".join(problems), err[:400]))
        else:
            print("ok   %-32s exit %d" % (name, r.returncode))
    assert os.path.getsize(out_ok) > 0
    if failures:
        print("\n".join(failures))
        raise SystemExit("%d of %d adversarial cases failed" % (len(failures), len(cases)))
    print("adversarial corpus: OK (%d cases)" % len(cases))


if __name__ == "__main__":
    main()
