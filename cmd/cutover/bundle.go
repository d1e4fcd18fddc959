package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/runbook"
	"github.com/cutover/cutover/runbook/report"
	"github.com/cutover/cutover/runbook/transcript"
)

// The export bundle: what one attaches to a change ticket. A tar.gz holding the journal and its
// detached signature, the approvals and notes beside it, the allowed signers the report was
// checked against (for information: verify never trusts it on its own), the report in Markdown
// and HTML, the runbook file as run, and a MANIFEST of every file's SHA-256.

const manifestName = "MANIFEST"

type bundleFile struct {
	name, role string
	data       []byte
}

// writeBundle writes the bundle of journal to out.
func writeBundle(out, journal string, events []runbook.Event, r *report.Report, trustFile string) error {
	var files []bundleFile
	add := func(name, role, src string) error {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		files = append(files, bundleFile{name, role, b})
		return nil
	}
	base := filepath.Base(journal)
	if err := add(base, "journal", journal); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if _, err := os.Stat(journal + ".sig"); err == nil {
		if err := add(base+".sig", "detached signature", journal+".sig"); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
	}
	for _, d := range []struct{ dir, sub, role string }{{strings.TrimSuffix(journal, ".jsonl") + ".approvals", "approvals", "approval"}, {transcript.NoteDir(journal), "notes", "signed note"}} {
		entries, _ := os.ReadDir(d.dir)
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".tmp") {
				if err := add(d.sub+"/"+e.Name(), d.role, filepath.Join(d.dir, e.Name())); err != nil {
					return fmt.Errorf("bundle: %w", err)
				}
			}
		}
	}
	if trustFile != "" {
		if err := add("allowed_signers", "the allowed signers this report was checked against (informative: name your own to verify)", trustFile); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
	}
	var md, page bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		return err
	}
	if err := r.HTML(&page); err != nil {
		return err
	}
	files = append(files, bundleFile{"report.md", "handoff report", md.Bytes()}, bundleFile{"report.html", "handoff report", page.Bytes()})
	// The runbook file as run: only when it still is what the journal says ran.
	runbookNote := ""
	for _, ev := range events {
		if d, ok := ev.Data.(runbook.RunStartData); ok {
			switch b, err := os.ReadFile(d.File); {
			case err != nil:
				runbookNote = fmt.Sprintf("# runbook file %s not included: %v\n", d.File, err)
			case d.FileSHA256 != "" && sha(b) != d.FileSHA256:
				runbookNote = fmt.Sprintf("# runbook file %s not included: it changed since the run (sha256 %s, the journal says %s)\n", d.File, sha(b), d.FileSHA256)
			default:
				files = append(files, bundleFile{"runbook/" + filepath.Base(d.File), "runbook file as run (sha256 as in the journal's run.start)", b})
			}
			break
		}
	}
	var manifest strings.Builder
	fmt.Fprintf(&manifest, "# cutover bundle of %s, made %s\n# sha256  bytes  file  (what it is)\n%s", base, time.Now().UTC().Format(time.RFC3339), runbookNote)
	for _, f := range files {
		fmt.Fprintf(&manifest, "%s %d %s (%s)\n", sha(f.data), len(f.data), f.name, f.role)
	}
	files = append([]bundleFile{{manifestName, "manifest", []byte(manifest.String())}}, files...)

	tmp := out + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	defer os.Remove(tmp)
	gz := gzip.NewWriter(fh)
	tw := tar.NewWriter(gz)
	now := time.Now()
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			fh.Close()
			return fmt.Errorf("bundle: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			fh.Close()
			return fmt.Errorf("bundle: %w", err)
		}
	}
	for _, c := range []io.Closer{tw, gz} {
		if err := c.Close(); err != nil {
			fh.Close()
			return fmt.Errorf("bundle: %w", err)
		}
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("bundle: %w", err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return os.Rename(tmp, out)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Bounds on what a bundle may hold: it comes from outside.
const (
	maxBundleFile  = 256 << 20
	maxBundleTotal = 512 << 20
	maxBundleFiles = 10000
)

// extractBundle unpacks a bundle into dir: regular files only, under names a bundle writes (no
// absolute paths, no "..", at most one directory deep), within size bounds.
func extractBundle(src, dir string) ([]string, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("not a bundle (gzip): %w", err)
	}
	tr := tar.NewReader(gz)
	var names []string
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not a bundle (tar): %w", err)
		}
		name := h.Name
		clean := path.Clean(name)
		switch {
		case h.Typeflag != tar.TypeReg:
			return nil, fmt.Errorf("bundle entry %q is not a regular file", name)
		case clean != name || path.IsAbs(name) || strings.HasPrefix(clean, "..") || strings.Count(clean, "/") > 1 || strings.ContainsAny(name, "\\\x00"):
			return nil, fmt.Errorf("bundle entry %q: not a name a bundle holds", name)
		case h.Size > maxBundleFile || total+h.Size > maxBundleTotal || len(names) >= maxBundleFiles:
			return nil, fmt.Errorf("bundle entry %q: larger than a bundle may hold", name)
		case slices.Contains(names, name):
			return nil, fmt.Errorf("bundle entry %q appears twice", name)
		}
		total += h.Size
		dst := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, err
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, err
		}
		n, err := io.Copy(out, io.LimitReader(tr, h.Size))
		out.Close()
		if err != nil || n != h.Size {
			return nil, fmt.Errorf("bundle entry %q: cut short", name)
		}
		names = append(names, name)
	}
}

// checkManifest holds every file of an unpacked bundle to the MANIFEST's SHA-256 and size, and the
// MANIFEST to the files: nothing added, nothing missing, nothing changed.
func checkManifest(dir string, names []string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, errors.New("the bundle has no MANIFEST")
	}
	var listed []string
	for i, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		f := strings.SplitN(l, " ", 4)
		if len(f) < 3 {
			return nil, fmt.Errorf("MANIFEST line %d: %q", i+1, l)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f[2])))
		if err != nil || !slices.Contains(names, f[2]) {
			return nil, fmt.Errorf("MANIFEST lists %s, which the bundle does not hold", f[2])
		}
		if sha(data) != f[0] || fmt.Sprint(len(data)) != f[1] {
			return nil, fmt.Errorf("%s does not match the MANIFEST (sha256 %s, listed %s)", f[2], sha(data), f[0])
		}
		listed = append(listed, f[2])
	}
	for _, n := range names {
		if n != manifestName && !slices.Contains(listed, n) {
			return nil, fmt.Errorf("%s is in the bundle but not in its MANIFEST", n)
		}
	}
	return listed, nil
}
