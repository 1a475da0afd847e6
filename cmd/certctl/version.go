package main

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/urfave/cli/v2"
)

// versionJSON is 'certctl version --output json'. Scripts read these names:
// they never change. A field Go did not record is left out.
type versionJSON struct {
	// Version is the module version: a tag, a pseudo-version that names
	// the commit, or "(devel)".
	Version string `json:"version"`
	// Revision is the commit certctl was built from.
	Revision string `json:"revision,omitempty"`
	// CommitDate is the commit's time (vcs.time). Go records no build
	// date, and certctl does not invent one.
	CommitDate string `json:"commitDate,omitempty"`
	// Modified says the working tree had changes that were not committed.
	Modified *bool `json:"modified,omitempty"`
	// GoVersion is the Go release that compiled certctl.
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// readVersion collects what the Go toolchain recorded in the binary. A test
// binary or "go run" records no module version or commit: those fields
// stay empty.
func readVersion(info *debug.BuildInfo, ok bool) versionJSON {
	v := versionJSON{GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok || info == nil {
		return v
	}
	v.Version = info.Main.Version
	if info.GoVersion != "" {
		v.GoVersion = info.GoVersion
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.CommitDate = s.Value
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				v.CommitDate = t.UTC().Format(time.RFC3339)
			}
		case "vcs.modified":
			modified := s.Value == "true"
			v.Modified = &modified
		}
	}
	return v
}

func (h *handlers) versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print certctl's version, commit, commit date and Go version",
		Description: `Prints what the Go toolchain recorded when it built certctl: the module
version, the commit it was built from and that commit's date (Go records no
build date), whether the working tree had changes, the Go version and the
platform. A field that was not recorded (a build outside a git checkout, or
'go run') shows as "unknown" and is left out of the JSON. 'certctl --version'
prints the same.

Examples:
   certctl version
   certctl version --output json
   certctl --version`,
		Flags:  []cli.Flag{outputFlag()},
		Action: h.versionAction,
	}
}

// versionFlag is the global --version. It has no -v: that letter stays free.
func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Usage: "print certctl's version, as 'certctl version' does"}
}

func (h *handlers) versionAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	v := readVersion(debug.ReadBuildInfo())
	if format == "json" {
		return writeJSON(h.env.stdout, v)
	}
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	revision := unknown(v.Revision)
	if v.Modified != nil && *v.Modified {
		revision += " (modified)"
	}
	t := newTable(h.env.stdout)
	t.row("Version:", unknown(v.Version))
	t.row("Commit:", revision)
	t.row("Commit date:", unknown(v.CommitDate))
	t.row("Go:", v.GoVersion)
	t.row("Platform:", v.Platform)
	return t.flush()
}
