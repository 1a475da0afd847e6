package login

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/thumbprint"
)

// TestSignInFaults runs a certificate sign-in against an identity service
// that misbehaves. Each fault must give a clear error in bounded time,
// and no saved context may change. The waits between tries are the default
// ones scaled down, and so is the time a try may take against the hanging
// service, so that it costs a second, not 30. A try that merely took long on a loaded
// machine is retried with an assertion of its own, which the fake does not
// refuse as a replay.
func TestSignInFaults(t *testing.T) {
	b := testcert.Mint(t, "certctl faults", testcert.Options{})
	for _, tc := range []struct {
		name  string
		fault logintest.Fault
		want  string
	}{
		{"hanging", logintest.FaultHang, "did not answer in time"},
		{"500", logintest.FaultServerError, "failed: 500 Internal Server Error"},
		{"429 with Retry-After", logintest.FaultThrottle, "AADSTS50196"},
		{"malformed JSON", logintest.FaultMalformed, "not valid JSON"},
		{"expired token", logintest.FaultExpiredToken, "already expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := logintest.New(t)
			s.RegisterCertificate(appID, b.Leaf)
			dir := t.TempDir()
			saved := &Context{Method: MethodCertificate, Environment: "Fake", Account: "before", Tenant: s.Tenant, ClientID: appID, Thumbprint: thumbprint.Of(b.Leaf).String(), Store: "My"}
			require.NoError(t, SaveContext(dir, saved))
			s.SetFault(tc.fault)

			opts := certOptions(s, certstore.BundleIdentity(b))
			retry := fastRetry
			if tc.fault != logintest.FaultHang {
				// A service that answers keeps the default time per try:
				// on a loaded machine (the whole suite under -race) a
				// scaled-down one turned its answer into a timeout.
				retry.TryTimeout = DefaultRetry.TryTimeout
			}
			opts.Retry = &retry
			start := time.Now()
			res, err := SignIn(context.Background(), opts)
			took := time.Since(start)
			require.Error(t, err)
			assert.Nil(t, res)
			// Bounded: the first try and at most two retries, however the
			// service answers (time is only logged: this machine is shared).
			assert.LessOrEqual(t, countTokenRequests(s), 3, "retries must be bounded")
			assert.NotContains(t, err.Error(), "\n", "one clear line, not a dump")
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "unterminated", "the raw answer may hold a token")
			t.Logf("%s after %v: %v", tc.name, took.Round(time.Millisecond), err)

			back, lerr := LoadContext(dir, "")
			require.NoError(t, lerr)
			assert.Equal(t, "before", back.Account)
		})
	}
}

// fastRetry is DefaultRetry with its times divided by 50: the same number
// of tries, each bounded.
var fastRetry = func() policy.RetryOptions {
	r := DefaultRetry
	r.TryTimeout /= 50
	r.RetryDelay /= 50
	r.MaxRetryDelay /= 50
	return r
}()

func countTokenRequests(s *logintest.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if strings.HasSuffix(r, "/oauth2/v2.0/token") {
			n++
		}
	}
	return n
}
