package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/certctl/certctl/platform"
)

// Method is a way of signing in.
type Method string

// The sign-in methods.
const (
	MethodCertificate      Method = "ServicePrincipalCertificate"
	MethodSecret           Method = "ServicePrincipalSecret"
	MethodManagedIdentity  Method = "ManagedIdentity"
	MethodWorkloadIdentity Method = "WorkloadIdentity"
	MethodDeviceCode       Method = "DeviceCode"
	MethodBrowser          Method = "Browser"
)

// Interactive reports whether the method needs a person.
func (m Method) Interactive() bool { return m == MethodDeviceCode || m == MethodBrowser }

// Subscription is an Azure subscription the account can use.
type Subscription struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state,omitempty"`
}

// Context is what certctl remembers of the last sign-in, so that
// 'certctl token' can get tokens again. It says where the key or secret
// lives, never what it is: no secret, token or key is ever stored in it.
type Context struct {
	Method      Method `json:"method"`
	Environment string `json:"environment"`
	Tenant      string `json:"tenant"`
	Account     string `json:"account"`
	// ClientID is the application (service principal, workload identity)
	// or the user-assigned managed identity's client id.
	ClientID string `json:"clientId,omitempty"`

	// Where the certificate is: in a store by thumbprint, or in a file.
	Thumbprint           string `json:"thumbprint,omitempty"`
	Store                string `json:"store,omitempty"`
	StoreDir             string `json:"storeDir,omitempty"`
	CertificatePath      string `json:"certificatePath,omitempty"`
	SendCertificateChain bool   `json:"sendCertificateChain,omitempty"`

	// SecretFile is where the client secret was read from, when it was a
	// file; otherwise 'certctl token' reads it from AZURE_CLIENT_SECRET or
	// stdin again.
	SecretFile string `json:"secretFile,omitempty"`

	ManagedIdentityResourceID string `json:"managedIdentityResourceId,omitempty"`
	ManagedIdentityObjectID   string `json:"managedIdentityObjectId,omitempty"`

	FederatedTokenFile string `json:"federatedTokenFile,omitempty"`

	Subscription *Subscription `json:"subscription,omitempty"`
	SignedInAt   time.Time     `json:"signedInAt"`
}

// ContextFile is the context's file name in the config folder.
const ContextFile = "context.json"

// ErrNoContext means nobody has signed in (or the context was removed).
var ErrNoContext = errors.New("not signed in")

// SaveContext writes c to configDir with mode 0600, replacing the old one
// atomically.
func SaveContext(configDir string, c *Context) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := platform.MkdirPrivate(configDir); err != nil {
		return fmt.Errorf("save sign-in context: %w", err)
	}
	if err := platform.WriteFileAtomic(configDir, ContextFile, append(data, '\n')); err != nil {
		return fmt.Errorf("save sign-in context: %w", err)
	}
	return nil
}

// LoadContext reads the context, or fails with ErrNoContext.
func LoadContext(configDir string) (*Context, error) {
	path := filepath.Join(configDir, ContextFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no sign-in context in %s; run 'certctl login' first", ErrNoContext, configDir)
	}
	if err != nil {
		return nil, fmt.Errorf("read sign-in context: %w", err)
	}
	var c Context
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("read sign-in context %s: %w; run 'certctl logout' and sign in again", path, err)
	}
	return &c, nil
}

// RemoveContext deletes the context; it reports ErrNoContext if there was
// none.
func RemoveContext(configDir string) error {
	err := os.Remove(filepath.Join(configDir, ContextFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no sign-in context in %s", ErrNoContext, configDir)
	}
	return err
}
