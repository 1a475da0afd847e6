package main

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHoistFlags checks the rewriting that lets flags come after
// arguments, on the real command definitions.
func TestHoistFlags(t *testing.T) {
	app := newApp(&env{})
	for _, tc := range []struct{ in, want string }{
		{"export TP --out f.pfx", "export --out f.pfx -- TP"},
		{"export TP --out=f.pfx --no-key", "export --out=f.pfx --no-key -- TP"},
		{"--store-dir d list", "list --store-dir d"},
		{"--store-dir d -o json list", "list --store-dir d -o json"},
		{"-o json thumbprint f.pem", "thumbprint -o json -- f.pem"},
		{"environment add Stack --authority-host https://a/", "environment add --authority-host https://a/ -- Stack"},
		{"import a.pfx -- --odd-name.pfx", "import -- a.pfx --odd-name.pfx"},
		{"thumbprint -", "thumbprint -- -"},
		{"import a.pfx --password-stdin b.pfx", "import --password-stdin -- a.pfx b.pfx"},
		{"nosuch --flag x", "nosuch --flag x"},
		{"--help", "--help"},
	} {
		got := hoistFlags(app, append([]string{"certctl"}, strings.Fields(tc.in)...))
		assert.Equal(t, "certctl "+tc.want, strings.Join(got, " "), "for %q", tc.in)
	}
}

// inProcess serializes the tests that call run in this process: urfave/cli
// writes its package-level HelpFlag on every App.Run, so two apps may not
// run at once in one process. certctl itself runs one app per process.
var inProcess sync.Mutex

// runInProcess is run, one at a time.
func runInProcess(args []string, e *env) int {
	inProcess.Lock()
	defer inProcess.Unlock()
	return run(args, e)
}
