package logintest

// The proxy through which programs reach the fake's vaults: the names
// NAME.vault.test never resolve, so a program (with HTTPS_PROXY, which
// Go's default transport honours for every host but loopback) asks the
// proxy to CONNECT to them, as it would through a corporate proxy.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// serveProxy is a forward proxy that tunnels CONNECT to the fake's vaults
// on port 443. Any other name does not resolve, so the proxy answers 502
// as one does when it cannot reach the host; it does not forward plain
// HTTP requests.
func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		w.Header().Set("Allow", http.MethodConnect)
		http.Error(w, "this proxy only tunnels (CONNECT)", http.StatusMethodNotAllowed)
		return
	}
	host, port, err := net.SplitHostPort(r.Host)
	name, isVault := strings.CutSuffix(strings.ToLower(host), "."+KeyVaultSuffix)
	s.mu.Lock()
	known := s.kv.vaults[name] != nil
	s.mu.Unlock()
	var upstream net.Conn
	if err == nil && port == "443" && isVault && known {
		// A vault that cannot be dialled is answered as one that does
		// not resolve: 502.
		upstream, _ = net.Dial("tcp", s.KeyVault.Listener.Addr().String())
	}
	if upstream == nil {
		w.Header().Set("Connection", "close")
		http.Error(w, fmt.Sprintf("cannot connect to %s: the name does not resolve", r.Host), http.StatusBadGateway)
		return
	}
	conn, buffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if !s.kv.tunnels.open(conn, upstream) {
		return
	}
	defer s.kv.tunnels.done(conn, upstream)
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	// What the client sent after its CONNECT, if the server read it.
	if n := buffered.Reader.Buffered(); n > 0 {
		b, _ := buffered.Reader.Peek(n)
		if _, err := upstream.Write(b); err != nil {
			return
		}
	}
	splice(conn, upstream)
}

// splice copies between a and b both ways until either side ends, then
// closes both.
func splice(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		io.Copy(a, b)
		a.Close()
		b.Close()
		close(done)
	}()
	io.Copy(b, a)
	a.Close()
	b.Close()
	<-done
}

// tunnels tracks the proxy's tunnels, so that the test's end closes them
// and waits for their goroutines.
type tunnels struct {
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// open registers a tunnel between a and b; once closed, it closes them
// and reports false.
func (t *tunnels) open(a, b net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		a.Close()
		b.Close()
		return false
	}
	t.conns[a], t.conns[b] = true, true
	t.wg.Add(1)
	return true
}

// done closes a tunnel that open registered and forgets it.
func (t *tunnels) done(a, b net.Conn) {
	a.Close()
	b.Close()
	t.mu.Lock()
	delete(t.conns, a)
	delete(t.conns, b)
	t.mu.Unlock()
	t.wg.Done()
}

// close closes every tunnel, refuses new ones and waits for their
// goroutines to end.
func (t *tunnels) close() {
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}
