package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/login"
)

func (h *handlers) loginCommand() *cli.Command {
	return &cli.Command{
		Name:  "login",
		Usage: "sign in to Azure (Entra ID) and save the sign-in as a context for 'certctl token'",
		Description: `Methods, chosen by flags (a credential flag means a service principal;
--service-principal may be given too):
   --thumbprint TP                     certificate from the store (its key is never exported)
   --certificate-path F                certificate from a PFX or PEM file
   --client-secret-stdin, --client-secret-file F, or
     --service-principal with $AZURE_CLIENT_SECRET   client secret
   --federated-token-file F            workload identity (Kubernetes, CI OIDC)
   --identity [--client-id|--resource-id|--object-id ID]   managed identity
   --refresh-token-file F [--thumbprint TP | --client-secret-*]
                                       a refresh token from 'certctl consent' (Secure
                                       Application Model); each use rotates the file
   --access-token-file F | --access-token-stdin, with --account-id ID
                                       an access token, used as it is until it expires
   --use-device-code                   a person, with a code on another device
   (nothing)                           a person, in the browser (device code if no browser)
$AZURE_TENANT_ID, $AZURE_CLIENT_ID, $AZURE_CLIENT_CERTIFICATE_PATH, $AZURE_CLIENT_SECRET
and $AZURE_FEDERATED_TOKEN_FILE fill the matching flags.

The sign-in is saved as a context named --context-name, or after the account,
tenant and environment, and becomes the current one ('certctl context list').
It holds where the credential is, never the credential or a token. The default
subscription is --subscription, or the first enabled one; an account without
subscriptions needs --allow-no-subscriptions.

Examples:
   certctl login --tenant contoso.onmicrosoft.com --application-id APP_ID --thumbprint 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3
   printf '%s' "$SECRET" | certctl login --tenant T --application-id APP_ID --client-secret-stdin
   certctl login --identity --client-id 00000000-0000-0000-0000-000000000000 --context-name vm
   certctl login --refresh-token-file ~/.partner.rt --tenant T --application-id APP_ID --thumbprint TP
   certctl login --access-token-file token.txt --account-id alex@contoso.com
   certctl login --environment AzureUSGovernment --use-device-code --subscription Production`,
		Flags: append(methodFlags(),
			&cli.StringFlag{Name: "context-name", Usage: "save the sign-in as context `NAME` (default: account/tenant)"},
			&cli.StringFlag{Name: "subscription", Usage: "default subscription `ID or NAME`"},
			&cli.BoolFlag{Name: "allow-no-subscriptions", Usage: "sign in at tenant level when the account has no subscription"},
			outputFlag(),
			timeoutFlag("give up after `DURATION` (interactive sign-ins get 10 minutes)"),
		),
		Action: h.loginAction,
	}
}

func (h *handlers) loginAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	method, err := h.chooseMethod(c)
	if err != nil {
		return err
	}
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	envr, err := login.FindEnvironment(dir, c.String("environment"))
	if err != nil {
		return usage(err)
	}
	saved, err := h.contextFromFlags(c, method, envr)
	if err != nil {
		return err
	}
	if name := c.String("context-name"); c.IsSet("context-name") {
		if name == "" {
			return &usageError{msg: "--context-name needs a name"}
		}
		saved.Name = name
	}
	opts, err := h.options(c, saved, envr)
	if err != nil {
		return err
	}
	opts.Subscription, opts.AllowNoSubscriptions = c.String("subscription"), c.Bool("allow-no-subscriptions")
	// The tenant's discovery metadata is kept from this sign-in on, so
	// that 'certctl token' makes one request.
	opts.MetadataDir = dir

	ctx, cancel := context.WithTimeout(context.Background(), h.timeout(c, method))
	defer cancel()
	res, err := login.SignIn(ctx, opts)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		h.env.warnf("%s", w)
	}
	saved.Method = res.Method
	if saved.Method == login.MethodDeviceCode {
		saved.ClientID = ""
	}
	saved.Account, saved.Tenant, saved.Subscription = res.Account, res.Tenant, res.Subscription
	saved.SignedInAt = h.env.now().UTC()
	if err := login.SaveContext(dir, saved); err != nil {
		return err
	}
	return h.printSignIn(saved, format)
}

// timeout is --timeout, or 10 minutes for a sign-in that waits for a
// person when --timeout is not given.
func (h *handlers) timeout(c *cli.Context, method login.Method) time.Duration {
	if method.Interactive() && !c.IsSet("timeout") {
		return 10 * time.Minute
	}
	return c.Duration("timeout")
}

// printSignIn prints what Connect-AzAccount prints after a sign-in.
func (h *handlers) printSignIn(ctx *login.Context, format string) error {
	if format == "json" {
		return writeJSON(h.env.stdout, contextJSONOf(ctx, true))
	}
	subName, subID := "", ""
	if ctx.Subscription != nil {
		subName, subID = ctx.Subscription.Name, ctx.Subscription.ID
	}
	t := newTable(h.env.stdout, "ACCOUNT", "SUBSCRIPTION", "SUBSCRIPTION ID", "TENANT", "ENVIRONMENT", "CONTEXT")
	t.row(ctx.Account, dash(subName), dash(subID), ctx.Tenant, ctx.Environment, ctx.Name)
	return t.flush()
}
