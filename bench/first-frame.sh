#!/usr/bin/env bash
# Time from starting `cutover lab` to its console's first frame (the header and the step list
# drawn), measured on the real binary in a 200×50 tmux pane, median of RUNS (default 5). The
# clock starts when tmux is asked to start the binary, so tmux's own start is included.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
RUNS=${RUNS:-5}
work=$(mktemp -d); sock=cutover-ff-$$
trap 'tmux -L $sock kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/cutover" ./cmd/cutover)
cp "$repo/runbooks.yaml" "$work/"
tmux -L $sock new-session -d -s idle -x 200 -y 50   # the tmux server is up before the clock starts
times=()
for i in $(seq "$RUNS"); do
  t0=$(date +%s%N)
  tmux -L $sock new-window -d -t idle -n "r$i" "cd $work && exec $work/cutover lab --transcript tr-$i"
  until tmux -L $sock capture-pane -p -t "idle:r$i" 2>/dev/null | grep -q "pre-checks"; do
    [ $(( $(date +%s%N) - t0 )) -gt 20000000000 ] && { echo "no frame in 20 s" >&2; exit 1; }
  done
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  tmux -L $sock kill-window -t "idle:r$i"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "lab time to first frame: median %d ms of %d runs (min %d, max %d)\n", a[int((NR+1)/2)], NR, a[1], a[NR]}'
