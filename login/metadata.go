package login

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/certctl/certctl/platform"
)

// A tenant's OpenID Connect discovery document says where its token
// endpoint is. The non-interactive sign-ins (certificate, client secret,
// workload identity, refresh token) read it before their first token
// request, as MSAL does, and keep what they need of it in MetadataFile in
// the config folder (Options.MetadataDir), so that the next sign-in of
// the tenant makes one request instead of two.
//
// The file holds only public data, the endpoints and the issuer, with the
// time they were fetched. An entry is used for MetadataMaxAge, and it is
// fetched again at once when a token request fails in a way that may mean
// the endpoint moved. An entry passes the same checks when it is read from
// the file as when it was fetched: the endpoints must be https on the
// authority's host or an alias, and the issuer too.

// MetadataFile keeps the discovery metadata, in the config folder.
const MetadataFile = "openid-configuration.json"

// MetadataMaxAge is how long discovery metadata is used before it is
// fetched again.
const MetadataMaxAge = 24 * time.Hour

// maxMetadataEntries bounds MetadataFile: the authorities used most
// recently are kept.
const maxMetadataEntries = 64

// Metadata is what certctl keeps of a tenant's discovery document.
type Metadata struct {
	// Authority is the tenant's authority, https://HOST/TENANT, whose
	// document this is.
	Authority                   string    `json:"authority"`
	Issuer                      string    `json:"issuer"`
	TokenEndpoint               string    `json:"token_endpoint"`
	AuthorizationEndpoint       string    `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint string    `json:"device_authorization_endpoint,omitempty"`
	FetchedAt                   time.Time `json:"fetched_at"`
}

type metadataFile struct {
	Authorities []Metadata `json:"authorities"`
}

// authority is the tenant's authority URL, the key of its metadata.
func (c *oauth) authority() string {
	return strings.TrimSuffix(c.o.Environment.AuthorityHost, "/") + "/" + url.PathEscape(c.o.Tenant)
}

// metadata returns the tenant's discovery metadata: from MetadataFile when
// it holds a usable entry and refresh is false (cached is then true),
// otherwise fetched. The caller saves fetched metadata with
// saveMetadata once a token request has shown it works.
func (c *oauth) metadata(ctx context.Context, refresh bool) (m *Metadata, cached bool, err error) {
	authority := c.authority()
	if !refresh {
		if m := c.cachedMetadata(authority); m != nil {
			return m, true, nil
		}
	}
	m, err = c.fetchMetadata(ctx, authority)
	return m, false, err
}

// cachedMetadata is the entry of MetadataFile for authority, if it is
// there, recent enough, and passes the checks; nil otherwise. A file that
// cannot be read or trusted counts as no entry: the document is fetched
// again and the file replaced.
func (c *oauth) cachedMetadata(authority string) *Metadata {
	if c.o.MetadataDir == "" {
		return nil
	}
	f := readMetadataFile(c.o.MetadataDir)
	now := c.o.now()
	for i := range f.Authorities {
		m := &f.Authorities[i]
		if m.Authority != authority {
			continue
		}
		age := now.Sub(m.FetchedAt)
		// A time in the future is a clock that was set back: the age
		// is unknown.
		if age >= MetadataMaxAge || age < -5*time.Minute {
			return nil
		}
		if c.checkMetadata(m) != nil {
			return nil
		}
		return m
	}
	return nil
}

func readMetadataFile(dir string) metadataFile {
	var f metadataFile
	data, err := platform.ReadConfigFile(dir, MetadataFile, maxConfigSize)
	if err != nil || json.Unmarshal(data, &f) != nil {
		return metadataFile{}
	}
	return f
}

// saveMetadata records m in MetadataFile. The file is a cache: when it
// cannot be written, the next sign-in fetches the document again, so the
// error is not the sign-in's and is dropped.
func (c *oauth) saveMetadata(m *Metadata) {
	if c.o.MetadataDir == "" {
		return
	}
	f := readMetadataFile(c.o.MetadataDir)
	kept := []Metadata{*m}
	for _, o := range f.Authorities {
		if o.Authority != m.Authority {
			kept = append(kept, o)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].FetchedAt.After(kept[j].FetchedAt) })
	if len(kept) > maxMetadataEntries {
		kept = kept[:maxMetadataEntries]
	}
	data, err := json.MarshalIndent(metadataFile{Authorities: kept}, "", "  ")
	if err != nil {
		return
	}
	_ = platform.WriteConfigFile(c.o.MetadataDir, MetadataFile, append(data, '\n'))
}

// fetchMetadata reads the discovery document of authority through the
// guard, which refuses a document naming an endpoint it would refuse, and
// checks what certctl keeps of it.
func (c *oauth) fetchMetadata(ctx context.Context, authority string) (*Metadata, error) {
	req, err := runtime.NewRequest(ctx, http.MethodGet, authority+"/v2.0/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	c.g.reset()
	resp, err := c.pl.Do(req)
	if r := c.g.failed(); r != nil {
		return nil, r
	}
	if err != nil {
		return nil, Explain(err, c.o)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fromResponse(resp)
	}
	host := resp.Request.URL.Host
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoverySize+1))
	if err != nil {
		return nil, explainNetwork(err, host)
	}
	var doc struct {
		Issuer                      string `json:"issuer"`
		TokenEndpoint               string `json:"token_endpoint"`
		AuthorizationEndpoint       string `json:"authorization_endpoint"`
		DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	}
	if len(body) > maxDiscoverySize || json.Unmarshal(body, &doc) != nil {
		return nil, &ServiceError{Host: host, Problem: "sent a discovery document that is not valid JSON"}
	}
	// As MSAL does, for the documents of /organizations and /common.
	tenant := func(s string) string { return strings.ReplaceAll(s, "{tenant}", c.o.Tenant) }
	m := &Metadata{
		Authority:                   authority,
		Issuer:                      tenant(doc.Issuer),
		TokenEndpoint:               tenant(doc.TokenEndpoint),
		AuthorizationEndpoint:       tenant(doc.AuthorizationEndpoint),
		DeviceAuthorizationEndpoint: tenant(doc.DeviceAuthorizationEndpoint),
		FetchedAt:                   c.o.now().UTC(),
	}
	if err := c.checkMetadata(m); err != nil {
		return nil, err
	}
	return m, nil
}

// checkMetadata applies to metadata, fetched or read from the file, the
// checks of a discovery document: MSAL's (a token endpoint, an
// authorization endpoint and an issuer; the issuer on the authority's
// host, an alias, or another Entra ID authority) and the guard's (every
// endpoint https on the authority's host or an alias).
func (c *oauth) checkMetadata(m *Metadata) error {
	source := hostOf(m.Authority)
	for _, f := range []struct{ name, value string }{
		{"token_endpoint", m.TokenEndpoint},
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"issuer", m.Issuer},
	} {
		if f.value == "" {
			return &ServiceError{Host: source, Problem: fmt.Sprintf("sent a discovery document without %s", f.name)}
		}
	}
	for _, f := range []struct{ name, value string }{
		{"token_endpoint", m.TokenEndpoint},
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"device_authorization_endpoint", m.DeviceAuthorizationEndpoint},
	} {
		if f.value == "" {
			continue
		}
		if err := c.g.checkEndpoint(source, f.name, f.value); err != nil {
			return err
		}
	}
	u, err := url.Parse(m.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || !(c.g.authority[canonicalHost(u)] || entraAuthority(u)) {
		return c.g.refuse(source, "the discovery document of %s names the issuer %.200q, which is not https on the authority's host %s, an alias of it or another Entra ID authority", source, m.Issuer, c.g.authorityName)
	}
	return nil
}

// entraAuthority reports whether u is on the host of a built-in cloud's
// authority or one of its aliases, which MSAL trusts as an issuer.
func entraAuthority(u *url.URL) bool {
	host := canonicalHost(u)
	for _, e := range builtinEnvironments {
		for _, h := range append([]string{hostOf(e.AuthorityHost)}, e.Aliases...) {
			if canonicalHost(&url.URL{Scheme: "https", Host: h}) == host {
				return true
			}
		}
	}
	return false
}
