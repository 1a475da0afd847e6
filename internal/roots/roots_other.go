//go:build !linux

package roots

import "net/http"

func transport() http.RoundTripper { return http.DefaultTransport }
