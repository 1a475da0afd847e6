package thumbprint_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/thumbprint"
)

func TestOfMatchesHashOfDER(t *testing.T) {
	cert := testcert.Mint(t, "thumbprint test", testcert.Options{Key: "ecdsa"}).Leaf

	s1 := sha1.Sum(cert.Raw)
	assert.Equal(t, strings.ToUpper(hex.EncodeToString(s1[:])), thumbprint.Of(cert).String())
	s256 := sha256.Sum256(cert.Raw)
	assert.Equal(t, strings.ToUpper(hex.EncodeToString(s256[:])), thumbprint.SHA256Of(cert).String())
	assert.False(t, thumbprint.Of(cert).IsZero())
	assert.True(t, thumbprint.Thumbprint{}.IsZero())
}
