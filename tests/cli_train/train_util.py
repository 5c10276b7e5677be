"""Independent readers for the distillation CLI tests: the CRC-framed run log (TensorBoard
record framing with masked CRC-32C, re-implemented here from the format description) and
safetensors files (8-byte header length, JSON header, raw little-endian data)."""
import json
import struct
import subprocess

import numpy as np


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path):
    """All complete records; asserts every CRC."""
    raw = open(path, "rb").read()
    out, off = [], 0
    while off + 12 <= len(raw):
        (n,) = struct.unpack("<Q", raw[off:off + 8])
        (hc,) = struct.unpack("<I", raw[off + 8:off + 12])
        assert hc == masked(raw[off:off + 8]), "length CRC mismatch at %d" % off
        if off + 16 + n > len(raw):
            break
        payload = raw[off + 12:off + 12 + n]
        (pc,) = struct.unpack("<I", raw[off + 12 + n:off + 16 + n])
        assert pc == masked(payload), "payload CRC mismatch at %d" % off
        out.append(json.loads(payload))
        off += 16 + n
    return out


def loss_records(path):
    recs = []
    for r in read_records(path):
        if r["kind"] == "event":
            continue
        r["metrics"].pop("tokens_per_s", None)
        recs.append(r)
    return recs


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    dt = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt[info["dtype"]]).reshape(info["shape"])
    return out


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print(r.stdout[-4000:], r.stderr[-4000:])
        raise SystemExit("command failed (%d): %s" % (r.returncode, " ".join(cmd)))
    return r


def make_teacher(dxl, out, steps=30):
    """A tiny byte-level teacher trained for a few steps with `dxl train-teacher`."""
    run([dxl, "train-teacher", "--out", out, "--d-model", "32", "--layers", "2", "--heads", "4", "--context", "64",
         "--seq-len", "32", "--steps", str(steps), "--batch-size", "4", "--eval-every", "0", "--ckpt-every", "0",
         "--quiet", "--threads", "1"])
    return out + "/final"


def distill_config(teacher, out, steps, batch, accum=1, extra=None):
    cfg = {
        "preset": "distil-xlstm",
        "teacher": teacher,
        "student": {"preset": "paper", "overrides": {"num_blocks": 2, "slstm_at": [1],
                                                     "mlstm_block": {"mlstm": {"num_heads": 4}}}},
        "data": {"spec": "fortunes+mqar@0.2", "seq_len": 40, "max_documents": 300, "heldout_fraction": 0.1, "seed": 9},
        "batch_size": batch, "grad_accum": accum, "eval_every": 10, "eval_batches": 2, "ckpt_every": 10,
        "keep_last": 2, "seed": 4, "out_dir": out, "stage_overrides": {"steps": steps},
    }
    cfg.update(extra or {})
    return cfg
