// Package roots gives certctl's HTTPS requests a transport that verifies
// servers against the system's root certificates, as Go's own does, at a
// lower cost per process.
//
// On Linux, Go reads and parses every root before the first TLS handshake:
// the bundle file and then every file of the certificate folders, which on
// Debian hold the same roots again (and the bundle itself). That is about
// 30 ms in each certctl process, more than the sign-in's request. This
// transport reads the same files from the same places (SSL_CERT_FILE,
// SSL_CERT_DIR, or Go's defaults), but parses only the roots that could
// issue the certificates a server presents, reads the folders only when
// the bundle's roots do not verify the server, and verifies with
// crypto/x509 exactly as crypto/tls does: same roots, same intermediates,
// same host name, same time. Elsewhere it is http.DefaultTransport: macOS
// and Windows verify through the system.
package roots

import "net/http"

// Transport is the transport for certctl's HTTPS requests: the settings of
// http.DefaultTransport (proxies from the environment, HTTP/2, time-outs)
// with the verification above. It is shared by the whole process.
func Transport() http.RoundTripper { return transport() }
