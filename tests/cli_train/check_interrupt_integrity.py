"""Training runs survive interrupts and damage: SIGINT saves a checkpoint, logs a stop record and
exits 10, and --resume auto then ends byte-identical to an uninterrupted run; a second signal
exits at once; SIGTERM on train-teacher saves too; a damaged, truncated or NaN newest checkpoint
falls back to the older intact one (checksums verified with hashlib); a truncated run log is cut
at a whole record, never zero-padded; a second run into a busy folder and a fresh run over an
earlier one are refused.
usage: check_interrupt_integrity.py DXL SCRATCH"""
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import numpy as np

from train_util import distill_config, loss_records, make_teacher, read_records, read_safetensors

dxl, scratch = sys.argv[1], sys.argv[2]
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
teacher = make_teacher(dxl, scratch + "/teacher")
STEPS = 30


def config(name, steps=STEPS):
    cfg = distill_config(teacher, scratch + "/" + name, steps, batch=2, extra={"ckpt_every": 10, "eval_every": 0,
                                                                                "keep_last": 3})
    path = "%s/%s.json" % (scratch, name)
    json.dump(cfg, open(path, "w"))
    return path


def distill(cfg, *extra):
    return subprocess.run([dxl, "distill", "--config", cfg, "--quiet", "--threads", "1"] + list(extra),
                          capture_output=True, text=True)


def start(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_step(log, step, p):
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        try:
            done = [r["step"] for r in read_records(log) if r["kind"] == "train"]
        except (FileNotFoundError, AssertionError):
            done = []
        if done and max(done) >= step:
            return
        time.sleep(0.02)
    raise SystemExit("run ended or stalled before step %d (rc %s)" % (step, p.poll()))


def checkpoints(out):
    root = out + "/checkpoints"
    return sorted(d for d in os.listdir(root) if d.startswith("step_"))


# Straight run A.
cfg_a = config("a")
r = distill(cfg_a)
assert r.returncode == 0, r.stderr
final_a = open(scratch + "/a/final/model.safetensors", "rb").read()

# Run B: SIGINT past the first checkpoint.
cfg_b = config("b")
p = start([dxl, "distill", "--config", cfg_b, "--quiet", "--threads", "1"])
wait_for_step(scratch + "/b/run.dxlrec", 13, p)
p.send_signal(signal.SIGINT)
so, se = p.communicate(timeout=300)
assert p.returncode == 10, (p.returncode, se)
assert "--resume auto" in se, se
out = json.loads(so)
stopped_at = out["steps"]
assert out["stopped"] and 13 <= stopped_at < STEPS, out
assert checkpoints(scratch + "/b")[-1] == "step_%08d" % stopped_at, checkpoints(scratch + "/b")
recs = read_records(scratch + "/b/run.dxlrec")
assert recs[-1]["kind"] == "event" and recs[-1]["event"] == "stop", recs[-1]
# Checksums, recomputed independently.
ck = "%s/b/checkpoints/step_%08d" % (scratch, stopped_at)
sums = json.load(open(ck + "/checksums.json"))
for name in ("model.safetensors", "optimizer.safetensors", "config.json", "state.json"):
    assert sums["files"][name] == hashlib.sha256(open(ck + "/" + name, "rb").read()).hexdigest(), name
for name in ("fallback", "trunc", "nan", "logcut"):
    shutil.copytree(scratch + "/b", scratch + "/b_" + name)
    cfg = json.load(open(cfg_b))
    cfg["out_dir"] = scratch + "/b_" + name
    json.dump(cfg, open("%s/b_%s.json" % (scratch, name), "w"))

# Resume B: says from which step, ends byte-identical to A.
r = distill(cfg_b, "--resume", "auto")
assert r.returncode == 0, r.stderr
assert "resuming from" in r.stderr and "(step %d)" % stopped_at in r.stderr, r.stderr
assert open(scratch + "/b/final/model.safetensors", "rb").read() == final_a, "SIGINT + resume changed the weights"
la, lb = loss_records(scratch + "/a/run.dxlrec"), loss_records(scratch + "/b/run.dxlrec")
assert la == lb, "loss records differ after SIGINT + resume"


def newest_older_than(out, step):
    return max(int(d[5:]) for d in checkpoints(out) if int(d[5:]) < step)


# A bit flip in the newest checkpoint: fall back to the older one and say so.
older = newest_older_than(scratch + "/b_fallback", stopped_at)
path = "%s/b_fallback/checkpoints/step_%08d/model.safetensors" % (scratch, stopped_at)
raw = bytearray(open(path, "rb").read())
raw[-5] ^= 0x10
open(path, "wb").write(bytes(raw))
r = distill(scratch + "/b_fallback.json", "--resume", "auto")
assert r.returncode == 0, r.stderr
assert "does not match its checksum" in r.stderr and "(step %d)" % older in r.stderr, r.stderr
assert open(scratch + "/b_fallback/final/model.safetensors", "rb").read() == final_a

# A truncated newest checkpoint: the same fallback.
path = "%s/b_trunc/checkpoints/step_%08d/optimizer.safetensors" % (scratch, stopped_at)
os.truncate(path, os.path.getsize(path) // 2)
r = distill(scratch + "/b_trunc.json", "--resume", "auto")
assert r.returncode == 0 and "(step %d)" % older in r.stderr, r.stderr

# NaN weights behind valid checksums: a clear error naming the value, no rollback loop.
nan_root = scratch + "/b_nan/checkpoints"
for d in checkpoints(scratch + "/b_nan")[:-1]:
    shutil.rmtree(nan_root + "/" + d)
ck = "%s/step_%08d" % (nan_root, stopped_at)
raw = bytearray(open(ck + "/model.safetensors", "rb").read())
(hlen,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + hlen])
name = next(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32")
start_off = 8 + hlen + header[name]["data_offsets"][0]
raw[start_off:start_off + 4] = struct.pack("<f", float("nan"))
open(ck + "/model.safetensors", "wb").write(bytes(raw))
sums = json.load(open(ck + "/checksums.json"))
sums["files"]["model.safetensors"] = hashlib.sha256(bytes(raw)).hexdigest()
json.dump(sums, open(ck + "/checksums.json", "w"))
r = distill(scratch + "/b_nan.json", "--resume", "auto")
assert r.returncode == 4, (r.returncode, r.stderr)
assert "non-finite" in r.stderr and "no intact checkpoint" in r.stderr, r.stderr

# A run log cut in the middle of a record: resume cuts it at a whole record, never pads.
log = scratch + "/b_logcut/run.dxlrec"
os.truncate(log, os.path.getsize(log) // 3 + 5)
r = distill(scratch + "/b_logcut.json", "--resume", "auto")
assert r.returncode == 0, r.stderr
raw = open(log, "rb").read()
recs = read_records(log)  # asserts every CRC: zero padding would fail here
assert recs[-1]["event"] == "done", recs[-1]
assert b"\0" * 16 not in raw, "zero padding in the run log"

# Resume with nothing to resume from: says so and starts at step 0.
cfg_e = config("empty", steps=3)
r = distill(cfg_e, "--resume", "auto")
assert r.returncode == 0 and "no checkpoint" in r.stderr and "starting from step 0" in r.stderr, r.stderr

# A fresh run over an earlier one is refused (exit 2) unless --force.
before = open(scratch + "/empty/run.dxlrec", "rb").read()
r = distill(cfg_e)
assert r.returncode == 2 and "--force" in r.stderr, (r.returncode, r.stderr)
assert open(scratch + "/empty/run.dxlrec", "rb").read() == before
r = distill(cfg_e, "--force")
assert r.returncode == 0, r.stderr

# Lock: a second run into a busy folder is refused; then a double SIGINT exits at once.
cfg_c = config("c", steps=2000)
p = start([dxl, "distill", "--config", cfg_c, "--quiet", "--threads", "1"])
wait_for_step(scratch + "/c/run.dxlrec", 2, p)
r = distill(cfg_c, "--resume", "auto")
assert r.returncode == 3 and "in use by another dxl process" in r.stderr, (r.returncode, r.stderr)
p.send_signal(signal.SIGINT)  # a different second signal: two SIGINTs could merge while pending
p.send_signal(signal.SIGTERM)
so, se = p.communicate(timeout=120)
# Either may be delivered second; whichever it is exits at once with 128 + its number.
assert p.returncode in (128 + signal.SIGINT, 128 + signal.SIGTERM) and "exiting now" in se, (p.returncode, se)

# SIGTERM on train-teacher: checkpoint, exit 10, and the resume finishes.
tt = [dxl, "train-teacher", "--out", scratch + "/tt", "--d-model", "32", "--layers", "2", "--heads", "4",
      "--context", "64", "--seq-len", "32", "--steps", "200", "--batch-size", "4", "--eval-every", "0",
      "--ckpt-every", "0", "--quiet", "--threads", "1"]
p = start(tt)
wait_for_step(scratch + "/tt/run.dxlrec", 3, p)
p.send_signal(signal.SIGTERM)
so, se = p.communicate(timeout=300)
assert p.returncode == 10, (p.returncode, se)
tt_stop = json.loads(so)["steps"]
assert checkpoints(scratch + "/tt") == ["step_%08d" % tt_stop], checkpoints(scratch + "/tt")
r = subprocess.run(tt + ["--resume", "auto"], capture_output=True, text=True)
assert r.returncode == 0 and "(step %d)" % tt_stop in r.stderr, r.stderr
w = read_safetensors(scratch + "/tt/final/model.safetensors")
assert all(np.isfinite(v).all() for v in w.values())
# A file-size limit (ulimit -f) reached while writing a checkpoint: an I/O error naming the
# cause (exit 3), not a silent death by SIGXFSZ; the run log stays readable.
import resource
cfg_f = config("fsize")
limit = 64 * 1024  # bytes: the run log fits, a checkpoint of the student does not
r = subprocess.run([dxl, "distill", "--config", cfg_f, "--quiet", "--threads", "1"], capture_output=True,
                   text=True, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
assert r.returncode == 3 and r.returncode != -signal.SIGXFSZ, (r.returncode, r.stderr)
assert "write" in r.stderr.lower() or "disk" in r.stderr.lower() or "space" in r.stderr.lower(), r.stderr
read_records(scratch + "/fsize/run.dxlrec")  # every complete record still passes its CRC

print("OK: SIGINT at step %d -> exit 10, checkpoint + stop record, resume byte-identical; fallback to step %d "
      "after a bit flip / truncation; NaN checkpoint refused; log cut, not padded; lock, --force and double "
      "signal; train-teacher SIGTERM at step %d" % (stopped_at, older, tt_stop))
