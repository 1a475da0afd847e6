package pfx

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Sentinel errors. Every error returned by this package satisfies errors.Is
// for at least one of them, so callers can branch without parsing messages.
// Messages are lower-case and carry no file name: callers prefix it
// ("import cert.pfx: incorrect password").
var (
	// ErrIncorrectPassword means the MAC did not verify, or decryption
	// failed, with the given password (go-pkcs12's ErrIncorrectPassword
	// and ErrDecryption).
	ErrIncorrectPassword = errors.New("incorrect password")
	// ErrNoPrivateKey means the file has certificates but no private key.
	ErrNoPrivateKey = errors.New("no private key")
	// ErrMultipleKeys means the file has more than one private key.
	ErrMultipleKeys = errors.New("more than one private key")
	// ErrKeyMismatch means no certificate in the file has the private
	// key's public key.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrNoCertificate means the file has no certificate.
	ErrNoCertificate = errors.New("no certificate")
	// ErrNotPFX means the input is neither PKCS#12 nor PEM, or is a
	// corrupt or truncated PKCS#12 / PEM file.
	ErrNotPFX = errors.New("not a PKCS#12 (PFX) or PEM file")
	// ErrBER means the PKCS#12 file uses BER indefinite-length encoding,
	// which go-pkcs12 (encoding/asn1) cannot read. Re-encode it, e.g. with
	// "openssl pkcs12 -in in.pfx -out tmp.pem" and export again.
	ErrBER = errors.New("BER-encoded PKCS#12 (indefinite lengths) is not supported")
	// ErrTooLarge means the input is larger than MaxFileSize.
	ErrTooLarge = fmt.Errorf("file is larger than the %d MiB limit", MaxFileSize>>20)
	// ErrTooManyIterations means a MAC or KDF iteration count exceeds
	// MaxIterations. The concrete error is an *IterationError.
	ErrTooManyIterations = fmt.Errorf("iteration count exceeds the limit of %d", MaxIterations)
	// ErrUnsupported means the file uses an algorithm or key type this
	// package cannot handle. The concrete error is an *UnsupportedError.
	ErrUnsupported = errors.New("unsupported algorithm")
	// ErrPasswordEncoding means the password cannot be encoded as a
	// PKCS#12 BMPString (UCS-2).
	ErrPasswordEncoding = errors.New("password has characters outside the Basic Multilingual Plane, which PKCS#12 cannot encode")
)

// UnsupportedError names an algorithm or key type that is not supported,
// as a readable name and, when the name is not well known, the OID
// (e.g. "DSA key", "PBES2 with DES-CBC", "MAC SHA-512/224").
// errors.Is(err, ErrUnsupported) is true.
type UnsupportedError struct {
	Algorithm string
}

func (e *UnsupportedError) Error() string { return "unsupported algorithm: " + e.Algorithm }

// Is reports whether target is ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// IterationError reports an iteration count above MaxIterations. Where is
// "MAC", "certificate encryption" or "key encryption"; Count is the count
// found in the file, saturated at math.MaxInt64.
// errors.Is(err, ErrTooManyIterations) is true.
type IterationError struct {
	Where string
	Count int64
}

func (e *IterationError) Error() string {
	if e.Count == math.MaxInt64 {
		return fmt.Sprintf("%s iteration count is too large (limit %d)", e.Where, MaxIterations)
	}
	return fmt.Sprintf("%s iteration count %d exceeds the limit of %d", e.Where, e.Count, MaxIterations)
}

// Is reports whether target is ErrTooManyIterations.
func (e *IterationError) Is(target error) bool { return target == ErrTooManyIterations }

// wrapErr carries a custom message while unwrapping to a sentinel and,
// optionally, the underlying cause.
type wrapErr struct {
	msg  string
	errs []error
}

func (e *wrapErr) Error() string   { return e.msg }
func (e *wrapErr) Unwrap() []error { return e.errs }

// wrapf returns an error with a formatted message that unwraps to sentinel
// and cause (if non-nil).
func wrapf(sentinel, cause error, format string, args ...any) error {
	errs := []error{sentinel}
	if cause != nil {
		errs = append(errs, cause)
	}
	return &wrapErr{msg: fmt.Sprintf(format, args...), errs: errs}
}

// malformed reports corrupt or truncated PKCS#12 data; it unwraps to ErrNotPFX.
func malformed(cause error, format string, args ...any) error {
	return wrapf(ErrNotPFX, cause, "corrupt or truncated PKCS#12 data: "+format, args...)
}

// cleanMsg strips go-pkcs12's "pkcs12: " prefixes from an error message.
func cleanMsg(err error) string {
	return strings.ReplaceAll(err.Error(), "pkcs12: ", "")
}
