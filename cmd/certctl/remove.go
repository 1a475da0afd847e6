package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) removeCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Aliases:   []string{"rm"},
		Usage:     "delete certificates and their private keys from a store",
		ArgsUsage: "THUMBPRINT...",
		Description: `Deletes each certificate and its key. There is no undo: export it first if
you may need it again.

All or nothing: if any THUMBPRINT is not in the store, nothing is removed
and the error names every one that is missing (exit code 3); if a removal
fails part way, the certificates already removed are put back, with their
keys and chains (on Windows, a key stored as not exportable cannot be put
back: the error then says so). A THUMBPRINT given twice is removed once.

Examples:
   certctl remove 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3
   certctl remove 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --store TrustedPeople
   certctl remove 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F5A6B7C8D9E`,
		Flags:  []cli.Flag{storeFlag(), storeDirFlag()},
		Action: h.removeAction,
	}
}

func (h *handlers) removeAction(c *cli.Context) error {
	if err := wantArgs(c, 1, -1, "THUMBPRINT"); err != nil {
		return err
	}
	s, args, err := openByThumbprint(c)
	if err != nil {
		return err
	}
	defer s.Close()
	var tps []thumbprint.Thumbprint
	seen := map[thumbprint.Thumbprint]bool{}
	for _, tp := range args {
		if !seen[tp] {
			seen[tp] = true
			tps = append(tps, tp)
		}
	}

	// Every one must be there before any goes.
	missing := &missingError{store: s.Name(), several: len(tps) > 1, note: "nothing was removed"}
	for _, tp := range tps {
		if _, err := s.Find(tp); err != nil {
			if err := missing.add(tp, err); err != nil {
				return err
			}
		}
	}
	if err := missing.result(); err != nil {
		return err
	}

	tx := certstore.Begin(s)
	for _, tp := range tps {
		if err := tx.Remove(tp); err != nil {
			if rerr := tx.Rollback(); rerr != nil {
				return fmt.Errorf("%w; %w", err, rerr)
			}
			if len(tps) > 1 {
				return fmt.Errorf("%w: nothing was removed", err)
			}
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for _, tp := range tps {
		h.env.infof("removed %s from store %s", tp, s.Name())
	}
	return nil
}
