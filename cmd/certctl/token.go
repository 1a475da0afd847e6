package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/login"
)

func (h *handlers) tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "print an access token for the saved sign-in",
		Description: `Signs in again the way 'certctl login' did, finding the certificate in its
store by thumbprint, and prints only the access token, for scripts. The default
scope is the environment's Resource Manager. certctl keeps no tokens: a
client-secret sign-in needs the secret again (its file, --client-secret-stdin
or $AZURE_CLIENT_SECRET), and an interactive one asks again.

Examples:
   curl -H "Authorization: Bearer $(certctl token)" https://management.azure.com/subscriptions?api-version=2022-12-01
   certctl token --scope https://vault.azure.net/.default --output json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "scope", Usage: "`SCOPE` of the token (default: Resource Manager's /.default)"},
			&cli.BoolFlag{Name: "client-secret-stdin", Usage: "read the client secret from standard input"},
			passwordFileFlag(), passwordStdinFlag(), outputFlag(),
			&cli.DurationFlag{Name: "timeout", Usage: "give up after `DURATION`", Value: time.Minute},
		},
		Action: h.tokenAction,
	}
}

type tokenJSON struct {
	AccessToken string    `json:"accessToken"`
	TokenType   string    `json:"tokenType"`
	ExpiresOn   time.Time `json:"expiresOn"`
	Tenant      string    `json:"tenant"`
	Scope       string    `json:"scope"`
}

func (h *handlers) tokenAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	dir, saved, err := h.savedContext()
	if err != nil {
		return err
	}
	if saved.Method.Interactive() && h.env.readPassword == nil {
		return &usageError{msg: "the saved sign-in is interactive and certctl keeps no tokens, so it must ask again, but there is no terminal: sign in with a service principal or managed identity for scripts"}
	}
	envr, err := login.FindEnvironment(dir, saved.Environment)
	if errors.Is(err, login.ErrUnknownEnvironment) {
		return badInput(fmt.Errorf("the sign-in context in %s names environment %s, which is no longer registered: register it again with 'certctl environment add', or sign in again", filepath.Join(dir, login.ContextFile), saved.Environment))
	}
	if err != nil {
		return err
	}
	opts, err := h.options(c, saved, envr)
	if err != nil {
		return err
	}
	scope := c.String("scope")
	if scope == "" {
		scope = envr.ManagementScope()
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("timeout"))
	defer cancel()
	tok, err := login.Token(ctx, opts, scope)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(h.env.stdout, tokenJSON{AccessToken: tok.Token, TokenType: "Bearer", ExpiresOn: tok.ExpiresOn.UTC(), Tenant: saved.Tenant, Scope: scope})
	}
	// A token is base64url text; escaping keeps a hostile service from
	// writing control sequences to the terminal through it.
	_, err = h.env.stdout.Write([]byte(escapeText(tok.Token) + "\n"))
	return err
}
