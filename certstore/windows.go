//go:build windows

package certstore

// The Windows store is the user's CurrentUser system store (My, Root, CA or
// a custom name), the one certmgr.msc, Import-PfxCertificate and
// Connect-AzAccount -CertificateThumbprint use, through crypt32 without cgo.
//
// Import decodes the file in Go (package pfx) and stores the key itself
// rather than through PFXImportCertStore, so that every key gets a
// container of its own whose name the certificate records and Remove
// deletes, and so that it works alike under Wine, whose PFXImportCertStore
// puts every key into one container named after the user (a second import
// would overwrite the first key):
//
//   - an RSA key goes into a new CryptoAPI key container named
//     certctl-<random UUID> of the Microsoft Enhanced RSA and AES
//     Cryptographic Provider, as an AT_KEYEXCHANGE key: what Windows' PFX
//     import makes by default, and what .NET Framework's
//     X509Certificate2.PrivateKey can open. CryptSignHash makes only
//     PKCS #1 v1.5 signatures; for RSA-PSS the Signer opens the container
//     through CNG, and where that fails (Wine) returns ErrPSSUnsupported.
//   - an ECDSA key, which CryptoAPI cannot hold, goes into a persisted CNG
//     key of the Microsoft Software Key Storage Provider with such a name.
//
// Create generates the key where it will live, in a container of its own
// with such a name, as New-SelfSignedCertificate does: a persisted CNG key
// of the Microsoft Software Key Storage Provider, RSA or ECDSA, whose RSA
// keys also sign RSA-PSS. Where CNG cannot make and keep the key, as under
// Wine, whose provider makes keys in memory only and cannot open one by
// name, an RSA key is generated in a CryptoAPI container instead, as Import
// stores RSA keys, and an ECDSA key cannot be made. The self-signed
// certificate is signed through the stored key, so the private key never
// exists outside its container.
//
// Keys are non-exportable unless ImportOptions.Exportable (or
// NewCertificate.Exportable) is set, as with Import-PfxCertificate
// -Exportable and New-SelfSignedCertificate -KeyExportPolicy. The
// certificate names its key in CERT_KEY_PROV_INFO_PROP_ID and is then added
// to the store; Remove deletes both, unless another certificate in the
// store, or in My, uses the key.
//
// Chain certificates go to CurrentUser\CA, as Windows' PFX import puts
// intermediates there, even a self-signed root: the CA store makes nothing
// trusted, while Root would (and Windows asks before any change to it), so
// certctl never adds to Root by itself. Identity.Chain is rebuilt by issuer
// name and signature from the store itself, CA and Root, so it also finds
// the chain of certificates that other tools imported. Remove leaves the CA
// certificates, which other certificates may share.
//
// No handle outlives a method: each opens the store, works, commits and
// closes it, so another process sees a change as soon as the method
// returns (Wine writes a store to the registry only at the commit or when
// the store is released). Options.Dir must be empty: there is no store
// folder on Windows.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/windows"

	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// maxChain is how many issuers Chain follows at most.
const maxChain = 10

// changeMu makes this process's changes to the system stores one at a time.
// Wine's registry store writes back every certificate it read when a handle
// is committed, not only the ones changed through it, so a handle opened
// before another goroutine's change would put back what that change replaced
// or removed. Windows writes only what changed; the lock costs it little, as
// the work of an import (parsing, decrypting) happens before the store is
// opened.
var changeMu sync.Mutex

type windowsStore struct {
	name string
	// chainStore is where Import puts chain certificates: "CA". Tests
	// point it at a store of their own.
	chainStore string
}

func openBackend(name string, opts Options) (Store, error) {
	if opts.Dir != "" {
		return nil, fmt.Errorf("open store %s: %w: they are the CurrentUser system stores, but the folder %s was given", name, ErrNoStoreDir, opts.Dir)
	}
	return &windowsStore{name: name, chainStore: "CA"}, nil
}

func (s *windowsStore) Name() string     { return s.name }
func (s *windowsStore) Location() string { return `CurrentUser\` + s.name }
func (s *windowsStore) Close() error     { return nil }

// windowsIdentity is a certificate read from a store, with where its key
// lives. It holds no handle.
type windowsIdentity struct {
	cert     *x509.Certificate
	chain    []*x509.Certificate
	key      *keyRef
	location string
}

func (id *windowsIdentity) Thumbprint() thumbprint.Thumbprint { return thumbprint.Of(id.cert) }
func (id *windowsIdentity) Certificate() *x509.Certificate    { return id.cert }
func (id *windowsIdentity) Chain() []*x509.Certificate        { return id.chain }
func (id *windowsIdentity) HasPrivateKey() bool               { return id.key != nil }

func (id *windowsIdentity) Signer() (crypto.Signer, error) {
	if id.key == nil {
		return nil, fmt.Errorf("certificate %s in %s: %w", id.Thumbprint(), id.location, ErrNoPrivateKey)
	}
	var err error
	if id.key.isCNG() {
		err = cngCheck(id.key)
	} else {
		err = capiCheck(id.key)
	}
	if err != nil {
		return nil, fmt.Errorf("open the private key of %s (%s): %w", id.Thumbprint(), id.key, err)
	}
	return &windowsSigner{id: id}, nil
}

// windowsSigner signs with a stored key, opening it for each signature so
// that no handle is left open.
type windowsSigner struct{ id *windowsIdentity }

func (s *windowsSigner) Public() crypto.PublicKey { return s.id.cert.PublicKey }

func (s *windowsSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.sign(digest, opts)
	if err != nil {
		return nil, fmt.Errorf("sign with the key of %s: %w", s.id.Thumbprint(), err)
	}
	return sig, nil
}

func (s *windowsSigner) sign(digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return (&storedKeySigner{pub: s.id.cert.PublicKey, ref: s.id.key}).sign(digest, opts)
}

// verifies checks a signature as a relying party would.
func verifies(pub crypto.PublicKey, digest, sig []byte, req signRequest) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if req.pss {
			return rsa.VerifyPSS(k, req.hash, digest, sig, &rsa.PSSOptions{SaltLength: req.saltLen}) == nil
		}
		return rsa.VerifyPKCS1v15(k, req.hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest, sig)
	}
	return false
}

func (s *windowsStore) List() ([]Entry, error) {
	h, err := openSystemStore(s.name, readStore)
	if err != nil {
		return nil, fmt.Errorf("list store %s: %w", s.name, err)
	}
	if h == 0 {
		return []Entry{}, nil
	}
	defer closeStore(h)
	list := []Entry{}
	var problems []error
	err = enumCertificates(h, func(ctx *windows.CertContext) bool {
		cert, err := parseContext(ctx)
		if err != nil {
			problems = append(problems, fmt.Errorf("certificate %X in %s: %w", sha1Of(ctx), s.Location(), err))
			return true
		}
		ref, err := keyOf(ctx)
		if err != nil {
			problems = append(problems, fmt.Errorf("certificate %s in %s: %w", thumbprint.Of(cert), s.Location(), err))
		}
		list = append(list, NewEntry(cert, ref != nil))
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list store %s: %w", s.name, err)
	}
	list = sortEntries(list, false)
	if len(problems) > 0 {
		return list, &UnreadableError{Problems: problems}
	}
	return list, nil
}

// sha1Of is the thumbprint of a certificate Go cannot parse.
func sha1Of(ctx *windows.CertContext) []byte {
	tp := thumbprint.Of(&x509.Certificate{Raw: contextDER(ctx)})
	return tp[:]
}

func (s *windowsStore) Find(tp thumbprint.Thumbprint) (Identity, error) {
	id, err := s.find(tp)
	if err != nil {
		return nil, err
	}
	return id, nil
}

func (s *windowsStore) find(tp thumbprint.Thumbprint) (*windowsIdentity, error) {
	h, err := openSystemStore(s.name, readStore)
	if err != nil {
		return nil, fmt.Errorf("find %s in store %s: %w", tp, s.name, err)
	}
	if h == 0 {
		return nil, &NotFoundError{Thumbprint: tp, Store: s.name}
	}
	defer closeStore(h)
	ctx, err := findByThumbprint(h, tp)
	if err != nil {
		return nil, fmt.Errorf("find %s in store %s: %w", tp, s.name, err)
	}
	if ctx == nil {
		return nil, &NotFoundError{Thumbprint: tp, Store: s.name}
	}
	defer windows.CertFreeCertificateContext(ctx)
	cert, err := parseContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("certificate %s in %s: %w", tp, s.Location(), err)
	}
	ref, err := keyOf(ctx)
	if err != nil {
		return nil, fmt.Errorf("certificate %s in %s: %w", tp, s.Location(), err)
	}
	return &windowsIdentity{cert: cert, chain: s.chainOf(h, cert), key: ref, location: s.Location()}, nil
}

// chainOf follows cert's issuers through the store itself (h), the chain
// store and Root, checking each signature, up to a self-signed certificate.
// It is best effort: a store that cannot be read is skipped.
func (s *windowsStore) chainOf(h windows.Handle, cert *x509.Certificate) []*x509.Certificate {
	stores := []windows.Handle{h}
	opened := false
	defer func() {
		for _, o := range stores[1:] {
			closeStore(o)
		}
	}()
	seen := map[thumbprint.Thumbprint]bool{thumbprint.Of(cert): true}
	var chain []*x509.Certificate
	for cur := cert; len(chain) < maxChain && !selfSigned(cur); {
		if !opened {
			opened = true
			for _, name := range []string{s.chainStore, "Root"} {
				if strings.EqualFold(name, s.name) {
					continue
				}
				if o, err := openSystemStore(name, readStore); err == nil && o != 0 {
					stores = append(stores, o)
				}
			}
		}
		var parent *x509.Certificate
		for _, st := range stores {
			findBySubject(st, cur.RawIssuer, func(ctx *windows.CertContext) bool {
				c, err := parseContext(ctx)
				if err != nil || seen[thumbprint.Of(c)] {
					return false
				}
				if c.CheckSignature(cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) != nil {
					return false
				}
				parent = c
				return true
			})
			if parent != nil {
				break
			}
		}
		if parent == nil {
			break
		}
		seen[thumbprint.Of(parent)] = true
		chain = append(chain, parent)
		cur = parent
	}
	return chain
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func (s *windowsStore) Import(b *pfx.Bundle, opts ImportOptions) (Imported, error) {
	if err := checkBundle(b); err != nil {
		return Imported{}, fmt.Errorf("import into store %s: %w", s.name, err)
	}
	changeMu.Lock()
	res, err := s.importBundle(b, opts)
	changeMu.Unlock()
	if err != nil {
		return Imported{}, fmt.Errorf("import %s into store %s: %w", thumbprint.Of(b.Leaf), s.name, err)
	}
	return res, nil
}

func (s *windowsStore) importBundle(b *pfx.Bundle, opts ImportOptions) (Imported, error) {
	tp := thumbprint.Of(b.Leaf)
	h, err := openSystemStore(s.name, createStore)
	if err != nil {
		return Imported{}, err
	}
	closed := false
	defer func() {
		if !closed {
			closeStore(h)
		}
	}()

	existing, err := findByThumbprint(h, tp)
	if err != nil {
		return Imported{}, err
	}
	if existing != nil {
		defer windows.CertFreeCertificateContext(existing)
		ref, err := keyOf(existing)
		if err != nil {
			return Imported{}, err
		}
		if ref != nil || b.Key == nil {
			// Already there; only fill in chain certificates that
			// may be missing.
			if _, err := s.addChain(b.Chain); err != nil {
				return Imported{}, err
			}
			return Imported{Entry: NewEntry(b.Leaf, ref != nil)}, nil
		}
		// The same certificate, now with its key: it replaces the one
		// without.
	}

	// From here on, undo what was done if a later step fails, so a failed
	// import leaves the stores as they were.
	var ref *keyRef
	if b.Key != nil {
		if ref, err = importKey(b.Key, opts.Exportable); err != nil {
			return Imported{}, err
		}
	}
	added, err := s.addChain(b.Chain)
	if err != nil {
		deleteKey(ref)
		return Imported{}, err
	}
	undo := func() {
		s.removeChain(added)
		deleteKey(ref)
	}
	ctx, err := newContext(b.Leaf.Raw)
	if err != nil {
		undo()
		return Imported{}, err
	}
	defer windows.CertFreeCertificateContext(ctx)
	if ref != nil {
		if err := setKeyOf(ctx, ref); err != nil {
			undo()
			return Imported{}, err
		}
	}
	if existing != nil {
		// Delete and add rather than CERT_STORE_ADD_REPLACE_EXISTING,
		// whose change Wine never writes to the registry. The deleted
		// context stays valid, to be put back if the add fails.
		if err := windows.CertDeleteCertificateFromStore(windows.CertDuplicateCertificateContext(existing)); err != nil {
			undo()
			return Imported{}, callErr("CertDeleteCertificateFromStore", err)
		}
	}
	err = addContext(h, ctx, windows.CERT_STORE_ADD_NEW)
	if err != nil && existing != nil {
		addContext(h, existing, windows.CERT_STORE_ADD_NEW)
	}
	closed = true
	if cerr := commitAndClose(h); err == nil {
		err = cerr
	}
	if err != nil {
		undo()
		return Imported{}, err
	}
	return Imported{Entry: NewEntry(b.Leaf, ref != nil), Added: true}, nil
}

// importKey stores a private key in a new, uniquely named container.
func importKey(key crypto.Signer, exportable bool) (*keyRef, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return capiImportRSA(k, exportable)
	case *ecdsa.PrivateKey:
		return cngImportECDSA(k, exportable)
	default:
		return nil, &pfx.UnsupportedError{Algorithm: fmt.Sprintf("%s key (the Windows store takes RSA and ECDSA keys)", KeyAlgorithm(key.Public()))}
	}
}

// deleteKey deletes a key container; nil is no key.
func deleteKey(ref *keyRef) error {
	switch {
	case ref == nil:
		return nil
	case ref.isCNG():
		return cngDelete(ref)
	default:
		return capiDelete(ref)
	}
}

// addChain adds chain certificates to the chain store and returns the
// thumbprints of those that were not there yet.
func (s *windowsStore) addChain(chain []*x509.Certificate) ([]thumbprint.Thumbprint, error) {
	if len(chain) == 0 {
		return nil, nil
	}
	h, err := openSystemStore(s.chainStore, createStore)
	if err != nil {
		return nil, err
	}
	var added []thumbprint.Thumbprint
	for _, c := range chain {
		ctx, err := newContext(c.Raw)
		if err == nil {
			err = addContext(h, ctx, windows.CERT_STORE_ADD_NEW)
			windows.CertFreeCertificateContext(ctx)
		}
		if errors.Is(err, windows.Errno(cryptEExists)) {
			continue
		}
		if err != nil {
			commitAndClose(h)
			s.removeChain(added)
			return nil, fmt.Errorf("add chain certificate %s to store %s: %w", thumbprint.Of(c), s.chainStore, err)
		}
		added = append(added, thumbprint.Of(c))
	}
	if err := commitAndClose(h); err != nil {
		s.removeChain(added)
		return nil, err
	}
	return added, nil
}

// removeChain takes back the chain certificates addChain added. It is best
// effort, for undoing a failed import.
func (s *windowsStore) removeChain(tps []thumbprint.Thumbprint) {
	if len(tps) == 0 {
		return
	}
	h, err := openSystemStore(s.chainStore, changeStore)
	if err != nil || h == 0 {
		return
	}
	for _, tp := range tps {
		if ctx, _ := findByThumbprint(h, tp); ctx != nil {
			windows.CertDeleteCertificateFromStore(ctx) // frees ctx
		}
	}
	commitAndClose(h)
}

func (s *windowsStore) Remove(tp thumbprint.Thumbprint) error {
	changeMu.Lock()
	ref, err := s.remove(tp)
	changeMu.Unlock()
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("remove %s from store %s: %w", tp, s.name, err)
	}
	if ref == nil {
		return nil
	}
	if err := deleteKey(ref); err != nil {
		return fmt.Errorf("remove %s from store %s: the certificate is removed, but its %s is left: %w", tp, s.name, ref, err)
	}
	return nil
}

// remove deletes the certificate and returns the key to delete with it:
// nil when it has none, or when another certificate uses the same key.
func (s *windowsStore) remove(tp thumbprint.Thumbprint) (*keyRef, error) {
	h, err := openSystemStore(s.name, changeStore)
	if err != nil {
		return nil, err
	}
	if h == 0 {
		return nil, &NotFoundError{Thumbprint: tp, Store: s.name}
	}
	ctx, err := findByThumbprint(h, tp)
	if err != nil || ctx == nil {
		closeStore(h)
		if err == nil {
			err = &NotFoundError{Thumbprint: tp, Store: s.name}
		}
		return nil, err
	}
	ref, err := keyOf(ctx)
	if err == nil && ref != nil && s.keyShared(h, ref, tp) {
		ref = nil
	}
	if err != nil {
		windows.CertFreeCertificateContext(ctx)
		closeStore(h)
		return nil, err
	}
	if err := windows.CertDeleteCertificateFromStore(ctx); err != nil { // frees ctx
		closeStore(h)
		return nil, callErr("CertDeleteCertificateFromStore", err)
	}
	if err := commitAndClose(h); err != nil {
		return nil, err
	}
	return ref, nil
}

// keyShared reports whether a certificate other than tp, in the store h or
// in My, uses the key ref, as a renewed certificate can.
func (s *windowsStore) keyShared(h windows.Handle, ref *keyRef, tp thumbprint.Thumbprint) bool {
	shared := false
	check := func(st windows.Handle) {
		enumCertificates(st, func(ctx *windows.CertContext) bool {
			other, _ := keyOf(ctx)
			if other != nil && strings.EqualFold(other.container, ref.container) &&
				other.isCNG() == ref.isCNG() && !bytes.Equal(sha1Of(ctx), tp[:]) {
				shared = true
			}
			return !shared
		})
	}
	check(h)
	if !shared && !strings.EqualFold(s.name, "My") {
		if my, err := openSystemStore("My", readStore); err == nil && my != 0 {
			check(my)
			closeStore(my)
		}
	}
	return shared
}

func (s *windowsStore) Export(tp thumbprint.Thumbprint, withKey bool) (*pfx.Bundle, error) {
	id, err := s.find(tp)
	if err != nil {
		return nil, err
	}
	b := &pfx.Bundle{Leaf: id.cert, Chain: id.chain}
	if !withKey {
		return b, nil
	}
	if id.key == nil {
		return nil, fmt.Errorf("export %s from store %s: %w", tp, s.name, ErrNoPrivateKey)
	}
	var key crypto.Signer
	if id.key.isCNG() {
		key, err = cngExport(id.key, id.cert.PublicKey)
	} else {
		key, err = capiExport(id.key)
	}
	if errors.Is(err, ErrNotExportable) {
		return nil, fmt.Errorf("export %s from store %s: %w: it was stored as not exportable, so Windows will not release it", tp, s.name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("export %s from store %s: %s: %w", tp, s.name, id.key, err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(id.cert.PublicKey) {
		return nil, fmt.Errorf("export %s from store %s: the %s holds a key that is not the certificate's", tp, s.name, id.key)
	}
	b.Key = key
	return b, nil
}

// backendExists reports whether the custom store s exists among the
// CurrentUser system stores. CertOpenStore would make it (createStore) or
// say nothing of why it failed; the stores are listed instead, by the same
// call as Stores, so that what Open accepts and what Stores lists agree.
// Where the list cannot be had, opening the store with
// CERT_STORE_OPEN_EXISTING_FLAG tells.
func backendExists(st Store) (bool, error) {
	s := st.(*windowsStore)
	names, err := enumSystemStores()
	if err != nil {
		h, err := openSystemStore(s.name, readStore)
		if err != nil {
			return false, err
		}
		if h == 0 {
			return false, nil
		}
		closeStore(h)
		return true, nil
	}
	for _, n := range names {
		if strings.EqualFold(n, s.name) {
			return true, nil
		}
	}
	return false, nil
}

// backendStores lists the CurrentUser system stores, well-known names spelt
// as in StoreNames.
func backendStores(opts Options) ([]string, error) {
	if opts.Dir != "" {
		return nil, fmt.Errorf("list stores: %w", ErrNoStoreDir)
	}
	names, err := enumSystemStores()
	if err != nil {
		return nil, fmt.Errorf("list stores: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		canon, err := CanonicalName(n)
		if err != nil {
			continue // a name certctl cannot open, such as ".Default" or one with spaces
		}
		if key := strings.ToLower(canon); !seen[key] {
			seen[key] = true
			out = append(out, canon)
		}
	}
	sort.Strings(out)
	return out, nil
}
