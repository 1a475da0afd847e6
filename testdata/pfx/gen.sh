#!/usr/bin/env bash
# Regenerates the fixtures in this directory. Needs openssl 3.0+, keytool
# (JDK 17+) and go. Keys are random, so outputs differ on every run; tests
# assert only subjects, key types, sizes and structure. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")"

PW=certctl-test
DAYS=36500
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
[issued]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

rsa() { openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2:-2048}" -out "$tmp/$1.key" 2>/dev/null; }
ec() { openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$2" -out "$tmp/$1.key"; }
# selfsigned NAME VARIANT: self-signed leaf (CA:FALSE), CN=certctl test VARIANT
selfsigned() {
  openssl req -x509 -new -key "$tmp/$1.key" -subj "/CN=certctl test $2" -days $DAYS \
    -config "$tmp/openssl.cnf" -extensions leaf -out "$tmp/$1.crt"
}
# export NAME OUT [openssl pkcs12 options...]
export_pfx() {
  local name=$1 out=$2
  shift 2
  openssl pkcs12 -export -inkey "$tmp/$name.key" -in "$tmp/$name.crt" -out "$out" "$@"
}

# --- PKCS#12 from openssl ---------------------------------------------------
rsa default; selfsigned default openssl3-default
export_pfx default openssl3-default.pfx -passout pass:$PW

rsa legacy; selfsigned legacy openssl-legacy
export_pfx legacy openssl-legacy.pfx -legacy -passout pass:$PW

rsa win; selfsigned win windows-3des
export_pfx win windows-3des.pfx -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -iter 2000 -passout pass:$PW

rsa empty; selfsigned empty empty-password
export_pfx empty empty-password.pfx -passout pass:

rsa nopw; selfsigned nopw passwordless
export_pfx nopw passwordless.pfx -keypbe NONE -certpbe NONE -nomac -passout pass:

rsa big 4096; selfsigned big rsa4096
export_pfx big rsa4096.pfx -passout pass:$PW

ec p256 P-256; selfsigned p256 ecdsa-p256
export_pfx p256 ecdsa-p256.pfx -passout pass:$PW

ec p384 P-384; selfsigned p384 ecdsa-p384
export_pfx p384 ecdsa-p384.pfx -passout pass:$PW

rsa nokey; selfsigned nokey nokey
openssl pkcs12 -export -nokeys -in "$tmp/nokey.crt" -out nokey.pfx -passout pass:$PW

# DSA (unsupported key type)
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out "$tmp/dsa.param" 2>/dev/null
openssl genpkey -paramfile "$tmp/dsa.param" -out "$tmp/dsa.key"
selfsigned dsa dsa
export_pfx dsa dsa.pfx -passout pass:$PW
cp "$tmp/dsa.key" dsa-key.pem

# --- A tiny CA: root -> intermediate -> leaf --------------------------------
rsa root
openssl req -x509 -new -key "$tmp/root.key" -subj "/CN=certctl test root" -days $DAYS \
  -config "$tmp/openssl.cnf" -extensions root -out "$tmp/root.crt"
rsa inter
openssl req -new -key "$tmp/inter.key" -subj "/CN=certctl test intermediate" -config "$tmp/openssl.cnf" -out "$tmp/inter.csr"
openssl x509 -req -in "$tmp/inter.csr" -CA "$tmp/root.crt" -CAkey "$tmp/root.key" -CAcreateserial \
  -days $DAYS -extfile "$tmp/openssl.cnf" -extensions inter -out "$tmp/inter.crt" 2>/dev/null
rsa leaf
openssl req -new -key "$tmp/leaf.key" -subj "/CN=certctl test chain" -config "$tmp/openssl.cnf" -out "$tmp/leaf.csr"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/inter.crt" -CAkey "$tmp/inter.key" -CAcreateserial \
  -days $DAYS -extfile "$tmp/openssl.cnf" -extensions issued -out "$tmp/leaf.crt" 2>/dev/null
# openssl always writes the certificate matching the key first; -certfile
# order (root, intermediate) is kept for the rest, so the chain needs reordering.
cat "$tmp/root.crt" "$tmp/inter.crt" >"$tmp/cas.crt"
export_pfx leaf openssl-chain.pfx -certfile "$tmp/cas.crt" -passout pass:$PW

# --- keytool ------------------------------------------------------------------
rm -f keytool.p12
keytool -genkeypair -alias certctl -keyalg RSA -keysize 2048 -validity $DAYS \
  -dname "CN=certctl test keytool" -storetype PKCS12 -keystore keytool.p12 \
  -storepass $PW -keypass $PW -noprompt 2>/dev/null

# --- PEM ----------------------------------------------------------------------
rsa combined; selfsigned combined combined
cat "$tmp/combined.crt" "$tmp/combined.key" >combined.pem   # genpkey writes PKCS#8

rsa pem; selfsigned pem pem
cp "$tmp/pem.crt" cert.pem
openssl pkey -in "$tmp/pem.key" -out key-pkcs8.pem
openssl pkey -in "$tmp/pem.key" -traditional -out key-pkcs1.pem
openssl x509 -in "$tmp/pem.crt" -outform DER -out cert.cer
openssl pkey -in "$tmp/pem.key" -traditional -aes256 -passout pass:$PW -out key-encrypted.pem
openssl pkey -in "$tmp/pem.key" -aes256 -passout pass:$PW -out key-pkcs8-encrypted.pem

# SEC1 with an EC PARAMETERS block, as "openssl ecparam -genkey" writes it.
openssl ecparam -name prime256v1 -genkey -out key-sec1.pem
openssl req -x509 -new -key key-sec1.pem -subj "/CN=certctl test ec-pem" -days $DAYS \
  -config "$tmp/openssl.cnf" -extensions leaf -out ec-cert.pem

rsa other
openssl pkey -in "$tmp/other.key" -out mismatch-key.pem

printf -- '-----BEGIN CERTIFICATE-----\nThis is not base64 at all!!\n-----END CERTIFICATE-----\n' >garbage.pem

# --- Go-crafted PKCS#12 (see gen.go) ------------------------------------------
rsa nullpw; selfsigned nullpw dotnet-nullpw
rsa twokeys; selfsigned twokeys two-keys
rsa twokeys2
rsa mismatch; selfsigned mismatch mismatch
rsa mismatch-other
go run gen.go "$tmp"

chmod 644 ./*.pfx ./*.p12 ./*.pem ./*.cer
echo "fixtures written to $(pwd)"
