package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/certctl/certctl/platform"
)

// Environment is an Azure cloud: where its Entra ID authority and its Resource
// Manager are.
type Environment struct {
	Name            string `json:"name"`
	AuthorityHost   string `json:"authorityHost"`
	ResourceManager string `json:"resourceManagerEndpoint"`
	// Custom is true for environments registered with AddEnvironment.
	Custom bool `json:"custom"`
}

// DefaultEnvironment is the public Azure cloud.
const DefaultEnvironment = "AzureCloud"

// builtinEnvironments are Azure's public clouds, named as Azure PowerShell
// names them.
var builtinEnvironments = []Environment{
	{Name: "AzureCloud", AuthorityHost: "https://login.microsoftonline.com/", ResourceManager: "https://management.azure.com/"},
	{Name: "AzureChinaCloud", AuthorityHost: "https://login.chinacloudapi.cn/", ResourceManager: "https://management.chinacloudapi.cn/"},
	{Name: "AzureUSGovernment", AuthorityHost: "https://login.microsoftonline.us/", ResourceManager: "https://management.usgovcloudapi.net/"},
}

// ErrUnknownEnvironment means no built-in or registered environment has the
// name.
var ErrUnknownEnvironment = errors.New("unknown environment")

// environmentsFile is where registered environments are kept, in the
// config folder.
const environmentsFile = "environments.json"

// cloudConfig is the environment as azcore describes a cloud.
func (e Environment) cloudConfig() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: e.AuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Audience: e.ResourceManager, Endpoint: e.ResourceManager},
		},
	}
}

// ManagementScope is the scope of a Resource Manager token.
func (e Environment) ManagementScope() string {
	return strings.TrimSuffix(e.ResourceManager, "/") + "/.default"
}

// TokenEndpoint is the tenant's OAuth 2.0 token endpoint, the audience of a
// client assertion.
func (e Environment) TokenEndpoint(tenant string) string {
	return strings.TrimSuffix(e.AuthorityHost, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// Environments lists the built-in environments, then those registered in
// configDir, by name.
func Environments(configDir string) ([]Environment, error) {
	custom, err := loadCustom(configDir)
	if err != nil {
		return nil, err
	}
	return append(append([]Environment{}, builtinEnvironments...), custom...), nil
}

// FindEnvironment returns the environment called name, in any case.
func FindEnvironment(configDir, name string) (Environment, error) {
	if name == "" {
		name = DefaultEnvironment
	}
	all, err := Environments(configDir)
	if err != nil {
		return Environment{}, err
	}
	names := make([]string, len(all))
	for i, e := range all {
		if strings.EqualFold(e.Name, name) {
			return e, nil
		}
		names[i] = e.Name
	}
	return Environment{}, fmt.Errorf("%w %q: known environments are %s; register another with 'certctl environment add'", ErrUnknownEnvironment, name, strings.Join(names, ", "))
}

// AddEnvironment registers (or replaces) a custom environment, for Azure
// Stack Hub, private clouds and local test endpoints. Both URLs must be
// https: Entra ID clients refuse anything else.
func AddEnvironment(configDir string, env Environment) error {
	if env.Name == "" || strings.ContainsAny(env.Name, " \t\n/\\") {
		return fmt.Errorf("environment name %q: use a name without spaces or slashes", env.Name)
	}
	for _, b := range builtinEnvironments {
		if strings.EqualFold(b.Name, env.Name) {
			return fmt.Errorf("environment %s is built in and cannot be replaced; pick another name", b.Name)
		}
	}
	var err error
	if env.AuthorityHost, err = httpsURL("--authority-host", env.AuthorityHost); err != nil {
		return err
	}
	if env.ResourceManager, err = httpsURL("--resource-manager-endpoint", env.ResourceManager); err != nil {
		return err
	}
	env.Custom = true
	custom, err := loadCustom(configDir)
	if err != nil {
		return err
	}
	kept := custom[:0]
	for _, c := range custom {
		if !strings.EqualFold(c.Name, env.Name) {
			kept = append(kept, c)
		}
	}
	return saveCustom(configDir, append(kept, env))
}

// RemoveEnvironment deletes a registered environment.
func RemoveEnvironment(configDir, name string) error {
	custom, err := loadCustom(configDir)
	if err != nil {
		return err
	}
	kept := custom[:0]
	for _, c := range custom {
		if !strings.EqualFold(c.Name, name) {
			kept = append(kept, c)
		}
	}
	if len(kept) == len(custom) {
		return fmt.Errorf("%w %q: only registered environments can be removed", ErrUnknownEnvironment, name)
	}
	return saveCustom(configDir, kept)
}

func httpsURL(flag, s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%s %q: give an https URL such as https://login.example.com/", flag, s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

func loadCustom(configDir string) ([]Environment, error) {
	data, err := os.ReadFile(filepath.Join(configDir, environmentsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read registered environments: %w", err)
	}
	var list []Environment
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("read registered environments from %s: %w", filepath.Join(configDir, environmentsFile), err)
	}
	for i := range list {
		list[i].Custom = true
	}
	return list, nil
}

func saveCustom(configDir string, list []Environment) error {
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := platform.MkdirPrivate(configDir); err != nil {
		return err
	}
	return platform.WriteFileAtomic(configDir, environmentsFile, append(data, '\n'))
}
