//go:build !windows

package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

// These tests run the certctl binary (on PATH through testscript.Main) as a
// user's scripts would: many at once, killed at random, fed hostile files.

type result struct {
	stdout, stderr string
	code           int
	killed         bool
}

func certctl(t testing.TB, storeDir string, args ...string) result {
	t.Helper()
	return finish(t, certctlCmd(storeDir, args...), nil)
}

func certctlCmd(storeDir string, args ...string) *exec.Cmd {
	return exec.Command("certctl", append([]string{"--store-dir", storeDir}, args...)...)
}

// releaseCmd is certctlCmd with certctl built as released (releaseBinary),
// for the tests that run hundreds of processes to kill them or race them
// against each other through the store: a race-enabled process costs
// several times the time, and races within a process are what the other
// tests look for.
func releaseCmd(t testing.TB, storeDir string, args ...string) *exec.Cmd {
	t.Helper()
	bin := "certctl"
	if tt, ok := t.(*testing.T); ok {
		if b := releaseBinary(tt); b != "" {
			bin = b
		}
	}
	return exec.Command(bin, append([]string{"--store-dir", storeDir}, args...)...)
}

// finish runs cmd (see runCmd) and fails the test if it could not be run.
// It calls t.Fatal, so only the test's own goroutine may call it; other
// goroutines call runCmd and hand the error back.
func finish(t testing.TB, cmd *exec.Cmd, kill <-chan time.Time) result {
	t.Helper()
	res, err := runCmd(cmd, kill)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runCmd runs cmd to the end, or kills it when kill fires, and returns what
// it printed and how it ended. The error is for a process that could not
// be started or waited for, not for an exit status. It fails no test, so
// any goroutine may call it.
func runCmd(cmd *exec.Cmd, kill <-chan time.Time) (result, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	killed := false
	select {
	case err = <-done:
	case <-kill:
		cmd.Process.Signal(syscall.SIGKILL)
		err = <-done
		killed = true
	}
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.killed = true
		}
	} else if err != nil {
		return res, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	res.killed = res.killed && killed
	return res, nil
}

// concurrently runs one certctl process per element of runs, all at once,
// against storeDir, and returns their results in the order of runs. The
// processes run on goroutines of their own, which only collect results:
// the test's goroutine checks them. They run certctl built as released
// (releaseCmd).
func concurrently(t testing.TB, storeDir string, runs [][]string) []result {
	t.Helper()
	results := make([]result, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, args := range runs {
		cmd := releaseCmd(t, storeDir, args...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runCmd(cmd, nil)
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	return results
}

// mintFiles writes n PFX files (no password) with distinct ECDSA
// certificates, which are fast to make. The files use one iteration for
// the MAC and the encryption, not EncodeExport's 2,048: the tests that
// use them are about the store, not key derivation, and each file is read
// by a process or two (the store files certctl writes use its own count).
func mintFiles(t testing.TB, n int) (paths []string, tps []thumbprint.Thumbprint) {
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		b := testcert.Mint(t, fmt.Sprintf("certctl reliability %03d", i), testcert.Options{Key: "ecdsa"})
		data, err := pkcs12.Modern.WithIterations(1).Encode(b.Key, b.Leaf, b.Chain, "")
		require.NoError(t, err)
		p := filepath.Join(dir, fmt.Sprintf("%03d.pfx", i))
		require.NoError(t, os.WriteFile(p, data, 0o600))
		paths, tps = append(paths, p), append(tps, thumbprint.Of(b.Leaf))
	}
	return paths, tps
}

type listed struct {
	Thumbprint string `json:"thumbprint"`
	File       string `json:"file"`
}

func listStore(t testing.TB, storeDir string) map[string]listed {
	t.Helper()
	r := certctl(t, storeDir, "list", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stderr, "a store certctl wrote must hold no unreadable entries")
	var entries []listed
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &entries))
	m := map[string]listed{}
	for _, e := range entries {
		m[e.Thumbprint] = e
	}
	return m
}

// checkStoreFiles decodes every .pfx file in the store folder: each must be
// a complete, valid PFX.
func checkStoreFiles(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pfx") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		_, err = pfx.Decode(data, "")
		require.NoError(t, err, "store file %s is not a complete PFX", e.Name())
	}
}

var seedFlag = flag.Int64("seed", 0, "seed of the randomised tests (TestCrashSafety); 0 picks a new one, which the test logs. $CERTCTL_TEST_SEED does the same for go test ./...")

// testSeed is the seed of a randomised test: -seed, else
// $CERTCTL_TEST_SEED, else a new one. It logs it, so a failure can be
// replayed.
func testSeed(t testing.TB) int64 {
	t.Helper()
	seed := *seedFlag
	if v := os.Getenv("CERTCTL_TEST_SEED"); seed == 0 && v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("CERTCTL_TEST_SEED=%q: %v", v, err)
		}
	}
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("random seed %d (replay: go test PKG -run '^%s$' -seed=%d, the flag after the package; or CERTCTL_TEST_SEED=%d)", seed, t.Name(), seed, seed)
	return seed
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 200 processes")
	}
	t.Parallel()
	store := t.TempDir()
	paths, tps := mintFiles(t, 120)
	// The seed replays the operations and which of them are killed; when
	// a kill lands depends on the machine too.
	r := rand.New(rand.NewSource(testSeed(t)))
	state := map[thumbprint.Thumbprint]string{} // present, absent or unknown
	next, kills := 0, 0
	// A kill lands at a random moment of a typical run: within the mean
	// time of the runs that finished so far (at least 6 ms). How long a
	// run takes depends on the machine and on -race (which makes starting
	// a process alone take tens of milliseconds), so a fixed window would
	// kill most processes before they reach the store.
	window := 6 * time.Millisecond
	var finished time.Duration
	var nfinished int
	for op := 0; op < 200; op++ {
		var args []string
		var tp thumbprint.Thumbprint
		if next < len(paths) && (len(state) == 0 || r.Intn(3) > 0) {
			args, tp = []string{"import", paths[next]}, tps[next]
			next++
		} else {
			tp = tps[r.Intn(next)]
			args = []string{"remove", tp.String()}
		}
		var kill <-chan time.Time
		if r.Intn(2) == 0 {
			// One draw whatever the window, so the seed replays the
			// same operations.
			kill = time.After(time.Duration(r.Float64() * float64(window)))
		}
		start := time.Now()
		res := finish(t, releaseCmd(t, store, args...), kill)
		if !res.killed {
			finished += time.Since(start)
			nfinished++
			window = max(6*time.Millisecond, finished/time.Duration(nfinished))
		}
		switch {
		case res.killed:
			kills++
			state[tp] = "unknown"
		case res.code == 0 && args[0] == "import":
			state[tp] = "present"
		case res.code == 0 && args[0] == "remove":
			state[tp] = "absent"
		case res.code == 3 && args[0] == "remove":
			if state[tp] != "unknown" {
				state[tp] = "absent"
			}
		default:
			t.Fatalf("certctl %v: exit %d: %s", args, res.code, res.stderr)
		}
	}
	t.Logf("%d operations, %d killed within %v of their start", 200, kills, window.Round(time.Millisecond))

	dir := filepath.Join(store, "my")
	checkStoreFiles(t, dir)
	got := listStore(t, store) // repairs the index
	for tp, s := range state {
		_, ok := got[tp.String()]
		switch s {
		case "present":
			assert.True(t, ok, "%s was imported successfully but is gone", tp)
		case "absent":
			assert.False(t, ok, "%s was removed successfully but is listed", tp)
		}
	}
	for _, e := range got {
		assert.True(t, strings.HasSuffix(e.File, ".pfx") && !strings.HasPrefix(filepath.Base(e.File), "."), "listed a temporary file: %s", e.File)
	}
	// The index was repaired: a second list reads it and agrees.
	idx, err := os.ReadFile(filepath.Join(dir, ".certctl-index"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(idx), "certctl-index "))
	assert.Equal(t, got, listStore(t, store))

	// Listing cleared what killed writers left behind.
	tmps, _ := filepath.Glob(filepath.Join(dir, ".certctl-*.tmp"))
	assert.Empty(t, tmps)
}

func TestConcurrentImports(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	paths, tps := mintFiles(t, 32)
	var runs [][]string
	for _, p := range paths {
		runs = append(runs, []string{"import", p})
	}
	results := concurrently(t, store, runs)
	for i, r := range results {
		require.Equal(t, 0, r.code, "import %d: %s", i, r.stderr)
	}
	got := listStore(t, store)
	assert.Len(t, got, 32)
	for _, tp := range tps {
		assert.Contains(t, got, tp.String())
	}
	checkStoreFiles(t, filepath.Join(store, "my"))
}

func TestImportRemoveRace(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	paths, tps := mintFiles(t, 4)
	for round := 0; round < 5; round++ {
		var runs [][]string
		for i := range paths {
			for k := 0; k < 3; k++ {
				runs = append(runs, []string{"import", paths[i]}, []string{"remove", tps[i].String()})
			}
		}
		// Every process succeeds: an import whether or not the
		// certificate is already there, a remove unless it is not
		// (exit 3).
		for j, r := range concurrently(t, store, runs) {
			ok := r.code == exitOK || runs[j][0] == "remove" && r.code == exitNotFound
			assert.True(t, ok, "round %d: certctl %v: exit %d: %s", round, runs[j], r.code, r.stderr)
		}
		dir := filepath.Join(store, "my")
		checkStoreFiles(t, dir)
		got := listStore(t, store)
		for i, tp := range tps {
			// Fully present (a whole file, listed, usable) or absent.
			_, listed := got[tp.String()]
			_, err := os.Stat(filepath.Join(dir, tp.String()+".pfx"))
			assert.Equal(t, listed, err == nil, "round %d, certificate %d: listed=%v but file err=%v", round, i, listed, err)
		}
	}
}

func TestConcurrentIndexRebuild(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	paths, _ := mintFiles(t, 20)
	// One process imports them all: the test is about the rebuilds.
	r := certctl(t, store, append([]string{"import"}, paths...)...)
	require.Equal(t, 0, r.code, r.stderr)
	index := filepath.Join(store, "my", ".certctl-index")
	for round := 0; round < 5; round++ {
		require.NoError(t, os.Remove(index))
		lists := make([][]string, 4)
		for i := range lists {
			lists[i] = []string{"list", "--output", "json"}
		}
		outs := concurrently(t, store, lists)
		for _, o := range outs {
			require.Equal(t, 0, o.code, o.stderr)
			assert.Equal(t, outs[0].stdout, o.stdout)
		}
		data, err := os.ReadFile(index)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		require.True(t, strings.HasPrefix(lines[0], "certctl-index "), "index corrupted by concurrent rebuilds: header %q", lines[0])
		assert.Len(t, lines, 21, "one header and one line per certificate")
		assert.Len(t, listStore(t, store), 20)
	}
}

// snapshotDir maps every file under dir (but the lock) to its bytes.
func snapshotDir(t testing.TB, dir string) map[string]string {
	m := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Name() != ".certctl.lock" {
			b, _ := os.ReadFile(p)
			m[p] = string(b)
		}
		return nil
	})
	return m
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	corpus := filepath.Join("..", "..", "testdata", "hostile")
	work := t.TempDir()
	store := filepath.Join(work, "store")
	good := filepath.Join(fixtures, "openssl3-default.pfx")
	pwFile := filepath.Join(work, "pw.txt")
	require.NoError(t, os.WriteFile(pwFile, []byte(fixturePassword), 0o600))
	require.Equal(t, 0, certctl(t, store, "import", good, "--password-file", pwFile).code)

	big := filepath.Join(work, "big.pfx")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(100<<20))
	f.Close()
	fifo := filepath.Join(work, "fifo.pfx")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	folder := filepath.Join(work, "folder.pfx")
	require.NoError(t, os.Mkdir(folder, 0o700))
	nonBMP := filepath.Join(work, "nonbmp.txt")
	require.NoError(t, os.WriteFile(nonBMP, []byte("p\U0001F511ssword"), 0o600))

	in := func(name string) string { return filepath.Join(corpus, name) }
	for _, tc := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"empty file", []string{"import", in("empty.pfx")}, "empty.pfx", 4},
		{"truncated at 1", []string{"import", in("truncated-1.pfx")}, "truncated-1.pfx", 4},
		{"truncated at 16", []string{"import", in("truncated-16.pfx")}, "truncated-16.pfx", 4},
		{"truncated at 100", []string{"import", in("truncated-100.pfx")}, "truncated-100.pfx", 4},
		{"truncated at half", []string{"import", in("truncated-half.pfx"), "--password-file", pwFile}, "truncated-half.pfx", 4},
		{"truncated by one", []string{"import", in("truncated-last-1.pfx"), "--password-file", pwFile}, "truncated-last-1.pfx", 4},
		{"random bytes", []string{"import", in("random.bin")}, "not a PKCS#12 (PFX) or PEM file", 4},
		{"MAC iterations 2^31-1", []string{"import", in("mac-iterations-2147483647.pfx"), "--password-file", pwFile}, "MAC iteration count 2147483647 exceeds the limit of 600000", 4},
		{"deeply nested ASN.1", []string{"import", in("nested.der")}, "nested.der", 4},
		{"oversized ASN.1 length", []string{"import", in("huge-length.der")}, "huge-length.der", 4},
		{"100 MiB file", []string{"import", big}, "larger than the 4 MiB limit", 4},
		{"PEM with garbage inside", []string{"import", in("garbage-inside.pem")}, "garbage-inside.pem", 4},
		{"key that does not match", []string{"import", in("mismatched-key.pem")}, "private key does not match the certificate", 4},
		{"two private keys", []string{"import", filepath.Join(fixtures, "two-keys.pfx"), "--password-file", pwFile}, "more than one private key", 4},
		{"a folder", []string{"import", folder}, "is a folder", 4},
		{"a FIFO", []string{"import", fifo}, "is not a regular file", 4},
		{"wrong password outside the BMP", []string{"import", filepath.Join(fixtures, "ecdsa-p256.pfx"), "--password-file", nonBMP}, "ecdsa-p256.pfx: incorrect password", 4},
		{"thumbprint of 39 digits", []string{"remove", strings.Repeat("A", 39)}, "it has 39 hexadecimal digits", 4},
		{"thumbprint of 41 digits", []string{"show", strings.Repeat("A", 41)}, "it has 41 hexadecimal digits", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshotDir(t, store)
			start := time.Now()
			r := certctl(t, store, tc.args...)
			t.Logf("exit %d after %v: %s", r.code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.stderr))
			assert.Equal(t, tc.code, r.code)
			assert.Contains(t, r.stderr, tc.want)
			assert.True(t, strings.HasPrefix(r.stderr, "certctl: error: "), "a clear error on stderr")
			assert.Empty(t, r.stdout)
			assert.Equal(t, before, snapshotDir(t, store), "the store must be unchanged byte for byte")
		})
	}
}

// TestNoSecretFlags: argv is visible to every user of the machine, so no
// flag may take a password, secret or token as its value.
func TestNoSecretFlags(t *testing.T) {
	t.Parallel()
	app := newApp(newEnv())
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					secretish := strings.Contains(n, "password") || strings.Contains(n, "secret") || strings.Contains(n, "token")
					if secretish && takesValue(c.Flags, "--"+n) && !strings.HasSuffix(n, "-file") {
						t.Errorf("%s%s --%s takes a secret as its value", prefix, c.Name, n)
					}
				}
			}
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	walk("", app.Commands)
}

// TestSecretsNeverLeak runs the commands that handle secrets with known
// values and searches every byte certctl printed or wrote.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	fake := startFakeEntra(t)
	work := t.TempDir()
	home := filepath.Join(work, "home")
	store := filepath.Join(work, "store")
	const pfxPassword = "pfx-Password-9zQ"
	const exportPassword = "export-Password-4rT"
	write := func(name, content string) string {
		p := filepath.Join(work, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	exportPW := write("export-pw.txt", exportPassword)
	secretFile := write("secret.txt", fixtureSecret+"\n")

	// A PFX protected by a known password.
	data, err := os.ReadFile(filepath.Join(fixtures, "openssl3-default.pfx"))
	require.NoError(t, err)
	b, err := pfx.Decode(data, fixturePassword)
	require.NoError(t, err)
	known, err := pfx.EncodeExport(b, pfxPassword, true)
	require.NoError(t, err)
	knownPath := write("known.pfx", string(known))
	tp := thumbprint.Of(b.Leaf).String()

	env := append(os.Environ(), "HOME="+home, "CERTCTL_STORE_DIR="+store, "CERTCTL_PFX_PASSWORD=")
	for k, v := range fake.env {
		env = append(env, k+"="+v)
	}
	var printed strings.Builder
	var tokens []string
	run := func(stdin string, args ...string) result {
		cmd := exec.Command("certctl", args...)
		cmd.Env, cmd.Dir = env, work
		cmd.Stdin = strings.NewReader(stdin)
		r := finish(t, cmd, nil)
		require.Equal(t, 0, r.code, "certctl %v: %s", args, r.stderr)
		printed.WriteString(r.stdout + r.stderr)
		return r
	}
	run(pfxPassword+"\n", "import", knownPath, "--password-stdin")
	run("", "thumbprint", knownPath, "--password-file", write("pw2.txt", pfxPassword))
	run("", "list")
	run("", "show", tp)
	run("", "export", tp, "--out", filepath.Join(work, "out.pfx"), "--password-file", exportPW)
	run("", "environment", "add", "Fake", "--authority-host", fake.env["FAKE_AUTHORITY"], "--resource-manager-endpoint", fake.env["FAKE_ARM"], "--key-vault-suffix", fake.env["FAKE_KV_SUFFIX"])
	run("", "login", "--service-principal", "--tenant", fake.env["FAKE_TENANT"], "--application-id", appCert, "--thumbprint", tp, "--environment", "Fake")
	// token prints a token by design; it must not reach any file.
	tokens = append(tokens, strings.TrimSpace(run("", "token").stdout))
	run(fixtureSecret+"\n", "login", "--service-principal", "--tenant", fake.env["FAKE_TENANT"], "--application-id", appSecret, "--client-secret-stdin", "--environment", "Fake")
	run("", "login", "--service-principal", "--tenant", fake.env["FAKE_TENANT"], "--application-id", appSecret, "--client-secret-file", secretFile, "--environment", "Fake")
	tokens = append(tokens, strings.TrimSpace(run("", "token").stdout))
	// Key Vault: a certificate whose secret is PEM, so that a line of its
	// key can be looked for; read by import and by sync.
	kvBundle := testcert.Mint(t, "leak", testcert.Options{Key: "ecdsa"})
	fake.server.PutKeyVaultCertificate("contoso", "leak", kvBundle, logintest.KeyVaultCertificateOptions{PEM: true})
	kvKey, err := x509.MarshalPKCS8PrivateKey(kvBundle.Key)
	require.NoError(t, err)
	kvKeyLine := strings.Split(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kvKey})), "\n")[1]
	run("", "import", "--from-keyvault", fake.env["VAULT"]+"/certificates/leak")
	run("", "sync", "--from-keyvault", fake.env["VAULT"], "--certificate", "leak", "--store", "CA", "--output", "json")
	run("", "context", "show")
	run("", "context", "show", "--output", "json")

	// Refresh tokens: each one certctl wrote to its file, before and after
	// rotation, must appear nowhere else.
	rtFile := filepath.Join(work, "app.rt")
	readRT := func() string {
		b, err := os.ReadFile(rtFile)
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	run("", "consent", "--tenant", fake.env["FAKE_TENANT"], "--application-id", appCert, "--thumbprint", tp, "--environment", "Fake", "--refresh-token-file", rtFile)
	refreshTokens := []string{readRT()}
	run("", "login", "--refresh-token-file", rtFile, "--tenant", fake.env["FAKE_TENANT"], "--application-id", appCert, "--thumbprint", tp, "--environment", "Fake", "--context-name", "rt")
	refreshTokens = append(refreshTokens, readRT())
	tokens = append(tokens, strings.TrimSpace(run("", "token", "--scope", "https://graph.microsoft.com/.default").stdout))
	refreshTokens = append(refreshTokens, readRT())
	run("", "context", "list", "--output", "json")
	// Access tokens the user hands over: from a file and from stdin.
	accessToken := fake.server.UserAccessToken(strings.TrimSuffix(fake.server.ResourceManager(), "/")+"/.default", time.Hour)
	run("", "login", "--access-token-file", write("access.txt", accessToken), "--account-id", fake.server.User, "--environment", "Fake")
	run(accessToken+"\n", "login", "--access-token-stdin", "--account-id", fake.server.User, "--environment", "Fake", "--context-name", "piped")
	run("", "context", "show", "piped", "--output", "json")

	secrets := append([]string{pfxPassword, exportPassword, fixtureSecret, accessToken, kvKeyLine}, refreshTokens...)
	out := printed.String()
	for _, s := range secrets {
		assert.NotContains(t, out, s, "a secret was printed")
	}
	// Every file certctl wrote: the store (with its index), the config
	// folder (context, environments) and the exported file.
	for _, root := range []string{store, home, filepath.Join(work, "out.pfx")} {
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, s := range append(secrets, tokens...) {
				if s != "" && bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds a secret or token", p)
				}
			}
			return nil
		})
	}
}

// TestPasswordPromptDoesNotEcho types a password at certctl's terminal
// prompt through a real pseudo-terminal (script(1)) and checks it never
// shows on the terminal.
func TestPasswordPromptDoesNotEcho(t *testing.T) {
	t.Parallel()
	scriptCmd, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) from util-linux is needed to give certctl a terminal")
	}
	work := t.TempDir()
	store := filepath.Join(work, "store")
	pfxPath := filepath.Join(fixtures, "ecdsa-p256.pfx")
	abs, err := filepath.Abs(pfxPath)
	require.NoError(t, err)
	cmd := exec.Command(scriptCmd, "-q", "-e", "-c", "certctl --store-dir "+store+" import "+abs, "/dev/null")
	cmd.Env = append(os.Environ(), "CERTCTL_PFX_PASSWORD=")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	// Type only once the prompt is up, as a person would: typed earlier,
	// the terminal would still be echoing.
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), "Password for ") {
		n, err := stdout.Read(buf)
		out.Write(buf[:n])
		require.NoError(t, err, "certctl never asked for the password: %s", out.String())
	}
	// certctl turns echo off just after printing the prompt; a person
	// types after that, and so does the test. Where the terminal's state
	// cannot be read, it waits as long as a person would.
	if err := waitEchoOff(cmd.Process.Pid, 30*time.Second); errors.Is(err, errors.ErrUnsupported) {
		time.Sleep(200 * time.Millisecond)
	} else {
		require.NoError(t, err, "certctl never turned echo off: %s", out.String())
	}
	_, err = stdin.Write([]byte(fixturePassword + "\r"))
	require.NoError(t, err)
	rest, _ := io.ReadAll(stdout)
	out.Write(rest)
	require.NoError(t, cmd.Wait(), out.String())
	assert.Contains(t, out.String(), "Password for "+abs)
	assert.Contains(t, out.String(), "CN=certctl test ecdsa-p256")
	assert.NotContains(t, out.String(), fixturePassword, "the password was echoed")
}
