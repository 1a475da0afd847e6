// Package appcred manages the certificate credentials of an Entra ID
// application registration through Microsoft Graph: it lists them, adds and
// removes them with a proof of possession signed through a store's key
// (addKey, removeKey), registers the first one when the application has
// none (a PATCH that keeps every credential already there), and rotates a
// certificate in resumable steps (Rotation).
//
// It knows stores through certstore and tokens through a function the
// caller gives; it prints nothing.
package appcred

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/certctl/certctl/internal/lazyre"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

// Options configure a Client.
type Options struct {
	// Endpoint is Microsoft Graph's base URL, such as
	// https://graph.microsoft.com/ (login.Environment.Graph).
	Endpoint string
	// Token returns a bearer token for Graph.
	Token func(ctx context.Context) (string, error)
	// RoundTripper carries the requests; nil uses login.ServiceClient's
	// default, which verifies servers as http.DefaultTransport does.
	// Requests go only over https to Endpoint's host, whatever it is.
	RoundTripper http.RoundTripper
	// Retry bounds each request; nil uses login.DefaultRetry.
	Retry *policy.RetryOptions
	// Now is the clock of proofs; nil uses time.Now.
	Now func() time.Time
}

// Client talks to Microsoft Graph about applications' key credentials.
type Client struct {
	base  string // Endpoint + "v1.0"
	host  string
	pl    runtime.Pipeline
	token func(ctx context.Context) (string, error)
	now   func() time.Time
}

// New makes a Client. It refuses an endpoint that is not https.
func New(o Options) (*Client, error) {
	if o.Token == nil {
		return nil, errors.New("appcred: no token source")
	}
	hc, err := login.ServiceClient(o.Endpoint, o.RoundTripper)
	if err != nil {
		return nil, err
	}
	retry := login.DefaultRetry
	if o.Retry != nil {
		retry = *o.Retry
	}
	u, _ := url.Parse(o.Endpoint)
	c := &Client{
		base:  strings.TrimSuffix(o.Endpoint, "/") + "/v1.0",
		host:  u.Host,
		token: o.Token,
		now:   o.Now,
		pl: runtime.NewPipeline("certctl", "v1", runtime.PipelineOptions{}, &policy.ClientOptions{
			Transport: hc,
			Retry:     retry,
			Logging:   policy.LogOptions{IncludeBody: false},
		}),
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Application is an application registration and its key credentials.
type Application struct {
	// ObjectID is the application object's id, the issuer of proofs;
	// AppID its application (client) id.
	ObjectID, AppID, DisplayName string
	Keys                         []KeyCredential
	// raw are the key credentials exactly as Graph sent them, to be sent
	// back unchanged by a PATCH.
	raw []json.RawMessage
}

// KeyCredential is one of an application's key credentials.
type KeyCredential struct {
	KeyID       string
	DisplayName string
	// Thumbprint is the certificate's SHA-1 thumbprint, from its key when
	// Graph returned it, otherwise from customKeyIdentifier; HasThumbprint
	// is false when neither says it.
	Thumbprint    thumbprint.Thumbprint
	HasThumbprint bool
	Start, End    time.Time
	Type, Usage   string
	// Certificate is the certificate, when Graph returned its key.
	Certificate *x509.Certificate
}

// IsCertificate reports whether k is a certificate that verifies
// signatures: one that can sign in and sign proofs.
func (k KeyCredential) IsCertificate() bool {
	return k.Type == "AsymmetricX509Cert" && k.Usage == "Verify"
}

// Find returns the key credential of the certificate with thumbprint tp.
func (a *Application) Find(tp thumbprint.Thumbprint) (KeyCredential, bool) {
	for _, k := range a.Keys {
		if k.HasThumbprint && k.Thumbprint == tp {
			return k, true
		}
	}
	return KeyCredential{}, false
}

// FindKeyID returns the key credential with key id id, in any case.
func (a *Application) FindKeyID(id string) (KeyCredential, bool) {
	for _, k := range a.Keys {
		if strings.EqualFold(k.KeyID, id) {
			return k, true
		}
	}
	return KeyCredential{}, false
}

// ErrApplicationNotFound is matched when Graph has no application with the
// id.
var ErrApplicationNotFound = errors.New("application not found")

// GraphError is Microsoft Graph's refusal of a request. Message is Graph's
// own text, which the caller must escape before showing it.
type GraphError struct {
	Op string // what certctl asked, for people
	// Request is the kind of request: RequestRead, RequestAddKey,
	// RequestRemoveKey or RequestUpdate.
	Request string
	Host    string
	Status  int
	Code    string
	Message string
}

func (e *GraphError) Error() string {
	s := fmt.Sprintf("%s: Microsoft Graph at %s answered %d", e.Op, e.Host, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// ProofRefused reports whether Graph refused an addKey or removeKey for its
// proof of possession, or for what it asked to add or remove. Graph says
// Authentication_MissingOrMalformed (with 401) for a proof it does not
// take, which is not about the bearer token.
func (e *GraphError) ProofRefused() bool {
	if e.Request != RequestAddKey && e.Request != RequestRemoveKey {
		return false
	}
	return e.Code == "Authentication_MissingOrMalformed" || e.Status == http.StatusBadRequest
}

// Is makes errors.Is(err, ErrApplicationNotFound) true for Graph's 404.
func (e *GraphError) Is(target error) bool {
	return target == ErrApplicationNotFound && e.Status == http.StatusNotFound
}

// The kinds of request of a GraphError.
const (
	RequestRead      = "read"
	RequestAddKey    = "addKey"
	RequestRemoveKey = "removeKey"
	RequestUpdate    = "update"
)

var guidPattern = lazyre.New(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidID reports whether s is a GUID, as application and key ids are.
func ValidID(s string) bool { return guidPattern().MatchString(s) }

// graphKey is a key credential as Graph's JSON has it.
type graphKey struct {
	CustomKeyIdentifier *string    `json:"customKeyIdentifier"`
	DisplayName         *string    `json:"displayName"`
	EndDateTime         *time.Time `json:"endDateTime"`
	KeyID               string     `json:"keyId"`
	StartDateTime       *time.Time `json:"startDateTime"`
	Type                string     `json:"type"`
	Usage               string     `json:"usage"`
	Key                 *string    `json:"key"`
}

func (g graphKey) credential() KeyCredential {
	k := KeyCredential{KeyID: g.KeyID, Type: g.Type, Usage: g.Usage}
	if g.DisplayName != nil {
		k.DisplayName = *g.DisplayName
	}
	if g.StartDateTime != nil {
		k.Start = g.StartDateTime.UTC()
	}
	if g.EndDateTime != nil {
		k.End = g.EndDateTime.UTC()
	}
	if g.Key != nil {
		if der, err := base64.StdEncoding.DecodeString(*g.Key); err == nil {
			if cert, err := x509.ParseCertificate(der); err == nil {
				k.Certificate = cert
				k.Thumbprint, k.HasThumbprint = thumbprint.Of(cert), true
				return k
			}
		}
	}
	if g.CustomKeyIdentifier != nil {
		k.Thumbprint, k.HasThumbprint = thumbprintOfIdentifier(*g.CustomKeyIdentifier)
	}
	return k
}

// thumbprintOfIdentifier reads a customKeyIdentifier: Graph and the portal
// put the certificate's SHA-1 hash there (base64 of its 20 bytes); some
// tools put the thumbprint's hex digits instead.
func thumbprintOfIdentifier(s string) (thumbprint.Thumbprint, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return thumbprint.Thumbprint{}, false
	}
	var tp thumbprint.Thumbprint
	switch {
	case len(b) == len(tp):
		copy(tp[:], b)
		return tp, true
	case len(b) == 2*len(tp):
		if _, err := hex.Decode(tp[:], b); err == nil {
			return tp, true
		}
	}
	return thumbprint.Thumbprint{}, false
}

// appPath addresses an application by its application id.
func (c *Client) appPath(appID string) (string, error) {
	if !ValidID(appID) {
		return "", fmt.Errorf("application id %.80q is not a GUID", appID)
	}
	return c.base + "/applications(appId='" + strings.ToLower(appID) + "')", nil
}

// Application reads the application with application id appID and its key
// credentials, certificates included.
func (c *Client) Application(ctx context.Context, appID string) (*Application, error) {
	path, err := c.appPath(appID)
	if err != nil {
		return nil, err
	}
	// Graph returns the credentials' keys only when the one application
	// is read with $select naming keyCredentials.
	body, err := c.do(ctx, "read application "+appID, RequestRead, http.MethodGet, path+"?$select=id,appId,displayName,keyCredentials", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var raw struct {
		ID             string            `json:"id"`
		AppID          string            `json:"appId"`
		DisplayName    string            `json:"displayName"`
		KeyCredentials []json.RawMessage `json:"keyCredentials"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("read application %s: Microsoft Graph's answer is malformed: %w", appID, err)
	}
	if !ValidID(raw.ID) {
		return nil, fmt.Errorf("read application %s: Microsoft Graph's answer has no valid object id", appID)
	}
	app := &Application{ObjectID: raw.ID, AppID: raw.AppID, DisplayName: raw.DisplayName, raw: raw.KeyCredentials}
	for _, r := range raw.KeyCredentials {
		var g graphKey
		if err := json.Unmarshal(r, &g); err != nil {
			return nil, fmt.Errorf("read application %s: a key credential is malformed: %w", appID, err)
		}
		app.Keys = append(app.Keys, g.credential())
	}
	return app, nil
}

// AddKey registers cert on app through Graph's addKey, with a proof signed
// by proof, a certificate the application already has.
func (c *Client) AddKey(ctx context.Context, app *Application, cert *x509.Certificate, displayName string, proof Prover) (KeyCredential, error) {
	op := "add certificate " + thumbprint.Of(cert).String() + " to application " + app.AppID
	jwt, err := proof.Proof(app.ObjectID, c.now())
	if err != nil {
		return KeyCredential{}, fmt.Errorf("%s: %w", op, err)
	}
	kc := map[string]any{
		"type":  "AsymmetricX509Cert",
		"usage": "Verify",
		"key":   base64.StdEncoding.EncodeToString(cert.Raw),
	}
	if displayName != "" {
		kc["displayName"] = displayName
	}
	req := map[string]any{"keyCredential": kc, "passwordCredential": nil, "proof": jwt}
	body, err := c.do(ctx, op, RequestAddKey, http.MethodPost, c.base+"/applications/"+app.ObjectID+"/addKey", req, http.StatusOK, http.StatusCreated)
	if err != nil {
		return KeyCredential{}, err
	}
	var g graphKey
	if err := json.Unmarshal(body, &g); err != nil {
		return KeyCredential{}, fmt.Errorf("%s: Microsoft Graph's answer is malformed: %w", op, err)
	}
	k := g.credential()
	if !k.HasThumbprint {
		k.Thumbprint, k.HasThumbprint = thumbprint.Of(cert), true
	}
	k.Certificate = cert
	return k, nil
}

// RemoveKey unregisters the key credential keyID from app through Graph's
// removeKey, with a proof signed by proof, a certificate that stays.
func (c *Client) RemoveKey(ctx context.Context, app *Application, keyID string, proof Prover) error {
	op := "remove key credential " + keyID + " from application " + app.AppID
	if !ValidID(keyID) {
		return fmt.Errorf("key id %.80q is not a GUID", keyID)
	}
	jwt, err := proof.Proof(app.ObjectID, c.now())
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req := map[string]any{"keyId": keyID, "proof": jwt}
	_, err = c.do(ctx, op, RequestRemoveKey, http.MethodPost, c.base+"/applications/"+app.ObjectID+"/removeKey", req, http.StatusNoContent, http.StatusOK)
	return err
}

// Bootstrap registers cert on app with a PATCH of its key credentials, for
// an application that has no valid certificate to sign a proof with. The
// caller's token must allow updating the application. It reads the
// credentials again, keys included, and sends every one back unchanged with
// cert added, since a PATCH replaces the whole list.
func (c *Client) Bootstrap(ctx context.Context, appID string, cert *x509.Certificate, displayName string) (*Application, error) {
	op := "register certificate " + thumbprint.Of(cert).String() + " on application " + appID
	app, err := c.Application(ctx, appID)
	if err != nil {
		return nil, err
	}
	if _, ok := app.Find(thumbprint.Of(cert)); ok {
		return app, nil
	}
	for i, k := range app.Keys {
		var g graphKey
		json.Unmarshal(app.raw[i], &g)
		if g.Key == nil || *g.Key == "" {
			// Sending it back without its key would fail, or drop it.
			return nil, fmt.Errorf("%s: Microsoft Graph did not return the key of credential %s, so a PATCH could not keep it; nothing was changed", op, k.KeyID)
		}
	}
	kc := map[string]any{
		"type":  "AsymmetricX509Cert",
		"usage": "Verify",
		"key":   base64.StdEncoding.EncodeToString(cert.Raw),
	}
	if displayName != "" {
		kc["displayName"] = displayName
	}
	added, _ := json.Marshal(kc)
	list := append(append([]json.RawMessage{}, app.raw...), added)
	if _, err := c.do(ctx, op, RequestUpdate, http.MethodPatch, c.base+"/applications/"+app.ObjectID, map[string]any{"keyCredentials": list}, http.StatusNoContent, http.StatusOK); err != nil {
		return nil, err
	}
	return c.Application(ctx, appID)
}

// maxAnswer bounds an answer of Graph; an application's is a few KiB per
// certificate.
const maxAnswer = 8 << 20

// do sends a request with the bearer token and returns the answer's body
// when its status is one of ok.
func (c *Client) do(ctx context.Context, op, kind, method, u string, body any, ok ...int) ([]byte, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: get a token for Microsoft Graph: %w", op, err)
	}
	req, err := runtime.NewRequest(ctx, method, u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Raw().Header.Set("Authorization", "Bearer "+tok)
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(b)), "application/json"); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	resp, err := c.pl.Do(req)
	if err != nil {
		var refused *login.EndpointError
		if errors.As(err, &refused) {
			return nil, fmt.Errorf("%s: %w", op, refused)
		}
		return nil, fmt.Errorf("%s: %w", op, &login.NetworkError{Host: c.host, Err: err})
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s: read Microsoft Graph's answer: %w", op, &login.NetworkError{Host: c.host, Err: err})
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return data, nil
		}
	}
	ge := graphError(op, c.host, resp.StatusCode, data)
	ge.Request = kind
	return nil, ge
}

// graphError reads Graph's error answer: its code and the first line of its
// message, cut to 300 characters.
func graphError(op, host string, status int, body []byte) *GraphError {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(body, &e)
	msg := strings.TrimSpace(e.Error.Message)
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	code := e.Error.Code
	if len(code) > 100 {
		code = ""
	}
	return &GraphError{Op: op, Host: host, Status: status, Code: code, Message: msg}
}

// sha1Sum is the SHA-1 hash of b, the x5t of a certificate.
func sha1Sum(b []byte) []byte {
	h := sha1.Sum(b)
	return h[:]
}
