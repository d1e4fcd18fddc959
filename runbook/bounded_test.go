package runbook

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What cannot be a runbook is refused with a position, or early: NUL bytes, control characters
// and invalid UTF-8 get file:line:column; an endless or huge input is not read past 8 MiB.
func TestBoundedInput(t *testing.T) {
	dir := t.TempDir()
	head := "version: 1\nrunbooks:\n  - name: x\n    steps:\n      - name: a\n"
	for name, tt := range map[string]struct{ body, want string }{
		"nul":     {head + "        command: {run: \"echo \x00\"}\n", "nul:6:30: NUL byte"},
		"bell":    {head + "        command: {run: \"echo \x07\"}\n", "bell:6:30: control character U+0007"},
		"utf8":    {head + "        command: {run: \"é \xff\"}\n", "utf8:6:27: invalid UTF-8 (byte 0xff)"},
		"escape":  {head + "        command: {run: \"\x1b[2J\"}\n", "escape:6:25: control character U+001B"},
		"fine":    {head + "        command: {run: \"echo ✓\"}\n", ""},
		"bom-ok":  {"\ufeff" + head + "        command: {run: \"echo\"}\n", ""},
		"bom-mid": {head + "        command: {run: \"\ufeff\"}\n", "bom-mid:6:25: byte order mark inside the file"},
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(tt.body), 0o600)
		_, err := Load(path)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
	}
	start := time.Now()
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "more than 8 MiB") {
		t.Errorf("/dev/zero: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("/dev/zero took %s", d)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml: no such file") {
		t.Errorf("missing: %v", err)
	}
	// A problem on every line is reported as the first hundred and a count.
	var b strings.Builder
	b.WriteString(head)
	for i := range 5000 {
		fmt.Fprintf(&b, "        k%d: 1\n", i)
	}
	path := filepath.Join(dir, "keys")
	os.WriteFile(path, []byte(b.String()), 0o600)
	_, err := Load(path)
	if es, ok := err.(Errors); !ok || len(es) != shownErrors+1 || !strings.Contains(es[len(es)-1].Msg, "more problems not shown") {
		t.Errorf("many problems: %d errors", len(es))
	}
}

// BenchmarkParseLarge parses an 8 MB runbook of 137,000 steps: time and allocation must grow
// linearly with the file (see BENCHMARKS.md).
func BenchmarkParseLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: 1\nrunbooks:\n  - name: big\n    steps:\n")
	for i := 0; sb.Len() < 8_000_000; i++ {
		fmt.Fprintf(&sb, "      - name: s%d\n        command: {run: \"echo %d\"}\n", i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("big.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
