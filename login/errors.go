package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// ErrSignIn is matched by every error Explain returns for a refused
// sign-in.
var ErrSignIn = errors.New("sign-in refused")

// SignInError is Entra ID's refusal, with its AADSTS code and a hint that
// says what to do.
type SignInError struct {
	Code        int    // the AADSTS number, 0 if none
	OAuthError  string // the OAuth error, such as invalid_client
	Description string // Entra ID's first line
	Hint        string
}

func (e *SignInError) Error() string {
	msg := "sign-in refused"
	if e.Code != 0 {
		msg += fmt.Sprintf(": AADSTS%d", e.Code)
	} else if e.OAuthError != "" {
		msg += ": " + e.OAuthError
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Is makes errors.Is(err, ErrSignIn) true.
func (e *SignInError) Is(target error) bool { return target == ErrSignIn }

// aadstsHints say what to do about the refusals people meet most.
var aadstsHints = map[int]string{
	700027:  "the certificate is not registered on the application: upload its public part (certctl export THUMBPRINT --out app.crt --no-key) under Certificates & secrets of the app registration",
	7000215: "the client secret is wrong: check that you passed the secret's value, not its id, or create a new secret",
	7000222: "the client secret has expired: create a new one under Certificates & secrets of the app registration",
	700016:  "no application with that id in the tenant: check --application-id and --tenant, and that the app is registered in this tenant",
	90002:   "the tenant does not exist: check --tenant (a tenant id or a domain such as contoso.onmicrosoft.com) and --environment",
	900023:  "the tenant is not a valid tenant id or domain: check --tenant",
	700024:  "the client assertion is not within its valid time range: check the machine's clock",
	50011:   "the redirect URI is not registered for the application",
	50012:   "the assertion was refused: its signature, audience or certificate does not match what the application has registered",
	7000112: "the application is disabled in the tenant",
	700082:  "the refresh token expired: sign in again",
	50076:   "multi-factor authentication is required: sign in interactively",
	53003:   "blocked by Conditional Access policy",
	50196:   "Entra ID is throttling or temporarily unavailable: wait a minute and try again",
	70021:   "no federated identity credential on the application matches the token's issuer, subject and audience",
	700211:  "the federated token's issuer is not registered on the application",
	700212:  "the federated token's audience is not the one registered on the application (usually api://AzureADTokenExchange)",
	700213:  "the federated token's subject is not the one registered on the application",
	7000272: "the federated token has expired: get a fresh one from the identity provider",
	50034:   "the user account does not exist in this tenant",
	50126:   "the user name or password is wrong",
}

var aadstsPattern = regexp.MustCompile(`AADSTS(\d+)`)

// Explain turns an azidentity error into one that says what went wrong and
// what to do: Entra ID refusals become *SignInError with a hint, and network
// failures name the host.
func Explain(err error, o Options) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrRefusedEndpoint) {
		return err // it says what and why already
	}
	authority := hostOf(o.Environment.AuthorityHost)
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "context deadline exceeded") {
		return &ServiceError{Host: authority, Problem: fmt.Sprintf("did not answer in time (%d tries of %s)", retryOptions.MaxRetries+1, retryOptions.TryTimeout)}
	}
	if strings.Contains(err.Error(), "json decode error") {
		// The raw answer is left out: it may hold a token.
		return &ServiceError{Host: authority, Problem: "sent an answer that is not valid JSON"}
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		return fromResponse(afe.RawResponse)
	}
	if se := fromText(err.Error()); se != nil {
		return se
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return explainNetwork(err, hostOf(ue.URL))
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return explainNetwork(err, hostOf(o.Environment.AuthorityHost))
	}
	// MSAL flattens some network errors into text.
	if m := netFailure.FindStringSubmatch(err.Error()); m != nil {
		host := hostOf(o.Environment.AuthorityHost)
		if u := requestURL.FindStringSubmatch(err.Error()); u != nil {
			host = u[1]
		}
		return &NetworkError{Host: host, Err: errors.New(m[0])}
	}
	return err
}

var (
	netFailure = regexp.MustCompile(`(dial tcp|lookup) [^\n]*|tls: [^\n]*|x509: [^\n]*|i/o timeout|connection reset by peer`)
	requestURL = regexp.MustCompile(`(?:Get|Post|GET|POST) "?https?://([^/"\s]+)`)
)

func fromResponse(resp *http.Response) error {
	body, _ := runtime.Payload(resp)
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if json.Unmarshal(body, &e) != nil || (e.Error == "" && len(e.Codes) == 0) {
		host := ""
		if resp.Request != nil {
			host = resp.Request.URL.Host
		}
		return &ServiceError{Host: host, Problem: fmt.Sprintf("failed: %s", resp.Status)}
	}
	se := &SignInError{OAuthError: e.Error, Description: cleanDescription(e.Description)}
	if len(e.Codes) > 0 {
		se.Code = e.Codes[0]
	} else if m := aadstsPattern.FindStringSubmatch(e.Description); m != nil {
		fmt.Sscan(m[1], &se.Code)
	}
	se.Hint = aadstsHints[se.Code]
	return se
}

// fromText finds an AADSTS code in an error that carries no response, as
// some MSAL errors do.
func fromText(s string) *SignInError {
	m := aadstsPattern.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	se := &SignInError{}
	fmt.Sscan(m[1], &se.Code)
	i := strings.Index(s, m[0])
	se.Description = cleanDescription(s[i:])
	se.Hint = aadstsHints[se.Code]
	return se
}

// ServiceError is an identity service that answered, but not usefully: an
// error status without an Entra ID error, a malformed answer, or no answer
// in time.
type ServiceError struct {
	Host    string
	Problem string
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("the identity service at %s %s", e.Host, e.Problem)
}

// NetworkError names the host that could not be reached.
type NetworkError struct {
	Host string
	Err  error
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v", e.Host, rootCause(e.Err))
}

func (e *NetworkError) Unwrap() error { return e.Err }

func explainNetwork(err error, host string) error {
	return &NetworkError{Host: host, Err: err}
}

// rootCause drops the wrappers that repeat the URL.
func rootCause(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func hostOf(u any) string {
	var s string
	switch v := u.(type) {
	case string:
		s = v
	case *url.URL:
		if v == nil {
			return ""
		}
		return v.Host
	}
	p, err := url.Parse(s)
	if err != nil || p.Host == "" {
		return s
	}
	return p.Host
}

// cleanDescription keeps what Entra ID says without its code prefix and the
// trace id and timestamp it appends.
func cleanDescription(s string) string {
	s = firstLine(s)
	s = aadstsPrefix.ReplaceAllString(s, "")
	if i := strings.Index(s, " Trace ID:"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

var aadstsPrefix = regexp.MustCompile(`^AADSTS\d+:\s*`)

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}
