package login

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/certctl/certctl/internal/roots"
)

// Every request of a sign-in goes through a guard, whatever azidentity and
// MSAL ask for, so that a credential (client secret, client assertion,
// refresh token, authorization code, bearer token, X-IDENTITY-HEADER)
// travels only over HTTPS to the host the environment names:
//
//   - a request goes only to https on the authority's host or an alias Entra
//     ID declares for it; a GET that carries a bearer token may also go to
//     the environment's Resource Manager. Managed identity is the exception:
//     azidentity picks its endpoint (App Service's is loopback http).
//   - the endpoints a discovery document names (token, authorization, device
//     code) must pass the same test, or the document is refused before
//     anything is sent to them.
//   - a POST (every token request) never follows a redirect, and no request
//     follows one to another scheme, host or port. Go's client would send a
//     307 or 308's body, client secret included, to wherever it points.
//
// A refusal is an *EndpointError that names the host and says why.

// ErrRefusedEndpoint is matched by every *EndpointError.
var ErrRefusedEndpoint = errors.New("refused to contact an endpoint")

// EndpointError is a request certctl refused to send, a redirect it refused
// to follow, or a discovery document that named an endpoint it will not use.
type EndpointError struct {
	Host   string // the host that was refused
	Reason string // what was refused and why, naming the hosts
}

func (e *EndpointError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrRefusedEndpoint) true.
func (e *EndpointError) Is(target error) bool { return target == ErrRefusedEndpoint }

// NonRetriable stops azcore's retry policy: trying again would be refused
// again.
func (e *EndpointError) NonRetriable() {}

// guard applies the rules above to an HTTP transport. It is a
// policy.Transporter for azidentity and an http.Client for certctl's own
// requests.
type guard struct {
	client *http.Client
	inner  http.RoundTripper
	// authority holds the canonical host:port of the authority and its
	// aliases; arm that of Resource Manager.
	authority     map[string]bool
	authorityName string
	arm           string
	// anyEndpoint lets requests go anywhere azidentity sends them, for
	// managed identity; redirects are still refused.
	anyEndpoint bool
	// service is set for a ServiceClient: authority holds the service's
	// host only, and authorityName names it.
	service bool

	mu sync.Mutex
	// failure is the first error certctl itself raised during a sign-in:
	// a refusal of the guard, or a credential it could not make (an
	// unreadable token file, a key it may not use). azidentity passes such
	// errors on as text; the credential reports this one instead.
	failure error
}

func newGuard(o Options, anyEndpoint bool) *guard {
	g := &guard{inner: o.RoundTripper, authority: map[string]bool{}, anyEndpoint: anyEndpoint}
	if g.inner == nil {
		g.inner = roots.Transport()
	}
	if u, err := url.Parse(o.Environment.AuthorityHost); err == nil {
		g.authorityName = u.Host
		g.authority[canonicalHost(u)] = true
	}
	for _, a := range o.Environment.Aliases {
		g.authority[canonicalHost(&url.URL{Scheme: "https", Host: a})] = true
	}
	if u, err := url.Parse(o.Environment.ResourceManager); err == nil {
		g.arm = canonicalHost(u)
	}
	g.client = &http.Client{Transport: roundTripper{g}, CheckRedirect: g.checkRedirect}
	return g
}

// ServiceClient is an HTTP client for a service that takes bearer tokens,
// such as Microsoft Graph, at endpoint: requests go only over https to
// endpoint's host, and a redirect is followed only by a GET, within that
// host. A refusal is an *EndpointError. rt carries the requests; nil uses
// roots.Transport.
func ServiceClient(endpoint string, rt http.RoundTripper) (*http.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, &EndpointError{Host: hostOf(endpoint), Reason: fmt.Sprintf("refused to use the endpoint %.200q: certctl talks to services only over https", endpoint)}
	}
	g := &guard{inner: rt, authority: map[string]bool{canonicalHost(u): true}, authorityName: u.Host, service: true}
	if g.inner == nil {
		g.inner = roots.Transport()
	}
	g.client = &http.Client{Transport: roundTripper{g}, CheckRedirect: g.checkRedirect}
	return g.client, nil
}

// Do sends req; it makes the guard an azcore policy.Transporter.
func (g *guard) Do(req *http.Request) (*http.Response, error) { return g.client.Do(req) }

// failed reports the first error fail recorded, if any.
func (g *guard) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failure
}

// reset forgets the recorded error, before a new token request.
func (g *guard) reset() {
	g.mu.Lock()
	g.failure = nil
	g.mu.Unlock()
}

// fail records err (the first one only) and returns it.
func (g *guard) fail(err error) error {
	g.mu.Lock()
	if g.failure == nil {
		g.failure = err
	}
	g.mu.Unlock()
	return err
}

func (g *guard) refuse(host, format string, args ...any) error {
	return g.fail(&EndpointError{Host: host, Reason: fmt.Sprintf(format, args...)})
}

type roundTripper struct{ g *guard }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	g := rt.g
	if err := g.checkRequest(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := g.inner.RoundTrip(req)
	if err != nil || g.anyEndpoint || !isDiscovery(req, resp) {
		return resp, err
	}
	return g.checkDiscovery(req, resp)
}

// checkRequest applies the host rules before anything is sent.
func (g *guard) checkRequest(req *http.Request) error {
	if g.anyEndpoint {
		return nil
	}
	host := canonicalHost(req.URL)
	if req.URL.Scheme != "https" {
		return g.refuse(req.URL.Host, "refused to send a request to %s over %s: certctl talks to Entra ID and Resource Manager only over https", req.URL.Host, req.URL.Scheme)
	}
	if g.authority[host] {
		return nil
	}
	if g.service {
		return g.refuse(req.URL.Host, "refused to send a %s request to %s: certctl sends this service's requests only to %s", req.Method, req.URL.Host, g.authorityName)
	}
	if host == g.arm && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		return nil
	}
	return g.refuse(req.URL.Host, "refused to send a %s request to %s: it is neither the authority's host %s nor an alias Entra ID declares for it", req.Method, req.URL.Host, g.authorityName)
}

// checkRedirect refuses to follow a POST anywhere, or any request to
// another origin.
func (g *guard) checkRedirect(req *http.Request, via []*http.Request) error {
	first, prev := via[0], via[len(via)-1]
	to := req.URL.Scheme + "://" + req.URL.Host
	switch {
	case first.Method != http.MethodGet && first.Method != http.MethodHead:
		return g.refuse(req.URL.Host, "refused to follow a redirect from %s to %s: a token request never follows a redirect, so its client secret or assertion only goes to the endpoint it was meant for", prev.URL.Host, to)
	case req.URL.Scheme != prev.URL.Scheme || canonicalHost(req.URL) != canonicalHost(prev.URL):
		return g.refuse(req.URL.Host, "refused to follow a redirect from %s://%s to %s: certctl follows redirects only within the same scheme, host and port", prev.URL.Scheme, prev.URL.Host, to)
	case len(via) >= 10:
		return g.refuse(req.URL.Host, "refused to follow more than 10 redirects at %s", req.URL.Host)
	}
	return nil
}

// isDiscovery tells an OpenID Connect discovery document.
func isDiscovery(req *http.Request, resp *http.Response) bool {
	return req.Method == http.MethodGet && resp.StatusCode == http.StatusOK &&
		strings.HasSuffix(req.URL.Path, "/.well-known/openid-configuration")
}

// maxDiscoverySize bounds a discovery document; Entra ID's are about 2 KiB.
const maxDiscoverySize = 1 << 20

// checkDiscovery refuses a discovery document that names an endpoint the
// host rules would refuse, so that no sign-in is even started there (the
// authorization endpoint is opened in a browser, not through the guard).
func (g *guard) checkDiscovery(req *http.Request, resp *http.Response) (*http.Response, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoverySize+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxDiscoverySize {
		return nil, g.refuse(req.URL.Host, "the discovery document of %s is larger than %d bytes", req.URL.Host, maxDiscoverySize)
	}
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		for _, field := range discoveryEndpoints {
			v, ok := doc[field]
			if !ok {
				continue
			}
			s, _ := v.(string)
			if err := g.checkEndpoint(req.URL.Host, field, s); err != nil {
				return nil, err
			}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// discoveryEndpoints are the fields of a discovery document that name
// where certctl sends credentials or a person signs in.
var discoveryEndpoints = []string{"token_endpoint", "authorization_endpoint", "device_authorization_endpoint"}

// checkEndpoint refuses an endpoint that the discovery document of source
// names in field, s, unless it is an https URL on the authority's host or
// an alias, without a user name or password.
func (g *guard) checkEndpoint(source, field, s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return g.refuse(source, "the discovery document of %s names %s %q, which is not a URL", source, field, s)
	case u.Scheme != "https":
		return g.refuse(u.Host, "the discovery document of %s names %s %s://%s%s, which is not https: certctl sends credentials only over https", source, field, u.Scheme, u.Host, u.EscapedPath())
	case u.User != nil:
		return g.refuse(u.Host, "the discovery document of %s names a %s with a user name or password in it", source, field)
	case !g.authority[canonicalHost(u)]:
		return g.refuse(u.Host, "the discovery document of %s names %s on %s, which is neither the authority's host %s nor an alias Entra ID declares for it", source, field, u.Host, g.authorityName)
	}
	return nil
}

// canonicalHost is u's host and port in lower case, with the scheme's
// default port made explicit, for comparisons.
func canonicalHost(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		default:
			port = "443"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}
