package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/login"
)

func (h *handlers) logoutCommand() *cli.Command {
	return &cli.Command{
		Name:  "logout",
		Usage: "forget the saved sign-in",
		Description: `Removes the sign-in context. Certificates stay in the store.

Example:
   certctl logout`,
		Action: h.logoutAction,
	}
}

func (h *handlers) logoutAction(c *cli.Context) error {
	if err := wantArgs(c, 0, 0, ""); err != nil {
		return err
	}
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	if err := login.RemoveContext(dir); err != nil {
		return err
	}
	h.env.infof("signed out")
	return nil
}

func (h *handlers) contextCommand() *cli.Command {
	return &cli.Command{
		Name:  "context",
		Usage: "show the saved sign-in",
		Subcommands: []*cli.Command{{
			Name:  "show",
			Usage: "show the saved sign-in: account, tenant, environment, method and where the key lives",
			Description: `The context holds no secret, token or key, only where to find them.

Example:
   certctl context show --output json`,
			Flags:  []cli.Flag{outputFlag()},
			Action: h.contextShowAction,
		}},
	}
}

func (h *handlers) contextShowAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	_, saved, err := h.savedContext()
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(h.env.stdout, saved)
	}
	t := newTable(h.env.stdout)
	t.row("Account:", saved.Account)
	t.row("Tenant:", saved.Tenant)
	t.row("Environment:", saved.Environment)
	t.row("Method:", string(saved.Method))
	if saved.Subscription != nil {
		t.row("Subscription:", saved.Subscription.Name+" ("+saved.Subscription.ID+")")
	}
	switch {
	case saved.Thumbprint != "":
		where := "store " + saved.Store
		if saved.StoreDir != "" {
			where += " in " + saved.StoreDir
		}
		t.row("Certificate:", saved.Thumbprint+" in "+where)
	case saved.CertificatePath != "":
		t.row("Certificate:", saved.CertificatePath)
	case saved.SecretFile != "":
		t.row("Client secret:", "read from "+saved.SecretFile)
	case saved.Method == login.MethodSecret:
		t.row("Client secret:", "not kept; give it to 'certctl token' with --client-secret-stdin or $AZURE_CLIENT_SECRET")
	case saved.FederatedTokenFile != "":
		t.row("Federated token:", saved.FederatedTokenFile)
	}
	t.row("Signed in:", saved.SignedInAt.Format(time.RFC3339))
	return t.flush()
}
