//go:build windows

package certstore

// Keys of CNG key storage providers: what the store imports ECDSA keys into
// (CryptoAPI has no ECDSA), where Create generates keys, and what other
// tools may have put RSA keys in.
// Every call passes NCRYPT_SILENT_FLAG where it can, so nothing prompts.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/certctl/certctl/internal/english"
	"golang.org/x/sys/windows"
)

const (
	ncryptSilentFlag             = 0x00000040                                // NCRYPT_SILENT_FLAG
	ncryptMachineKeyFlag         = 0x00000020                                // NCRYPT_MACHINE_KEY_FLAG
	ncryptDoNotFinalizeFlag      = 0x00000400                                // NCRYPT_DO_NOT_FINALIZE_FLAG
	ncryptPersistFlag            = 0x80000000                                // NCRYPT_PERSIST_FLAG
	ncryptAllowExportFlag        = 0x00000001                                // NCRYPT_ALLOW_EXPORT_FLAG
	ncryptAllowPlaintextExport   = 0x00000002                                // NCRYPT_ALLOW_PLAINTEXT_EXPORT_FLAG
	ncryptBufferPKCSKeyName      = 45                                        // NCRYPTBUFFER_PKCS_KEY_NAME
	ncryptBufferVersion          = 0                                         // NCRYPTBUFFER_VERSION
	bcryptPadPKCS1               = 0x00000002                                // BCRYPT_PAD_PKCS1
	bcryptPadPSS                 = 0x00000008                                // BCRYPT_PAD_PSS
	msKeyStorageProvider         = "Microsoft Software Key Storage Provider" // MS_KEY_STORAGE_PROVIDER
	ncryptExportPolicyProperty   = "Export Policy"                           // NCRYPT_EXPORT_POLICY_PROPERTY
	ncryptLengthProperty         = "Length"                                  // NCRYPT_LENGTH_PROPERTY
	bcryptRSAAlgorithm           = "RSA"                                     // BCRYPT_RSA_ALGORITHM
	bcryptECDSAP256Algorithm     = "ECDSA_P256"                              // BCRYPT_ECDSA_P256_ALGORITHM
	bcryptECDSAP384Algorithm     = "ECDSA_P384"                              // BCRYPT_ECDSA_P384_ALGORITHM
	bcryptRSAPublicBlobType      = "RSAPUBLICBLOB"                           // BCRYPT_RSAPUBLIC_BLOB
	bcryptECCPublicBlobType      = "ECCPUBLICBLOB"                           // BCRYPT_ECCPUBLIC_BLOB
	bcryptECCPrivateBlobType     = "ECCPRIVATEBLOB"                          // BCRYPT_ECCPRIVATE_BLOB
	bcryptRSAFullPrivateBlobType = "RSAFULLPRIVATEBLOB"                      // BCRYPT_RSAFULLPRIVATE_BLOB
)

var (
	ncrypt = windows.NewLazySystemDLL("ncrypt.dll")

	procNCryptOpenStorageProvider = ncrypt.NewProc("NCryptOpenStorageProvider")
	procNCryptImportKey           = ncrypt.NewProc("NCryptImportKey")
	procNCryptCreatePersistedKey  = ncrypt.NewProc("NCryptCreatePersistedKey")
	procNCryptSetProperty         = ncrypt.NewProc("NCryptSetProperty")
	procNCryptGetProperty         = ncrypt.NewProc("NCryptGetProperty")
	procNCryptFinalizeKey         = ncrypt.NewProc("NCryptFinalizeKey")
	procNCryptOpenKey             = ncrypt.NewProc("NCryptOpenKey")
	procNCryptDeleteKey           = ncrypt.NewProc("NCryptDeleteKey")
	procNCryptSignHash            = ncrypt.NewProc("NCryptSignHash")
	procNCryptExportKey           = ncrypt.NewProc("NCryptExportKey")
	procNCryptFreeObject          = ncrypt.NewProc("NCryptFreeObject")
)

// ncryptBuffer is NCryptBuffer.
type ncryptBuffer struct {
	size       uint32  // cbBuffer
	bufferType uint32  // BufferType
	data       uintptr // pvBuffer
}

// ncryptBufferDesc is NCryptBufferDesc.
type ncryptBufferDesc struct {
	version uint32        // ulVersion
	count   uint32        // cBuffers
	buffers *ncryptBuffer // pBuffers
}

// ncryptCall runs an NCrypt function, which returns its SECURITY_STATUS
// rather than setting the last error. Like LazyProc.Call, it keeps the
// pointers passed as uintptr alive and in place for the call.
//
//go:uintptrescapes
func ncryptCall(name string, proc *windows.LazyProc, args ...uintptr) error {
	if err := proc.Find(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r, _, _ := syscall.SyscallN(proc.Addr(), args...)
	if r != 0 {
		return newCallError(name, uint32(r))
	}
	return nil
}

func ncryptFree(h uintptr) { procNCryptFreeObject.Call(h) } // hObject

func utf16Ptr(s string) *uint16 {
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		panic(err) // only called with constants and generated names
	}
	return p
}

// cngProvider opens a key storage provider.
func cngProvider(name string) (uintptr, error) {
	name16, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	var prov uintptr
	err = ncryptCall("NCryptOpenStorageProvider", procNCryptOpenStorageProvider,
		uintptr(unsafe.Pointer(&prov)),  // phProvider
		uintptr(unsafe.Pointer(name16)), // pszProviderName
		0,                               // dwFlags
	)
	runtime.KeepAlive(name16)
	return prov, err
}

// cngOpen opens ref's key. The caller frees both handles.
func cngOpen(ref *keyRef) (prov, key uintptr, err error) {
	// dwLegacyKeySpec 0: a CNG key, whatever dwKeySpec says, as .NET
	// opens it.
	return cngOpenKey(ref.provider, ref.container, 0, ref.flags)
}

// cngOpenLegacy opens the RSA key of a CryptoAPI container through the
// Software KSP, which reads the containers of Microsoft's RSA providers
// when it is given their key spec, as CryptAcquireCertificatePrivateKey
// does for CRYPT_ACQUIRE_PREFER_NCRYPT_KEY_FLAG. It makes RSA-PSS possible
// for such keys.
func cngOpenLegacy(ref *keyRef) (prov, key uintptr, err error) {
	if !sharedRSAStorage[ref.provider] {
		return 0, 0, fmt.Errorf("%s is not one of Microsoft's software RSA providers", ref.provider)
	}
	return cngOpenKey(msKeyStorageProvider, ref.container, capiKeySpec(ref), ref.flags)
}

func cngOpenKey(provider, name string, legacyKeySpec, flags uint32) (prov, key uintptr, err error) {
	if prov, err = cngProvider(provider); err != nil {
		return 0, 0, err
	}
	name16, err := windows.UTF16PtrFromString(name)
	if err != nil {
		ncryptFree(prov)
		return 0, 0, err
	}
	openFlags := uintptr(ncryptSilentFlag)
	if flags&windows.CRYPT_MACHINE_KEYSET != 0 {
		openFlags |= ncryptMachineKeyFlag
	}
	err = ncryptCall("NCryptOpenKey", procNCryptOpenKey,
		prov,                            // hProvider
		uintptr(unsafe.Pointer(&key)),   // phKey
		uintptr(unsafe.Pointer(name16)), // pszKeyName
		uintptr(legacyKeySpec),          // dwLegacyKeySpec
		openFlags,                       // dwFlags
	)
	runtime.KeepAlive(name16)
	if err != nil {
		ncryptFree(prov)
		return 0, 0, err
	}
	return prov, key, nil
}

// cngImportECDSA puts k into the Microsoft Software Key Storage Provider as
// a persisted key with a unique name; exportable only when asked.
func cngImportECDSA(k *ecdsa.PrivateKey, exportable bool) (*keyRef, error) {
	blob, err := bcryptECCPrivateBlob(k)
	if err != nil {
		return nil, err
	}
	defer clear(blob)
	ref := &keyRef{container: newContainerName(), provider: msKeyStorageProvider}
	prov, err := cngProvider(ref.provider)
	if err != nil {
		return nil, err
	}
	defer ncryptFree(prov)

	// The name makes the Software KSP persist the key; without one it
	// would import an ephemeral key.
	name16, err := windows.UTF16FromString(ref.container)
	if err != nil {
		return nil, err
	}
	nameBuf := ncryptBuffer{
		size:       uint32(2 * len(name16)), // with the terminating NUL
		bufferType: ncryptBufferPKCSKeyName,
		data:       uintptr(unsafe.Pointer(&name16[0])),
	}
	params := ncryptBufferDesc{version: ncryptBufferVersion, count: 1, buffers: &nameBuf}
	blobType := utf16Ptr(bcryptECCPrivateBlobType)
	var key uintptr
	// The key is not finalized, and so not written, until its export
	// policy is set.
	err = ncryptCall("NCryptImportKey", procNCryptImportKey,
		prov,                              // hProvider
		0,                                 // hImportKey
		uintptr(unsafe.Pointer(blobType)), // pszBlobType
		uintptr(unsafe.Pointer(&params)),  // pParameterList
		uintptr(unsafe.Pointer(&key)),     // phKey
		uintptr(unsafe.Pointer(&blob[0])), // pbData
		uintptr(len(blob)),                // cbData
		ncryptDoNotFinalizeFlag|ncryptSilentFlag, // dwFlags
	)
	runtime.KeepAlive(name16)
	runtime.KeepAlive(blob)
	if err != nil {
		return nil, err
	}
	var policy uint32
	if exportable {
		policy = ncryptAllowExportFlag | ncryptAllowPlaintextExport
	}
	property := utf16Ptr(ncryptExportPolicyProperty)
	err = ncryptCall("NCryptSetProperty", procNCryptSetProperty,
		key,                               // hObject
		uintptr(unsafe.Pointer(property)), // pszProperty
		uintptr(unsafe.Pointer(&policy)),  // pbInput
		4,                                 // cbInput
		ncryptPersistFlag,                 // dwFlags
	)
	if err == nil {
		err = ncryptCall("NCryptFinalizeKey", procNCryptFinalizeKey,
			key,              // hKey
			ncryptSilentFlag, // dwFlags
		)
	}
	ncryptFree(key)
	if err != nil {
		cngDelete(ref)
		return nil, err
	}
	// A provider that keeps keys only in memory would lose the key here;
	// fail the import rather than link the certificate to nothing.
	p2, k2, err := cngOpen(ref)
	if err != nil {
		return nil, fmt.Errorf("the key storage provider did not keep the imported key: %w", err)
	}
	ncryptFree(k2)
	ncryptFree(p2)
	return ref, nil
}

// cngCreateKey generates a key of type kt as a persisted key of the
// Microsoft Software Key Storage Provider with a new, unique name;
// exportable only when asked. It returns where the key is and its public
// half, read back from the stored key.
//
// Wine 8's provider makes the key in memory only ("Persistent keys are not
// supported") and cannot open a key by name (NCryptOpenKey is a stub that
// returns NTE_NOT_SUPPORTED), so there it fails when it opens the key again,
// leaving nothing behind; it has no ECDSA keys at all
// (NCryptCreatePersistedKey returns NTE_NOT_SUPPORTED).
func cngCreateKey(kt KeyType, exportable bool) (*keyRef, crypto.PublicKey, error) {
	alg, blobType := bcryptRSAAlgorithm, bcryptRSAPublicBlobType
	bits, isRSA := kt.rsaBits()
	if !isRSA {
		blobType = bcryptECCPublicBlobType
		switch kt {
		case ECDSAP256:
			alg = bcryptECDSAP256Algorithm
		case ECDSAP384:
			alg = bcryptECDSAP384Algorithm
		default:
			return nil, nil, fmt.Errorf("%w %q", ErrUnknownKeyType, kt)
		}
	}
	ref := &keyRef{container: newContainerName(), provider: msKeyStorageProvider}
	prov, err := cngProvider(ref.provider)
	if err != nil {
		return nil, nil, err
	}
	defer ncryptFree(prov)
	alg16, name16 := utf16Ptr(alg), utf16Ptr(ref.container)
	var key uintptr
	// NCryptCreatePersistedKey takes no NCRYPT_SILENT_FLAG, only
	// NCRYPT_MACHINE_KEY_FLAG and NCRYPT_OVERWRITE_KEY_FLAG; it asks
	// nothing. dwLegacyKeySpec 0 makes a CNG key, as cngOpen opens it.
	err = ncryptCall("NCryptCreatePersistedKey", procNCryptCreatePersistedKey,
		prov,                            // hProvider
		uintptr(unsafe.Pointer(&key)),   // phKey
		uintptr(unsafe.Pointer(alg16)),  // pszAlgId
		uintptr(unsafe.Pointer(name16)), // pszKeyName
		0,                               // dwLegacyKeySpec
		0,                               // dwFlags
	)
	runtime.KeepAlive(alg16)
	runtime.KeepAlive(name16)
	if err != nil {
		return nil, nil, err
	}
	// Nothing is generated or written until NCryptFinalizeKey, after the
	// size and the export policy are set.
	err = cngFinalizeNew(key, bits, exportable)
	ncryptFree(key)
	if err != nil {
		cngDelete(ref)
		return nil, nil, err
	}
	// Read the public key from the key as stored, opened by its name: a
	// provider that keeps keys only in memory (Wine) fails here, rather
	// than give a certificate a key that is gone once the process ends.
	pub, err := cngPublicKey(ref, blobType)
	if err != nil {
		cngDelete(ref)
		return nil, nil, fmt.Errorf("the key storage provider did not keep the new key: %w", err)
	}
	if kt2, ok := KeyTypeOf(pub); !ok || kt2 != kt {
		cngDelete(ref)
		return nil, nil, fmt.Errorf("the key storage provider made %s key where %s was asked", english.A(KeyAlgorithm(pub)), kt)
	}
	return ref, pub, nil
}

// cngFinalizeNew sets the size (bits, for RSA keys; 0 for others) and the
// export policy of a key that NCryptCreatePersistedKey made, and finalizes
// it: generates and stores it.
func cngFinalizeNew(key uintptr, bits int, exportable bool) error {
	if bits != 0 {
		length := uint32(bits)
		property := utf16Ptr(ncryptLengthProperty)
		if err := ncryptCall("NCryptSetProperty", procNCryptSetProperty,
			key,                               // hObject
			uintptr(unsafe.Pointer(property)), // pszProperty
			uintptr(unsafe.Pointer(&length)),  // pbInput
			4,                                 // cbInput
			ncryptSilentFlag,                  // dwFlags
		); err != nil {
			return err
		}
	}
	var policy uint32
	if exportable {
		policy = ncryptAllowExportFlag | ncryptAllowPlaintextExport
	}
	property := utf16Ptr(ncryptExportPolicyProperty)
	if err := ncryptCall("NCryptSetProperty", procNCryptSetProperty,
		key,                                // hObject
		uintptr(unsafe.Pointer(property)),  // pszProperty
		uintptr(unsafe.Pointer(&policy)),   // pbInput
		4,                                  // cbInput
		ncryptPersistFlag|ncryptSilentFlag, // dwFlags
	); err != nil {
		return err
	}
	return ncryptCall("NCryptFinalizeKey", procNCryptFinalizeKey,
		key,              // hKey
		ncryptSilentFlag, // dwFlags
	)
}

// cngPublicKey opens ref's key and exports its public half as blobType,
// BCRYPT_RSAPUBLIC_BLOB or BCRYPT_ECCPUBLIC_BLOB, which every key lets out.
func cngPublicKey(ref *keyRef, blobType string) (crypto.PublicKey, error) {
	prov, key, err := cngOpen(ref)
	if err != nil {
		return nil, err
	}
	defer ncryptFree(prov)
	defer ncryptFree(key)
	blob, err := ncryptExport(key, blobType)
	if err != nil {
		return nil, err
	}
	if blobType == bcryptECCPublicBlobType {
		return parseBCryptECCPublicBlob(blob)
	}
	return parseBCryptRSAPublicBlob(blob)
}

// ncryptExport exports key as a blob of type blobType: NCryptExportKey
// asked for the size, then for the blob. A private blob is the caller's to
// clear.
func ncryptExport(key uintptr, blobType string) ([]byte, error) {
	blobType16 := utf16Ptr(blobType)
	var size uint32
	if err := ncryptCall("NCryptExportKey", procNCryptExportKey,
		key,                                 // hKey
		0,                                   // hExportKey
		uintptr(unsafe.Pointer(blobType16)), // pszBlobType
		0,                                   // pParameterList
		0,                                   // pbOutput
		0,                                   // cbOutput
		uintptr(unsafe.Pointer(&size)),      // pcbResult
		ncryptSilentFlag,                    // dwFlags
	); err != nil {
		return nil, err
	}
	blob := make([]byte, size)
	if err := ncryptCall("NCryptExportKey", procNCryptExportKey,
		key,                                 // hKey
		0,                                   // hExportKey
		uintptr(unsafe.Pointer(blobType16)), // pszBlobType
		0,                                   // pParameterList
		uintptr(unsafe.Pointer(&blob[0])),   // pbOutput
		uintptr(size),                       // cbOutput
		uintptr(unsafe.Pointer(&size)),      // pcbResult
		ncryptSilentFlag,                    // dwFlags
	); err != nil {
		clear(blob)
		return nil, err
	}
	return blob[:size], nil
}

// cngDelete deletes ref's key. A key that is already gone is not an error.
func cngDelete(ref *keyRef) error {
	prov, key, err := cngOpen(ref)
	if err != nil {
		if errors.Is(err, windows.Errno(ntBadKeyset)) {
			return nil
		}
		return err
	}
	defer ncryptFree(prov)
	// NCryptDeleteKey frees the key handle when it succeeds.
	if err := ncryptCall("NCryptDeleteKey", procNCryptDeleteKey,
		key,              // hKey
		ncryptSilentFlag, // dwFlags
	); err != nil {
		ncryptFree(key)
		return err
	}
	return nil
}

// cngCheck opens ref's key, to fail early and clearly when it is missing.
func cngCheck(ref *keyRef) error {
	prov, key, err := cngOpen(ref)
	if err != nil {
		return err
	}
	ncryptFree(key)
	ncryptFree(prov)
	return nil
}

// cngSign signs digest with ref's key through NCryptSignHash: PKCS #1 v1.5
// or PSS for RSA keys, and for ECDSA keys the r||s that CNG writes turned
// into ASN.1.
func cngSign(ref *keyRef, pub crypto.PublicKey, digest []byte, req signRequest) ([]byte, error) {
	return cngSignWith(func() (uintptr, uintptr, error) { return cngOpen(ref) }, pub, digest, req)
}

// cngSignWith is cngSign for a key that open opens.
func cngSignWith(open func() (prov, key uintptr, err error), pub crypto.PublicKey, digest []byte, req signRequest) ([]byte, error) {
	var (
		padding unsafe.Pointer
		flags   uintptr = ncryptSilentFlag
		algName *uint16
	)
	if _, isRSA := pub.(*rsa.PublicKey); isRSA {
		name, ok := cngHashAlg(req.hash)
		if !ok {
			return nil, fmt.Errorf("CNG RSA keys here sign SHA-1 and SHA-2 digests, not %v", req.hash)
		}
		algName = utf16Ptr(name)
		if req.pss {
			padding = unsafe.Pointer(&bcryptPSSPaddingInfo{algID: algName, saltLen: uint32(req.saltLen)})
			flags |= bcryptPadPSS
		} else {
			padding = unsafe.Pointer(&bcryptPKCS1PaddingInfo{algID: algName})
			flags |= bcryptPadPKCS1
		}
	}
	prov, key, err := open()
	if err != nil {
		return nil, err
	}
	defer ncryptFree(prov)
	defer ncryptFree(key)
	var size uint32
	err = ncryptCall("NCryptSignHash", procNCryptSignHash,
		key,                                 // hKey
		uintptr(padding),                    // pPaddingInfo
		uintptr(unsafe.Pointer(&digest[0])), // pbHashValue
		uintptr(len(digest)),                // cbHashValue
		0,                                   // pbSignature
		0,                                   // cbSignature
		uintptr(unsafe.Pointer(&size)),      // pcbResult
		flags,                               // dwFlags
	)
	if err != nil {
		return nil, err
	}
	sig := make([]byte, size)
	err = ncryptCall("NCryptSignHash", procNCryptSignHash,
		key,                                 // hKey
		uintptr(padding),                    // pPaddingInfo
		uintptr(unsafe.Pointer(&digest[0])), // pbHashValue
		uintptr(len(digest)),                // cbHashValue
		uintptr(unsafe.Pointer(&sig[0])),    // pbSignature
		uintptr(size),                       // cbSignature
		uintptr(unsafe.Pointer(&size)),      // pcbResult
		flags,                               // dwFlags
	)
	runtime.KeepAlive(padding)
	runtime.KeepAlive(algName)
	if err != nil {
		return nil, err
	}
	sig = sig[:size]
	if ec, isEC := pub.(*ecdsa.PublicKey); isEC {
		return ecdsaRawToASN1(sig, ec)
	}
	return sig, nil
}

// cngExport exports ref's key, which must allow export in plain text.
func cngExport(ref *keyRef, pub crypto.PublicKey) (crypto.Signer, error) {
	prov, key, err := cngOpen(ref)
	if err != nil {
		return nil, err
	}
	defer ncryptFree(prov)
	defer ncryptFree(key)
	var policy, got uint32
	property := utf16Ptr(ncryptExportPolicyProperty)
	if err := ncryptCall("NCryptGetProperty", procNCryptGetProperty,
		key,                               // hObject
		uintptr(unsafe.Pointer(property)), // pszProperty
		uintptr(unsafe.Pointer(&policy)),  // pbOutput
		4,                                 // cbOutput
		uintptr(unsafe.Pointer(&got)),     // pcbResult
		ncryptSilentFlag,                  // dwFlags
	); err != nil {
		return nil, err
	}
	if policy&ncryptAllowPlaintextExport == 0 {
		if policy&ncryptAllowExportFlag != 0 {
			return nil, fmt.Errorf("%w: Windows lets this key out only encrypted, which certctl does not support", ErrNotExportable)
		}
		return nil, ErrNotExportable
	}
	blobName := bcryptRSAFullPrivateBlobType
	if _, isEC := pub.(*ecdsa.PublicKey); isEC {
		blobName = bcryptECCPrivateBlobType
	}
	blob, err := ncryptExport(key, blobName)
	if err != nil {
		return nil, err
	}
	defer clear(blob)
	if blobName == bcryptECCPrivateBlobType {
		return parseBCryptECCPrivateBlob(blob)
	}
	return parseBCryptRSAFullPrivateBlob(blob)
}
