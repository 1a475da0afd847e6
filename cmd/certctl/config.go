package main

import (
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
