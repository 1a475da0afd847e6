package pfx

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"math"
)

// The readers in this package take DER (toDER has rewritten any BER) and
// only slice their input: no allocation proportional to a length field,
// and a fixed depth.

// DER tags used below.
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagSet         = 0x31
	tagContext0    = 0xa0 // [0] constructed (EXPLICIT, or an IMPLICIT constructed string)
	tagContext0Pr  = 0x80 // [0] primitive (IMPLICIT OCTET STRING)
)

var errTruncated = errors.New("length runs past the end of the data")

// readTLV splits one DER element off the front of b. It returns the
// identifier octet, the contents and the remaining bytes.
func readTLV(b []byte) (tag byte, body, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errTruncated
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, errors.New("high tag numbers are not used here")
	}
	l := int(b[1])
	b = b[2:]
	switch {
	case l == 0x80:
		return 0, nil, nil, errors.New("indefinite length")
	case l > 0x80:
		n := l & 0x7f
		if n > 4 { // more than 4 GiB: never valid here (MaxFileSize is far smaller)
			return 0, nil, nil, errors.New("length field too large")
		}
		if len(b) < n {
			return 0, nil, nil, errTruncated
		}
		l = 0
		for _, c := range b[:n] {
			l = l<<8 | int(c)
		}
		b = b[n:]
	}
	if l < 0 || l > len(b) {
		return 0, nil, nil, errTruncated
	}
	return tag, b[:l], b[l:], nil
}

// expect reads one element and checks its tag.
func expect(b []byte, want byte, what string) (body, rest []byte, err error) {
	tag, body, rest, err := readTLV(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if tag != want {
		return nil, nil, fmt.Errorf("%s: unexpected tag 0x%02x", what, tag)
	}
	return body, rest, nil
}

// octets reads an OCTET STRING that may also be an IMPLICIT [0], primitive
// or (from BER) constructed of OCTET STRING chunks, and returns its
// contents.
func octets(b []byte, what string) ([]byte, []byte, error) {
	tag, body, rest, err := readTLV(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	switch tag {
	case tagOctetString, tagContext0Pr:
		return body, rest, nil
	case tagContext0:
		var out []byte
		for len(body) > 0 {
			var chunk []byte
			if chunk, body, err = expect(body, tagOctetString, what); err != nil {
				return nil, nil, err
			}
			out = append(out, chunk...)
		}
		return out, rest, nil
	}
	return nil, nil, fmt.Errorf("%s: unexpected tag 0x%02x", what, tag)
}

// parseOID parses OID contents; unparsable OIDs are returned as nil.
func parseOID(body []byte) asn1.ObjectIdentifier {
	if len(body) > 127 {
		return nil
	}
	var oid asn1.ObjectIdentifier
	full := append([]byte{tagOID, byte(len(body))}, body...)
	if _, err := asn1.Unmarshal(full, &oid); err != nil {
		return nil
	}
	return oid
}

// parseCount parses a non-negative INTEGER, saturating at math.MaxInt64 so
// that huge values (2^64, 2^1000) never wrap into small ones.
func parseCount(body []byte) (int64, error) {
	if len(body) == 0 {
		return 0, errors.New("empty INTEGER")
	}
	if body[0]&0x80 != 0 {
		return 0, errors.New("negative iteration count")
	}
	for len(body) > 1 && body[0] == 0 {
		body = body[1:]
	}
	if len(body) > 8 || (len(body) == 8 && body[0]&0x80 != 0) {
		return math.MaxInt64, nil
	}
	var n int64
	for _, c := range body {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// iterationLimit is MaxIterations, lowered by the fuzz test: there every
// count up to the cap is a legitimate seconds-long KDF under coverage
// instrumentation, which would starve the fuzzer without finding anything.
var iterationLimit int64 = MaxIterations

// checkCount parses an iteration count INTEGER body and checks it against
// the limit.
func checkCount(body []byte, where string) (int64, error) {
	n, err := parseCount(body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", where, err)
	}
	if n < 1 {
		return 0, fmt.Errorf("%s: iteration count below 1", where)
	}
	if n > iterationLimit {
		return 0, &IterationError{Where: where, Count: n}
	}
	return n, nil
}

// der encodes a TLV whose contents are the concatenation of parts.
func der(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := appendHeader(make([]byte, 0, headerSize(n)+n), tag, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// oidBytes returns the contents octets of an OID.
func oidBytes(oid []int) []byte {
	out := []byte{byte(oid[0]*40 + oid[1])}
	for _, v := range oid[2:] {
		var tmp []byte
		tmp = append(tmp, byte(v&0x7f))
		for v >>= 7; v > 0; v >>= 7 {
			tmp = append(tmp, byte(v&0x7f)|0x80)
		}
		for i := len(tmp) - 1; i >= 0; i-- {
			out = append(out, tmp[i])
		}
	}
	return out
}
