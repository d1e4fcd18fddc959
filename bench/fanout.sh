#!/usr/bin/env bash
# The 4-check pre-check suite on 100 host aliases over real OpenSSH sshd on 127.0.0.1:
# cutover against Ansible (-f 100, no multiplexing) and plain OpenSSH (1 master + 4 multiplexed
# sessions per host, and 1 session running all 4, xargs -P 100), side by side on the same sshd
# fleet, all cold; the OpenSSH and Ansible rows with their default kex and with curve25519-sha256,
# the one cutover (x/crypto/ssh) negotiates.
#
#   bench/fanout.sh                 sets up the fleet with ansible-anchor.sh (installs ansible,
#                                   openssh-server, hyperfine), measures, tears everything down
#   RUNS=3 ANSIBLE_RUNS=1 bench/fanout.sh
#   ANCHOR=path/to/ansible-anchor.sh bench/fanout.sh
#
# The last line printed is the speed-up of cutover over Ansible.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
ANCHOR=${ANCHOR:-$repo/../shared/bench/ansible-anchor.sh}
RUNS=${RUNS:-5}
ANSIBLE_RUNS=${ANSIBLE_RUNS:-1}

if [ -z "${A:-}" ] || [ ! -f "${A:-/nonexistent}/hosts.txt" ]; then
  # Not yet inside the fleet: build cutover, then let the anchor start the fleet and call us back.
  export CUTOVER_BIN=/tmp/cutover-bench-bin
  (cd "$repo" && go build -o "$CUTOVER_BIN" ./cmd/cutover)
  exec env RUNS="$RUNS" ANSIBLE_RUNS="$ANSIBLE_RUNS" CUTOVER_BIN="$CUTOVER_BIN" \
    bash "$ANCHOR" try "A=\$PWD bash $here/fanout.sh"
fi

B=$A/cutover-bench
rm -rf "$B"; mkdir -p "$B"
{
  while read -r name port; do
    printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n' "$name" "$port" "$A/keys/id_ed25519"
  done < "$A/hosts.txt"
} > "$B/ssh_config"
{
  echo "version: 1"
  echo "runbooks:"
  echo "  - name: fanout"
  echo "    hosts:"
  while read -r name _; do echo "      $name: {address: $name}"; done < "$A/hosts.txt"
  echo "    steps:"
  echo "      - name: pre-checks"
  echo "        gate: {on_fail: ask}"
  echo "        checks:"
  while read -r name _; do
    echo "          - {kind: unit_active, host: $name, unit: ssh}"
    echo "          - {kind: no_failed_units, host: $name}"
    echo "          - {kind: listeners_baseline, host: $name, id: ports-$name}"
    echo "          - {kind: journal_baseline, host: $name, id: errs-$name}"
  done < "$A/hosts.txt"
} > "$B/runbooks.yaml"

cutover=("$CUTOVER_BIN" run "$B/runbooks.yaml" --plain --yes --forks 100 --transcript "$B/tr"
         --ssh-config "$B/ssh_config" --known-hosts "$A/known_hosts")
SSH_AUTH_SOCK= "${cutover[@]}" --ssh-timings > "$B/sample.log" 2>&1 || { tail -20 "$B/sample.log"; exit 1; }
echo "sample run: $(grep -c '^.* check ' "$B/sample.log") check lines, $(wc -l < "$(ls "$B"/tr/*.jsonl | head -1)") journal lines; where its SSH time went:" >&2
sed -n '/^ssh timings:/,$p' "$B/sample.log" >&2

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
timeit() { # timeit RUNS CMD...: wall seconds of each run, one a line
  local n=$1; shift
  for _ in $(seq "$n"); do
    local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; t1=$(date +%s.%N)
    awk "BEGIN {print $t1 - $t0}"
  done
}
rm -rf "$B/tr"
K=curve25519-sha256   # what x/crypto/ssh (cutover) negotiates with OpenSSH 9.2: the fair kex
c=$(SSH_AUTH_SOCK= timeit "$RUNS" "${cutover[@]}" | median)
m=$(timeit "$RUNS" "$A/loop.sh" mux4 100 | median)
mk=$(SSH_EXTRA_ARGS=-oKexAlgorithms=$K timeit "$RUNS" "$A/loop.sh" mux4 100 | median)
o=$(timeit "$RUNS" "$A/loop.sh" ssh1 100 | median)
ok=$(SSH_EXTRA_ARGS=-oKexAlgorithms=$K timeit "$RUNS" "$A/loop.sh" ssh1 100 | median)
a=$(ANSIBLE_CONFIG=$A/cfg/cold.cfg timeit "$ANSIBLE_RUNS" ansible-playbook "$A/precheck.yml" -f 100 | median)
ak=$(ANSIBLE_CONFIG=$A/cfg/cold.cfg ANSIBLE_SSH_EXTRA_ARGS=-oKexAlgorithms=$K timeit "$ANSIBLE_RUNS" ansible-playbook "$A/precheck.yml" -f 100 | median)
cat <<EOT

| 100 hosts, 4 pre-checks, cold                        | kex               | median wall s |
|------------------------------------------------------|-------------------|---------------|
| cutover run --forks 100 (journal fsynced)            | $K | $c |
| OpenSSH: 1 master + 4 mux sessions, xargs -P 100     | default           | $m |
| OpenSSH: 1 master + 4 mux sessions, xargs -P 100     | $K | $mk |
| OpenSSH: 1 session running all 4, xargs -P 100       | default           | $o |
| OpenSSH: 1 session running all 4, xargs -P 100       | $K | $ok |
| ansible-playbook -f 100 (no ControlPersist)          | default           | $a |
| ansible-playbook -f 100 (no ControlPersist)          | $K | $ak |
EOT
echo "cutover is $(awk "BEGIN {printf \"%.1f\", $ak / $c}")x faster than Ansible -f 100 (same kex), $(awk "BEGIN {printf \"%.2f\", $mk / $c}")x faster than the OpenSSH mux floor (same kex)"
