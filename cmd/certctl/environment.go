package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/net/idna"

	"github.com/certctl/certctl/login"
)

func (h *handlers) environmentCommand() *cli.Command {
	return &cli.Command{
		Name:  "environment",
		Usage: "list the Azure clouds certctl can sign in to, or register one",
		Description: `AzureCloud (the default), AzureChinaCloud and AzureUSGovernment are built in.
Register Azure Stack Hub, a private cloud or a test endpoint with 'add'; it is
kept in certctl's config folder.

Examples:
   certctl environment list
   certctl environment add AzureStackUser --authority-host https://login.local.azurestack.external/ --resource-manager-endpoint https://management.local.azurestack.external/ --graph-endpoint https://graph.local.azurestack.external/ --key-vault-suffix vault.local.azurestack.external`,
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list built-in and registered environments",
				Description: `Shows each cloud's name, Entra ID authority, Resource Manager and Microsoft
Graph endpoints and Key Vault DNS suffix, and whether it is built in or
registered.

Examples:
   certctl environment list
   certctl environment list --output json`,
				Flags:  []cli.Flag{outputFlag()},
				Action: h.environmentList,
			},
			{
				Name:      "add",
				Usage:     "register a custom environment",
				ArgsUsage: "NAME",
				Description: `Registers a cloud by its endpoints, for 'login --environment NAME': Azure
Stack Hub, a private cloud or a test endpoint. Every URL must be https, with no
user name, password, query or fragment. Adding a name that exists replaces it;
the built-in clouds cannot be replaced.

Examples:
   certctl environment add AzureStackUser --authority-host https://login.local.azurestack.external/ --resource-manager-endpoint https://management.local.azurestack.external/
   certctl environment add Sovereign --authority-host https://login.example.net/ --resource-manager-endpoint https://management.example.net/ --graph-endpoint https://graph.example.net/ --key-vault-suffix vault.example.net`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "authority-host", Usage: "Entra ID authority `URL` (https)"},
					&cli.StringFlag{Name: "resource-manager-endpoint", Usage: "Azure Resource Manager `URL` (https)"},
					&cli.StringFlag{Name: "graph-endpoint", Usage: "Microsoft Graph `URL` (https), for 'app credential' and 'rotate'"},
					&cli.StringFlag{Name: "key-vault-suffix", Usage: "DNS `SUFFIX` of the cloud's key vaults (vaults are https://NAME.SUFFIX), for 'import --from-keyvault' and 'sync'"},
				},
				Action: h.environmentAdd,
			},
			{
				Name:      "remove",
				Usage:     "forget a registered environment",
				ArgsUsage: "NAME",
				Description: `Forgets a registered cloud. The built-in clouds cannot be removed; saved
sign-ins to the cloud stop working until it is added again.

Example:
   certctl environment remove AzureStackUser`,
				Action: h.environmentRemove,
			},
		},
	}
}

func (h *handlers) environmentList(c *cli.Context) error {
	format, err := startCommand(c, 0, 0, "")
	if err != nil {
		return err
	}
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	envs, err := login.Environments(dir)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(h.env.stdout, envs)
	}
	t := newTable(h.env.stdout, "NAME", "AUTHORITY HOST", "RESOURCE MANAGER", "GRAPH", "KEY VAULT", "CUSTOM")
	for _, e := range envs {
		custom := "no"
		if e.Custom {
			custom = "yes"
		}
		t.row(e.Name, showURL(e.AuthorityHost), showURL(e.ResourceManager), dash(showURL(e.Graph)), dash(e.KeyVaultSuffix), custom)
	}
	return t.flush()
}

// showURL is an endpoint as certctl stores it, with the host in ASCII,
// followed by the Unicode form of a host name that has punycode labels,
// so that a look-alike host (a Cyrillic 'о' for an 'o') shows.
func showURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || !strings.Contains(u.Hostname(), "xn--") {
		return s
	}
	uni, err := idna.Lookup.ToUnicode(u.Hostname())
	if err != nil || uni == u.Hostname() {
		return s
	}
	return s + " (" + uni + ")"
}

func (h *handlers) environmentAdd(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "NAME"); err != nil {
		return err
	}
	if c.String("authority-host") == "" || c.String("resource-manager-endpoint") == "" {
		return &usageError{msg: "environment add: give both --authority-host URL and --resource-manager-endpoint URL"}
	}
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	e := login.Environment{Name: c.Args().First(), AuthorityHost: c.String("authority-host"), ResourceManager: c.String("resource-manager-endpoint"), Graph: c.String("graph-endpoint"), KeyVaultSuffix: c.String("key-vault-suffix")}
	if err := login.AddEnvironment(dir, e); err != nil {
		var ue *login.EndpointURLError
		if errors.As(err, &ue) {
			// Say it in the user's terms: the flag that took the URL.
			err = fmt.Errorf("%s %.200q: %s", endpointFlags[ue.Field], ue.URL, ue.Problem)
		}
		return badInput(err)
	}
	if e, err = login.FindEnvironment(dir, e.Name); err != nil {
		return err
	}
	graph := ""
	if e.Graph != "" {
		graph = ", Microsoft Graph " + showURL(e.Graph)
	}
	if e.KeyVaultSuffix != "" {
		graph += ", key vaults *." + e.KeyVaultSuffix
	}
	h.env.infof("registered environment %s: authority %s, Resource Manager %s%s; sign in with: certctl login --environment %s ...", e.Name, showURL(e.AuthorityHost), showURL(e.ResourceManager), graph, e.Name)
	return nil
}

func (h *handlers) environmentRemove(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "NAME"); err != nil {
		return err
	}
	dir, err := h.configDir()
	if err != nil {
		return err
	}
	if err := login.RemoveEnvironment(dir, c.Args().First()); err != nil {
		return badInput(err)
	}
	h.env.infof("removed environment %s", c.Args().First())
	return nil
}

// endpointFlags names the flag of each endpoint field of an environment.
var endpointFlags = map[string]string{
	login.FieldAuthorityHost:   "--authority-host",
	login.FieldResourceManager: "--resource-manager-endpoint",
	login.FieldGraph:           "--graph-endpoint",
	login.FieldKeyVaultSuffix:  "--key-vault-suffix",
}

// environmentFlag picks the cloud.
func environmentFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "environment",
		Usage: fmt.Sprintf("Azure cloud `NAME`: %s, AzureChinaCloud, AzureUSGovernment or one registered with 'certctl environment add'", login.DefaultEnvironment),
		Value: login.DefaultEnvironment,
	}
}
