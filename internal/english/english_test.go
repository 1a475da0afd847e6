package english

import "testing"

func TestA(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"RSA 2048 key", "an RSA 2048 key"},
		{"ECDSA P-256 key", "an ECDSA P-256 key"},
		{"Ed25519 key", "an Ed25519 key"},
		{"GET request", "a GET request"},
		{"POST request", "a POST request"},
		{"DSA key", "a DSA key"},
		{"HTTPS URL", "an HTTPS URL"},
		{"key", "a key"},
		{"order", "an order"},
		{"X.509 certificate", "an X.509 certificate"},
		{"*rsa.PublicKey key", "a *rsa.PublicKey key"},
	} {
		if got := A(tc.in); got != tc.want {
			t.Errorf("A(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
