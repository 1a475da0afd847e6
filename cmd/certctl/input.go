package main

import (
	"bufio"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/certctl/certctl/internal/lines"
	"github.com/certctl/certctl/pfx"
	"github.com/certctl/certctl/platform"
)

// readInput reads a certificate or key file the user named, refusing what
// is not a regular file or is too big before reading it.
func readInput(path string) ([]byte, error) {
	data, _, err := readInputFile(path)
	return data, err
}

// readInputFile is readInput that also says what the file is, for
// permission checks.
func readInputFile(path string) ([]byte, os.FileInfo, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, nil, badInput(fmt.Errorf("%s is a folder; give the path of a .pfx, .p12 or .pem file", path))
	}
	data, fi, err := platform.ReadSmallFile(path, pfx.MaxFileSize)
	switch {
	case errors.Is(err, platform.ErrNotRegular):
		return nil, nil, badInput(fmt.Errorf("%s is not a regular file (a pipe or device?); save it to a file first", path))
	case errors.Is(err, platform.ErrTooLarge):
		return nil, nil, badInput(fmt.Errorf("%s: %w", path, pfx.ErrTooLarge))
	case err != nil:
		return nil, nil, badInput(err)
	}
	return data, fi, nil
}

// readSecretFile reads a secret (a password, a client secret) from the
// first line of the file given to flag. The file must be a regular file of
// at most platform.MaxSecretSize bytes; one that another user (but root)
// owns is refused, and one that group or others may read is used with a
// warning.
func readSecretFile(e *env, flag, path string) (string, error) {
	data, fi, err := platform.ReadSmallFile(path, platform.MaxSecretSize)
	switch {
	case errors.Is(err, platform.ErrNotRegular):
		return "", badInput(fmt.Errorf("%s %s is not a regular file: give a file, or pipe the secret to %s", flag, path, strings.TrimSuffix(flag, "-file")+"-stdin"))
	case errors.Is(err, platform.ErrTooLarge):
		return "", badInput(fmt.Errorf("%s %s: larger than %d KiB, which no secret is", flag, path, platform.MaxSecretSize>>10))
	case err != nil:
		return "", badInput(fmt.Errorf("%s: %w", flag, err))
	}
	if err := checkSecretFile(e, flag, path, fi); err != nil {
		return "", err
	}
	return lines.First(string(data)), nil
}

// checkSecretFile refuses a file holding a secret or key that another
// user owns, and warns when group or others may read it.
func checkSecretFile(e *env, flag, path string, fi os.FileInfo) error {
	readable, err := platform.CheckSecretFile(path, fi)
	if err != nil {
		return fmt.Errorf("refusing %s: %w", flag, err)
	}
	if readable {
		e.warnf("%s %s can be read by group or others (mode %04o); consider chmod 600", flag, path, fi.Mode().Perm())
	}
	return nil
}

// passwordReader gives the PFX password from the one place the user chose:
// --password-file, --password-stdin or $CERTCTL_PFX_PASSWORD, read once.
// No flag takes the password itself: argv is visible to every user of the
// machine.
type passwordReader struct {
	c *cli.Context
	e *env
	// envNames are the environment variables that may hold the password,
	// in order; nil means $CERTCTL_PFX_PASSWORD.
	envNames []string
	read     bool
	value    string
	given    bool

	// mu serializes terminal prompts when files are decoded in parallel;
	// the first password typed is tried on the files after it.
	mu       sync.Mutex
	typed    string
	hasTyped bool
}

const passwordEnv = "CERTCTL_PFX_PASSWORD"

// explicit returns the password the user gave, if any.
func (p *passwordReader) explicit() (string, bool, error) {
	if p.read {
		return p.value, p.given, nil
	}
	p.read = true
	file, stdin := p.c.String("password-file"), p.c.Bool("password-stdin")
	if file != "" && stdin {
		return "", false, &usageError{msg: "use either --password-file or --password-stdin, not both"}
	}
	var err error
	switch {
	case file != "":
		if p.value, err = readSecretFile(p.e, "--password-file", file); err != nil {
			return "", false, err
		}
		p.given = true
	case stdin:
		if p.value, err = readStdinSecret(p.e, "--password-stdin"); err != nil {
			return "", false, err
		}
		p.given = true
	default:
		names := p.envNames
		if names == nil {
			names = []string{passwordEnv}
		}
		for _, name := range names {
			if v, ok := lookupEnv(p.e, name); ok {
				p.value, p.given = v, true
				break
			}
		}
	}
	return p.value, p.given, nil
}

// readStdinSecret reads a secret from the first line of standard input, of
// at most platform.MaxSecretSize bytes.
func readStdinSecret(e *env, flag string) (string, error) {
	r := bufio.NewReader(io.LimitReader(e.stdin, platform.MaxSecretSize+1))
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	if len(lines.First(line)) > platform.MaxSecretSize {
		return "", badInput(fmt.Errorf("%s: the first line of standard input is longer than %d KiB, which no secret is", flag, platform.MaxSecretSize>>10))
	}
	return lines.First(line), nil
}

func lookupEnv(e *env, name string) (string, bool) {
	v := e.getenv(name)
	return v, v != ""
}

// contents reads a certificate file of any format, with its key if it has
// one.
func (p *passwordReader) contents(path string, data []byte) (*pfx.Contents, error) {
	return withPassword(p, path, func(pw string) (*pfx.Contents, error) { return pfx.Read(data, pw) })
}

// decode reads a PFX or PEM file with its key.
func (p *passwordReader) decode(path string, data []byte) (*pfx.Bundle, error) {
	return withPassword(p, path, func(pw string) (*pfx.Bundle, error) { return pfx.Decode(data, pw) })
}

// decodePEM reads a certificate PEM with its key from a second PEM file,
// which may be encrypted.
func (p *passwordReader) decodePEM(path, keyPath string, data, keyData []byte) (*pfx.Bundle, error) {
	return withPassword(p, path+" with key "+keyPath, func(pw string) (*pfx.Bundle, error) { return pfx.DecodePEM(data, keyData, pw) })
}

// certificates reads the certificates of a PFX, PEM or DER file.
func (p *passwordReader) certificates(path string, data []byte) ([]*x509.Certificate, error) {
	return withPassword(p, path, func(pw string) ([]*x509.Certificate, error) { return pfx.DecodeCertificates(data, pw) })
}

// withPassword calls decode with the password the user gave. Without one it
// tries the empty password, then asks on the terminal if there is one.
func withPassword[T any](p *passwordReader, path string, decode func(string) (T, error)) (T, error) {
	var zero T
	pw, given, err := p.explicit()
	if err != nil {
		return zero, err
	}
	v, err := decode(pw)
	if !given && errors.Is(err, pfx.ErrIncorrectPassword) {
		if p.e.readPassword == nil {
			return zero, badInput(fmt.Errorf("%s is protected by a password: give it with --password-file FILE, --password-stdin or $%s", path, passwordEnv))
		}
		p.mu.Lock()
		if p.hasTyped {
			v, err = decode(p.typed)
		}
		if !p.hasTyped || errors.Is(err, pfx.ErrIncorrectPassword) {
			if pw, err = p.e.readPassword(fmt.Sprintf("Password for %s: ", escapeText(path))); err == nil {
				p.typed, p.hasTyped = pw, true
				v, err = decode(pw)
			}
		}
		p.mu.Unlock()
	}
	if err != nil {
		return zero, badInput(fmt.Errorf("%s: %w", path, err))
	}
	return v, nil
}
