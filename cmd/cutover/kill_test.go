package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testenv"
	"golang.org/x/sys/unix"
)

// How a kill point is chosen.
const (
	killAtBytes     = "bytes"     // once the journal has grown past a random size
	killInFsync     = "fsync"     // past a random size, while a thread sits in fdatasync(2)
	killInMigration = "migration" // after the vMotion started and N progress reports came in
	killTorn        = "torn"      // like bytes, then the last line is cut short as a power loss would
)

type killPoint struct {
	mode     string
	size     int // journal bytes before the kill
	progress int // migration progress lines before the kill
	tornAt   float64
}

func (k killPoint) String() string {
	switch k.mode {
	case killInMigration:
		return fmt.Sprintf("%s-%d", k.mode, k.progress)
	default:
		return fmt.Sprintf("%s-%d", k.mode, k.size)
	}
}

// killPoints draws n points from seed; a clean seed lab journal is about 60 kB, its migration
// reports about 8 progress lines.
func killPoints(seed uint64, n int) []killPoint {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	modes := []string{killAtBytes, killInFsync, killInMigration, killTorn}
	var pts []killPoint
	for i := 0; i < n; i++ {
		// Past run.start and its signed checkpoint: a journal with no signature is not resumed.
		p := killPoint{mode: modes[i%len(modes)], size: 4000 + r.IntN(53000), progress: r.IntN(8), tornAt: r.Float64()}
		switch p.mode {
		case killTorn:
			p.size = max(p.size, 2000) // keep run.start whole: there is no run to resume without it
		case killInFsync:
			p.size = 4000 + r.IntN(36000) // leave dozens of fdatasyncs to catch one in
		}
		pts = append(pts, p)
	}
	return pts
}

// The real binary is SIGKILLed at random points of a lab run. Each time, the journal must verify
// up to its last whole line before anything touches it, `lab --resume` must finish the run
// cleanly without rewriting a byte of what was journaled, and the finished journal, signed by two
// operators' keys, must verify. CUTOVER_KILL_SEED reruns a failing draw.
func TestKillAndResume(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	if testing.Short() {
		testenv.Unavailable(t, "-short: kills and resumes many lab runs")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CUTOVER_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CUTOVER_KILL_SEED: %v", err)
		}
	}
	t.Logf("CUTOVER_KILL_SEED=%d", seed)
	dir := t.TempDir()
	bin := cutoverBin(t)
	book := mustAbs(t, "../../runbooks.yaml")
	pts := killPoints(seed, 24)

	// Lab runs mostly wait (vMotion, settle), so four at a time fit two cores.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		killed  = map[string]int{}
		slots   = make(chan struct{}, 4)
		onTmpfs = isTmpfs(dir)
	)
	for _, p := range pts {
		if p.mode == killInFsync && onTmpfs {
			p.mode = killAtBytes // fdatasync on tmpfs returns at once: nothing to catch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			t.Run(p.String(), func(t *testing.T) {
				if mode := killAndResume(t, bin, book, p); mode != "" {
					mu.Lock()
					killed[mode]++
					mu.Unlock()
				}
			})
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range killed {
		total += n
	}
	t.Logf("killed: %v", killed)
	if total < 20 {
		t.Errorf("only %d runs were killed before they ended (want ≥ 20): %v", total, killed)
	}
	if killed[killInFsync] == 0 && !onTmpfs {
		t.Error("no run was caught inside fdatasync")
	}
	if killed[killInMigration] == 0 {
		t.Error("no run was killed inside the migration")
	}
}

// killAndResume runs one point; it returns how the run was killed, "" if it ended first.
func killAndResume(t *testing.T, bin, book string, p killPoint) string {
	tr := filepath.Join(t.TempDir(), "tr")
	run := exec.Command(bin, "lab", "--file", book, "--plain", "--yes", "--relocate-time", "1s", "--transcript", tr, "--operator", "first@lab")
	run.Env = append(os.Environ(), "TMPDIR="+shortTempDir(t)) // a killed lab cannot remove its temp dir: the test does
	run.Stdout, run.Stderr = new(bytes.Buffer), new(bytes.Buffer)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { run.Wait(); close(exited) }()
	how, journal := watchAndKill(t, run.Process.Pid, tr, p, exited)
	run.Process.Kill()
	<-exited
	if journal == "" {
		t.Fatalf("no journal\n%s", run.Stderr)
	}
	before, _ := os.ReadFile(journal)
	if bytes.Contains(before, []byte(`"type":"run.end"`)) {
		t.Logf("the run ended before the kill point")
		return ""
	}
	whole := bytes.Count(before, []byte("\n"))
	if p.mode == killTorn {
		// Cut the last whole line short, as a power loss mid-write would.
		last := bytes.LastIndexByte(before[:len(before)-1], '\n') + 1
		cut := last + 1 + int(p.tornAt*float64(len(before)-2-last))
		if err := os.Truncate(journal, int64(cut)); err != nil {
			t.Fatal(err)
		}
		whole--
		before = before[:cut]
	}
	want := fmt.Sprintf("chain      intact, %d lines", whole)
	if len(before) > 0 && before[len(before)-1] != '\n' {
		want = fmt.Sprintf("chain      intact through line %d, then truncated", whole)
	}
	vout, _ := exec.Command(bin, "verify", journal).CombinedOutput()
	if !strings.Contains(string(vout), want) {
		t.Fatalf("killed (%s) after %d bytes, the journal does not verify to its last whole line; want %q:\n%s", how, len(before), want, vout)
	}

	res := exec.Command(bin, "lab", "--resume", journal, "--plain", "--yes", "--relocate-time", "1s", "--operator", "second@lab",
		"--allowed-signers", strings.TrimSuffix(journal, ".jsonl")+".allowed_signers")
	out, _ := res.CombinedOutput()
	// A clean run, killed anywhere, resumes to a clean end: nothing proceeded over.
	if code := res.ProcessState.ExitCode(); code != 0 || strings.Contains(string(out), "overridden") {
		t.Fatalf("resume after a kill (%s) at %d lines: exit %d\n%s", how, whole, code, out)
	}
	if !strings.Contains(string(out), "RESUME   by second@lab") {
		t.Errorf("resume output:\n%s", out)
	}
	v := exec.Command(bin, "verify", journal, "--allowed-signers", strings.TrimSuffix(journal, ".jsonl")+".allowed_signers")
	if vout, err := v.CombinedOutput(); err != nil {
		t.Errorf("the resumed journal does not verify: %v\n%s", err, vout)
	}
	after, _ := os.ReadFile(journal)
	if !bytes.HasPrefix(after, before[:bytes.LastIndexByte(before, '\n')+1]) {
		t.Error("resume rewrote what the first run had journaled")
	}
	assertOneStory(t, journal) // a killed and resumed run reads the same in the console and the report
	t.Logf("killed (%s) at %d lines, resumed to %d", how, whole, bytes.Count(after, []byte("\n")))
	return how
}

// watchAndKill waits for p's moment and returns how it was met (the caller kills). It polls
// without sleeping while it waits for fdatasync, which lasts a fraction of a millisecond.
func watchAndKill(t *testing.T, pid int, tr string, p killPoint, exited <-chan struct{}) (string, string) {
	journal := ""
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return "", journal
		default:
		}
		if journal == "" {
			if m, _ := filepath.Glob(filepath.Join(tr, "*.jsonl")); len(m) == 1 {
				journal = m[0]
			}
			if journal == "" {
				time.Sleep(time.Millisecond)
				continue
			}
		}
		switch p.mode {
		case killInMigration:
			b, _ := os.ReadFile(journal)
			if bytes.Contains(b, []byte(`"type":"migrate","step":"migrate","data":{"phase":"start"`)) &&
				bytes.Count(b, []byte(`"type":"migrate.progress"`)) >= p.progress {
				return p.mode, journal
			}
			time.Sleep(time.Millisecond)
		case killInFsync:
			if fi, err := os.Stat(journal); err == nil && fi.Size() >= int64(p.size) {
				if inSyscall(pid, unix.SYS_FDATASYNC) {
					return p.mode, journal
				}
				continue // spin: the window is short
			}
			time.Sleep(time.Millisecond)
		default:
			if fi, err := os.Stat(journal); err == nil && fi.Size() >= int64(p.size) {
				return p.mode, journal
			}
			time.Sleep(time.Millisecond)
		}
	}
	t.Fatalf("kill point %v not met in 60 s", p)
	return "", ""
}

// inSyscall reports whether any thread of pid is blocked in syscall nr (/proc/PID/task/*/syscall).
func inSyscall(pid int, nr int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	want := strconv.Itoa(nr) + " "
	for _, f := range tasks {
		if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(string(b), want) {
			return true
		}
	}
	return false
}

func isTmpfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.TMPFS_MAGIC
}

// shortTempDir is a temp dir removed when the test ends, with a short path: a lab puts a unix
// socket in its dir, and a socket's path may not pass 108 bytes (t.TempDir's carry the test name).
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ct")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
