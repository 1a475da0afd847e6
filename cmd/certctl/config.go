package main

import (
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/platform"
)

// configDirEnv moves certctl's settings (sign-in context, registered
// environments) out of the user's config folder.
const configDirEnv = "CERTCTL_CONFIG_DIR"

// configDir is where the sign-in context and registered environments live.
func (h *handlers) configDir() (string, error) {
	if d := h.env.getenv(configDirEnv); d != "" {
		return d, nil
	}
	return platform.ConfigDir()
}

// savedContext reads the sign-in context, with the folder it lives in.
func (h *handlers) savedContext() (dir string, saved *login.Context, err error) {
	if dir, err = h.configDir(); err != nil {
		return "", nil, err
	}
	saved, err = login.LoadContext(dir)
	return dir, saved, err
}
