package certstore

import (
	"fmt"
	"strings"
	"syscall"
)

// callError is a failed Win32 call of the Windows store: which call, and the
// HRESULT it returned or left in GetLastError. Its message reads
//
//	CryptImportKey: 0x80090009 (NTE_BAD_FLAGS)
//
// so that the code can be looked up, and it unwraps to the syscall.Errno, so
// errors.Is(err, syscall.Errno(ntBadKeyset)) works. It lives in an untagged
// file so its formatting is tested on every platform.
type callError struct {
	call string
	code uint32
}

// newCallError returns the callError for call failing with code. A Win32
// error code (below 0x10000) is shown as the HRESULT that wraps it,
// HRESULT_FROM_WIN32, so every message has the same form.
func newCallError(call string, code uint32) *callError {
	if code != 0 && code < 0x10000 {
		code = 0x80070000 | code // HRESULT_FROM_WIN32
	}
	return &callError{call: call, code: code}
}

// callErr wraps the error a Win32 call gave (a syscall.Errno from
// GetLastError, or anything else) as a callError.
func callErr(call string, err error) error {
	if errno, ok := err.(syscall.Errno); ok {
		return newCallError(call, uint32(errno))
	}
	if err == nil {
		return fmt.Errorf("%s failed without an error code", call)
	}
	return fmt.Errorf("%s: %w", call, err)
}

func (e *callError) Error() string {
	return fmt.Sprintf("%s: 0x%08X (%s)", e.call, e.code, hresultName(e.code))
}

// Unwrap returns the code as a syscall.Errno: the HRESULT, and for Win32
// errors also the plain Win32 code that syscall and x/sys/windows name.
func (e *callError) Unwrap() []error {
	errs := []error{syscall.Errno(e.code)}
	if e.code&0xFFFF0000 == 0x80070000 {
		errs = append(errs, syscall.Errno(e.code&0xFFFF))
	}
	return errs
}

// hresultName is the C macro of an HRESULT that the store can meet, or the
// system's description of it in lower case when there is no macro here.
func hresultName(code uint32) string {
	if name, ok := hresultNames[code]; ok {
		return name
	}
	msg := syscall.Errno(code).Error()
	msg = strings.TrimRight(strings.TrimSpace(msg), ".")
	if msg == "" {
		return "unknown error"
	}
	return strings.ToLower(msg[:1]) + msg[1:]
}

// hresultNames are the codes from winerror.h that the crypt32, advapi32 and
// ncrypt calls of the store return.
var hresultNames = map[uint32]string{
	0x80070002: "ERROR_FILE_NOT_FOUND",
	0x80070005: "ERROR_ACCESS_DENIED",
	0x80070006: "ERROR_INVALID_HANDLE",
	0x80070008: "ERROR_NOT_ENOUGH_MEMORY",
	0x8007000E: "E_OUTOFMEMORY",
	0x80070057: "E_INVALIDARG",
	0x8007007A: "ERROR_INSUFFICIENT_BUFFER",
	0x800700EA: "ERROR_MORE_DATA",
	0x80070103: "ERROR_NO_MORE_ITEMS",
	0x800704C7: "ERROR_CANCELLED",
	0x80004001: "E_NOTIMPL",
	0x80004005: "E_FAIL",
	0x80090001: "NTE_BAD_UID",
	0x80090002: "NTE_BAD_HASH",
	0x80090003: "NTE_BAD_KEY",
	0x80090004: "NTE_BAD_LEN",
	0x80090005: "NTE_BAD_DATA",
	0x80090006: "NTE_BAD_SIGNATURE",
	0x80090007: "NTE_BAD_VER",
	0x80090008: "NTE_BAD_ALGID",
	0x80090009: "NTE_BAD_FLAGS",
	0x8009000A: "NTE_BAD_TYPE",
	0x8009000B: "NTE_BAD_KEY_STATE",
	0x8009000C: "NTE_BAD_HASH_STATE",
	0x8009000D: "NTE_NO_KEY",
	0x8009000E: "NTE_NO_MEMORY",
	0x8009000F: "NTE_EXISTS",
	0x80090010: "NTE_PERM",
	0x80090011: "NTE_NOT_FOUND",
	0x80090012: "NTE_DOUBLE_ENCRYPT",
	0x80090013: "NTE_BAD_PROVIDER",
	0x80090014: "NTE_BAD_PROV_TYPE",
	0x80090015: "NTE_BAD_PUBLIC_KEY",
	0x80090016: "NTE_BAD_KEYSET",
	0x80090017: "NTE_PROV_TYPE_NOT_DEF",
	0x80090018: "NTE_PROV_TYPE_ENTRY_BAD",
	0x80090019: "NTE_KEYSET_NOT_DEF",
	0x8009001A: "NTE_KEYSET_ENTRY_BAD",
	0x8009001B: "NTE_PROV_TYPE_NO_MATCH",
	0x8009001C: "NTE_SIGNATURE_FILE_BAD",
	0x8009001D: "NTE_PROVIDER_DLL_FAIL",
	0x8009001E: "NTE_PROV_DLL_NOT_FOUND",
	0x8009001F: "NTE_BAD_KEYSET_PARAM",
	0x80090020: "NTE_FAIL",
	0x80090021: "NTE_SYS_ERR",
	0x80090022: "NTE_SILENT_CONTEXT",
	0x80090023: "NTE_TOKEN_KEYSET_STORAGE_FULL",
	0x80090024: "NTE_TEMPORARY_PROFILE",
	0x80090025: "NTE_FIXEDPARAMETER",
	0x80090026: "NTE_INVALID_HANDLE",
	0x80090027: "NTE_INVALID_PARAMETER",
	0x80090028: "NTE_BUFFER_TOO_SMALL",
	0x80090029: "NTE_NOT_SUPPORTED",
	0x8009002A: "NTE_NO_MORE_ITEMS",
	0x8009002B: "NTE_BUFFERS_OVERLAP",
	0x8009002C: "NTE_DECRYPTION_FAILURE",
	0x8009002D: "NTE_INTERNAL_ERROR",
	0x8009002E: "NTE_UI_REQUIRED",
	0x8009002F: "NTE_HMAC_NOT_SUPPORTED",
	0x80090030: "NTE_DEVICE_NOT_READY",
	0x80090031: "NTE_AUTHENTICATION_IGNORED",
	0x80090032: "NTE_VALIDATION_FAILED",
	0x80090033: "NTE_INCORRECT_PASSWORD",
	0x80090034: "NTE_ENCRYPTION_FAILURE",
	0x80090035: "NTE_DEVICE_NOT_FOUND",
	0x80090036: "NTE_USER_CANCELLED",
	0x80092001: "CRYPT_E_BAD_LEN",
	0x80092002: "CRYPT_E_BAD_ENCODE",
	0x80092003: "CRYPT_E_FILE_ERROR",
	0x80092004: "CRYPT_E_NOT_FOUND",
	0x80092005: "CRYPT_E_EXISTS",
	0x80092006: "CRYPT_E_NO_PROVIDER",
	0x80092007: "CRYPT_E_SELF_SIGNED",
	0x80092008: "CRYPT_E_DELETED_PREV",
	0x80092009: "CRYPT_E_NO_MATCH",
	0x8009200B: "CRYPT_E_NO_KEY_PROPERTY",
	0x8009200F: "CRYPT_E_PENDING_CLOSE",
	0x80093000: "OSS_MORE_BUF",
	0x80093100: "CRYPT_E_ASN1_ERROR",
}
