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

	"github.com/certctl/certctl/pfx"
)

// readInput reads a certificate or key file the user named, refusing what
// is not a regular file or is too big before reading it.
func readInput(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, badInput(err)
	}
	switch {
	case fi.IsDir():
		return nil, badInput(fmt.Errorf("%s is a folder; give the path of a .pfx, .p12 or .pem file", path))
	case !fi.Mode().IsRegular():
		return nil, badInput(fmt.Errorf("%s is not a regular file (a pipe or device?); save it to a file first", path))
	case fi.Size() > pfx.MaxFileSize:
		return nil, badInput(fmt.Errorf("%s: %w", path, pfx.ErrTooLarge))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, badInput(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, pfx.MaxFileSize+1))
	if err != nil {
		return nil, badInput(fmt.Errorf("read %s: %w", path, err))
	}
	if len(data) > pfx.MaxFileSize {
		return nil, badInput(fmt.Errorf("%s: %w", path, pfx.ErrTooLarge))
	}
	return data, nil
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
		return "", false, &usageError{"use either --password-file or --password-stdin, not both"}
	}
	var err error
	switch {
	case file != "":
		var data []byte
		if data, err = os.ReadFile(file); err != nil {
			return "", false, badInput(fmt.Errorf("--password-file: %w", err))
		}
		p.value, p.given = firstLine(string(data)), true
	case stdin:
		if p.value, err = p.readStdin("--password-stdin"); err != nil {
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

// readStdin reads a secret from the first line of standard input.
func (p *passwordReader) readStdin(flag string) (string, error) {
	line, err := bufio.NewReader(p.e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return firstLine(line), nil
}

func lookupEnv(e *env, name string) (string, bool) {
	v := e.getenv(name)
	return v, v != ""
}

// firstLine is s up to its first line break, which editors and echo add.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// decode reads a PFX or PEM file with its key.
func (p *passwordReader) decode(path string, data []byte) (*pfx.Bundle, error) {
	return withPassword(p, path, func(pw string) (*pfx.Bundle, error) { return pfx.Decode(data, pw) })
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
