package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/checks/remote"
)

// DefaultFailOn is what journal_unit looks for when a step names no patterns.
var DefaultFailOn = regexp.MustCompile(`(?i)\b(error|failed|failure|fatal|panic|segfault|denied|refused|timed out)\b`)

// noJournal says why journalctl output cannot be trusted to show anything.
func noJournal(o output) (string, bool) {
	if why, bad := o.unusable(); bad {
		return why, true
	}
	for _, l := range o.stderr { // stdout holds the journal's own entries: any text at all
		switch {
		case strings.Contains(l, "No journal files were found"):
			return "no journal on this host (journalctl: No journal files were found)", true
		case strings.HasPrefix(l, journalHidden):
			u := strings.TrimSpace(strings.TrimPrefix(l, journalHidden))
			return fmt.Sprintf("journalctl as %[1]s shows only %[1]s's own entries, not the system's: add %[1]s to group systemd-journal (usermod -aG systemd-journal %[1]s) or log in as root", u), true
		case strings.Contains(l, "You are currently not seeing messages from other users and the system"):
			return "journalctl sees only this user's messages: run as root or in group adm / systemd-journal", true
		case strings.Contains(l, noBootEntries):
			return "the journal holds nothing for the current boot (no journal, or journald is not running)", true
		case strings.Contains(l, "Failed to seek to cursor"), strings.Contains(l, "Failed to parse cursor"):
			return "journalctl could not find the baseline's position: " + strings.TrimSpace(l), true
		}
	}
	if o.exit != 0 {
		return fmt.Sprintf("journalctl exited %d", o.exit), true
	}
	return "", false
}

// JournalUnit passes when none of a unit's last log lines matches the fail patterns.
type JournalUnit struct {
	Unit   string
	Lines  int              // how many recent lines to read (default 200)
	FailOn []*regexp.Regexp // default DefaultFailOn
}

// Run reads the unit's recent journal.
func (j JournalUnit) Run(ctx context.Context, env Env) Result {
	n := j.Lines
	if n <= 0 {
		n = 200
	}
	o := runHere(ctx, env, sh(journalVisible+"exec "+remote.Join([]string{"journalctl", "-u", j.Unit, "-n", fmt.Sprint(n), "--no-pager", "-o", "short-iso"})))
	if why, bad := noJournal(o); bad {
		return inconclusive(why, tail(o.stderr, 5)...)
	}
	pats := j.FailOn
	if len(pats) == 0 {
		pats = []*regexp.Regexp{DefaultFailOn}
	}
	hits := MatchLines(o.stdout, pats)
	lines := 0
	for _, l := range o.stdout {
		if !strings.HasPrefix(l, "-- ") {
			lines++
		}
	}
	if len(hits) == 0 {
		return pass(fmt.Sprintf("%d recent %s log lines, none matching", lines, j.Unit))
	}
	return fail(fmt.Sprintf("%d of the last %d %s log lines match: %s", len(hits), lines, j.Unit, hits[len(hits)-1]), tail(hits, 10)...)
}

// MatchLines returns the log lines (not journalctl's "-- ..." notes) matching any pattern.
func MatchLines(lines []string, pats []*regexp.Regexp) []string {
	var hits []string
	for _, l := range lines {
		if strings.HasPrefix(l, "-- ") {
			continue
		}
		for _, p := range pats {
			if p.MatchString(l) {
				hits = append(hits, l)
				break
			}
		}
	}
	return hits
}

// JournalEntry is one entry of journalctl -o json.
type JournalEntry struct {
	Cursor     string
	Identifier string // SYSLOG_IDENTIFIER, else the unit, else the command name
	Message    string
	Time       time.Time // __REALTIME_TIMESTAMP; zero when absent
	PID        string    // _PID (or SYSLOG_PID)
}

// Said is who logged the entry, with its PID, and what, as logged.
func (e JournalEntry) Said() string {
	who := e.Identifier
	if e.PID != "" {
		who += "[" + e.PID + "]"
	}
	return who + ": " + e.Message
}

// Line is the entry as journalctl -o short-iso shows it, to the microsecond.
func (e JournalEntry) Line() string {
	if e.Time.IsZero() {
		return e.Said()
	}
	return e.Time.UTC().Format("2006-01-02T15:04:05.000000Z") + " " + e.Said()
}

// Key is the entry's identity across occurrences: who logged it and the message with numbers,
// addresses and ids folded, so "connection 4711 refused" and "connection 4712 refused" are one.
func (e JournalEntry) Key() string { return e.Identifier + ": " + NormalizeMessage(e.Message) }

var (
	uuidRe = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	hexRe  = regexp.MustCompile(`(?i)\b(0x[0-9a-f]+|[0-9a-f]{8,})\b`)
	numRe  = regexp.MustCompile(`[0-9]+`)
)

// NormalizeMessage folds the parts of a log message that differ between occurrences.
func NormalizeMessage(m string) string {
	m = uuidRe.ReplaceAllString(m, "<uuid>")
	m = hexRe.ReplaceAllString(m, "<hex>")
	m = numRe.ReplaceAllString(m, "#")
	return strings.Join(strings.Fields(m), " ")
}

// ParseJournalJSON reads journalctl -o json lines. MESSAGE may be a string, an array of bytes
// (binary or invalid UTF-8) or null.
func ParseJournalJSON(lines []string) ([]JournalEntry, error) {
	var out []JournalEntry
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			return nil, fmt.Errorf("journal line %d: %w", i+1, err)
		}
		e := JournalEntry{Cursor: jsonString(raw["__CURSOR"]), Message: jsonString(raw["MESSAGE"]), PID: jsonString(raw["_PID"])}
		if e.PID == "" {
			e.PID = jsonString(raw["SYSLOG_PID"])
		}
		if us, err := strconv.ParseInt(jsonString(raw["__REALTIME_TIMESTAMP"]), 10, 64); err == nil && us > 0 {
			e.Time = time.UnixMicro(us)
		}
		for _, f := range []string{"SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT", "_COMM"} {
			if e.Identifier = jsonString(raw[f]); e.Identifier != "" {
				break
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func jsonString(r json.RawMessage) string {
	if len(r) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(r, &s) == nil {
		return s
	}
	var b []byte
	var ints []int
	if json.Unmarshal(r, &ints) == nil {
		for _, i := range ints {
			b = append(b, byte(i))
		}
		return strings.ToValidUTF8(string(b), "?")
	}
	return ""
}

// journalHidden starts the line journalVisible prints when the login user cannot read the system
// journal. journalctl then answers with that user's own entries only, exit 0: with -o json, -o cat
// or -u it gives no hint, so a baseline and a comparison made from it would be blind to every
// system error (a silent pass).
const journalHidden = "cutover: the system journal is hidden from "

// journalVisible stops a script unless the login user sees the system journal: journalctl's own
// verdict (its hint, given only with -o short), and the system journal files' readability for
// versions that give no hint.
const journalVisible = `cutover_u=$(id -un); ` +
	`case $(journalctl -b -n 1 -o short --no-pager 2>&1 >/dev/null) in *"not seeing messages from other users"*) echo "` + journalHidden + `$cutover_u" >&2; exit 4;; esac; ` +
	`for cutover_f in /var/log/journal/*/system.journal /run/log/journal/*/system.journal; do ` +
	`[ ! -e "$cutover_f" ] || [ -r "$cutover_f" ] || { echo "` + journalHidden + `$cutover_u" >&2; exit 4; }; done; `

// noBootEntries is what the journal_baseline script says when the current boot has no entries at
// all: a booted system always logs, so an empty answer would otherwise read as "no errors".
const noBootEntries = "cutover: no journal entries for the current boot"

// cursorMark starts the baseline line that holds the journal position it was taken at.
const cursorMark = "#cursor "

// JournalErrors records this boot's error-priority entries as a baseline, or, with a baseline,
// reports errors logged since it that were not already there.
type JournalErrors struct {
	Baseline string
	// Ignore are the runbook's own rules for errors a comparison does not count (matched against
	// "identifier: message" as logged). Ignored entries still show in the evidence: never silent.
	Ignore []*regexp.Regexp
}

// ignored tells which rule, if any, lets e pass.
func (j JournalErrors) ignored(e JournalEntry) *regexp.Regexp {
	for _, re := range j.Ignore {
		if re.MatchString(e.Identifier + ": " + e.Message) {
			return re
		}
	}
	return nil
}

// Run reads journalctl -p err -b (after the baseline's position, when comparing).
func (j JournalErrors) Run(ctx context.Context, env Env) Result {
	args := []string{"journalctl", "-p", "err", "-b", "-o", "json", "--no-pager"}
	var known map[string]bool
	if j.Baseline != "" {
		base, ok := env.Baselines.Baseline(j.Baseline)
		if !ok {
			return inconclusive(fmt.Sprintf("baseline %q was not recorded", j.Baseline))
		}
		known = map[string]bool{}
		for _, b := range base {
			if cur, ok := strings.CutPrefix(b, cursorMark); ok && cur != "" {
				args = append(args, "--after-cursor", cur)
			} else {
				known[b] = true
			}
		}
	}
	script := journalVisible + `journalctl -b -n 1 -o cat --no-pager | grep -q . || { echo '` + noBootEntries + `' >&2; exit 3; }; exec ` + remote.Join(args)
	o := runHere(ctx, env, sh(script))
	if why, bad := noJournal(o); bad {
		return inconclusive(why, tail(o.stderr, 5)...)
	}
	entries, err := ParseJournalJSON(o.stdout)
	if err != nil {
		return inconclusive("cannot read journalctl output: " + err.Error())
	}
	var skipped []string // entries the runbook's ignore rules let pass, as logged
	if j.Baseline != "" && len(j.Ignore) > 0 {
		kept := entries[:0:0]
		for _, e := range entries {
			if re := j.ignored(e); re != nil && !known[e.Key()] {
				skipped = append(skipped, fmt.Sprintf("ignored by rule /%s/: %s", re, e.Line()))
				continue
			}
			kept = append(kept, e)
		}
		entries = kept
	}
	keys := map[string]int{}
	seen := map[string][]string{} // key → the entries as logged, the first few
	said := map[string]string{}   // key → its first entry, for the summary
	var order []string
	cursor := ""
	for _, e := range entries {
		k := e.Key()
		if keys[k] == 0 {
			order = append(order, k)
		}
		keys[k]++
		if said[k] == "" {
			said[k] = e.Said()
		}
		if len(seen[k]) < shownPerError {
			seen[k] = append(seen[k], e.Line())
		}
		cursor = e.Cursor
	}
	if j.Baseline == "" {
		base := append([]string{cursorMark + cursor}, order...)
		slices.Sort(base[1:])
		r := pass(fmt.Sprintf("%d error entries this boot (%d distinct) recorded as the baseline", len(entries), len(order)), tail(order, 10)...)
		r.Baseline = base
		return r
	}
	// The evidence groups what is new by its normalised key, and under each shows the entries as
	// they were logged (time, PID, addresses): what a person needs to follow it up.
	var fresh, evidence []string
	for _, k := range order {
		if known[k] {
			continue
		}
		fresh = append(fresh, k)
		if len(fresh) > 20 {
			continue
		}
		evidence = append(evidence, fmt.Sprintf("new ×%d: %s", keys[k], k))
		for _, l := range seen[k] {
			evidence = append(evidence, "  "+l)
		}
	}
	if len(fresh) > 20 {
		evidence = append(evidence, fmt.Sprintf("… and %d more", len(fresh)-20))
	}
	evidence = append(evidence, tail(skipped, 20)...)
	if len(fresh) == 0 {
		r := pass(fmt.Sprintf("no new errors since the baseline (%d entries since, all seen before)", len(entries)), evidence...)
		if len(skipped) > 0 {
			r.Summary = fmt.Sprintf("no new errors since the baseline but %d the runbook ignores (%d entries since, all seen before)", len(skipped), len(entries))
		}
		return r
	}
	first := said[fresh[0]]
	if n := keys[fresh[0]]; n > 1 {
		first += fmt.Sprintf(" (×%d)", n)
	}
	return fail(fmt.Sprintf("%d new error(s) since the baseline: %s", len(fresh), first), evidence...)
}

// shownPerError is how many entries of one new error the evidence shows as logged.
const shownPerError = 3
