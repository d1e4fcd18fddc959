package remote

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Configs no one means, or someone means harm by: each is an error naming the file, at once.
func TestSSHConfigHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop.d")
	os.MkdirAll(loop, 0o755)
	for _, n := range []string{"a", "b", "c"} {
		os.WriteFile(filepath.Join(loop, n), []byte("Include "+loop+"/*\n"), 0o600)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("# padding\n", 500_000)), 0o600)
	for _, c := range []struct{ name, config, want string }{
		{"includes that include each other", "Include " + loop + "/*\n", "too many nested Includes"},
		{"a FIFO", "Include " + fifo + "\n", "not a regular file"},
		{"a device", "Include /dev/zero\n", "not a regular file"},
		{"a huge file", "Include " + big + "\n", "larger than 4 MiB"},
		{"a keyword with only a comment", "Host a\n  User #nobody\n", "no argument after keyword \"user\""},
		{"an open quote", "Host a\n  IdentityFile \"~/.ssh/x\n", "invalid quotes"},
		{"an unknown Match criterion", "Match tagged x\n  User y\n", "unsupported Match criterion \"tagged\""},
		{"Match all with more", "Match all host a\n  User y\n", "cannot be combined"}, // as ssh -G says
		{"Match all after two", "Match host a user b all\n  User y\n", "cannot be combined"},
		{"a bad port", "Host *\n  Port 0\n", "bad port"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			os.WriteFile(p, []byte(c.config), 0o600)
			cfg, err := loadSSHConfig(p, "", dir)
			if err == nil {
				_, err = cfg.resolve(Target{Address: "a"}, "root")
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}
