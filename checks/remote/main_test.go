package remote

import (
	"os"
	"testing"

	"github.com/cutover/cutover/internal/testenv"
)

// TestMain says, where a developer sees it, what could not be tested on this machine. Started by
// the ssh_config oracle inside its namespace, the binary is cutover's side of it instead.
func TestMain(m *testing.M) {
	if os.Getenv("CUTOVER_SSHG_HELPER") != "" {
		os.Exit(sshGHelper())
	}
	os.Exit(testenv.Main(m))
}
