"""Data parallel `dxl distill`: two ranks (c10d Gloo over 127.0.0.1, each rank half of the global
batch) give the same weights and losses, to float tolerance, as one process with the same global
batch, whether the ranks come from `--nproc 2` or are started as a launcher (torchrun / srun)
starts them, through RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. Also: on a build
or machine without CUDA, `--device cuda` exits 5 with one line and writes nothing.
usage: check_two_process.py DXL SCRATCH"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np

from train_util import distill_config, loss_records, make_teacher, read_safetensors, run

dxl, scratch = sys.argv[1], sys.argv[2]
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
teacher = make_teacher(dxl, scratch + "/teacher")
steps = 12
# Per-token mean losses decompose over ranks when every rank holds the same number of valid
# tokens: packed text (no pads), CE + KD. (The avg-all Frobenius norm over the whole batch does
# not decompose into a mean of per-rank norms, so it is off here.)
extra = {"stage_overrides": {"steps": steps, "loss": {"hidden": False}}}
one = distill_config(teacher, scratch + "/one", steps, batch=4, extra=extra)
two = distill_config(teacher, scratch + "/two", steps, batch=2, extra=extra)
env2 = distill_config(teacher, scratch + "/env", steps, batch=2, extra=extra)
one["data"]["spec"] = two["data"]["spec"] = env2["data"]["spec"] = "fortunes"
for name, cfg in (("one", one), ("two", two), ("env", env2)):
    json.dump(cfg, open("%s/%s.json" % (scratch, name), "w"))

# Without CUDA, --device cuda is refused at the door: exit 5, one line, no run folder.
if not os.environ.get("DXL_TEST_DEVICE", "cpu").startswith("cuda"):
    for cmd in ([dxl, "distill", "--config", scratch + "/one.json", "--device", "cuda"],
                [dxl, "train-teacher", "--out", scratch + "/refused_teacher", "--device", "cuda:0"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert r.returncode == 5, (r.returncode, r.stderr)
        assert len(lines) == 1 and "--device cpu" in lines[0], r.stderr
        print("refused:", lines[0])
    assert not os.path.exists(scratch + "/one") and not os.path.exists(scratch + "/refused_teacher")

t0 = time.time()
run([dxl, "distill", "--config", scratch + "/one.json", "--quiet", "--threads", "1"])
t1 = time.time()
run([dxl, "distill", "--config", scratch + "/two.json", "--nproc", "2", "--quiet", "--threads", "1"])
t2 = time.time()

# Two ranks as torchrun starts them: same binary, rank identity in the environment only.
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
procs = []
for rank in range(2):
    env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    procs.append(subprocess.Popen([dxl, "distill", "--config", scratch + "/env.json", "--quiet",
                                   "--threads", "1"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True))
for rank, p in enumerate(procs):
    out, err = p.communicate(timeout=800)
    if p.returncode != 0:
        print(out[-3000:], err[-3000:])
        raise SystemExit("launcher-env rank %d failed (%d)" % (rank, p.returncode))
t3 = time.time()

a = read_safetensors(scratch + "/one/final/model.safetensors")
la = [r["metrics"]["total"] for r in loss_records(scratch + "/one/run.dxlrec") if r["kind"] == "train"]
for name in ("two", "env"):
    b = read_safetensors(scratch + "/%s/final/model.safetensors" % name)
    assert a.keys() == b.keys()
    worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
    print("%s: max |w1 - w2| = %.3g" % (name, worst))
    assert worst < 1e-4, worst
    lb = [r["metrics"]["total"] for r in loss_records(scratch + "/%s/run.dxlrec" % name)
          if r["kind"] == "train"]
    assert np.allclose(la, lb, rtol=1e-4, atol=1e-5), (la, lb)
# SIGTERM to the --nproc parent alone (a scheduler, `kill PID`) reaches both workers once: they
# finish the step, save a checkpoint and the parent exits 10; no worker is left running.
import signal
from train_util import read_records
stop = distill_config(teacher, scratch + "/stop", 5000, batch=2, extra={"ckpt_every": 0, "eval_every": 0})
stop["data"]["spec"] = "fortunes"
json.dump(stop, open(scratch + "/stop.json", "w"))
p = subprocess.Popen([dxl, "distill", "--config", scratch + "/stop.json", "--nproc", "2", "--quiet",
                      "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.time() + 300
while time.time() < deadline and p.poll() is None:
    try:
        if any(r["kind"] == "train" and r["step"] >= 2 for r in read_records(scratch + "/stop/run.dxlrec")):
            break
    except (FileNotFoundError, AssertionError):
        pass
    time.sleep(0.05)
p.send_signal(signal.SIGTERM)
out, err = p.communicate(timeout=300)
assert p.returncode == 10, (p.returncode, err[-2000:])
ckpts = os.listdir(scratch + "/stop/checkpoints")
assert any(c.startswith("step_") for c in ckpts), ckpts
left = subprocess.run(["pgrep", "-f", scratch + "/stop.json"], capture_output=True, text=True).stdout.split()
assert not left, "workers still running: %s" % left
print("SIGTERM to the --nproc parent: exit 10, checkpoint", sorted(ckpts)[-1])

print("OK: 2 processes (--nproc, launcher environment) == 1 process (same global batch); "
      "wall %.1f s / %.1f s vs %.1f s" % (t2 - t1, t3 - t2, t1 - t0))
