//go:build !windows

package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/thumbprint"
)

// fleet is a vault and machines that sync from it: each machine has a store
// and a config folder of its own, with a sign-in as an application allowed
// to read the vault's certificates, reached through the fake's proxy.
type fleet struct {
	t *testing.T
	// bin is the certctl the machines run: this test binary, unless the
	// test builds one (releaseBinary).
	bin    string
	fake   *logintest.Server
	vault  string
	base   []string // the environment every machine shares
	config string   // the config folder each machine starts with a copy of
	dir    string
}

const fleetApp = "a1c0ce27-0000-4000-8000-0000000000f1"

func newFleet(t *testing.T) *fleet {
	t.Helper()
	fake := logintest.New(t)
	dir := t.TempDir()
	ca, err := fake.WriteCA(dir)
	require.NoError(t, err)
	secret := filepath.Join(dir, "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("fleet-secret-"+fmt.Sprint(time.Now().UnixNano())+"\n"), 0o600))
	data, err := os.ReadFile(secret)
	require.NoError(t, err)
	fake.RegisterSecret(fleetApp, strings.TrimSpace(string(data)))
	fake.GrantKeyVault("fleet", fleetApp, logintest.KeyVaultCertificateUser)
	f := &fleet{
		t: t, fake: fake, bin: "certctl", vault: fake.VaultURL("fleet"), dir: dir, config: filepath.Join(dir, "config"),
		base: append(os.Environ(), "SSL_CERT_FILE="+ca, "SSL_CERT_DIR="+dir, "HTTPS_PROXY="+fake.ProxyURL(), "HOME="+dir),
	}
	m := f.machine("template")
	m.run(0, "environment", "add", "Fake", "--authority-host", fake.AuthorityHost(), "--resource-manager-endpoint", fake.ResourceManager(), "--key-vault-suffix", logintest.KeyVaultSuffix)
	m.run(0, "login", "--service-principal", "--tenant", fake.Tenant, "--application-id", fleetApp, "--client-secret-file", secret, "--environment", "Fake")
	f.config = m.config
	return f
}

// put adds a new version of the vault's certificate name and returns its
// thumbprint.
func (f *fleet) put(name string) string {
	b, err := testcert.New("fleet "+name, testcert.Options{Key: "ecdsa"})
	require.NoError(f.t, err)
	f.fake.PutKeyVaultCertificate("fleet", name, b, logintest.KeyVaultCertificateOptions{})
	return thumbprint.Of(b.Leaf).String()
}

// machine is one member of the fleet.
type machine struct {
	t             *testing.T
	bin           string
	store, config string
	env           []string
}

// machine makes machine name, with a copy of the fleet's config folder
// (none for the template, which makes it).
func (f *fleet) machine(name string) *machine {
	root := filepath.Join(f.dir, name)
	m := &machine{t: f.t, bin: f.bin, store: filepath.Join(root, "store"), config: filepath.Join(root, "config")}
	if name != "template" {
		require.NoError(f.t, os.MkdirAll(m.config, 0o700))
		for _, file := range []string{"environments.json", "contexts.json"} {
			data, err := os.ReadFile(filepath.Join(f.config, file))
			require.NoError(f.t, err)
			require.NoError(f.t, os.WriteFile(filepath.Join(m.config, file), data, 0o600))
		}
	}
	m.env = append(slices.Clone(f.base), "CERTCTL_STORE_DIR="+m.store, "CERTCTL_CONFIG_DIR="+m.config)
	return m
}

func (m *machine) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(m.bin, args...)
	cmd.Env = m.env
	return cmd
}

// run runs certctl on the machine and checks its exit code; only the
// test's goroutine calls it.
func (m *machine) run(want int, args ...string) result {
	m.t.Helper()
	res, err := runCmd(m.cmd(args...), nil)
	require.NoError(m.t, err)
	require.Equal(m.t, want, res.code, "certctl %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.stdout, res.stderr)
	return res
}

// holds lists the thumbprints in the machine's store that have their key.
func (m *machine) holds() []string {
	m.t.Helper()
	res := m.run(0, "list", "--output", "json")
	var entries []struct {
		Thumbprint    string `json:"thumbprint"`
		HasPrivateKey bool   `json:"hasPrivateKey"`
	}
	require.NoError(m.t, json.Unmarshal([]byte(res.stdout), &entries))
	var tps []string
	for _, e := range entries {
		require.True(m.t, e.HasPrivateKey, "%s has no key in %s", e.Thumbprint, m.store)
		tps = append(tps, e.Thumbprint)
	}
	sort.Strings(tps)
	return tps
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// syncAll runs the same sync on every machine at once and returns each
// one's result; goroutines only collect.
func syncAll(t *testing.T, machines []*machine, args ...string) []result {
	t.Helper()
	results := make([]result, len(machines))
	errs := make([]error, len(machines))
	var wg sync.WaitGroup
	for i, m := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runCmd(m.cmd(append([]string{"sync"}, args...)...), nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "machine %d", i)
	}
	return results
}

// TestSyncFleet runs 200 machines' syncs at once against one vault that
// throttles a fifth of its requests (429 with Retry-After: 1): every
// machine converges, and once all are current a run reads each
// certificate's metadata once and no secret. The machines run certctl as
// released (releaseBinary) and use --jitter as a fleet's timers would: on
// this machine's two cores, 200 processes starting in the same instant
// would time out on the fake Entra ID, which shares the cores, before any
// reached the vault.
func TestSyncFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 400 processes")
	}
	t.Parallel()
	const n = 200
	f := newFleet(t)
	if bin := releaseBinary(t); bin != "" {
		f.bin = bin
	}
	machines := make([]*machine, n)
	for i := range machines {
		machines[i] = f.machine(fmt.Sprintf("m%03d", i))
	}
	a, b := f.put("app-a"), f.put("app-b")
	args := []string{"--from-keyvault", f.vault, "--certificate", "app-a", "--certificate", "app-b", "--jitter", "5s", "--timeout", "2m"}

	run := func(phase string) {
		t.Helper()
		results := syncAll(t, machines, args...)
		for i, r := range results {
			require.Equal(t, 0, r.code, "%s, machine %d:\n%s%s", phase, i, r.stdout, r.stderr)
		}
		for i, m := range machines {
			if i%20 == 0 { // listing every store would double the test's time
				assert.Equal(t, sorted(a, b), m.holds(), "%s, machine %d", phase, i)
			}
		}
	}

	// First run, throttled.
	f.fake.ThrottleKeyVault(5, 429)
	run("first run")
	c := f.fake.KeyVaultCounts()
	t.Logf("first run: %d answers, %d of them 429", c.Throttled+c.Challenges+c.Metadata["app-a"]+c.Metadata["app-b"]+c.Secrets["app-a"]+c.Secrets["app-b"], c.Throttled)
	assert.Greater(t, c.Throttled, n/2, "throttled answers")
	assert.Equal(t, n, c.Secrets["app-a"], "each machine reads app-a's secret once")

	// Up to date: one metadata request per name per run, one challenge
	// per run, no secret.
	f.fake.ThrottleKeyVault(0, 0)
	f.fake.ResetKeyVaultCounts()
	run("up to date")
	c = f.fake.KeyVaultCounts()
	assert.Equal(t, n, c.Metadata["app-a"], "metadata requests for app-a")
	assert.Equal(t, n, c.Metadata["app-b"], "metadata requests for app-b")
	assert.Zero(t, c.Secrets["app-a"]+c.Secrets["app-b"], "secret requests")
	assert.Equal(t, n, c.Challenges, "challenges: one per run")
}

// TestSyncKilled kills sync at random moments while the vault gets new
// versions; after every kill the next full run converges: the store holds
// the current version and the one before it, and nothing else sync
// imported.
func TestSyncKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills many processes")
	}
	t.Parallel()
	f := newFleet(t)
	// Built as released: the test kills processes, it does not look for
	// races, and a race-enabled process costs several times the time.
	if bin := releaseBinary(t); bin != "" {
		f.bin = bin
	}
	m := f.machine("victim")
	r := rand.New(rand.NewSource(testSeed(t)))
	args := []string{"sync", "--from-keyvault", f.vault, "--certificate", "app-a", "--certificate", "app-b"}
	versions := map[string][]string{"app-a": {f.put("app-a")}, "app-b": {f.put("app-b")}}
	want := func() []string {
		var w []string
		for _, vs := range versions {
			w = append(w, vs[max(0, len(vs)-2):]...)
		}
		return sorted(w...)
	}
	// A kill lands within the median time of a whole run so far: most
	// runs that import are killed, at different moments, however loaded
	// the machine is.
	var times []time.Duration
	timed := func() {
		start := time.Now()
		m.run(0, args...)
		times = append(times, time.Since(start))
	}
	median := func() time.Duration {
		s := slices.Clone(times)
		slices.Sort(s)
		return s[len(s)/2]
	}
	timed()
	kills := 0
	for round := 1; round <= 12; round++ {
		name := []string{"app-a", "app-b"}[r.Intn(2)]
		versions[name] = append(versions[name], f.put(name))
		res, err := runCmd(m.cmd(args...), time.After(time.Duration(r.Float64()*float64(median()))))
		require.NoError(t, err)
		if res.killed {
			kills++
		} else {
			require.Equal(t, 0, res.code, res.stderr)
		}
		timed()
		require.Equal(t, want(), m.holds(), "round %d (killed: %v)", round, res.killed)
	}
	window := median()
	t.Logf("12 rounds, %d killed within %v", kills, window.Round(time.Millisecond))
	// The record names exactly what the store holds from the vault.
	data, err := os.ReadFile(filepath.Join(m.store, "my", ".certctl-keyvault.json"))
	require.NoError(t, err)
	var rec struct {
		Origins []struct{ Thumbprint string } `json:"origins"`
	}
	require.NoError(t, json.Unmarshal(data, &rec))
	var recorded []string
	for _, o := range rec.Origins {
		recorded = append(recorded, o.Thumbprint)
	}
	assert.Equal(t, want(), sorted(recorded...))
}
