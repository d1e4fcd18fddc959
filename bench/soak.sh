#!/usr/bin/env bash
# Soak: RSS of the real binary (console in a 200×50 tmux pane, embedded lab included) over a long
# change window. Time is compressed honestly: the gateway watch pings every 25 ms instead of the
# seed's 200 ms, so 30 minutes produce the 72,000 samples (graph, monitor, journal) of a 4-hour
# window at 5 pings/s; timers and the wall clock are not compressed.
#   bench/soak.sh                 (SOAK_MINUTES=30 by default; RSS every 30 s to $OUT)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
SOAK_MINUTES=${SOAK_MINUTES:-30}
OUT=${OUT:-/dev/stderr}
work=$(mktemp -d); sock=cutover-soak-$$
trap 'tmux -L $sock kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/cutover" ./cmd/cutover)
sed -e "s/interval: 200ms, settle: 5s/interval: 25ms, settle: ${SOAK_MINUTES}m/" "$repo/runbooks.yaml" > "$work/runbooks.yaml"
grep -q "settle: ${SOAK_MINUTES}m" "$work/runbooks.yaml"
# gctrace: after each GC the runtime logs the live heap, which tells a leak from RSS noise.
tmux -L $sock new-session -d -s soak -x 200 -y 50 \
  "cd $work && GODEBUG=gctrace=1 $work/cutover lab --file runbooks.yaml --yes --transcript tr 2> gctrace; sleep 600"
for _ in $(seq 100); do pid=$(pgrep -f "^$work/cutover lab" | head -1 || true); [ -n "$pid" ] && break; sleep 0.1; done
[ -n "$pid" ] || { echo "soak: cutover did not start" >&2; exit 1; }
rss() { awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK); c0=$(awk '{print $14 + $15}' /proc/$pid/stat)
start=$(date +%s); first=""; peak=0; last=0; n=0
echo "minute,rss_kb,journal_bytes" > "$OUT"
while kill -0 "$pid" 2>/dev/null && ! tmux -L $sock capture-pane -p -t soak | grep -q "run ended"; do
  r=$(rss); now=$(date +%s)
  if [ "$r" -gt 0 ]; then
    last=$r; [ "$r" -gt "$peak" ] && peak=$r
    # the first sample after the migration started is the baseline: the run is fully up
    if [ $((now - start)) -ge 30 ] && [ -z "$first" ]; then first=$r; fi
    j=$(stat -c %s "$work"/tr/*.jsonl 2>/dev/null || echo 0)
    echo "$(awk -v s=$((now - start)) 'BEGIN {printf "%.1f", s/60}'),$r,$j" >> "$OUT"
  fi
  n=$((n + 1)); sleep 30
done
c1=$(awk '{print $14 + $15}' /proc/$pid/stat 2>/dev/null || echo "$c0"); end=$(date +%s)
samples=$(grep -o '"type":"ping"' "$work"/tr/*.jsonl | wc -l)
tmux -L $sock capture-pane -p -t soak | grep -q "run ended: done" || { echo "soak: the run did not end done" >&2; tmux -L $sock capture-pane -p -t soak >&2; exit 1; }
# live heap after GC (gctrace's "A->B->C MB": C), averaged over the first and the last sixth of the GCs
live() { grep -o -- '->[0-9]* MB' "$work/gctrace" | tr -dc '0-9\n' ; }
gcs=$(live | wc -l)
heap=$(live | awk -v n="$gcs" '{a[NR]=$1} END {k=int(n/6); if (k<1) k=1; for(i=1;i<=k;i++){f+=a[i]; l+=a[n-k+i]} printf "live heap after GC %.1f MB in the first sixth of %d GCs, %.1f MB in the last", f/k, n, l/k}')
echo "$heap" >&2
awk -v f="$first" -v p="$peak" -v l="$last" -v m="$SOAK_MINUTES" -v w=$((end - start)) -v c0="$c0" -v c1="$c1" -v hz="$hz" 'BEGIN {
  printf "soak %.0f min (≈ %.1f h of 5 pings/s): RSS %.1f MB after 30 s, peak %.1f MB, end %.1f MB (growth %.1f MB); CPU %.1f%% of one core\n",
    w / 60, m * 8 / 60, f / 1024, p / 1024, l / 1024, (l - f) / 1024, 100 * (c1 - c0) / hz / w }'
