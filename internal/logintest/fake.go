// Package logintest is a fake Microsoft Entra ID for tests: an OpenID
// Connect authority on loopback TLS that checks client assertions against the
// certificates registered for each application, as Entra ID does, and answers
// with Entra ID's AADSTS errors when they fail. It also serves the device
// code and authorization code flows, a managed identity endpoint and a
// Resource Manager subscriptions list.
//
// Nothing here accepts what the real service would refuse: a tampered,
// replayed, expired or misaddressed assertion is refused.
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
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
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
)

// HostileText is what FaultHostileText puts in its error: it clears the
// screen, sets the window title and reverses the rest of the line.
const HostileText = "Bad request\x1b[2J\x1b]0;pwned\x07 \u202eevil\u009b31m"

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
	// Tenant is the tenant id; "contoso.example" is accepted as its domain.
	Tenant string
	// User is who signs in through the device code and browser flows.
	User string
	// MSIHeader is the secret App Service puts in IDENTITY_HEADER.
	MSIHeader string

	mu            sync.Mutex
	apps          map[string]*app
	jtis          map[string]bool
	tokens        map[string]bool
	deviceCodes   map[string]int // device code -> polls left before the user finishes
	authCodes     map[string]string
	fault         Fault
	subscriptions []map[string]string
	requests      []string
	signKey       []byte
	closing       chan struct{}
	caught        []string
	t             testing.TB
}

type app struct {
	certs     []*x509.Certificate
	secret    string
	federated string
}

// Domain is the tenant's domain name.
const Domain = "contoso.example"

// New starts a fake tenant; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		Tenant:      "72f988bf-0000-4000-8000-00000000c0de",
		User:        "alex@contoso.example",
		MSIHeader:   "msi-header-" + randHex(8),
		apps:        map[string]*app{},
		jtis:        map[string]bool{},
		tokens:      map[string]bool{},
		deviceCodes: map[string]int{},
		authCodes:   map[string]string{},
		signKey:     []byte(randHex(32)),
		closing:     make(chan struct{}),
		t:           t,
		subscriptions: []map[string]string{
			{"subscriptionId": "11111111-2222-4333-8444-555555555555", "displayName": "Contoso Production", "state": "Enabled"},
		},
	}
	s.TLS = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.TLS.TLS = &tls.Config{Certificates: []tls.Certificate{serverCertificate(t)}}
	s.TLS.StartTLS()
	s.MSI = httptest.NewServer(http.HandlerFunc(s.serveMSI))
	s.Catcher = httptest.NewServer(http.HandlerFunc(s.serveCatcher))
	t.Cleanup(func() {
		close(s.closing)
		s.TLS.CloseClientConnections()
		s.TLS.Close()
		s.MSI.Close()
		s.Catcher.Close()
	})
	return s
}

// serverCertificate is a self-signed certificate for 127.0.0.1, ::1 and
// localhost, so that https://localhost:PORT reaches the fake as another
// host name (FaultForeignDiscovery, and aliases).
func serverCertificate(t testing.TB) tls.Certificate {
	b := testcert.Mint(t, "fake Entra ID", testcert.Options{
		Key:         "ecdsa",
		NotAfter:    time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
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

// WriteCA writes the server's TLS certificate as PEM to dir/fake-entra.pem
// and returns the path, for SSL_CERT_FILE in a child process.
func (s *Server) WriteCA(dir string) (string, error) {
	path := filepath.Join(dir, "fake-entra.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.TLS.Certificate().Raw})
	return path, os.WriteFile(path, b, 0o600)
}

// RegisterCertificate registers cert as a credential of application appID.
func (s *Server) RegisterCertificate(appID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app(appID).certs = append(s.app(appID).certs, cert)
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

// SetFault makes the token endpoints misbehave.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Requests lists the method and path of each request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// IssuedToken reports whether the fake issued token.
func (s *Server) IssuedToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[token]
}

func (s *Server) app(id string) *app {
	a, ok := s.apps[id]
	if !ok {
		a = &app{}
		s.apps[id] = a
	}
	return a
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	fault := s.fault
	s.mu.Unlock()

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
	if tenant != s.Tenant && !strings.EqualFold(tenant, Domain) {
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	switch rest {
	case "/v2.0/.well-known/openid-configuration":
		base := s.TLS.URL + "/" + tenant
		tokenEndpoint := base + "/oauth2/v2.0/token"
		switch fault {
		case FaultCleartextDiscovery:
			tokenEndpoint = s.Catcher.URL + "/" + tenant + "/oauth2/v2.0/token"
		case FaultForeignDiscovery:
			tokenEndpoint = s.LocalhostURL() + "/" + tenant + "/oauth2/v2.0/token"
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                        s.TLS.URL + "/" + s.Tenant + "/v2.0",
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
			return
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
		s.serveToken(w, r, fault == FaultExpiredToken)
	case "/oauth2/v2.0/devicecode":
		s.serveDeviceCode(w, r)
	case "/oauth2/v2.0/authorize":
		s.serveAuthorize(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, expired bool) {
	if err := r.ParseForm(); err != nil {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	scope := f.Get("scope")
	switch f.Get("grant_type") {
	case "client_credentials":
		clientID := f.Get("client_id")
		s.mu.Lock()
		a, ok := s.apps[clientID]
		s.mu.Unlock()
		if !ok {
			aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, s.Tenant))
			return
		}
		switch {
		case f.Get("client_secret") != "":
			if a.secret == "" || !hmac.Equal([]byte(f.Get("client_secret")), []byte(a.secret)) {
				aadError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
				return
			}
		case f.Get("client_assertion") != "":
			if a.federated != "" {
				if !hmac.Equal([]byte(f.Get("client_assertion")), []byte(a.federated)) {
					aadError(w, http.StatusBadRequest, "invalid_client", 700213, "No matching federated identity record found for presented assertion subject.")
					return
				}
				break
			}
			if code, msg := s.checkAssertion(f.Get("client_assertion"), clientID, a); code != 0 {
				aadError(w, http.StatusUnauthorized, "invalid_client", code, msg)
				return
			}
		default:
			aadError(w, http.StatusBadRequest, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
			return
		}
		s.issue(w, clientID, scope, false, expired)
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code":
		code := f.Get("device_code")
		s.mu.Lock()
		left, ok := s.deviceCodes[code]
		if ok && left > 0 {
			s.deviceCodes[code] = left - 1
		}
		s.mu.Unlock()
		switch {
		case !ok:
			aadError(w, http.StatusBadRequest, "invalid_grant", 70019, "Verification code expired.")
		case left > 0:
			aadError(w, http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		default:
			s.issue(w, f.Get("client_id"), scope, true, expired)
		}
	case "authorization_code":
		s.mu.Lock()
		challenge, ok := s.authCodes[f.Get("code")]
		delete(s.authCodes, f.Get("code"))
		s.mu.Unlock()
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			aadError(w, http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity, or its PKCE verifier does not match.")
			return
		}
		s.issue(w, f.Get("client_id"), scope, true, expired)
	case "refresh_token":
		s.issue(w, f.Get("client_id"), scope, true, expired)
	default:
		aadError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
	}
}

// checkAssertion verifies a client assertion as Entra ID does; it returns
// the AADSTS code and message of the first problem, or 0.
func (s *Server) checkAssertion(jwt, clientID string, a *app) (int, string) {
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
	var cert *x509.Certificate
	for _, c := range a.certs {
		s256 := sha256.Sum256(c.Raw)
		if header.X5tS256 != "" && header.X5tS256 == base64.RawURLEncoding.EncodeToString(s256[:]) {
			cert = c
		}
	}
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

// issue answers a token request with a fresh access token (and, for a
// person, an ID token and client_info).
func (s *Server) issue(w http.ResponseWriter, clientID, scope string, user, expired bool) {
	lifetime := 3600
	if expired {
		lifetime = -60
	}
	claims := map[string]any{
		"aud":   strings.TrimSuffix(strings.Fields(scope + " ")[0], "/.default"),
		"iss":   "https://sts.fake/" + s.Tenant + "/",
		"tid":   s.Tenant,
		"appid": clientID,
		"exp":   time.Now().Add(time.Duration(lifetime) * time.Second).Unix(),
		"nonce": randHex(8),
	}
	if user {
		claims["upn"] = s.User
	}
	token := s.sign(claims)
	s.mu.Lock()
	s.tokens[token] = true
	s.mu.Unlock()
	body := map[string]any{
		"token_type":     "Bearer",
		"access_token":   token,
		"expires_in":     lifetime,
		"ext_expires_in": lifetime,
		"scope":          scope,
	}
	if user {
		uid := "00000000-0000-4000-8000-0000000a1e40"
		body["refresh_token"] = "rt-" + randHex(16)
		body["id_token"] = s.sign(map[string]any{
			"aud": clientID, "iss": s.TLS.URL + "/" + s.Tenant + "/v2.0", "tid": s.Tenant, "oid": uid, "sub": uid,
			"preferred_username": s.User, "name": "Alex", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		})
		ci, _ := json.Marshal(map[string]string{"uid": uid, "utid": s.Tenant})
		body["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request) {
	code := "dc-" + randHex(16)
	s.mu.Lock()
	s.deviceCodes[code] = 1 // one authorization_pending, then the user is done
	s.mu.Unlock()
	verify := s.TLS.URL + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":      code,
		"user_code":        "FAKE-CODE",
		"verification_uri": verify,
		"expires_in":       900,
		"interval":         1,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code FAKE-CODE to authenticate.", verify),
	})
}

// serveAuthorize stands for the sign-in page: the user signs in at once and
// is sent back to the redirect URI with a code bound to the PKCE challenge.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Hostname() != "localhost" && redirect.Hostname() != "127.0.0.1" {
		aadError(w, http.StatusBadRequest, "invalid_request", 50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application.")
		return
	}
	code := "ac-" + randHex(16)
	s.mu.Lock()
	s.authCodes[code] = q.Get("code_challenge")
	s.mu.Unlock()
	if q.Get("response_mode") == "form_post" {
		// As Entra ID does: a page whose form posts the code back.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<html><body onload="document.forms[0].submit()"><form method="post" action="%s">`+
			`<input type="hidden" name="code" value="%s"/><input type="hidden" name="state" value="%s"/>`+
			`</form></body></html>`, html.EscapeString(redirect.String()), code, html.EscapeString(q.Get("state")))
		return
	}
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) serveSubscriptions(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.IssuedToken(token) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}})
		return
	}
	s.mu.Lock()
	subs := s.subscriptions
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"value": subs})
}

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

func aadError(w http.ResponseWriter, status int, oauthErr string, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"error":             oauthErr,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Timestamp: %s", code, msg, randHex(8), time.Now().UTC().Format("2006-01-02 15:04:05Z")),
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
