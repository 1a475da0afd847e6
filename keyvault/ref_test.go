package keyvault

import (
	"errors"
	"strings"
	"testing"

	"github.com/certctl/certctl/login"
)

func TestParseRef(t *testing.T) {
	t.Parallel()
	const v = "0123456789abcdef0123456789ABCDEF"
	for _, tc := range []struct {
		in   string
		want Ref
		bad  string // part of the problem
	}{
		{in: "https://contoso.vault.azure.net/certificates/web-tls", want: Ref{"https://contoso.vault.azure.net", KindCertificate, "web-tls", ""}},
		{in: "https://Contoso.Vault.Azure.Net/certificates/web-tls/", want: Ref{"https://contoso.vault.azure.net", KindCertificate, "web-tls", ""}},
		{in: "https://contoso.vault.azure.net/certificates/web-tls/" + v, want: Ref{"https://contoso.vault.azure.net", KindCertificate, "web-tls", v}},
		{in: "https://contoso.vault.azure.cn/secrets/bot/" + v, want: Ref{"https://contoso.vault.azure.cn", KindSecret, "bot", v}},
		{in: "http://contoso.vault.azure.net/certificates/web", bad: "only over https"},
		{in: "https://contoso.vault.azure.net/keys/web", bad: "give https://VAULT"},
		{in: "https://contoso.vault.azure.net/certificates", bad: "give https://VAULT"},
		{in: "https://contoso.vault.azure.net/certificates/web/abc", bad: "32 hexadecimal digits"},
		{in: "https://contoso.vault.azure.net/certificates/web_tls", bad: "letters, digits and dashes"},
		{in: "https://contoso.vault.azure.net/certificates/web%2Ftls", bad: "percent-encoded"},
		{in: "https://contoso.vault.azure.net/certificates/web?api-version=7.4", bad: "query"},
		{in: "https://user:hunter2@contoso.vault.azure.net/certificates/web", bad: "user name"},
		{in: "contoso/certificates/web", bad: "give a URL"},
	} {
		got, err := ParseRef(tc.in)
		if tc.bad != "" {
			if !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseRef(%q) = %v, want an error saying %q", tc.in, err, tc.bad)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseRef(%q) repeats the password: %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseVault(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://contoso.vault.azure.net":  "https://contoso.vault.azure.net",
		"https://contoso.vault.azure.net/": "https://contoso.vault.azure.net",
	} {
		if got, err := ParseVault(in); err != nil || got != want {
			t.Errorf("ParseVault(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseVault("https://contoso.vault.azure.net/certificates/web"); !errors.Is(err, ErrBadURL) {
		t.Errorf("a certificate URL as a vault: %v, want ErrBadURL", err)
	}
}

// TestCheckCloud: a vault is used only with a sign-in of its cloud, and the
// error says which cloud it belongs to.
func TestCheckCloud(t *testing.T) {
	t.Parallel()
	public, err := login.FindEnvironment(t.TempDir(), "AzureCloud")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCloud("https://contoso.vault.azure.net", public); err != nil {
		t.Errorf("a public vault in AzureCloud: %v", err)
	}
	var ce *CloudError
	err = CheckCloud("https://contoso.vault.azure.cn", public)
	if !errors.As(err, &ce) || ce.Belongs != "AzureChinaCloud" || !errors.Is(err, ErrWrongCloud) {
		t.Fatalf("a China vault in AzureCloud: %v, want a *CloudError naming AzureChinaCloud", err)
	}
	for _, host := range []string{"https://vault.azure.net", "https://a.b.vault.azure.net", "https://contoso.vault.azure.net.evil.example", "https://contoso.vault.azure.net:8443"} {
		if err := CheckCloud(host, public); !errors.Is(err, ErrWrongCloud) {
			t.Errorf("CheckCloud(%s) = %v, want ErrWrongCloud", host, err)
		}
	}
	if err := CheckCloud("https://contoso.vault.azure.net", login.Environment{Name: "Stack"}); !errors.As(err, &ce) || ce.Suffix != "" || ce.Belongs != "AzureCloud" {
		t.Errorf("an environment without a suffix: %v", err)
	}
}

func TestSecretData(t *testing.T) {
	t.Parallel()
	if _, err := secretData("not base64!", "application/x-pkcs12"); err == nil || strings.Contains(err.Error(), "not base64!") {
		t.Errorf("bad base64: %v; want an error that does not repeat the value", err)
	}
	if _, err := secretData("x", "text/plain"); err == nil || !strings.Contains(err.Error(), "text/plain") {
		t.Errorf("another content type: %v", err)
	}
	if d, err := secretData("-----BEGIN CERTIFICATE-----\n", ""); err != nil || string(d) != "-----BEGIN CERTIFICATE-----\n" {
		t.Errorf("PEM without a content type: %q, %v", d, err)
	}
}
