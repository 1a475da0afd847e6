package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"golang.org/x/net/idna"

	"github.com/certctl/certctl/platform"
)

// Environment is an Azure cloud: where its Entra ID authority, its Resource
// Manager and its Microsoft Graph are.
type Environment struct {
	Name            string `json:"name"`
	AuthorityHost   string `json:"authorityHost"`
	ResourceManager string `json:"resourceManagerEndpoint"`
	// Graph is Microsoft Graph's base URL; a registered environment may
	// have none, and then has no Graph.
	Graph string `json:"graphEndpoint,omitempty"`
	// KeyVaultSuffix is the DNS suffix of the cloud's key vaults, such as
	// vault.azure.net: a vault is https://NAME.KeyVaultSuffix. A
	// registered environment may have none, and then has no Key Vault.
	KeyVaultSuffix string `json:"keyVaultDnsSuffix,omitempty"`
	// Custom is true for environments registered with AddEnvironment.
	Custom bool `json:"custom"`
	// Aliases are the other host names Entra ID's instance discovery
	// declares for the authority, as host or host:port; credentials may
	// go to them too. Registered environments have none.
	Aliases []string `json:"-"`
}

// DefaultEnvironment is the public Azure cloud.
const DefaultEnvironment = "AzureCloud"

// builtinEnvironments are Azure's public clouds, named as Azure PowerShell
// names them.
// Their aliases are those Entra ID's instance discovery
// (https://login.microsoftonline.com/common/discovery/instance) declares.
var builtinEnvironments = []Environment{
	{
		Name: "AzureCloud", AuthorityHost: "https://login.microsoftonline.com/", ResourceManager: "https://management.azure.com/",
		Graph:          "https://graph.microsoft.com/",
		KeyVaultSuffix: "vault.azure.net",
		Aliases:        []string{"login.windows.net", "login.microsoft.com", "sts.windows.net"},
	},
	{
		Name: "AzureChinaCloud", AuthorityHost: "https://login.chinacloudapi.cn/", ResourceManager: "https://management.chinacloudapi.cn/",
		Graph:          "https://microsoftgraph.chinacloudapi.cn/",
		KeyVaultSuffix: "vault.azure.cn",
		Aliases:        []string{"login.partner.microsoftonline.cn"},
	},
	{
		Name: "AzureUSGovernment", AuthorityHost: "https://login.microsoftonline.us/", ResourceManager: "https://management.usgovcloudapi.net/",
		Graph:          "https://graph.microsoft.us/",
		KeyVaultSuffix: "vault.usgovcloudapi.net",
		Aliases:        []string{"login.usgovcloudapi.net"},
	},
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

// ErrNoGraph is matched when an environment has no Microsoft Graph endpoint.
var ErrNoGraph = errors.New("no Microsoft Graph endpoint")

// GraphScope is the scope of a Microsoft Graph token; it fails with
// ErrNoGraph for an environment registered without a Graph endpoint.
func (e Environment) GraphScope() (string, error) {
	if e.Graph == "" {
		return "", fmt.Errorf("environment %s: %w", e.Name, ErrNoGraph)
	}
	return strings.TrimSuffix(e.Graph, "/") + "/.default", nil
}

// ErrNoKeyVault is matched when an environment has no Key Vault DNS suffix.
var ErrNoKeyVault = errors.New("no Key Vault DNS suffix")

// VaultHost reports whether host (a URL's host, with or without a port)
// names a key vault of the environment: NAME.KeyVaultSuffix, with a
// single label for NAME, as Key Vault names vaults.
func (e Environment) VaultHost(host string) bool {
	if e.KeyVaultSuffix == "" {
		return false
	}
	name, ok := strings.CutSuffix(strings.ToLower(host), "."+e.KeyVaultSuffix)
	return ok && name != "" && !strings.Contains(name, ".")
}

// BuiltinEnvironments returns the built-in clouds, for messages that say
// which cloud a URL belongs to.
func BuiltinEnvironments() []Environment {
	return append([]Environment{}, builtinEnvironments...)
}

// TokenEndpoint is the tenant's OAuth 2.0 token endpoint, the audience of a
// client assertion.
func (e Environment) TokenEndpoint(tenant string) string {
	return strings.TrimSuffix(e.AuthorityHost, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// AuthorizeEndpoint is the tenant's OAuth 2.0 authorization endpoint, the
// sign-in page of the authorization code flow.
func (e Environment) AuthorizeEndpoint(tenant string) string {
	return strings.TrimSuffix(e.AuthorityHost, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/authorize"
}

// DeviceCodeEndpoint is the tenant's device authorization endpoint.
func (e Environment) DeviceCodeEndpoint(tenant string) string {
	return strings.TrimSuffix(e.AuthorityHost, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/devicecode"
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
	return Environment{}, fmt.Errorf("%w %q: known environments are %s", ErrUnknownEnvironment, name, strings.Join(names, ", "))
}

// AddEnvironment registers (or replaces) a custom environment, for Azure
// Stack Hub, private clouds and local test endpoints. Both URLs must be
// https, with no user name, password, query or fragment; their paths are
// kept exactly as given, and a path certctl could not keep so (dot
// segments, percent-encoding, empty segments) is refused. A host name
// outside ASCII is stored in its punycode (IDNA) form.
func AddEnvironment(configDir string, env Environment) error {
	if err := validName(env.Name); err != nil {
		return fmt.Errorf("environment name %.80q %v", env.Name, err)
	}
	for _, b := range builtinEnvironments {
		if strings.EqualFold(b.Name, env.Name) {
			return fmt.Errorf("environment %s is built in and cannot be replaced; pick another name", b.Name)
		}
	}
	var err error
	if env.AuthorityHost, err = checkEndpoint(FieldAuthorityHost, env.AuthorityHost); err != nil {
		return err
	}
	if env.ResourceManager, err = checkEndpoint(FieldResourceManager, env.ResourceManager); err != nil {
		return err
	}
	if env.Graph != "" {
		if env.Graph, err = checkEndpoint(FieldGraph, env.Graph); err != nil {
			return err
		}
	}
	if env.KeyVaultSuffix != "" {
		if env.KeyVaultSuffix, err = checkSuffix(env.KeyVaultSuffix); err != nil {
			return err
		}
	}
	env.Custom, env.Aliases = true, nil
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
		return fmt.Errorf("%w %.80q: only registered environments can be removed", ErrUnknownEnvironment, name)
	}
	return saveCustom(configDir, kept)
}

// validName accepts environment names of letters, digits, '.', '-' and
// '_', up to 64 characters.
func validName(n string) error {
	if n == "" || len(n) > 64 || strings.IndexFunc(n, func(r rune) bool {
		return !(r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return errors.New("is not a name of up to 64 letters, digits, '.', '-' and '_'")
	}
	return nil
}

// maxURLLength bounds an endpoint URL.
const maxURLLength = 2048

// The fields of an Environment that hold endpoint URLs, as
// EndpointURLError names them.
const (
	FieldAuthorityHost   = "authorityHost"
	FieldResourceManager = "resourceManagerEndpoint"
	FieldGraph           = "graphEndpoint"
	FieldKeyVaultSuffix  = "keyVaultDnsSuffix"
)

// EndpointURLError is an environment endpoint URL that certctl cannot use.
// Field is one of the Field constants; URL has any password redacted.
type EndpointURLError struct {
	Field, URL, Problem string
}

func (e *EndpointURLError) Error() string {
	return fmt.Sprintf("%s %.200q: %s", e.Field, e.URL, e.Problem)
}

// checkEndpoint checks an environment's endpoint URL and returns it with
// its host name in ASCII. Errors are *EndpointURLError for field.
func checkEndpoint(field, s string) (string, error) {
	shown := s
	fail := func(why string) (string, error) {
		return "", &EndpointURLError{Field: field, URL: shown, Problem: why}
	}
	if len(s) > maxURLLength {
		return fail(fmt.Sprintf("longer than %d characters", maxURLLength))
	}
	u, err := url.Parse(s)
	if err == nil && u.User != nil {
		shown = u.Redacted() // the password is not repeated in the message
	}
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return fail("give an https URL such as https://login.example.com/")
	case u.User != nil:
		return fail("a URL with a user name or password would send them with every request; leave them out")
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "?"):
		return fail("leave out the query string: certctl adds the paths and queries it needs")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fail("leave out the fragment (#...)")
	}
	if why := pathProblem(u.Path); why != "" || u.RawPath != "" {
		if why == "" {
			why = "percent-encoding"
		}
		return fail("certctl keeps paths exactly as given and cannot keep this one (" + why + "); give a plain path such as /adfs/")
	}
	host := u.Hostname()
	if net.ParseIP(host) == nil {
		if host, err = idna.Lookup.ToASCII(host); err != nil || host == "" {
			return fail("the host name is not a valid domain name or address")
		}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fail("the port is not a number from 1 to 65535")
		}
		host = net.JoinHostPort(host, p)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "https://" + host + u.Path, nil
}

// checkSuffix checks a DNS suffix such as vault.azure.net and returns it in
// lower-case ASCII. Errors are *EndpointURLError for FieldKeyVaultSuffix.
func checkSuffix(s string) (string, error) {
	fail := func(why string) (string, error) {
		return "", &EndpointURLError{Field: FieldKeyVaultSuffix, URL: s, Problem: why}
	}
	if len(s) > 253 {
		return fail("longer than 253 characters")
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimPrefix(s, "."))
	switch {
	case err != nil || ascii == "" || net.ParseIP(ascii) != nil:
		return fail("give a DNS suffix such as vault.azure.net: the vaults are https://NAME.<suffix>")
	case !strings.Contains(ascii, "."):
		return fail("give at least two labels, such as vault.local.azurestack.external")
	}
	return strings.ToLower(ascii), nil
}

// pathProblem says why a URL path cannot be kept as it is, or "".
func pathProblem(p string) string {
	if p == "" {
		return ""
	}
	if strings.IndexFunc(p, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '~' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return "characters other than letters, digits, '/', '.', '-', '_' and '~'"
	}
	for _, seg := range strings.Split(p, "/")[1:] {
		switch seg {
		case ".", "..":
			return "dot segments"
		}
	}
	if strings.Contains(p, "//") {
		return "empty segments"
	}
	return ""
}

func loadCustom(configDir string) ([]Environment, error) {
	path := filepath.Join(configDir, environmentsFile)
	data, err := platform.ReadConfigFile(configDir, environmentsFile, maxConfigSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if errors.Is(err, platform.ErrNotRegular) || errors.Is(err, platform.ErrTooLarge) {
		return nil, fmt.Errorf("read registered environments: %w: %w", ErrMalformed, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read registered environments: %w", err)
	}
	var list []Environment
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("read registered environments from %s: %w: %w", path, ErrMalformed, err)
	}
	seen := map[string]bool{}
	for _, b := range builtinEnvironments {
		seen[strings.ToLower(b.Name)] = true
	}
	for i := range list {
		e := &list[i]
		if err := validName(e.Name); err != nil {
			return nil, fmt.Errorf("read registered environments from %s: %w: name %.80q %v", path, ErrMalformed, e.Name, err)
		}
		if seen[strings.ToLower(e.Name)] {
			return nil, fmt.Errorf("read registered environments from %s: %w: %s is there twice, or is a built-in name", path, ErrMalformed, e.Name)
		}
		seen[strings.ToLower(e.Name)] = true
		for _, u := range []struct{ field, value string }{{FieldAuthorityHost, e.AuthorityHost}, {FieldResourceManager, e.ResourceManager}, {FieldGraph, e.Graph}} {
			if u.field == FieldGraph && u.value == "" {
				continue
			}
			if ok, err := checkEndpoint(u.field, u.value); err != nil || ok != u.value {
				if err == nil {
					err = fmt.Errorf("%s %q is not in the form certctl saves", u.field, u.value)
				}
				return nil, fmt.Errorf("read registered environments from %s: %w: environment %s: %w", path, ErrMalformed, e.Name, err)
			}
		}
		if e.KeyVaultSuffix != "" {
			if ok, err := checkSuffix(e.KeyVaultSuffix); err != nil || ok != e.KeyVaultSuffix {
				if err == nil {
					err = fmt.Errorf("%s %q is not in the form certctl saves", FieldKeyVaultSuffix, e.KeyVaultSuffix)
				}
				return nil, fmt.Errorf("read registered environments from %s: %w: environment %s: %w", path, ErrMalformed, e.Name, err)
			}
		}
		e.Custom, e.Aliases = true, nil
	}
	return list, nil
}

func saveCustom(configDir string, list []Environment) error {
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return platform.WriteConfigFile(configDir, environmentsFile, append(data, '\n'))
}
