#!/usr/bin/env bash
# Replay every trace in test/kernel/traces on the real kernel and record the outcomes.
#   sudo bash test/kernel/replay-all.sh            (from the repository root, or anywhere)
# Writes test/kernel/expected/<mode>/<trace-name>.json (kernel-replay.py's JSON: per-line
# outcome/held, and for overlay modes the upper-dir listing) for the modes overlay,
# overlay-redirect, overlay-metacopy and plain.  Exit status 0 even where a line does not hold
# (a trace meant for other modes, see README.md); the summary lists those lines.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOL=/work/shared/tools/kernel-replay.py
IMAGE="$HERE/unionmount-lower.tar"
MODES="${MODES:-overlay overlay-redirect overlay-metacopy plain}"
if [ "$(id -u)" != 0 ]; then echo "replay-all.sh: must run as root" >&2; exit 2; fi
cd "$HERE"
for mode in $MODES; do
    mkdir -p "expected/$mode"
    rm -f "expected/$mode"/*.json
    for tr in traces/*.jsonl; do
        name="$(basename "$tr" .jsonl)"
        # trace path relative to test/kernel so the recorded "trace" field is stable
        python3 "$TOOL" --mode "$mode" --image unionmount-lower.tar --out "expected/$mode/$name.json" "$tr"
        rc=$?
        if [ $rc -gt 1 ]; then echo "replay-all.sh: $mode $tr: tool failed ($rc)" >&2; exit 2; fi
    done
done
if mount | grep -q layersim; then echo "replay-all.sh: mounts left behind:" >&2; mount | grep layersim >&2; exit 2; fi
python3 - "$MODES" <<'PY'
import glob, json, os, sys
for mode in sys.argv[1].split():
    bad = []
    for f in sorted(glob.glob("expected/%s/*.json" % mode)):
        d = json.load(open(f))
        n = sum(1 for r in d["results"] if r["held"] is False)
        if n:
            bad.append("%s(%d)" % (os.path.basename(f)[:-5], n))
    print("%-17s lines not holding: %s" % (mode, " ".join(bad) or "none"))
PY
