package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/login"
)

// contextJSON is a saved sign-in in JSON output. The names are those of
// the context file, and scripts read them: they never change.
type contextJSON struct {
	Name                      string            `json:"name"`
	Current                   bool              `json:"current"`
	Method                    login.Method      `json:"method"`
	Environment               string            `json:"environment"`
	Tenant                    string            `json:"tenant"`
	Account                   string            `json:"account"`
	ClientID                  string            `json:"clientId,omitempty"`
	Thumbprint                string            `json:"thumbprint,omitempty"`
	Store                     string            `json:"store,omitempty"`
	StoreDir                  string            `json:"storeDir,omitempty"`
	CertificatePath           string            `json:"certificatePath,omitempty"`
	SendCertificateChain      bool              `json:"sendCertificateChain,omitempty"`
	SecretFile                string            `json:"secretFile,omitempty"`
	ClientSecret              bool              `json:"clientSecret,omitempty"`
	ManagedIdentityResourceID string            `json:"managedIdentityResourceId,omitempty"`
	ManagedIdentityObjectID   string            `json:"managedIdentityObjectId,omitempty"`
	FederatedTokenFile        string            `json:"federatedTokenFile,omitempty"`
	RefreshTokenFile          string            `json:"refreshTokenFile,omitempty"`
	AccessTokenFile           string            `json:"accessTokenFile,omitempty"`
	Subscription              *subscriptionJSON `json:"subscription,omitempty"`
	SignedInAt                time.Time         `json:"signedInAt"`
}

type subscriptionJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	State   string `json:"state,omitempty"`
	Default bool   `json:"default,omitempty"`
}

func contextJSONOf(c *login.Context, current bool) contextJSON {
	out := contextJSON{
		Name: c.Name, Current: current, Method: c.Method, Environment: c.Environment, Tenant: c.Tenant,
		Account: c.Account, ClientID: c.ClientID, Thumbprint: c.Thumbprint, Store: c.Store, StoreDir: c.StoreDir,
		CertificatePath: c.CertificatePath, SendCertificateChain: c.SendCertificateChain, SecretFile: c.SecretFile,
		ClientSecret: c.ClientSecret, ManagedIdentityResourceID: c.ManagedIdentityResourceID,
		ManagedIdentityObjectID: c.ManagedIdentityObjectID, FederatedTokenFile: c.FederatedTokenFile,
		RefreshTokenFile: c.RefreshTokenFile, AccessTokenFile: c.AccessTokenFile, SignedInAt: c.SignedInAt,
	}
	if s := c.Subscription; s != nil {
		out.Subscription = &subscriptionJSON{ID: s.ID, Name: s.Name, State: s.State}
	}
	return out
}

func (h *handlers) contextCommand() *cli.Command {
	return &cli.Command{
		Name:  "context",
		Usage: "list, show, pick and change the saved sign-ins",
		Description: `Each 'certctl login' saves a context: who signed in, where, how, and where
its credential lives (never the credential or a token). One is current; 'token',
'subscription list' and the others use it unless given --context NAME.

Examples:
   certctl context list
   certctl context use ci
   certctl context show --output json
   certctl context set --subscription "Contoso Production"`,
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the saved sign-ins; * marks the current one",
				Description: `Examples:
   certctl context list
   certctl context list --output json`,
				Flags:  []cli.Flag{outputFlag()},
				Action: h.contextListAction,
			},
			{
				Name:      "show",
				Usage:     "show a saved sign-in (the current one by default): account, tenant, method and where its credential lives",
				ArgsUsage: "[NAME]",
				Description: `The context holds no secret, token or key, only where to find them.

Examples:
   certctl context show
   certctl context show ci --output json`,
				Flags:  []cli.Flag{outputFlag()},
				Action: h.contextShowAction,
			},
			{
				Name:      "use",
				Usage:     "make a saved sign-in the current one",
				ArgsUsage: "NAME",
				Description: `Example:
   certctl context use deploy`,
				Action: h.contextUseAction,
			},
			{
				Name:  "set",
				Usage: "change a saved sign-in: its default subscription",
				Description: `Signs in again as the context says, lists the subscriptions and makes the one
given the default, like az account set and Set-AzContext.

Examples:
   certctl context set --subscription "Contoso Production"
   certctl context set --context ci --subscription 11111111-2222-4333-8444-555555555555`,
				Flags: append([]cli.Flag{
					contextFlag("change context `NAME` (default: the current one)"),
					&cli.StringFlag{Name: "subscription", Usage: "default subscription `ID or NAME`"},
				}, signInAgainFlags()...),
				Action: h.contextSetAction,
			},
		},
	}
}

func (h *handlers) contextListAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	_, cs, err := h.contexts()
	if err != nil {
		return err
	}
	if format == "json" {
		out := make([]contextJSON, len(cs.List))
		for i, ctx := range cs.List {
			out[i] = contextJSONOf(ctx, ctx.Name == cs.Current)
		}
		return writeJSON(h.env.stdout, out)
	}
	if len(cs.List) == 0 {
		h.env.infof("no saved sign-ins; sign in with 'certctl login'")
		return nil
	}
	t := newTable(h.env.stdout, "CURRENT", "NAME", "ACCOUNT", "TENANT", "ENVIRONMENT", "METHOD", "SUBSCRIPTION")
	for _, ctx := range cs.List {
		mark, sub := "", "-"
		if ctx.Name == cs.Current {
			mark = "*"
		}
		if ctx.Subscription != nil {
			sub = ctx.Subscription.Name
		}
		t.row(mark, ctx.Name, ctx.Account, ctx.Tenant, ctx.Environment, string(ctx.Method), dash(sub))
	}
	return t.flush()
}

func (h *handlers) contextShowAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 1, "")
	if err != nil {
		return err
	}
	dir, cs, err := h.contexts()
	if err != nil {
		return err
	}
	if len(cs.List) == 0 {
		return fmt.Errorf("%w: no sign-in context in %s", login.ErrNoContext, dir)
	}
	saved, err := cs.Find(c.Args().First())
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(h.env.stdout, contextJSONOf(saved, saved.Name == cs.Current))
	}
	t := newTable(h.env.stdout)
	t.row("Name:", saved.Name)
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
	case saved.Method == login.MethodSecret, saved.ClientSecret:
		t.row("Client secret:", "not kept; give it to 'certctl token' with --client-secret-stdin or $AZURE_CLIENT_SECRET")
	case saved.FederatedTokenFile != "":
		t.row("Federated token:", saved.FederatedTokenFile)
	}
	switch {
	case saved.RefreshTokenFile != "":
		t.row("Refresh token:", "in "+saved.RefreshTokenFile)
	case saved.AccessTokenFile != "":
		t.row("Access token:", "in "+saved.AccessTokenFile)
	case saved.Method == login.MethodAccessToken:
		t.row("Access token:", "not kept; give it to 'certctl token' with --access-token-stdin")
	}
	current := "no"
	if saved.Name == cs.Current {
		current = "yes"
	}
	t.row("Current:", current)
	t.row("Signed in:", saved.SignedInAt.Format(time.RFC3339))
	return t.flush()
}

func (h *handlers) contextUseAction(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "NAME"); err != nil {
		return err
	}
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	name := c.Args().First()
	err = login.UpdateContexts(dir, func(cs *login.Contexts) error {
		if _, err := cs.Find(name); err != nil {
			return err
		}
		cs.Current = name
		return nil
	})
	if err != nil {
		return err
	}
	h.env.infof("now using context %s", name)
	return nil
}

func (h *handlers) contextSetAction(c *cli.Context) error {
	if err := wantArgs(c, 0, 0, ""); err != nil {
		return err
	}
	want := c.String("subscription")
	if want == "" {
		return &usageError{msg: "context set: give --subscription ID or NAME"}
	}
	dir, saved, envr, opts, err := h.contextOptions(c, c.String("context"))
	if err != nil {
		return err
	}
	subs, err := h.subscriptions(c, saved, envr, opts)
	if err != nil {
		return err
	}
	sub, err := login.SelectSubscription(subs, want)
	if err != nil {
		return err
	}
	err = login.UpdateContexts(dir, func(cs *login.Contexts) error {
		ctx, err := cs.Find(saved.Name)
		if err != nil {
			return err
		}
		ctx.Subscription = sub
		return nil
	})
	if err != nil {
		return err
	}
	h.env.infof("context %s: default subscription %s (%s)", saved.Name, sub.Name, sub.ID)
	return nil
}

// signInAgainFlags are what a command that signs in again from a saved
// context may need: the secrets the context does not keep.
func signInAgainFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "client-secret-stdin", Usage: "read the client secret from standard input"},
		&cli.BoolFlag{Name: "access-token-stdin", Usage: "read the access token from standard input"},
		passwordFileFlag(), passwordStdinFlag(),
		timeoutFlag("give up after `DURATION`"),
	}
}

// contexts reads the saved sign-ins, with the folder they live in.
func (h *handlers) contexts() (string, *login.Contexts, error) {
	dir, err := h.configDir()
	if err != nil {
		return "", nil, err
	}
	cs, err := login.LoadContexts(dir)
	return dir, cs, err
}

// contextOptions reads the context called name (the current one when
// empty) and the sign-in options that sign in again as it did.
func (h *handlers) contextOptions(c *cli.Context, name string) (string, *login.Context, login.Environment, login.Options, error) {
	dir, saved, err := h.savedContext(name)
	if err != nil {
		return "", nil, login.Environment{}, login.Options{}, err
	}
	if saved.Method.Interactive() && h.env.readPassword == nil {
		return "", nil, login.Environment{}, login.Options{}, &usageError{msg: "the saved sign-in is interactive and certctl keeps no tokens, so it must ask again, but there is no terminal: sign in with a service principal, managed identity or refresh token for scripts"}
	}
	envr, err := login.FindEnvironment(dir, saved.Environment)
	if errors.Is(err, login.ErrUnknownEnvironment) {
		return "", nil, login.Environment{}, login.Options{}, badInput(fmt.Errorf("the sign-in context %s names environment %s, which is no longer registered: %w", saved.Name, saved.Environment, err))
	}
	if err != nil {
		return "", nil, login.Environment{}, login.Options{}, err
	}
	opts, err := h.options(c, saved, envr)
	opts.MetadataDir = dir
	return dir, saved, envr, opts, err
}

// subscriptions signs in again as the context says and lists its
// subscriptions.
func (h *handlers) subscriptions(c *cli.Context, saved *login.Context, envr login.Environment, opts login.Options) ([]login.Subscription, error) {
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout(c, saved.Method))
	defer cancel()
	tok, err := login.Token(ctx, opts, envr.ManagementScope())
	if err != nil {
		return nil, err
	}
	return login.ListSubscriptions(ctx, opts, tok.Token)
}

func (h *handlers) subscriptionCommand() *cli.Command {
	return &cli.Command{
		Name:  "subscription",
		Usage: "the subscriptions of a saved sign-in",
		Description: `Lists the subscriptions a saved sign-in can use. The default one, which
'certctl token' and other tools use, is picked with 'certctl context set'.

Examples:
   certctl subscription list
   certctl subscription list --context ci --output json`,
		Subcommands: []*cli.Command{{
			Name:  "list",
			Usage: "list the subscriptions the current (or another) context can use; * marks its default",
			Description: `Signs in again as the context says and lists every subscription, reading all
of Resource Manager's pages. 'certctl context set --subscription' picks the default.

Examples:
   certctl subscription list
   certctl subscription list --context ci --output json`,
			Flags: append([]cli.Flag{
				contextFlag("list for context `NAME` (default: the current one)"), outputFlag(),
			}, signInAgainFlags()...),
			Action: h.subscriptionListAction,
		}},
	}
}

func (h *handlers) subscriptionListAction(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	_, saved, envr, opts, err := h.contextOptions(c, c.String("context"))
	if err != nil {
		return err
	}
	subs, err := h.subscriptions(c, saved, envr, opts)
	if err != nil {
		return err
	}
	isDefault := func(s login.Subscription) bool {
		return saved.Subscription != nil && s.ID == saved.Subscription.ID
	}
	if format == "json" {
		out := make([]subscriptionJSON, len(subs))
		for i, s := range subs {
			out[i] = subscriptionJSON{ID: s.ID, Name: s.Name, State: s.State, Default: isDefault(s)}
		}
		return writeJSON(h.env.stdout, out)
	}
	if len(subs) == 0 {
		h.env.infof("%s has no subscriptions", saved.Account)
		return nil
	}
	t := newTable(h.env.stdout, "DEFAULT", "NAME", "SUBSCRIPTION ID", "STATE")
	for _, s := range subs {
		mark := ""
		if isDefault(s) {
			mark = "*"
		}
		t.row(mark, s.Name, s.ID, dash(s.State))
	}
	return t.flush()
}

func (h *handlers) logoutCommand() *cli.Command {
	return &cli.Command{
		Name:  "logout",
		Usage: "forget a saved sign-in: the current one, --context NAME, or --all",
		Description: `Removes the sign-in context. Certificates stay in the store, and a refresh
token stays in its file (delete the file to forget it too). Nothing signed in is
not an error.

Examples:
   certctl logout
   certctl logout --context ci
   certctl logout --all`,
		Flags: []cli.Flag{
			contextFlag("forget context `NAME` instead of the current one"),
			&cli.BoolFlag{Name: "all", Usage: "forget every saved sign-in"},
		},
		Action: h.logoutAction,
	}
}

func (h *handlers) logoutAction(c *cli.Context) error {
	if err := wantArgs(c, 0, 0, ""); err != nil {
		return err
	}
	if c.Bool("all") && c.String("context") != "" {
		return &usageError{msg: "use either --all or --context, not both"}
	}
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	if c.Bool("all") {
		removed, err := login.RemoveAllContexts(dir)
		if err != nil {
			return err
		}
		if !removed {
			h.env.infof("nothing was signed in")
			return nil
		}
		h.env.infof("signed out of every context")
		return nil
	}
	_, cs, err := h.contexts()
	if err != nil {
		return err
	}
	name := c.String("context")
	if len(cs.List) == 0 || name == "" && cs.Current == "" {
		h.env.infof("nothing was signed in")
		return nil
	}
	var gone *login.Context
	err = login.UpdateContexts(dir, func(cs *login.Contexts) error {
		gone, err = cs.Remove(name)
		return err
	})
	if err != nil {
		return err
	}
	h.env.infof("signed out of context %s", gone.Name)
	if gone.RefreshTokenFile != "" {
		h.env.infof("the refresh token in %s is kept; delete the file to forget it", gone.RefreshTokenFile)
	}
	return nil
}
