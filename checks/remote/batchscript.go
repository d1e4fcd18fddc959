package remote

import (
	"fmt"
	"strings"
)

// stepGrace is how long, under bash, a batch's command may run before the next one starts anyway.
const stepGrace = "0.2"

// batchScript is the program of a batch, run by the login shell itself. Under bash the commands
// cost the host what they cost in one ssh session (a fork and an exec each), and the batch one
// fork more: a runner, the process substitution that makes the pipe, which runs the commands one
// after another as a session's shell would (argv words as written, a script under sh -c), each
// with its own stdin (/dev/null) and its stdout and stderr in files, and tells each one's end
// through the pipe. Each command is claimed by creating a file under noclobber, so that a second
// runner, started when one command is slow, runs each of the others exactly once. The shell
// copies each command's output out as it ends, every line behind a |, each stream followed by a
// newline of the batch's own and a line that carries the nonce. The files are created under
// noclobber (never through a planted link), private, and removed at the end; the commands get
// the umask the shell had.
func batchScript(nonce string, cmds []Command) string {
	n := len(cmds)
	files := []string{`"$p.u"`}
	for i := range cmds {
		files = append(files, fmt.Sprintf(`"$p.%do" "$p.%de" "$p.%dc"`, i, i, i))
	}
	rm := "rm -rf " + strings.Join(files, " ") + ` ${q:+"$q"}`
	var b strings.Builder
	// The umask is read through a file (no command substitution, which forks), then files are
	// made private; true, not the special :, whose failed redirection would end the shell.
	b.WriteString("set +a; set -C\n" + batchPath(nonce))
	fmt.Fprintf(&b, "trap '%s' 0\numask >\"$p.u\" || exit 125\nread -r u <\"$p.u\"\numask 077\n", rm)
	for i := range cmds {
		fmt.Fprintf(&b, "true >\"$p.%do\" && true >\"$p.%de\" || exit 125\n", i, i)
	}
	// run N runs commands from index N on, one after another, each claimed first: it stops at
	// one another runner claimed (that runner, or a later one, does the rest). Its first, N, the
	// shell claims before starting it, and each next one it claims before it tells the end of the
	// one before: so every claim comes before an end the shell waits for, and once every end is
	// told no runner claims again and the files can go (a runner that claimed its first itself
	// could be scheduled late enough to find the files gone and run a command twice).
	b.WriteString(`umask "$u"
run() {
  i=$1
  while :; do
    case $i in
`)
	for i, c := range cmds {
		fmt.Fprintf(&b, "    %d) ( %s ) </dev/null >>\"$p.%do\" 2>>\"$p.%de\" 4>&- 5>&- ;;\n", i, c.execLine(), i, i)
	}
	fmt.Fprintf(&b, `    esac
    rc=$? i=$((i+1)) more=
    if [ "$i" -lt %d ] && true 2>/dev/null >"$p.${i}c"; then more=1; fi
    echo ":$((i-1)) $rc" >&5
    [ -n "$more" ] || return 0
  done
}
`, n)
	frame := func(copyOut func(file string) string) string {
		return fmt.Sprintf(`  printf '\036cutover-batch %[1]s %%s %%s\n' "$j" "$rc"
  if [ -s "$p.${j}o" ]; then %[2]s; fi; echo
  printf '\036cutover-stderr %[1]s\n'
  if [ -s "$p.${j}e" ]; then %[3]s; fi; echo
  printf '\036cutover-end %[1]s\n'
`, nonce, copyOut(`"$p.${j}o"`), copyOut(`"$p.${j}e"`))
	}
	// Under bash the first runner is the process substitution that makes the pipe (opened both
	// ways, so that later runners write to it too), and another starts, at the first unclaimed
	// command, whenever stepGrace passes with no end told while one is unclaimed: a hung command
	// delays the others by the grace, not by its timeout. Ends are read by bashEnded; output is
	// copied by mapfile, no process; once every end is told the shell becomes rm. Any other sh
	// (no read -t) starts a runner at each command at once and copies through sed.
	fmt.Fprintf(&b, `case ${BASH_VERSION-} in
[4-9].*)
true 2>/dev/null >"$p.0c" || exit 125
eval 'exec 5<> <(run 0 5>&1)'
%[6]s
n=0
while [ "$n" -lt %[1]d ]; do
  if ! ended; then
    k=0
    while [ "$k" -lt %[1]d ] && [ -e "$p.${k}c" ]; do k=$((k+1)); done
    if [ "$k" -lt %[1]d ] && true 2>/dev/null >"$p.${k}c"; then run "$k" & fi
    continue
  fi
%[3]s  n=$((n+1))
done
trap - 0
exec %[4]s
;;
*)
exec 4>&1
{ k=0; while [ "$k" -lt %[1]d ]; do if true 2>/dev/null >"$p.${k}c"; then run "$k" & fi; k=$((k+1)); done; wait; } 5>&1 | while read -r j rc; do
  j=${j#:}
%[5]sdone >&4
;;
esac
`, n, stepGrace, frame(func(f string) string { return "mapfile a <" + f + `; printf '|%s' "${a[@]}"` }), rm,
		frame(func(f string) string { return "LC_ALL=C sed 's/^/|/' " + f }), fmt.Sprintf(bashEnded, stepGrace))
	return b.String()
}

// bashEnded defines ended, which reads the next command's end line (":INDEX STATUS") from fd 5
// into j and rc, or returns 1 when none began within the grace (%s). Only the line's first byte
// is waited for with a timeout: the rest comes with it, and read -t on the whole line, timed out
// between two bytes on a loaded host, left half a line in the pipe for the next read to misread.
const bashEnded = `ended() {
  c=
  IFS= read -t %s -n 1 -r c <&5 || [ -n "$c" ] || return 1
  read -r j rc <&5 || exit 125
}`

// batchDir sets d, the directory a batch's files go in: TMPDIR if the host sets one, else the
// first writable of the user's runtime directory and /dev/shm (memory: files on a disk cost a
// host with 200 batches at once more than the commands in them), else /tmp.
const batchDir = `d=${TMPDIR-}
if [ -z "$d" ]; then
  for d in "${XDG_RUNTIME_DIR-}" /dev/shm /tmp; do [ -n "$d" ] && [ -d "$d" ] && [ -w "$d" ] && break; done
fi
`

// batchPath sets p, the path a batch's files start with, and q, what holds them. The user's
// runtime directory is the user's alone: the files go in it. Any other may be shared (a sticky
// /tmp): a user who can list it learns the batch's name, and a file made there before one of the
// batch's (a claim, say) would stop that command from ever running; so the files go in a
// directory of the batch's own, made 0700 (one fork and exec more; if the name is taken, the host
// runs the commands one by one).
func batchPath(nonce string) string {
	return batchDir + `q=
if [ -n "${XDG_RUNTIME_DIR-}" ] && [ "$d" = "$XDG_RUNTIME_DIR" ]; then
  p="$d/cutover.` + nonce + `"
else
  q="$d/cutover.` + nonce + `"
  mkdir -m 700 "$q" 2>/dev/null || exit 125
  p="$q/b"
fi
`
}

// batchCleanup removes what a batch killed before its own end left, in either layout.
func batchCleanup(nonce string) string {
	return batchDir + `rm -rf "$d/cutover.` + nonce + `" "$d/cutover.` + nonce + `".*`
}
