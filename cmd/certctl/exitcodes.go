package main

import (
	"errors"
	"io/fs"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

// Exit codes. They are part of certctl's interface: scripts test them, so a
// code never changes meaning and is never renumbered.
const (
	exitOK       = 0 // success
	exitError    = 1 // any other failure
	exitUsage    = 2 // unknown command or flag, missing or extra argument
	exitNotFound = 3 // no certificate with that thumbprint in the store
	exitBadInput = 4 // wrong password, or a file or thumbprint certctl cannot use
	exitSignIn   = 5 // Entra ID refused the sign-in, the certificate cannot sign in, or nobody is signed in
	exitNetwork  = 6 // the identity service or Resource Manager could not be reached, failed, or pointed somewhere certctl will not send a credential
)

// usageError is a mistake in the command line. err, if set, is the
// library's error behind it, for hints.
type usageError struct {
	msg string
	err error
}

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return e.err }

// usage makes err a usage error.
func usage(err error) error { return &usageError{msg: err.Error(), err: err} }

// inputError marks a failure caused by what the user gave (a file, a
// password, a thumbprint), for exitBadInput.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &inputError{err}
}

// exitCode maps an error to the exit code the README documents.
func exitCode(err error) int {
	var ue *usageError
	var ie *inputError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, certstore.ErrInvalidName):
		return exitUsage
	case errors.Is(err, certstore.ErrNotFound):
		return exitNotFound
	case errors.Is(err, login.ErrSignIn), errors.Is(err, login.ErrCertificateUnusable), errors.Is(err, login.ErrNoContext),
		errors.Is(err, login.ErrAccessTokenExpired), errors.Is(err, login.ErrAccessTokenUnusable),
		errors.Is(err, login.ErrNoSubscriptions):
		return exitSignIn
	case errors.As(err, new(*login.NetworkError)), errors.As(err, new(*login.ServiceError)), errors.Is(err, login.ErrRefusedEndpoint),
		errors.As(err, new(*login.ARMError)):
		return exitNetwork
	case errors.As(err, &ie),
		errors.Is(err, thumbprint.ErrInvalid),
		errors.Is(err, certstore.ErrNoPrivateKey),
		errors.Is(err, login.ErrMalformed),
		errors.Is(err, login.ErrUnknownContext),
		errors.Is(err, login.ErrUnknownSubscription),
		errors.Is(err, login.ErrRefreshTokenFile),
		errors.Is(err, platform.ErrNotRegular),
		errors.Is(err, platform.ErrTooLarge),
		isPFXError(err):
		return exitBadInput
	case errors.Is(err, fs.ErrNotExist):
		return exitBadInput
	}
	return exitError
}

func isPFXError(err error) bool {
	for _, target := range []error{
		pfx.ErrIncorrectPassword, pfx.ErrNoPrivateKey, pfx.ErrMultipleKeys,
		pfx.ErrKeyMismatch, pfx.ErrNoCertificate, pfx.ErrNotPFX, pfx.ErrBER,
		pfx.ErrTooLarge, pfx.ErrTooManyIterations, pfx.ErrUnsupported,
		pfx.ErrPasswordEncoding,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
