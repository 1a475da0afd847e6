package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/appcred"
	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

func (h *handlers) appCommand() *cli.Command {
	common := func(more ...cli.Flag) []cli.Flag {
		return append(append([]cli.Flag{
			&cli.StringFlag{Name: "application-id", Usage: "application (client) `ID` of the app registration (default: the saved sign-in's)"},
			contextFlag("talk to Graph as the saved sign-in `NAME` (default: the current one)"),
			storeFlag(), storeDirFlag(), outputFlag(),
		}, more...), signInAgainFlags()...)
	}
	return &cli.Command{
		Name:  "app",
		Usage: "an application registration's certificates, through Microsoft Graph",
		Description: `Manages the certificates registered on an app registration: 'app credential'
lists, adds and removes them; 'certctl rotate' replaces one end to end.

Examples:
   certctl app credential list
   certctl app credential add --thumbprint NEW_THUMBPRINT`,
		Subcommands: []*cli.Command{{
			Name:  "credential",
			Usage: "list, add or remove an application's certificate credentials",
			Description: `Talks to the Microsoft Graph of the saved sign-in's environment with a token
of that sign-in (any method). 'add' and 'remove' use Graph's addKey and
removeKey, which need no permission on the application but a proof of
possession: a short-lived token signed in the store by a certificate the
application already has. A new application without a valid certificate takes
its first one with 'add --bootstrap', which needs a sign-in allowed to update
the application (an owner, or Application.ReadWrite.All) and keeps every
credential already there.

Examples:
   certctl app credential list --application-id 11111111-2222-3333-4444-555555555555
   certctl app credential add --application-id APP_ID --thumbprint NEW_THUMBPRINT
   certctl app credential add --application-id APP_ID --thumbprint NEW_THUMBPRINT --bootstrap
   certctl app credential remove --application-id APP_ID --thumbprint OLD_THUMBPRINT`,
			Subcommands: []*cli.Command{
				{
					Name:  "list",
					Usage: "list the application's certificates, and whether each is in the local store",
					Description: `Examples:
   certctl app credential list --application-id APP_ID
   certctl app credential list --application-id APP_ID --output json`,
					Flags:  common(),
					Action: h.appCredentialList,
				},
				{
					Name:  "add",
					Usage: "register a certificate of the store on the application",
					Description: `The proof is signed by --proof-thumbprint, or by default by the saved sign-in's
certificate; either must be in the store and registered on the application.

Examples:
   certctl app credential add --application-id APP_ID --thumbprint NEW_THUMBPRINT
   certctl app credential add --application-id APP_ID --thumbprint NEW_THUMBPRINT --proof-thumbprint CURRENT
   certctl app credential add --application-id APP_ID --thumbprint FIRST_THUMBPRINT --bootstrap`,
					Flags: common(
						&cli.StringFlag{Name: "thumbprint", Usage: "`THUMBPRINT` of the certificate to register"},
						&cli.StringFlag{Name: "proof-thumbprint", Usage: "`THUMBPRINT` of a registered certificate in the store that signs the proof"},
						&cli.StringFlag{Name: "display-name", Usage: "`NAME` the credential shows in the portal (default: the certificate's subject)"},
						&cli.BoolFlag{Name: "bootstrap", Usage: "register the first certificate with a sign-in allowed to update the application, keeping every credential there"},
					),
					Action: h.appCredentialAdd,
				},
				{
					Name:  "remove",
					Usage: "unregister a certificate from the application",
					Description: `The proof is signed by a certificate that stays: --proof-thumbprint, the saved
sign-in's certificate, or else another registered certificate in the store.

Examples:
   certctl app credential remove --application-id APP_ID --thumbprint OLD_THUMBPRINT
   certctl app credential remove --application-id APP_ID --key-id 7f5a1f2e-0000-4000-8000-000000000001`,
					Flags: common(
						&cli.StringFlag{Name: "thumbprint", Usage: "`THUMBPRINT` of the certificate to unregister"},
						&cli.StringFlag{Name: "key-id", Usage: "key `ID` of the credential to unregister"},
						&cli.StringFlag{Name: "proof-thumbprint", Usage: "`THUMBPRINT` of a registered certificate in the store, one that stays, that signs the proof"},
					),
					Action: h.appCredentialRemove,
				},
			},
		}},
	}
}

// graphSession is Microsoft Graph as a saved sign-in sees it, and the
// application a command is about.
type graphSession struct {
	client *appcred.Client
	saved  *login.Context
	envr   login.Environment
	appID  string
}

// graph signs in to Graph as the saved context --context names (the current
// one by default), for the application --application-id names (the
// context's by default). Its token is asked once and kept while it is valid.
func (h *handlers) graph(c *cli.Context) (*graphSession, error) {
	_, saved, envr, opts, err := h.contextOptions(c, c.String("context"))
	if err != nil {
		return nil, err
	}
	appID, err := applicationID(c, saved)
	if err != nil {
		return nil, err
	}
	scope, err := envr.GraphScope()
	if err != nil {
		return nil, badInput(err)
	}
	cred, err := login.NewCredential(opts)
	if err != nil {
		return nil, err
	}
	client, err := appcred.New(appcred.Options{
		Endpoint: envr.Graph,
		Token: func(ctx context.Context) (string, error) {
			t, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
			return t.Token, err
		},
	})
	if err != nil {
		return nil, err
	}
	return &graphSession{client: client, saved: saved, envr: envr, appID: appID}, nil
}

// application signs in to Graph (graph) and reads the application, with
// --timeout for the whole command; the caller calls cancel.
func (h *handlers) application(c *cli.Context) (*graphSession, *appcred.Application, context.Context, context.CancelFunc, error) {
	g, err := h.graph(c)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout(c, g.saved.Method))
	app, err := g.client.Application(ctx, g.appID)
	if err != nil {
		cancel()
		return nil, nil, nil, nil, err
	}
	return g, app, ctx, cancel, nil
}

// applicationID is --application-id, or the saved sign-in's application.
func applicationID(c *cli.Context, saved *login.Context) (string, error) {
	id := c.String("application-id")
	if id == "" && saved != nil && saved.ClientID != "" && saved.Method != login.MethodManagedIdentity {
		id = saved.ClientID
	}
	if id == "" {
		return "", &usageError{msg: "give the application with --application-id ID"}
	}
	if !appcred.ValidID(id) {
		return "", &usageError{msg: fmt.Sprintf("--application-id %.80q: give the application (client) id, a GUID", id)}
	}
	return id, nil
}

// thumbprintFlag parses the thumbprint flag name, "" when it is not set.
func thumbprintFlag(c *cli.Context, name string) (thumbprint.Thumbprint, bool, error) {
	s := c.String(name)
	if s == "" {
		return thumbprint.Thumbprint{}, false, nil
	}
	tp, err := thumbprint.Parse(s)
	if err != nil {
		return tp, false, fmt.Errorf("--%s: %w", name, err)
	}
	return tp, true, nil
}

type keyCredentialJSON struct {
	Thumbprint   string    `json:"thumbprint"`
	KeyID        string    `json:"keyId"`
	DisplayName  string    `json:"displayName"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Type         string    `json:"type"`
	Usage        string    `json:"usage"`
	InLocalStore bool      `json:"inLocalStore"`
}

// printCredentials prints key credentials, saying which are in s.
func (h *handlers) printCredentials(format string, keys []appcred.KeyCredential, s certstore.Store) error {
	inStore := func(k appcred.KeyCredential) bool {
		if !k.HasThumbprint || s == nil {
			return false
		}
		_, err := s.Find(k.Thumbprint)
		return err == nil
	}
	tpOf := func(k appcred.KeyCredential) string {
		if k.HasThumbprint {
			return k.Thumbprint.String()
		}
		return ""
	}
	if format == "json" {
		out := make([]keyCredentialJSON, len(keys))
		for i, k := range keys {
			out[i] = keyCredentialJSON{Thumbprint: tpOf(k), KeyID: k.KeyID, DisplayName: k.DisplayName, Start: k.Start, End: k.End, Type: k.Type, Usage: k.Usage, InLocalStore: inStore(k)}
		}
		return writeJSONList(h.env.stdout, out)
	}
	t := newTable(h.env.stdout, "THUMBPRINT", "KEY ID", "DISPLAY NAME", "START", "END", "IN STORE")
	for _, k := range keys {
		in := "no"
		if inStore(k) {
			in = "yes"
		}
		t.row(dash(tpOf(k)), k.KeyID, dash(k.DisplayName), day(k.Start), day(k.End), in)
	}
	return t.flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

func (h *handlers) appCredentialList(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	_, app, _, cancel, err := h.application(c)
	if err != nil {
		return err
	}
	defer cancel()
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	return h.printCredentials(format, app.Keys, s)
}

func (h *handlers) appCredentialAdd(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	tp, ok, err := thumbprintFlag(c, "thumbprint")
	if err != nil {
		return err
	}
	if !ok {
		return &usageError{msg: "give the certificate to register with --thumbprint THUMBPRINT"}
	}
	proofTP, proofSet, err := thumbprintFlag(c, "proof-thumbprint")
	if err != nil {
		return err
	}
	if proofSet && c.Bool("bootstrap") {
		return &usageError{msg: "use either --bootstrap or --proof-thumbprint, not both: a bootstrap needs no proof"}
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := s.Find(tp)
	if err != nil {
		return err
	}
	g, app, ctx, cancel, err := h.application(c)
	if err != nil {
		return err
	}
	defer cancel()
	appID := g.appID
	if k, ok := app.Find(tp); ok {
		h.env.infof("%s is already a credential of application %s (key id %s)", tp, appID, k.KeyID)
		return h.printCredentials(format, []appcred.KeyCredential{k}, s)
	}
	var added appcred.KeyCredential
	if c.Bool("bootstrap") {
		app, err := g.client.Bootstrap(ctx, appID, id.Certificate(), c.String("display-name"))
		if err != nil {
			return err
		}
		added, _ = app.Find(tp)
	} else {
		prover, err := h.prover(c, s, g.saved, app, proofTP, proofSet, nil)
		if err != nil {
			return err
		}
		if added, err = g.client.AddKey(ctx, app, id.Certificate(), c.String("display-name"), prover); err != nil {
			return err
		}
	}
	h.env.infof("registered %s on application %s; Entra ID may take a minute before it signs in", tp, appID)
	return h.printCredentials(format, []appcred.KeyCredential{added}, s)
}

// errProofNeeded is matched when no certificate can sign a proof.
var errProofNeeded = errors.New("no certificate to sign the proof of possession")

// prover picks the certificate that signs a proof: --proof-thumbprint, the
// saved sign-in's certificate, or (when not refused by skip) another
// certificate of the store registered on the application. It must be in
// the store with its key and registered on app.
func (h *handlers) prover(c *cli.Context, s certstore.Store, saved *login.Context, app *appcred.Application, proofTP thumbprint.Thumbprint, proofSet bool, skip *thumbprint.Thumbprint) (appcred.Prover, error) {
	var candidates []thumbprint.Thumbprint
	switch {
	case proofSet:
		if skip != nil && proofTP == *skip {
			return nil, &usageError{msg: fmt.Sprintf("--proof-thumbprint %s is the certificate being removed; the proof must be signed by one that stays", proofTP)}
		}
		candidates = []thumbprint.Thumbprint{proofTP}
	default:
		if saved != nil && saved.Thumbprint != "" {
			if t, err := thumbprint.Parse(saved.Thumbprint); err == nil && (skip == nil || t != *skip) {
				candidates = append(candidates, t)
			}
		}
		if skip != nil {
			for _, k := range app.Keys {
				if k.HasThumbprint && k.IsCertificate() && k.Thumbprint != *skip {
					candidates = append(candidates, k.Thumbprint)
				}
			}
		}
	}
	for _, t := range candidates {
		_, registered := app.Find(t)
		id, err := s.Find(t)
		switch {
		case proofSet && !registered:
			return nil, badInput(&appcred.NotRegisteredError{Thumbprint: t, AppID: app.AppID})
		case proofSet && err != nil:
			return nil, fmt.Errorf("--proof-thumbprint: %w", err)
		case proofSet && !id.HasPrivateKey():
			return nil, fmt.Errorf("--proof-thumbprint %s: %w", t, certstore.ErrNoPrivateKey)
		case registered && err == nil && id.HasPrivateKey():
			return appcred.StoreProver{ID: id}, nil
		}
	}
	if skip != nil {
		return nil, fmt.Errorf("%w: no other certificate of application %s is in store %s with its key", errProofNeeded, app.AppID, s.Name())
	}
	return nil, fmt.Errorf("%w: the saved sign-in has no certificate that application %s has", errProofNeeded, app.AppID)
}

func (h *handlers) appCredentialRemove(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	tp, byTP, err := thumbprintFlag(c, "thumbprint")
	if err != nil {
		return err
	}
	keyID := c.String("key-id")
	switch {
	case byTP && keyID != "":
		return &usageError{msg: "use either --thumbprint or --key-id, not both"}
	case !byTP && keyID == "":
		return &usageError{msg: "say which credential to remove with --thumbprint THUMBPRINT or --key-id ID"}
	case keyID != "" && !appcred.ValidID(keyID):
		return &usageError{msg: fmt.Sprintf("--key-id %.80q: a key id is a GUID, as 'certctl app credential list' shows it", keyID)}
	}
	proofTP, proofSet, err := thumbprintFlag(c, "proof-thumbprint")
	if err != nil {
		return err
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	g, app, ctx, cancel, err := h.application(c)
	if err != nil {
		return err
	}
	defer cancel()
	appID := g.appID
	var k appcred.KeyCredential
	var found bool
	if byTP {
		k, found = app.Find(tp)
	} else {
		k, found = app.FindKeyID(keyID)
	}
	if !found {
		what := "key id " + keyID
		if byTP {
			what = "certificate " + tp.String()
		}
		return &credentialNotFoundError{what: what, appID: appID}
	}
	var skip *thumbprint.Thumbprint
	if k.HasThumbprint {
		skip = &k.Thumbprint
	}
	prover, err := h.prover(c, s, g.saved, app, proofTP, proofSet, skip)
	if err != nil {
		return err
	}
	if err := g.client.RemoveKey(ctx, app, k.KeyID, prover); err != nil {
		return err
	}
	h.env.infof("removed key id %s from application %s, with a proof signed by %s", k.KeyID, appID, prover.Thumbprint())
	if format == "json" {
		return h.printCredentials(format, []appcred.KeyCredential{k}, s)
	}
	return nil
}

// credentialNotFoundError is a credential the application does not have.
type credentialNotFoundError struct{ what, appID string }

func (e *credentialNotFoundError) Error() string {
	return fmt.Sprintf("application %s has no credential with %s", e.appID, e.what)
}

// Is makes errors.Is(err, certstore.ErrNotFound) true, for exit code 3.
func (e *credentialNotFoundError) Is(target error) bool { return target == certstore.ErrNotFound }
