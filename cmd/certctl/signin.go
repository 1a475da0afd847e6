package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

// Flags that say who signs in and with what, shared by login, consent and
// a one-shot token.

func tenantFlag() cli.Flag {
	return &cli.StringFlag{Name: "tenant", Aliases: []string{"t"}, Usage: "tenant `ID` or domain", EnvVars: []string{"AZURE_TENANT_ID"}}
}

func applicationIDFlag() cli.Flag {
	return &cli.StringFlag{Name: "application-id", Usage: "application (client) `ID` of the service principal", EnvVars: []string{"AZURE_CLIENT_ID"}}
}

func timeoutFlag(usage string) cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Usage: usage, Value: time.Minute}
}

// clientCredentialFlags are those of an application's own credential: a
// certificate in the store or a file, or a client secret.
func clientCredentialFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "thumbprint", Usage: "`THUMBPRINT` of the certificate in the store"},
		storeFlag(), storeDirFlag(),
		&cli.StringFlag{Name: "certificate-path", Usage: "PFX or PEM `FILE` with the certificate and key (--thumbprint wins when both are given)", EnvVars: []string{"AZURE_CLIENT_CERTIFICATE_PATH"}},
		passwordFileFlag(), passwordStdinFlag(),
		&cli.BoolFlag{Name: "send-certificate-chain", Usage: "send the certificate chain (x5c), for subject name and issuer registration"},
		&cli.BoolFlag{Name: "client-secret-stdin", Usage: "read the client secret from standard input"},
		&cli.StringFlag{Name: "client-secret-file", Usage: "read the client secret from the first line of `FILE`"},
	}
}

// methodFlags are the flags of every sign-in method, as login takes them.
func methodFlags() []cli.Flag {
	return append(append([]cli.Flag{
		&cli.BoolFlag{Name: "service-principal", Usage: "sign in as an application (implied by its credential flags)"},
		tenantFlag(), applicationIDFlag(),
	}, clientCredentialFlags()...),
		&cli.BoolFlag{Name: "identity", Usage: "sign in with the managed identity of this Azure resource"},
		&cli.StringFlag{Name: "client-id", Usage: "client `ID` of a user-assigned managed identity"},
		&cli.StringFlag{Name: "resource-id", Usage: "resource `ID` of a user-assigned managed identity"},
		&cli.StringFlag{Name: "object-id", Usage: "object `ID` of a user-assigned managed identity"},
		&cli.StringFlag{Name: "federated-token-file", Usage: "`FILE` with a federated (OIDC) token, for workload identity", EnvVars: []string{"AZURE_FEDERATED_TOKEN_FILE"}},
		&cli.StringFlag{Name: "refresh-token-file", Usage: "`FILE` with a refresh token from 'certctl consent'; each use rotates it"},
		&cli.StringFlag{Name: "access-token-file", Usage: "`FILE` with an access token to use as it is"},
		&cli.BoolFlag{Name: "access-token-stdin", Usage: "read an access token from standard input"},
		&cli.StringFlag{Name: "account-id", Usage: "`ACCOUNT` the access token belongs to (with --access-token-file or --access-token-stdin)"},
		&cli.BoolFlag{Name: "use-device-code", Usage: "sign in a person with a device code"},
		environmentFlag(),
	)
}

// typed reports whether the flag was given on the command line with a
// value, not only through its environment variable envVar.
func (h *handlers) typed(c *cli.Context, name string, envVar string) bool {
	if !c.IsSet(name) {
		return false
	}
	v := c.Value(name)
	if b, ok := v.(bool); ok {
		return b
	}
	s := c.String(name)
	return s != "" && (envVar == "" || s != h.env.getenv(envVar))
}

// methodGroup is a way of signing in and the flags that ask for it.
type methodGroup struct {
	method login.Method
	flags  []struct{ name, env string }
}

var methodGroups = []methodGroup{
	{login.MethodManagedIdentity, []struct{ name, env string }{{"identity", ""}}},
	{login.MethodAccessToken, []struct{ name, env string }{{"access-token-file", ""}, {"access-token-stdin", ""}}},
	{login.MethodRefreshToken, []struct{ name, env string }{{"refresh-token-file", ""}}},
	{login.MethodDeviceCode, []struct{ name, env string }{{"use-device-code", ""}}},
	{login.MethodCertificate, []struct{ name, env string }{{"thumbprint", ""}, {"certificate-path", "AZURE_CLIENT_CERTIFICATE_PATH"}}},
	{login.MethodSecret, []struct{ name, env string }{{"client-secret-stdin", ""}, {"client-secret-file", ""}}},
	{login.MethodWorkloadIdentity, []struct{ name, env string }{{"federated-token-file", "AZURE_FEDERATED_TOKEN_FILE"}}},
}

// compatible reports whether flags of the two methods may be given
// together: a refresh token is redeemed by a client that authenticates
// with its certificate or secret.
func compatible(a, b login.Method) bool {
	client := func(m login.Method) bool { return m == login.MethodCertificate || m == login.MethodSecret }
	return a == b || a == login.MethodRefreshToken && client(b) || b == login.MethodRefreshToken && client(a)
}

// chooseMethod reads the sign-in method from the flags, as Connect-AzAccount
// and az login do: a credential flag (--thumbprint, --certificate-path,
// --client-secret-*, --federated-token-file) means a service principal,
// with or without --service-principal. Flags of two methods that do not go
// together are refused, naming both.
func (h *handlers) chooseMethod(c *cli.Context) (login.Method, error) {
	type given struct {
		flag   string
		method login.Method
	}
	var typed []given
	for _, g := range methodGroups {
		for _, f := range g.flags {
			if h.typed(c, f.name, f.env) {
				typed = append(typed, given{"--" + f.name, g.method})
			}
		}
	}
	if c.Bool("service-principal") {
		for _, g := range typed {
			switch g.method {
			case login.MethodManagedIdentity, login.MethodDeviceCode, login.MethodAccessToken:
				return "", &usageError{msg: fmt.Sprintf("use either --service-principal or %s, not both", g.flag)}
			}
		}
	}
	for i, a := range typed {
		for _, b := range typed[i+1:] {
			if !compatible(a.method, b.method) {
				return "", &usageError{msg: fmt.Sprintf("use either %s or %s, not both", a.flag, b.flag)}
			}
		}
	}
	has := func(m login.Method) bool {
		for _, g := range typed {
			if g.method == m {
				return true
			}
		}
		return false
	}
	sp := c.Bool("service-principal")
	switch {
	case has(login.MethodManagedIdentity):
		return login.MethodManagedIdentity, nil
	case has(login.MethodAccessToken):
		return login.MethodAccessToken, nil
	case has(login.MethodRefreshToken):
		return login.MethodRefreshToken, nil
	case has(login.MethodDeviceCode):
		return login.MethodDeviceCode, nil
	case has(login.MethodCertificate), sp && c.String("certificate-path") != "":
		return login.MethodCertificate, nil
	case has(login.MethodSecret), sp && h.env.getenv("AZURE_CLIENT_SECRET") != "":
		return login.MethodSecret, nil
	case c.String("federated-token-file") != "":
		return login.MethodWorkloadIdentity, nil
	case sp:
		return "", &usageError{msg: "--service-principal needs a credential: --thumbprint, --certificate-path, a client secret (--client-secret-stdin, --client-secret-file or $AZURE_CLIENT_SECRET) or --federated-token-file"}
	case h.env.readPassword != nil: // a terminal is attached
		return login.MethodBrowser, nil
	}
	return "", &usageError{msg: "no sign-in method given and no terminal for an interactive sign-in: use --thumbprint, --certificate-path or a client secret with --tenant and --application-id; --identity; --federated-token-file; --refresh-token-file; --access-token-file; or --use-device-code"}
}

// clientCredential says which credential the application itself signs in
// with when its flags are given: a certificate, a secret, or none (a
// public client).
func (h *handlers) clientCredential(c *cli.Context) (cert, secret bool, err error) {
	cert = c.String("thumbprint") != "" || c.String("certificate-path") != ""
	secret = c.Bool("client-secret-stdin") || c.String("client-secret-file") != ""
	if cert && secret {
		flag := "--thumbprint"
		if c.String("thumbprint") == "" {
			flag = "--certificate-path"
		}
		return false, false, &usageError{msg: fmt.Sprintf("use either %s or a client secret, not both", flag)}
	}
	if !cert && !secret && h.env.getenv("AZURE_CLIENT_SECRET") != "" {
		secret = true
	}
	return cert, secret, nil
}

// readSecret reads the client secret from where the user put it: stdin,
// file, or $AZURE_CLIENT_SECRET.
func (h *handlers) readSecret(c *cli.Context, file string) (secret string, err error) {
	stdin := c.IsSet("client-secret-stdin") && c.Bool("client-secret-stdin")
	switch {
	case stdin && file != "" && c.String("client-secret-file") != "":
		return "", &usageError{msg: "use either --client-secret-stdin or --client-secret-file, not both"}
	case stdin:
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

// contextFromFlags is what certctl will remember of a sign-in by method:
// where the credential lives, never the credential.
func (h *handlers) contextFromFlags(c *cli.Context, method login.Method, envr login.Environment) (*login.Context, error) {
	saved := &login.Context{
		Method:      method,
		Environment: envr.Name,
		Tenant:      c.String("tenant"),
		ClientID:    c.String("application-id"),
	}
	if saved.Tenant != "" {
		if err := login.ValidateTenant(saved.Tenant); err != nil {
			return nil, &usageError{msg: "--tenant " + err.Error(), err: err}
		}
	}
	switch method {
	case login.MethodCertificate, login.MethodSecret, login.MethodWorkloadIdentity, login.MethodRefreshToken:
		what := "a service principal sign-in"
		if method == login.MethodRefreshToken {
			what = "a refresh-token sign-in"
		}
		if saved.Tenant == "" {
			return nil, &usageError{msg: what + " needs --tenant (or $AZURE_TENANT_ID)"}
		}
		if saved.ClientID == "" {
			return nil, &usageError{msg: what + " needs --application-id (or $AZURE_CLIENT_ID)"}
		}
	case login.MethodManagedIdentity:
		saved.ClientID = c.String("client-id")
		saved.ManagedIdentityResourceID = c.String("resource-id")
		saved.ManagedIdentityObjectID = c.String("object-id")
	case login.MethodDeviceCode, login.MethodBrowser:
		saved.ClientID = ""
	case login.MethodAccessToken:
		saved.ClientID = ""
		if c.String("access-token-file") != "" && c.Bool("access-token-stdin") {
			return nil, &usageError{msg: "use either --access-token-file or --access-token-stdin, not both"}
		}
		if c.String("account-id") == "" {
			return nil, &usageError{msg: "an access-token sign-in needs --account-id, the account the token belongs to"}
		}
		saved.Account = c.String("account-id")
		saved.AccessTokenFile = absPath(c.String("access-token-file"))
	}
	cert, secret := method == login.MethodCertificate, method == login.MethodSecret
	if method == login.MethodRefreshToken {
		var err error
		if cert, secret, err = h.clientCredential(c); err != nil {
			return nil, err
		}
		saved.RefreshTokenFile = absPath(c.String("refresh-token-file"))
		saved.ClientSecret = secret
	}
	switch {
	case cert:
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
	case secret:
		saved.SecretFile = absPath(c.String("client-secret-file"))
	}
	if method == login.MethodWorkloadIdentity {
		saved.FederatedTokenFile = absPath(c.String("federated-token-file"))
	}
	return saved, nil
}

// options turns a context into sign-in options, fetching the credential
// from where the context says it is: the certificate from its store or
// file, the secret from its file, stdin or $AZURE_CLIENT_SECRET, an access
// token from stdin when it came from there.
func (h *handlers) options(c *cli.Context, saved *login.Context, envr login.Environment) (login.Options, error) {
	opts, err := saved.Options(envr, login.Sources{
		CertificateFile: func(path string) (certstore.Identity, error) { return h.certificateFile(c, path) },
		Secret:          func(file string) (string, error) { return h.readSecret(c, file) },
	})
	opts.DeviceCodePrompt = func(msg string) { h.env.infof("%s", msg) }
	opts.Notice = func(msg string) { h.env.warnf("%s", msg) }
	opts.Now = h.env.now
	if err == nil && saved.Method == login.MethodAccessToken && saved.AccessTokenFile == "" {
		if !c.IsSet("access-token-stdin") {
			return opts, badInput(errors.New("the access token of this sign-in came from standard input, and certctl keeps no tokens: give it again with --access-token-stdin"))
		}
		opts.AccessToken, err = readStdinSecret(h.env, "--access-token-stdin")
	}
	return opts, err
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

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
