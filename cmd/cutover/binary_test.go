package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// builtBinary is the cutover binary the tests that need a real process share: built once per
// test run into a directory TestMain removes.
type builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

var shared builtBinary // test-process state: one build for every test that runs the real binary

// cutoverBin returns the path of the built binary.
func cutoverBin(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "cutover-bin-"); shared.err != nil {
			return
		}
		shared.path = filepath.Join(shared.dir, "cutover")
		// -buildvcs=true: the binary says its revision (cutover version), as a release build does.
		shared.out, shared.err = exec.Command("go", "build", "-buildvcs=true", "-o", shared.path, ".").CombinedOutput()
	})
	if shared.err != nil {
		t.Fatalf("build: %v %s", shared.err, shared.out)
	}
	return shared.path
}

func removeBinary() {
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}
