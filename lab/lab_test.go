package lab

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/checks"
	"github.com/cutover/cutover/checks/remote"
	"github.com/cutover/cutover/checks/vsphere"
)

// The lab's commands link to this test binary: started under a command's name, it is that command.
func TestMain(m *testing.M) {
	if IsTool() {
		os.Exit(RunTool())
	}
	os.Exit(m.Run())
}

var seedHosts = []HostSpec{
	{Name: "app", Address: "app-01.site-a.example", Zone: "site-a"},
	{Name: "probe-a", Address: "jump-a.example", Zone: "site-a"},
	{Name: "probe-b", Address: "jump-b.example", Zone: "site-b"},
}

func startLab(t *testing.T, f Faults) *Lab {
	t.Helper()
	start := time.Now()
	l, err := Start(context.Background(), Options{Dir: t.TempDir(), Hosts: seedHosts, RelocateTime: 600 * time.Millisecond, Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	t.Logf("lab ready in %s", time.Since(start))
	return l
}

func sshTo(t *testing.T, l *Lab) *remote.SSH {
	t.Helper()
	s, err := remote.NewSSH(remote.SSHOptions{Config: l.SSHConfig, KnownHosts: []string{l.KnownHosts}, User: currentUser()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestLabHostsAnswerLikeRealOnes(t *testing.T) {
	l := startLab(t, Faults{})
	s := sshTo(t, l)
	app := s.Runner("app", remote.Target{Address: "app-01.site-a.example"})
	probe := s.Runner("probe-b", remote.Target{Address: "jump-b.example"})
	env := checks.Env{Host: "app", Runner: app, Baselines: baselines{}}
	ctx := context.Background()
	for name, c := range map[string]checks.Check{
		"unit":      checks.UnitActive{Unit: "nginx"},
		"failed":    checks.NoFailedUnits{},
		"listening": checks.Listening{Want: checks.ListenSpec{Proto: "tcp", Port: 443, Process: "nginx"}},
		"journal":   checks.JournalErrors{},
		"selinux":   checks.SELinux{},
		"clock":     checks.Clock{},
		"dns":       checks.DNS{Name: "app-01.site-a.example", Expect: []string{"10.20.0.15"}},
		"firewall":  checks.Firewall{Allow: []string{"https", "ssh"}},
		"unit log":  checks.JournalUnit{Unit: "nginx"},
	} {
		r := c.Run(ctx, env)
		want := checks.Pass
		if name == "unit log" {
			want = checks.Fail // the seed's journal holds an upstream timeout from earlier today
		}
		if r.Outcome != want {
			t.Errorf("%s: %s %q %q", name, r.Outcome, r.Summary, r.Evidence)
		}
	}
	hosts := labHosts{l: l, s: s}
	r := checks.Endpoint{URL: "https://app-01.site-a.example/health", From: []string{"probe-a", "probe-b"}}.Run(ctx, checks.Env{Hosts: hosts})
	if r.Outcome != checks.Pass {
		t.Errorf("endpoint: %+v", r)
	}
	// Shell syntax is real: pipes, ||, exit codes.
	var lines []string
	res, err := probe.Run(ctx, remote.Command{Script: "systemctl is-active nginx || echo no-nginx-here; exit 4"}, func(l remote.Line) { lines = append(lines, l.Text) })
	if err != nil || res.ExitCode != 4 || strings.Join(lines, "|") != "inactive|no-nginx-here" {
		t.Errorf("probe: %+v %v %v", res, lines, err)
	}
}

type baselines map[string][]string

func (b baselines) Baseline(id string) ([]string, bool) { v, ok := b[id]; return v, ok }

type labHosts struct {
	l *Lab
	s *remote.SSH
}

func (h labHosts) Runner(name string) (remote.Runner, error) {
	return h.s.Runner(name, remote.Target{Address: h.l.Host(name).Address}), nil
}
func (h labHosts) Zone(name string) string { return h.l.Host(name).Zone }

func TestLabVCenterMovesTheVM(t *testing.T) {
	l := startLab(t, Faults{UnitDown: "nginx"})
	ctx := context.Background()
	vc, err := vsphere.Connect(ctx, l.VCenter())
	if err != nil {
		t.Fatal(err)
	}
	st, err := vc.VMState(ctx, "app-01")
	if err != nil || st.Host != "esx-a-01" || st.Cluster != "SITE-A" || st.Tools != "guestToolsRunning" || st.IP != "10.20.0.15" {
		t.Fatalf("VM at start: %+v %v", st, err)
	}
	var stages []string
	if err := vc.Relocate(ctx, checks.Move{VM: "app-01", Host: "esx-b-01"}, func(p checks.MoveProgress) { stages = append(stages, p.Stage) }); err != nil {
		t.Fatal(err)
	}
	if st, _ := vc.VMState(ctx, "app-01"); st.Host != "esx-b-01" || st.Cluster != "SITE-B" {
		t.Errorf("after the move: %+v", st)
	}
	if !strings.Contains(strings.Join(stages, "|"), "Switching over to the destination") {
		t.Errorf("stages %v", stages)
	}
	app := l.Host("app")
	if app.Zone != "site-b" || app.Serving(443) {
		t.Errorf("after the move with unit-down: zone %s, serving %v", app.Zone, app.Serving(443))
	}
	if err := vc.Relocate(ctx, checks.Move{VM: "app-01", Host: "esx-a-01"}, nil); err != nil {
		t.Fatal(err)
	}
	if app.Zone != "site-a" || !app.Serving(443) {
		t.Errorf("back home: zone %s, serving %v", app.Zone, app.Serving(443))
	}
}

func TestLabRelocateFails(t *testing.T) {
	l := startLab(t, Faults{RelocateFails: true})
	ctx := context.Background()
	vc, err := vsphere.Connect(ctx, l.VCenter())
	if err != nil {
		t.Fatal(err)
	}
	err = vc.Relocate(ctx, checks.Move{VM: "app-01", Host: "esx-b-01"}, nil)
	if err == nil || !strings.Contains(err.Error(), "MigrationFault") {
		t.Fatalf("err = %v", err)
	}
	if st, _ := vc.VMState(ctx, "app-01"); st.Host != "esx-a-01" {
		t.Errorf("a failed vMotion moved the VM to %s", st.Host)
	}
}

// vCenter ends cutover's session in the middle of a vMotion (the session-expires fault: an idle
// timeout, an admin): the client logs in again, follows the task that ran on meanwhile, and the
// move completes.
func TestLabSessionExpiresMidVMotion(t *testing.T) {
	l := startLab(t, Faults{SessionExpires: true})
	ctx := context.Background()
	cfg := l.VCenter()
	var relogins []error
	cfg.OnRelogin = func(err error) { relogins = append(relogins, err) }
	vc, err := vsphere.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	err = vc.Relocate(ctx, checks.Move{VM: "app-01", Host: "esx-b-01"}, func(p checks.MoveProgress) { stages = append(stages, p.Stage) })
	if err != nil {
		t.Fatalf("relocate across a session expiry: %v (stages %v)", err, stages)
	}
	if vc.Relogins() != 1 || len(relogins) != 1 || relogins[0] != nil {
		t.Errorf("relogins %d %v", vc.Relogins(), relogins)
	}
	if !strings.Contains(strings.Join(stages, "|"), "Switching over to the destination") {
		t.Errorf("the task was not followed to its end after the new login: %v", stages)
	}
	if st, err := vc.VMState(ctx, "app-01"); err != nil || st.Host != "esx-b-01" {
		t.Errorf("after the move: %+v %v", st, err)
	}
	// Between calls too: the next check after an expiry just works.
	if n, err := l.vc.endSessions(ctx); n == 0 || err != nil {
		t.Fatalf("end sessions: %d %v", n, err)
	}
	if st, err := vc.VMState(ctx, "app-01"); err != nil || st.Host != "esx-b-01" || vc.Relogins() != 2 {
		t.Errorf("after a second expiry: %+v %v, relogins %d", st, err, vc.Relogins())
	}
}

// The vMotion's progress is read by vCenter's property collector while the task runs: many
// moves, each watched stage by stage, give the race detector its chance to see an unlocked read
// of the task's info meet the lab's write (it did, before the lab changed the info as a whole).
func TestRelocateProgressUnderTheRaceDetector(t *testing.T) {
	l, err := Start(context.Background(), Options{Dir: t.TempDir(), Hosts: seedHosts, RelocateTime: 60 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	ctx := context.Background()
	vc, err := vsphere.Connect(ctx, l.VCenter())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		host := []string{"esx-b-01", "esx-a-01"}[i%2]
		n := 0
		if err := vc.Relocate(ctx, checks.Move{VM: "app-01", Host: host}, func(checks.MoveProgress) { n++ }); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("move %d reported no progress", i)
		}
	}
}
