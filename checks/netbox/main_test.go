package netbox

import (
	"os"
	"testing"

	"github.com/cutover/cutover/internal/testenv"
)

// TestMain says, where a developer sees it, what could not be tested on this machine.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
