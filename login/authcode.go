package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"strconv"
	"time"
)

// The loopback redirect of the authorization code flow listens on the
// first free port from FirstRedirectPort to LastRedirectPort, as Azure
// PowerShell does, unless a port is given.
const (
	FirstRedirectPort = 8400
	LastRedirectPort  = 8999
)

// ErrBrowserUnavailable is matched by the error of an authorization code
// sign-in that could not open a browser.
var ErrBrowserUnavailable = errors.New("no browser could be opened")

// BrowserError is a browser that could not be started.
type BrowserError struct{ Err error }

func (e *BrowserError) Error() string            { return fmt.Sprintf("%v: %v", ErrBrowserUnavailable, e.Err) }
func (e *BrowserError) Unwrap() error            { return e.Err }
func (e *BrowserError) Is(target error) bool     { return target == ErrBrowserUnavailable }
func newBrowserError(err error) error            { return &BrowserError{Err: err} }
func (e *PortError) Error() string               { return e.msg }
func (e *PortError) Is(target error) bool        { return target == ErrRedirectPort }
func newPortError(format string, a ...any) error { return &PortError{msg: fmt.Sprintf(format, a...)} }

// ErrRedirectPort is matched when no loopback port could take the
// redirect.
var ErrRedirectPort = errors.New("no loopback port for the redirect")

// PortError says which port or range could not be listened on.
type PortError struct{ msg string }

// OpenBrowser opens url in the user's browser, as the desktop does:
// xdg-open (or x-www-browser, www-browser) on Linux and BSD, open on macOS,
// the URL handler on Windows. It fails if none can be started or it
// reports a failure.
func OpenBrowser(u string) error {
	var candidates [][]string
	switch runtime.GOOS {
	case "windows":
		candidates = [][]string{{"rundll32", "url.dll,FileProtocolHandler", u}}
	case "darwin":
		candidates = [][]string{{"open", u}}
	default:
		candidates = [][]string{{"xdg-open", u}, {"x-www-browser", u}, {"www-browser", u}}
	}
	var err error
	for _, c := range candidates {
		var path string
		if path, err = exec.LookPath(c[0]); err != nil {
			continue
		}
		return exec.Command(path, c[1:]...).Run()
	}
	return err
}

// listenLoopback listens on 127.0.0.1 at port, or at the first free port
// of the redirect range when port is 0, and on ::1 at the same port when
// it can, since browsers may resolve localhost to either.
func listenLoopback(port int) ([]net.Listener, int, error) {
	first, last := port, port
	if port == 0 {
		first, last = FirstRedirectPort, LastRedirectPort
	}
	for p := first; p <= last; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ls := []net.Listener{l}
		if l6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(p))); err == nil {
			ls = append(ls, l6)
		}
		return ls, p, nil
	}
	if port != 0 {
		return nil, 0, newPortError("cannot listen on loopback port %d for the sign-in's redirect: it is in use", port)
	}
	return nil, 0, newPortError("cannot listen on any loopback port from %d to %d for the sign-in's redirect", first, last)
}

// randomToken is n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authResult is what the redirect brought back.
type authResult struct {
	code string
	err  error
}

// authorizationCode signs a person in with the authorization code flow and
// PKCE: it opens the sign-in page in the browser with a redirect to a
// loopback listener, takes the code the browser brings back, and redeems
// it, as the client (confidential when o has a credential).
func (c *oauth) authorizationCode(ctx context.Context, scopes []string, port int, open func(string) error) (*userTokens, error) {
	ls, port, err := listenLoopback(port)
	if err != nil {
		return nil, err
	}
	redirect := "http://localhost:" + strconv.Itoa(port)
	verifier, state := randomToken(32), randomToken(16)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {c.o.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {redirect},
		"response_mode":         {"query"},
		"scope":                 {scopeList(scopes)},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	signIn := c.o.Environment.AuthorizeEndpoint(tenantOrOrganizations(c.o.Tenant)) + "?" + q.Encode()

	got := make(chan authResult, 1)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			v := r.URL.Query()
			// A request without this sign-in's state is not the answer
			// to it (another page, or a forged one): it is ignored.
			if subtle.ConstantTimeCompare([]byte(v.Get("state")), []byte(state)) != 1 {
				http.Error(w, "certctl: this is not the answer to the sign-in under way", http.StatusBadRequest)
				return
			}
			res := authResult{code: v.Get("code")}
			if e := v.Get("error"); e != "" || res.code == "" {
				if se := fromText(v.Get("error_description")); se != nil {
					res.err = se
				} else {
					res.err = &SignInError{OAuthError: cleanDescription(e), Description: cleanDescription(v.Get("error_description"))}
				}
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if res.err != nil {
				fmt.Fprintf(w, "<!doctype html><title>certctl</title><p>certctl: the sign-in failed: %s</p>", html.EscapeString(res.err.Error()))
			} else {
				fmt.Fprint(w, "<!doctype html><title>certctl</title><p>certctl: signed in. You can close this window.</p>")
			}
			select {
			case got <- res:
			default:
			}
		}),
	}
	for _, l := range ls {
		go srv.Serve(l)
	}
	defer srv.Close()

	if open == nil {
		open = OpenBrowser
	}
	if err := open(signIn); err != nil {
		return nil, newBrowserError(err)
	}
	var res authResult
	select {
	case res = <-got:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the sign-in in the browser: %w", ctx.Err())
	}
	if res.err != nil {
		return nil, res.err
	}
	return c.redeem(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {res.code},
		"redirect_uri":  {redirect},
		"code_verifier": {verifier},
		"scope":         {scopeList(scopes)},
	})
}
