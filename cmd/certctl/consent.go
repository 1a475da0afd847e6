package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/login"
)

func (h *handlers) consentCommand() *cli.Command {
	return &cli.Command{
		Name:  "consent",
		Usage: "sign a person in once, interactively, and save a refresh token for unattended sign-ins (Secure Application Model)",
		Description: `Runs one interactive sign-in to the application: the authorization code flow
with PKCE in the browser, with a redirect to a loopback port (--redirect-port;
by default the first free one from 8400 to 8999, as Azure PowerShell does), or
a device code with --use-device-code. The application signs in as a
confidential client, with its certificate (the store's signer, or a file) or
its client secret, and asks for offline_access. The refresh token goes to
--refresh-token-file, written atomically with mode 0600; certctl prints the
account and tenant, never the token.

Then 'certctl login --refresh-token-file FILE' and 'certctl token' redeem it,
rotating the file each time.

Examples:
   certctl consent --tenant contoso.onmicrosoft.com --application-id APP_ID --thumbprint 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3 --refresh-token-file ~/.partner.rt
   certctl consent --tenant T --application-id APP_ID --client-secret-file secret.txt --scope https://api.partnercenter.microsoft.com/user_impersonation --use-device-code --refresh-token-file partner.rt`,
		Flags: append(append([]cli.Flag{tenantFlag(), applicationIDFlag()}, clientCredentialFlags()...),
			&cli.StringSliceFlag{Name: "scope", Usage: "`SCOPE` to consent to, repeatable (default: Resource Manager's /.default)"},
			&cli.BoolFlag{Name: "use-device-code", Usage: "sign in with a device code instead of the browser"},
			&cli.IntFlag{Name: "redirect-port", Usage: "loopback `PORT` of the browser's redirect (default: the first free one from 8400 to 8999)"},
			&cli.StringFlag{Name: "refresh-token-file", Usage: "write the refresh token to `FILE` (mode 0600)"},
			environmentFlag(), outputFlag(),
			&cli.DurationFlag{Name: "timeout", Usage: "give up after `DURATION`", Value: 10 * time.Minute},
		),
		Action: h.consentAction,
	}
}

func (h *handlers) consentAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	out := c.String("refresh-token-file")
	switch {
	case out == "":
		return &usageError{msg: "consent needs --refresh-token-file FILE, where the refresh token goes"}
	case c.String("tenant") == "":
		return &usageError{msg: "consent needs --tenant (or $AZURE_TENANT_ID)"}
	case c.String("application-id") == "":
		return &usageError{msg: "consent needs --application-id (or $AZURE_CLIENT_ID)"}
	case c.IsSet("redirect-port") && (c.Int("redirect-port") < 1 || c.Int("redirect-port") > 65535):
		return &usageError{msg: fmt.Sprintf("--redirect-port %d: give a port from 1 to 65535", c.Int("redirect-port"))}
	case c.Bool("use-device-code") && c.IsSet("redirect-port"):
		return &usageError{msg: "use either --use-device-code or --redirect-port, not both"}
	}
	// Fail before the person signs in, not after, when the token could
	// not be written.
	if fi, err := os.Stat(filepath.Dir(absPath(out))); err != nil || !fi.IsDir() {
		return badInput(fmt.Errorf("--refresh-token-file %s: its folder does not exist", out))
	}
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	envr, err := login.FindEnvironment(dir, c.String("environment"))
	if err != nil {
		return usage(err)
	}
	saved, err := h.contextFromFlags(c, login.MethodRefreshToken, envr)
	if err != nil {
		return err
	}
	opts, err := h.options(c, saved, envr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("timeout"))
	defer cancel()
	res, err := login.Consent(ctx, login.ConsentOptions{
		Options:       opts,
		Scopes:        c.StringSlice("scope"),
		UseDeviceCode: c.Bool("use-device-code"),
		RedirectPort:  c.Int("redirect-port"),
	})
	if errors.Is(err, login.ErrBrowserUnavailable) {
		return fmt.Errorf("%w; run consent again with --use-device-code", err)
	}
	if err != nil {
		return err
	}
	if err := login.SaveRefreshToken(absPath(out), res.RefreshToken); err != nil {
		return err
	}
	h.env.infof("saved the refresh token in %s; sign in with: certctl login --refresh-token-file %s --tenant %s --application-id %s ...", out, out, saved.Tenant, saved.ClientID)
	if format == "json" {
		return writeJSON(h.env.stdout, struct {
			Account          string `json:"account"`
			Tenant           string `json:"tenant"`
			RefreshTokenFile string `json:"refreshTokenFile"`
		}{res.Account, res.Tenant, absPath(out)})
	}
	t := newTable(h.env.stdout, "ACCOUNT", "TENANT")
	t.row(res.Account, res.Tenant)
	return t.flush()
}
