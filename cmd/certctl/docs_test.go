package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEnvironmentVariablesAreDocumented fails when certctl reads an
// environment variable that the README does not mention: every variable a
// flag reads, and every name passed to getenv or held in a constant ending
// in Env.
func TestEnvironmentVariablesAreDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
					for _, n := range ev.GetEnvVars() {
						names[n] = true
					}
				}
			}
			walk(c.Subcommands)
		}
	}
	app := newApp(newEnv())
	walk(app.Commands)
	for _, f := range app.Flags {
		if ev, ok := f.(interface{ GetEnvVars() []string }); ok {
			for _, n := range ev.GetEnvVars() {
				names[n] = true
			}
		}
	}
	// Names in the code: getenv("X"), and constants and lists of them.
	src, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	quoted := regexp.MustCompile(`"((?:CERTCTL|AZURE)_[A-Z_]+)"`)
	for _, f := range src {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range quoted.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	if len(names) < 5 {
		t.Fatalf("found only %v; the scan is broken", names)
	}
	for n := range names {
		if !strings.Contains(string(readme), n) {
			t.Errorf("certctl reads $%s, but README.md does not mention it", n)
		}
	}
}
