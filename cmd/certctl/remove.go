package main

import (
	"github.com/urfave/cli/v2"
)

func (h *handlers) removeCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "delete a certificate and its private key from a store",
		ArgsUsage: "THUMBPRINT",
		Description: `Deletes the certificate and its key. There is no undo: export it first if you
may need it again.

Examples:
   certctl remove 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3
   certctl remove 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --store TrustedPeople`,
		Flags:  []cli.Flag{storeFlag(), storeDirFlag()},
		Action: h.removeAction,
	}
}

func (h *handlers) removeAction(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "THUMBPRINT"); err != nil {
		return err
	}
	s, tp, err := openByThumbprint(c)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Remove(tp); err != nil {
		return err
	}
	h.env.infof("removed %s from store %s", tp, s.Name())
	return nil
}
