package main

import (
	"strings"
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
