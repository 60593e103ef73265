#!/bin/bash
# The checks only a CUDA GPU can make, as one run on a lent GPU machine (no network there): run from the repository root
# with the wheels of LyricLoop's Python dependencies that the machine lacks in .whl/ (pip download --python-version of
# that machine), deepspeed's source archive beside them, and bitsandbytes unpacked in .whl/bnb with only the CPU and the
# machine's CUDA library (its wheel holds every CUDA and ROCm build, 43 MB of the 64 MB a call carries). Logs go to $OUT.
#   1. bench/bench_qlora.py --device cuda: 4-bit NF4 QLoRA against bf16 LoRA on a Gemma-2b-shaped model, peak GPU memory and tokens/s;
#   2. the notebooks as `nbdev_test --flags gpu` runs them (tools/run_nb.py, which also prints the GPU cells' output): Environment
#      (4-bit on CUDA) and Training (the accelerate configurations, one process per GPU); if Training fails before its GPU
#      cell, that cell is run alone so its launches are still tried.
set -u
OUT=${OUT:-/tmp/gpu_check}; mkdir -p "$OUT"
start=$(date +%s); stamp() { echo "[$(( $(date +%s) - start )) s] $*"; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >"$OUT/install.log" 2>&1 \
  || { tail -20 "$OUT/install.log"; exit 1; }
export PATH=/tmp/site/bin:$PATH PYTHONPATH=/tmp/site:$PWD/.whl/bnb:$PWD PYTHONUNBUFFERED=1 LYRICLOOP_HOME=/tmp/lyricloop-home HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir -e . >>"$OUT/install.log" 2>&1 || { tail -20 "$OUT/install.log"; exit 1; }
# deepspeed ships only a source archive: built in the background (no compiled ops; they are built when first used)
( DS_BUILD_OPS=0 timeout 200 python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir --target /tmp/site-ds .whl/deepspeed-*.tar.gz \
    >"$OUT/deepspeed_install.log" 2>&1; echo "rc $?" >>"$OUT/deepspeed_install.log" ) &
ds=$!
python3 -c "
import importlib.metadata as m, torch
print(torch.cuda.get_device_name(0), '· torch', torch.__version__, '·', ' · '.join(f'{p} {m.version(p)}' for p in
      ('transformers', 'peft', 'trl', 'accelerate', 'datasets', 'bitsandbytes', 'pyarrow', 'huggingface_hub', 'tokenizers')))
from lyricloop.environment import hardware; print(hardware())" 2>&1 | tee "$OUT/versions.log"
stamp "bench: QLoRA against LoRA, Gemma-2b shape"
timeout 150 python3 bench/bench_qlora.py --device cuda --only train --steps 6 --seq 1024 --cache /tmp/bench 2>&1 | tee "$OUT/bench_qlora.log"
wait $ds; grep -q "rc 0" "$OUT/deepspeed_install.log" && export PYTHONPATH=$PYTHONPATH:/tmp/site-ds
stamp "deepspeed install: $(tail -1 "$OUT/deepspeed_install.log")"
stamp "notebooks, gpu flag"
timeout 90 python3 tools/run_nb.py nbs/01_environment.ipynb --flags gpu >"$OUT/nb01.log" 2>&1; tail -8 "$OUT/nb01.log"
timeout 320 python3 tools/run_nb.py nbs/05_train.ipynb --flags gpu >"$OUT/nb05.log" 2>&1; tail -25 "$OUT/nb05.log"
if grep -q "FAILED at cell .* (unflagged)" "$OUT/nb05.log"; then
  stamp "05_train failed before its GPU cell: the GPU cell alone"
  (cd nbs && timeout 240 python3 -c "
import json, torch
cells = [''.join(c['source']) for c in json.load(open('05_train.ipynb'))['cells'] if c['cell_type'] == 'code']
g = {'torch': torch}
for src in [c for c in cells if c.startswith('from fastcore.test import')] + [c for c in cells if c.startswith('#| gpu')][-1:]: exec(src, g)   # its imports, then it
") >"$OUT/nb05_gpu_cell.log" 2>&1
  echo "gpu cell rc $?" >>"$OUT/nb05_gpu_cell.log"; tail -25 "$OUT/nb05_gpu_cell.log"
fi
stamp done
