#!/usr/bin/env bash
# CPU of the console over a 60 s lab migration with a 10 Hz gateway graph, measured on the real
# binary in a 200×50 tmux pane. The process includes the embedded lab (vCenter simulator, SSH
# hosts, the ping they answer), so the figure is an upper bound for the console itself.
#   bench/console-cpu.sh            (RELOCATE=60s by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
RELOCATE=${RELOCATE:-60s}
work=$(mktemp -d); sock=cutover-bench-$$
trap 'tmux -L $sock kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/cutover" ./cmd/cutover)
sed -e 's/interval: 200ms, settle: 5s/interval: 100ms, settle: 5s/' "$repo/runbooks.yaml" > "$work/runbooks.yaml"
tmux -L $sock new-session -d -s bench -x 200 -y 50 \
  "cd $work && $work/cutover lab --file runbooks.yaml --yes --relocate-time $RELOCATE --transcript tr; sleep 600"
for _ in $(seq 100); do pid=$(pgrep -f "^$work/cutover lab" | head -1 || true); [ -n "$pid" ] && break; sleep 0.1; done
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }
t0=$(date +%s.%N); c0=$(ticks)
while kill -0 "$pid" 2>/dev/null && ! tmux -L $sock capture-pane -p -t bench | grep -q "run ended"; do sleep 0.5; done
t1=$(date +%s.%N); c1=$(ticks)
tmux -L $sock capture-pane -p -t bench > "$work/screen.txt"
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" 'BEGIN {
  wall = t1 - t0; cpu = (c1 - c0) / hz
  printf "wall %.1f s, cpu %.2f s: %.2f%% of one core (console + embedded lab)\n", wall, cpu, 100 * cpu / wall }'
