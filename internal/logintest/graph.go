package logintest

// A fake of Microsoft Graph's application key credentials: reading an
// application, addKey and removeKey with their proof of possession, and
// PATCH of the whole keyCredentials list. The key credentials are what
// sign-in (checkAssertion) checks client assertions against, so a
// certificate added here can sign in, after the replication delay, and one
// removed here no longer can.
//
// As elsewhere in the fake, nothing is taken that Graph would refuse; where
// the fake is stricter than Graph, or models less of it, a comment says so.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// KeyCredential is a certificate credential of an application, as the fake
// holds it.
type KeyCredential struct {
	KeyID       string // GUID
	Thumbprint  string // SHA-1 of the certificate, 40 upper-case hex digits
	DisplayName string
	Start, End  time.Time
	Certificate *x509.Certificate
}

// keyCredential is a key credential and what sign-in does not know of it
// yet.
type keyCredential struct {
	KeyCredential
	// unreplicated counts the token requests presenting this credential
	// that sign-in still refuses, as Entra ID replicates a new credential
	// asynchronously.
	unreplicated int
}

const (
	// proofAudience is the aud of a proof of possession: the id of the
	// directory itself (the old Azure AD Graph), as Graph's docs say.
	proofAudience = "00000002-0000-0000-c000-000000000000"
	// proofLifetime is the longest exp - nbf Graph's docs allow a proof.
	proofLifetime = 10 * time.Minute
	// proofSkew is the clock skew allowed around nbf and exp.
	proofSkew = 5 * time.Minute
	// graphVersion is the only Graph version the fake serves.
	graphVersion = "/v1.0"
	// maxGraphBody bounds a request body: a key credential is a few KiB.
	maxGraphBody = 1 << 20
)

// insufficientPrivileges is Graph's refusal of a caller without the
// permission an operation needs.
const insufficientPrivileges = "Insufficient privileges to complete the operation."

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// GraphEndpoint is the fake Microsoft Graph's base URL (no trailing slash):
// s.TLS.URL + "/graph". Tokens for it are asked with the scope
// GraphEndpoint()+"/.default", whose audience is GraphEndpoint().
func (s *Server) GraphEndpoint() string { return s.TLS.URL + "/graph" }

// ApplicationObjectID is the object id (a GUID) of application appID (the
// client id), creating the application if it does not exist yet. It is
// stable for the server's life. An application created here has no
// credential, but is registered: it is a confidential client from now on.
func (s *Server) ApplicationObjectID(appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app(appID).objectID
}

// KeyCredentials lists application appID's key credentials, in the order
// Graph would list them (the order they were added, or the order of the
// last PATCH); nil if there is no such application.
func (s *Server) KeyCredentials(appID string) []KeyCredential {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return nil
	}
	out := make([]KeyCredential, 0, len(a.keys))
	for _, k := range a.keys {
		out = append(out, k.KeyCredential)
	}
	return out
}

// GrantApplicationWrite lets tokens issued to client clientID (an app
// signing in with client credentials) read and update any application
// through Graph, as Application.ReadWrite.All would. Tokens of the fake's
// user (s.User) may always, as an owner of the applications.
func (s *Server) GrantApplicationWrite(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.graphWriters[clientID] = true
}

// SetReplicationDelay makes a key credential added through Graph (addKey or
// PATCH) unknown to sign-in for the first n token requests that present it,
// as Entra ID replicates new credentials asynchronously: each of those
// requests is refused with AADSTS700027 (certificate not registered),
// counting per credential. 0, the default, means at once. It applies to
// credentials added after the call; proofs of possession are not delayed,
// as Graph itself knows a credential at once.
func (s *Server) SetReplicationDelay(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replicationDelay = max(n, 0)
}

// newKeyCredential makes a key credential for cert: keyID "" means a fresh
// one, displayName "" the certificate's subject, as Graph names one.
func newKeyCredential(cert *x509.Certificate, keyID, displayName string, unreplicated int) *keyCredential {
	if keyID == "" {
		keyID = randGUID()
	}
	if displayName == "" {
		displayName = cert.Subject.String()
	}
	return &keyCredential{
		KeyCredential: KeyCredential{
			KeyID: keyID, Thumbprint: thumbprint(cert), DisplayName: displayName,
			Start: cert.NotBefore, End: cert.NotAfter, Certificate: cert,
		},
		unreplicated: unreplicated,
	}
}

// signInCertificate is the certificate of application clientID whose
// SHA-256 thumbprint is x5tS256 (base64url), as sign-in knows it: nil if
// there is none, or if it is still replicating, which uses up one of the
// requests its delay refuses.
func (s *Server) signInCertificate(clientID, x5tS256 string) *x509.Certificate {
	if x5tS256 == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[clientID]
	if a == nil {
		return nil
	}
	for _, k := range a.keys {
		sum := sha256.Sum256(k.Certificate.Raw)
		if x5tS256 != base64.RawURLEncoding.EncodeToString(sum[:]) {
			continue
		}
		if k.unreplicated > 0 {
			k.unreplicated--
			return nil
		}
		return k.Certificate
	}
	return nil
}

// graphCaller is who a Graph request comes from: the client its token was
// issued to, and the user if one signed in.
type graphCaller struct {
	clientID, user string
}

// graphError is Graph's error answer.
type graphError struct {
	status        int
	code, message string
}

func (e *graphError) Error() string { return e.code + ": " + e.message }

func badRequest(format string, args ...any) *graphError {
	return &graphError{http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(format, args...)}
}

// invalidProof is Graph's refusal of a proof of possession. Graph answers
// every bad proof the same way, with the code and message of a bad access
// token (Graph's docs name Authentication_MissingOrMalformed for a proof
// with base64 padding; users report "Access Token missing or malformed."
// for proofs with wrong claims); the fake adds why, after Graph's message.
func invalidProof(format string, args ...any) *graphError {
	return &graphError{http.StatusUnauthorized, "Authentication_MissingOrMalformed", "Access Token missing or malformed. Invalid proof: " + fmt.Sprintf(format, args...)}
}

func forbidden() *graphError {
	return &graphError{http.StatusForbidden, "Authorization_RequestDenied", insufficientPrivileges}
}

// writeGraphError answers as Graph does, with the request ids that Graph's
// support asks for, echoing the client's own.
func writeGraphError(w http.ResponseWriter, r *http.Request, e *graphError) {
	requestID := randGUID()
	clientRequestID := r.Header.Get("client-request-id")
	if clientRequestID == "" {
		clientRequestID = requestID
	}
	w.Header().Set("request-id", requestID)
	w.Header().Set("client-request-id", clientRequestID)
	writeJSON(w, e.status, map[string]any{"error": map[string]any{
		"code":    e.code,
		"message": e.message,
		"innerError": map[string]string{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        requestID,
			"client-request-id": clientRequestID,
		},
	}})
}

// serveGraph serves /graph: it checks the bearer token, then routes to the
// application and its actions.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	caller, gerr := s.graphAuthenticate(r)
	if gerr != nil {
		if gerr.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="%s/%s/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`, s.TLS.URL, s.Tenant))
		}
		writeGraphError(w, r, gerr)
		return
	}
	if gerr = s.routeGraph(w, r, caller); gerr != nil {
		writeGraphError(w, r, gerr)
	}
}

// graphAuthenticate checks a Graph request's bearer token as Graph does: a
// token the fake issued, unexpired, for Graph (the fake's, with or without
// a trailing slash).
func (s *Server) graphAuthenticate(r *http.Request) (graphCaller, *graphError) {
	invalid := func(msg string) *graphError {
		return &graphError{http.StatusUnauthorized, "InvalidAuthenticationToken", msg}
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if strings.TrimSpace(token) == "" {
		return graphCaller{}, invalid("Access token is empty.")
	}
	if !s.IssuedToken(token) {
		return graphCaller{}, invalid("Access token validation failure.")
	}
	var claims struct {
		Aud   string `json:"aud"`
		Exp   int64  `json:"exp"`
		AppID string `json:"appid"`
		UPN   string `json:"upn"`
	}
	if decodePart(strings.Split(token, ".")[1], &claims) != nil {
		return graphCaller{}, invalid("Access token validation failure.")
	}
	if !time.Now().Before(time.Unix(claims.Exp, 0)) {
		return graphCaller{}, invalid("Lifetime validation failed, the token is expired.")
	}
	if strings.TrimSuffix(claims.Aud, "/") != s.GraphEndpoint() {
		return graphCaller{}, invalid("Access token validation failure. Invalid audience.")
	}
	return graphCaller{clientID: claims.AppID, user: claims.UPN}, nil
}

// routeGraph serves the application addressed by the request's path:
// /v1.0/applications/{id} or /v1.0/applications(appId='{appId}'), and
// their addKey and removeKey actions (also namespace-qualified, as the
// SDKs send them).
func (s *Server) routeGraph(w http.ResponseWriter, r *http.Request, caller graphCaller) *graphError {
	notFoundSegment := func(seg string) *graphError {
		return &graphError{http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg)}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/graph"+graphVersion+"/")
	if !ok {
		seg, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/graph"), "/"), "/")
		return notFoundSegment(seg)
	}
	rest, ok = strings.CutPrefix(rest, "applications")
	if !ok {
		seg, _, _ := strings.Cut(rest, "/")
		return notFoundSegment(seg)
	}
	var id, action string
	var byAppID bool
	switch {
	case strings.HasPrefix(rest, "(appId='"):
		end := strings.Index(rest, "')")
		if end < 0 {
			return notFoundSegment("applications" + rest)
		}
		id, rest, byAppID = rest[len("(appId='"):end], rest[end+2:], true
		if rest != "" {
			action, ok = strings.CutPrefix(rest, "/")
			if !ok {
				return notFoundSegment(rest)
			}
		}
	case strings.HasPrefix(rest, "/") && len(rest) > 1:
		id, action, _ = strings.Cut(rest[1:], "/")
	default:
		// Graph lists applications here, and takes other key forms; the
		// fake serves only the two addresses above.
		return notFoundSegment("applications" + rest)
	}
	action = strings.TrimPrefix(action, "microsoft.graph.")
	switch {
	case action == "" && (r.Method == http.MethodGet || r.Method == http.MethodPatch),
		(action == "addKey" || action == "removeKey") && r.Method == http.MethodPost:
	case action == "" || action == "addKey" || action == "removeKey":
		return &graphError{http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."}
	default:
		return notFoundSegment(action)
	}
	if id == "" {
		return notFoundSegment("applications" + rest)
	}
	appID := s.lookupApplication(id, byAppID)
	if appID == "" {
		return &graphError{http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)}
	}
	switch action {
	case "addKey":
		return s.graphAddKey(w, r, caller, appID)
	case "removeKey":
		return s.graphRemoveKey(w, r, caller, appID)
	}
	if r.Method == http.MethodPatch {
		return s.graphPatch(w, r, caller, appID)
	}
	return s.graphGet(w, r, caller, appID)
}

// lookupApplication is the appId of the application whose object id, or
// appId when byAppID, is id; "" if there is none. GUIDs are compared
// without regard to case, as Graph does.
func (s *Server) lookupApplication(id string, byAppID bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if byAppID {
		if s.apps[id] != nil {
			return id
		}
	}
	for appID, a := range s.apps {
		if byAppID && strings.EqualFold(appID, id) || !byAppID && strings.EqualFold(a.objectID, id) {
			return appID
		}
	}
	return ""
}

// mayWrite reports whether caller may read and update any application: as
// the user, an owner of them all, or with GrantApplicationWrite.
func (s *Server) mayWrite(caller graphCaller) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return caller.user != "" || s.graphWriters[caller.clientID]
}

// applicationProperties are the properties of an application the fake
// models; $select may name them.
var applicationProperties = []string{"id", "appId", "displayName", "keyCredentials"}

// graphGet answers GET of an application. It needs Application.Read.All or
// more: the fake, which models no read-only grant, takes the user and
// GrantApplicationWrite's clients. An application does not get to read
// itself without a permission, in Graph as here.
func (s *Server) graphGet(w http.ResponseWriter, r *http.Request, caller graphCaller, appID string) *graphError {
	if !s.mayWrite(caller) {
		return forbidden()
	}
	selected := applicationProperties
	query := r.URL.Query()
	selectKeys := false
	if sel, ok := query["$select"]; ok {
		selected = []string{"id"}
		for _, p := range strings.Split(strings.Join(sel, ","), ",") {
			p = strings.TrimSpace(p)
			i := slices.IndexFunc(applicationProperties, func(q string) bool { return strings.EqualFold(p, q) })
			if i < 0 {
				// Graph has many more properties; the fake refuses the
				// ones it does not model rather than answer without them.
				return &graphError{http.StatusBadRequest, "BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.application'.", p)}
			}
			if !slices.Contains(selected, applicationProperties[i]) {
				selected = append(selected, applicationProperties[i])
			}
		}
		// As in Graph, the key of a key credential is returned only when
		// $select names keyCredentials on a single object.
		selectKeys = slices.Contains(selected, "keyCredentials")
	}
	s.mu.Lock()
	a := s.apps[appID]
	keys := make([]map[string]any, 0, len(a.keys))
	for _, k := range a.keys {
		keys = append(keys, keyCredentialJSON(k.KeyCredential, selectKeys))
	}
	all := map[string]any{"id": a.objectID, "appId": appID, "displayName": a.displayName, "keyCredentials": keys}
	s.mu.Unlock()
	body := map[string]any{"@odata.context": s.GraphEndpoint() + graphVersion + "/$metadata#applications/$entity"}
	if _, ok := query["$select"]; ok {
		body["@odata.context"] = s.GraphEndpoint() + graphVersion + "/$metadata#applications(" + strings.Join(selected, ",") + ")/$entity"
	}
	for _, p := range selected {
		body[p] = all[p]
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// keyCredentialJSON is Graph's keyCredential resource; its key only if
// withKey.
func keyCredentialJSON(k KeyCredential, withKey bool) map[string]any {
	sum := sha1.Sum(k.Certificate.Raw)
	var key any
	if withKey {
		key = base64.StdEncoding.EncodeToString(k.Certificate.Raw)
	}
	return map[string]any{
		"customKeyIdentifier": base64.StdEncoding.EncodeToString(sum[:]),
		"displayName":         k.DisplayName,
		"endDateTime":         k.End.UTC().Format(time.RFC3339),
		"key":                 key,
		"keyId":               k.KeyID,
		"startDateTime":       k.Start.UTC().Format(time.RFC3339),
		"type":                "AsymmetricX509Cert",
		"usage":               "Verify",
	}
}

// keyCredentialInput is a keyCredential in a request body.
type keyCredentialInput struct {
	OdataType           string  `json:"@odata.type"`
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	DisplayName         *string `json:"displayName"`
	EndDateTime         *string `json:"endDateTime"`
	StartDateTime       *string `json:"startDateTime"`
	Key                 *string `json:"key"`
	KeyID               *string `json:"keyId"`
	Type                string  `json:"type"`
	Usage               string  `json:"usage"`
}

// certificate is the certificate in a keyCredential. The fake models only
// what addKey and certctl use: a certificate to verify client assertions
// with (AsymmetricX509Cert, Verify). Graph takes the start and end dates
// given; the fake ignores them and the customKeyIdentifier, and takes the
// certificate's own.
func (in *keyCredentialInput) certificate(what string) (*x509.Certificate, *graphError) {
	if in.Type != "AsymmetricX509Cert" {
		return nil, badRequest("%s: type '%s' is not supported; the fake takes AsymmetricX509Cert.", what, in.Type)
	}
	if in.Usage != "Verify" {
		return nil, badRequest("%s: usage '%s' is not supported; the fake takes Verify.", what, in.Usage)
	}
	if in.Key == nil || *in.Key == "" {
		return nil, badRequest("%s has no key: Graph needs the certificate (base64 DER) of every key credential it is sent, including those it keeps, so read them with $select=keyCredentials first.", what)
	}
	der, err := base64.StdEncoding.DecodeString(*in.Key)
	if err != nil {
		return nil, badRequest("%s: the key is not base64: %v.", what, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, badRequest("%s: the key is not an X.509 certificate: %v.", what, err)
	}
	return cert, nil
}

// decodeGraphBody decodes a request body into v, refusing properties the
// action does not take when strict, as OData does for action parameters.
func decodeGraphBody(r *http.Request, v any, strict bool) *graphError {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxGraphBody))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("The request body is empty: it must be a JSON object.")
		}
		return badRequest("Invalid request body: %v.", err)
	}
	return nil
}

// mayRollKeys reports whether caller may call addKey and removeKey on
// application appID: Graph lets an application roll its own keys with no
// permission, and otherwise needs one to update applications.
func (s *Server) mayRollKeys(caller graphCaller, appID string) bool {
	return caller.clientID == appID || s.mayWrite(caller)
}

// graphAddKey is the addKey action: it adds a certificate credential, with
// a proof signed by one of the application's valid certificates.
func (s *Server) graphAddKey(w http.ResponseWriter, r *http.Request, caller graphCaller, appID string) *graphError {
	if !s.mayRollKeys(caller, appID) {
		return forbidden()
	}
	var body struct {
		KeyCredential      *keyCredentialInput `json:"keyCredential"`
		PasswordCredential json.RawMessage     `json:"passwordCredential"`
		Proof              string              `json:"proof"`
	}
	if gerr := decodeGraphBody(r, &body, true); gerr != nil {
		return gerr
	}
	if body.KeyCredential == nil {
		return badRequest("The request body must contain the parameter 'keyCredential'.")
	}
	// Graph takes a password only with a key of type
	// X509CertAndPassword, which the fake does not model.
	if len(body.PasswordCredential) > 0 && string(body.PasswordCredential) != "null" {
		return badRequest("passwordCredential must be null for a key credential of type AsymmetricX509Cert.")
	}
	cert, gerr := body.KeyCredential.certificate("keyCredential")
	if gerr != nil {
		return gerr
	}
	if body.Proof == "" {
		// Graph answers a missing proof as it does a caller without
		// permission (msgraph-sdk-powershell#779).
		return forbidden()
	}
	s.mu.Lock()
	a := s.apps[appID]
	if _, gerr := checkProof(a, body.Proof, time.Now()); gerr != nil {
		s.mu.Unlock()
		return gerr
	}
	thumb := thumbprint(cert)
	for _, k := range a.keys {
		if k.Thumbprint == thumb {
			s.mu.Unlock()
			return badRequest("The certificate with thumbprint '%s' is already a key credential of the application (keyId '%s'): upload of a duplicate certificate is not allowed.", thumb, k.KeyID)
		}
	}
	name := ""
	if body.KeyCredential.DisplayName != nil {
		name = *body.KeyCredential.DisplayName
	}
	k := newKeyCredential(cert, "", name, s.replicationDelay)
	a.keys = append(a.keys, k)
	s.mu.Unlock()
	answer := keyCredentialJSON(k.KeyCredential, false)
	answer["@odata.context"] = s.GraphEndpoint() + graphVersion + "/$metadata#microsoft.graph.keyCredential"
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// graphRemoveKey is the removeKey action: it removes a key credential, with
// a proof signed by one of the application's valid certificates. The fake
// is stricter than Graph: the proof must come from a certificate that
// stays, so that a client cannot remove the key it proves possession with
// and lock itself out.
func (s *Server) graphRemoveKey(w http.ResponseWriter, r *http.Request, caller graphCaller, appID string) *graphError {
	if !s.mayRollKeys(caller, appID) {
		return forbidden()
	}
	var body struct {
		KeyID string `json:"keyId"`
		Proof string `json:"proof"`
	}
	if gerr := decodeGraphBody(r, &body, true); gerr != nil {
		return gerr
	}
	if body.KeyID == "" {
		return badRequest("The request body must contain the parameter 'keyId'.")
	}
	if !guidPattern.MatchString(body.KeyID) {
		return badRequest("Invalid keyId '%s': it is not a GUID.", body.KeyID)
	}
	if body.Proof == "" {
		return forbidden()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	signer, gerr := checkProof(a, body.Proof, time.Now())
	if gerr != nil {
		return gerr
	}
	i := slices.IndexFunc(a.keys, func(k *keyCredential) bool { return strings.EqualFold(k.KeyID, body.KeyID) })
	if i < 0 {
		return &graphError{http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("No key credential with keyId '%s' exists on application '%s'.", body.KeyID, a.objectID)}
	}
	if a.keys[i] == signer {
		return badRequest("Invalid proof: it is signed by the key credential being removed (keyId '%s'); the fake wants a proof from a certificate that stays.", body.KeyID)
	}
	a.keys = slices.Delete(a.keys, i, i+1)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// graphPatch is PATCH of an application: its keyCredentials, if the body
// has them, replace the whole list, as in Graph. The fake ignores the
// other properties.
func (s *Server) graphPatch(w http.ResponseWriter, r *http.Request, caller graphCaller, appID string) *graphError {
	if !s.mayWrite(caller) {
		return forbidden()
	}
	var raw map[string]json.RawMessage
	if gerr := decodeGraphBody(r, &raw, false); gerr != nil {
		return gerr
	}
	v, ok := raw["keyCredentials"]
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if string(v) == "null" {
		return badRequest("Invalid value specified for property 'keyCredentials' of resource 'Application': null; send [] to remove every key credential.")
	}
	var entries []*keyCredentialInput
	if err := json.Unmarshal(v, &entries); err != nil {
		return badRequest("Invalid value specified for property 'keyCredentials' of resource 'Application': %v.", err)
	}
	certs := make([]*x509.Certificate, len(entries))
	for i, e := range entries {
		what := fmt.Sprintf("keyCredentials[%d]", i)
		if e == nil {
			return badRequest("%s is null.", what)
		}
		cert, gerr := e.certificate(what)
		if gerr != nil {
			return gerr
		}
		if e.KeyID != nil && *e.KeyID != "" && !guidPattern.MatchString(*e.KeyID) {
			return badRequest("%s: invalid keyId '%s': it is not a GUID.", what, *e.KeyID)
		}
		certs[i] = cert
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	keys := make([]*keyCredential, 0, len(entries))
	for i, e := range entries {
		keyID, name := "", ""
		if e.KeyID != nil {
			keyID = strings.ToLower(*e.KeyID)
		}
		if e.DisplayName != nil {
			name = *e.DisplayName
		}
		k := (*keyCredential)(nil)
		if keyID != "" {
			if j := slices.IndexFunc(a.keys, func(k *keyCredential) bool { return strings.EqualFold(k.KeyID, keyID) }); j >= 0 {
				// A credential Graph keeps is the same one, already known
				// to sign-in (or as far replicated as it was); Graph
				// refuses to change one in place.
				if a.keys[j].Thumbprint != thumbprint(certs[i]) {
					return badRequest("Update to existing credential with KeyId '%s' is not allowed.", keyID)
				}
				k = a.keys[j]
			}
		}
		if k == nil {
			k = newKeyCredential(certs[i], keyID, name, s.replicationDelay)
		}
		for _, other := range keys {
			if strings.EqualFold(other.KeyID, k.KeyID) {
				return badRequest("keyCredentials[%d]: keyId '%s' appears more than once.", i, k.KeyID)
			}
			if other.Thumbprint == k.Thumbprint {
				return badRequest("keyCredentials[%d]: the certificate with thumbprint '%s' appears more than once: upload of a duplicate certificate is not allowed.", i, k.Thumbprint)
			}
		}
		keys = append(keys, k)
	}
	a.keys = keys
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkProof verifies a proof of possession for application a, as Graph's
// docs describe it: a JWT signed (RS256) by one of the application's key
// credentials that is valid now, named in the header by x5t, with aud
// proofAudience, iss the application's object id, and nbf and exp at most
// ten minutes apart around now. It returns the credential that signed it.
// The caller holds s.mu.
func checkProof(a *app, proof string, now time.Time) (*keyCredential, *graphError) {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return nil, invalidProof("it is not a JWT of three base64url parts.")
	}
	var header struct {
		Alg string `json:"alg"`
		X5t string `json:"x5t"`
	}
	if decodePart(parts[0], &header) != nil {
		return nil, invalidProof("its header is not base64url (without padding) JSON.")
	}
	if header.Alg != "RS256" {
		return nil, invalidProof("alg '%s' is not supported; the proof must be signed with RS256.", header.Alg)
	}
	if header.X5t == "" {
		return nil, invalidProof("its header has no x5t (the base64url SHA-1 thumbprint of the signing certificate).")
	}
	var signer *keyCredential
	for _, k := range a.keys {
		sum := sha1.Sum(k.Certificate.Raw)
		if header.X5t == base64.RawURLEncoding.EncodeToString(sum[:]) {
			signer = k
			break
		}
	}
	if signer == nil {
		return nil, invalidProof("its certificate (x5t '%s') is not a key credential of application '%s'.", header.X5t, a.objectID)
	}
	cert := signer.Certificate
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, invalidProof("its certificate (thumbprint %s) does not have an RSA key.", signer.Thumbprint)
	}
	if now.Before(signer.Start) || now.After(signer.End) {
		return nil, invalidProof("its certificate (thumbprint %s) is not valid now: it is valid from %s to %s.", signer.Thumbprint, entraTime(signer.Start), entraTime(signer.End))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, invalidProof("its signature is not base64url (without padding).")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		return nil, invalidProof("the signature does not verify with the key of the certificate with thumbprint %s.", signer.Thumbprint)
	}
	var claims struct {
		Aud string   `json:"aud"`
		Iss string   `json:"iss"`
		Nbf *float64 `json:"nbf"`
		Exp *float64 `json:"exp"`
	}
	if decodePart(parts[1], &claims) != nil {
		return nil, invalidProof("its claims are not base64url JSON with a string aud and iss and NumericDate (number) nbf and exp.")
	}
	if claims.Aud != proofAudience {
		return nil, invalidProof("aud is '%s', not '%s'.", claims.Aud, proofAudience)
	}
	if claims.Iss != a.objectID {
		return nil, invalidProof("iss is '%s', not the application's object id '%s'.", claims.Iss, a.objectID)
	}
	if claims.Nbf == nil || claims.Exp == nil {
		return nil, invalidProof("nbf and exp are required.")
	}
	nbf, exp := *claims.Nbf, *claims.Exp
	if exp <= nbf {
		return nil, invalidProof("exp is not after nbf.")
	}
	if exp-nbf > proofLifetime.Seconds() {
		return nil, invalidProof("its lifetime (exp - nbf) is %v seconds, more than the %v allowed.", exp-nbf, proofLifetime.Seconds())
	}
	t := float64(now.Unix())
	if t < nbf-proofSkew.Seconds() || t > exp+proofSkew.Seconds() {
		return nil, invalidProof("it is not valid now: nbf %s, exp %s, now %s.", entraTime(unixTime(nbf)), entraTime(unixTime(exp)), entraTime(now))
	}
	return signer, nil
}

func unixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// thumbprint is a certificate's SHA-1 thumbprint as Windows and Entra ID
// show it.
func thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// randGUID is a random (version 4) GUID.
func randGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
