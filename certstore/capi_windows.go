//go:build windows

package certstore

// RSA keys in CryptoAPI key containers: what the store imports RSA keys
// into, where Create generates them when CNG cannot keep them (Wine), and
// what Windows' own PFX import has long used. Every container is
// acquired with CRYPT_SILENT, so nothing ever prompts.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

const (
	atKeyExchange   = 1          // AT_KEYEXCHANGE
	atSignature     = 2          // AT_SIGNATURE
	cryptExportable = 0x00000001 // CRYPT_EXPORTABLE
	kpPermissions   = 6          // KP_PERMISSIONS
	cryptExport     = 0x00000004 // CRYPT_EXPORT
	hpHashVal       = 0x0002     // HP_HASHVAL
	ntBadKeyset     = 0x80090016 // NTE_BAD_KEYSET
	ntBadKeyState   = 0x8009000B // NTE_BAD_KEY_STATE
	ntPerm          = 0x80090010 // NTE_PERM

	// msEnhRSAAESProv is MS_ENH_RSA_AES_PROV, the one Microsoft RSA
	// provider of type PROV_RSA_AES: the others cannot hash with SHA-2, so
	// CryptSignHash fails with NTE_BAD_ALGID for RS256 under them.
	msEnhRSAAESProv = "Microsoft Enhanced RSA and AES Cryptographic Provider"
)

var (
	advapi32 = windows.NewLazySystemDLL("advapi32.dll")

	procCryptImportKey    = advapi32.NewProc("CryptImportKey")
	procCryptGenKey       = advapi32.NewProc("CryptGenKey")
	procCryptExportKey    = advapi32.NewProc("CryptExportKey")
	procCryptDestroyKey   = advapi32.NewProc("CryptDestroyKey")
	procCryptGetUserKey   = advapi32.NewProc("CryptGetUserKey")
	procCryptGetKeyParam  = advapi32.NewProc("CryptGetKeyParam")
	procCryptCreateHash   = advapi32.NewProc("CryptCreateHash")
	procCryptSetHashParam = advapi32.NewProc("CryptSetHashParam")
	procCryptSignHashW    = advapi32.NewProc("CryptSignHashW")
	procCryptDestroyHash  = advapi32.NewProc("CryptDestroyHash")
)

// sharedRSAStorage are the Microsoft software RSA providers. They keep their
// key containers in one place, so a container written by any of them opens
// under MS_ENH_RSA_AES_PROV, which can sign SHA-2 digests.
var sharedRSAStorage = map[string]bool{
	"": true, // the type's default provider
	"Microsoft Base Cryptographic Provider v1.0":     true, // MS_DEF_PROV
	"Microsoft Enhanced Cryptographic Provider v1.0": true, // MS_ENHANCED_PROV
	"Microsoft Strong Cryptographic Provider":        true, // MS_STRONG_PROV
	msEnhRSAAESProv: true,
	"Microsoft Enhanced RSA and AES Cryptographic Provider (Prototype)": true, // MS_ENH_RSA_AES_PROV_XP
}

// capiProvider is the provider and type to open ref's container with.
func capiProvider(ref *keyRef) (string, uint32) {
	if (ref.provType == windows.PROV_RSA_FULL || ref.provType == windows.PROV_RSA_AES) && sharedRSAStorage[ref.provider] {
		return msEnhRSAAESProv, windows.PROV_RSA_AES
	}
	return ref.provider, ref.provType
}

// capiKeySpec is the key of the container to use: AT_SIGNATURE when the
// certificate says so, AT_KEYEXCHANGE otherwise. Wine's PFX import records
// key spec 3 for keys that are AT_KEYEXCHANGE keys.
func capiKeySpec(ref *keyRef) uint32 {
	if ref.keySpec == atSignature {
		return atSignature
	}
	return atKeyExchange
}

// capiAcquire opens ref's key container silently. flags adds
// CRYPT_NEWKEYSET or CRYPT_DELETEKEYSET.
func capiAcquire(ref *keyRef, flags uint32) (windows.Handle, error) {
	name, provType := capiProvider(ref)
	container, err := windows.UTF16PtrFromString(ref.container)
	if err != nil {
		return 0, err
	}
	var provider *uint16
	if name != "" {
		if provider, err = windows.UTF16PtrFromString(name); err != nil {
			return 0, err
		}
	}
	flags |= windows.CRYPT_SILENT | ref.flags&windows.CRYPT_MACHINE_KEYSET
	var h windows.Handle
	if err := windows.CryptAcquireContext(&h, container, provider, provType, flags); err != nil {
		return 0, callErr("CryptAcquireContext", err)
	}
	return h, nil
}

func capiRelease(h windows.Handle) { windows.CryptReleaseContext(h, 0) }

func capiDestroyKey(k uintptr) { procCryptDestroyKey.Call(k) } // hKey

// capiImportRSA puts k into a new key container, named uniquely, of
// MS_ENH_RSA_AES_PROV, as an AT_KEYEXCHANGE key; exportable only when asked.
func capiImportRSA(k *rsa.PrivateKey, exportable bool) (*keyRef, error) {
	blob, err := capiRSAPrivateBlob(k)
	if err != nil {
		return nil, err
	}
	defer clear(blob)
	ref := &keyRef{
		container: newContainerName(),
		provider:  msEnhRSAAESProv,
		provType:  windows.PROV_RSA_AES,
		keySpec:   atKeyExchange,
	}
	h, err := capiAcquire(ref, windows.CRYPT_NEWKEYSET)
	if err != nil {
		return nil, err
	}
	var flags uint32
	if exportable {
		flags = cryptExportable
	}
	var key uintptr
	r, _, callErrno := procCryptImportKey.Call(
		uintptr(h),                        // hProv
		uintptr(unsafe.Pointer(&blob[0])), // pbData
		uintptr(len(blob)),                // dwDataLen
		0,                                 // hPubKey
		uintptr(flags),                    // dwFlags
		uintptr(unsafe.Pointer(&key)),     // phKey
	)
	runtime.KeepAlive(blob)
	if r == 0 {
		capiRelease(h)
		capiDelete(ref)
		return nil, callErr("CryptImportKey", callErrno)
	}
	capiDestroyKey(key)
	capiRelease(h)
	return ref, nil
}

// capiCreateRSA generates an RSA key of the given size in a new key
// container, named uniquely, of MS_ENH_RSA_AES_PROV, as an AT_KEYEXCHANGE
// key like those capiImportRSA stores; exportable only when asked. It
// returns where the key is and its public half.
func capiCreateRSA(bits int, exportable bool) (*keyRef, *rsa.PublicKey, error) {
	ref := &keyRef{
		container: newContainerName(),
		provider:  msEnhRSAAESProv,
		provType:  windows.PROV_RSA_AES,
		keySpec:   atKeyExchange,
	}
	h, err := capiAcquire(ref, windows.CRYPT_NEWKEYSET)
	if err != nil {
		return nil, nil, err
	}
	pub, err := capiGenRSA(h, ref, bits, exportable)
	capiRelease(h)
	if err != nil {
		capiDelete(ref)
		return nil, nil, err
	}
	return ref, pub, nil
}

// capiGenRSA generates the key of ref's container, opened as h, and
// exports its public half.
func capiGenRSA(h windows.Handle, ref *keyRef, bits int, exportable bool) (*rsa.PublicKey, error) {
	flags := uint32(bits) << 16 // the key size goes in the upper 16 bits
	if exportable {
		flags |= cryptExportable
	}
	var key uintptr
	r, _, errno := procCryptGenKey.Call(
		uintptr(h),                    // hProv
		uintptr(capiKeySpec(ref)),     // Algid: AT_KEYEXCHANGE
		uintptr(flags),                // dwFlags
		uintptr(unsafe.Pointer(&key)), // phKey
	)
	if r == 0 {
		return nil, callErr("CryptGenKey", errno)
	}
	defer capiDestroyKey(key)
	blob, err := capiExportBlob(key, publicKeyBlob)
	if err != nil {
		return nil, err
	}
	pub, err := parseCAPIRSAPublicBlob(blob)
	if err != nil {
		return nil, err
	}
	if pub.N.BitLen() != bits {
		return nil, fmt.Errorf("CryptGenKey made a %d-bit key where %d bits were asked", pub.N.BitLen(), bits)
	}
	return pub, nil
}

// capiDelete deletes ref's key container. A container that is already gone
// is not an error.
func capiDelete(ref *keyRef) error {
	_, err := capiAcquire(ref, windows.CRYPT_DELETEKEYSET)
	if err != nil && !errors.Is(err, windows.Errno(ntBadKeyset)) {
		return err
	}
	return nil
}

// capiUserKey opens the key of ref's container.
func capiUserKey(h windows.Handle, ref *keyRef) (uintptr, error) {
	var key uintptr
	r, _, err := procCryptGetUserKey.Call(
		uintptr(h),                    // hProv
		uintptr(capiKeySpec(ref)),     // dwKeySpec
		uintptr(unsafe.Pointer(&key)), // phUserKey
	)
	if r == 0 {
		return 0, callErr("CryptGetUserKey", err)
	}
	return key, nil
}

// capiCheck opens ref's container and key, to fail early and clearly when
// the key is missing.
func capiCheck(ref *keyRef) error {
	h, err := capiAcquire(ref, 0)
	if err != nil {
		return err
	}
	defer capiRelease(h)
	key, err := capiUserKey(h, ref)
	if err != nil {
		return err
	}
	capiDestroyKey(key)
	return nil
}

// capiSign signs digest with ref's key through CryptSignHash, which makes
// only PKCS #1 v1.5 signatures. For RSA-PSS it opens the container through
// CNG instead, where Windows allows that (Wine does not).
func capiSign(ref *keyRef, pub *rsa.PublicKey, digest []byte, req signRequest) ([]byte, error) {
	if req.pss {
		sig, err := cngSignWith(func() (uintptr, uintptr, error) { return cngOpenLegacy(ref) }, pub, digest, req)
		if err != nil {
			return nil, fmt.Errorf("%w: the key is in a CryptoAPI container, whose CryptSignHash makes only PKCS #1 v1.5 signatures, and CNG cannot open it (%w); sign with PKCS #1 v1.5 (RS256) instead", ErrPSSUnsupported, err)
		}
		return sig, nil
	}
	alg, ok := capiHashAlg(req.hash)
	if !ok {
		return nil, fmt.Errorf("CryptoAPI keys cannot sign %v digests", req.hash)
	}
	h, err := capiAcquire(ref, 0)
	if err != nil {
		return nil, err
	}
	defer capiRelease(h)
	var hash uintptr
	r, _, errno := procCryptCreateHash.Call(
		uintptr(h),                     // hProv
		uintptr(alg),                   // Algid
		0,                              // hKey
		0,                              // dwFlags
		uintptr(unsafe.Pointer(&hash)), // phHash
	)
	if r == 0 {
		return nil, callErr("CryptCreateHash", errno)
	}
	defer procCryptDestroyHash.Call(hash) // hHash
	r, _, errno = procCryptSetHashParam.Call(
		hash,                                // hHash
		hpHashVal,                           // dwParam
		uintptr(unsafe.Pointer(&digest[0])), // pbData
		0,                                   // dwFlags
	)
	if r == 0 {
		return nil, callErr("CryptSetHashParam", errno)
	}
	var size uint32
	r, _, errno = procCryptSignHashW.Call(
		hash,                           // hHash
		uintptr(capiKeySpec(ref)),      // dwKeySpec
		0,                              // szDescription
		0,                              // dwFlags
		0,                              // pbSignature
		uintptr(unsafe.Pointer(&size)), // pdwSigLen
	)
	if r == 0 {
		return nil, callErr("CryptSignHash", errno)
	}
	sig := make([]byte, size)
	r, _, errno = procCryptSignHashW.Call(
		hash,                             // hHash
		uintptr(capiKeySpec(ref)),        // dwKeySpec
		0,                                // szDescription
		0,                                // dwFlags
		uintptr(unsafe.Pointer(&sig[0])), // pbSignature
		uintptr(unsafe.Pointer(&size)),   // pdwSigLen
	)
	if r == 0 {
		return nil, callErr("CryptSignHash", errno)
	}
	// CryptoAPI writes the signature little-endian; PKCS #1 is big-endian.
	return reversed(sig[:size]), nil
}

// capiExport exports ref's key, which must have been imported exportable.
func capiExport(ref *keyRef) (crypto.Signer, error) {
	h, err := capiAcquire(ref, 0)
	if err != nil {
		return nil, err
	}
	defer capiRelease(h)
	key, err := capiUserKey(h, ref)
	if err != nil {
		return nil, err
	}
	defer capiDestroyKey(key)
	var perms, size uint32 = 0, 4
	r, _, _ := procCryptGetKeyParam.Call(
		key,                             // hKey
		kpPermissions,                   // dwParam
		uintptr(unsafe.Pointer(&perms)), // pbData
		uintptr(unsafe.Pointer(&size)),  // pdwDataLen
		0,                               // dwFlags
	)
	if r != 0 && perms&cryptExport == 0 {
		return nil, ErrNotExportable
	}
	blob, err := capiExportBlob(key, privateKeyBlob)
	if err != nil {
		return nil, err
	}
	defer clear(blob)
	return parseCAPIRSAPrivateBlob(blob)
}

// capiExportBlob exports key as a blob of type blobType: CryptExportKey
// asked for the size, then for the blob. A private blob is the caller's to
// clear.
func capiExportBlob(key uintptr, blobType uintptr) ([]byte, error) {
	var size uint32
	r, _, errno := procCryptExportKey.Call(
		key,                            // hKey
		0,                              // hExpKey
		blobType,                       // dwBlobType
		0,                              // dwFlags
		0,                              // pbData
		uintptr(unsafe.Pointer(&size)), // pdwDataLen
	)
	if r == 0 {
		return nil, capiExportErr(errno)
	}
	blob := make([]byte, size)
	r, _, errno = procCryptExportKey.Call(
		key,                               // hKey
		0,                                 // hExpKey
		blobType,                          // dwBlobType
		0,                                 // dwFlags
		uintptr(unsafe.Pointer(&blob[0])), // pbData
		uintptr(unsafe.Pointer(&size)),    // pdwDataLen
	)
	if r == 0 {
		clear(blob)
		return nil, capiExportErr(errno)
	}
	return blob[:size], nil
}

// capiExportErr turns CryptExportKey's refusal of a non-exportable key
// into ErrNotExportable.
func capiExportErr(errno error) error {
	err := callErr("CryptExportKey", errno)
	if errors.Is(err, windows.Errno(ntBadKeyState)) || errors.Is(err, windows.Errno(ntPerm)) {
		return fmt.Errorf("%w (%v)", ErrNotExportable, err)
	}
	return err
}

// newContainerName is a key container name no other key has: certctl- and
// a random UUID, so that certutil -key and other tools show who made it.
func newContainerName() string {
	var b [16]byte
	rand.Read(b[:])         // never fails, as crypto/rand documents
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return strings.ToLower(fmt.Sprintf("certctl-%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}
