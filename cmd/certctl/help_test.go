package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEveryCommandHasExamples: the --help of every command a person may
// type shows examples of that very command.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	app := newApp(newEnv())
	n := 0
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := strings.TrimSpace(path + " " + c.Name)
			n++
			_, examples, ok := strings.Cut(c.Description, "Examples:\n")
			if !ok {
				_, examples, ok = strings.Cut(c.Description, "Example:\n")
			}
			if !ok {
				t.Errorf("certctl %s --help has no Examples: section", p)
				continue
			}
			names := strings.Join(append([]string{c.Name}, c.Aliases...), "|")
			parent := regexp.QuoteMeta(path)
			if path != "" {
				parent += " "
			}
			re := regexp.MustCompile(`(?m)^   (.*\| )?certctl ` + parent + `(` + names + `)( |$)`)
			if !re.MatchString(examples) {
				t.Errorf("the examples of certctl %s --help never run it:\n%s", p, examples)
			}
			walk(p, c.Subcommands)
		}
	}
	walk("", app.Commands)
	if n < 25 {
		t.Fatalf("found only %d commands; the walk is broken", n)
	}
}
