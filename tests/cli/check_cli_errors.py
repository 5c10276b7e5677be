#!/usr/bin/python3
"""CLI bad-input check: every bad input exits non-zero with ONE clear line on stderr
that names the problem, never a crash (signal) or a stack trace, and leaves no output file.
Usage: check_cli_errors.py DXL_BINARY MODELS_DIR SCRATCH_DIR
"""
import json
import os
import shutil
import struct
import subprocess
import sys


def main():
    dxl, models, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(scratch, exist_ok=True)
    gpt2 = os.path.join(models, "gpt2_2600")
    out = os.path.join(scratch, "out.h5")

    def model_copy(name, mutate):
        d = os.path.join(scratch, name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(gpt2, d)
        os.chmod(d, 0o755)
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), 0o644)
        mutate(d)
        return d

    def truncate(d):
        p = os.path.join(d, "model.safetensors")
        data = open(p, "rb").read()
        open(p, "wb").write(data[: len(data) // 2])

    def lying_header(d):
        p = os.path.join(d, "model.safetensors")
        data = bytearray(open(p, "rb").read())
        data[0:8] = struct.pack("<Q", 1 << 40)
        open(p, "wb").write(data)

    def unknown_arch(d):
        p = os.path.join(d, "config.json")
        c = json.load(open(p))
        c["model_type"] = "mamba_not_supported"
        json.dump(c, open(p, "w"))

    def bad_json(d):
        open(os.path.join(d, "config.json"), "w").write("{not json")

    def wrong_shape(d):
        p = os.path.join(d, "config.json")
        c = json.load(open(p))
        c["n_embd"] = 32
        json.dump(c, open(p, "w"))

    def no_weights(d):
        os.remove(os.path.join(d, "model.safetensors"))

    long_tokens = ",".join(["1"] * 33)  # context is 32
    cases = [
        # (name, argv, expected exit code, words the message must contain)
        ("missing model dir", ["forward", "--model", os.path.join(scratch, "nope"), "--tokens", "1,2", "--out", out], 3, ["no such model directory"]),
        ("missing weights", ["forward", "--model", model_copy("now", no_weights), "--tokens", "1,2", "--out", out], 3, ["model.safetensors"]),
        ("truncated safetensors", ["forward", "--model", model_copy("trunc", truncate), "--tokens", "1,2", "--out", out], 4, ["safetensors"]),
        ("lying header length", ["forward", "--model", model_copy("lie", lying_header), "--tokens", "1,2", "--out", out], 4, ["header"]),
        ("unknown architecture", ["forward", "--model", model_copy("arch", unknown_arch), "--tokens", "1,2", "--out", out], 5, ["mamba_not_supported", "gpt2"]),
        ("bad config json", ["info", "--model", model_copy("json", bad_json)], 4, ["config.json"]),
        ("weight shape mismatch", ["forward", "--model", model_copy("shape", wrong_shape), "--tokens", "1,2", "--out", out], 6, ["expected"]),
        ("token id >= vocab", ["forward", "--model", gpt2, "--tokens", "1,97", "--out", out], 7, ["97", "vocab"]),
        ("negative token id", ["forward", "--model", gpt2, "--tokens", "1,-3", "--out", out], 7, ["-3"]),
        ("sequence longer than context", ["forward", "--model", gpt2, "--tokens", long_tokens, "--out", out], 7, ["33", "32"]),
        ("not an integer", ["forward", "--model", gpt2, "--tokens", "1,x", "--out", out], 2, ["'x'"]),
        ("text without tokenizer", ["forward", "--model", gpt2, "--text", "hello", "--out", out], 2, ["--tokens"]),
        ("unknown option", ["forward", "--model", gpt2, "--bogus", "1"], 2, ["--bogus"]),
        ("missing --out", ["forward", "--model", gpt2, "--tokens", "1"], 2, ["--out"]),
        ("bad form", ["forward", "--model", gpt2, "--tokens", "1", "--form", "magic", "--out", out], 2, ["magic"]),
        ("out folder missing", ["forward", "--model", gpt2, "--tokens", "1", "--out", os.path.join(scratch, "no/dir/x.h5")], 3, ["does not exist"]),
        ("unknown command", ["frobnicate"], 2, ["frobnicate"]),
        ("bad device", ["forward", "--model", gpt2, "--tokens", "1", "--device", "gpu0", "--out", out], 2, ["--device", "gpu0"]),
        ("bad dtype", ["forward", "--model", gpt2, "--tokens", "1", "--dtype", "half", "--out", out], 2, ["--dtype", "half"]),
        ("fp16 on the cpu", ["forward", "--model", gpt2, "--tokens", "1", "--device", "cpu", "--dtype", "fp16", "--out", out], 5, ["fp16", "bf16"]),
    ]
    # Without CUDA (this build or this machine), every command that runs a model refuses
    # --device cuda before loading anything or writing a file, naming the remedy.
    info = subprocess.run([dxl, "info", "--model", gpt2], capture_output=True, text=True).stdout
    if "cuda: not in this build" in info or "cuda: none visible" in info:
        xlstm = os.path.join(models, "xlstm_lm_2520")
        for cmd, argv in [
            ("forward", ["--model", gpt2, "--tokens", "1,2", "--out", out]),
            ("generate", ["--model", gpt2, "--tokens", "1,2"]),
            ("capture", ["--teacher", gpt2, "--student", xlstm, "--tokens", "1,2", "--out", out]),
            ("align", ["--teacher", gpt2, "--student", xlstm, "--tokens", "1,2,3,4"]),
        ]:
            for dev in ("cuda", "cuda:1"):
                cases.append((f"{cmd} --device {dev} without CUDA", [cmd] + argv + ["--device", dev], 5,
                              ["--device " + dev, "--device cpu"]))
    else:
        print("note: CUDA is available here; the --device cuda refusal cases are skipped")
    passed = failed = 0
    for name, argv, code, words in cases:
        if os.path.exists(out):
            os.remove(out)
        p = subprocess.run([dxl] + argv, capture_output=True, text=True)
        err = p.stderr.strip()
        problems = []
        if p.returncode != code:
            problems.append(f"exit {p.returncode}, expected {code}")
        if p.returncode < 0:
            problems.append("killed by a signal (crash)")
        if len(err.splitlines()) != 1:
            problems.append(f"stderr has {len(err.splitlines())} lines")
        for w in words:
            if w not in err:
                problems.append(f"message lacks '{w}'")
        if os.path.exists(out) or os.path.exists(out + ".partial"):
            problems.append("an output file was left behind")
        if problems:
            failed += 1
            print(f"FAIL {name}: {'; '.join(problems)}\n     stderr: {err}")
        else:
            passed += 1
            print(f"ok   {name}: {err}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
