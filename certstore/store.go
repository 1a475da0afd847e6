// Package certstore is a per-user certificate store: certificates with their
// private keys, found by thumbprint, that sign without handing out the key.
//
// Open a store by name ("My" holds the user's own certificates with keys; the
// other names are in StoreNames), then List, Find, Import, Remove or Export:
//
//	s, err := certstore.Open("My", certstore.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	id, err := s.Find(tp)            // ErrNotFound if absent
//	signer, err := id.Signer()      // ErrNoPrivateKey if it has none
//
// There is one backend per platform behind the same interfaces. On Linux and
// macOS it is a folder per store with one PKCS#12 file per certificate, laid
// out as .NET lays out its own CurrentUser stores on Linux, so .NET and
// PowerShell 7 share it. On Windows it is the system CurrentUser store.
//
// Every method that changes a store either completes or leaves the store as
// it was. Changes that stand or fall together go through a transaction
// (Begin, Tx.Import, then Tx.Commit or Tx.Rollback), which takes back the
// ones already made when a later one fails; ImportAll imports several
// bundles that way, in parallel:
//
//	done, err := certstore.ImportAll(s, bundles, certstore.ImportOptions{}, 0, nil)
//	// on error the store holds what it held before: what was added is
//	// removed, and a certificate that an import with its key replaced is
//	// back without it (or err holds a *RollbackError saying what is not)
package certstore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// Store is one named certificate store.
//
// Find, Remove and Export return an error matching ErrNotFound when no
// certificate has the thumbprint. A change that fails leaves the store as it
// was; to undo changes that succeeded, make them through a Tx (Begin).
type Store interface {
	// Name is the store's canonical name, such as "My".
	Name() string
	// Location says where the store lives, for messages: a folder, or
	// "CurrentUser\My" on Windows.
	Location() string
	// List returns every certificate in the store, sorted by subject then
	// thumbprint. Entries that cannot be read are left out and reported in
	// an error matching ErrUnreadable, returned together with the readable
	// entries.
	List() ([]Entry, error)
	// Find returns the certificate with thumbprint tp.
	Find(tp thumbprint.Thumbprint) (Identity, error)
	// Import adds b to the store. Importing a certificate that is already
	// there is not an error: Imported.Added is false then. A certificate
	// with a key replaces the same certificate stored without one.
	Import(b *pfx.Bundle, opts ImportOptions) (Imported, error)
	// Create generates a key in the store and a self-signed certificate
	// for it, and adds both. The key never exists outside the store. It
	// fails with an *InvalidCertificateError for a NewCertificate it will
	// not make.
	Create(n NewCertificate) (Entry, error)
	// Remove deletes the certificate with thumbprint tp and its key.
	Remove(tp thumbprint.Thumbprint) error
	// Export returns the certificate, its chain and, when withKey is set,
	// its private key. It fails with ErrNotExportable when the key may not
	// leave the store, and with ErrNoPrivateKey when withKey is set and
	// there is none.
	Export(tp thumbprint.Thumbprint, withKey bool) (*pfx.Bundle, error)
	// Close releases the store.
	Close() error
}

// Identity is a certificate in a store and, when it has one, its private key.
type Identity interface {
	Thumbprint() thumbprint.Thumbprint
	Certificate() *x509.Certificate
	// Chain is the rest of the certificate chain as it was imported,
	// issuer first; it may be empty.
	Chain() []*x509.Certificate
	HasPrivateKey() bool
	// Signer signs with the certificate's private key without exporting
	// it. It fails with ErrNoPrivateKey when there is no key, and with an
	// error matching platform.ErrUnsafePermissions when others could read
	// or replace the key.
	Signer() (crypto.Signer, error)
}

// ImportOptions changes how Import stores a key.
type ImportOptions struct {
	// Exportable lets the key leave the store again through Export. The
	// Windows store honours it, as Import-PfxCertificate -Exportable does;
	// the file store keeps keys in files, which are always exportable.
	Exportable bool
}

// Imported reports what Import did.
type Imported struct {
	Entry Entry
	// Added is false when the certificate was already in the store.
	Added bool
}

// Entry describes a certificate in a store without its key.
type Entry struct {
	Thumbprint    thumbprint.Thumbprint
	Subject       string
	Issuer        string
	SerialNumber  string
	NotBefore     time.Time
	NotAfter      time.Time
	HasPrivateKey bool
	KeyAlgorithm  string
	// DNSNames are the certificate's DNS subject alternative names.
	DNSNames []string
	// ExtKeyUsages are the certificate's extended key usages as dotted
	// OIDs, such as "1.3.6.1.5.5.7.3.1" for server authentication, in the
	// certificate's order for the well-known ones, then the others.
	ExtKeyUsages []string
	// File is where the file store keeps the certificate; empty on Windows.
	File string
}

// DaysLeft is the number of whole days from now until NotAfter; negative once
// the certificate has expired.
func (e Entry) DaysLeft(now time.Time) int {
	d := e.NotAfter.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// NewEntry describes cert.
func NewEntry(cert *x509.Certificate, hasKey bool) Entry {
	return Entry{
		Thumbprint:    thumbprint.Of(cert),
		Subject:       cert.Subject.String(),
		Issuer:        cert.Issuer.String(),
		SerialNumber:  strings.ToUpper(cert.SerialNumber.Text(16)),
		NotBefore:     cert.NotBefore.UTC(),
		NotAfter:      cert.NotAfter.UTC(),
		HasPrivateKey: hasKey,
		KeyAlgorithm:  KeyAlgorithm(cert.PublicKey),
		DNSNames:      cloneOrNil(cert.DNSNames),
		ExtKeyUsages:  extKeyUsageOIDs(cert),
	}
}

func cloneOrNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// ekuOIDs are the OIDs of the extended key usages crypto/x509 knows by name;
// it keeps its own table to itself.
var ekuOIDs = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                            "2.5.29.37.0",
	x509.ExtKeyUsageServerAuth:                     "1.3.6.1.5.5.7.3.1",
	x509.ExtKeyUsageClientAuth:                     "1.3.6.1.5.5.7.3.2",
	x509.ExtKeyUsageCodeSigning:                    "1.3.6.1.5.5.7.3.3",
	x509.ExtKeyUsageEmailProtection:                "1.3.6.1.5.5.7.3.4",
	x509.ExtKeyUsageIPSECEndSystem:                 "1.3.6.1.5.5.7.3.5",
	x509.ExtKeyUsageIPSECTunnel:                    "1.3.6.1.5.5.7.3.6",
	x509.ExtKeyUsageIPSECUser:                      "1.3.6.1.5.5.7.3.7",
	x509.ExtKeyUsageTimeStamping:                   "1.3.6.1.5.5.7.3.8",
	x509.ExtKeyUsageOCSPSigning:                    "1.3.6.1.5.5.7.3.9",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     "1.3.6.1.4.1.311.10.3.3",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      "2.16.840.1.113730.4.1",
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: "1.3.6.1.4.1.311.2.1.22",
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     "1.3.6.1.4.1.311.61.1.1",
}

// ExtKeyUsageOID returns the dotted OID of an extended key usage that
// crypto/x509 knows by name, as Entry.ExtKeyUsages holds it; "" for one it
// does not.
func ExtKeyUsageOID(u x509.ExtKeyUsage) string { return ekuOIDs[u] }

// extKeyUsageOIDs lists cert's extended key usages as dotted OIDs: the
// ones crypto/x509 knows by name, then the others; nil when it has none.
func extKeyUsageOIDs(cert *x509.Certificate) []string {
	n := len(cert.ExtKeyUsage) + len(cert.UnknownExtKeyUsage)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for _, u := range cert.ExtKeyUsage {
		if oid, ok := ekuOIDs[u]; ok {
			out = append(out, oid)
		}
	}
	for _, oid := range cert.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return out
}

// KeyAlgorithm names a public key's type and size, such as "RSA 2048" or
// "ECDSA P-256".
func KeyAlgorithm(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	default:
		return fmt.Sprintf("%T", pub)
	}
}

var (
	// ErrNotFound means no certificate in the store has the thumbprint.
	ErrNotFound = errors.New("certificate not found")
	// ErrNoPrivateKey means the certificate has no private key in the store.
	ErrNoPrivateKey = errors.New("certificate has no private key in the store")
	// ErrNotExportable means the key was imported as non-exportable.
	ErrNotExportable = errors.New("private key is not exportable")
	// ErrNoStoreDir means a store folder was given on Windows, where the
	// stores are the CurrentUser system stores and have none.
	ErrNoStoreDir = errors.New("stores have no folder on Windows")
	// ErrUnreadable is matched by List's error when some files could not
	// be read.
	ErrUnreadable = errors.New("unreadable store entries")
	// ErrInvalidName means a store name is not one certctl can open.
	ErrInvalidName = errors.New("invalid store name")
	// ErrStoreNotFound is matched by the *StoreNotFoundError of Open for
	// a custom store that does not exist, unless Options.Create is set.
	ErrStoreNotFound = errors.New("store does not exist")
	// ErrUnsupported means the platform has no store backend.
	ErrUnsupported = errors.New("certificate store not supported on this platform")
	// ErrPSSUnsupported is matched by the error of a Signer whose key
	// cannot make RSA-PSS signatures, while PKCS #1 v1.5 signatures work:
	// on Windows, an RSA key in a CryptoAPI container when CNG cannot open
	// it, as under Wine. A caller that can use either falls back to
	// PKCS #1 v1.5 (RS256).
	ErrPSSUnsupported = errors.New("RSA-PSS signatures are not supported for this key")
)

// sortEntries puts entries in List's order: by subject, then thumbprint;
// copies of one certificate (the same thumbprint in several files) come
// with a key first, then by file. With dedupe only the first copy stays.
func sortEntries(list []Entry, dedupe bool) []Entry {
	// Sort positions, then move each entry once, rather than swapping
	// whole entries on every comparison.
	perm := make([]int32, len(list))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int {
		x, y := &list[a], &list[b]
		if c := strings.Compare(x.Subject, y.Subject); c != 0 {
			return c
		}
		// The bytes sort as their upper-case hexadecimal does.
		if c := bytes.Compare(x.Thumbprint[:], y.Thumbprint[:]); c != 0 {
			return c
		}
		if x.HasPrivateKey != y.HasPrivateKey {
			if x.HasPrivateKey {
				return -1
			}
			return 1
		}
		return strings.Compare(x.File, y.File)
	})
	// list[i] = list[perm[i]], one cycle of the permutation at a time.
	for i := range perm {
		if perm[i] < 0 {
			continue
		}
		held := list[i]
		j := i
		for {
			k := int(perm[j])
			perm[j] = -1
			if k == i {
				list[j] = held
				break
			}
			list[j] = list[k]
			j = k
		}
	}
	if !dedupe {
		return list
	}
	out := list[:0]
	for i := range list {
		if len(out) > 0 && out[len(out)-1].Thumbprint == list[i].Thumbprint {
			continue
		}
		out = append(out, list[i])
	}
	return out
}

// NotFoundError names the thumbprint and store of ErrNotFound.
type NotFoundError struct {
	Thumbprint thumbprint.Thumbprint
	Store      string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("certificate %s not found in store %s", e.Thumbprint, e.Store)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// StoreNotFoundError says that the custom store Name does not exist where
// Open looked (Location: a folder, or CurrentUser\Name on Windows).
type StoreNotFoundError struct {
	Name     string
	Location string
}

func (e *StoreNotFoundError) Error() string {
	return fmt.Sprintf("store %q does not exist", e.Name)
}

// Is makes errors.Is(err, ErrStoreNotFound) true.
func (e *StoreNotFoundError) Is(target error) bool { return target == ErrStoreNotFound }

// UnreadableError lists the store files that List had to leave out.
type UnreadableError struct {
	Problems []error
}

func (e *UnreadableError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return fmt.Sprintf("%d store entries could not be read: %s", len(e.Problems), strings.Join(msgs, "; "))
}

// Is makes errors.Is(err, ErrUnreadable) true.
func (e *UnreadableError) Is(target error) bool { return target == ErrUnreadable }

// Unwrap returns the problems.
func (e *UnreadableError) Unwrap() []error { return e.Problems }

// Options configure Open.
type Options struct {
	// Dir is the folder that holds one folder per store. Empty means the
	// platform's default: .NET's store folder on Linux, certctl's own on
	// macOS. Windows has the system store instead, and Dir must be empty.
	Dir string
	// Create lets Open open a custom store that does not exist yet; the
	// first Import or Create makes it. Without it, Open fails with a
	// *StoreNotFoundError for such a store. The well-known stores
	// (StoreNames) never need it: one that does not exist yet lists as
	// empty, and the first Import makes it.
	Create bool
}

// StoreNames are the well-known store names, as Windows and .NET spell them.
var StoreNames = []string{"My", "Root", "CA", "TrustedPeople", "TrustedPublisher", "AuthRoot", "Disallowed", "AddressBook"}

// CanonicalName returns the well-known spelling of a store name given in any
// case ("my" gives "My"), or name itself for a custom store. Custom names may
// use letters, digits, '-' and '_', up to 64 characters; anything else
// matches ErrInvalidName.
func CanonicalName(name string) (string, error) {
	if name == "" {
		return "My", nil
	}
	for _, n := range StoreNames {
		if strings.EqualFold(n, name) {
			return n, nil
		}
	}
	if len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
		return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return "", fmt.Errorf("%w %q: use one of %s, or a name of letters, digits, '-' and '_'", ErrInvalidName, name, strings.Join(StoreNames, ", "))
	}
	return name, nil
}

// Open opens the store called name ("My" when empty). It does not create
// anything: a well-known store (StoreNames) that does not exist yet lists
// as empty, and the first Import creates it. A custom store that does not
// exist gives a *StoreNotFoundError (matching ErrStoreNotFound), unless
// opts.Create is set: then it too is made by the first Import.
func Open(name string, opts Options) (Store, error) {
	canon, err := CanonicalName(name)
	if err != nil {
		return nil, err
	}
	s, err := openBackend(canon, opts)
	if err != nil || opts.Create || IsWellKnown(canon) {
		return s, err
	}
	ok, err := backendExists(s)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", canon, err)
	}
	if !ok {
		s.Close()
		return nil, &StoreNotFoundError{Name: canon, Location: s.Location()}
	}
	return s, nil
}

// IsWellKnown reports whether name is one of StoreNames, in any case.
func IsWellKnown(name string) bool {
	for _, n := range StoreNames {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// Stores returns the names of the stores that exist under opts, sorted,
// well-known names spelt as in StoreNames. A well-known store that has not
// been created yet is not among them.
func Stores(opts Options) ([]string, error) { return backendStores(opts) }

// checkBundle refuses what no backend should store: no certificate, or a key
// that is not the certificate's.
func checkBundle(b *pfx.Bundle) error {
	if b == nil || b.Leaf == nil {
		return pfx.ErrNoCertificate
	}
	if b.Key == nil {
		return nil
	}
	pub, ok := b.Key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(b.Leaf.PublicKey) {
		return pfx.ErrKeyMismatch
	}
	return nil
}
