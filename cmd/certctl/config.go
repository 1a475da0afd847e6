package main

import (
	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/platform"
)

// configDirEnv moves certctl's settings (sign-in contexts, registered
// environments) out of the user's config folder.
const configDirEnv = "CERTCTL_CONFIG_DIR"

// configDir is where the sign-in contexts and registered environments live.
func (h *handlers) configDir() (string, error) {
	if d := h.env.getenv(configDirEnv); d != "" {
		return d, nil
	}
	return platform.ConfigDir()
}

// savedContext reads the sign-in context called name, or the current one
// when name is empty, with the folder it lives in.
func (h *handlers) savedContext(name string) (dir string, saved *login.Context, err error) {
	if dir, err = h.configDir(); err != nil {
		return "", nil, err
	}
	saved, err = login.LoadContext(dir, name)
	return dir, saved, err
}

func contextFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "context", Usage: usage}
}
