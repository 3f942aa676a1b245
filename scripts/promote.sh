#!/usr/bin/env bash
# promote.sh CANDIDATE NAME: copy runs/candidates/CANDIDATE.{safetensors,json} to
# checkpoints/NAME.* (the card's name field is rewritten; the weights hash is unchanged).
set -euo pipefail
cd "$(dirname "$0")/.."
src=runs/candidates/$1; dst=checkpoints/$2
cp "$src.safetensors" "$dst.safetensors"
.venv/bin/python - "$src.json" "$dst.json" "$2" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
card["name"] = sys.argv[3]
open(sys.argv[2], "w").write(json.dumps(card, indent=1) + "\n")
PY
rm -f "$dst".analysis.*
echo "promoted $1 -> $dst"
