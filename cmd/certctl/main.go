// Command certctl manages a per-user certificate store and signs in to
// Microsoft Entra ID with it.
//
// Output rules: data goes to stdout; everything for people (errors,
// warnings, hints, progress) goes to stderr as "certctl: level: message".
// Exit codes are in exitcodes.go.
package main

import (
	"os"

	"github.com/pkg/browser"
)

func main() {
	// The browser opener's chatter is for people, not for stdout, which
	// carries only data.
	browser.Stdout = os.Stderr
	os.Exit(run(os.Args, newEnv()))
}
