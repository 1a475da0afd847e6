package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) loginCommand() *cli.Command {
	return &cli.Command{
		Name:  "login",
		Usage: "sign in to Azure (Entra ID) and remember the sign-in for 'certctl token'",
		Description: `Methods, chosen by flags:
   --service-principal --thumbprint TP        certificate from the store (its key is never exported)
   --service-principal --certificate-path F   certificate from a PFX or PEM file
   --service-principal                        client secret from --client-secret-stdin,
                                              --client-secret-file or $AZURE_CLIENT_SECRET
   --federated-token-file F                   workload identity (Kubernetes, CI OIDC)
   --identity [--client-id|--resource-id|--object-id ID]   managed identity
   --use-device-code                          a person, with a code on another device
   (nothing)                                  a person, in the browser (device code if no browser)
$AZURE_TENANT_ID, $AZURE_CLIENT_ID, $AZURE_CLIENT_CERTIFICATE_PATH, $AZURE_CLIENT_SECRET
and $AZURE_FEDERATED_TOKEN_FILE fill the matching flags.

Examples:
   certctl login --service-principal --tenant contoso.onmicrosoft.com --application-id APP_ID --thumbprint 3A5F0C2B9E8D7A6F5E4D3C2B1A09F8E7D6C5B4A3
   printf '%s' "$SECRET" | certctl login --service-principal --tenant T --application-id APP_ID --client-secret-stdin
   certctl login --identity --client-id 00000000-0000-0000-0000-000000000000
   certctl login --environment AzureUSGovernment --use-device-code`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "service-principal", Usage: "sign in as an application (service principal)"},
			&cli.StringFlag{Name: "tenant", Aliases: []string{"t"}, Usage: "tenant `ID` or domain", EnvVars: []string{"AZURE_TENANT_ID"}},
			&cli.StringFlag{Name: "application-id", Usage: "application (client) `ID` of the service principal", EnvVars: []string{"AZURE_CLIENT_ID"}},
			&cli.StringFlag{Name: "thumbprint", Usage: "`THUMBPRINT` of the certificate in the store"},
			storeFlag(), storeDirFlag(),
			&cli.StringFlag{Name: "certificate-path", Usage: "PFX or PEM `FILE` with the certificate and key (--thumbprint wins when both are given)", EnvVars: []string{"AZURE_CLIENT_CERTIFICATE_PATH"}},
			passwordFileFlag(), passwordStdinFlag(),
			&cli.BoolFlag{Name: "send-certificate-chain", Usage: "send the certificate chain (x5c), for subject name and issuer registration"},
			&cli.BoolFlag{Name: "client-secret-stdin", Usage: "read the client secret from standard input"},
			&cli.StringFlag{Name: "client-secret-file", Usage: "read the client secret from the first line of `FILE`"},
			&cli.BoolFlag{Name: "identity", Usage: "sign in with the managed identity of this Azure resource"},
			&cli.StringFlag{Name: "client-id", Usage: "client `ID` of a user-assigned managed identity"},
			&cli.StringFlag{Name: "resource-id", Usage: "resource `ID` of a user-assigned managed identity"},
			&cli.StringFlag{Name: "object-id", Usage: "object `ID` of a user-assigned managed identity"},
			&cli.StringFlag{Name: "federated-token-file", Usage: "`FILE` with a federated (OIDC) token, for workload identity", EnvVars: []string{"AZURE_FEDERATED_TOKEN_FILE"}},
			&cli.BoolFlag{Name: "use-device-code", Usage: "sign in a person with a device code"},
			environmentFlag(), outputFlag(),
			&cli.DurationFlag{Name: "timeout", Usage: "give up after `DURATION` (interactive sign-ins get 10 minutes)", Value: time.Minute},
		},
		Action: h.loginAction,
	}
}

// chooseMethod reads the method from the flags, as Connect-AzAccount and az
// login do.
func (h *handlers) chooseMethod(c *cli.Context) (login.Method, error) {
	sp, identity := c.Bool("service-principal"), c.Bool("identity")
	cert := c.String("thumbprint") != "" || c.String("certificate-path") != ""
	switch {
	case identity && sp:
		return "", &usageError{msg: "use either --identity or --service-principal, not both"}
	case identity:
		return login.MethodManagedIdentity, nil
	case sp && cert:
		return login.MethodCertificate, nil
	case sp && h.secretGiven(c):
		return login.MethodSecret, nil
	case c.String("federated-token-file") != "" && !c.Bool("use-device-code"):
		return login.MethodWorkloadIdentity, nil
	case sp:
		return "", &usageError{msg: "--service-principal needs a credential: --thumbprint, --certificate-path, a client secret (--client-secret-stdin, --client-secret-file or $AZURE_CLIENT_SECRET) or --federated-token-file"}
	case c.Bool("use-device-code"):
		return login.MethodDeviceCode, nil
	case h.env.readPassword != nil: // a terminal is attached
		return login.MethodBrowser, nil
	}
	return "", &usageError{msg: "no sign-in method given and no terminal for an interactive sign-in: use --service-principal with --thumbprint, --certificate-path or a client secret; --identity; --federated-token-file; or --use-device-code"}
}

func (h *handlers) secretGiven(c *cli.Context) bool {
	return c.Bool("client-secret-stdin") || c.String("client-secret-file") != "" || h.env.getenv("AZURE_CLIENT_SECRET") != ""
}

// readSecret reads the client secret from where the user put it: stdin,
// file, or $AZURE_CLIENT_SECRET.
func (h *handlers) readSecret(c *cli.Context, file string) (secret string, err error) {
	switch {
	case c.Bool("client-secret-stdin") && file != "":
		return "", &usageError{msg: "use either --client-secret-stdin or --client-secret-file, not both"}
	case c.Bool("client-secret-stdin"):
		secret, err = readStdinSecret(h.env, "--client-secret-stdin")
	case file != "":
		secret, err = readSecretFile(h.env, "--client-secret-file", file)
	default:
		secret = h.env.getenv("AZURE_CLIENT_SECRET")
	}
	if err == nil && secret == "" {
		err = badInput(errors.New("no client secret: give it with --client-secret-stdin, --client-secret-file or $AZURE_CLIENT_SECRET"))
	}
	return secret, err
}

// certificateFile reads the certificate to sign in with from a PFX or PEM
// file, with the password options of import.
func (h *handlers) certificateFile(c *cli.Context, path string) (certstore.Identity, error) {
	data, fi, err := readInputFile(path)
	if err != nil {
		return nil, err
	}
	if err := checkSecretFile(h.env, "--certificate-path", path, fi); err != nil {
		return nil, err
	}
	pr := &passwordReader{c: c, e: h.env, envNames: []string{passwordEnv, "AZURE_CLIENT_CERTIFICATE_PASSWORD"}}
	b, err := pr.decode(path, data)
	if err != nil {
		return nil, err
	}
	return certstore.BundleIdentity(b), nil
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
	saved, err := contextFromFlags(c, method, envr)
	if err != nil {
		return err
	}
	opts, err := h.options(c, saved, envr)
	if err != nil {
		return err
	}

	timeout := c.Duration("timeout")
	if method.Interactive() && !c.IsSet("timeout") {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := login.SignIn(ctx, opts)
	if err != nil && method == login.MethodBrowser && browserUnavailable(err) {
		h.env.warnf("could not open a browser (%v); signing in with a device code instead", err)
		opts.Method, saved.Method = login.MethodDeviceCode, login.MethodDeviceCode
		res, err = login.SignIn(ctx, opts)
	}
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		h.env.warnf("%s", w)
	}
	saved.Account, saved.Tenant, saved.Subscription = res.Account, res.Tenant, res.Subscription
	saved.SignedInAt = h.env.now().UTC()
	if err := login.SaveContext(dir, saved); err != nil {
		return err
	}
	return h.printContext(saved, format)
}

// contextFromFlags is what certctl will remember of this sign-in: where the
// credential lives, never the credential.
func contextFromFlags(c *cli.Context, method login.Method, envr login.Environment) (*login.Context, error) {
	saved := &login.Context{
		Method:      method,
		Environment: envr.Name,
		Tenant:      c.String("tenant"),
		ClientID:    c.String("application-id"),
	}
	if saved.Tenant != "" {
		if err := login.ValidateTenant(saved.Tenant); err != nil {
			return nil, &usageError{msg: "--tenant " + err.Error()}
		}
	}
	switch method {
	case login.MethodCertificate, login.MethodSecret, login.MethodWorkloadIdentity:
		if saved.Tenant == "" {
			return nil, &usageError{msg: "a service principal sign-in needs --tenant (or $AZURE_TENANT_ID)"}
		}
		if saved.ClientID == "" {
			return nil, &usageError{msg: "a service principal sign-in needs --application-id (or $AZURE_CLIENT_ID)"}
		}
	case login.MethodManagedIdentity:
		saved.ClientID = c.String("client-id")
		saved.ManagedIdentityResourceID = c.String("resource-id")
		saved.ManagedIdentityObjectID = c.String("object-id")
	case login.MethodDeviceCode, login.MethodBrowser:
		saved.ClientID = ""
	}
	switch method {
	case login.MethodCertificate:
		saved.SendCertificateChain = c.Bool("send-certificate-chain")
		if tpText := c.String("thumbprint"); tpText != "" {
			tp, err := thumbprint.Parse(tpText)
			if err != nil {
				return nil, err
			}
			saved.Thumbprint = tp.String()
			saved.Store, saved.StoreDir = c.String("store"), absPath(c.String("store-dir"))
		} else {
			saved.CertificatePath = absPath(c.String("certificate-path"))
		}
	case login.MethodSecret:
		saved.SecretFile = absPath(c.String("client-secret-file"))
	case login.MethodWorkloadIdentity:
		saved.FederatedTokenFile = absPath(c.String("federated-token-file"))
	}
	return saved, nil
}

// options turns a context into sign-in options, fetching the credential
// from where the context says it is: the certificate from its store or
// file, the secret from its file, stdin or $AZURE_CLIENT_SECRET.
func (h *handlers) options(c *cli.Context, saved *login.Context, envr login.Environment) (login.Options, error) {
	opts, err := saved.Options(envr, login.Sources{
		CertificateFile: func(path string) (certstore.Identity, error) { return h.certificateFile(c, path) },
		Secret:          func(file string) (string, error) { return h.readSecret(c, file) },
	})
	opts.DeviceCodePrompt = func(msg string) { h.env.infof("%s", msg) }
	opts.Now = h.env.now
	return opts, err
}

// browserUnavailable tells a browser that could not be started from a
// refused sign-in.
func browserUnavailable(err error) bool {
	if errors.Is(err, exec.ErrNotFound) {
		return true
	}
	// azidentity passes the opener's failure on as text.
	s := err.Error()
	return strings.Contains(s, "executable file not found") || strings.Contains(s, "xdg-open") && strings.Contains(s, "exit status")
}

func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// printContext prints what Connect-AzAccount prints after a sign-in.
func (h *handlers) printContext(ctx *login.Context, format string) error {
	if format == "json" {
		return writeJSON(h.env.stdout, ctx)
	}
	subName, subID := "", ""
	if ctx.Subscription != nil {
		subName, subID = ctx.Subscription.Name, ctx.Subscription.ID
	}
	t := newTable(h.env.stdout, "ACCOUNT", "SUBSCRIPTION", "SUBSCRIPTION ID", "TENANT", "ENVIRONMENT")
	t.row(ctx.Account, dash(subName), dash(subID), ctx.Tenant, ctx.Environment)
	return t.flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
