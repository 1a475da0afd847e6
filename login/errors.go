package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/certctl/certctl/internal/lazyre"
	"github.com/certctl/certctl/internal/lines"
)

// ErrSignIn is matched by every error Explain returns for a refused
// sign-in.
var ErrSignIn = errors.New("sign-in refused")

// SignInError is Entra ID's refusal, with its AADSTS code. The code says
// what went wrong; what to do about it is the caller's to say.
type SignInError struct {
	Code        int    // the AADSTS number, 0 if none
	OAuthError  string // the OAuth error, such as invalid_client
	Description string // Entra ID's first line
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

var aadstsPattern = lazyre.New(`AADSTS(\d+)`)

// Explain turns an azidentity error into one that says what went wrong:
// Entra ID refusals become *SignInError with their AADSTS code, and network
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
		return &ServiceError{Host: authority, Problem: "did not answer in time", Err: context.DeadlineExceeded}
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
	if m := netFailure().FindStringSubmatch(err.Error()); m != nil {
		host := hostOf(o.Environment.AuthorityHost)
		if u := requestURL().FindStringSubmatch(err.Error()); u != nil {
			host = u[1]
		}
		return &NetworkError{Host: host, Err: errors.New(m[0])}
	}
	return err
}

var (
	netFailure = lazyre.New(`(dial tcp|lookup) [^\n]*|tls: [^\n]*|x509: [^\n]*|i/o timeout|connection reset by peer`)
	requestURL = lazyre.New(`(?:Get|Post|GET|POST) "?https?://([^/"\s]+)`)
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
		return &ServiceError{Host: host, Problem: fmt.Sprintf("failed: %s", resp.Status), Status: resp.StatusCode}
	}
	se := &SignInError{OAuthError: e.Error, Description: cleanDescription(e.Description)}
	if len(e.Codes) > 0 {
		se.Code = e.Codes[0]
	} else if m := aadstsPattern().FindStringSubmatch(e.Description); m != nil {
		fmt.Sscan(m[1], &se.Code)
	}
	return se
}

// fromText finds an AADSTS code in an error that carries no response, as
// some MSAL errors do.
func fromText(s string) *SignInError {
	m := aadstsPattern().FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	se := &SignInError{}
	fmt.Sscan(m[1], &se.Code)
	i := strings.Index(s, m[0])
	se.Description = cleanDescription(s[i:])
	return se
}

// ServiceError is an identity service that answered, but not usefully: an
// error status without an Entra ID error, a malformed answer, or no answer
// in time.
type ServiceError struct {
	Host    string
	Problem string
	// Err is context.DeadlineExceeded when the service did not answer in
	// the time allowed; nil otherwise.
	Err error
	// Status is the HTTP status of an error answer without an Entra ID
	// error in it; 0 otherwise.
	Status int
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("the identity service at %s %s", e.Host, e.Problem)
}

func (e *ServiceError) Unwrap() error { return e.Err }

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
	s = strings.TrimSpace(lines.First(strings.TrimSpace(s)))
	s = aadstsPrefix().ReplaceAllString(s, "")
	if i := strings.Index(s, " Trace ID:"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

var aadstsPrefix = lazyre.New(`^AADSTS\d+:\s*`)
