package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/login"
)

func (h *handlers) tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "print an access token for the current (or another) saved sign-in, or for the sign-in the flags describe",
		Description: `Signs in again the way 'certctl login' did, finding the certificate in its
store by thumbprint, and prints only the access token, for scripts. The default
scope is the environment's Resource Manager. certctl keeps no tokens: a
client-secret sign-in needs the secret again (its file, --client-secret-stdin
or $AZURE_CLIENT_SECRET), and an interactive one asks again. A refresh-token
sign-in redeems the refresh token for the scope asked (Graph, Partner Center,
Exchange, ...) and rotates its file; an access-token sign-in prints its token
until it expires.

With sign-in flags (--tenant, --application-id and a credential, as for
login), token signs in with those alone and reads and writes no context: for
one-shot scripts that must leave nothing behind.

Examples:
   curl -H "Authorization: Bearer $(certctl token)" https://management.azure.com/subscriptions?api-version=2022-12-01
   certctl token --scope https://graph.microsoft.com/.default --context partner
   certctl token --tenant T --application-id APP_ID --thumbprint 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --output json`,
		Flags: append(methodFlags(),
			&cli.StringFlag{Name: "scope", Usage: "`SCOPE` of the token (default: Resource Manager's /.default)"},
			contextFlag("use context `NAME` instead of the current one"),
			outputFlag(),
			timeoutFlag("give up after `DURATION`"),
		),
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

// oneShot reports whether the flags describe a sign-in of their own: a
// tenant, application or credential flag typed on the command line (their
// environment variables alone do not count).
func (h *handlers) oneShot(c *cli.Context) bool {
	if h.typed(c, "tenant", "AZURE_TENANT_ID") || h.typed(c, "application-id", "AZURE_CLIENT_ID") || c.Bool("service-principal") {
		return true
	}
	for _, g := range methodGroups {
		for _, f := range g.flags {
			if f.name != "client-secret-stdin" && f.name != "access-token-stdin" && h.typed(c, f.name, f.env) {
				return true
			}
		}
	}
	return false
}

func (h *handlers) tokenAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	var (
		opts   login.Options
		envr   login.Environment
		tenant string
		method login.Method
	)
	if h.oneShot(c) {
		if c.String("context") != "" {
			return &usageError{msg: "use either --context or sign-in flags, not both"}
		}
		if method, err = h.chooseMethod(c); err != nil {
			return err
		}
		dir, err := h.configDir()
		if err != nil {
			return err
		}
		if envr, err = login.FindEnvironment(dir, c.String("environment")); err != nil {
			return usage(err)
		}
		saved, err := h.contextFromFlags(c, method, envr)
		if err != nil {
			return err
		}
		if opts, err = h.options(c, saved, envr); err != nil {
			return err
		}
		tenant = saved.Tenant
	} else {
		var saved *login.Context
		if _, saved, envr, opts, err = h.contextOptions(c, c.String("context")); err != nil {
			return err
		}
		tenant, method = saved.Tenant, saved.Method
	}
	scope := c.String("scope")
	if scope == "" {
		scope = envr.ManagementScope()
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout(c, method))
	defer cancel()
	tok, err := login.Token(ctx, opts, scope)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(h.env.stdout, tokenJSON{AccessToken: tok.Token, TokenType: "Bearer", ExpiresOn: tok.ExpiresOn.UTC(), Tenant: tenant, Scope: scope})
	}
	// A token is base64url text; escaping keeps a hostile service from
	// writing control sequences to the terminal through it.
	_, err = h.env.stdout.Write([]byte(escapeText(tok.Token) + "\n"))
	return err
}
