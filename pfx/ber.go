package pfx

import (
	"errors"
	"fmt"
)

// PKCS#12 and PKCS#7 are defined in BER, and some producers use what BER
// allows and DER does not: NSS (pk12util, Firefox, Thunderbird) writes
// indefinite lengths and OCTET STRINGs in chunks. toDER rewrites such input
// as DER before anything else reads it, so the rest of this package, and
// crypto/x509, see one encoding. The contents of primitive elements are
// copied as they are, so a MAC over the authenticated safe and a
// certificate's bytes (its thumbprint) are unchanged.

// Limits of the BER reader. PKCS#12 and PKCS#7 nest about 15 deep, a
// certificate about 10 more; a store file has about a hundred elements
// outside its encrypted parts, a PKCS#7 bundle a few hundred per
// certificate.
const (
	maxBERDepth    = 64
	maxBERElements = 1 << 17
)

// errNotDER is what isDER reports when the input needs rewriting.
var errNotDER = errors.New("not DER")

// toDER returns data unchanged if it is DER (as far as this package cares:
// definite, minimal lengths and no constructed strings), or rewritten as
// DER. Malformed BER fails with an error matching ErrBER.
func toDER(data []byte) ([]byte, error) {
	if rest, err := scanDER(data, 0); err == nil && len(rest) == 0 {
		return data, nil
	}
	c := &berConverter{}
	n, rest, err := c.parse(data, 0)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d bytes of trailing data", len(rest))
	}
	if err != nil && c.ber {
		return nil, &wrapErr{msg: "malformed BER encoding: " + err.Error(), errs: []error{ErrBER, ErrNotPFX, err}}
	}
	if err != nil {
		return nil, wrapf(ErrNotPFX, err, "corrupt or truncated data: %v", err)
	}
	out := make([]byte, 0, n)
	for _, nd := range c.nodes {
		out = appendHeader(out, nd.tag, nd.length)
		for _, chunk := range nd.chunks {
			out = append(out, chunk...)
		}
	}
	return out, nil
}

// scanDER checks one element and everything inside it without allocating.
func scanDER(b []byte, depth int) ([]byte, error) {
	if depth > maxBERDepth {
		return nil, errNotDER
	}
	if len(b) < 2 || b[0]&0x1f == 0x1f || b[0] == 0 {
		return nil, errNotDER
	}
	tag := b[0]
	l, hdr, ok := derLength(b[1:])
	if !ok || l > len(b)-1-hdr {
		return nil, errNotDER
	}
	body, rest := b[1+hdr:1+hdr+l], b[1+hdr+l:]
	if tag&0x20 == 0 {
		return rest, nil
	}
	if isStringTag(tag &^ 0x20) {
		return nil, errNotDER // constructed string
	}
	for len(body) > 0 {
		var err error
		if body, err = scanDER(body, depth+1); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// derLength reads a definite, minimally encoded length (after the tag) and
// returns it with the number of length octets.
func derLength(b []byte) (l, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, true
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k || b[1] == 0 {
		return 0, 0, false
	}
	for _, c := range b[1 : 1+k] {
		l = l<<8 | int(c)
	}
	if l < 0x80 {
		return 0, 0, false
	}
	return l, 1 + k, true
}

// isStringTag reports whether a primitive universal tag is a string type
// BER may send in constructed chunks.
func isStringTag(tag byte) bool {
	switch tag {
	case 0x04, 0x0c, 0x13, 0x14, 0x16, 0x1a, 0x1e: // OCTET, UTF8, Printable, T61, IA5, Visible, BMP
		return true
	}
	return false
}

// berNode is one element of the DER output, in pre-order: its header and,
// for primitive elements, the chunks of its contents.
type berNode struct {
	tag    byte
	length int
	chunks [][]byte
}

type berConverter struct {
	nodes []berNode
	ber   bool // the input used an encoding DER does not allow
}

// parse reads one BER element from b, appends its DER nodes and returns
// the size of its DER encoding and the rest of b.
func (c *berConverter) parse(b []byte, depth int) (int, []byte, error) {
	if depth > maxBERDepth {
		return 0, nil, fmt.Errorf("nested more than %d deep", maxBERDepth)
	}
	if len(c.nodes) >= maxBERElements {
		return 0, nil, fmt.Errorf("more than %d elements", maxBERElements)
	}
	tag, body, rest, indefinite, err := berHeader(b)
	if err != nil {
		return 0, nil, err
	}
	if indefinite || tag&0x20 != 0 && isStringTag(tag&^0x20) || !minimalLength(b) {
		c.ber = true
	}
	idx := len(c.nodes)
	c.nodes = append(c.nodes, berNode{tag: tag})
	if tag&0x20 == 0 {
		c.nodes[idx].length = len(body)
		c.nodes[idx].chunks = [][]byte{body}
		return headerSize(len(body)) + len(body), rest, nil
	}
	if isStringTag(tag &^ 0x20) {
		// A constructed string becomes one primitive string of its chunks.
		chunks, rest, err := c.stringChunks(tag&^0x20, b, depth)
		if err != nil {
			return 0, nil, err
		}
		n := 0
		for _, ch := range chunks {
			n += len(ch)
		}
		c.nodes[idx] = berNode{tag: tag &^ 0x20, length: n, chunks: chunks}
		return headerSize(n) + n, rest, nil
	}
	size := 0
	for {
		if indefinite {
			if len(rest) < 2 {
				return 0, nil, errors.New("indefinite length without end-of-contents")
			}
			if rest[0] == 0 && rest[1] == 0 {
				rest = rest[2:]
				break
			}
		} else if len(body) == 0 {
			break
		}
		var n int
		if indefinite {
			n, rest, err = c.parse(rest, depth+1)
		} else {
			n, body, err = c.parse(body, depth+1)
		}
		if err != nil {
			return 0, nil, err
		}
		size += n
	}
	c.nodes[idx].length = size
	return headerSize(size) + size, rest, nil
}

// stringChunks reads a constructed string element (b starts at its tag)
// and returns the contents of its primitive pieces, in order.
func (c *berConverter) stringChunks(base byte, b []byte, depth int) ([][]byte, []byte, error) {
	if depth > maxBERDepth {
		return nil, nil, fmt.Errorf("nested more than %d deep", maxBERDepth)
	}
	tag, body, rest, indefinite, err := berHeader(b)
	if err != nil {
		return nil, nil, err
	}
	if tag&^0x20 != base {
		return nil, nil, fmt.Errorf("tag 0x%02x inside a constructed string of tag 0x%02x", tag, base)
	}
	if tag&0x20 == 0 {
		return [][]byte{body}, rest, nil
	}
	var chunks [][]byte
	for {
		if indefinite {
			if len(rest) < 2 {
				return nil, nil, errors.New("indefinite length without end-of-contents")
			}
			if rest[0] == 0 && rest[1] == 0 {
				rest = rest[2:]
				break
			}
		} else if len(body) == 0 {
			break
		}
		if len(chunks) >= maxBERElements {
			return nil, nil, fmt.Errorf("more than %d elements", maxBERElements)
		}
		var sub [][]byte
		if indefinite {
			sub, rest, err = c.stringChunks(base, rest, depth+1)
		} else {
			sub, body, err = c.stringChunks(base, body, depth+1)
		}
		if err != nil {
			return nil, nil, err
		}
		chunks = append(chunks, sub...)
	}
	return chunks, rest, nil
}

// berHeader reads a BER tag and length. For an indefinite length, body is
// nil and rest starts with the contents.
func berHeader(b []byte) (tag byte, body, rest []byte, indefinite bool, err error) {
	if len(b) < 2 {
		return 0, nil, nil, false, errTruncated
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, false, errors.New("high tag numbers are not used here")
	}
	if tag == 0 {
		return 0, nil, nil, false, errors.New("unexpected end-of-contents")
	}
	l := int(b[1])
	b = b[2:]
	switch {
	case l == 0x80:
		if tag&0x20 == 0 {
			return 0, nil, nil, false, errors.New("indefinite length on a primitive element")
		}
		return tag, nil, b, true, nil
	case l > 0x80:
		n := l & 0x7f
		if n > 4 {
			return 0, nil, nil, false, errors.New("length field too large")
		}
		if len(b) < n {
			return 0, nil, nil, false, errTruncated
		}
		l = 0
		for _, c := range b[:n] {
			l = l<<8 | int(c)
		}
		b = b[n:]
	}
	if l < 0 || l > len(b) {
		return 0, nil, nil, false, errTruncated
	}
	return tag, b[:l], b[l:], false, nil
}

// minimalLength reports whether the element at b has a definite length in
// its shortest form.
func minimalLength(b []byte) bool {
	_, _, ok := derLength(b[1:])
	return ok
}

// headerSize is the size of a DER tag and length for contents of n bytes.
func headerSize(n int) int {
	switch {
	case n < 0x80:
		return 2
	case n < 0x100:
		return 3
	case n < 0x10000:
		return 4
	case n < 0x1000000:
		return 5
	}
	return 6
}

// appendHeader appends a DER tag and length.
func appendHeader(out []byte, tag byte, n int) []byte {
	out = append(out, tag)
	switch {
	case n < 0x80:
		return append(out, byte(n))
	case n < 0x100:
		return append(out, 0x81, byte(n))
	case n < 0x10000:
		return append(out, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
