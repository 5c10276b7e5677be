#!/usr/bin/env bash
# Reproduces the embedded default models in data/models: trains the byte-level
# Llama-style teacher on the fortunes corpus with variable-length copy sequences mixed in (so it
# forms previous-token and induction heads), installs it as data/models/tiny-teacher, distils
# the default xLSTM student from it with data/configs/distill_default.json and installs that as
# data/models/tiny-student; then prints held-out evaluations and the head scores.
# CPU, one thread; about 25 + 10 min on an idle core of the 2-core reference machine.
# usage: scripts/make_defaults.sh [BUILD_DIR] [RUNS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${2:-runs/defaults}
DXL="$BUILD/app/cli/dxl"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 DXL_THREADS=1
install_model() {  # $1 = model folder from a run, $2 = data/models/<name>
  mkdir -p "$2"
  cp "$1/config.json" "$1/model.safetensors" "$2/"
}

time "$DXL" train-teacher --out "$RUNS/teacher" --d-model 128 --layers 4 --heads 4 --context 256 \
  --seq-len 128 --batch-size 16 --steps 4000 --lr 2e-3 --warmup 0.02 --seed 1 --eval-every 500 \
  --ckpt-every 500 --threads 1 --data "fortunes+induction:copy_length=40,min_copy_length=8@0.7" --quiet
install_model "$RUNS/teacher/final" data/models/tiny-teacher

time "$DXL" distill --config data/configs/distill_default.json --out "$RUNS/student" --threads 1 --quiet
install_model "$RUNS/student/final" data/models/tiny-student

# An untrained student of the same config for comparison: one step at a vanishing LR.
/usr/bin/python3 - "$RUNS" <<'PY'
import json, sys
c = json.load(open("data/configs/distill_default.json"))
c["stages"][0].update(steps=1, lr=1e-12, warmup_fraction=0.0)
c["eval_every"] = 0
json.dump(c, open(sys.argv[1] + "/untrained.json", "w"), indent=1)
PY
"$DXL" distill --config "$RUNS/untrained.json" --out "$RUNS/untrained" --threads 1 --quiet

for spec in fortunes "induction:copy_length=40,min_copy_length=8" mqar; do
  echo "== held-out $spec"
  "$DXL" eval --model data/models/tiny-teacher --data "$spec" --batches 16 --threads 1
  for student in data/models/tiny-student "$RUNS/untrained/final"; do
    "$DXL" eval --model "$student" --teacher data/models/tiny-teacher --data "$spec" --batches 16 \
      --threads 1
  done
done
/usr/bin/python3 scripts/attention_heads.py "$DXL" data/models/tiny-teacher
/usr/bin/python3 scripts/attention_heads.py "$DXL" data/models/tiny-student
