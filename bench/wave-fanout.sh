#!/usr/bin/env bash
# A wave's pre-check fan-out, cold, over real OpenSSH sshd on 127.0.0.1: 200 guests (host
# aliases over 13 sshd) × 6 pre-checks, cutover run (the wave's leading check-only step runs for
# every VM at once, --forks at a time) beside plain OpenSSH running all 6 commands in one session
# per host (xargs -P, the same parallelism), both with curve25519-sha256.
#
#   bench/wave-fanout.sh              the fleet from ../shared/bench/ansible-anchor.sh (started and
#                                     stopped here), RUNS=5 runs each, median
#   N=100 FORKS=100 RUNS=3 bench/wave-fanout.sh
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

# The six pre-checks, one command each: the same words for cutover and for OpenSSH.
C=("systemctl is-active ssh" "systemctl --failed --no-legend --plain" "ss -tulpnH"
   "journalctl -p err -b -o json -n 50" "date -u +%Y" "getent hosts localhost")
K=curve25519-sha256
B=$A/wave-fanout
rm -rf "$B"; mkdir -p "$B"
{
  while read -r name port; do
    printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  KexAlgorithms %s\n' "$name" "$port" "$A/keys/id_ed25519" "$K"
  done < "$A/hosts.txt"
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
  while read -r name _; do echo "            - $name"; done < "$A/hosts.txt"
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
ssh -F "$B/ssh_config" -o BatchMode=yes -o UserKnownHostsFile="$A/known_hosts" -o StrictHostKeyChecking=yes \
  -o ControlPath=none "\$1" '$(printf '%s; echo rc=$?; ' "${C[@]}")' > "$B/out/\$1" 2>&1
SH
chmod +x "$B/host.sh"

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
timeit() { # timeit CMD...: wall seconds of each of RUNS runs, one a line
  for _ in $(seq "$RUNS"); do
    local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; t1=$(date +%s.%N)
    awk "BEGIN {print $t1 - $t0}"
  done
}
cutover=("$CUTOVER_BIN" run "$B/runbooks.yaml" --plain --yes --forks "$FORKS" --transcript "$B/tr"
         --ssh-config "$B/ssh_config" --known-hosts "$A/known_hosts")
SSH_AUTH_SOCK= "${cutover[@]}" --ssh-timings > "$B/sample.log" 2>&1 || true
j=$(ls "$B"/tr/*.jsonl | head -1)
echo "sample run: $(grep -c '"type":"check"' "$j") checks journaled, $(grep -c '"type":"cmd"' "$j") commands; where its SSH time went:" >&2
sed -n '/^ssh timings:/,$p' "$B/sample.log" >&2
ssh_all() { rm -rf "$B/out"; mkdir -p "$B/out"; xargs -P "$FORKS" -L 1 "$B/host.sh" < "$A/hosts.txt"; }
c=$(SSH_AUTH_SOCK= timeit "${cutover[@]}" | median)
# A figure counts only if every run's every check passed (each command's exit is allowed).
bad=$(cat "$B"/tr/*.jsonl | grep '"type":"check"' | grep -vc '"outcome":"pass"' || true)
if [ "$bad" != 0 ]; then
  echo "FAIL: $bad checks did not pass in cutover's runs; the first:" >&2
  cat "$B"/tr/*.jsonl | grep '"type":"check"' | grep -v '"outcome":"pass"' | head -3 >&2
  exit 1
fi
o=$(timeit ssh_all | median)
echo "rc lines from OpenSSH: $(cat "$B"/out/* | grep -c '^rc=') (want $(( N * 6 )))" >&2
cat <<EOT

| $N guests × 6 pre-checks, cold, $K, $FORKS at once | median wall s of $RUNS |
|---|---|
| cutover run: the wave's pre-checks (journal fsynced) | $c |
| OpenSSH: 1 session per host running all 6, xargs -P $FORKS | $o |
EOT
echo "cutover / OpenSSH one-session: $(awk "BEGIN {printf \"%.2f\", $c / $o}")"
