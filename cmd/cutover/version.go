package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is what this binary is, from the build info Go records: the module version, the VCS
// revision and time and whether the tree was modified, the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "cutover (no build info)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	rev, at, dirty := "", "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	out := "cutover " + v
	if rev != "" {
		out += fmt.Sprintf(", revision %s%s", rev, dirty)
		if at != "" {
			out += " of " + at
		}
	}
	return out + ", " + bi.GoVersion
}

func versionCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and Go version of this binary",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(s.out, version()) },
	}
}
