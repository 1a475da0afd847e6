package login

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/certctl/certctl/platform"
)

// A refresh token lives in a file of the user's choosing, never in the
// context, which only records the file's path. Entra ID rotates refresh
// tokens: each redemption answers with a new one, which replaces the old
// one in the file. Redemptions take an exclusive lock on FILE.lock, so
// that two certctl processes never redeem the same token and lose the
// rotated one.

// ErrRefreshTokenFile is matched by the errors of a refresh token file that
// cannot be used: missing, empty, not a regular file, too large or open to
// other users.
var ErrRefreshTokenFile = errors.New("unusable refresh token file")

// SaveRefreshToken writes rt to path atomically, with mode 0600.
func SaveRefreshToken(path, rt string) error {
	if rt == "" {
		return fmt.Errorf("save refresh token to %s: the identity service sent none", path)
	}
	if err := platform.WriteFileAtomic(filepath.Dir(path), filepath.Base(path), []byte(rt+"\n")); err != nil {
		return fmt.Errorf("save refresh token to %s: %w", path, err)
	}
	return nil
}

// readRefreshToken reads the refresh token in path: a regular file of at
// most platform.MaxSecretSize bytes, of this user, that no one else can
// read.
func readRefreshToken(path string) (string, error) {
	data, fi, err := platform.ReadSmallFile(path, platform.MaxSecretSize)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrRefreshTokenFile, path, err)
	}
	readable, err := platform.CheckSecretFile(path, fi)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrRefreshTokenFile, path, err)
	}
	if readable {
		return "", fmt.Errorf("%w %s: %w", ErrRefreshTokenFile, path, &platform.PermissionError{
			Path: path, Reason: fmt.Sprintf("file mode %04o lets group or others read the refresh token", fi.Mode().Perm()),
			Fix: "chmod 600 " + path,
		})
	}
	rt := strings.TrimSpace(string(data))
	if rt == "" {
		return "", fmt.Errorf("%w %s: it is empty", ErrRefreshTokenFile, path)
	}
	return rt, nil
}

// redeemRefreshToken redeems the refresh token in o.RefreshTokenFile for
// scope, authenticated as the client, and writes the rotated one back,
// all under the file's lock.
func redeemRefreshToken(ctx context.Context, o Options, scope string) (*userTokens, error) {
	if o.RefreshTokenFile == "" || o.ClientID == "" || o.Tenant == "" {
		return nil, missing("a refresh-token sign-in needs the tenant, the application id and the refresh token file")
	}
	lock, err := platform.LockFile(o.RefreshTokenFile + ".lock")
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrRefreshTokenFile, o.RefreshTokenFile, err)
	}
	defer lock.Unlock()
	rt, err := readRefreshToken(o.RefreshTokenFile)
	if err != nil {
		return nil, err
	}
	tok, err := newOAuth(o).redeemDiscovered(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
		"scope":         {scopeList([]string{scope})},
	})
	if err != nil {
		return nil, err
	}
	if tok.Refresh != "" && tok.Refresh != rt {
		if err := SaveRefreshToken(o.RefreshTokenFile, tok.Refresh); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// ConsentOptions are what Consent needs beyond Options: the scopes the
// refresh token is for, and how the person signs in.
type ConsentOptions struct {
	Options
	// Scopes are the scopes consented to; offline_access, openid and
	// profile are always added. None means Resource Manager's.
	Scopes []string
	// UseDeviceCode signs in with a device code instead of the browser.
	UseDeviceCode bool
	// RedirectPort is the loopback port of the redirect; 0 takes the first
	// free one from FirstRedirectPort to LastRedirectPort.
	RedirectPort int
}

// Consented is what a consent gave: who signed in, and the refresh token,
// which the caller writes where the user asked and never shows.
type Consented struct {
	Account, Tenant string
	RefreshToken    string
	Access          azcore.AccessToken
}

// Consent runs the one interactive sign-in of the Secure Application
// Model: a person signs in (authorization code with PKCE on a loopback
// redirect, or device code) to the application, which authenticates as a
// confidential client with its certificate or secret, and asks for
// offline_access, so that the answer carries a refresh token.
func Consent(ctx context.Context, co ConsentOptions) (*Consented, error) {
	o := co.Options
	if o.Tenant == "" || o.ClientID == "" {
		return nil, missing("a consent needs the tenant and the application id")
	}
	scopes := co.Scopes
	if len(scopes) == 0 {
		scopes = []string{o.Environment.ManagementScope()}
	}
	c := newOAuth(o)
	var tok *userTokens
	var err error
	if co.UseDeviceCode {
		tok, err = c.deviceCode(ctx, scopes)
	} else {
		tok, err = c.authorizationCode(ctx, scopes, co.RedirectPort, o.OpenBrowser)
	}
	if err != nil {
		return nil, err
	}
	if tok.Refresh == "" {
		return nil, &ServiceError{Host: hostOf(o.Environment.AuthorityHost), Problem: "answered without a refresh token (was offline_access granted?)"}
	}
	if tok.Tenant == "" {
		tok.Tenant = o.Tenant
	}
	return &Consented{Account: tok.Account, Tenant: tok.Tenant, RefreshToken: tok.Refresh, Access: tok.Access}, nil
}
