// Command govc is govmomi's own govc command line, with the commands cutover's tests and README use
// (ls, find, vm.info, session.ls, about, folder.create, object.mv, tags.*): the real govc code of the pinned govmomi, linked here
// because govc's main lives in a module of its own. Tests build it to check the lab and cutover
// against what govc says.
package main

import (
	"os"

	"github.com/vmware/govmomi/cli"
	_ "github.com/vmware/govmomi/cli/about"
	_ "github.com/vmware/govmomi/cli/folder"
	_ "github.com/vmware/govmomi/cli/object"
	_ "github.com/vmware/govmomi/cli/session"
	_ "github.com/vmware/govmomi/cli/tags"
	_ "github.com/vmware/govmomi/cli/tags/association"
	_ "github.com/vmware/govmomi/cli/tags/category"
	_ "github.com/vmware/govmomi/cli/vm"
)

func main() { os.Exit(cli.Run(os.Args[1:])) }
