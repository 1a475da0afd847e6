package certstore

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCallError(t *testing.T) {
	err := fmt.Errorf("import: %w", newCallError("CryptImportKey", 0x80090009))
	assert.Equal(t, "import: CryptImportKey: 0x80090009 (NTE_BAD_FLAGS)", err.Error())
	assert.True(t, errors.Is(err, syscall.Errno(0x80090009)))

	// A Win32 error is shown as its HRESULT and matches both codes.
	err = callErr("CertOpenStore", syscall.Errno(2))
	assert.Equal(t, "CertOpenStore: 0x80070002 (ERROR_FILE_NOT_FOUND)", err.Error())
	assert.True(t, errors.Is(err, syscall.Errno(2)))
	assert.True(t, errors.Is(err, syscall.Errno(0x80070002)))

	assert.Equal(t, "CryptSignHash: 0x80090008 (NTE_BAD_ALGID)", callErr("CryptSignHash", syscall.Errno(0x80090008)).Error())
	assert.Equal(t, "CertCloseStore failed without an error code", callErr("CertCloseStore", nil).Error())
	other := errors.New("boom")
	assert.True(t, errors.Is(callErr("NCryptOpenKey", other), other))
}
