// Command certctl manages a per-user certificate store and signs in to
// Microsoft Entra ID with it.
//
// Output rules: data goes to stdout; everything for people (errors,
// warnings, hints, progress) goes to stderr as "certctl: level: message".
// Exit codes are in exitcodes.go.
package main

import "os"

func main() {
	os.Exit(run(os.Args, newEnv()))
}
