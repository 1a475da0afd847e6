package main

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/certctl/certctl/appcred"
	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/keyvault"
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
	exitUsage    = 2 // unknown command or flag, missing or extra argument, a store that does not exist
	exitNotFound = 3 // no certificate with that thumbprint in the store
	exitBadInput = 4 // wrong password, or a file or thumbprint certctl cannot use
	exitSignIn   = 5 // Entra ID refused the sign-in, the certificate cannot sign in, or nobody is signed in
	exitNetwork  = 6 // the identity service, Resource Manager or Graph could not be reached, failed, or pointed somewhere certctl will not send a credential
	exitRefused  = 7 // the service refused: Microsoft Graph the change (the sign-in may not make it, or the proof of possession was not accepted), or Key Vault the read (no role or access policy)
	exitMatched  = 1 // list --fail-if-any: some certificate matched (as any other failure, for monitoring jobs)
)

// usageError is a mistake in the command line. err, if set, is the
// library's error behind it, for hints; hint, if set, is the likely fix
// ("did you mean 'list'?").
type usageError struct {
	msg  string
	err  error
	hint string
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
	var ge *appcred.GraphError
	var kve *keyvault.ServiceError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errMatched):
		return exitMatched
	case errors.As(err, &ge):
		switch {
		case ge.ProofRefused():
			return exitRefused
		case ge.Status == http.StatusUnauthorized:
			return exitSignIn
		case ge.Status == http.StatusNotFound:
			return exitNotFound
		case ge.Status == http.StatusTooManyRequests || ge.Status >= 500:
			return exitNetwork
		}
		return exitRefused
	case errors.As(err, &kve):
		switch {
		case kve.Status == http.StatusUnauthorized:
			return exitSignIn
		case kve.Status == http.StatusForbidden:
			return exitRefused
		case kve.Status == http.StatusNotFound, errors.Is(err, keyvault.ErrVaultNotFound):
			return exitNotFound
		}
		return exitNetwork
	case errors.As(err, &ue), errors.Is(err, certstore.ErrInvalidName), errors.Is(err, certstore.ErrStoreNotFound):
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
		errors.As(err, new(*certstore.InvalidCertificateError)),
		errors.Is(err, login.ErrNoGraph),
		errors.Is(err, keyvault.ErrWrongCloud),
		errors.As(err, new(*keyvault.NotExportableError)),
		errors.As(err, new(*keyvault.SecretFormatError)),
		errors.Is(err, appcred.ErrNotRegistered),
		errors.Is(err, appcred.ErrProofKey),
		errors.Is(err, errProofNeeded),
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
