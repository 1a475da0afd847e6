package pfx

import "encoding/asn1"

var (
	oidData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidEncryptedData  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBMAC1         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidSHA1           = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
)

// oidNames gives readable names for OIDs that show up in PKCS#12 files and
// keys, so that an UnsupportedError says more than a dotted number.
var oidNames = map[string]string{
	// digests (PKCS#12 MAC)
	"1.2.840.113549.2.2":     "MD2",
	"1.2.840.113549.2.5":     "MD5",
	"1.3.14.3.2.26":          "SHA-1",
	"2.16.840.1.101.3.4.2.1": "SHA-256",
	"2.16.840.1.101.3.4.2.2": "SHA-384",
	"2.16.840.1.101.3.4.2.3": "SHA-512",
	"2.16.840.1.101.3.4.2.4": "SHA-224",
	"2.16.840.1.101.3.4.2.5": "SHA-512/224",
	"2.16.840.1.101.3.4.2.6": "SHA-512/256",
	"2.16.840.1.101.3.4.2.8": "SHA3-256",
	// HMAC PRFs
	"1.2.840.113549.2.7":  "HMAC-SHA-1",
	"1.2.840.113549.2.8":  "HMAC-SHA-224",
	"1.2.840.113549.2.9":  "HMAC-SHA-256",
	"1.2.840.113549.2.10": "HMAC-SHA-384",
	"1.2.840.113549.2.11": "HMAC-SHA-512",
	"1.2.840.113549.2.12": "HMAC-SHA-512/224",
	"1.2.840.113549.2.13": "HMAC-SHA-512/256",
	// PKCS#12 PBE
	"1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4",
	"1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
	"1.2.840.113549.1.12.1.3": "pbeWithSHAAnd3-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.4": "pbeWithSHAAnd2-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.5": "pbeWithSHAAnd128BitRC2-CBC",
	"1.2.840.113549.1.12.1.6": "pbeWithSHAAnd40BitRC2-CBC",
	// PKCS#5 v1.5 PBES1
	"1.2.840.113549.1.5.1":   "pbeWithMD2AndDES-CBC",
	"1.2.840.113549.1.5.3":   "pbeWithMD5AndDES-CBC",
	"1.2.840.113549.1.5.4":   "pbeWithMD2AndRC2-CBC",
	"1.2.840.113549.1.5.6":   "pbeWithMD5AndRC2-CBC",
	"1.2.840.113549.1.5.10":  "pbeWithSHA1AndDES-CBC",
	"1.2.840.113549.1.5.11":  "pbeWithSHA1AndRC2-CBC",
	"1.2.840.113549.1.5.12":  "PBKDF2",
	"1.2.840.113549.1.5.13":  "PBES2",
	"1.2.840.113549.1.5.14":  "PBMAC1",
	"1.3.6.1.4.1.11591.4.11": "scrypt",
	// ciphers
	"1.3.14.3.2.7":            "DES-CBC",
	"1.2.840.113549.3.7":      "3DES-CBC",
	"1.2.840.113549.3.2":      "RC2-CBC",
	"2.16.840.1.101.3.4.1.2":  "AES-128-CBC",
	"2.16.840.1.101.3.4.1.22": "AES-192-CBC",
	"2.16.840.1.101.3.4.1.42": "AES-256-CBC",
	"2.16.840.1.101.3.4.1.6":  "AES-128-GCM",
	"2.16.840.1.101.3.4.1.46": "AES-256-GCM",
	// key algorithms
	"1.2.840.10040.4.1":     "DSA key",
	"1.2.840.10046.2.1":     "DH key",
	"1.2.840.113549.1.3.1":  "DH key",
	"1.2.840.113549.1.1.10": "RSA-PSS key",
	"1.3.101.110":           "X25519 key",
	"1.3.101.111":           "X448 key",
	"1.3.101.113":           "Ed448 key",
	"1.2.643.2.2.19":        "GOST R 34.10-2001 key",
	"1.2.156.10197.1.301":   "SM2 key",
	// curves
	"1.3.132.0.10":          "secp256k1 curve",
	"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1 curve",
	"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1 curve",
}

// oidName returns a readable name for oid, with the OID in parentheses when
// the name is known.
func oidName(oid asn1.ObjectIdentifier) string {
	if oid == nil {
		return "unknown (unparsable OID)"
	}
	s := oid.String()
	if n, ok := oidNames[s]; ok {
		return n + " (" + s + ")"
	}
	return s
}
