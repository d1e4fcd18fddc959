package report

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cutover/cutover/runbook/transcript"
)

// labReport is the report of a kept lab journal (testdata/lab: cutover lab --plain of each fault,
// a killed and resumed run, a two-person approval), verified against the allowed signers kept
// beside it.
func labReport(t *testing.T, name, allowed string) *Report {
	t.Helper()
	journal := filepath.Join("testdata", "lab", name+".jsonl")
	trust, err := transcript.LoadTrust(filepath.Join("testdata", "lab", allowed+".allowed_signers"), "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := transcript.Verify(journal, transcript.VerifyOptions{Trust: trust})
	if err != nil {
		t.Fatal(err)
	}
	events, err := transcript.ReadEvents(journal)
	if err != nil {
		t.Fatal(err)
	}
	return Build(journal, events, v)
}

var labCases = []struct{ name, allowed string }{
	{"clean", "clean"}, {"relocate-fails", "relocate-fails"}, {"ping-loss", "ping-loss"}, {"unit-down", "unit-down"},
	{"clock-skew", "clock-skew"}, {"trombone", "trombone"}, {"netbox-stale", "netbox-stale"}, {"slow-check", "slow-check"},
	{"resume", "resume"}, {"approval", "approval"}, {"approval", "approval-with-bob"},
}

// The report of each lab fault's journal, as the next shift reads it (golden files): its first
// screen, then what happened in order.
func TestLabReports(t *testing.T) {
	for _, c := range labCases {
		t.Run(c.allowed, func(t *testing.T) {
			r := labReport(t, c.name, c.allowed)
			var md strings.Builder
			if err := r.Markdown(&md); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("lab", c.allowed+".md"), []byte(md.String()))
		})
	}
}

// What the next shift must see, case by case.
func TestLabReportsSayWhatHappened(t *testing.T) {
	want := map[string][]string{
		"clean":             {"| outcome | **DONE** |", "| the VM now | app-01 on esx-b-01, proved by migrate / vm_on_host", "| trust | ✓ verified"},
		"relocate-fails":    {"**ROLLED-BACK**", "(MigrationFault)", "| the VM now | app-01 on esx-a-01, proved by migrate-back / vm_on_host"},
		"ping-loss":         {"breach: the gateway watch broke its gate: 2 packets lost, limit 1", "## Gateway watch, migrate-back: PASS"},
		"slow-check":        {"could not be checked (×2): timed out", "decision: asked \"step pre-checks:", "abort, because: systemctl hangs on app-01; calling the owner | trainee@lab |"},
		"netbox-stale":      {"**DONE (1 failure overridden)**", "| proceeded over | netbox-record (by --yes):"},
		"resume":            {"resume: resumed: continuing after pre-checks", "| second@lab |", "operators | trainee@lab, second@lab"},
		"approval":          {"| approved | migrate by SHA256:", "NOT ALLOWED: SHA256:", "approval: signed off by key SHA256:"},
		"approval-with-bob": {"| approved | migrate by SHA256:", ": signature verified |", "| trust | ✓ verified"},
	}
	for _, c := range labCases {
		r := labReport(t, c.name, c.allowed)
		var md strings.Builder
		r.Markdown(&md)
		text := strings.NewReplacer(`\_`, "_", `\[`, "[", `\]`, "]", `\<`, "<", `\>`, ">").Replace(md.String())
		for _, w := range want[c.allowed] {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the report lacks %q:\n%s", c.allowed, w, text)
			}
		}
		if strings.Contains(text, "BROKEN") {
			t.Errorf("%s: BROKEN in an intact journal's report", c.allowed)
		}
	}
}

// Markdown and HTML say the same: every first-screen fact, follow-up item and moment is in both.
func TestMarkdownAndHTMLSayTheSame(t *testing.T) {
	tags := regexp.MustCompile(`<[^>]+>`)
	unmd := strings.NewReplacer("**", "", `\\`, `\`, `\_`, `_`, `\*`, `*`, `\[`, `[`, `\]`, `]`, `\|`, `|`, `\<`, `<`, `\>`, `>`, `\#`, `#`, `\!`, `!`, `\~`, `~`, `\&`, `&`, "\\`", "`")
	for _, c := range labCases {
		r := labReport(t, c.name, c.allowed)
		var md, page strings.Builder
		r.Markdown(&md)
		r.HTML(&page)
		squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
		mdText := squash(unmd.Replace(md.String()))
		htmlText := squash(html.UnescapeString(tags.ReplaceAllString(page.String(), " ")))
		var facts []string
		for _, f := range r.Rows() {
			facts = append(facts, f.Label, f.Value)
		}
		facts = append(facts, r.OpenItems...)
		for _, m := range r.Moments {
			facts = append(facts, m.Kind+": "+m.Text)
		}
		for _, w := range r.Watches {
			facts = append(facts, w.Counts[1:])
		}
		for _, f := range facts {
			if f = squash(f); f == "" || f == "—" {
				continue
			}
			if !strings.Contains(mdText, f) || !strings.Contains(htmlText, f) {
				t.Errorf("%s: %q is in the Markdown %v, in the HTML %v", c.allowed, f, strings.Contains(mdText, f), strings.Contains(htmlText, f))
			}
		}
	}
}

func TestLabJournalsAreKept(t *testing.T) {
	for _, c := range labCases {
		if _, err := os.Stat(filepath.Join("testdata", "lab", c.name+".jsonl.sig")); err != nil {
			t.Error(err)
		}
	}
}
