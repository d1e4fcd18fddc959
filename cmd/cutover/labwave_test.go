package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A wave in the lab, headless: six VMs over real SSH guests and the vCenter simulator, one whose
// vMotion fails; only that VM is rolled back, the rest move, and the report shows every VM.
func TestLabWave(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	dir := t.TempDir()
	tr := filepath.Join(dir, "tr")
	code, out, errs := cli(t, "", "lab", "--vms", "6", "--plain", "--yes", "--relocate-time", "300ms", "--fault", "relocate-fails@app-03", "--transcript", tr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if n := strings.Count(out, ": MOVED"); n != 5 {
		t.Errorf("%d VMs moved, want 5:\n%s", n, out)
	}
	if !strings.Contains(out, "vm app-03 batch 2: ROLLED BACK: step move: action relocate app-03 → esx-b-01") {
		t.Errorf("app-03's rollback is not said:\n%s", out)
	}
	for _, vm := range []string{"app-01", "app-02", "app-04", "app-05", "app-06"} {
		if !strings.Contains(out, "move-app-tier["+vm+"]/move") {
			t.Errorf("no line names %s's move", vm)
		}
	}
	journal := journalOf(t, tr)
	md := filepath.Join(dir, "r.md")
	if code, out, errs := cli(t, "", "report", journal, "-o", md); code != 0 {
		t.Fatalf("report: %d %s %s", code, out, errs)
	}
	b, _ := os.ReadFile(md)
	for _, want := range []string{"6 VMs in 3 batch(es) of 2 (max\\_failures 1, on\\_failure rollback\\_vm): 5 moved, 1 rolled back",
		"| app-01 | 1 | esx-a-01 → esx-b-01 | 1/", "| app-03 | 2 | esx-a-01 → — |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// kill -9 in the middle of a wave and lab --resume: the wave finishes, no VM is moved twice, none
// is forgotten, and the journal verifies.
func TestLabWaveKillAndResume(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	waveKillAndResume(t, []string{"--vms", "6"}, "move-app-tier", 6)
}

// itemsFromBook finds the app tier in the lab's vCenter (by tag) or NetBox (by tag and cluster).
const itemsFromBook = `version: 1
runbooks:
  - name: from-vcenter
    steps:
      - name: tier
        wave:
          items_from: {vcenter: {tag: app, category: tier}}
          serial: 2
          steps: &steps
            - name: pre
              checks:
                - {kind: unit_active, host: vm, unit: nginx, timeout: 10s}
            - name: move
              migrate: {vm: "{{ .vm }}", host: esx-b-01}
              checks:
                - {kind: vm_on_host, vm: "{{ .vm }}", esx_host: esx-b-01}
                - {kind: command, host: local, run: [echo, "{{ .vm }}", "{{ .address }}", "{{ .cluster }}"], match: "^app-0[1-9] 10\\.20\\.0\\.[0-9]+ SITE-A$"}
              rollback:
                - name: move-back
                  migrate: {vm: "{{ .vm }}", host: "{{ .origin_host }}"}
  - name: from-netbox
    steps:
      - name: tier
        wave:
          items_from: {netbox: {tag: app-tier, cluster: SITE-A}}
          serial: 2
          steps: *steps
  - name: by-address
    steps:
      - name: tier
        wave:
          items_from: {netbox: {tag: app-tier, cluster: SITE-A}, guest: address}
          serial: 2
          steps: *steps
`

// A wave that finds its VMs in vCenter or NetBox, in the lab: it finds the VMs the lab made (and
// only those), says so before anything moves, journals the list, and moves each.
func TestLabWaveItemsFrom(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	book := filepath.Join(t.TempDir(), "tier.yaml")
	if err := os.WriteFile(book, []byte(itemsFromBook), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from string }{
		{"from-vcenter", "vCenter tag tier/app"},
		{"from-netbox", "NetBox VMs of cluster SITE-A, tag app-tier, status active"},
		{"by-address", "NetBox VMs of cluster SITE-A, tag app-tier, status active"}, // the lab's ssh_config has no alias by name then
	} {
		tr := filepath.Join(t.TempDir(), "tr")
		code, out, errs := cli(t, "", "lab", "--file", book, "--vms", "3", "--plain", "--yes", "--relocate-time", "200ms", "--transcript", tr, tc.name)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", tc.name, code, out, errs)
		}
		if want := "wave tier: 3 VMs from " + tc.from + ": app-01 app-02 app-03"; !strings.Contains(errs, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", tc.name, want, errs)
		}
		if n := strings.Count(out, ": MOVED"); n != 3 {
			t.Errorf("%s: %d VMs moved, want 3:\n%s", tc.name, n, out)
		}
		start := readJournal(t, journalOf(t, tr))[0]
		waves, _ := start.Data["waves"].([]any)
		if len(waves) != 1 || waves[0].(map[string]any)["from"] != tc.from || len(waves[0].(map[string]any)["items"].([]any)) != 3 {
			t.Fatalf("%s: the run's start journals %v", tc.name, start.Data["waves"])
		}
		if tc.name == "by-address" {
			for _, it := range waves[0].(map[string]any)["items"].([]any) {
				if f, _ := it.(map[string]any)["fields"].(map[string]any); !strings.HasPrefix(fmt.Sprint(f["host"]), "10.20.0.") {
					t.Errorf("%s: item %v is not reached by its address", tc.name, it)
				}
			}
		}
	}
	// By address, with the fault that re-addresses a VM where no lab guest answers: refused before
	// anything is dialled (it would be an address off this machine).
	if code, _, errs := cli(t, "", "lab", "--file", book, "--vms", "3", "--plain", "--fault", "ipam-moved", "by-address"); code != exitBadInput || !strings.Contains(errs, "guest: address would dial it there") {
		t.Errorf("by address with ipam-moved: exit %d %s", code, errs)
	}
	// Without --vms the lab cannot know how many to make; a runbook without such a wave refuses --vms.
	if code, _, errs := cli(t, "", "lab", "--file", book, "--plain", "from-vcenter"); code != exitBadInput || !strings.Contains(errs, "say how many the lab makes with --vms N") {
		t.Errorf("no --vms: exit %d %s", code, errs)
	}
}

// The same kill and resume with a wave that found its VMs in vCenter: the resumed run moves the
// VMs the journal's start lists, without asking vCenter again.
func TestLabWaveItemsFromKillAndResume(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	book := filepath.Join(t.TempDir(), "tier.yaml")
	if err := os.WriteFile(book, []byte(itemsFromBook), 0o644); err != nil {
		t.Fatal(err)
	}
	first, resumed := waveKillAndResume(t, []string{"--file", book, "--vms", "4", "from-vcenter"}, "tier", 4)
	if !strings.Contains(first, "wave tier: 4 VMs from vCenter tag tier/app") {
		t.Errorf("the first run did not say what it found:\n%s", first)
	}
	if strings.Contains(resumed, "VMs from vCenter") {
		t.Errorf("the resumed run asked vCenter again:\n%s", resumed)
	}
}

// waveKillAndResume runs lab with args, kills it (SIGKILL) once the first VM of wave has moved,
// resumes it and checks that each of the wave's n VMs (app-01 …) was moved exactly once, that the
// resume appended to the journal and that the journal verifies. It returns both runs' output.
func waveKillAndResume(t *testing.T, args []string, wave string, n int) (first, resumed string) {
	t.Helper()
	bin := cutoverBin(t)
	tr := filepath.Join(t.TempDir(), "tr")
	run := exec.Command(bin, append([]string{"lab", "--plain", "--yes", "--relocate-time", "400ms", "--transcript", tr, "--operator", "first@lab"}, args...)...)
	run.Env = append(os.Environ(), "TMPDIR="+shortTempDir(t))
	var firstOut bytes.Buffer
	run.Stdout, run.Stderr = &firstOut, &firstOut
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { run.Wait(); close(exited) }()
	journal := ""
	deadline := time.Now().Add(60 * time.Second)
	for journal == "" || !bytes.Contains(readFile(journal), []byte(`"status":"moved"`)) {
		select {
		case <-exited:
			t.Fatalf("the run ended before the kill\n%s", firstOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no VM moved in 60 s")
		}
		if m, _ := filepath.Glob(filepath.Join(tr, "*.jsonl")); len(m) == 1 {
			journal = m[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	run.Process.Kill()
	<-exited
	before := readFile(journal)
	if bytes.Contains(before, []byte(`"type":"run.end"`)) {
		t.Fatal("the run ended before the kill")
	}
	allowed := strings.TrimSuffix(journal, ".jsonl") + ".allowed_signers"
	var again []string
	for i := 0; i < len(args); i++ { // the same lab, without the runbook's name: the journal has it
		switch {
		case args[i] == "--file" || args[i] == "--vms":
			again = append(again, args[i], args[i+1])
			i++
		}
	}
	res := exec.Command(bin, append([]string{"lab", "--resume", journal, "--plain", "--yes", "--relocate-time", "400ms", "--operator", "second@lab", "--allowed-signers", allowed}, again...)...)
	res.Env = append(os.Environ(), "TMPDIR="+shortTempDir(t))
	out, _ := res.CombinedOutput()
	if code := res.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	after := readFile(journal)
	if !bytes.HasPrefix(after, before[:bytes.LastIndexByte(before, '\n')+1]) {
		t.Error("resume rewrote what the first run had journaled")
	}
	// Each VM's move ended once: done, or — killed after the VM landed but before the journal said
	// so — skipped by the resume, which finds it there (a second move would end done again).
	for i := 1; i <= n; i++ {
		phase := func(p string) int {
			return bytes.Count(after, fmt.Appendf(nil, `"step":"%s[app-%02d]/move","data":{"phase":"%s"`, wave, i, p))
		}
		if done, skipped := phase("done"), phase("skipped"); done+skipped != 1 {
			t.Errorf("app-%02d: %d moves done and %d skipped in the journal, want one of them", i, done, skipped)
		}
	}
	if c := strings.Count(string(out), ": MOVED"); c == n || c == 0 {
		t.Errorf("the resumed run moved %d VMs: the kill was not mid-wave or the resume started over\n%s", c, out)
	}
	if v, err := exec.Command(bin, "verify", journal, "--allowed-signers", allowed).CombinedOutput(); err != nil {
		t.Errorf("the resumed journal does not verify: %v\n%s", err, v)
	}
	return firstOut.String(), string(out)
}

func readFile(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// lab --serve keeps the lab up for cutover run in another process: the run reads the variables
// the lab wrote, moves the wave's VMs, and an interrupt stops the lab and removes the file that
// held its passwords.
func TestLabServeForAnotherProcess(t *testing.T) {
	t.Parallel() // waits on lab moves and settles: beside the other slow ones (CI runs the package under -race)
	bin := cutoverBin(t)
	dir := t.TempDir()
	env := filepath.Join(dir, "lab.env")
	serve := exec.Command(bin, "lab", "--serve", env, "--vms", "3", "--relocate-time", "200ms")
	serve.Env = append(os.Environ(), "TMPDIR="+shortTempDir(t))
	var out syncBuffer
	serve.Stdout, serve.Stderr = &out, &out
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { serve.Wait(); close(exited) }()
	t.Cleanup(func() { serve.Process.Kill(); <-exited })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "lab: serving") {
		select {
		case <-exited:
			t.Fatalf("the lab exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lab did not serve in 60 s:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if fi, err := os.Stat(env); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the variables file: %v %v", fi, err)
	}
	m := regexp.MustCompile(`cutover run (\S+) (\S+) `).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the lab does not say what to run:\n%s", out.String())
	}
	run := exec.Command("sh", "-c", `. "$1" && exec "$2" run "$3" "$4" --plain --yes --transcript "$5" --ssh-config "$CUTOVER_LAB_SSH_CONFIG" --known-hosts "$CUTOVER_LAB_KNOWN_HOSTS" --sign-key "$CUTOVER_LAB_SIGN_KEY"`,
		"sh", env, bin, m[1], m[2], filepath.Join(dir, "tr"))
	got, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("cutover run against the served lab: %v\n%s", err, got)
	}
	if n := strings.Count(string(got), ": MOVED"); n != 3 {
		t.Errorf("%d VMs moved, want 3:\n%s", n, got)
	}
	serve.Process.Signal(os.Interrupt)
	<-exited
	if _, err := os.Stat(env); !os.IsNotExist(err) {
		t.Errorf("the variables file outlived the lab: %v", err)
	}
}
