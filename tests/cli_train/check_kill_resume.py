"""Resume: `dxl distill` killed with SIGKILL mid-run and resumed with `--resume auto` ends with
byte-identical weights and identical loss logs to an uninterrupted run.
usage: check_kill_resume.py DXL SCRATCH [STEPS]   (STEPS default 40; scripts/ runs 2000)"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from train_util import distill_config, loss_records, make_teacher, read_records, run

dxl, scratch = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 40
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
teacher = make_teacher(dxl, scratch + "/teacher")
extra = {"ckpt_every": max(10, steps // 20), "eval_every": max(10, steps // 10)}

cfg_a = distill_config(teacher, scratch + "/a", steps, batch=2, accum=2, extra=extra)
cfg_b = distill_config(teacher, scratch + "/b", steps, batch=2, accum=2, extra=extra)
for name, cfg in (("a", cfg_a), ("b", cfg_b)):
    json.dump(cfg, open("%s/%s.json" % (scratch, name), "w"))

t0 = time.time()
run([dxl, "distill", "--config", scratch + "/a.json", "--quiet", "--threads", "1"])
print("straight run: %.1f s" % (time.time() - t0))

# Run B: kill -9 once the log shows a step past the middle (and past a checkpoint).
target = steps // 2 + extra["ckpt_every"] // 2 + 1
p = subprocess.Popen([dxl, "distill", "--config", scratch + "/b.json", "--quiet", "--threads", "1"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
log = scratch + "/b/run.dxlrec"
while p.poll() is None:
    try:
        done = [r["step"] for r in read_records(log) if r["kind"] == "train"]
    except (FileNotFoundError, AssertionError):
        done = []
    if done and max(done) >= target:
        os.kill(p.pid, signal.SIGKILL)
        break
    time.sleep(0.05)
p.wait()
assert p.returncode == -signal.SIGKILL, "run B ended before it could be killed (rc %s)" % p.returncode
killed_at = max(r["step"] for r in read_records(log) if r["kind"] == "train")
print("killed at step", killed_at)
r = run([dxl, "distill", "--config", scratch + "/b.json", "--resume", "auto", "--quiet", "--threads", "1"])
out = json.loads(r.stdout)
assert out["resumed"] and out["steps"] == steps, out

wa = open(scratch + "/a/final/model.safetensors", "rb").read()
wb = open(scratch + "/b/final/model.safetensors", "rb").read()
assert wa == wb, "final weights differ after kill -9 + resume"
la, lb = loss_records(scratch + "/a/run.dxlrec"), loss_records(scratch + "/b/run.dxlrec")
assert len(la) == len(lb), (len(la), len(lb))
for x, y in zip(la, lb):
    assert x == y, (x, y)
assert sum(1 for x in la if x["kind"] == "train") == steps
print("OK: kill -9 at step %d + resume: byte-identical weights (%d bytes), %d identical records"
      % (killed_at, len(wa), len(la)))
