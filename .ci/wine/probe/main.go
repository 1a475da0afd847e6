//go:build windows

// Command probe looks at the Windows certificate store from outside certctl,
// for .ci/wine/e2e.sh:
//
//	probe sign THUMBPRINT FILE SIGFILE   sign SHA-256(FILE) with the stored key
//	                                     through certstore's Signer (PKCS #1 v1.5)
//	probe keyinfo THUMBPRINT             print the key container the certificate
//	                                     in CurrentUser\My names, read with crypt32
//	probe container NAME                 exit 0 if the CryptoAPI key container
//	                                     NAME exists, 3 if it does not
//
// keyinfo and container call crypt32 and advapi32 directly, not certctl's
// code, so they check what certctl did rather than repeat it.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/thumbprint"
)

func main() {
	err := run(os.Args[1:])
	var code exitCode
	switch {
	case errors.As(err, &code):
		os.Exit(int(code))
	case err != nil:
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		os.Exit(1)
	}
}

type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit %d", int(c)) }

func run(args []string) error {
	switch {
	case len(args) == 4 && args[0] == "sign":
		return sign(args[1], args[2], args[3])
	case len(args) == 2 && args[0] == "keyinfo":
		return keyinfo(args[1])
	case len(args) == 2 && args[0] == "container":
		return container(args[1])
	}
	return errors.New("usage: probe sign THUMBPRINT FILE SIGFILE | keyinfo THUMBPRINT | container NAME")
}

func sign(tp, file, sigFile string) error {
	t, err := thumbprint.Parse(tp)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	s, err := certstore.Open("My", certstore.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := s.Find(t)
	if err != nil {
		return err
	}
	signer, err := id.Signer()
	if err != nil {
		return err
	}
	digest := sha256.Sum256(data)
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return err
	}
	return os.WriteFile(sigFile, sig, 0o600)
}

// cryptKeyProvInfo is CRYPT_KEY_PROV_INFO.
type cryptKeyProvInfo struct {
	containerName *uint16 // pwszContainerName
	provName      *uint16 // pwszProvName
	provType      uint32  // dwProvType
	flags         uint32  // dwFlags
	provParamLen  uint32  // cProvParam
	provParam     uintptr // rgProvParam
	keySpec       uint32  // dwKeySpec
}

func keyinfo(tp string) error {
	t, err := thumbprint.Parse(tp)
	if err != nil {
		return err
	}
	name, _ := windows.UTF16PtrFromString("My")
	store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0,
		windows.CERT_SYSTEM_STORE_CURRENT_USER|windows.CERT_STORE_READONLY_FLAG, uintptr(unsafe.Pointer(name)))
	if err != nil {
		return fmt.Errorf("CertOpenStore: %w", err)
	}
	defer windows.CertCloseStore(store, 0)
	hash := windows.CryptHashBlob{Size: uint32(len(t)), Data: &t[0]}
	ctx, err := windows.CertFindCertificateInStore(store, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING,
		0, windows.CERT_FIND_SHA1_HASH, unsafe.Pointer(&hash), nil)
	if ctx == nil {
		return fmt.Errorf("CertFindCertificateInStore: %w", err)
	}
	defer windows.CertFreeCertificateContext(ctx)
	get := windows.NewLazySystemDLL("crypt32.dll").NewProc("CertGetCertificateContextProperty")
	const certKeyProvInfoPropID = 2 // CERT_KEY_PROV_INFO_PROP_ID
	var size uint32
	if r, _, err := get.Call(uintptr(unsafe.Pointer(ctx)), certKeyProvInfoPropID, 0, uintptr(unsafe.Pointer(&size))); r == 0 {
		return fmt.Errorf("CertGetCertificateContextProperty: %w", err)
	}
	buf := make([]uint64, (size+7)/8)
	if r, _, err := get.Call(uintptr(unsafe.Pointer(ctx)), certKeyProvInfoPropID, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size))); r == 0 {
		return fmt.Errorf("CertGetCertificateContextProperty: %w", err)
	}
	info := (*cryptKeyProvInfo)(unsafe.Pointer(&buf[0]))
	fmt.Printf("container=%s\nprovider=%s\ntype=%d\nkeyspec=%d\n",
		windows.UTF16PtrToString(info.containerName), windows.UTF16PtrToString(info.provName), info.provType, info.keySpec)
	return nil
}

func container(name string) error {
	const ntBadKeyset = 0x80090016 // NTE_BAD_KEYSET
	c, _ := windows.UTF16PtrFromString(name)
	p, _ := windows.UTF16PtrFromString("Microsoft Enhanced RSA and AES Cryptographic Provider")
	var h windows.Handle
	err := windows.CryptAcquireContext(&h, c, p, windows.PROV_RSA_AES, windows.CRYPT_SILENT)
	if errors.Is(err, windows.Errno(ntBadKeyset)) {
		fmt.Printf("key container %s does not exist\n", name)
		return exitCode(3)
	}
	if err != nil {
		return fmt.Errorf("CryptAcquireContext: %w", err)
	}
	windows.CryptReleaseContext(h, 0)
	fmt.Printf("key container %s exists\n", name)
	return nil
}
