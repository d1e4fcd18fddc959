#!/usr/bin/env bash
# Issue 21's scale figures, side by side in one run, with the lab in a process of its own
# (cutover lab --serve) so that every figure is cutover's alone:
#   1. a 200-VM wave headless, batches of 20, 1 s vMotions, two VMs failing: wall time, how much
#      of it a vMotion or its settle was in flight (from the journal), cutover's peak RSS and CPU,
#      the lab's CPU beside it;
#   2. the same wave in the console, a real 200×50 terminal (tmux) on the wave view: its CPU;
#   3. the wave view's frame time (go test -bench WaveRender).
#   bench/wave-scale.sh                 VMS=200 SERIAL=20 RELOCATE=1s by default
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
VMS=${VMS:-200}; SERIAL=${SERIAL:-20}; RELOCATE=${RELOCATE:-1s}
work=$(mktemp -d); sock=cutover-wave-$$
lab_pid=
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  [ -n "$lab_pid" ] && kill -INT "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
bin=$work/cutover
(cd "$repo" && go build -o "$bin" ./cmd/cutover)
fail1=$(printf 'app-%03d' 17); fail2=$(printf 'app-%03d' 123)
[ "$VMS" -lt 100 ] && fail1=$(printf "app-%02d" $(( VMS / 3 + 1 ))) && fail2=$(printf "app-%02d" $(( VMS * 2 / 3 + 1 )))
"$bin" lab --print-runbook --vms "$VMS" | sed -e "s/serial: [0-9]*/serial: $SERIAL/" > "$work/wave.yaml"
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# serve starts a lab for the wave (VMs on SITE-A, one vMotion failing, one losing 3 pings) and
# waits for its variables file.
serve() {
  rm -f "$work/lab.env"
  "$bin" lab --serve "$work/lab.env" --file "$work/wave.yaml" --relocate-time "$RELOCATE" \
    --fault "relocate-fails@$fail1" --fault "ping-loss=3@$fail2" stretched-vlan-wave > "$work/lab.log" 2>&1 &
  lab_pid=$!
  for _ in $(seq 1200); do
    [ -f "$work/lab.env" ] && grep -q "lab: serving" "$work/lab.log" && return
    kill -0 "$lab_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/lab.log"; exit 1
}
stop_lab() { kill -INT "$lab_pid"; wait "$lab_pid" || true; lab_pid=; }
# run.sh [time FILE] ARGS...: cutover run of the wave against the served lab.
cat > "$work/run.sh" <<SH
#!/usr/bin/env bash
. "$work/lab.env"
pre=()
[ "\$1" = time ] && pre=(/usr/bin/time -v -o "\$2") && shift 2
exec "\${pre[@]}" "$bin" run "$work/wave.yaml" stretched-vlan-wave --yes --ssh-config "\$CUTOVER_LAB_SSH_CONFIG" \\
  --known-hosts "\$CUTOVER_LAB_KNOWN_HOSTS" --sign-key "\$CUTOVER_LAB_SIGN_KEY" "\$@"
SH
chmod +x "$work/run.sh"

# 1. headless
serve
lab_c0=$(ticks "$lab_pid")
set +e
"$work/run.sh" time "$work/time.txt" --plain --transcript "$work/tr1" > "$work/run1.log" 2>&1
code=$?
set -e
lab_c1=$(ticks "$lab_pid")
stop_lab
journal=$(ls "$work"/tr1/*.jsonl)
python3 - "$journal" "$work/time.txt" "$code" "$(( lab_c1 - lab_c0 ))" "$hz" <<'PY'
import json, sys, re
from datetime import datetime
journal, timef, code, lab_ticks, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
busy, first, last, moved, back = [], None, None, 0, 0
starts = {}
for line in open(journal):
    e = json.loads(line)
    ts = t(e["time"]); first = first or ts; last = ts
    d, step = e.get("data") or {}, e.get("step", "")
    if e["type"] == "migrate" and d.get("phase") == "start":
        starts[step] = ts
    if e["type"] == "watch" and d.get("phase") == "end" and step in starts:
        busy.append((starts.pop(step), ts))      # the vMotion and its settle
    if e["type"] == "wave.item":
        moved += d.get("status") == "moved"; back += d.get("status") == "rolled back"
busy.sort(); covered, end = 0.0, None
for a, b in busy:
    if end is None or a > end: covered += b - a; end = b
    elif b > end: covered += b - end; end = b
tv = open(timef).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1)) / 1024
wall = last - first
cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", tv))
print(f"1. headless, exit {code}: run {wall:.1f} s, {moved} moved, {back} rolled back; a vMotion or its settle in flight {100*covered/wall:.0f}% of it")
print(f"   cutover alone: peak RSS {rss:.1f} MB, CPU {cpu:.1f} s = {100*cpu/wall:.1f}% of one core; the lab beside it: {100*lab_ticks/hz/wall:.1f}% of one core")
PY

# 2. the console, on the wave view
serve
tmux -L "$sock" new-session -d -s wave -x 200 -y 50 \
  "cd $work && ./run.sh --transcript tr2; sleep 600"
pid=
for _ in $(seq 200); do pid=$(pgrep -f "^$bin run $work/wave.yaml" | head -1 || true); [ -n "$pid" ] && break; sleep 0.1; done
for _ in $(seq 100); do tmux -L "$sock" capture-pane -p -t wave | grep -q "cutover ·" && break; sleep 0.1; done
for _ in $(seq 600); do # v once the wave has started (before it, the console says there is none yet)
  tmux -L "$sock" capture-pane -p -t wave | grep -q " VMs: " && break
  tmux -L "$sock" send-keys -t wave v; sleep 0.5
done
t0=$(date +%s.%N); c0=$(ticks "$pid")
while kill -0 "$pid" 2>/dev/null && ! tmux -L "$sock" capture-pane -p -t wave | grep -q "run ended"; do sleep 0.5; done
t1=$(date +%s.%N); c1=$(ticks "$pid")
tmux -L "$sock" capture-pane -p -t wave > "$work/screen.txt"
stop_lab
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" 'BEGIN {
  wall = t1 - t0; cpu = (c1 - c0) / hz
  printf "2. console on the wave view, 200x50 tmux: %.1f s, cpu %.2f s = %.1f%% of one core (engine and console; the lab apart)\n", wall, cpu, 100 * cpu / wall }'
grep -q "VMs:" "$work/screen.txt" || { echo "the wave view did not show:"; cat "$work/screen.txt"; exit 1; }

# 3. the frame
echo "3. $(cd "$repo" && go test -run X -bench WaveRender -benchtime 200x ./ui/ | grep -o 'BenchmarkWaveRender.*')"
