package appcred

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/english"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/thumbprint"
)

// A rotation replaces an application's certificate CURRENT with a new one
// made in the same store, in steps that each leave a working sign-in:
//
//  1. check: rotate only when CURRENT has at most DaysBefore days left;
//  2. create: make the new certificate, with CURRENT's subject, DNS names,
//     key type and validity length;
//  3. register: add it to the application (addKey, proof signed by CURRENT);
//  4. sign-in: sign in with it, retrying while Entra ID replicates it;
//  5. repoint: make the saved sign-ins that used CURRENT use it;
//  6. unregister: remove CURRENT from the application (removeKey, proof
//     signed by the new certificate);
//  7. remove-old: with RemoveOld, delete CURRENT from the store.
//
// Every step looks first at whether it was already done, so running the
// same rotation again after a crash or a failure finishes it: the new
// certificate an earlier run made is found in the store by its subject
// (newer than CURRENT, with a key) and on the application by its
// thumbprint, and no third certificate is made.

// The names of the steps, as Step.Name has them.
const (
	StepCheck      = "check"
	StepCreate     = "create"
	StepRegister   = "register"
	StepSignIn     = "sign-in"
	StepRepoint    = "repoint"
	StepUnregister = "unregister"
	StepRemoveOld  = "remove-old"
)

// The outcomes of a step, as Step.Status has them.
const (
	StatusDone    = "done"         // the step made its change
	StatusAlready = "already done" // an earlier run made it
	StatusSkipped = "skipped"      // nothing to do, or not asked for
	StatusPlanned = "planned"      // a dry run: it would be done
)

// Step is one step of a rotation as it ends.
type Step struct {
	Number int
	Name   string
	Status string
	// Detail says what the step did or would do, for people; it holds
	// certificate subjects, which the caller escapes.
	Detail string
}

// Rotation is what to rotate, and how.
type Rotation struct {
	Store   certstore.Store
	Graph   *Client
	AppID   string
	Current thumbprint.Thumbprint
	// DaysBefore: rotate only when CURRENT has at most this many days
	// left; Force rotates anyway.
	DaysBefore int
	Force      bool
	RemoveOld  bool
	// Exportable makes the new key exportable (Windows).
	Exportable bool
	DryRun     bool

	// SignIn signs in once as the application with id; Run retries it
	// while Entra ID does not know the certificate yet (AADSTS700027) or
	// does not answer, for up to SignInWait (2 minutes when zero), waiting
	// Backoff (1 s when zero) after the first failure and twice as long
	// after each next, up to 15 s.
	SignIn     func(ctx context.Context, id certstore.Identity) error
	SignInWait time.Duration
	Backoff    time.Duration
	// Repoint makes the saved sign-ins that use old use new, and returns
	// the names of those it changed; Using lists them without changing
	// anything, for a dry run.
	Repoint func(old, new thumbprint.Thumbprint) ([]string, error)
	Using   func(tp thumbprint.Thumbprint) ([]string, error)
	// Report is told of each step as it ends.
	Report func(Step)
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// Result is what a rotation did.
type Result struct {
	// Rotated is false when CURRENT had more than DaysBefore days left
	// and nothing was done.
	Rotated  bool
	Old, New thumbprint.Thumbprint
	DaysLeft int
	Steps    []Step
}

// ErrNotRegistered is matched when a certificate that must sign a proof is
// not a credential of the application.
var ErrNotRegistered = errors.New("certificate is not a credential of the application")

// NotRegisteredError names the certificate and application of
// ErrNotRegistered.
type NotRegisteredError struct {
	Thumbprint thumbprint.Thumbprint
	AppID      string
}

func (e *NotRegisteredError) Error() string {
	return fmt.Sprintf("certificate %s is not a credential of application %s, so it cannot sign the proof Microsoft Graph wants", e.Thumbprint, e.AppID)
}

// Is makes errors.Is(err, ErrNotRegistered) true.
func (e *NotRegisteredError) Is(target error) bool { return target == ErrNotRegistered }

// ErrSignInTimedOut is matched when the new certificate could not sign in
// within SignInWait.
var ErrSignInTimedOut = errors.New("the new certificate could not sign in in time")

// Run rotates. It stops at the first step that fails, with what the steps
// before it did in Result.Steps; running it again goes on from there.
func (r *Rotation) Run(ctx context.Context) (*Result, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	res := &Result{Old: r.Current}
	report := func(n int, name, status, format string, args ...any) {
		st := Step{Number: n, Name: name, Status: status, Detail: fmt.Sprintf(format, args...)}
		res.Steps = append(res.Steps, st)
		if r.Report != nil {
			r.Report(st)
		}
	}

	// 1. check
	cur, err := r.Store.Find(r.Current)
	if err != nil {
		return res, err
	}
	curCert := cur.Certificate()
	entry := certstore.NewEntry(curCert, cur.HasPrivateKey())
	res.DaysLeft = entry.DaysLeft(now())
	candidate, err := r.findNew(curCert)
	if err != nil {
		return res, err
	}
	switch {
	case candidate != nil:
		report(1, StepCheck, StatusAlready, "%s has %d days left; an earlier run started this rotation and made %s", r.Current, res.DaysLeft, candidate.Thumbprint())
	case res.DaysLeft > r.DaysBefore && !r.Force:
		report(1, StepCheck, StatusSkipped, "%s has %d days left, more than %d: nothing to do", r.Current, res.DaysLeft, r.DaysBefore)
		return res, nil
	case r.Force && res.DaysLeft > r.DaysBefore:
		report(1, StepCheck, StatusDone, "%s has %d days left; rotating anyway", r.Current, res.DaysLeft)
	default:
		report(1, StepCheck, StatusDone, "%s has %d days left, at most %d: rotating", r.Current, res.DaysLeft, r.DaysBefore)
	}
	res.Rotated = true

	// 2. create
	req, err := r.newCertificate(curCert, now())
	if err != nil {
		return res, err
	}
	var newID certstore.Identity
	switch {
	case candidate != nil:
		newID = candidate
		res.New = candidate.Thumbprint()
		report(2, StepCreate, StatusAlready, "%s %s is in store %s", res.New, candidate.Certificate().Subject, r.Store.Name())
	case r.DryRun:
		report(2, StepCreate, StatusPlanned, "make %s certificate %s in store %s, valid until %s", withArticle(certstore.KeyAlgorithm(curCert.PublicKey)), curCert.Subject, r.Store.Name(), req.NotAfter.Format("2006-01-02"))
	default:
		e, err := r.Store.Create(req)
		if err != nil {
			return res, err
		}
		if newID, err = r.Store.Find(e.Thumbprint); err != nil {
			return res, err
		}
		res.New = e.Thumbprint
		report(2, StepCreate, StatusDone, "made %s %s in store %s, valid until %s", e.Thumbprint, e.Subject, r.Store.Name(), e.NotAfter.Format("2006-01-02"))
	}

	// 3. register
	app, err := r.Graph.Application(ctx, r.AppID)
	if err != nil {
		return res, err
	}
	_, curRegistered := app.Find(r.Current)
	switch {
	case newID != nil && registered(app, res.New):
		report(3, StepRegister, StatusAlready, "%s is a credential of application %s", res.New, r.AppID)
	case !curRegistered:
		return res, &NotRegisteredError{Thumbprint: r.Current, AppID: r.AppID}
	case r.DryRun:
		report(3, StepRegister, StatusPlanned, "add the new certificate to application %s, with a proof signed by %s", r.AppID, r.Current)
	default:
		if _, err := r.Graph.AddKey(ctx, app, newID.Certificate(), "", StoreProver{cur}); err != nil {
			return res, err
		}
		report(3, StepRegister, StatusDone, "added %s to application %s", res.New, r.AppID)
	}

	// 4. sign-in
	if r.DryRun {
		report(4, StepSignIn, StatusPlanned, "sign in with the new certificate, retrying for up to %s while Entra ID replicates it", r.signInWait())
	} else {
		tries, err := r.signIn(ctx, newID)
		if err != nil {
			return res, err
		}
		report(4, StepSignIn, StatusDone, "signed in with %s (%s)", res.New, plural(tries, "try", "tries"))
	}

	// 5. repoint
	if r.DryRun {
		names, err := r.using(r.Current)
		if err != nil {
			return res, err
		}
		report(5, StepRepoint, StatusPlanned, "point %s at the new certificate", contextList(names))
	} else {
		var names []string
		if r.Repoint != nil {
			if names, err = r.Repoint(r.Current, res.New); err != nil {
				return res, err
			}
		}
		if len(names) == 0 {
			report(5, StepRepoint, StatusSkipped, "no saved sign-in uses %s", r.Current)
		} else {
			report(5, StepRepoint, StatusDone, "pointed %s at %s", contextList(names), res.New)
		}
	}

	// 6. unregister
	if !r.DryRun {
		// Read again: a long sign-in wait, or another run, may have
		// changed the credentials.
		if app, err = r.Graph.Application(ctx, r.AppID); err != nil {
			return res, err
		}
	}
	old, curRegistered := app.Find(r.Current)
	switch {
	case !curRegistered:
		report(6, StepUnregister, StatusAlready, "%s is no longer a credential of application %s", r.Current, r.AppID)
	case r.DryRun:
		report(6, StepUnregister, StatusPlanned, "remove %s (key id %s) from application %s, with a proof signed by the new certificate", r.Current, old.KeyID, r.AppID)
	default:
		if err := r.Graph.RemoveKey(ctx, app, old.KeyID, StoreProver{newID}); err != nil {
			return res, err
		}
		report(6, StepUnregister, StatusDone, "removed %s (key id %s) from application %s", r.Current, old.KeyID, r.AppID)
	}

	// 7. remove-old
	switch {
	case !r.RemoveOld:
		report(7, StepRemoveOld, StatusSkipped, "%s stays in store %s (--remove-old deletes it)", r.Current, r.Store.Name())
	case r.DryRun:
		report(7, StepRemoveOld, StatusPlanned, "delete %s from store %s", r.Current, r.Store.Name())
	default:
		if err := r.Store.Remove(r.Current); err != nil && !errors.Is(err, certstore.ErrNotFound) {
			return res, err
		}
		report(7, StepRemoveOld, StatusDone, "deleted %s from store %s", r.Current, r.Store.Name())
	}
	return res, nil
}

// findNew finds the new certificate an earlier run made: in the store,
// with CURRENT's subject and a key, issued at or after CURRENT and not
// expiring before it. The newest wins.
func (r *Rotation) findNew(cur *x509.Certificate) (certstore.Identity, error) {
	list, err := r.Store.List()
	if err != nil && !errors.Is(err, certstore.ErrUnreadable) {
		return nil, err
	}
	var found []certstore.Entry
	for _, e := range list {
		if e.Thumbprint == r.Current || !e.HasPrivateKey || e.Subject != cur.Subject.String() {
			continue
		}
		if e.NotBefore.Before(cur.NotBefore) || e.NotAfter.Before(cur.NotAfter) {
			continue
		}
		found = append(found, e)
	}
	if len(found) == 0 {
		return nil, nil
	}
	sort.Slice(found, func(i, j int) bool { return found[i].NotBefore.After(found[j].NotBefore) })
	for _, e := range found {
		id, err := r.Store.Find(e.Thumbprint)
		if err == nil && string(id.Certificate().RawSubject) == string(cur.RawSubject) {
			return id, nil
		}
	}
	return nil, nil
}

// newCertificate describes the new certificate: CURRENT's subject (byte for
// byte), DNS names, key type, extended key usages and validity length.
func (r *Rotation) newCertificate(cur *x509.Certificate, now time.Time) (certstore.NewCertificate, error) {
	kt, ok := certstore.KeyTypeOf(cur.PublicKey)
	if !ok {
		return certstore.NewCertificate{}, fmt.Errorf("%s has %s key, which certctl cannot make; register a certificate with a key of another type instead", r.Current, english.A(certstore.KeyAlgorithm(cur.PublicKey)))
	}
	validity := cur.NotAfter.Sub(cur.NotBefore)
	if validity > certstore.MaxValidity {
		validity = certstore.MaxValidity
	}
	eku := cur.ExtKeyUsage
	if len(eku) == 0 {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	start := now.UTC().Truncate(time.Second)
	return certstore.NewCertificate{
		RawSubject:  cur.RawSubject,
		Subject:     cur.Subject,
		DNSNames:    cur.DNSNames,
		NotBefore:   start,
		NotAfter:    start.Add(validity),
		ExtKeyUsage: eku,
		KeyType:     kt,
		Exportable:  r.Exportable,
	}, nil
}

func registered(app *Application, tp thumbprint.Thumbprint) bool {
	_, ok := app.Find(tp)
	return ok
}

func (r *Rotation) signInWait() time.Duration {
	if r.SignInWait > 0 {
		return r.SignInWait
	}
	return 2 * time.Minute
}

// signIn signs in with the new certificate, retrying with backoff while
// Entra ID does not know it yet, and returns how many tries it took.
func (r *Rotation) signIn(ctx context.Context, id certstore.Identity) (int, error) {
	if r.SignIn == nil {
		return 0, errors.New("rotation: no way to sign in")
	}
	wait := r.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	deadline := time.Now().Add(r.signInWait())
	for tries := 1; ; tries++ {
		err := r.SignIn(ctx, id)
		if err == nil {
			return tries, nil
		}
		if !replicating(err) || ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return tries, fmt.Errorf("%w: %s did not sign in after %s: %w", ErrSignInTimedOut, id.Thumbprint(), plural(tries, "try", "tries"), err)
		}
		select {
		case <-ctx.Done():
			return tries, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 15*time.Second)
	}
}

// replicating reports whether a sign-in with a new certificate failed in a
// way that passes once Entra ID has replicated it: the certificate is not
// known yet (AADSTS700027), or the service did not answer. Anything else
// (a wrong tenant, a refused endpoint) will not pass by waiting.
func replicating(err error) bool {
	var se *login.SignInError
	if errors.As(err, &se) {
		return se.Code == 700027
	}
	return errors.As(err, new(*login.NetworkError)) || errors.As(err, new(*login.ServiceError))
}

func (r *Rotation) using(tp thumbprint.Thumbprint) ([]string, error) {
	if r.Using == nil {
		return nil, nil
	}
	return r.Using(tp)
}

func contextList(names []string) string {
	switch len(names) {
	case 0:
		return "no saved sign-in (none uses it)"
	case 1:
		return "saved sign-in " + names[0]
	}
	s := fmt.Sprintf("%d saved sign-ins: ", len(names))
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// withArticle puts "a" or "an" before a key algorithm's name, said as
// letters: "an RSA 2048", "an ECDSA P-256", "an Ed25519".
func withArticle(s string) string {
	if s != "" && strings.ContainsRune("AEFHILMNORSX", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
