package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/thumbprint"
)

func TestMain(m *testing.M) {
	quickRaceExit()
	if runtime.GOOS == "windows" {
		// TestScripts does not run on Windows, and under Wine
		// testscript.Main fails to delete its link to the running test
		// binary.
		os.Exit(m.Run())
	}
	testscript.Main(removeRelease{m}, map[string]func(){
		"certctl": func() { os.Exit(run(os.Args, newEnv())) },
		// A browser for the interactive sign-in: certctl's browser opener
		// finds it on PATH, and it signs in at the fake Entra ID.
		"xdg-open": func() {
			if err := logintest.Browse(http.DefaultClient, os.Args[len(os.Args)-1]); err != nil {
				fmt.Fprintln(os.Stderr, "xdg-open:", err)
				os.Exit(1)
			}
		},
	})
}

// quickRaceExit shortens the race detector's sleep at exit in the certctl
// processes the tests start. Built with -race, certctl is this test
// binary, and a race-enabled program that exits with status 0 sleeps for
// GORACE's atexit_sleep_ms, one second by default, before it exits: most
// of the time the tests spent was those sleeps. Races are still reported,
// with exit status 66, when they happen; only goroutines still running
// after the command finished get 10 ms instead of a second to race. The
// variable is read when a process starts, so this affects only the
// children, which inherit it (testscript passes GORACE through). A
// GORACE that already sets atexit_sleep_ms is left as it is.
func quickRaceExit() {
	g := os.Getenv("GORACE")
	if strings.Contains(g, "atexit_sleep_ms") {
		return
	}
	os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=10"))
}

// fixtures is the folder of PFX and PEM files made by OpenSSL and keytool.
var fixtures = filepath.Join("..", "..", "testdata", "pfx")

// interop holds files of the real producers, with manifest.tsv saying what
// OpenSSL finds in each.
var interop = filepath.Join("..", "..", "testdata", "interop")

// interopThumbprints reads manifest.tsv: $IT_<file> is the thumbprint of
// the certificate with the key, or of the first certificate in a file
// without one, as OpenSSL computed it.
func interopThumbprints() (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(interop, "manifest.tsv"))
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		c := strings.Split(line, "\t")
		if len(c) != 7 || c[4] == "-" {
			continue
		}
		tp := c[3]
		if tp == "-" {
			tp, _, _ = strings.Cut(c[4], ",")
		}
		name := strings.Map(func(r rune) rune {
			if r == '.' || r == '-' {
				return '_'
			}
			return r
		}, c[0])
		vars["IT_"+name] = tp
	}
	return vars, nil
}

// fixturePassword protects every password-protected fixture.
const fixturePassword = "certctl-test"

// TestScripts runs the command-line scenarios in testdata/script. Each runs
// in its own folder with the fixtures copied in, an empty store in
// $CERTCTL_STORE_DIR, $TP_<fixture> holding each fixture's thumbprint as
// OpenSSL computes it, and $FP_<fixture> the same with colons, as
// "openssl x509 -fingerprint -sha1" prints it.
func TestScripts(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("the scripts need a file store and openssl; on Windows, .ci/wine/e2e.sh tests the command line against the system store")
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("the command-line tests need openssl on PATH (apt-get install openssl)")
	}
	tps := fixtureThumbprints(t)
	fake := startFakeEntra(t)
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(e *testscript.Env) error {
			if err := copyFixtures(e.WorkDir); err != nil {
				return err
			}
			if err := copyDir(interop, filepath.Join(e.WorkDir, "interop")); err != nil {
				return err
			}
			its, err := interopThumbprints()
			if err != nil {
				return err
			}
			for k, v := range its {
				e.Setenv(k, v)
			}
			e.Setenv("CERTCTL_STORE_DIR", filepath.Join(e.WorkDir, "store"))
			e.Setenv("HOME", filepath.Join(e.WorkDir, "home"))
			for k, v := range tps {
				e.Setenv(k, v)
			}
			for k, v := range fake.env {
				e.Setenv(k, v)
			}
			if err := os.WriteFile(filepath.Join(e.WorkDir, "expired.pfx"), fake.expiredPFX, 0o600); err != nil {
				return err
			}
			// Access tokens of the fake's user, as another tool would have
			// got them: for Resource Manager, expired, and for Graph.
			arm := strings.TrimSuffix(fake.server.ResourceManager(), "/") + "/.default"
			for name, tok := range map[string]string{
				"arm-token.txt":     fake.server.UserAccessToken(arm, time.Hour),
				"expired-token.txt": fake.server.UserAccessToken(arm, -time.Hour),
				"graph-token.txt":   fake.server.UserAccessToken("https://graph.microsoft.com/.default", time.Hour),
			} {
				if err := os.WriteFile(filepath.Join(e.WorkDir, name), []byte(tok+"\n"), 0o600); err != nil {
					return err
				}
			}
			// As Kubernetes writes it: the token alone, no newline.
			if err := os.WriteFile(filepath.Join(e.WorkDir, "fed-token.txt"), []byte(fixtureFederatedToken), 0o600); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(e.WorkDir, "pw.txt"), []byte(fixturePassword+"\n"), 0o600)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"snapshot": cmdSnapshot,
			"noleak":   cmdNoLeak,
			"fake":     fake.cmd,
			"capture":  cmdCapture,
			"terminal": cmdTerminal,
		},
	})
}

// cmdTerminal runs a command on a terminal COLS columns wide, under
// script(1); what it writes to stdout and stderr both come out on stdout:
//
//	terminal 60 certctl list
func cmdTerminal(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: terminal COLS COMMAND [ARGS...]")
	}
	if _, err := strconv.Atoi(args[0]); err != nil {
		ts.Fatalf("terminal: COLS %q is not a number", args[0])
	}
	line := "stty cols " + args[0] + " rows 40 -onlcr && exec"
	for _, a := range args[1:] {
		line += " '" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	err := ts.Exec("script", "-q", "-e", "-c", line, "/dev/null")
	if neg != (err != nil) {
		ts.Fatalf("terminal %s: %v", strings.Join(args, " "), err)
	}
}

// cmdExits runs a command and checks its exit code:
//
//	exits 4 certctl import bad.pfx
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// cmdCapture sets VAR to the first thumbprint (40 hexadecimal digits) in
// the last command's stdout, for the commands that follow:
//
//	exec certctl new --subject CN=bot
//	capture NEW
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: capture VAR")
	}
	m := thumbprintPattern.FindString(ts.ReadFile("stdout"))
	if m == "" {
		ts.Fatalf("capture: no thumbprint in stdout")
	}
	ts.Setenv(args[0], m)
}

var thumbprintPattern = regexp.MustCompile(`\b[0-9A-F]{40}\b`)

// cmdNoLeak fails if the secret in SECRETFILE (a token, without its line
// break) appears in the last command's stdout or stderr, or in any FILE:
//
//	noleak partner.rt $HOME/.config/certctl/contexts.json
func cmdNoLeak(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: noleak SECRETFILE [FILE...]")
	}
	secret := strings.TrimSpace(ts.ReadFile(args[0]))
	if len(secret) < 8 {
		ts.Fatalf("noleak: %s holds no secret worth looking for", args[0])
	}
	where := map[string]string{"stdout": ts.ReadFile("stdout"), "stderr": ts.ReadFile("stderr")}
	for _, f := range args[1:] {
		where[f] = ts.ReadFile(f)
	}
	for name, text := range where {
		if strings.Contains(text, secret) {
			ts.Fatalf("the secret of %s appears in %s", args[0], name)
		}
	}
}

// cmd lets a script change the fake Entra ID, or see what it holds:
//
//	fake expire-refresh-tokens
//	fake revoke-refresh-tokens
//	fake credentials APP_ID
//	fake kv-put VAULT NAME [pem] [not-exportable]   new version; sets $KV_TP, $KV_VERSION
//	fake kv-put-secret VAULT NAME FILE              a PFX or PEM file as a secret; sets $KV_VERSION
//	fake kv-counts NAME                             the vault's answers for NAME
//
// Only the script that uses refresh tokens expires or revokes them, and
// only keyvault.txtar uses the vaults: the fake is shared.
func (f *fakeEntra) cmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: fake expire-refresh-tokens|revoke-refresh-tokens|credentials APP_ID")
	}
	switch args[0] {
	case "expire-refresh-tokens":
		f.server.ExpireRefreshTokens()
	case "revoke-refresh-tokens":
		f.server.RevokeRefreshTokens()
	case "credentials":
		// What the fake Graph holds, to check a command against the
		// service rather than against its own output.
		if len(args) != 2 {
			ts.Fatalf("usage: fake credentials APP_ID")
		}
		for _, k := range f.server.KeyCredentials(args[1]) {
			fmt.Fprintf(ts.Stdout(), "%s %s\n", k.Thumbprint, k.KeyID)
		}
	case "kv-put":
		if len(args) < 3 {
			ts.Fatalf("usage: fake kv-put VAULT NAME [pem] [not-exportable]")
		}
		var o logintest.KeyVaultCertificateOptions
		for _, a := range args[3:] {
			switch a {
			case "pem":
				o.PEM = true
			case "not-exportable":
				o.NotExportable = true
			default:
				ts.Fatalf("fake kv-put: unknown option %q", a)
			}
		}
		b, err := testcert.New("kv "+args[2], testcert.Options{Key: "ecdsa"})
		ts.Check(err)
		version := f.server.PutKeyVaultCertificate(args[1], args[2], b, o)
		ts.Setenv("KV_TP", thumbprint.Of(b.Leaf).String())
		ts.Setenv("KV_VERSION", version)
	case "kv-put-secret":
		if len(args) != 4 {
			ts.Fatalf("usage: fake kv-put-secret VAULT NAME FILE")
		}
		data, err := os.ReadFile(ts.MkAbs(args[3]))
		ts.Check(err)
		value, contentType := base64.StdEncoding.EncodeToString(data), "application/x-pkcs12"
		if bytes.HasPrefix(data, []byte("-----BEGIN")) {
			value, contentType = string(data), "application/x-pem-file"
		}
		ts.Setenv("KV_VERSION", f.server.PutKeyVaultSecret(args[1], args[2], value, contentType))
	case "kv-counts":
		if len(args) != 2 {
			ts.Fatalf("usage: fake kv-counts NAME")
		}
		c := f.server.KeyVaultCounts()
		fmt.Fprintf(ts.Stdout(), "metadata %d secrets %d\n", c.Metadata[args[1]], c.Secrets[args[1]])
	default:
		ts.Fatalf("fake: unknown action %q", args[0])
	}
}

// cmdSnapshot writes the name and SHA-256 of every file under a folder
// (except the lock file) to a file, so a script can show with cmp that a
// failed command left the store byte for byte as it was:
//
//	snapshot $CERTCTL_STORE_DIR before.txt
func cmdSnapshot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: snapshot FOLDER OUTFILE")
	}
	root := ts.MkAbs(args[0])
	var lines []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() || d.Name() == ".certctl.lock" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		lines = append(lines, fmt.Sprintf("%x %s", sha256.Sum256(data), rel))
		return nil
	})
	ts.Check(err)
	sort.Strings(lines)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(strings.Join(lines, "\n")+"\n"), 0o600))
}

func copyFixtures(dst string) error {
	return copyDir(fixtures, dst)
}

// copyDir copies the files of src into dst, which it creates.
func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

var (
	tpOnce sync.Once
	tpVars map[string]string
	tpErr  error
)

// fixtureThumbprints asks OpenSSL, not certctl, for the thumbprint of the
// certificate in each fixture the scripts use, so the scripts check certctl
// against an independent implementation.
func fixtureThumbprints(t *testing.T) map[string]string {
	tpOnce.Do(func() {
		tpVars = map[string]string{}
		for name, fx := range map[string]struct {
			args    []string
			subject string // which certificate of the output, when there are several
		}{
			"openssl3_default":   {args: []string{"pkcs12", "-in", "openssl3-default.pfx", "-passin", "pass:" + fixturePassword, "-nokeys"}},
			"chain_root_first":   {args: []string{"pkcs12", "-in", "chain-root-first.pfx", "-passin", "pass:" + fixturePassword, "-nokeys"}, subject: "subject=CN = certctl test chain"},
			"ecdsa_p256":         {args: []string{"pkcs12", "-in", "ecdsa-p256.pfx", "-passin", "pass:" + fixturePassword, "-nokeys"}},
			"chain_root":         {args: []string{"pkcs12", "-in", "openssl-chain.pfx", "-passin", "pass:" + fixturePassword, "-nokeys"}, subject: "subject=CN = certctl test root"},
			"chain_intermediate": {args: []string{"pkcs12", "-in", "openssl-chain.pfx", "-passin", "pass:" + fixturePassword, "-nokeys"}, subject: "subject=CN = certctl test intermediate"},
			"cert_pem":           {args: []string{"x509", "-in", "cert.pem"}},
			"ec_cert_pem":        {args: []string{"x509", "-in", "ec-cert.pem"}},
		} {
			cmd := exec.Command("openssl", fx.args...)
			cmd.Dir = fixtures
			pemOut, err := cmd.Output()
			if err != nil {
				tpErr = fmt.Errorf("openssl %s: %w", strings.Join(fx.args, " "), err)
				return
			}
			if fx.subject != "" {
				// openssl prints each certificate's subject before its PEM.
				for _, chunk := range strings.SplitAfter(string(pemOut), "-----END CERTIFICATE-----") {
					if strings.Contains(chunk, fx.subject) {
						pemOut = []byte(chunk[strings.Index(chunk, "-----BEGIN"):])
					}
				}
			}
			fp := exec.Command("openssl", "x509", "-noout", "-fingerprint", "-sha1")
			fp.Stdin = bytes.NewReader(pemOut)
			out, err := fp.Output()
			if err != nil {
				tpErr = fmt.Errorf("openssl x509 -fingerprint: %w", err)
				return
			}
			_, hexColons, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
			tpVars["TP_"+name] = strings.ReplaceAll(hexColons, ":", "")
			tpVars["FP_"+name] = hexColons
		}
	})
	if tpErr != nil {
		t.Fatal(tpErr)
	}
	return tpVars
}

// fakeEntra is the fake Entra ID the sign-in scripts use, with the
// applications they sign in as.
type fakeEntra struct {
	server     *logintest.Server
	env        map[string]string
	expiredPFX []byte
}

const (
	appCert   = "a1c0ce27-0000-4000-8000-0000000000c1"
	appSecret = "a1c0ce27-0000-4000-8000-0000000000c2"
	appFed    = "a1c0ce27-0000-4000-8000-0000000000c3"
	appLife   = "a1c0ce27-0000-4000-8000-0000000000c4"
	// fixtureSecret and fixtureFederatedToken are the credentials the
	// scripts check never appear in anything certctl writes or prints.
	fixtureSecret         = "fixture-client-secret-5xQ9"
	fixtureFederatedToken = "fixture-federated-token-7Kp2"
)

// startFakeEntra starts a fake tenant on loopback TLS. Child processes
// trust it through SSL_CERT_FILE, as any Go program does; certctl has no
// test hooks.
func startFakeEntra(t *testing.T) *fakeEntra {
	s := logintest.New(t)
	data, err := os.ReadFile(filepath.Join(fixtures, "openssl3-default.pfx"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := pfx.Decode(data, fixturePassword)
	if err != nil {
		t.Fatal(err)
	}
	s.RegisterCertificate(appCert, b.Leaf)
	// A certificate with a negative serial number, as old Windows tools made.
	data, err = os.ReadFile(filepath.Join(interop, "negative-serial.p12"))
	if err != nil {
		t.Fatal(err)
	}
	pw, err := os.ReadFile(filepath.Join(interop, "password.txt"))
	if err != nil {
		t.Fatal(err)
	}
	neg, err := pfx.Decode(data, string(pw))
	if err != nil {
		t.Fatal(err)
	}
	s.RegisterCertificate(appCert, neg.Leaf)
	expired := testcert.Mint(t, "certctl test expired", testcert.Options{NotBefore: time.Now().Add(-60 * 24 * time.Hour), NotAfter: time.Now().Add(-30 * 24 * time.Hour)})
	s.RegisterCertificate(appCert, expired.Leaf)
	expiredPFX, err := pfx.EncodeExport(expired, fixturePassword, true)
	if err != nil {
		t.Fatal(err)
	}
	s.RegisterSecret(appSecret, fixtureSecret)
	// The secret's application may update applications in Graph, to
	// register the first certificate of one (app credential add
	// --bootstrap); appLife starts with no credential at all.
	s.GrantApplicationWrite(appSecret)
	s.ApplicationObjectID(appLife)
	s.RegisterFederated(appFed, fixtureFederatedToken)
	// Resource Manager answers a page at a time, so every sign-in reads
	// the subscriptions through nextLink.
	s.SetSubscriptions([]map[string]string{
		{"subscriptionId": "11111111-2222-4333-8444-555555555555", "displayName": "Contoso Production", "state": "Enabled"},
		{"subscriptionId": "22222222-3333-4444-8555-666666666666", "displayName": "Contoso Legacy", "state": "Disabled"},
		{"subscriptionId": "33333333-4444-4555-8666-777777777777", "displayName": "Contoso Staging", "state": "Enabled"},
	})
	s.SetSubscriptionPageSize(1)
	// Key Vault: the secret's application reads certificates of vault
	// contoso, only secrets of secretsonly, and nothing of locked.
	s.GrantKeyVault("contoso", appSecret, logintest.KeyVaultCertificateUser)
	s.GrantKeyVault("secretsonly", appSecret, logintest.KeyVaultSecretsUser)
	s.VaultURL("locked")
	ca, err := s.WriteCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &fakeEntra{
		server:     s,
		expiredPFX: expiredPFX,
		env: map[string]string{
			// The fake's CA is the only one certctl needs. No folder of
			// system roots: each process that connects would otherwise
			// parse the hundreds in /etc/ssl/certs.
			"SSL_CERT_FILE":     ca,
			"SSL_CERT_DIR":      t.TempDir(),
			"FAKE_AUTHORITY":    s.AuthorityHost(),
			"FAKE_ARM":          s.ResourceManager(),
			"FAKE_GRAPH":        s.GraphEndpoint(),
			"APP_LIFE":          appLife,
			"FAKE_TENANT":       s.Tenant,
			"FAKE_USER":         s.User,
			"APP_CERT":          appCert,
			"APP_SECRET":        appSecret,
			"APP_FED":           appFed,
			"SECRET":            fixtureSecret,
			"FEDERATED_TOKEN":   fixtureFederatedToken,
			"IDENTITY_ENDPOINT": s.MSI.URL + "/msi/token",
			"IDENTITY_HEADER":   s.MSIHeader,
			// The vaults are NAME.vault.test, reached through the fake's
			// proxy as a corporate network reaches Azure; loopback
			// addresses (the fake Entra ID) are never proxied.
			"HTTPS_PROXY":    s.ProxyURL(),
			"FAKE_KV_SUFFIX": logintest.KeyVaultSuffix,
			"VAULT":          s.VaultURL("contoso"),
			"VAULT_SECRETS":  s.VaultURL("secretsonly"),
			"VAULT_LOCKED":   s.VaultURL("locked"),
		},
	}
}
