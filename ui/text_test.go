package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Wrapping keeps every word and every cell, and no line passes its width: whatever a host says.
func TestWrapKeepsEverythingWithinWidth(t *testing.T) {
	cases := []string{
		"",
		"step migrate: action relocate app-01 → esx-b-01: vCenter task task-74 failed: The vMotion failed because the destination host did not receive data from the source host on the vMotion network. (MigrationFault)",
		"curl: (7) Failed to connect to 10.20.0.15 port 443 after 0 ms: Couldn't connect to server",
		strings.Repeat("x", 130),
		"wide 漢字漢字漢字漢字漢字漢字 words and  double  spaces",
		"a\nb\n\nc",
	}
	for _, text := range cases {
		for _, w := range []int{1, 2, 7, 40, 120} {
			lines := para("› ✗ ", "    ", text, w+4, lipgloss.NewStyle())
			var got []string
			for i, l := range lines {
				if lw := ansi.StringWidth(l); lw > w+4 && !(w < 2 && strings.ContainsAny(l, "漢字")) {
					t.Errorf("w %d: line %d %q is %d wide", w, i, l, lw)
				}
				got = append(got, strings.TrimSpace(strings.TrimPrefix(l, "› ✗ ")))
			}
			squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if squash(strings.Join(got, " ")) != squash(text) {
				t.Errorf("w %d: wrapping lost text:\n%q\n%q", w, text, got)
			}
		}
	}
}
