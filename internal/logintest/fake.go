// Package logintest is a fake Microsoft Entra ID for tests: an OpenID
// Connect authority on loopback TLS that checks client assertions against the
// certificates registered for each application, as Entra ID does, and answers
// with Entra ID's AADSTS errors when they fail. It also serves the
// authorization code flow (with PKCE) and the device code flow, to public
// clients and to confidential ones that authenticate as in the client
// credentials flow; refresh tokens, rotated on each use; a managed identity
// endpoint; a Resource Manager subscriptions list, paged on request; and
// Microsoft Graph's application key credentials (graph.go), which are the
// certificates sign-in checks client assertions against; and Azure Key
// Vault's certificates and secrets (keyvault.go), behind a forward proxy.
//
// Nothing here accepts what the real service would refuse: a tampered,
// replayed, expired or misaddressed assertion is refused, and so is an
// authorization code, device code or refresh token presented by another
// client, a second time, or after it expired or was revoked. Where the fake
// is stricter than Entra ID, a comment says so.
package logintest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testcert"
)

// Fault makes the server misbehave, to test how clients cope.
type Fault int

const (
	NoFault           Fault = iota
	FaultHang               // never answer token requests
	FaultServerError        // answer 500
	FaultThrottle           // answer 429 with Retry-After
	FaultMalformed          // answer 200 with a body that is not JSON
	FaultExpiredToken       // issue tokens that have already expired

	// Hostile modes: each tries to make a client send a credential where
	// it must not go. The Catcher fails the test if one arrives there.
	FaultRedirect307        // the token endpoint answers 307 to the Catcher
	FaultRedirect308        // the token endpoint answers 308 to the Catcher
	FaultCleartextDiscovery // the discovery document names the Catcher (http) as token endpoint
	FaultForeignDiscovery   // the discovery document names https://localhost:PORT, another host name
	FaultRedirectARM        // Resource Manager answers 302 to the Catcher, on the same host
	FaultRedirectMSI        // the managed identity endpoint answers 307 to the Catcher
	// FaultHostileText refuses token requests with an error whose text holds
	// terminal control sequences, to test that clients escape it.
	FaultHostileText
	// FaultForeignIssuer: the discovery document names an issuer on
	// https://localhost:PORT, another host name.
	FaultForeignIssuer
	// FaultUnavailableOnce answers the next token request 503 after its
	// client was authenticated, so that its client assertion (its jti)
	// is used up; the requests after it are served. A client that retries
	// with the same assertion is refused as a replay.
	FaultUnavailableOnce
)

// HostileText is what FaultHostileText puts in its error: it clears the
// screen, sets the window title and reverses the rest of the line.
const HostileText = "Bad request\x1b[2J\x1b]0;pwned\x07 \u202eevil\u009b31m"

const (
	// jwtBearer is the one client_assertion_type Entra ID takes.
	jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// deviceCodeGrant is the device code grant type of RFC 8628; Entra ID
	// also takes the short form "device_code".
	deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"
	// authCodeLifetime: Entra ID's authorization codes last about ten
	// minutes.
	authCodeLifetime = 10 * time.Minute
	// deviceCodeLifetime is the expires_in of the device code endpoint.
	deviceCodeLifetime = 15 * time.Minute
	// refreshTokenInactivity is Entra ID's default inactivity limit of a
	// refresh token; ExpireRefreshTokens makes it pass.
	refreshTokenInactivity = "90.00:00:00"
	// userObjectID is the object id of the fake's user.
	userObjectID = "00000000-0000-4000-8000-0000000a1e40"
	// azureCLIClientID is the Azure CLI's public client id, the application
	// UserAccessToken's tokens seem to come from.
	azureCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
)

// Server is a fake Entra ID tenant.
type Server struct {
	TLS *httptest.Server
	// MSI is a plain-HTTP managed identity endpoint in App Service's form
	// (IDENTITY_ENDPOINT / IDENTITY_HEADER).
	MSI *httptest.Server
	// Catcher is a plain-HTTP server on the same host where the hostile
	// modes send clients. It answers like a token endpoint, and fails the
	// test when a credential arrives: a client secret, client assertion,
	// refresh token, authorization or device code, a bearer token or an
	// X-IDENTITY-HEADER.
	Catcher *httptest.Server
	// KeyVault serves every vault of the fake cloud, NAME.vault.test, over
	// TLS with the certificate of TLS (keyvault.go).
	KeyVault *httptest.Server
	// Proxy is a plain-HTTP forward proxy, the only way to the vaults:
	// it tunnels CONNECT NAME.vault.test:443 to KeyVault.
	Proxy *httptest.Server
	// Tenant is the tenant id; "contoso.example" is accepted as its domain,
	// and "organizations" and "common" for a person's sign-in.
	Tenant string
	// User is who signs in through the device code and browser flows.
	User string
	// MSIHeader is the secret App Service puts in IDENTITY_HEADER.
	MSIHeader string

	mu                 sync.Mutex
	apps               map[string]*app
	jtis               map[string]bool
	tokens             map[string]bool
	deviceCodes        map[string]*deviceCode
	authCodes          map[string]*authCode
	refreshTokens      map[string]*refreshToken
	refreshRedemptions int
	authorizations     []Authorization
	fault              Fault
	subscriptions      []map[string]string
	pageSize           int
	skipTokens         map[string]skipToken
	requests           []string
	// tokenPath is the token endpoint's path after the tenant;
	// MoveTokenEndpoint changes it.
	tokenPath string
	signKey   []byte
	closing   chan struct{}
	caught    []string
	t         testing.TB
	// graphWriters are the client ids GrantApplicationWrite named.
	graphWriters map[string]bool
	// replicationDelay is what SetReplicationDelay set.
	replicationDelay int
	kv               keyVault
}

type app struct {
	// objectID is the application object's id in Graph, which differs
	// from its appId (the client id), as in Entra ID.
	objectID    string
	displayName string
	// keys are the application's key credentials, in Graph's order:
	// sign-in takes a client assertion signed by any of them.
	keys      []*keyCredential
	secret    string
	federated string
}

// authCode is an authorization code as /authorize issued it. Entra ID binds
// a code to the client, the redirect URI and the PKCE challenge of the
// request that asked for it, and to the scopes the user consented to there.
type authCode struct {
	clientID, redirectURI, challenge string
	scope, nonce, user               string
	issued                           time.Time
	redeemed                         bool
}

// deviceCode is a device code as /devicecode issued it, bound to the client
// that asked for it and to the scopes it asked.
type deviceCode struct {
	clientID, scope, user string
	polls                 int // authorization_pending answers left before the user is done
	issued                time.Time
	redeemed              bool
}

// refreshToken is a refresh token the fake issued.
type refreshToken struct {
	clientID, user, tenant string
	scope                  string // the scopes consented to, offline_access among them
	issued, revokedAt      time.Time
	redeemed, expired      bool
	revoked                bool
}

// skipToken is where a page of the subscriptions list starts, and the
// bearer token of the request whose answer named it.
type skipToken struct {
	offset int
	bearer string
}

// Authorization is a request the sign-in page (/authorize) received, as the
// application sent it.
type Authorization struct {
	ClientID, RedirectURI, Scope, State, Prompt string
	ResponseType, ResponseMode                  string
	CodeChallengeMethod                         string
}

// Domain is the tenant's domain name.
const Domain = "contoso.example"

// New starts a fake tenant; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		Tenant:        "72f988bf-0000-4000-8000-00000000c0de",
		User:          "alex@contoso.example",
		MSIHeader:     "msi-header-" + randHex(8),
		apps:          map[string]*app{},
		jtis:          map[string]bool{},
		tokens:        map[string]bool{},
		deviceCodes:   map[string]*deviceCode{},
		authCodes:     map[string]*authCode{},
		refreshTokens: map[string]*refreshToken{},
		skipTokens:    map[string]skipToken{},
		graphWriters:  map[string]bool{},
		signKey:       []byte(randHex(32)),
		tokenPath:     "/oauth2/v2.0/token",
		closing:       make(chan struct{}),
		t:             t,
		subscriptions: []map[string]string{
			{"subscriptionId": "11111111-2222-4333-8444-555555555555", "displayName": "Contoso Production", "state": "Enabled"},
		},
	}
	cert := serverCertificate(t)
	s.TLS = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.TLS.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.TLS.StartTLS()
	s.MSI = httptest.NewServer(http.HandlerFunc(s.serveMSI))
	s.Catcher = httptest.NewServer(http.HandlerFunc(s.serveCatcher))
	s.startKeyVault(cert)
	t.Cleanup(func() {
		close(s.closing)
		s.closeKeyVault()
		s.TLS.CloseClientConnections()
		s.TLS.Close()
		s.MSI.Close()
		s.Catcher.Close()
	})
	return s
}

// serverCertificate is a self-signed certificate for 127.0.0.1, ::1 and
// localhost, so that https://localhost:PORT reaches the fake as another
// host name (FaultForeignDiscovery, and aliases), and for *.vault.test,
// the vaults: WriteCA's one file lets a program trust them all.
func serverCertificate(t testing.TB) tls.Certificate {
	b := testcert.Mint(t, "fake Entra ID", testcert.Options{
		Key:         "ecdsa",
		NotAfter:    time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "*." + KeyVaultSuffix},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	})
	return tls.Certificate{Certificate: [][]byte{b.Leaf.Raw}, PrivateKey: b.Key, Leaf: b.Leaf}
}

// LocalhostURL is the fake's address under the host name localhost: the
// same server, another host to a client.
func (s *Server) LocalhostURL() string {
	_, port, _ := net.SplitHostPort(s.TLS.Listener.Addr().String())
	return "https://localhost:" + port
}

// Caught lists the method and path of each request that reached the
// Catcher.
func (s *Server) Caught() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.caught...)
}

// credentialFields are the form fields that carry a credential.
var credentialFields = []string{"client_secret", "client_assertion", "refresh_token", "code", "code_verifier", "device_code", "password"}

func (s *Server) serveCatcher(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.caught = append(s.caught, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	var leaked []string
	for _, h := range []string{"Authorization", "X-IDENTITY-HEADER"} {
		if r.Header.Get(h) != "" {
			leaked = append(leaked, h+" header")
		}
	}
	if r.ParseForm() == nil {
		for _, f := range credentialFields {
			if r.Form.Get(f) != "" {
				leaked = append(leaked, f)
			}
		}
	}
	if len(leaked) > 0 {
		s.t.Errorf("logintest: a credential (%s) arrived over plain HTTP at %s %s", strings.Join(leaked, ", "), r.Method, r.URL.Path)
	}
	// Answer as a token endpoint would, so a client that leaked does not
	// also fail for another reason.
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "access_token": "caught-" + randHex(8), "expires_in": 3600})
}

// AuthorityHost is the authority's base URL, for a custom environment.
func (s *Server) AuthorityHost() string { return s.TLS.URL + "/" }

// ResourceManager is the fake Resource Manager's base URL.
func (s *Server) ResourceManager() string { return s.TLS.URL + "/arm/" }

// TokenEndpoint is the tenant's token endpoint, the audience of assertions.
func (s *Server) TokenEndpoint() string { return s.TLS.URL + "/" + s.Tenant + "/oauth2/v2.0/token" }

// WriteCA writes the server's TLS certificate, which the vaults' server
// has too, as PEM to dir/fake-entra.pem and returns the path, for
// SSL_CERT_FILE in a child process.
func (s *Server) WriteCA(dir string) (string, error) {
	path := filepath.Join(dir, "fake-entra.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.TLS.Certificate().Raw})
	return path, os.WriteFile(path, b, 0o600)
}

// RegisterCertificate registers cert as a credential of application appID:
// a key credential that sign-in knows at once, as if it had been added long
// ago. A registered application is confidential: the user grants
// (authorization code, device code, refresh token) need its client
// authentication too.
func (s *Server) RegisterCertificate(appID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(appID)
	a.keys = append(a.keys, newKeyCredential(cert, "", "", 0))
}

// RegisterSecret registers a client secret for application appID.
func (s *Server) RegisterSecret(appID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app(appID).secret = secret
}

// RegisterFederated registers the one federated token application appID
// accepts (the fake does not model issuers).
func (s *Server) RegisterFederated(appID, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app(appID).federated = token
}

// SetSubscriptions replaces the subscriptions Resource Manager lists.
func (s *Server) SetSubscriptions(subs []map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscriptions = subs
}

// SetSubscriptionPageSize makes Resource Manager list the subscriptions n
// at a time, each page but the last with a nextLink to the next; 0, the
// default, lists them all in one page.
func (s *Server) SetSubscriptionPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// SetFault makes the token endpoints misbehave.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// MoveTokenEndpoint moves the tenant's token endpoint to path (after the
// tenant, such as "/oauth2/v2.1/token"), as a service that changed its
// endpoints does: the discovery document names the new one, and the old
// one answers 404. Client assertions are still addressed to
// TokenEndpoint, the tenant's token endpoint of the v2.0 protocol.
func (s *Server) MoveTokenEndpoint(path string) {
	s.mu.Lock()
	s.tokenPath = path
	s.mu.Unlock()
}

// Requests lists the method and path of each request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Authorizations lists the requests the sign-in page received so far.
func (s *Server) Authorizations() []Authorization {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Authorization(nil), s.authorizations...)
}

// IssuedToken reports whether the fake issued token.
func (s *Server) IssuedToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[token]
}

// IssuedRefreshToken reports whether the fake issued refresh token rt,
// whether or not it can still be redeemed.
func (s *Server) IssuedRefreshToken(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshTokens[rt] != nil
}

// RefreshTokenRedemptions counts the refresh_token grants that earned
// tokens.
func (s *Server) RefreshTokenRedemptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshRedemptions
}

// ExpireRefreshTokens makes every refresh token issued so far expire, as
// Entra ID's do after 90 days without use; later ones are not affected.
func (s *Server) ExpireRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.refreshTokens {
		rt.expired = true
	}
}

// RevokeRefreshTokens revokes every refresh token issued so far, as
// revoking the user's sessions (or a password reset) does in Entra ID;
// later ones are not affected.
func (s *Server) RevokeRefreshTokens() {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.refreshTokens {
		if !rt.revoked {
			rt.revoked, rt.revokedAt = true, now
		}
	}
}

// UserAccessToken makes an access token for the fake's user and scope, as
// if the user had got it elsewhere (from the Azure CLI, say), valid for
// lifetime from now; a negative lifetime makes a token that has already
// expired. The fake records it as issued, so Resource Manager takes it as
// long as it is valid and meant for Resource Manager.
func (s *Server) UserAccessToken(scope string, lifetime time.Duration) string {
	return s.accessToken(azureCLIClientID, s.User, scope, lifetime)
}

func (s *Server) app(id string) *app {
	a, ok := s.apps[id]
	if !ok {
		a = &app{objectID: randGUID(), displayName: "app " + id}
		s.apps[id] = a
	}
	return a
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	fault := s.fault
	tokenPath := s.tokenPath
	s.mu.Unlock()

	if r.URL.Path == "/graph" || strings.HasPrefix(r.URL.Path, "/graph/") {
		s.serveGraph(w, r)
		return
	}
	if r.URL.Path == "/arm/subscriptions" {
		if fault == FaultRedirectARM {
			http.Redirect(w, r, s.Catcher.URL+r.URL.RequestURI(), http.StatusFound)
			return
		}
		s.serveSubscriptions(w, r)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := parts[0], "/"+parts[1]
	// As in Entra ID, a person may also sign in through /organizations
	// or /common, which stand for the user's own tenant: the fake's.
	if tenant != s.Tenant && !strings.EqualFold(tenant, Domain) && !multiTenant(tenant) {
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	// The token endpoint is where MoveTokenEndpoint put it; the old one
	// is gone.
	switch rest {
	case tokenPath:
		rest = "/oauth2/v2.0/token"
	case "/oauth2/v2.0/token":
		http.NotFound(w, r)
		return
	}
	switch rest {
	case "/v2.0/.well-known/openid-configuration":
		base := s.TLS.URL + "/" + tenant
		tokenEndpoint := base + tokenPath
		issuer := s.TLS.URL + "/" + s.Tenant + "/v2.0"
		switch fault {
		case FaultCleartextDiscovery:
			tokenEndpoint = s.Catcher.URL + "/" + tenant + "/oauth2/v2.0/token"
		case FaultForeignDiscovery:
			tokenEndpoint = s.LocalhostURL() + "/" + tenant + tokenPath
		case FaultForeignIssuer:
			issuer = s.LocalhostURL() + "/" + s.Tenant + "/v2.0"
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                        issuer,
			"token_endpoint":                tokenEndpoint,
			"authorization_endpoint":        base + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
			"tenant_region_scope":           "WW",
		})
	case "/oauth2/v2.0/token":
		switch fault {
		case FaultHang:
			// Read the request so the server notices when the client
			// gives up; stop when it does or when the test ends.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			// A hanging service never answers: returning would send an
			// empty 200, which a client still waiting on the stream
			// (seen once under load in TestSignInFaults) reads as a
			// token response without a token. Abort the stream instead.
			panic(http.ErrAbortHandler)
		case FaultServerError:
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		case FaultThrottle:
			w.Header().Set("Retry-After", "1")
			aadError(w, http.StatusTooManyRequests, "temporarily_unavailable", 50196, "The server is temporarily unable to handle the request.")
			return
		case FaultMalformed:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"access_token": "unterminated`))
			return
		case FaultHostileText:
			aadError(w, http.StatusBadRequest, "invalid_request", 90014, HostileText)
			return
		case FaultRedirect307, FaultRedirect308:
			status := http.StatusTemporaryRedirect
			if fault == FaultRedirect308 {
				status = http.StatusPermanentRedirect
			}
			http.Redirect(w, r, s.Catcher.URL+r.URL.RequestURI(), status)
			return
		}
		if fault == FaultUnavailableOnce {
			s.SetFault(NoFault)
		}
		s.serveToken(w, r, tenant, fault)
	case "/oauth2/v2.0/devicecode":
		s.serveDeviceCode(w, r)
	case "/oauth2/v2.0/authorize":
		s.serveAuthorize(w, r)
	default:
		http.NotFound(w, r)
	}
}

// refusal is an error answer of the token endpoint.
type refusal struct {
	status int
	err    string // the OAuth error
	code   int    // the AADSTS number
	msg    string
}

func (f *refusal) write(w http.ResponseWriter) { aadError(w, f.status, f.err, f.code, f.msg) }

func invalidGrant(code int, msg string) *refusal {
	return &refusal{http.StatusBadRequest, "invalid_grant", code, msg}
}

func missingParameter(name string) *refusal {
	return &refusal{http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", name)}
}

// otherClient refuses a code or refresh token that another client got.
// Entra ID's sign-in logs call this "grant issued for a different client
// id" (AADSTS700007); it answers invalid_grant.
func otherClient(kind, clientID string) *refusal {
	return invalidGrant(700007, fmt.Sprintf("The provided %s was issued to a different client than '%s'. A grant can only be redeemed by the client it was issued to.", kind, clientID))
}

// grant is what a token request earned: tokens for a client, and for a
// user unless user is empty.
type grant struct {
	clientID string
	user     string
	// scope is the request's scope: its first resource is the access
	// token's audience.
	scope string
	// consented is the scopes the user consented to, at /authorize or
	// /devicecode or with the refresh token: offline_access there earns a
	// refresh token.
	consented string
	nonce     string
	// clientInfo is set when the request asked for client_info (MSAL
	// sends client_info=1).
	clientInfo bool
}

// multiTenant reports whether tenant is one of the names that stand for
// the signed-in user's tenant.
func multiTenant(tenant string) bool {
	return strings.EqualFold(tenant, "organizations") || strings.EqualFold(tenant, "common")
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string, fault Fault) {
	if r.Method != http.MethodPost {
		aadError(w, http.StatusBadRequest, "invalid_request", 900561, fmt.Sprintf("The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return
	}
	if err := r.ParseForm(); err != nil {
		missingParameter("grant_type").write(w)
		return
	}
	f := r.PostForm
	grantType := f.Get("grant_type")
	switch grantType {
	case "":
		missingParameter("grant_type").write(w)
		return
	case "client_credentials", "authorization_code", "refresh_token", deviceCodeGrant, "device_code":
	default:
		aadError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	}
	if f.Get("client_id") == "" {
		missingParameter("client_id").write(w)
		return
	}
	if grantType == "client_credentials" && multiTenant(tenant) {
		// An application's own token is for a tenant that the request
		// must name: no user signs in to imply one.
		aadError(w, http.StatusBadRequest, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials.")
		return
	}
	// Entra ID authenticates the client before it looks at the grant, so a
	// request refused here does not use up its code or refresh token.
	if rf := s.authenticateClient(f, grantType != "client_credentials"); rf != nil {
		rf.write(w)
		return
	}
	if fault == FaultUnavailableOnce {
		aadError(w, http.StatusServiceUnavailable, "temporarily_unavailable", 50196, "The server is temporarily unable to handle the request.")
		return
	}
	var g grant
	var rf *refusal
	switch grantType {
	case "client_credentials":
		g, rf = clientCredentials(f)
	case "authorization_code":
		g, rf = s.redeemCode(f)
	case "refresh_token":
		g, rf = s.redeemRefreshToken(f)
	default:
		g, rf = s.redeemDeviceCode(f)
	}
	if rf != nil {
		rf.write(w)
		return
	}
	s.issue(w, g, fault == FaultExpiredToken)
}

// authenticateClient checks the client authentication of a token request
// as Entra ID does, and returns its refusal or nil.
//
// The client credentials grant needs a registered application and one of
// its credentials: a client secret, a client assertion signed with a
// registered certificate, or its federated token. The user grants
// (authorization code, device code, refresh token) check a credential the
// same way when the request carries one. A confidential application (one
// with any credential registered) must send one: without, Entra ID answers
// AADSTS7000218. An application never registered here stands for a public
// client, such as the Azure CLI's client id that azidentity uses by
// default: it sends no credential, and Entra ID refuses one from a public
// client (AADSTS700025).
func (s *Server) authenticateClient(f url.Values, userGrant bool) *refusal {
	clientID := f.Get("client_id")
	secret, assertion := f.Get("client_secret"), f.Get("client_assertion")
	s.mu.Lock()
	a, registered := s.apps[clientID]
	var cp app
	if registered {
		cp = *a
	}
	s.mu.Unlock()
	if !registered {
		if !userGrant {
			return &refusal{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, s.Tenant)}
		}
		if secret != "" || assertion != "" {
			return &refusal{http.StatusUnauthorized, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."}
		}
		return nil
	}
	switch {
	case secret != "":
		if cp.secret == "" || !hmac.Equal([]byte(secret), []byte(cp.secret)) {
			return &refusal{http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."}
		}
	case assertion != "":
		if f.Get("client_assertion_type") != jwtBearer {
			return missingParameter("client_assertion_type")
		}
		if cp.federated != "" {
			if !hmac.Equal([]byte(assertion), []byte(cp.federated)) {
				return &refusal{http.StatusBadRequest, "invalid_client", 700213, "No matching federated identity record found for presented assertion subject."}
			}
			break
		}
		if code, msg := s.checkAssertion(assertion, clientID); code != 0 {
			return &refusal{http.StatusUnauthorized, "invalid_client", code, msg}
		}
	default:
		return &refusal{http.StatusBadRequest, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	return nil
}

// clientCredentials is the client credentials grant: the client is
// authenticated already. Entra ID takes only a resource's /.default scope
// in this flow (AADSTS1002012).
func clientCredentials(f url.Values) (grant, *refusal) {
	scope := f.Get("scope")
	if scope == "" {
		return grant{}, missingParameter("scope")
	}
	resources := 0
	for _, sc := range strings.Fields(scope) {
		// MSAL adds openid, offline_access and profile to every request;
		// Entra ID ignores them here.
		if oidcScopes[sc] {
			continue
		}
		if !strings.HasSuffix(sc, "/.default") {
			return grant{}, &refusal{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", sc)}
		}
		resources++
	}
	if resources == 0 {
		return grant{}, &refusal{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)}
	}
	return grant{clientID: f.Get("client_id"), scope: scope}, nil
}

// redeemCode is the authorization code grant. In order, Entra ID refuses:
// an unknown code (AADSTS70000), one already redeemed (AADSTS54005), one
// issued to another client (AADSTS700007), one older than its ten minutes
// (AADSTS70008), a redirect_uri other than the one the code was sent to
// (AADSTS500112), and a code_verifier that does not hash to the PKCE
// challenge (AADSTS501481). A code is used up by its first presentation,
// whether or not it earns tokens: a code presented by the wrong client or
// with the wrong verifier may have been intercepted, and must not be
// tried again. A refusal of the client's authentication comes first and
// does not use the code up.
func (s *Server) redeemCode(f url.Values) (grant, *refusal) {
	code := f.Get("code")
	if code == "" {
		return grant{}, missingParameter("code")
	}
	clientID := f.Get("client_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.authCodes[code]
	if ac == nil {
		return grant{}, invalidGrant(70000, "The provided value for the 'code' parameter is not valid: Authorization Code is malformed or invalid.")
	}
	if ac.redeemed {
		return grant{}, invalidGrant(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	}
	ac.redeemed = true
	verifier := f.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	switch redirect := f.Get("redirect_uri"); {
	case ac.clientID != clientID:
		return grant{}, otherClient("authorization code", clientID)
	case time.Since(ac.issued) > authCodeLifetime:
		return grant{}, invalidGrant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case redirect == "":
		return grant{}, missingParameter("redirect_uri")
	case redirect != ac.redirectURI:
		return grant{}, invalidGrant(500112, fmt.Sprintf("The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", redirect, ac.redirectURI))
	case verifier == "" || !hmac.Equal([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(ac.challenge)):
		return grant{}, invalidGrant(501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	scope := f.Get("scope")
	if scope == "" {
		// The scope is optional when a code is redeemed: the code's own.
		scope = ac.scope
	}
	return grant{clientID: clientID, user: ac.user, scope: scope, consented: ac.scope, nonce: ac.nonce, clientInfo: f.Get("client_info") == "1"}, nil
}

// redeemDeviceCode is the device code grant: the first poll of a code
// answers authorization_pending, the next earns tokens. Entra ID refuses a
// code it did not issue (AADSTS70000), one issued to another client
// (AADSTS700007), one already redeemed (AADSTS70000), and one past its
// expires_in (expired_token, AADSTS70019).
func (s *Server) redeemDeviceCode(f url.Values) (grant, *refusal) {
	code := f.Get("device_code")
	if code == "" {
		return grant{}, missingParameter("device_code")
	}
	clientID := f.Get("client_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	dc := s.deviceCodes[code]
	switch {
	case dc == nil:
		return grant{}, invalidGrant(70000, "The provided value for the 'device_code' parameter is not valid.")
	case dc.clientID != clientID:
		return grant{}, otherClient("device code", clientID)
	case dc.redeemed:
		return grant{}, invalidGrant(70000, "The provided value for the 'device_code' parameter is not valid: it was already redeemed.")
	case time.Since(dc.issued) > deviceCodeLifetime:
		return grant{}, &refusal{http.StatusBadRequest, "expired_token", 70019, "Verification code expired."}
	case dc.polls > 0:
		dc.polls--
		return grant{}, &refusal{http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling."}
	}
	dc.redeemed = true
	scope := f.Get("scope")
	if scope == "" {
		scope = dc.scope
	}
	return grant{clientID: clientID, user: dc.user, scope: scope, consented: dc.scope, clientInfo: f.Get("client_info") == "1"}, nil
}

// redeemRefreshToken is the refresh token grant, for any resource: the
// answer carries a new refresh token. Entra ID refuses a token it did not
// issue (AADSTS70000), one issued to another client (AADSTS700007), one
// revoked (AADSTS50173) and one expired for inactivity (AADSTS700082). The
// fake also refuses a refresh token redeemed before (AADSTS70000), which
// Entra ID does not do: each refresh token works once here, so that a
// client that does not keep the new one fails its tests.
func (s *Server) redeemRefreshToken(f url.Values) (grant, *refusal) {
	token := f.Get("refresh_token")
	if token == "" {
		return grant{}, missingParameter("refresh_token")
	}
	scope := f.Get("scope")
	if scope == "" {
		return grant{}, missingParameter("scope")
	}
	clientID := f.Get("client_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.refreshTokens[token]
	switch {
	case rt == nil:
		return grant{}, invalidGrant(70000, "The provided value for the 'refresh_token' parameter is not valid.")
	case rt.clientID != clientID:
		return grant{}, otherClient("refresh token", clientID)
	case rt.revoked:
		return grant{}, invalidGrant(50173, fmt.Sprintf("The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.", entraTime(rt.issued), entraTime(rt.revokedAt)))
	case rt.expired:
		return grant{}, invalidGrant(700082, fmt.Sprintf("The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.", entraTime(rt.issued), refreshTokenInactivity))
	case rt.redeemed:
		return grant{}, invalidGrant(70000, "The provided value for the 'refresh_token' parameter is not valid: it was already redeemed, and the new refresh token issued with it must be used instead.")
	}
	rt.redeemed = true
	s.refreshRedemptions++
	return grant{clientID: clientID, user: rt.user, scope: scope, consented: rt.scope, clientInfo: f.Get("client_info") == "1"}, nil
}

// checkAssertion verifies a client assertion as Entra ID does, against the
// key credentials of application clientID; it returns the AADSTS code and
// message of the first problem, or 0.
func (s *Server) checkAssertion(jwt, clientID string) (int, string) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return 50027, "JWT token is invalid or malformed."
	}
	var header struct {
		Alg     string   `json:"alg"`
		X5tS256 string   `json:"x5t#S256"`
		X5t     string   `json:"x5t"`
		X5c     []string `json:"x5c"`
	}
	var claims struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Jti string `json:"jti"`
		Nbf int64  `json:"nbf"`
		Exp int64  `json:"exp"`
	}
	if decodePart(parts[0], &header) != nil || decodePart(parts[1], &claims) != nil {
		return 50027, "JWT token is invalid or malformed."
	}
	cert := s.signInCertificate(clientID, header.X5tS256)
	if cert == nil {
		return 700027, fmt.Sprintf("Client assertion failed signature validation. Certificate with thumbprint '%s' is not registered on application '%s'.", header.X5tS256, clientID)
	}
	now := time.Now()
	if now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return 700027, fmt.Sprintf("The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '%s']", header.X5tS256)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return 50012, "Client assertion contains an invalid signature."
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return 50012, "Client assertion contains an invalid signature."
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header.Alg {
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	default:
		return 5002738, fmt.Sprintf("Unsupported assertion algorithm '%s'.", header.Alg)
	}
	if err != nil {
		return 50012, "Client assertion contains an invalid signature."
	}
	if claims.Aud != s.TokenEndpoint() && claims.Aud != s.TLS.URL+"/"+Domain+"/oauth2/v2.0/token" {
		return 700212, fmt.Sprintf("Client assertion audience claim does not match Realm issuer: '%s'.", claims.Aud)
	}
	if claims.Iss != clientID || claims.Sub != clientID {
		return 50012, "Client assertion issuer or subject does not match the client id."
	}
	const skew = 5 * time.Minute
	if now.Add(skew).Unix() < claims.Nbf || now.Add(-skew).Unix() > claims.Exp || claims.Exp == 0 {
		return 700024, "Client assertion is not within its valid time range."
	}
	if claims.Exp-claims.Nbf > int64(time.Hour/time.Second) {
		return 700024, "Client assertion lifetime is too long."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if claims.Jti == "" || s.jtis[claims.Jti] {
		return 7000274, "The client assertion has been used before (jti replay)."
	}
	s.jtis[claims.Jti] = true
	return 0, ""
}

// oidcScopes are the OpenID Connect scopes, which name no resource.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}

// resourceOf is the resource of the first scope in scope that names one,
// the audience of an access token for it: the scope without its last path
// segment ("https://graph.microsoft.com/.default" is for
// https://graph.microsoft.com, "https://management.core.windows.net//.default"
// for https://management.core.windows.net/). A bare permission such as
// User.Read, or no resource scope at all, means Microsoft Graph, as in
// Entra ID.
func resourceOf(scope string) string {
	const graph = "https://graph.microsoft.com"
	for _, sc := range strings.Fields(scope) {
		if oidcScopes[sc] {
			continue
		}
		prefix, rest, isURL := strings.Cut(sc, "://")
		if !isURL {
			prefix, rest = "", sc
		}
		i := strings.LastIndex(rest, "/")
		if i < 0 {
			if isURL {
				return sc
			}
			return graph
		}
		if isURL {
			return prefix + "://" + rest[:i]
		}
		return rest[:i]
	}
	return graph
}

// hasScope reports whether the space-separated scopes include name.
func hasScope(scopes, name string) bool { return slices.Contains(strings.Fields(scopes), name) }

// accessToken signs an access token for scope's resource, for clientID and
// for user unless user is empty, valid for lifetime from now, and records
// it as issued.
func (s *Server) accessToken(clientID, user, scope string, lifetime time.Duration) string {
	now := time.Now()
	issued := now
	if lifetime < 0 {
		issued = now.Add(lifetime - time.Hour)
	}
	claims := map[string]any{
		"aud":   resourceOf(scope),
		"iss":   "https://sts.fake/" + s.Tenant + "/",
		"tid":   s.Tenant,
		"appid": clientID,
		"iat":   issued.Unix(),
		"nbf":   issued.Unix(),
		"exp":   now.Add(lifetime).Unix(),
		"uti":   randHex(8),
	}
	if user != "" {
		claims["oid"] = userObjectID
		claims["sub"] = userObjectID
		claims["upn"] = user
		claims["preferred_username"] = user
		claims["name"] = "Alex"
	}
	token := s.sign(claims)
	s.mu.Lock()
	s.tokens[token] = true
	s.mu.Unlock()
	return token
}

// issue answers a token request with a fresh access token and, for a
// person: a refresh token if offline_access was consented to (each one
// recorded, to be redeemed once), an ID token if openid was asked, and
// client_info if the request asked for it.
func (s *Server) issue(w http.ResponseWriter, g grant, expired bool) {
	lifetime := time.Hour
	if expired {
		lifetime = -time.Minute
	}
	body := map[string]any{
		"token_type":     "Bearer",
		"access_token":   s.accessToken(g.clientID, g.user, g.scope, lifetime),
		"expires_in":     int(lifetime / time.Second),
		"ext_expires_in": int(lifetime / time.Second),
		"scope":          g.scope,
	}
	if g.user != "" {
		now := time.Now()
		if hasScope(g.consented, "offline_access") {
			token := "rt-" + randHex(24)
			s.mu.Lock()
			s.refreshTokens[token] = &refreshToken{clientID: g.clientID, user: g.user, tenant: s.Tenant, scope: g.consented, issued: now}
			s.mu.Unlock()
			body["refresh_token"] = token
		}
		if hasScope(g.scope+" "+g.consented, "openid") {
			claims := map[string]any{
				"aud": g.clientID, "iss": s.TLS.URL + "/" + s.Tenant + "/v2.0", "tid": s.Tenant, "oid": userObjectID, "sub": userObjectID,
				"preferred_username": g.user, "name": "Alex", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			}
			if g.nonce != "" {
				claims["nonce"] = g.nonce
			}
			body["id_token"] = s.sign(claims)
		}
		if g.clientInfo {
			ci, _ := json.Marshal(map[string]string{"uid": userObjectID, "utid": s.Tenant})
			body["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// serveDeviceCode starts a device code sign-in for the client and scopes
// asked; the user finishes it after the first poll.
func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		aadError(w, http.StatusBadRequest, "invalid_request", 900561, fmt.Sprintf("The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return
	}
	if err := r.ParseForm(); err != nil {
		missingParameter("client_id").write(w)
		return
	}
	clientID, scope := r.PostForm.Get("client_id"), r.PostForm.Get("scope")
	if clientID == "" {
		missingParameter("client_id").write(w)
		return
	}
	if scope == "" {
		missingParameter("scope").write(w)
		return
	}
	code := "dc-" + randHex(16)
	s.mu.Lock()
	s.deviceCodes[code] = &deviceCode{clientID: clientID, scope: scope, user: s.User, polls: 1, issued: time.Now()}
	s.mu.Unlock()
	verify := s.TLS.URL + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":      code,
		"user_code":        "FAKE-CODE",
		"verification_uri": verify,
		"expires_in":       int(deviceCodeLifetime / time.Second),
		"interval":         1,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code FAKE-CODE to authenticate.", verify),
	})
}

// serveAuthorize stands for the sign-in page: the user signs in and
// consents at once, and is sent back to the redirect URI with a code bound
// to the client, the redirect URI, the PKCE challenge and the scopes asked.
//
// As Entra ID does, it shows an error page (here, JSON) when it cannot
// trust the redirect URI (only loopback addresses are registered here, over
// http or https, as Entra ID allows for loopback), and otherwise sends
// errors back to the redirect URI. Entra ID requires PKCE only for some
// applications and takes code_challenge_method=plain; the fake requires
// S256 from every client, as certctl must use it.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	q := r.Form
	req := Authorization{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), Scope: q.Get("scope"),
		State: q.Get("state"), Prompt: q.Get("prompt"), ResponseType: q.Get("response_type"),
		ResponseMode: q.Get("response_mode"), CodeChallengeMethod: q.Get("code_challenge_method"),
	}
	s.mu.Lock()
	s.authorizations = append(s.authorizations, req)
	s.mu.Unlock()
	if req.ClientID == "" {
		missingParameter("client_id").write(w)
		return
	}
	redirect, err := url.Parse(req.RedirectURI)
	if err != nil || redirect.Scheme != "http" && redirect.Scheme != "https" || redirect.Fragment != "" ||
		redirect.Hostname() != "localhost" && redirect.Hostname() != "127.0.0.1" {
		aadError(w, http.StatusBadRequest, "invalid_request", 50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", req.RedirectURI, req.ClientID))
		return
	}
	switch req.ResponseMode {
	case "", "query", "fragment", "form_post":
	default:
		aadError(w, http.StatusBadRequest, "invalid_request", 70007, fmt.Sprintf("The application returned an unsupported value of 'response_mode': '%s'.", req.ResponseMode))
		return
	}
	fail := func(oauthErr string, code int, msg string) {
		back := url.Values{"error": {oauthErr}, "error_description": {aadDescription(code, msg)}}
		if req.State != "" {
			back.Set("state", req.State)
		}
		answerAuthorize(w, r, redirect, req.ResponseMode, back)
	}
	challenge := q.Get("code_challenge")
	switch {
	case req.ResponseType != "code":
		fail("unsupported_response_type", 70005, fmt.Sprintf("The application requested an unsupported response type '%s'; the fake issues authorization codes only (response_type=code).", req.ResponseType))
	case req.Scope == "":
		fail("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	case challenge == "":
		fail("invalid_request", 50147, "The code_challenge parameter is missing: PKCE (RFC 7636) with code_challenge_method=S256 is required.")
	case req.CodeChallengeMethod != "S256":
		fail("invalid_request", 50149, fmt.Sprintf("Invalid Code_Challenge_method parameter '%s': only S256 is accepted.", req.CodeChallengeMethod))
	case len(challenge) != 43:
		fail("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
	default:
		code := "ac-" + randHex(24)
		s.mu.Lock()
		s.authCodes[code] = &authCode{
			clientID: req.ClientID, redirectURI: req.RedirectURI, challenge: challenge,
			scope: req.Scope, nonce: q.Get("nonce"), user: s.User, issued: time.Now(),
		}
		s.mu.Unlock()
		back := url.Values{"code": {code}}
		if req.State != "" {
			back.Set("state", req.State)
		}
		answerAuthorize(w, r, redirect, req.ResponseMode, back)
	}
}

// answerAuthorize sends the sign-in page's answer to the application at
// its redirect URI the way response_mode asks: in the query (the default
// for codes), in the fragment, or, as Entra ID does for form_post, in a page
// whose form posts it.
func answerAuthorize(w http.ResponseWriter, r *http.Request, redirect *url.URL, mode string, fields url.Values) {
	switch mode {
	case "form_post":
		var b strings.Builder
		fmt.Fprintf(&b, `<html><body onload="document.forms[0].submit()"><form method="post" action="%s">`, html.EscapeString(redirect.String()))
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s"/>`, html.EscapeString(k), html.EscapeString(fields.Get(k)))
		}
		b.WriteString(`</form></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, b.String())
	case "fragment":
		u := *redirect
		u.Fragment, u.RawFragment = "", ""
		http.Redirect(w, r, u.String()+"#"+fields.Encode(), http.StatusFound)
	default:
		u := *redirect
		back := u.Query()
		for k, v := range fields {
			back[k] = v
		}
		u.RawQuery = back.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
}

// serveSubscriptions is Resource Manager's subscriptions list. As Resource
// Manager does, it wants an api-version and a bearer token that is valid,
// unexpired and meant for Resource Manager: the fake's Resource Manager
// URL, with or without its trailing slash. With a page size set, each page
// but the last has a nextLink with a $skiptoken; the fake, more strictly
// than Resource Manager, takes a $skiptoken only with the bearer token of
// the request whose answer named it.
func (s *Server) serveSubscriptions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	version := q.Get("api-version")
	if version == "" {
		armError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	header := r.Header.Get("Authorization")
	if header == "" {
		s.armUnauthorized(w, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	}
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || !s.IssuedToken(token) {
		s.armUnauthorized(w, "InvalidAuthenticationToken", "The access token is invalid.")
		return
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
	}
	if decodePart(strings.Split(token, ".")[1], &claims) != nil {
		s.armUnauthorized(w, "InvalidAuthenticationToken", "The access token is invalid.")
		return
	}
	now := time.Now()
	if exp := time.Unix(claims.Exp, 0); !now.Before(exp) {
		s.armUnauthorized(w, "ExpiredAuthenticationToken", fmt.Sprintf("The access token expiry UTC time '%s' is earlier than current UTC time '%s'.", armTime(exp), armTime(now)))
		return
	}
	arm := strings.TrimSuffix(s.ResourceManager(), "/")
	if strings.TrimSuffix(claims.Aud, "/") != arm {
		s.armUnauthorized(w, "InvalidAuthenticationTokenAudience", fmt.Sprintf("The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s/','%s'.", claims.Aud, arm, arm))
		return
	}
	s.mu.Lock()
	subs, size, start := s.subscriptions, s.pageSize, 0
	if skip := q.Get("$skiptoken"); skip != "" {
		st, ok := s.skipTokens[skip]
		if !ok || st.bearer != token {
			s.mu.Unlock()
			armError(w, http.StatusBadRequest, "InvalidSkipToken", "The $skiptoken is not valid for this request.")
			return
		}
		start = min(st.offset, len(subs))
	}
	end, next := len(subs), ""
	if size > 0 && start+size < len(subs) {
		end, next = start+size, randHex(16)
		s.skipTokens[next] = skipToken{offset: end, bearer: token}
	}
	page := append([]map[string]string{}, subs[start:end]...)
	s.mu.Unlock()
	body := map[string]any{"value": page}
	if next != "" {
		body["nextLink"] = s.TLS.URL + "/arm/subscriptions?" + url.Values{"api-version": {version}, "$skiptoken": {next}}.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

// armUnauthorized is Resource Manager's 401, with the challenge that names
// the authority.
func (s *Server) armUnauthorized(w http.ResponseWriter, code, msg string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s/%s", error="invalid_token", error_description=%q`, s.TLS.URL, s.Tenant, msg))
	armError(w, http.StatusUnauthorized, code, msg)
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// armTime formats t as Resource Manager's messages do.
func armTime(t time.Time) string { return t.UTC().Format("1/2/2006 3:04:05 PM") }

// entraTime formats t as Entra ID's messages do.
func entraTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// serveMSI is App Service's managed identity endpoint.
func (s *Server) serveMSI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault == FaultRedirectMSI {
		http.Redirect(w, r, s.Catcher.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return
	}
	if r.Header.Get("X-IDENTITY-HEADER") != s.MSIHeader {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "missing or wrong X-IDENTITY-HEADER"})
		return
	}
	q := r.URL.Query()
	resource := q.Get("resource")
	if resource == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "resource is required"})
		return
	}
	id := q.Get("client_id") + q.Get("mi_res_id") + q.Get("principal_id") + q.Get("object_id")
	token := s.sign(map[string]any{"aud": resource, "tid": s.Tenant, "oid": id, "exp": time.Now().Add(time.Hour).Unix(), "nonce": randHex(8)})
	s.mu.Lock()
	s.tokens[token] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
		"resource":     resource,
		"token_type":   "Bearer",
		"client_id":    q.Get("client_id"),
	})
}

// sign makes a JWT the fake can recognise (HMAC-SHA256 with its own key).
func (s *Server) sign(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func decodePart(p string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// aadDescription is Entra ID's error_description: the AADSTS code, the
// message, a trace id and the time.
func aadDescription(code int, msg string) string {
	return fmt.Sprintf("AADSTS%d: %s Trace ID: %s Timestamp: %s", code, msg, randHex(8), time.Now().UTC().Format("2006-01-02 15:04:05Z"))
}

func aadError(w http.ResponseWriter, status int, oauthErr string, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"error":             oauthErr,
		"error_description": aadDescription(code, msg),
		"error_codes":       []int{code},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
