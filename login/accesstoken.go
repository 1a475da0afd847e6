package login

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/certctl/certctl/platform"
)

// ErrAccessTokenExpired is matched by the error of an access token whose
// expiry has passed.
var ErrAccessTokenExpired = errors.New("the access token has expired")

// AccessTokenExpiredError says when the access token expired.
type AccessTokenExpiredError struct{ Expired time.Time }

func (e *AccessTokenExpiredError) Error() string {
	return fmt.Sprintf("%v at %s", ErrAccessTokenExpired, e.Expired.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrAccessTokenExpired) true.
func (e *AccessTokenExpiredError) Is(target error) bool { return target == ErrAccessTokenExpired }

// ErrAccessTokenUnusable is matched by the error of an access token that
// cannot be used: missing, not a JWT with an expiry, or refused by
// Resource Manager.
var ErrAccessTokenUnusable = errors.New("unusable access token")

// readAccessToken reads the access token the user gave (o.AccessToken, or
// the file o.AccessTokenFile) and refuses it once its exp claim has
// passed. It reads exp without trusting anything else in the token: the
// token is the user's to give, and Resource Manager judges it.
func readAccessToken(o Options) (azcore.AccessToken, error) {
	tok, from := o.AccessToken, "the access token"
	if o.AccessTokenFile != "" {
		from = "access token file " + o.AccessTokenFile
		data, fi, err := platform.ReadSmallFile(o.AccessTokenFile, platform.MaxSecretSize)
		if err != nil {
			return azcore.AccessToken{}, fmt.Errorf("%w: %w", ErrAccessTokenUnusable, err)
		}
		if _, err := platform.CheckSecretFile(o.AccessTokenFile, fi); err != nil {
			return azcore.AccessToken{}, fmt.Errorf("%w: %w", ErrAccessTokenUnusable, err)
		}
		tok = string(data)
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return azcore.AccessToken{}, fmt.Errorf("%w: %s is empty", ErrAccessTokenUnusable, from)
	}
	var claims struct {
		Exp float64 `json:"exp"` // a NumericDate, which may have a fraction
	}
	if !jwtClaims(tok, &claims) || claims.Exp <= 0 {
		return azcore.AccessToken{}, fmt.Errorf("%w: %s is not a JWT with an expiry (exp claim)", ErrAccessTokenUnusable, from)
	}
	exp := time.Unix(int64(claims.Exp), 0)
	if !o.now().Before(exp) {
		return azcore.AccessToken{}, &AccessTokenExpiredError{Expired: exp}
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}
