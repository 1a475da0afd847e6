//go:build windows

package certstore

// The crypt32 calls of the Windows store: system stores, certificate
// contexts and their properties. Calls that golang.org/x/sys/windows wraps
// are used from there; the rest go through LazyProc with each argument
// commented with its C parameter name.

import (
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/certctl/certctl/thumbprint"
)

const (
	certEncoding          = windows.X509_ASN_ENCODING | windows.PKCS_7_ASN_ENCODING
	certKeyProvInfoPropID = 2          // CERT_KEY_PROV_INFO_PROP_ID
	cryptENotFound        = 0x80092004 // CRYPT_E_NOT_FOUND
	cryptEExists          = 0x80092005 // CRYPT_E_EXISTS
	certStoreCtrlCommit   = 3          // CERT_STORE_CTRL_COMMIT
)

var (
	crypt32 = windows.NewLazySystemDLL("crypt32.dll")

	procCertGetCertificateContextProperty = crypt32.NewProc("CertGetCertificateContextProperty")
	procCertSetCertificateContextProperty = crypt32.NewProc("CertSetCertificateContextProperty")
	procCertControlStore                  = crypt32.NewProc("CertControlStore")
	procCertEnumSystemStore               = crypt32.NewProc("CertEnumSystemStore")
)

// cryptKeyProvInfo is CRYPT_KEY_PROV_INFO: where a certificate's private key
// lives. dwProvType 0 means a CNG key storage provider.
type cryptKeyProvInfo struct {
	containerName *uint16 // pwszContainerName
	provName      *uint16 // pwszProvName
	provType      uint32  // dwProvType
	flags         uint32  // dwFlags
	provParamLen  uint32  // cProvParam
	provParam     uintptr // rgProvParam
	keySpec       uint32  // dwKeySpec
}

// keyRef is a persisted private key as a certificate's
// CERT_KEY_PROV_INFO_PROP_ID names it.
type keyRef struct {
	container string
	provider  string
	provType  uint32 // 0 for CNG
	flags     uint32 // CRYPT_MACHINE_KEYSET or 0
	keySpec   uint32 // AT_KEYEXCHANGE or AT_SIGNATURE for CryptoAPI; 0 for CNG
}

// isCNG tells a CNG key from a CryptoAPI one.
func (k *keyRef) isCNG() bool { return k.provType == 0 }

// String describes a key for messages.
func (k *keyRef) String() string {
	return fmt.Sprintf("key container %q of %s", k.container, k.provider)
}

// storeMode says how openSystemStore opens a store.
type storeMode int

const (
	// readStore opens an existing store read-only.
	readStore storeMode = iota
	// changeStore opens an existing store for changes.
	changeStore
	// createStore opens a store for changes, creating it if needed.
	createStore
)

// openSystemStore opens the CurrentUser system store name. For readStore
// and changeStore it returns a zero handle and no error when the store does
// not exist. A store opened for changes is closed with commitAndClose.
func openSystemStore(name string, mode storeMode) (windows.Handle, error) {
	name16, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	flags := uint32(windows.CERT_SYSTEM_STORE_CURRENT_USER)
	switch mode {
	case readStore:
		flags |= windows.CERT_STORE_OPEN_EXISTING_FLAG | windows.CERT_STORE_READONLY_FLAG
	case changeStore:
		flags |= windows.CERT_STORE_OPEN_EXISTING_FLAG
	}
	h, err := windows.CertOpenStore(
		windows.CERT_STORE_PROV_SYSTEM,  // lpszStoreProvider
		0,                               // dwEncodingType
		0,                               // hCryptProv
		flags,                           // dwFlags
		uintptr(unsafe.Pointer(name16)), // pvPara
	)
	runtime.KeepAlive(name16)
	if err != nil {
		if mode != createStore && errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			return 0, nil
		}
		return 0, callErr("CertOpenStore", err)
	}
	return h, nil
}

// enumNames is what enumSystemStores' callback adds to: one enumeration at
// a time (enumMu), since a callback made by windows.NewCallback is never
// freed, so there is one for the process.
var (
	enumMu       sync.Mutex
	enumNames    []string
	enumCallback = sync.OnceValue(func() uintptr {
		// CertEnumSystemStoreCallback(pvSystemStore, dwFlags, pStoreInfo,
		// pvReserved, pvArg) BOOL
		return windows.NewCallback(func(systemStore *uint16, flags, storeInfo, reserved, arg uintptr) uintptr {
			enumNames = append(enumNames, windows.UTF16PtrToString(systemStore))
			return 1 // go on
		})
	})
)

// enumSystemStores lists the names of the CurrentUser system stores with
// CertEnumSystemStore, as Windows spells them.
func enumSystemStores() ([]string, error) {
	cb := enumCallback()
	enumMu.Lock()
	defer enumMu.Unlock()
	enumNames = nil
	r, _, err := procCertEnumSystemStore.Call(
		windows.CERT_SYSTEM_STORE_CURRENT_USER, // dwFlags
		0,                                      // pvSystemStoreLocationPara
		0,                                      // pvArg
		cb,                                     // pfnEnum
	)
	names := enumNames
	enumNames = nil
	if r == 0 {
		return nil, callErr("CertEnumSystemStore", err)
	}
	return names, nil
}

// closeStore closes a store handle.
func closeStore(h windows.Handle) error {
	if err := windows.CertCloseStore(h, 0); err != nil {
		return callErr("CertCloseStore", err)
	}
	return nil
}

// commitAndClose writes a store's changes and closes it. Windows writes a
// system store's changes to the registry as they are made, and ignores the
// commit; Wine keeps them in memory until the store is released, which a
// certificate deleted from it postpones past CertCloseStore, so without the
// commit a deletion would be lost.
func commitAndClose(h windows.Handle) error {
	r, _, err := procCertControlStore.Call(
		uintptr(h),          // hCertStore
		0,                   // dwFlags
		certStoreCtrlCommit, // dwCtrlType
		0,                   // pvCtrlPara
	)
	if r == 0 {
		closeStore(h)
		return callErr("CertControlStore", err)
	}
	return closeStore(h)
}

// contextDER copies the encoded certificate out of a context.
func contextDER(ctx *windows.CertContext) []byte {
	return append([]byte(nil), unsafe.Slice(ctx.EncodedCert, ctx.Length)...)
}

// parseContext parses the certificate of a context.
func parseContext(ctx *windows.CertContext) (*x509.Certificate, error) {
	return x509.ParseCertificate(contextDER(ctx))
}

// findByThumbprint returns the certificate with thumbprint tp in store h,
// or nil. The caller frees the context.
func findByThumbprint(h windows.Handle, tp thumbprint.Thumbprint) (*windows.CertContext, error) {
	hash := windows.CryptHashBlob{Size: uint32(len(tp)), Data: &tp[0]}
	ctx, err := windows.CertFindCertificateInStore(
		h,                           // hCertStore
		certEncoding,                // dwCertEncodingType
		0,                           // dwFindFlags
		windows.CERT_FIND_SHA1_HASH, // dwFindType
		unsafe.Pointer(&hash),       // pvFindPara
		nil,                         // pPrevCertContext
	)
	if ctx == nil {
		if errors.Is(err, windows.Errno(cryptENotFound)) {
			return nil, nil
		}
		return nil, callErr("CertFindCertificateInStore", err)
	}
	return ctx, nil
}

// findBySubject calls fn with each certificate in store h whose subject is
// the DER name subject, until fn returns true.
func findBySubject(h windows.Handle, subject []byte, fn func(*windows.CertContext) bool) error {
	if len(subject) == 0 {
		return nil
	}
	name := windows.CertNameBlob{Size: uint32(len(subject)), Data: &subject[0]}
	var ctx *windows.CertContext
	for {
		var err error
		ctx, err = windows.CertFindCertificateInStore(
			h,                              // hCertStore
			certEncoding,                   // dwCertEncodingType
			0,                              // dwFindFlags
			windows.CERT_FIND_SUBJECT_NAME, // dwFindType
			unsafe.Pointer(&name),          // pvFindPara
			ctx,                            // pPrevCertContext, freed by the call
		)
		if ctx == nil {
			if errors.Is(err, windows.Errno(cryptENotFound)) {
				return nil
			}
			return callErr("CertFindCertificateInStore", err)
		}
		if fn(ctx) {
			windows.CertFreeCertificateContext(ctx)
			return nil
		}
	}
}

// enumCertificates calls fn with each certificate in store h until fn
// returns false. fn must not keep the context.
func enumCertificates(h windows.Handle, fn func(*windows.CertContext) bool) error {
	var ctx *windows.CertContext
	for {
		var err error
		ctx, err = windows.CertEnumCertificatesInStore(h, ctx) // hCertStore, pPrevCertContext (freed by the call)
		if ctx == nil {
			if errors.Is(err, windows.Errno(cryptENotFound)) || errors.Is(err, windows.ERROR_NO_MORE_FILES) {
				return nil
			}
			return callErr("CertEnumCertificatesInStore", err)
		}
		if !fn(ctx) {
			windows.CertFreeCertificateContext(ctx)
			return nil
		}
	}
}

// certProperty reads property id of a context into a buffer aligned for
// the structures that some properties hold. It returns nil and no error
// when the certificate does not have the property.
func certProperty(ctx *windows.CertContext, id uint32) ([]uint64, uint32, error) {
	var size uint32
	r, _, err := procCertGetCertificateContextProperty.Call(
		uintptr(unsafe.Pointer(ctx)),   // pCertContext
		uintptr(id),                    // dwPropId
		0,                              // pvData
		uintptr(unsafe.Pointer(&size)), // pcbData
	)
	if r == 0 {
		if errors.Is(err, windows.Errno(cryptENotFound)) {
			return nil, 0, nil
		}
		return nil, 0, callErr("CertGetCertificateContextProperty", err)
	}
	if size == 0 {
		return nil, 0, nil
	}
	buf := make([]uint64, (size+7)/8)
	r, _, err = procCertGetCertificateContextProperty.Call(
		uintptr(unsafe.Pointer(ctx)),     // pCertContext
		uintptr(id),                      // dwPropId
		uintptr(unsafe.Pointer(&buf[0])), // pvData
		uintptr(unsafe.Pointer(&size)),   // pcbData
	)
	if r == 0 {
		return nil, 0, callErr("CertGetCertificateContextProperty", err)
	}
	return buf, size, nil
}

// keyOf reads where the private key of a certificate lives, from
// CERT_KEY_PROV_INFO_PROP_ID, without opening the key. It returns nil when
// the certificate has no key.
func keyOf(ctx *windows.CertContext) (*keyRef, error) {
	buf, size, err := certProperty(ctx, certKeyProvInfoPropID)
	if err != nil || buf == nil {
		return nil, err
	}
	if uintptr(size) < unsafe.Sizeof(cryptKeyProvInfo{}) {
		return nil, errors.New("CertGetCertificateContextProperty: CERT_KEY_PROV_INFO_PROP_ID too short")
	}
	info := (*cryptKeyProvInfo)(unsafe.Pointer(&buf[0]))
	ref := &keyRef{
		container: windows.UTF16PtrToString(info.containerName),
		provider:  windows.UTF16PtrToString(info.provName),
		provType:  info.provType,
		flags:     info.flags,
		keySpec:   info.keySpec,
	}
	runtime.KeepAlive(buf)
	if ref.container == "" {
		return nil, nil // a key that cannot be found is no key
	}
	return ref, nil
}

// setKeyOf links a context to its private key with
// CERT_KEY_PROV_INFO_PROP_ID, as Windows' PFX import does.
func setKeyOf(ctx *windows.CertContext, ref *keyRef) error {
	container, err := windows.UTF16PtrFromString(ref.container)
	if err != nil {
		return err
	}
	provider, err := windows.UTF16PtrFromString(ref.provider)
	if err != nil {
		return err
	}
	info := &cryptKeyProvInfo{
		containerName: container,
		provName:      provider,
		provType:      ref.provType,
		flags:         ref.flags,
		keySpec:       ref.keySpec,
	}
	r, _, err := procCertSetCertificateContextProperty.Call(
		uintptr(unsafe.Pointer(ctx)),  // pCertContext
		certKeyProvInfoPropID,         // dwPropId
		0,                             // dwFlags
		uintptr(unsafe.Pointer(info)), // pvData
	)
	runtime.KeepAlive(container)
	runtime.KeepAlive(provider)
	if r == 0 {
		return callErr("CertSetCertificateContextProperty", err)
	}
	return nil
}

// newContext makes a certificate context, not in any store, from DER.
func newContext(der []byte) (*windows.CertContext, error) {
	ctx, err := windows.CertCreateCertificateContext(certEncoding, &der[0], uint32(len(der)))
	if ctx == nil {
		return nil, callErr("CertCreateCertificateContext", err)
	}
	return ctx, nil
}

// addContext adds ctx to store h with the given CERT_STORE_ADD_*
// disposition.
func addContext(h windows.Handle, ctx *windows.CertContext, disposition uint32) error {
	err := windows.CertAddCertificateContextToStore(
		h,           // hCertStore
		ctx,         // pCertContext
		disposition, // dwAddDisposition
		nil,         // ppStoreContext
	)
	if err != nil {
		return callErr("CertAddCertificateContextToStore", err)
	}
	return nil
}
