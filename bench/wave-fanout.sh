#!/usr/bin/env bash
# A wave's pre-check fan-out, cold, over real OpenSSH sshd on 127.0.0.1: 200 guests (host
# aliases over 13 sshd) × 6 pre-checks, cutover run (the wave's leading check-only step runs for
# every VM at once, --forks at a time) beside plain OpenSSH running all 6 commands in one session
# per host (xargs -P, the same parallelism), both with curve25519-sha256.
#
#   bench/wave-fanout.sh              the fleet from ../shared/bench/ansible-anchor.sh (started and
#                                     stopped here), RUNS=5 runs each, median
#   N=100 FORKS=100 RUNS=3 bench/wave-fanout.sh
#   ISOLATE=1 bench/wave-fanout.sh   every guest a machine of its own as far as processes go: an
#                                     sshd per alias, each PID 1 of its own PID and mount
#                                     namespaces (root), so ss -p and /proc on a guest see only
#                                     that guest's processes, as on separate hosts. Without it all
#                                     200 guests share one /proc: every ss -p walks every guest's
#                                     processes, and a client that keeps its 200 connections open
#                                     (cutover does, for the wave's later steps) pays for theirs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
ANCHOR=${ANCHOR:-$repo/../shared/bench/ansible-anchor.sh}
N=${N:-200}; FORKS=${FORKS:-100}; RUNS=${RUNS:-5}

if [ -z "${A:-}" ] || [ ! -f "${A:-/nonexistent}/hosts.txt" ]; then
  export CUTOVER_BIN=/tmp/cutover-wave-fanout-bin
  (cd "$repo" && go build -o "$CUTOVER_BIN" ./cmd/cutover)
  exec env N="$N" FORKS="$FORKS" RUNS="$RUNS" CUTOVER_BIN="$CUTOVER_BIN" N_HOSTS="$N" N_INST=$(( (N + 15) / 16 )) DEMO_PORT=$(( 2201 + N + 50 )) \
    bash "$ANCHOR" try "A=\$PWD bash $here/wave-fanout.sh"
fi

# The six pre-checks, one command each: the same words for cutover and for OpenSSH. The name
# lookup asks for IPv4 only: `getent hosts localhost` asks DNS for localhost's IPv6 address when
# /etc/hosts has none, and traffic leaves this machine for no address but loopback.
C=("systemctl is-active ssh" "systemctl --failed --no-legend --plain" "ss -tulpnH"
   "journalctl -p err -b -o json -n 50" "date -u +%Y" "getent ahostsv4 localhost")
K=curve25519-sha256
B=$A/wave-fanout
rm -rf "$B"; mkdir -p "$B"
HOSTS=$A/hosts.txt KH=$A/known_hosts
if [ "${ISOLATE:-}" = 1 ]; then
  I=$B/isolated; mkdir -p "$I"; : > "$I/hosts.txt"; : > "$I/known_hosts"
  pub=$(cut -d' ' -f1,2 "$A/keys/ssh_host_ed25519_key.pub")
  port=$(( ${ISOLATE_PORT:-3201} ))
  while read -r name _; do
    { grep -v -e '^ListenAddress' -e '^PidFile' "$A/sshd/sshd-0.conf"; echo "ListenAddress 127.0.0.1:$port"; echo "PidFile none"; } > "$I/$name.conf"
    unshare --pid --fork --mount-proc --kill-child /usr/sbin/sshd -D -f "$I/$name.conf" -E "$I/$name.log" &
    echo "$name $port" >> "$I/hosts.txt"; echo "[127.0.0.1]:$port $pub" >> "$I/known_hosts"
    port=$((port + 1))
  done < "$A/hosts.txt"
  # unshare ignores SIGTERM while it waits: stop each namespace's sshd, and the namespace ends
  trap 'for j in $(jobs -p); do pkill -P "$j"; done; wait' EXIT
  for _ in $(seq 100); do
    [ "$(ss -tlnH | grep -c "127.0.0.1:3[0-9][0-9][0-9] ")" -ge "$(wc -l < "$I/hosts.txt")" ] && break; sleep 0.1
  done
  HOSTS=$I/hosts.txt KH=$I/known_hosts
  echo "isolated: $(wc -l < "$HOSTS") sshd, each in its own PID namespace" >&2
fi
{
  while read -r name port; do
    printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  KexAlgorithms %s\n' "$name" "$port" "$A/keys/id_ed25519" "$K"
  done < "$HOSTS"
} > "$B/ssh_config"
{
  echo "version: 1"
  echo "runbooks:"
  echo "  - name: wave-fanout"
  echo "    steps:"
  echo "      - name: tier"
  echo "        wave:"
  echo "          max_failures: 100%   # the figure is the fan-out's time, whatever the checks find"
  echo "          items:"
  while read -r name _; do echo "            - $name"; done < "$HOSTS"
  echo "          steps:"
  echo "            - name: pre"
  echo "              gate: {on_fail: abort}"
  echo "              checks:"
  for c in "${C[@]}"; do  # argv words, as ssh's shell runs each: one process a command
    printf '                - {kind: command, host: vm, run: [%s], exit: [0, 1, 3, 4]}\n' "$(echo "$c" | sed 's/ /, /g')"
  done
  echo "            - name: done"
  echo "              command: {run: [true]}"
} > "$B/runbooks.yaml"
"$CUTOVER_BIN" validate "$B/runbooks.yaml" >/dev/null

cat > "$B/host.sh" <<SH
#!/bin/bash
# host.sh NAME PORT: the six commands in one ssh session, each one's exit status after it.
ssh -F "$B/ssh_config" -o BatchMode=yes -o UserKnownHostsFile="$KH" -o StrictHostKeyChecking=yes \
  -o ControlPath=none "\$1" '$(printf '%s; echo rc=$?; ' "${C[@]}")' > "$B/out/\$1" 2>&1
SH
chmod +x "$B/host.sh"

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
once() { # once CMD...: "WALL CPU" of one run: wall seconds and the machine's busy CPU seconds (/proc/stat)
  local t0 t1 c0 c1
  c0=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat); t0=$(date +%s.%N)
  "$@" > /dev/null 2>&1 || true
  t1=$(date +%s.%N); c1=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat)
  awk -v hz="$(getconf CLK_TCK)" "BEGIN {printf \"%.3f %.2f\\n\", $t1 - $t0, ($c1 - $c0) / hz}"
}
cutover=("$CUTOVER_BIN" run "$B/runbooks.yaml" --plain --yes --forks "$FORKS" --transcript "$B/tr"
         --ssh-config "$B/ssh_config" --known-hosts "$KH")
SSH_AUTH_SOCK= "${cutover[@]}" --ssh-timings > "$B/sample.log" 2>&1 || true
j=$(ls "$B"/tr/*.jsonl | head -1)
echo "sample run: $(grep -c '"type":"check"' "$j") checks journaled, $(grep -c '"type":"cmd"' "$j") commands; where its SSH time went:" >&2
sed -n '/^ssh timings:/,$p' "$B/sample.log" >&2
ssh_all() { rm -rf "$B/out"; mkdir -p "$B/out"; xargs -P "$FORKS" -L 1 "$B/host.sh" < "$HOSTS"; }
# The two alternate, run by run, so that a machine busier at one moment weighs on both.
for _ in $(seq "$RUNS"); do
  SSH_AUTH_SOCK= once "${cutover[@]}" >> "$B/times.cutover"
  once ssh_all >> "$B/times.openssh"
done
c=$(cut -d' ' -f1 "$B/times.cutover" | median) cc=$(cut -d' ' -f2 "$B/times.cutover" | median)
o=$(cut -d' ' -f1 "$B/times.openssh" | median) oc=$(cut -d' ' -f2 "$B/times.openssh" | median)
# A figure counts only if every run's every check passed (each command's exit is allowed).
bad=$(cat "$B"/tr/*.jsonl | grep '"type":"check"' | grep -vc '"outcome":"pass"' || true)
if [ "$bad" != 0 ]; then
  echo "FAIL: $bad checks did not pass in cutover's runs; the first:" >&2
  cat "$B"/tr/*.jsonl | grep '"type":"check"' | grep -v '"outcome":"pass"' | head -3 >&2
  exit 1
fi
echo "rc lines from OpenSSH: $(cat "$B"/out/* | grep -c '^rc=') (want $(( N * 6 )))" >&2
cat <<EOT

| $N guests × 6 pre-checks, cold, $K, $FORKS at once$( [ "${ISOLATE:-}" = 1 ] && echo ", each guest in its own PID namespace") | median wall s of $RUNS | median machine CPU s |
|---|---|---|
| cutover run: the wave's pre-checks (journal fsynced) | $c | $cc |
| OpenSSH: 1 session per host running all 6, xargs -P $FORKS | $o | $oc |
EOT
echo "cutover / OpenSSH one-session: $(awk "BEGIN {printf \"%.2f\", $c / $o}") wall, $(awk "BEGIN {printf \"%.2f\", $cc / $oc}") CPU"
# Each run beside the one just after it: the median of their ratios, which a machine that grows
# busier or quieter during the bench sways less.
echo "run by run (median of $RUNS ratios): $(paste -d' ' "$B/times.cutover" "$B/times.openssh" | awk '{print $1 / $3}' | median) wall, $(paste -d' ' "$B/times.cutover" "$B/times.openssh" | awk '{print $2 / $4}' | median) CPU"
