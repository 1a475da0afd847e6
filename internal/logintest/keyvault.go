package logintest

// A fake of Azure Key Vault's data plane, for reading certificates: GET of
// a certificate (its metadata and public certificate) and of a secret (a
// certificate's backing secret, with the key, or a plain one), behind Key
// Vault's authentication challenge, token checks, role-based access and
// throttling.
//
// Vaults are named NAME.vault.test, so that the SDK's check of the
// challenge (the vault's host must end with "." + the resource's host)
// passes without being turned off. No .test name resolves: programs reach
// the vaults through Proxy, a forward proxy that tunnels CONNECT to them,
// as they would reach Key Vault through a corporate proxy (HTTPS_PROXY).
//
// As elsewhere in the fake, nothing is taken that Key Vault would refuse.
// Where a status, code or message is inferred rather than documented or
// seen, a comment says so.

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pfx"
)

const (
	// KeyVaultSuffix is the DNS suffix of the fake cloud's vaults, as
	// vault.azure.net is the public cloud's.
	KeyVaultSuffix = "vault.test"
	// KeyVaultResource is the audience of Key Vault tokens in the fake
	// cloud, the resource its challenge names.
	KeyVaultResource = "https://" + KeyVaultSuffix
)

// The built-in roles GrantKeyVault takes.
const (
	KeyVaultCertificateUser = "Key Vault Certificate User" // certificates and secrets
	KeyVaultSecretsUser     = "Key Vault Secrets User"     // secrets only
	KeyVaultReader          = "Key Vault Reader"           // metadata only, no secret value
)

// The data actions of the two operations the fake serves.
const (
	actionReadCertificate = "Microsoft.KeyVault/vaults/certificates/read"
	actionGetSecret       = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
)

// keyVaultRoles are the data actions of each role, as far as the fake's
// operations go: Key Vault Reader has vaults/*/read and
// secrets/readMetadata/action, which reads a certificate but not a
// secret's value.
var keyVaultRoles = map[string][]string{
	KeyVaultCertificateUser: {actionReadCertificate, actionGetSecret},
	KeyVaultSecretsUser:     {actionGetSecret},
	KeyVaultReader:          {actionReadCertificate},
}

const (
	pkcs12ContentType = "application/x-pkcs12"
	pemContentType    = "application/x-pem-file"
	// keyVaultRegion is where the fake's vaults are, for headers and
	// messages.
	keyVaultRegion = "westeurope"
	// keyVaultSubscription is the subscription the vaults belong to: the
	// one Resource Manager lists by default.
	keyVaultSubscription = "11111111-2222-4333-8444-555555555555"
	// latestKeyVaultVersion is the newest api-version the SDKs send.
	latestKeyVaultVersion = "2026-04-01"
)

var (
	// vaultName is Key Vault's rule for a vault's name: 3 to 24 letters,
	// digits and dashes, starting with a letter and not ending with a
	// dash.
	vaultName = regexp.MustCompile(`^[a-z][a-z0-9-]{1,22}[a-z0-9]$`)
	// objectName is Key Vault's rule for a certificate's or secret's name.
	objectName = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
	// apiVersion matches the versions the fake takes: 7.x, and the dated
	// versions that followed 7.6 (2025-07-01, 2026-04-01), later ones
	// included so that an SDK upgrade does not break the tests.
	apiVersion = regexp.MustCompile(`^(7\.\d+|20(2[5-9]|[3-9]\d)-\d\d-\d\d)(-preview(\.\d+)?)?$`)
)

// KeyVaultCertificateOptions shape a certificate PutKeyVaultCertificate
// stores.
type KeyVaultCertificateOptions struct {
	// PEM makes the backing secret application/x-pem-file instead of
	// application/x-pkcs12.
	PEM bool
	// NotExportable marks the key not exportable: the backing secret holds
	// the certificates only.
	NotExportable bool
}

// KeyVaultCounts counts Key Vault requests by outcome.
type KeyVaultCounts struct {
	Challenges int // answered 401 for want of a token
	Throttled  int // answered 429 or 503 by ThrottleKeyVault
	Refused    int // answered 401 for a bad token, or 403
	// Metadata and Secrets count the certificate and secret GETs answered
	// 200, by certificate or secret name.
	Metadata, Secrets map[string]int
}

// keyVault is the state of the fake's vaults; Server.mu guards it, but
// for tunnels.
type keyVault struct {
	vaults map[string]*vault
	// clock is the created time of the last version put: a new version is
	// created a second after it at least, so that versions put in the same
	// second are ordered.
	clock int64
	// every and status are what ThrottleKeyVault set; requests counts the
	// requests since.
	every, status, requests int
	counts                  KeyVaultCounts
	tunnels                 tunnels
}

type vault struct {
	certificates map[string]*versions[kvCertificate] // by lower-case name
	secrets      map[string]*versions[kvSecret]
	grants       map[string]map[string]bool // principal → roles
}

// versions are the versions of a certificate or secret. Key Vault's names
// and versions are case-insensitive: they are looked up in lower case.
type versions[T any] struct {
	name, current string
	byVersion     map[string]*T
}

type kvCertificate struct {
	// bundle is the certificate, its chain and, if exportable, its key.
	bundle  *pfx.Bundle
	opts    KeyVaultCertificateOptions
	x5t     string
	created int64
}

type kvSecret struct {
	value, contentType string
	created            int64
	// cert is the certificate the secret backs, or nil.
	cert *kvCertificate
}

// startKeyVault starts the Key Vault (with cert, which covers
// *.vault.test) and the proxy.
func (s *Server) startKeyVault(cert tls.Certificate) {
	s.kv = keyVault{vaults: map[string]*vault{}, tunnels: tunnels{conns: map[net.Conn]bool{}}}
	s.resetKeyVaultCounts()
	s.KeyVault = httptest.NewUnstartedServer(http.HandlerFunc(s.serveKeyVault))
	s.KeyVault.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.KeyVault.StartTLS()
	s.Proxy = httptest.NewServer(http.HandlerFunc(s.serveProxy))
}

// closeKeyVault stops the proxy, its tunnels and the Key Vault.
func (s *Server) closeKeyVault() {
	s.Proxy.Close()
	s.kv.tunnels.close()
	s.KeyVault.CloseClientConnections()
	s.KeyVault.Close()
}

// ProxyURL is the proxy's address, for HTTPS_PROXY: http://127.0.0.1:PORT.
func (s *Server) ProxyURL() string { return s.Proxy.URL }

// VaultURL is the URL of vault (a vault name), https://VAULT.vault.test,
// creating the vault if it does not exist.
func (s *Server) VaultURL(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vault(name)
	return vaultURL(name)
}

func vaultURL(name string) string { return "https://" + strings.ToLower(name) + "." + KeyVaultSuffix }

// vault is the vault named name, created if new. The caller holds s.mu.
func (s *Server) vault(name string) *vault {
	name = strings.ToLower(name)
	if !vaultName.MatchString(name) || strings.Contains(name, "--") {
		s.t.Fatalf("logintest: %q is not a valid vault name", name)
	}
	v := s.kv.vaults[name]
	if v == nil {
		v = &vault{certificates: map[string]*versions[kvCertificate]{}, secrets: map[string]*versions[kvSecret]{}, grants: map[string]map[string]bool{}}
		s.kv.vaults[name] = v
	}
	return v
}

// GrantKeyVault assigns role (KeyVaultCertificateUser, KeyVaultSecretsUser
// or KeyVaultReader) on vault to principal: the client id of an
// application's tokens, a user's name for a user's tokens, or the object
// id of a managed identity's. Without a role, every request of the
// principal to the vault is refused.
func (s *Server) GrantKeyVault(vault, principal, role string) {
	if keyVaultRoles[role] == nil {
		s.t.Fatalf("logintest: unknown Key Vault role %q", role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vault(vault)
	if v.grants[principal] == nil {
		v.grants[principal] = map[string]bool{}
	}
	v.grants[principal][role] = true
}

// PutKeyVaultCertificate stores b (its leaf, chain and key) as a new
// version of certificate name in vault, which becomes the current one, as
// an import would, with its backing secret: a PKCS#12 file with the empty
// password, base64, or a PEM file, holding the key unless o.NotExportable.
// It returns the version.
func (s *Server) PutKeyVaultCertificate(vault, name string, b *pfx.Bundle, o KeyVaultCertificateOptions) string {
	s.checkObjectName(name)
	stored := &pfx.Bundle{Leaf: b.Leaf, Chain: b.Chain}
	if !o.NotExportable {
		stored.Key = b.Key
	}
	contentType := pkcs12ContentType
	if o.PEM {
		contentType = pemContentType
	}
	if _, _, err := keyProperties(b.Leaf); err != nil {
		s.t.Fatalf("logintest: certificate %s: %v", name, err)
	}
	value, err := encodeSecret(stored, contentType)
	if err != nil {
		s.t.Fatalf("logintest: certificate %s: %v", name, err)
	}
	sum := sha1.Sum(b.Leaf.Raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vault(vault)
	if v.secrets[strings.ToLower(name)] != nil && v.certificates[strings.ToLower(name)] == nil {
		s.t.Fatalf("logintest: %s is a secret's name in vault %s: a certificate cannot have it", name, vault)
	}
	version, created := s.newVersion()
	c := &kvCertificate{bundle: stored, opts: o, x5t: base64.RawURLEncoding.EncodeToString(sum[:]), created: created}
	put(v.certificates, name, version, c)
	put(v.secrets, name, version, &kvSecret{value: value, contentType: contentType, created: created, cert: c})
	return version
}

// PutKeyVaultSecret stores a new version of plain secret name in vault,
// which becomes the current one, as "az keyvault secret set" would, and
// returns the version.
func (s *Server) PutKeyVaultSecret(vault, name, value, contentType string) string {
	s.checkObjectName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vault(vault)
	if v.certificates[strings.ToLower(name)] != nil {
		// Key Vault refuses to set a secret that backs a certificate.
		s.t.Fatalf("logintest: secret %s backs a certificate in vault %s", name, vault)
	}
	version, created := s.newVersion()
	put(v.secrets, name, version, &kvSecret{value: value, contentType: contentType, created: created})
	return version
}

func (s *Server) checkObjectName(name string) {
	if !objectName.MatchString(name) {
		s.t.Fatalf("logintest: %q is not a valid Key Vault object name", name)
	}
}

// newVersion is a new version id and its created time. The caller holds
// s.mu.
func (s *Server) newVersion() (string, int64) {
	s.kv.clock = max(time.Now().Unix(), s.kv.clock+1)
	return randHex(16), s.kv.clock
}

func put[T any](m map[string]*versions[T], name, version string, v *T) {
	key := strings.ToLower(name)
	vs := m[key]
	if vs == nil {
		vs = &versions[T]{name: name, byVersion: map[string]*T{}}
		m[key] = vs
	}
	vs.current = version
	vs.byVersion[version] = v
}

// lookup is version of vs, or its current one if version is "".
func lookup[T any](vs *versions[T], version string) (*T, string) {
	if vs == nil {
		return nil, ""
	}
	if version == "" {
		version = vs.current
	}
	version = strings.ToLower(version)
	return vs.byVersion[version], version
}

// encodeSecret is the value of a certificate's backing secret: for
// PKCS#12, base64 of a file with the empty password; for PEM, the PKCS#8
// key first, as Key Vault writes it, then the certificates, leaf first.
// Without a key, the certificates alone.
//
// The PKCS#12 file is written as .NET on Windows writes one (3DES,
// HMAC-SHA-1, 2000 iterations), which is inferred: Key Vault does not
// document its encryption, only that the password is empty.
func encodeSecret(b *pfx.Bundle, contentType string) (string, error) {
	if contentType == pkcs12ContentType {
		data, err := pfx.EncodeStore(b)
		if err != nil {
			return "", fmt.Errorf("encode the secret as PKCS#12: %w", err)
		}
		return base64.StdEncoding.EncodeToString(data), nil
	}
	var out []byte
	if b.Key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(b.Key)
		if err != nil {
			return "", fmt.Errorf("encode the key as PKCS#8: %w", err)
		}
		out = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	for _, c := range append([]*x509.Certificate{b.Leaf}, b.Chain...) {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return string(out), nil
}

// keyProperties are the kty of cert's key, and its key_size or crv.
// Key Vault's certificates have RSA or EC keys only.
func keyProperties(cert *x509.Certificate) (string, map[string]any, error) {
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", map[string]any{"key_size": k.N.BitLen()}, nil
	case *ecdsa.PublicKey:
		return "EC", map[string]any{"crv": k.Curve.Params().Name}, nil
	}
	return "", nil, fmt.Errorf("key vault takes RSA and EC keys, not %T", cert.PublicKey)
}

// ThrottleKeyVault makes every every-th Key Vault request from now on
// (challenges included) answer status, 429 or 503, with Retry-After: 1;
// every 0 stops it.
func (s *Server) ThrottleKeyVault(every, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kv.every, s.kv.status, s.kv.requests = every, status, 0
}

// KeyVaultCounts is what Key Vault answered so far.
func (s *Server) KeyVaultCounts() KeyVaultCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.kv.counts
	c.Metadata, c.Secrets = maps.Clone(c.Metadata), maps.Clone(c.Secrets)
	return c
}

// ResetKeyVaultCounts sets the counts back to zero.
func (s *Server) ResetKeyVaultCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetKeyVaultCounts()
}

func (s *Server) resetKeyVaultCounts() {
	s.kv.counts = KeyVaultCounts{Metadata: map[string]int{}, Secrets: map[string]int{}}
}

// kvError is Key Vault's error answer.
type kvError struct {
	status        int
	code, message string
	inner         string // innererror.code, if any
}

func (e *kvError) write(w http.ResponseWriter) {
	body := map[string]any{"code": e.code, "message": e.message}
	if e.inner != "" {
		body["innererror"] = map[string]string{"code": e.inner}
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

func badParameter(format string, args ...any) *kvError {
	return &kvError{http.StatusBadRequest, "BadParameter", fmt.Sprintf(format, args...), ""}
}

// keyVaultCaller is who a request comes from, as the token says.
type keyVaultCaller struct {
	appID, oid, upn, iss string
}

// principal is who grants name: the user, the application, or (for a
// managed identity, whose tokens name no application) the object id.
func (c keyVaultCaller) principal() string {
	for _, p := range []string{c.upn, c.appID, c.oid} {
		if p != "" {
			return p
		}
	}
	return ""
}

// serveKeyVault serves every vault; the Host header says which.
func (s *Server) serveKeyVault(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", randGUID())
	w.Header().Set("x-ms-keyvault-region", keyVaultRegion)
	if e := s.keyVaultRequest(w, r); e != nil {
		e.write(w)
	}
}

func (s *Server) keyVaultRequest(w http.ResponseWriter, r *http.Request) *kvError {
	host := strings.ToLower(r.Host)
	if h, port, err := net.SplitHostPort(host); err == nil && port == "443" {
		host = h
	}
	name, _ := strings.CutSuffix(host, "."+KeyVaultSuffix)
	s.mu.Lock()
	v := s.kv.vaults[name]
	s.kv.requests++
	throttled := s.kv.every > 0 && s.kv.requests%s.kv.every == 0
	status := s.kv.status
	if throttled {
		s.kv.counts.Throttled++
	}
	s.mu.Unlock()
	if v == nil {
		// Only the proxy's tunnels reach here with a vault's name.
		return &kvError{http.StatusNotFound, "VaultNotFound", fmt.Sprintf("No vault is named by host %q.", r.Host), ""}
	}
	if throttled {
		w.Header().Set("Retry-After", "1")
		if status == http.StatusServiceUnavailable {
			// Inferred: Key Vault's 503 body is not documented.
			return &kvError{status, "ServiceUnavailable", "The service is unavailable, please retry later.", ""}
		}
		return &kvError{status, "Throttled", "Request was not processed because too many requests were received. Reason: VaultRequestTypeBased", ""}
	}
	switch q := r.URL.Query().Get("api-version"); {
	case q == "":
		// Inferred message.
		return badParameter("The api-version query parameter is missing. Consider using the latest supported version (%s).", latestKeyVaultVersion)
	case !apiVersion.MatchString(q):
		return badParameter("The specified version (%s) is not recognized. Consider using the latest supported version (%s).", q, latestKeyVaultVersion)
	}
	caller, e := s.keyVaultAuthenticate(r)
	if e != nil {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, strings.TrimSuffix(s.AuthorityHost(), "/"), s.Tenant, KeyVaultResource))
		return e
	}
	// Key Vault's paths: /certificates/NAME/VERSION, /certificates/NAME
	// and /certificates/NAME/ (the SDK's form for the current version),
	// and the same for secrets. Key Vault serves more (lists, policies,
	// writes); the fake does not.
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) == 3 && parts[2] == "" {
		parts = parts[:2]
	}
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "certificates" && parts[0] != "secrets" {
		return &kvError{http.StatusNotFound, "NotFound", fmt.Sprintf("The fake serves GET /certificates/NAME[/VERSION] and /secrets/NAME[/VERSION], not %s.", r.URL.Path), ""}
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return &kvError{http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("The fake serves GET of %s, not %s.", r.URL.Path, r.Method), ""}
	}
	kind, obj, version := parts[0], parts[1], ""
	if len(parts) == 3 {
		version = parts[2]
	}
	if !objectName.MatchString(obj) {
		// Inferred message.
		return badParameter("The name '%s' is not valid: it must be 1 to 127 letters, digits and dashes.", obj)
	}
	action := actionReadCertificate
	if kind == "secrets" {
		action = actionGetSecret
	}
	if e := s.keyVaultAuthorize(v, name, caller, action, kind+"/"+obj); e != nil {
		return e
	}
	if kind == "certificates" {
		return s.getCertificate(w, v, name, obj, version)
	}
	return s.getSecret(w, r, v, name, obj, version)
}

// keyVaultAuthenticate checks a request's bearer token as Key Vault does:
// without one, it answers 401, to which the caller adds the challenge
// that names the tenant's authority and the resource; otherwise it wants a
// token the fake issued, unexpired, for Key Vault, from the tenant. Its
// other refusals are 401s with the challenge too, as Key Vault's are.
func (s *Server) keyVaultAuthenticate(r *http.Request) (keyVaultCaller, *kvError) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		s.mu.Lock()
		s.kv.counts.Challenges++
		s.mu.Unlock()
		return keyVaultCaller{}, &kvError{http.StatusUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", ""}
	}
	refuse := func(msg string) (keyVaultCaller, *kvError) {
		s.mu.Lock()
		s.kv.counts.Refused++
		s.mu.Unlock()
		return keyVaultCaller{}, &kvError{http.StatusUnauthorized, "Unauthorized", msg, ""}
	}
	header, _, _ := strings.Cut(token, ".")
	var claims struct {
		Aud   string `json:"aud"`
		Iss   string `json:"iss"`
		Tid   string `json:"tid"`
		AppID string `json:"appid"`
		Oid   string `json:"oid"`
		Upn   string `json:"upn"`
		Exp   int64  `json:"exp"`
	}
	parts := strings.Split(token, ".")
	if !s.IssuedToken(token) || len(parts) != 3 || decodePart(parts[1], &claims) != nil {
		// Key Vault's answer to a token whose signature it cannot check.
		return refuse(fmt.Sprintf("AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '%s'.", header))
	}
	if now := time.Now(); !now.Before(time.Unix(claims.Exp, 0)) {
		// Inferred: Key Vault's message for an expired token is not
		// documented.
		return refuse(fmt.Sprintf("Token validation failed: the token expired at %s; it is now %s.", entraTime(time.Unix(claims.Exp, 0)), entraTime(now)))
	}
	if strings.TrimSuffix(claims.Aud, "/") != KeyVaultResource {
		return refuse(fmt.Sprintf("AKV10022: Invalid audience. Expected %s, found: %s.", KeyVaultResource, claims.Aud))
	}
	if claims.Tid != s.Tenant {
		return refuse(fmt.Sprintf("AKV10032: Invalid issuer. Expected one of https://sts.fake/%s/, found %s.", s.Tenant, claims.Iss))
	}
	return keyVaultCaller{appID: claims.AppID, oid: claims.Oid, upn: claims.Upn, iss: claims.Iss}, nil
}

// keyVaultAuthorize checks that caller has a role on the vault that
// allows action, and answers Key Vault's 403 if not, whose message has
// CR LF line ends.
func (s *Server) keyVaultAuthorize(v *vault, vaultName string, caller keyVaultCaller, action, resource string) *kvError {
	s.mu.Lock()
	defer s.mu.Unlock()
	for role := range v.grants[caller.principal()] {
		if slices.Contains(keyVaultRoles[role], action) {
			return nil
		}
	}
	s.kv.counts.Refused++
	var who []string
	for _, f := range [][2]string{{"appid", caller.appID}, {"upn", caller.upn}, {"oid", caller.oid}, {"iss", caller.iss}} {
		if f[1] != "" {
			who = append(who, f[0]+"="+f[1])
		}
	}
	msg := strings.Join([]string{
		"Caller is not authorized to perform action on resource.",
		"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.",
		"Caller: " + strings.Join(who, ";"),
		"Action: '" + action + "'",
		fmt.Sprintf("Resource: '/subscriptions/%s/resourcegroups/certctl/providers/microsoft.keyvault/vaults/%s/%s'", keyVaultSubscription, vaultName, strings.ToLower(resource)),
		"Assignment: (not found)",
		"DecisionReason: 'DeniedWithNoValidRBAC'",
		"Vault: " + vaultName + ";location=" + keyVaultRegion,
		"",
	}, "\r\n")
	return &kvError{http.StatusForbidden, "Forbidden", msg, "ForbiddenByRbac"}
}

// notFound is Key Vault's answer for a missing certificate or secret;
// for a missing version it names name/version (inferred).
func notFound(kind, name, version string) *kvError {
	id := name
	if version != "" {
		id += "/" + version
	}
	code, what := "CertificateNotFound", "certificate"
	if kind == "secrets" {
		code, what = "SecretNotFound", "secret"
	}
	return &kvError{http.StatusNotFound, code, fmt.Sprintf("A %s with (name/id) %s was not found in this key vault. If you recently deleted this %s you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", what, id, what), ""}
}

// attributes are an object's attributes; nbf and exp are a certificate's.
func attributes(created int64, cert *x509.Certificate) map[string]any {
	a := map[string]any{"enabled": true, "created": created, "updated": created, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
	if cert != nil {
		a["nbf"], a["exp"] = cert.NotBefore.Unix(), cert.NotAfter.Unix()
	}
	return a
}

func (s *Server) getCertificate(w http.ResponseWriter, v *vault, vaultName, name, version string) *kvError {
	s.mu.Lock()
	vs := v.certificates[strings.ToLower(name)]
	c, version := lookup(vs, version)
	if c != nil {
		name = vs.name
		s.kv.counts.Metadata[name]++
	}
	s.mu.Unlock()
	if c == nil {
		return notFound("certificates", name, version)
	}
	base := vaultURL(vaultName)
	leaf := c.bundle.Leaf
	kty, keyProps, _ := keyProperties(leaf)
	keyProps["kty"], keyProps["exportable"], keyProps["reuse_key"] = kty, !c.opts.NotExportable, false
	contentType := pkcs12ContentType
	if c.opts.PEM {
		contentType = pemContentType
	}
	x509Props := map[string]any{"subject": leaf.Subject.String(), "validity_months": 12}
	if len(leaf.DNSNames) > 0 {
		x509Props["sans"] = map[string]any{"dns_names": leaf.DNSNames}
	}
	// An imported certificate's policy names the issuer "Unknown"; one
	// Key Vault made itself, "Self".
	issuer := "Unknown"
	if len(c.bundle.Chain) == 0 && leaf.CheckSignatureFrom(leaf) == nil {
		issuer = "Self"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":         base + "/certificates/" + name + "/" + version,
		"kid":        base + "/keys/" + name + "/" + version,
		"sid":        base + "/secrets/" + name + "/" + version,
		"x5t":        c.x5t,
		"cer":        base64.StdEncoding.EncodeToString(leaf.Raw),
		"attributes": attributes(c.created, leaf),
		"tags":       map[string]string{},
		"policy": map[string]any{
			"id":               base + "/certificates/" + name + "/policy",
			"key_props":        keyProps,
			"secret_props":     map[string]any{"contentType": contentType},
			"x509_props":       x509Props,
			"lifetime_actions": []any{},
			"issuer":           map[string]any{"name": issuer},
			"attributes":       map[string]any{"enabled": true, "created": c.created, "updated": c.created},
		},
	})
	return nil
}

// getSecret answers a secret. From API version 2025-07-01 a request may
// ask outContentType=application/x-pem-file, which converts a
// certificate's PKCS#12 backing secret to PEM; the SDK documents PFX to
// PEM as the one conversion and that other formats are refused. The fake
// refuses it for a plain secret too (inferred), and its messages are
// inferred.
func (s *Server) getSecret(w http.ResponseWriter, r *http.Request, v *vault, vaultName, name, version string) *kvError {
	s.mu.Lock()
	vs := v.secrets[strings.ToLower(name)]
	sec, version := lookup(vs, version)
	if sec != nil {
		name = vs.name
	}
	s.mu.Unlock()
	if sec == nil {
		return notFound("secrets", name, version)
	}
	value, contentType := sec.value, sec.contentType
	if out := r.URL.Query().Get("outContentType"); out != "" {
		switch {
		case out != pemContentType:
			return badParameter("Unsupported outContentType '%s': only %s is supported.", out, pemContentType)
		case sec.cert == nil:
			return badParameter("outContentType applies only to a secret that backs a certificate.")
		case contentType != pemContentType:
			var err error
			if value, err = encodeSecret(sec.cert.bundle, out); err != nil {
				return &kvError{http.StatusInternalServerError, "InternalError", err.Error(), ""}
			}
			contentType = out
		}
	}
	base := vaultURL(vaultName)
	body := map[string]any{
		"value":       value,
		"contentType": contentType,
		"id":          base + "/secrets/" + name + "/" + version,
		"tags":        map[string]string{},
	}
	if sec.cert != nil {
		body["attributes"] = attributes(sec.created, sec.cert.bundle.Leaf)
		body["kid"] = base + "/keys/" + name + "/" + version
		body["managed"] = true
	} else {
		body["attributes"] = attributes(sec.created, nil)
	}
	s.mu.Lock()
	s.kv.counts.Secrets[name]++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
	return nil
}
