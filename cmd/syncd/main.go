// Command syncd keeps a PingOne environment's users in step with an
// organisation's directory (LDAP, Active Directory) or HR export (CSV).
// Run `syncd help` for the commands and exit codes.
package main

import (
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	crashBySignal()
	ctx, stop := notifyContext(os.Stderr)
	code := NewMain(os.Stdin, os.Stdout, os.Stderr).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
