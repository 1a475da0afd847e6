//go:build !windows

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/internal/benchstore"
	"github.com/certctl/certctl/internal/logintest"
	"github.com/certctl/certctl/internal/testcert"
	"github.com/certctl/certctl/login"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

// These benchmarks run the certctl binary, built from this folder, as a
// user runs it, and compare it with what an administrator runs today:
// openssl and curl. BENCHMARKS.md has the targets, the commands and the
// results. The CPU use of the processes (user+sys over wall time, in cores)
// and, for list, the peak RSS are reported as extra metrics.

var (
	benchBinOnce sync.Once
	benchBinPath string
	benchBinErr  error
)

// benchBinary builds certctl from this folder once per run, as released
// (releaseBuild), into os.TempDir()/certctl-bench-bin (replaced by each
// run).
func benchBinary(b *testing.B) string {
	b.Helper()
	benchBinOnce.Do(func() {
		var goTool string
		if goTool, benchBinErr = exec.LookPath("go"); benchBinErr != nil {
			return
		}
		dir := filepath.Join(os.TempDir(), "certctl-bench-bin")
		if benchBinErr = os.MkdirAll(dir, 0o700); benchBinErr != nil {
			return
		}
		tmp := filepath.Join(dir, fmt.Sprintf("certctl.%d", os.Getpid()))
		if benchBinErr = releaseBuild(goTool, tmp, "."); benchBinErr != nil {
			return
		}
		benchBinPath = filepath.Join(dir, "certctl")
		benchBinErr = os.Rename(tmp, benchBinPath)
	})
	if benchBinErr != nil {
		b.Fatal(benchBinErr)
	}
	return benchBinPath
}

// benchNeedTool skips the benchmark when a peer tool is missing.
func benchNeedTool(b *testing.B, name string) string {
	b.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		b.Skipf("%s is not on PATH, so there is nothing to compare with (apt-get install -y %s)", name, name)
	}
	return p
}

// procUsage accumulates the CPU time of the processes of one benchmark.
type procUsage struct {
	wall, cpu time.Duration
	runs      int
}

func (u *procUsage) add(st *os.ProcessState, wall time.Duration) {
	u.wall += wall
	u.cpu += st.UserTime() + st.SystemTime()
	u.runs++
}

// report adds the CPU use (user+sys over wall time, in cores) to the
// benchmark's results.
func (u *procUsage) report(b *testing.B) {
	if u.runs > 0 && u.wall > 0 {
		b.ReportMetric(float64(u.cpu)/float64(u.wall), "cpu-cores")
	}
}

// benchPeakRSS runs a command once under GNU time and reports its peak
// resident set size in MiB. The rusage Go returns for a child cannot be
// used: Linux counts in it the peak RSS of the process that started it
// (here the benchmark), because Go starts children with vfork.
func benchPeakRSS(b *testing.B, env []string, name string, args ...string) {
	b.Helper()
	gnuTime := "/usr/bin/time"
	if _, err := os.Stat(gnuTime); err != nil {
		b.Logf("no peak RSS: it is measured with GNU time (apt-get install -y time)")
		return
	}
	out := filepath.Join(b.TempDir(), "rss.txt")
	benchRun(b, nil, env, false, gnuTime, append([]string{"-f", "%M", "-o", out, name}, args...)...)
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	kib, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
	if err != nil {
		b.Fatalf("GNU time printed %q", data)
	}
	b.ReportMetric(kib/1024, "peak-RSS-MiB")
}

// benchRun runs a command to completion with stdout discarded and returns its
// stdout only if keep is set; it fails the benchmark if the command fails.
func benchRun(b *testing.B, u *procUsage, env []string, keep bool, name string, args ...string) []byte {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	if keep {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, errb.String())
	}
	if u != nil {
		u.add(cmd.ProcessState, wall)
	}
	return out.Bytes()
}

// benchLoop runs a command for each iteration of b and reports the cores
// it kept busy.
func benchLoop(b *testing.B, env []string, name string, args ...string) {
	var u procUsage
	for b.Loop() {
		benchRun(b, &u, env, false, name, args...)
	}
	u.report(b)
}

// benchEnv is the environment of the child processes: the caller's, with
// certctl's own variables replaced.
func benchEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CERTCTL_") || strings.HasPrefix(kv, "GOMAXPROCS=") || strings.HasPrefix(kv, "SSL_CERT_") {
			continue
		}
		env = append(env, kv)
	}
	for _, kv := range extra {
		if kv != "" {
			env = append(env, kv)
		}
	}
	return env
}

// BenchmarkProcessList runs "certctl list --output json" over 10,000
// certificates (targets 1a, 1b, 1c and 5): warm with a current index, cold
// without one, and cold with GOMAXPROCS=1 and 2. After the timed runs one
// more run under GNU time gives the peak RSS.
func BenchmarkProcessList(b *testing.B) {
	bin := benchBinary(b)
	const n = 10000
	for _, tc := range []struct {
		name  string
		cold  bool
		procs string
	}{
		{"warm", false, ""},
		{"cold", true, ""},
		{"cold-procs=1", true, "GOMAXPROCS=1"},
		{"cold-procs=2", true, "GOMAXPROCS=2"},
	} {
		b.Run(fmt.Sprintf("%s/n=%d", tc.name, n), func(b *testing.B) {
			root := benchstore.Store(b, n)
			env := benchEnv("CERTCTL_STORE_DIR="+root, tc.procs)
			out := benchRun(b, nil, env, true, bin, "list", "--output", "json")
			if got := bytes.Count(out, []byte(`"thumbprint"`)); got != n {
				b.Fatalf("listed %d certificates, want %d", got, n)
			}
			var u procUsage
			for b.Loop() {
				if tc.cold {
					b.StopTimer()
					benchstore.DropIndex(b, root)
					b.StartTimer()
				}
				benchRun(b, &u, env, false, bin, "list", "--output", "json")
			}
			u.report(b)
			if tc.cold {
				benchstore.DropIndex(b, root)
			}
			benchPeakRSS(b, env, bin, "list", "--output", "json")
		})
	}
}

// BenchmarkOpensslSubject is what an administrator runs today to see the
// subject of each store file, per file (target 1b):
//
//	openssl pkcs12 -in F -nokeys -passin pass: | openssl x509 -noout -subject
//
// It cycles through the first 100 files of the 10,000-certificate store;
// run it with -benchtime=100x to read each once.
func BenchmarkOpensslSubject(b *testing.B) {
	openssl := benchNeedTool(b, "openssl")
	root := benchstore.CachedStore(b, 10000)
	files, err := filepath.Glob(filepath.Join(benchstore.StoreDir(root), "*.pfx"))
	if err != nil || len(files) < 100 {
		b.Fatalf("store files: %v", err)
	}
	files = files[:100]
	var u procUsage
	i := 0
	for b.Loop() {
		p12 := exec.Command(openssl, "pkcs12", "-in", files[i%len(files)], "-nokeys", "-passin", "pass:")
		x509 := exec.Command(openssl, "x509", "-noout", "-subject")
		pipe, err := p12.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		x509.Stdin = pipe
		var subject bytes.Buffer
		x509.Stdout = &subject
		start := time.Now()
		if err := p12.Start(); err != nil {
			b.Fatal(err)
		}
		if err := x509.Start(); err != nil {
			b.Fatal(err)
		}
		errX := x509.Wait()
		errP := p12.Wait()
		wall := time.Since(start)
		if errP != nil || errX != nil || !strings.HasPrefix(subject.String(), "subject=") {
			b.Fatalf("openssl: %v %v %q", errP, errX, subject.String())
		}
		u.add(p12.ProcessState, wall)
		u.cpu += x509.ProcessState.UserTime() + x509.ProcessState.SystemTime()
		i++
	}
	u.report(b)
}

// BenchmarkProcessImport imports one PFX file (AES-256, as OpenSSL 3 writes
// it, with a password file) as a whole process, into an empty store and into
// one of 10,000 certificates, and compares with openssl reading the same
// file (target 3):
//
//	openssl pkcs12 -in F -nodes -passin pass:... -out /dev/null
func BenchmarkProcessImport(b *testing.B) {
	bin := benchBinary(b)
	file := benchstore.ImportFiles(b, 1)[0]
	pwFile := filepath.Join(b.TempDir(), "pw.txt")
	if err := os.WriteFile(pwFile, []byte(benchstore.ImportPassword+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := pfx.Decode(data, benchstore.ImportPassword)
	if err != nil {
		b.Fatal(err)
	}
	added := thumbprint.Of(bundle.Leaf).String() + ".pfx"

	b.Run("certctl/empty", func(b *testing.B) {
		parent := b.TempDir()
		var u procUsage
		i := 0
		for b.Loop() {
			b.StopTimer()
			root := filepath.Join(parent, fmt.Sprint(i))
			i++
			b.StartTimer()
			benchRun(b, &u, benchEnv("CERTCTL_STORE_DIR="+root), false, bin, "import", file, "--password-file", pwFile)
		}
		u.report(b)
	})
	b.Run("certctl/n=10000", func(b *testing.B) {
		root := benchstore.Store(b, 10000)
		env := benchEnv("CERTCTL_STORE_DIR=" + root)
		benchRun(b, nil, env, false, bin, "list") // the index is current, as in daily use
		var u procUsage
		for b.Loop() {
			benchRun(b, &u, env, false, bin, "import", file, "--password-file", pwFile)
			b.StopTimer()
			// Take the certificate out again behind certctl's back, as
			// .NET or a person may; the next import adds it again.
			if err := os.Remove(filepath.Join(benchstore.StoreDir(root), added)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		u.report(b)
	})
	// Where certctl's time goes, in process.
	b.Run("part=process-start", func(b *testing.B) { benchLoop(b, benchEnv(), bin, "--help") })
	b.Run("part=decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := pfx.Decode(data, benchstore.ImportPassword); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part=encode-store", func(b *testing.B) {
		for b.Loop() {
			if _, err := pfx.EncodeStore(bundle); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part=write-atomic", func(b *testing.B) {
		// One store-file-sized write: temporary file, fsync, rename,
		// fsync of the folder.
		dir := b.TempDir()
		payload := make([]byte, 2600)
		for b.Loop() {
			if err := platform.WriteFileAtomic(dir, "x.pfx", payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("part=store-import/n=%d", n), func(b *testing.B) {
			parent := b.TempDir()
			root := parent
			if n > 0 {
				root = benchstore.Store(b, n)
				benchRun(b, nil, benchEnv("CERTCTL_STORE_DIR="+root), false, bin, "list")
			}
			i := 0
			for b.Loop() {
				b.StopTimer()
				if n == 0 {
					root = filepath.Join(parent, fmt.Sprint(i))
					i++
				} else {
					os.Remove(filepath.Join(benchstore.StoreDir(root), added))
				}
				b.StartTimer()
				s, err := certstore.Open(benchstore.StoreName, certstore.Options{Dir: root})
				if err != nil {
					b.Fatal(err)
				}
				if res, err := s.Import(bundle, certstore.ImportOptions{}); err != nil || !res.Added {
					b.Fatalf("import: %v (added %v)", err, res.Added)
				}
				s.Close()
			}
		})
	}
	b.Run("openssl", func(b *testing.B) {
		openssl := benchNeedTool(b, "openssl")
		var u procUsage
		for b.Loop() {
			benchRun(b, &u, os.Environ(), false, openssl, "pkcs12", "-in", file, "-nodes", "-passin", "pass:"+benchstore.ImportPassword, "-out", os.DevNull)
		}
		u.report(b)
	})
}

// BenchmarkProcessBulkImport imports 1,000 PFX files in one certctl process
// into an empty store (target 3). cpu-cores shows whether both cores work;
// run it with -benchtime=3x.
func BenchmarkProcessBulkImport(b *testing.B) {
	bin := benchBinary(b)
	const n = 1000
	files := benchstore.ImportFiles(b, n)
	pwFile := filepath.Join(b.TempDir(), "pw.txt")
	if err := os.WriteFile(pwFile, []byte(benchstore.ImportPassword+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	args := append([]string{"import", "--password-file", pwFile}, files...)
	for _, procs := range []string{"", "GOMAXPROCS=1"} {
		name := fmt.Sprintf("n=%d", n)
		if procs != "" {
			name = fmt.Sprintf("procs=1/n=%d", n)
		}
		b.Run(name, func(b *testing.B) {
			parent := b.TempDir()
			var u procUsage
			i := 0
			for b.Loop() {
				b.StopTimer()
				root := filepath.Join(parent, fmt.Sprint(i))
				i++
				b.StartTimer()
				benchRun(b, &u, benchEnv("CERTCTL_STORE_DIR="+root, procs), false, bin, args...)
			}
			b.StopTimer()
			if got := len(benchstore.Thumbprints(b, filepath.Join(parent, "0"))); got != n {
				b.Fatalf("imported %d certificates, want %d", got, n)
			}
			u.report(b)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/file")
		})
	}
}

// BenchmarkProcessToken is "certctl token" against the fake Entra ID on
// loopback TLS, side by side with curl sending the one token request that
// certctl sends (target 4), for three saved sign-ins:
//
//   - certctl-token/certificate: a certificate in the store (context
//     cert); curl/certificate posts the client_credentials grant with a
//     client assertion made beforehand, outside the timer.
//   - certctl-token/secret: a client secret in a file (context secret);
//     curl/secret posts the client_credentials grant with the client_secret
//     read from a file (--data-urlencode client_secret@FILE).
//   - certctl-token/refresh-token: a refresh token from a consent,
//     redeemed with the certificate as client credential and rotated in its
//     file by each run (context rt); curl/refresh-token redeems a refresh
//     token of its own, from a second consent, since the fake refuses one
//     used before: its client assertion and form are made, and the rotated
//     refresh token read from its answer, outside the timer.
//
// Each certctl sub-benchmark names its context with --context and runs
// certctl token once before the timer, so that the tenant's discovery
// metadata is kept in the config folder: what is measured is the token of
// a tenant certctl has seen within a day, which is one request, as curl
// makes (requests/op, which must be 1). The first token of a tenant, or
// one whose metadata is older than a day, also fetches the discovery
// document, and is not measured.
//
// The other sub-benchmarks take certctl token --context cert apart:
// without the system certificate folder, process start (--help), the
// same command in process, store lookup (Open + Find, in process),
// signing the assertion (in process), the sign-in in process with a new
// TLS connection each time and the metadata kept in the config folder,
// and one token request in process.
func BenchmarkProcessToken(b *testing.B) {
	bin := benchBinary(b)
	fake := logintest.New(b)
	data, err := os.ReadFile(filepath.Join(fixtures, "openssl3-default.pfx"))
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := pfx.Decode(data, fixturePassword)
	if err != nil {
		b.Fatal(err)
	}
	fake.RegisterCertificate(appCert, bundle.Leaf)
	fake.RegisterSecret(appSecret, fixtureSecret)
	dir := b.TempDir()
	ca, err := fake.WriteCA(dir)
	if err != nil {
		b.Fatal(err)
	}
	storeRoot, configDir := filepath.Join(dir, "store"), filepath.Join(dir, "config")
	penv := benchEnv("CERTCTL_STORE_DIR="+storeRoot, "CERTCTL_CONFIG_DIR="+configDir, "HOME="+dir, "SSL_CERT_FILE="+ca, "NO_PROXY=127.0.0.1,localhost")
	pwFile := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pwFile, []byte(fixturePassword+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	// The secret as a person saves it for certctl (with a line break),
	// and as curl's --data-urlencode NAME@FILE sends a file whole.
	secretFile, curlSecretFile := filepath.Join(dir, "secret.txt"), filepath.Join(dir, "curl-secret.txt")
	if err := os.WriteFile(secretFile, []byte(fixtureSecret+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(curlSecretFile, []byte(fixtureSecret), 0o600); err != nil {
		b.Fatal(err)
	}
	tp := thumbprint.Of(bundle.Leaf).String()
	envr := login.Environment{Name: "Fake", AuthorityHost: fake.AuthorityHost(), ResourceManager: fake.ResourceManager(), Custom: true}
	scope := envr.ManagementScope()
	tokenURL := fake.TokenEndpoint()

	findIdentity := func(b *testing.B) certstore.Identity {
		s, err := certstore.Open("My", certstore.Options{Dir: storeRoot})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		tpv, err := thumbprint.Parse(tp)
		if err != nil {
			b.Fatal(err)
		}
		id, err := s.Find(tpv)
		if err != nil {
			b.Fatal(err)
		}
		return id
	}
	// consent signs the fake's user in to appCert, a confidential client
	// with the certificate, in the browser (logintest.Browse), and returns
	// the refresh token the consent gave.
	consent := func(b *testing.B) string {
		opts := login.Options{
			Method: login.MethodCertificate, Environment: envr, Tenant: fake.Tenant, ClientID: appCert,
			Identity: findIdentity(b), RoundTripper: fake.TLS.Client().Transport,
			OpenBrowser: func(u string) error { return logintest.Browse(fake.TLS.Client(), u) },
		}
		got, err := login.Consent(context.Background(), login.ConsentOptions{Options: opts})
		if err != nil {
			b.Fatal(err)
		}
		return got.RefreshToken
	}

	benchRun(b, nil, penv, false, bin, "environment", "add", "Fake", "--authority-host", fake.AuthorityHost(), "--resource-manager-endpoint", fake.ResourceManager())
	benchRun(b, nil, penv, false, bin, "import", filepath.Join(fixtures, "openssl3-default.pfx"), "--password-file", pwFile)
	benchRun(b, nil, penv, false, bin, "login", "--service-principal", "--tenant", fake.Tenant, "--application-id", appCert, "--thumbprint", tp, "--environment", "Fake", "--context-name", "cert")
	benchRun(b, nil, penv, false, bin, "login", "--service-principal", "--tenant", fake.Tenant, "--application-id", appSecret, "--client-secret-file", secretFile, "--environment", "Fake", "--context-name", "secret")
	rtFile := filepath.Join(dir, "certctl.rt")
	if err := login.SaveRefreshToken(rtFile, consent(b)); err != nil {
		b.Fatal(err)
	}
	benchRun(b, nil, penv, false, bin, "login", "--refresh-token-file", rtFile, "--tenant", fake.Tenant, "--application-id", appCert, "--thumbprint", tp, "--environment", "Fake", "--context-name", "rt")

	// certctlToken measures certctl token --context name, after one run
	// that is not measured: the first of a tenant also fetches its
	// discovery metadata, which the config folder then keeps.
	certctlToken := func(name string) func(*testing.B) {
		return func(b *testing.B) {
			args := []string{"token", "--context", name}
			benchRun(b, nil, penv, false, bin, args...)
			var u procUsage
			before := len(fake.Requests())
			for b.Loop() {
				out := benchRun(b, &u, penv, true, bin, args...)
				if !bytes.HasPrefix(out, []byte("eyJ")) {
					b.Fatalf("certctl token --context %s printed %q", name, out)
				}
			}
			u.report(b)
			reqs := fake.Requests()[before:]
			b.ReportMetric(float64(len(reqs))/float64(b.N), "requests/op")
			b.Logf("the requests of one certctl token --context %s: %s", name, strings.Join(reqs[:len(reqs)/b.N], ", "))
			if len(reqs) != b.N {
				b.Errorf("certctl token --context %s made %d requests in %d runs, want one per run: the discovery metadata is not kept, and curl's one request is no longer its peer", name, len(reqs), b.N)
			}
		}
	}
	// curlPost posts the token request form (NAME=VALUE or NAME@FILE
	// fields) with curl, the answer to answer, and checks its status.
	curlPost := func(b *testing.B, u *procUsage, curl, answer string, form ...string) {
		args := []string{"-sS", "--noproxy", "*", "--cacert", ca, "-o", answer, "-w", "%{http_code}"}
		for _, f := range form {
			args = append(args, "--data-urlencode", f)
		}
		out := benchRun(b, u, penv, true, curl, append(args, tokenURL)...)
		if string(out) != "200" {
			body, _ := os.ReadFile(answer)
			b.Fatalf("curl: HTTP %s: %s", out, body)
		}
	}

	b.Run("certctl-token/certificate", certctlToken("cert"))
	b.Run("curl/certificate", func(b *testing.B) {
		curl := benchNeedTool(b, "curl")
		id := findIdentity(b)
		var u procUsage
		for b.Loop() {
			b.StopTimer()
			assertion, err := login.BuildAssertion(id, appCert, tokenURL, false, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			curlPost(b, &u, curl, os.DevNull,
				"grant_type=client_credentials",
				"client_id="+appCert,
				"client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
				"client_assertion="+assertion,
				"scope="+scope)
		}
		u.report(b)
	})
	b.Run("certctl-token/secret", certctlToken("secret"))
	b.Run("curl/secret", func(b *testing.B) {
		curl := benchNeedTool(b, "curl")
		var u procUsage
		for b.Loop() {
			curlPost(b, &u, curl, os.DevNull,
				"grant_type=client_credentials",
				"client_id="+appSecret,
				"client_secret@"+curlSecretFile,
				"scope="+scope)
		}
		u.report(b)
	})
	b.Run("certctl-token/refresh-token", certctlToken("rt"))
	b.Run("curl/refresh-token", func(b *testing.B) {
		curl := benchNeedTool(b, "curl")
		id := findIdentity(b)
		rt := consent(b)
		answer := filepath.Join(b.TempDir(), "answer.json")
		var u procUsage
		for b.Loop() {
			b.StopTimer()
			assertion, err := login.BuildAssertion(id, appCert, tokenURL, false, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			curlPost(b, &u, curl, answer,
				"grant_type=refresh_token",
				"client_id="+appCert,
				"refresh_token="+rt,
				"scope="+scope+" offline_access openid profile",
				"client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
				"client_assertion="+assertion)
			b.StopTimer()
			// The fake refuses a refresh token used before: the next run
			// sends the one this answer rotated in.
			body, err := os.ReadFile(answer)
			if err != nil {
				b.Fatal(err)
			}
			var tr struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" {
				b.Fatalf("curl: the answer has no access token or refresh token (%v)", err)
			}
			rt = tr.RefreshToken
			b.StartTimer()
		}
		u.report(b)
	})
	b.Run("part=certctl-token-without-cert-dir", func(b *testing.B) {
		// Go's own transport would read the certificate folders
		// (/etc/ssl/certs, or SSL_CERT_DIR) besides SSL_CERT_FILE;
		// certctl's (internal/roots) reads them only when the file's
		// roots do not verify the server. An empty SSL_CERT_DIR shows
		// that the folders now cost nothing here.
		empty := b.TempDir()
		var u procUsage
		for b.Loop() {
			benchRun(b, &u, append(penv, "SSL_CERT_DIR="+empty), false, bin, "token", "--context", "cert")
		}
		u.report(b)
	})
	b.Run("part=process-start", func(b *testing.B) { benchLoop(b, penv, bin, "--help") })
	b.Run("part=certctl-token-in-process", func(b *testing.B) {
		// The same command in this process: what is left of
		// certctl-token/certificate is starting a process and what runs
		// once in one.
		vars := map[string]string{}
		for _, kv := range penv {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		b.Setenv("SSL_CERT_FILE", ca) // read once, at the first TLS connection
		var out, errb bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }, now: time.Now}
		for b.Loop() {
			out.Reset()
			if code := runInProcess([]string{"certctl", "token", "--context", "cert"}, e); code != 0 || !bytes.HasPrefix(out.Bytes(), []byte("eyJ")) {
				b.Fatalf("certctl token: exit %d: %s", code, errb.String())
			}
		}
	})
	b.Run("part=store-find", func(b *testing.B) {
		for b.Loop() {
			findIdentity(b)
		}
	})
	b.Run("part=assertion", func(b *testing.B) {
		id := findIdentity(b)
		for b.Loop() {
			if _, err := login.BuildAssertion(id, appCert, tokenURL, false, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("part=sign-in-in-process", func(b *testing.B) {
		id := findIdentity(b)
		before := len(fake.Requests())
		for b.Loop() {
			// A new client each time: a new TLS handshake, as in a new
			// process. The metadata comes from the config folder, as
			// certctl token's does.
			tr := fake.TLS.Client().Transport.(*http.Transport).Clone()
			opts := login.Options{Method: login.MethodCertificate, Environment: envr, Tenant: fake.Tenant, ClientID: appCert, Identity: id, RoundTripper: tr, MetadataDir: configDir}
			tok, err := login.Token(context.Background(), opts, scope)
			if err != nil {
				b.Fatal(err)
			}
			if tok.Token == "" {
				b.Fatal("no token")
			}
			tr.CloseIdleConnections()
		}
		b.ReportMetric(float64(len(fake.Requests())-before)/float64(b.N), "requests/op")
	})
	b.Run("part=one-request-in-process", func(b *testing.B) {
		id := findIdentity(b)
		for b.Loop() {
			b.StopTimer()
			assertion, err := login.BuildAssertion(id, appCert, tokenURL, false, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			form := "grant_type=client_credentials&client_id=" + appCert +
				"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" +
				"&client_assertion=" + assertion + "&scope=" + scope
			tr := fake.TLS.Client().Transport.(*http.Transport).Clone()
			client := &http.Client{Transport: tr}
			b.StartTimer()
			resp, err := client.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d", resp.StatusCode)
			}
			tr.CloseIdleConnections()
		}
	})
}

// BenchmarkProcessSync runs "certctl sync" of 10 certificates against the
// fake Key Vault, reached through the fake's proxy as HTTPS_PROXY, with a
// client-secret sign-in: every certificate up to date, and with one new
// version per run. It reports the requests the vault answered and those
// the identity service answered, per run.
func BenchmarkProcessSync(b *testing.B) {
	bin := benchBinary(b)
	fake := logintest.New(b)
	const app = "a1c0ce27-0000-4000-8000-0000000000b5"
	dir := b.TempDir()
	secretFile := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secretFile, []byte("bench-secret\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	fake.RegisterSecret(app, "bench-secret")
	fake.GrantKeyVault("bench", app, logintest.KeyVaultCertificateUser)
	ca, err := fake.WriteCA(dir)
	if err != nil {
		b.Fatal(err)
	}
	penv := benchEnv("CERTCTL_STORE_DIR="+filepath.Join(dir, "store"), "CERTCTL_CONFIG_DIR="+filepath.Join(dir, "config"), "HOME="+dir, "SSL_CERT_FILE="+ca, "HTTPS_PROXY="+fake.ProxyURL(), "NO_PROXY=")
	benchRun(b, nil, penv, false, bin, "environment", "add", "Fake", "--authority-host", fake.AuthorityHost(), "--resource-manager-endpoint", fake.ResourceManager(), "--key-vault-suffix", logintest.KeyVaultSuffix)
	benchRun(b, nil, penv, false, bin, "login", "--service-principal", "--tenant", fake.Tenant, "--application-id", app, "--client-secret-file", secretFile, "--environment", "Fake")
	args := []string{"sync", "--from-keyvault", fake.VaultURL("bench")}
	put := func(name string) {
		bundle, err := testcert.New("bench "+name, testcert.Options{Key: "ecdsa"})
		if err != nil {
			b.Fatal(err)
		}
		fake.PutKeyVaultCertificate("bench", name, bundle, logintest.KeyVaultCertificateOptions{})
	}
	for i := range 10 {
		name := fmt.Sprintf("cert-%d", i)
		put(name)
		args = append(args, "--certificate", name)
	}
	benchRun(b, nil, penv, false, bin, args...)

	count := func(b *testing.B, run func()) {
		var u procUsage
		fake.ResetKeyVaultCounts()
		entra := len(fake.Requests())
		for b.Loop() {
			run()
			benchRun(b, &u, penv, false, bin, args...)
		}
		u.report(b)
		c := fake.KeyVaultCounts()
		vault := c.Challenges + c.Throttled + c.Refused
		for _, m := range []map[string]int{c.Metadata, c.Secrets} {
			for _, n := range m {
				vault += n
			}
		}
		b.ReportMetric(float64(vault)/float64(b.N), "vault-requests/op")
		b.ReportMetric(float64(len(fake.Requests())-entra)/float64(b.N), "entra-requests/op")
	}
	b.Run("up-to-date", func(b *testing.B) { count(b, func() {}) })
	// The sign-in alone, as the same process makes it: what a sync costs
	// before it reaches the vault.
	b.Run("part=token", func(b *testing.B) { benchLoop(b, penv, bin, "token") })
	b.Run("part=process-start", func(b *testing.B) { benchLoop(b, penv, bin, "--help") })
	b.Run("one-new-version", func(b *testing.B) {
		count(b, func() {
			b.StopTimer()
			put("cert-0")
			b.StartTimer()
		})
	})
}

// helloWorld builds the smallest Go program that prints, with the same
// toolchain and settings as benchBinary: the floor of starting a Go
// process on this machine.
func helloWorld(b *testing.B) string {
	b.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skip("no go command to build the hello-world program")
	}
	dir := b.TempDir()
	src := "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello, world\") }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "hello")
	if err := releaseBuild(goTool, bin, dir); err != nil {
		b.Fatal(err)
	}
	return bin
}

// floorCmd is a command benchAlternate runs, and the name of its metric.
type floorCmd struct {
	name string
	args []string
}

// benchAlternate runs the commands one after another in each iteration, so
// that all meet the same machine, and reports the mean wall time of each
// in ms (metric NAME-ms), the ratio of the first to the second, and of
// each later one to the second (NAME-ratio). ns/op is all of them
// together.
func benchAlternate(b *testing.B, env []string, cmds ...floorCmd) {
	took := make([]time.Duration, len(cmds))
	n := 0
	for b.Loop() {
		for i, c := range cmds {
			start := time.Now()
			benchRun(b, nil, env, false, c.args[0], c.args[1:]...)
			took[i] += time.Since(start)
		}
		n++
	}
	for i, c := range cmds {
		b.ReportMetric(float64(took[i])/float64(n)/1e6, c.name+"-ms")
	}
	b.ReportMetric(float64(took[0])/float64(took[1]), "ratio")
	for i := 2; i < len(cmds); i++ {
		b.ReportMetric(float64(took[i])/float64(took[1]), cmds[i].name+"-ratio")
	}
}

// dependencies builds a program that imports every package certctl links
// (but its own internal ones, which only certctl may import) and does
// nothing: the start-up of certctl's dependencies alone, since Go
// initializes every package a program links before main runs.
func dependencies(b *testing.B) string {
	b.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skip("no go command to build the dependencies program")
	}
	list, err := exec.Command(goTool, "list", "-tags", "urfave_cli_no_docs", "-deps", ".").Output()
	if err != nil {
		b.Fatalf("go list: %v", err)
	}
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n")
	for _, p := range strings.Fields(string(list)) {
		internal := p == "internal" || strings.HasPrefix(p, "internal/") || strings.Contains(p, "/internal/") || strings.HasSuffix(p, "/internal")
		if internal || strings.HasPrefix(p, "vendor/") || p == "C" || p == "unsafe" || p == "runtime/cgo" || p == "github.com/certctl/certctl/cmd/certctl" {
			continue
		}
		fmt.Fprintf(&src, "\t_ %q\n", p)
	}
	src.WriteString(")\n\nfunc main() {}\n")
	dir := b.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(src.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	// Built from this module, so that its packages and versions are certctl's.
	bin := filepath.Join(dir, "deps")
	cmd := exec.Command(goTool, "build", "-tags", "urfave_cli_no_docs", "-ldflags=-s -w", "-o", bin, file)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkFloor measures certctl against what the machine itself allows
// (BENCHMARKS.md, "Floor"): each sub-benchmark times certctl and its floor
// alternately in one run and reports the ratio.
//
//   - start: certctl --help against a hello-world Go program (target:
//     at most 1.5), and a program that links certctl's dependencies and
//     does nothing (deps-ms, deps-ratio: what those cost before main);
//   - table-vs-json: certctl list against certctl list -o json, over a warm
//     store of 2,000 (target: at most 1.1);
//   - json-vs-ls: certctl list -o json against ls -l of the store folder
//     (target: at most 1.0);
//   - rss: the peak RSS of certctl list -o json and of certctl list over
//     10,000 (target: at most 25 MiB), under GNU time.
func BenchmarkFloor(b *testing.B) {
	bin := benchBinary(b)
	b.Run("start", func(b *testing.B) {
		hello, deps := helloWorld(b), dependencies(b)
		benchAlternate(b, benchEnv(), floorCmd{"certctl", []string{bin, "--help"}}, floorCmd{"hello", []string{hello}}, floorCmd{"deps", []string{deps}})
	})
	const n = 2000
	b.Run(fmt.Sprintf("table-vs-json/n=%d", n), func(b *testing.B) {
		root := benchstore.Store(b, n)
		env := benchEnv("CERTCTL_STORE_DIR=" + root)
		benchRun(b, nil, env, false, bin, "list") // the index is current from here on
		benchAlternate(b, env, floorCmd{"table", []string{bin, "list"}}, floorCmd{"json", []string{bin, "list", "-o", "json"}})
	})
	b.Run(fmt.Sprintf("json-vs-ls/n=%d", n), func(b *testing.B) {
		ls := benchNeedTool(b, "ls")
		root := benchstore.Store(b, n)
		env := benchEnv("CERTCTL_STORE_DIR=" + root)
		out := benchRun(b, nil, env, true, bin, "list", "-o", "json")
		if got := bytes.Count(out, []byte(`"thumbprint"`)); got != n {
			b.Fatalf("listed %d certificates, want %d", got, n)
		}
		benchAlternate(b, env, floorCmd{"json", []string{bin, "list", "-o", "json"}}, floorCmd{"ls", []string{ls, "-l", benchstore.StoreDir(root)}})
	})
	for _, format := range []string{"json", "table"} {
		b.Run("rss/n=10000/"+format, func(b *testing.B) {
			root := benchstore.Store(b, 10000)
			env := benchEnv("CERTCTL_STORE_DIR=" + root)
			benchRun(b, nil, env, false, bin, "list") // the index is current from here on
			args := []string{"list", "-o", format}
			benchLoop(b, env, bin, args...)
			benchPeakRSS(b, env, bin, args...)
		})
	}
}
