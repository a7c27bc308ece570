#!/usr/bin/env bash
# The PyTorch twin of the full gym-pendulum preset (bench/peers/gym_pendulum.py) on one GPU, as run by
# the device tool: each seed trains svg, then svg-more and noether side by side from its checkpoint;
# seeds run side by side too. Each phase writes $OUT/<phase>-seed<S>.json as it ends (checkpoints and
# logs stay in a temporary folder); every python process is stopped at LIMIT seconds, so the merge into
# $OUT/gym-twin.json runs even when a phase overruns. Env: DATA (npz of `noether generate gym-pendulum`),
# SEEDS, BUDGET (seconds per training phase), LIMIT, OUT, PY (a python with torch), EXTRA (more flags
# for every phase, e.g. --svg-epochs 1).
set -u
DATA=${DATA:-.gpu/gym64.npz}; SEEDS=${SEEDS:-"1 2"}; BUDGET=${BUDGET:-250}; LIMIT=${LIMIT:-540}
OUT=${OUT:-runs/gym-twin}; WORK=$(mktemp -d); EXTRA=${EXTRA:-}; PY=${PY:-python3}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
py() { timeout "$LIMIT" "$PY" bench/peers/gym_pendulum.py --data "$DATA" --out "$OUT" --ckpt-dir "$WORK" --budget "$BUDGET" $EXTRA "$@"; }
start=$(date +%s)
for s in $SEEDS; do
  ( py --seed "$s" --phase svg && { py --seed "$s" --phase svg-more & py --seed "$s" --phase noether; wait; } ) &
done
wait
echo "all phases done in $(( $(date +%s) - start )) s"
python3 - "$WORK" "$OUT" <<'PY'
import glob, json, os, sys
work, out = sys.argv[1:]
runs = {os.path.basename(f)[:-5]: json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, '*-seed*.json')))}
json.dump(runs, open(os.path.join(out, 'gym-twin.json'), 'w'), indent=1)
for k, r in runs.items():
    t = r['train']
    print(f"{k:20s} held-out MSE {r['test']['meanOverHorizon']:.7f}  steps {t['steps']}/{t['planned']}  {t['seconds']:.0f} s")
PY
