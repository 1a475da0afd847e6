package pfx

import (
	"errors"
	"fmt"
	"math"
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
	// ErrBER means the file uses BER encoding (indefinite lengths or
	// strings in chunks, as NSS writes them), which is read, but breaks
	// its rules: an element without its end-of-contents, nesting deeper
	// than any real file, and the like. It also matches ErrNotPFX.
	ErrBER = errors.New("malformed BER encoding")
	// ErrTooLarge means the input is larger than MaxFileSize.
	ErrTooLarge = fmt.Errorf("file is larger than the %d MiB limit", MaxFileSize>>20)
	// ErrTooManyIterations means a MAC or KDF iteration count exceeds
	// MaxIterations. The concrete error is an *IterationError.
	ErrTooManyIterations = fmt.Errorf("iteration count exceeds the limit of %d", MaxIterations)
	// ErrUnsupported means the file uses an algorithm or key type this
	// package cannot handle. The concrete error is an *UnsupportedError.
	ErrUnsupported = errors.New("unsupported algorithm")
	// ErrPasswordEncoding means the password is not valid UTF-8, so it
	// has no UTF-16 form for PKCS#12 (which encodes characters outside
	// the Basic Multilingual Plane as surrogate pairs, as OpenSSL and
	// .NET do).
	ErrPasswordEncoding = errors.New("password is not valid UTF-8")
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

// IterationError reports an iteration count above MaxIterations, or a
// file whose key derivations add up to more than MaxTotalIterations. Where
// is "MAC", "certificate encryption", "key encryption" or "all key
// derivations of the file"; Count is the count
// found in the file, saturated at math.MaxInt64.
// errors.Is(err, ErrTooManyIterations) is true.
type IterationError struct {
	Where string
	Count int64
	// Limit is the limit passed: MaxIterations when zero, or
	// MaxTotalIterations for the sum over the file.
	Limit int64
}

func (e *IterationError) Error() string {
	limit := e.Limit
	if limit == 0 {
		limit = MaxIterations
	}
	if e.Count == math.MaxInt64 {
		return fmt.Sprintf("%s iteration count is too large (limit %d)", e.Where, limit)
	}
	return fmt.Sprintf("%s iteration count %d exceeds the limit of %d", e.Where, e.Count, limit)
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
