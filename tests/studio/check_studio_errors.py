"""dxl-studio must report bad input as an error and exit cleanly, never crash.

usage: check_studio_errors.py DXL_STUDIO MODELS_DIR SCRATCH DXL

Runs the headless export (QT_QPA_PLATFORM=offscreen) on: a folder that holds no model, a teacher
whose model.safetensors is truncated, a student whose config.json is not JSON or whose weights
hold NaN, and token ids outside the vocabulary, and capture files (--capture) that are missing,
not HDF5, truncated to a third, or changed after writing (checksum mismatch, made with h5py). Each must exit with code 4 (a core error reached the error handler)
and print the error class and the offending path; a signal (negative return code) fails.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import h5py


def run(studio, args, scratch):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = os.path.join(scratch, "out")
    proc = subprocess.run([studio, *args, "--export", "all", "--out", out], env=env,
                          capture_output=True, text=True, timeout=240)
    return proc.returncode, proc.stdout + proc.stderr


def main():
    studio, models, scratch, dxl = sys.argv[1:5]
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    teacher = os.path.join(models, "tiny-teacher")
    student = os.path.join(models, "tiny-student")

    empty = os.path.join(scratch, "not_a_model")
    os.makedirs(empty)
    with open(os.path.join(empty, "notes.txt"), "w") as f:
        f.write("no model here\n")

    truncated = os.path.join(scratch, "truncated_teacher")
    shutil.copytree(teacher, truncated)
    weights = os.path.join(truncated, "model.safetensors")
    size = os.path.getsize(weights)
    with open(weights, "r+b") as f:
        f.truncate(size // 2)

    bad_config = os.path.join(scratch, "bad_config_student")
    shutil.copytree(student, bad_config)
    with open(os.path.join(bad_config, "config.json"), "w") as f:
        f.write("{ this is not json")

    not_hdf5 = os.path.join(scratch, "not_hdf5.h5")
    with open(not_hdf5, "w") as f:
        f.write("not an HDF5 file\n")
    # Any HDF5 file cut short: the golden teacher's expected.h5 under tests/data.
    golden = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden",
                          "models", "gpt2_2600", "expected.h5")
    truncated_h5 = os.path.join(scratch, "truncated.h5")
    with open(golden, "rb") as f:
        data = f.read()
    with open(truncated_h5, "wb") as f:
        f.write(data[: len(data) // 3])
    missing_h5 = os.path.join(scratch, "missing.h5")

    # A student whose first float32 weight is NaN (a diverged run): refused like the CLI does.
    nan_student = os.path.join(scratch, "nan_student")
    shutil.copytree(student, nan_student)
    st = os.path.join(nan_student, "model.safetensors")
    raw = bytearray(open(st, "rb").read())
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen])
    first = min(k for k in header if k != "__metadata__" and header[k]["dtype"] == "F32")
    off = 8 + hlen + header[first]["data_offsets"][0]
    raw[off:off + 4] = struct.pack("<f", float("nan"))
    open(st, "wb").write(bytes(raw))

    # A capture whose sample 0 was changed after it was written (one attention weight): its
    # checksum no longer matches, and the studio refuses it instead of showing it.
    capture = os.path.join(scratch, "capture.h5")
    subprocess.run([dxl, "capture", "--teacher",
                    teacher, "--student", student, "--tokens", "1,2,3,4,5,6", "--out", capture],
                   check=True, capture_output=True)
    damaged = os.path.join(scratch, "damaged.h5")
    shutil.copy(capture, damaged)
    with h5py.File(damaged, "r+") as f:
        d = f["sample_000000/teacher/layer_00/attn_probs"]
        v = d[()]
        v.flat[0] += 0.25
        d[...] = v

    cases = [
        ("capture sample damaged after writing", ["--capture", damaged], ["sample 0 is damaged", "--repair"]),
        ("capture file missing", ["--capture", missing_h5], [missing_h5]),
        ("capture file not HDF5", ["--capture", not_hdf5], [not_hdf5, "format error"]),
        ("capture file truncated", ["--capture", truncated_h5], [truncated_h5, "format error"]),
        ("folder without a model", ["--teacher", empty], [empty]),
        ("truncated safetensors", ["--teacher", truncated], ["model.safetensors"]),
        ("config.json not JSON", ["--student", bad_config], ["config.json"]),
        ("token id outside the vocabulary", ["--tokens", "1,2,100000"], ["100000", "value error"]),
        ("NaN student", ["--student", nan_student], ["non-finite", first]),
    ]
    failures = 0
    for name, args, needles in cases:
        code, text = run(studio, args, scratch)
        # A message, never a C++ stack trace (torch's "frame #0: ...").
        ok = code == 4 and all(n in text for n in needles) and "frame #" not in text
        print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {code}: {text.strip().splitlines()[-1:]}")
        if not ok:
            failures += 1
            print(text)
    # The good case still exports after the failures (no state left behind).
    code, text = run(studio, [], scratch)
    if code != 0:
        failures += 1
        print(f"FAIL defaults: exit {code}\n{text}")
    else:
        print("ok   defaults export")
    # A second export into the same folder keeps the first one's files (exit 3, names the file);
    # --force replaces them.
    out = os.path.join(scratch, "out")
    png = sorted(f for f in os.listdir(out) if f.endswith(".png"))[0]
    before = os.stat(os.path.join(out, png)).st_mtime_ns
    code, text = run(studio, [], scratch)
    kept = os.stat(os.path.join(out, png)).st_mtime_ns == before
    ok = code == 3 and "already exists" in text and "--force" in text and kept
    print(f"{'ok  ' if ok else 'FAIL'} second export into the same folder: exit {code}, files kept: {kept}")
    failures += 0 if ok else 1
    code, text = run(studio, ["--force"], scratch)
    ok = code == 0 and os.stat(os.path.join(out, png)).st_mtime_ns != before
    print(f"{'ok  ' if ok else 'FAIL'} --force replaces them: exit {code}")
    failures += 0 if ok else 1
    # --session: Qt takes "--session" for its own X11 option unless dxl-studio parses first; a
    # missing or invalid file exits 2, a minimal session (models + input only) opens and exports.
    bad_session = os.path.join(scratch, "bad_session.json")
    with open(bad_session, "w") as f:
        f.write("{ not a session")
    for path in (os.path.join(scratch, "missing_session.json"), bad_session):
        code, text = run(studio, ["--session", path], scratch)
        ok = code == 2 and "not a dxl-studio session file" in text
        print(f"{'ok  ' if ok else 'FAIL'} --session {os.path.basename(path)}: exit {code}")
        failures += 0 if ok else 1
    session = os.path.join(scratch, "session.json")
    with open(session, "w") as f:
        json.dump({"format": "dxl-studio-session", "teacher": teacher, "student": student,
                   "input": "hello world"}, f)
    code, text = run(studio, ["--session", session, "--force"], scratch)
    ok = code == 0
    print(f"{'ok  ' if ok else 'FAIL'} --session with models and input only: exit {code}")
    if not ok:
        print(text)
    failures += 0 if ok else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
