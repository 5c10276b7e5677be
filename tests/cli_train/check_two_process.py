"""Data parallel: `dxl distill --nproc 2` (c10d Gloo over 127.0.0.1, each rank half of the global
batch) gives the same weights, to float tolerance, as one process with the same global batch.
usage: check_two_process.py DXL SCRATCH"""
import json
import os
import shutil
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
one["data"]["spec"] = two["data"]["spec"] = "fortunes"
json.dump(one, open(scratch + "/one.json", "w"))
json.dump(two, open(scratch + "/two.json", "w"))
t0 = time.time()
run([dxl, "distill", "--config", scratch + "/one.json", "--quiet", "--threads", "1"])
t1 = time.time()
run([dxl, "distill", "--config", scratch + "/two.json", "--nproc", "2", "--quiet", "--threads", "1"])
t2 = time.time()
a = read_safetensors(scratch + "/one/final/model.safetensors")
b = read_safetensors(scratch + "/two/final/model.safetensors")
assert a.keys() == b.keys()
worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
print("max |w1 - w2| = %.3g" % worst)
assert worst < 1e-4, worst
la = [r["metrics"]["total"] for r in loss_records(scratch + "/one/run.dxlrec") if r["kind"] == "train"]
lb = [r["metrics"]["total"] for r in loss_records(scratch + "/two/run.dxlrec") if r["kind"] == "train"]
assert np.allclose(la, lb, rtol=1e-4, atol=1e-5), (la, lb)
print("OK: 2 processes == 1 process (same global batch); wall %.1f s vs %.1f s" % (t2 - t1, t1 - t0))
