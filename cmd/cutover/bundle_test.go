package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readTar lists a bundle's entries.
func readTar(t *testing.T, path string) ([]*tar.Header, [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var hs []*tar.Header
	var data [][]byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, data
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		hs, data = append(hs, h), append(data, b)
	}
}

func writeTar(t *testing.T, path string, hs []*tar.Header, data [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for i, h := range hs {
		h.Size = int64(len(data[i]))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(data[i])
		}
	}
	tw.Close()
	gz.Close()
	os.WriteFile(path, buf.Bytes(), 0o644)
}

// The export bundle round-trips: what report --bundle writes, verify checks whole against the
// allowed signers the operator names (never the copy inside); any change to it fails.
func TestBundleRoundTrips(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	code, out, errs, _, journal := labRun(t, "../../runbooks.yaml", "", "--yes", "--fault", "netbox-stale")
	if code != 0 {
		t.Fatalf("lab: %d\n%s\n%s", code, out, errs)
	}
	allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	bundle := filepath.Join(t.TempDir(), "CHG-1234.tar.gz")
	if code, out, errs := cli(t, "", "report", journal, "--allowed-signers", allowed, "--bundle", bundle); code != 0 || !strings.Contains(out, "cutover verify "+bundle) {
		t.Fatalf("report --bundle: %d %s %s", code, out, errs)
	}
	hs, data := readTar(t, bundle)
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
	}
	base := filepath.Base(journal)
	for _, want := range []string{"MANIFEST", base, base + ".sig", "allowed_signers", "report.md", "report.html", "runbook/runbooks.yaml"} {
		if !slices.Contains(names, want) {
			t.Errorf("the bundle lacks %s: %v", want, names)
		}
	}
	code, vout, _ := cli(t, "", "verify", bundle, "--allowed-signers", allowed)
	if code != 0 || !strings.Contains(vout, "VERIFIED") || !strings.Contains(vout, "files match its MANIFEST") || !strings.Contains(vout, "runbook/runbooks.yaml is the file the run ran") {
		t.Errorf("verify bundle: %d\n%s", code, vout)
	}
	// Without named signers the copy inside proves nothing.
	if code, vout, _ := cli(t, "", "verify", bundle); code != exitUnproven || strings.Contains(vout, ": VERIFIED") {
		t.Errorf("verify bundle without signers: %d\n%s", code, vout)
	}

	idx := slices.Index(names, base)
	tamper := func(name string, edit func(hs []*tar.Header, data [][]byte) ([]*tar.Header, [][]byte), want string) {
		t.Helper()
		h2 := make([]*tar.Header, len(hs))
		d2 := make([][]byte, len(data))
		for i := range hs {
			c := *hs[i]
			h2[i], d2[i] = &c, slices.Clone(data[i])
		}
		h2, d2 = edit(h2, d2)
		bad := filepath.Join(t.TempDir(), name+".tar.gz")
		writeTar(t, bad, h2, d2)
		code, vout, _ := cli(t, "", "verify", bad, "--allowed-signers", allowed)
		if code != exitFailed || !strings.Contains(vout, "FAILED") || !strings.Contains(vout, want) {
			t.Errorf("%s: exit %d, want 1 and %q\n%s", name, code, want, vout)
		}
	}
	tamper("journal-edited", func(hs []*tar.Header, d [][]byte) ([]*tar.Header, [][]byte) {
		d[idx] = bytes.Replace(d[idx], []byte("esx-b-01"), []byte("esx-b-02"), 1)
		return hs, d
	}, "does not match the MANIFEST")
	tamper("journal-and-manifest-edited", func(hs []*tar.Header, d [][]byte) ([]*tar.Header, [][]byte) {
		old := sha(d[idx])
		d[idx] = bytes.Replace(d[idx], []byte("esx-b-01"), []byte("esx-b-02"), 1)
		d[0] = bytes.Replace(d[0], []byte(old), []byte(sha(d[idx])), 1)
		return hs, d
	}, "chain      BROKEN")
	tamper("extra-file", func(hs []*tar.Header, d [][]byte) ([]*tar.Header, [][]byte) {
		return append(hs, &tar.Header{Name: "notes/x.note", Mode: 0o644, Typeflag: tar.TypeReg}), append(d, []byte("{}"))
	}, "not in its MANIFEST")
	tamper("dot-dot", func(hs []*tar.Header, d [][]byte) ([]*tar.Header, [][]byte) {
		return append(hs, &tar.Header{Name: "../escape", Mode: 0o644, Typeflag: tar.TypeReg}), append(d, []byte("x"))
	}, "not a name a bundle holds")
	tamper("symlink", func(hs []*tar.Header, d [][]byte) ([]*tar.Header, [][]byte) {
		return append(hs, &tar.Header{Name: "link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}), append(d, nil)
	}, "is not a regular file")
	tamper("runbook-swapped", func(hs []*tar.Header, d [][]byte) ([]*tar.Header, [][]byte) {
		i := slices.IndexFunc(hs, func(h *tar.Header) bool { return h.Name == "runbook/runbooks.yaml" })
		d[i] = append(d[i], []byte("\n# changed after the run\n")...)
		lines := strings.Split(string(d[0]), "\n")
		for k, l := range lines {
			if f := strings.SplitN(l, " ", 3); len(f) == 3 && strings.HasPrefix(f[2], "runbook/runbooks.yaml ") {
				lines[k] = fmt.Sprintf("%s %d %s", sha(d[i]), len(d[i]), f[2])
			}
		}
		d[0] = []byte(strings.Join(lines, "\n"))
		return hs, d
	}, "is NOT the file the run ran")
}
