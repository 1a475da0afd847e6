#!/usr/bin/env bash
# Builds the interop corpus of this directory and its manifest.tsv.
#
#   ./gen.sh [OUTDIR]   regenerate every generated file (into OUTDIR, default
#                       this directory) and write OUTDIR/manifest.tsv
#   ./gen.sh --check    regenerate nothing; derive every manifest row again
#                       from the files here with openssl and compare
#
# Not run by CI: the outputs are committed. Needs openssl 3.0 (with the legacy
# provider), certutil and pk12util (libnss3-tools), certtool (gnutls-bin),
# keytool (JDK 17+) and python3 with cryptography. Keys are random, so every
# run gives new files and new thumbprints.
#
# The manifest is computed with openssl only (certificates, thumbprints, which
# certificate the key belongs to), as an oracle independent of certctl.
#
# Fetched files (see README.md) are copied, never regenerated:
#   pyca-*.p12: apt-get download python3-cryptography-vectors (Debian 12,
#     38.0.4-1); dpkg-deb -x; cp .../cryptography_vectors/pkcs12/NAME pyca-NAME
#   dotnet-negative-serial.pfx / .cer: git show
#     3d77251a3ee4b40d280dfc0f558f686e002a0f6d:src/System.Security.Cryptography.X509Certificates.TestData/TestData/My.pfx
#     (and My.cer) in github.com/dotnet/runtime-assets
set -euo pipefail
export LC_ALL=C.UTF-8

here=$(cd "$(dirname "$0")" && pwd)
fetched=(
	pyca-cert-key-aes256cbc.p12 pyca-cert-rc2-key-3des.p12 pyca-no-password.p12
	pyca-cert-none-key-none.p12 pyca-cert-aes256cbc-no-key.p12
	pyca-name-all-no-pwd.p12 pyca-name-unicode-pwd.p12
	dotnet-negative-serial.pfx dotnet-negative-serial.cer
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- oracle --

# pwarg PASSWORDFILE: the -passin argument for openssl ("-" is no password).
pwarg() { if [ "$1" = - ]; then echo pass:; else echo "file:$1"; fi; }

# tp FILE: uppercase SHA-1 thumbprint of the PEM certificate in FILE.
tp() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }

# split PEMFILE: one file per certificate block, as $tmp/blk.N; prints them.
split_pem() {
	rm -f "$tmp"/blk.*
	awk -v d="$tmp" '/-----BEGIN CERTIFICATE-----/{n++; on=1}
		on{print > (d "/blk." n)} /-----END CERTIFICATE-----/{on=0}' "$1"
	ls "$tmp"/blk.* 2>/dev/null || true
}

# p12 FILE PW ARGS...: openssl pkcs12 on FILE, retried with -legacy (RC2).
p12() {
	local f=$1 pw=$2
	shift 2
	openssl pkcs12 -in "$f" -passin "$(pwarg "$pw")" "$@" 2>/dev/null ||
		openssl pkcs12 -legacy -in "$f" -passin "$(pwarg "$pw")" "$@" 2>/dev/null
}

# derive FILE PW CERTFILE BAD: prints the manifest columns file..flags.
# CERTFILE is the certificate file a key-only PEM pairs with ("-" if none);
# BAD is "bad" for files that must be refused (openssl must refuse them too).
derive() {
	local f=$1 pw=$2 cf=$3 bad=$4 key=no leaf=- certs flags=() b
	local certpem=$tmp/certs.pem keypem=$tmp/key.pem
	: >"$certpem"
	: >"$keypem"
	# asn1parse prints what it parsed before failing on a bad file.
	if { openssl asn1parse -inform DER -in "$f" 2>/dev/null || true; } | grep -q 'l=inf'; then
		flags+=(ber)
	fi
	if [ "$bad" = bad ]; then
		# openssl must not get a certificate out of a bad file.
		case $f in
		*.p12 | *.pfx) p12 "$f" "$pw" -nokeys -out "$certpem" || true ;;
		*.p7b) openssl pkcs7 -inform DER -in "$f" -print_certs -out "$certpem" 2>/dev/null || true ;;
		*.cer) openssl x509 -inform DER -in "$f" -out "$certpem" 2>/dev/null || true ;;
		*.pem) openssl x509 -in "$f" -out "$certpem" 2>/dev/null || true ;;
		esac
		if grep -q 'BEGIN CERTIFICATE' "$certpem"; then
			echo "openssl reads a certificate from bad file $f" >&2
			return 1
		fi
		flags+=(bad)
		printf '%s\t%s\t-\t-\t-\t%s\n' "$f" "$pw" "$(IFS=,; echo "${flags[*]}")"
		return
	fi
	case $f in
	*.p12 | *.pfx)
		p12 "$f" "$pw" -nokeys -out "$certpem"
		p12 "$f" "$pw" -nocerts -nodes -out "$keypem"
		if { openssl pkcs12 -in "$f" -passin "$(pwarg "$pw")" -info -noout 2>&1 ||
			openssl pkcs12 -legacy -in "$f" -passin "$(pwarg "$pw")" -info -noout 2>&1; } | grep -q 'MAC is absent'; then
			flags+=(nomac)
		fi
		;;
	*.p7b)
		if head -c 5 "$f" | grep -q -- -----; then
			openssl pkcs7 -in "$f" -print_certs -out "$certpem"
		else
			openssl pkcs7 -inform DER -in "$f" -print_certs -out "$certpem"
		fi
		;;
	*.cer) openssl x509 -inform DER -in "$f" -out "$certpem" ;;
	*.pem)
		if [ "$cf" != - ]; then
			openssl pkey -in "$f" -passin "$(pwarg "$pw")" -out "$keypem"
			cat "$cf" >"$certpem"
			flags+=("cert=$cf")
		else
			cat "$f" >"$certpem"
		fi
		;;
	esac
	local blks
	blks=$(split_pem "$certpem")
	[ -n "$blks" ] || { echo "no certificate in $f" >&2; return 1; }
	certs=$(for b in $blks; do tp "$b"; done | sort | paste -sd, -)
	for b in $blks; do
		if openssl x509 -in "$b" -noout -serial | grep -q '^serial=-'; then
			flags+=(negserial)
			break
		fi
	done
	if grep -q 'PRIVATE KEY' "$keypem"; then
		key=yes
		local want
		want=$(openssl pkey -in "$keypem" -pubout -outform DER | sha256sum)
		for b in $blks; do
			if [ "$(openssl x509 -in "$b" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = "$want" ]; then
				leaf=$(tp "$b")
			fi
		done
		[ "$leaf" != - ] || { echo "no certificate matches the key in $f" >&2; return 1; }
	fi
	[ ${#flags[@]} -gt 0 ] || flags=(-)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$f" "$pw" "$key" "$leaf" "$certs" "$(IFS=,; echo "${flags[*]}")"
}

# key-only PEM rows carry their certificate file in flags as cert=FILE.
certfile_of() { tr ',' '\n' <<<"$1" | sed -n 's/^cert=//p' | grep . || echo -; }

if [ "${1:-}" = --check ]; then
	cd "$here"
	fail=0 n=0
	while IFS=$'\t' read -r f pw key leaf certs flags producer; do
		[ "$f" = file ] && continue
		bad=-
		[[ ,$flags, == *,bad,* ]] && bad=bad
		got=$(derive "$f" "$pw" "$(certfile_of "$flags")" "$bad") || got="(derive failed)"
		want=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$f" "$pw" "$key" "$leaf" "$certs" "$flags")
		n=$((n + 1))
		if [ "$got" != "$want" ]; then
			printf 'MISMATCH\n  manifest: %s\n  openssl:  %s\n' "$want" "$got"
			fail=1
		fi
	done <manifest.tsv
	# Every file here is in the manifest (apart from the scripts and passwords).
	for f in *; do
		case $f in gen.sh | README.md | manifest.tsv | password*.txt) continue ;; esac
		cut -f1 manifest.tsv | grep -qxF "$f" || { echo "not in manifest: $f"; fail=1; }
	done
	echo "checked $n rows"
	exit $fail
fi

# ------------------------------------------------------------- generate --

out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ "$out" != "$here" ]; then
	for f in "${fetched[@]}"; do cp "$here/$f" "$out/$f"; done
fi
cd "$out"

printf '%s' 'interop-pass' >password.txt
printf '%s' 'pass-😀-word' >password-emoji.txt # U+1F600, outside the BMP
printf '%s' '12345' >password-dotnet.txt        # TestData.PfxDataPassword in dotnet/runtime
printf '%s' 'cryptography' >password-pyca.txt   # pyca tests/hazmat/primitives/test_pkcs12.py
printf '%s' 'password' >password-pyca-pwd.txt   # likewise, for the *-pwd.p12 vectors

ossl_v=$(openssl version | awk '{print $2}')
nss_v=$(dpkg-query -W -f='${Version}' libnss3-tools | sed 's/^[0-9]*://; s/-.*//')
gnutls_v=$(certtool --version | head -1 | awk '{print $2}')
java_v=$(java -version 2>&1 | head -1 | awk -F'"' '{print $2}')
pyca_v=$(python3 -c 'import cryptography; print(cryptography.__version__)')

cat >"$tmp/cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$1.key"; }
rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/$1.key" 2>/dev/null; }
# issue NAME CN EXT [x509 args...]: certificate for $tmp/NAME.key signed by the intermediate.
issue() {
	local name=$1 cn=$2 ext=$3
	shift 3
	openssl req -new -key "$tmp/$name.key" -subj "/CN=$cn" -config "$tmp/cnf" -out "$tmp/$name.csr"
	openssl x509 -req -in "$tmp/$name.csr" -CA "$tmp/inter.pem" -CAkey "$tmp/inter.key" \
		-extfile "$tmp/cnf" -extensions "$ext" -days 36500 -sha256 "$@" -out "$tmp/$name.pem" 2>/dev/null
}

# The PKI: EC P-256 root and intermediate; an RSA 2048 leaf and an EC P-256
# leaf, both issued by the intermediate; serial numbers random (openssl 3).
ec root
openssl req -new -x509 -key "$tmp/root.key" -subj "/CN=certctl interop root" -config "$tmp/cnf" \
	-extensions root -days 36500 -sha256 -out "$tmp/root.pem"
ec inter
openssl req -new -key "$tmp/inter.key" -subj "/CN=certctl interop intermediate" -config "$tmp/cnf" -out "$tmp/inter.csr"
openssl x509 -req -in "$tmp/inter.csr" -CA "$tmp/root.pem" -CAkey "$tmp/root.key" \
	-extfile "$tmp/cnf" -extensions inter -days 36500 -sha256 -out "$tmp/inter.pem" 2>/dev/null
rsa leaf-rsa
issue leaf-rsa "certctl interop leaf rsa" leaf
ec leaf-ec
issue leaf-ec "certctl interop leaf ec" leaf
# Negative serial: -set_serial with a minus sign gives a negative DER INTEGER.
# RSA, so that it can sign in to Entra ID.
rsa neg
issue neg "certctl interop negative serial" leaf -set_serial "-0x$(openssl rand -hex 8)"

cat "$tmp/inter.pem" "$tmp/root.pem" >"$tmp/chain.pem"
for n in leaf-rsa leaf-ec neg; do
	openssl verify -CAfile "$tmp/root.pem" -untrusted "$tmp/inter.pem" "$tmp/$n.pem" >/dev/null
done
PW=(-passout file:password.txt)

# Keyless files.
cp "$tmp/root.pem" root.pem
openssl x509 -in "$tmp/root.pem" -outform DER -out root.cer
cp "$tmp/chain.pem" chain.pem
openssl crl2pkcs7 -nocrl -certfile chain.pem -out chain.p7b
openssl crl2pkcs7 -nocrl -certfile chain.pem -outform DER -out chain-der.p7b
openssl pkcs12 -export -nokeys -in chain.pem "${PW[@]}" -out certs-only.p12
certtool --to-p12 --load-certificate chain.pem --p12-name chain --password "$(cat password.txt)" \
	--outder --outfile gnutls-certs-only.p12 </dev/null >/dev/null 2>&1
rm -f keytool-truststore.p12
for n in root inter; do
	keytool -importcert -noprompt -trustcacerts -alias "$n" -file "$tmp/$n.pem" \
		-keystore keytool-truststore.p12 -storetype PKCS12 -storepass:file password.txt >/dev/null 2>&1
done
cp "$tmp/leaf-rsa.pem" leaf.pem
cp "$tmp/leaf-ec.pem" leaf-ec.pem
openssl x509 -in "$tmp/neg.pem" -outform DER -out negative-serial.cer

# openssl.
openssl pkcs12 -export -inkey "$tmp/leaf-rsa.key" -in leaf.pem -certfile chain.pem -name leaf-rsa \
	"${PW[@]}" -out openssl-default.p12
openssl pkcs12 -export -legacy -inkey "$tmp/leaf-rsa.key" -in leaf.pem -certfile chain.pem -name leaf-rsa \
	"${PW[@]}" -out openssl-legacy.p12
# openssl 3.0's -nomac alone leaves the certificates unencrypted (plain Data
# safe); -certpbe makes it encrypt them as its default export does.
openssl pkcs12 -export -nomac -certpbe AES-256-CBC -inkey "$tmp/leaf-rsa.key" -in leaf.pem -certfile chain.pem -name leaf-rsa \
	"${PW[@]}" -out openssl-nomac.p12
openssl pkcs12 -export -nomac -keypbe NONE -certpbe NONE -inkey "$tmp/leaf-ec.key" -in leaf-ec.pem \
	-certfile chain.pem -name leaf-ec -passout pass: -out openssl-nomac-noenc.p12
openssl pkcs12 -export -inkey "$tmp/leaf-rsa.key" -in leaf.pem -certfile chain.pem -name leaf-rsa \
	-passout file:password-emoji.txt -out emoji-password.p12
openssl pkcs12 -export -inkey "$tmp/neg.key" -in "$tmp/neg.pem" -certfile chain.pem -name negative-serial \
	"${PW[@]}" -out negative-serial.p12

# python cryptography, with the emoji password.
python3 - "$tmp/leaf-ec.key" leaf-ec.pem chain.pem password-emoji.txt emoji-password-pyca.p12 <<'PY'
import sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key, pkcs12
key_f, cert_f, chain_f, pw_f, out_f = sys.argv[1:]
key = load_pem_private_key(open(key_f, "rb").read(), None)
cert = x509.load_pem_x509_certificate(open(cert_f, "rb").read())
cas = x509.load_pem_x509_certificates(open(chain_f, "rb").read())
pw = open(pw_f, "rb").read()  # b"pass-\xf0\x9f\x98\x80-word"
open(out_f, "wb").write(pkcs12.serialize_key_and_certificates(b"leaf-ec", key, cert, cas, BestAvailableEncryption(pw)))
PY

# NSS: import both leaves (via openssl-made files) and the CA certificates
# into a fresh database, then export each leaf with its chain.
mkdir "$tmp/nss"
certutil -N -d "sql:$tmp/nss" --empty-password
for n in leaf-rsa leaf-ec; do
	openssl pkcs12 -export -inkey "$tmp/$n.key" -in "$tmp/$n.pem" -name "$n" "${PW[@]}" -out "$tmp/$n-import.p12"
	pk12util -i "$tmp/$n-import.p12" -d "sql:$tmp/nss" -w password.txt >/dev/null
done
certutil -A -d "sql:$tmp/nss" -n root -t C,, -a -i "$tmp/root.pem"
certutil -A -d "sql:$tmp/nss" -n inter -t ,, -a -i "$tmp/inter.pem"
pk12util -o nss-chain.p12 -n leaf-rsa -d "sql:$tmp/nss" -w password.txt >/dev/null
pk12util -o nss-ec.p12 -n leaf-ec -d "sql:$tmp/nss" -w password.txt >/dev/null
chmod 644 nss-chain.p12 nss-ec.p12

# GnuTLS: leaf and chain in one --load-certificate file; certtool writes one
# encrypted safe per certificate. (--load-ca-certificate takes one cert only.)
cat leaf-ec.pem chain.pem >"$tmp/leaf-ec-full.pem"
certtool --to-p12 --load-privkey "$tmp/leaf-ec.key" --load-certificate "$tmp/leaf-ec-full.pem" \
	--p12-name leaf-ec --password "$(cat password.txt)" --outder --outfile gnutls-chain.p12 </dev/null >/dev/null 2>&1

# keytool: copy an openssl-made file into a new keystore with no MAC
# (certificates and key still encrypted, JDK defaults).
openssl pkcs12 -export -inkey "$tmp/leaf-rsa.key" -in leaf.pem -certfile chain.pem -name leaf-rsa \
	"${PW[@]}" -out "$tmp/keytool-src.p12"
rm -f keytool-nomac.p12
keytool -J-Dkeystore.pkcs12.macAlgorithm=NONE -importkeystore -noprompt \
	-srckeystore "$tmp/keytool-src.p12" -srcstoretype PKCS12 -srcstorepass:file password.txt \
	-destkeystore keytool-nomac.p12 -deststoretype PKCS12 -deststorepass:file password.txt >/dev/null 2>&1

# Encrypted PEM private keys of the RSA leaf (leaf.pem), and one of the EC leaf.
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$tmp/leaf-rsa.key" "${PW[@]}" -out key-pkcs8-aes256.pem
openssl pkcs8 -topk8 -v2 des3 -in "$tmp/leaf-rsa.key" "${PW[@]}" -out key-pkcs8-des3.pem
openssl rsa -in "$tmp/leaf-rsa.key" -traditional -aes128 "${PW[@]}" -out key-legacy-aes128.pem 2>/dev/null
openssl rsa -in "$tmp/leaf-rsa.key" -traditional -des3 "${PW[@]}" -out key-legacy-des3.pem 2>/dev/null
openssl ec -in "$tmp/leaf-ec.key" -aes128 "${PW[@]}" -out key-ec-legacy-aes128.pem 2>/dev/null
grep -q 'DEK-Info: AES-128-CBC,' key-legacy-aes128.pem
grep -q 'DEK-Info: DES-EDE3-CBC,' key-legacy-des3.pem
grep -q 'BEGIN EC PRIVATE KEY' key-ec-legacy-aes128.pem

# Bad input.
awk 'NR==4{print "%%%% not base64 %%%%"} {print}' root.pem >bad-garbage-inside.pem
openssl crl2pkcs7 -nocrl -outform DER -out bad-empty.p7b
head -c $(($(stat -c %s root.cer) / 2)) root.cer >bad-truncated.cer
head -c $(($(stat -c %s nss-chain.p12) - 40)) nss-chain.p12 >bad-ber-truncated.p12
# nss-chain.p12 ends with the end-of-contents (00 00) of its outermost,
# indefinite-length PFX SEQUENCE, after the definite-length MacData; drop it.
[ "$(tail -c 2 nss-chain.p12 | od -An -tx1 | tr -d ' \n')" = 0000 ]
head -c $(($(stat -c %s nss-chain.p12) - 2)) nss-chain.p12 >bad-ber-unterminated.p12

# Structure checks behind the README's claims.
[ "$(openssl asn1parse -inform DER -in nss-chain.p12 | grep -c 'l=inf')" -gt 0 ]
[ "$(openssl pkcs12 -in gnutls-chain.p12 -passin file:password.txt -info -noout 2>&1 | grep -c 'PKCS7 Encrypted data')" = 3 ]
openssl pkcs12 -in keytool-nomac.p12 -passin file:password.txt -info -noout 2>&1 | grep -q 'MAC is absent'
# Both emoji files: the MAC key is derived from the password as UTF-16 with
# a surrogate pair for U+1F600 (RFC 7292 appendix B KDF, computed here).
python3 - emoji-password.p12 emoji-password-pyca.p12 <<'PY'
import hashlib, hmac, sys
def tlv(b, i):
    t, l = b[i], b[i + 1]; i += 2
    if l & 0x80:
        n = l & 0x7F; l = int.from_bytes(b[i:i + n], "big"); i += n
    return t, i, l
def kids(b, s, e):
    out = []
    while s < e:
        t, c, l = tlv(b, s); out.append((t, c, l)); s = c + l
    return out
def kdf(h, salt, pw, it, id_, n):
    u, v = hashlib.new(h).digest_size, hashlib.new(h).block_size
    fill = lambda x: (x * (v * -(-len(x) // v) // len(x) + 1))[: v * -(-len(x) // v)] if x else b""
    I, out = bytearray(fill(salt) + fill(pw)), b""
    while len(out) < n:
        A = bytes([id_]) * v + bytes(I)
        for _ in range(it): A = hashlib.new(h, A).digest()
        out += A
        B = int.from_bytes((A * (v // u + 1))[:v], "big")
        for j in range(0, len(I), v):
            I[j:j + v] = ((int.from_bytes(I[j:j + v], "big") + B + 1) % (1 << 8 * v)).to_bytes(v, "big")
    return out[:n]
pw = "pass-\U0001F600-word".encode("utf-16-be") + b"\0\0"
assert len(pw) == 26  # 11 code points, one of them a surrogate pair, plus 00 00
for f in sys.argv[1:]:
    b = open(f, "rb").read()
    _, s, l = tlv(b, 0)
    _, auth, mac = kids(b, s, s + l)
    ctx = kids(b, auth[1], auth[1] + auth[2])[1]
    _, os_, ol = kids(b, ctx[1], ctx[1] + ctx[2])[0]
    dinfo, salt, it = kids(b, mac[1], mac[1] + mac[2])
    alg, dig = kids(b, dinfo[1], dinfo[1] + dinfo[2])
    oid = kids(b, alg[1], alg[1] + alg[2])[0]
    h = {"2b0e03021a": "sha1", "608648016503040201": "sha256"}[b[oid[1]:oid[1] + oid[2]].hex()]
    key = kdf(h, b[salt[1]:salt[1] + salt[2]], pw, int.from_bytes(b[it[1]:it[1] + it[2]], "big"), 3, hashlib.new(h).digest_size)
    assert hmac.new(key, b[os_:os_ + ol], h).digest() == b[dig[1]:dig[1] + dig[2]], f
PY

# ------------------------------------------------------------- manifest --

# row FILE PASSWORD PRODUCER [CERTFILE] [bad]
rows=$tmp/rows
: >"$rows"
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:--}" "${5:--}" >>"$rows"; }
O="openssl $ossl_v"
row nss-chain.p12 password.txt "pk12util (NSS $nss_v)"
row nss-ec.p12 password.txt "pk12util (NSS $nss_v)"
row gnutls-chain.p12 password.txt "certtool (GnuTLS $gnutls_v)"
row openssl-nomac.p12 password.txt "$O pkcs12 -export -nomac -certpbe AES-256-CBC"
row openssl-nomac-noenc.p12 - "$O pkcs12 -export -nomac -keypbe NONE -certpbe NONE"
row keytool-nomac.p12 password.txt "keytool (OpenJDK $java_v) -importkeystore, macAlgorithm=NONE"
row openssl-legacy.p12 password.txt "$O pkcs12 -export -legacy"
row openssl-default.p12 password.txt "$O pkcs12 -export"
row emoji-password.p12 password-emoji.txt "$O pkcs12 -export"
row emoji-password-pyca.p12 password-emoji.txt "python cryptography $pyca_v"
row dotnet-negative-serial.pfx password-dotnet.txt "dotnet/runtime-assets My.pfx (Windows export)"
row dotnet-negative-serial.cer - "dotnet/runtime-assets My.cer"
row negative-serial.p12 password.txt "$O pkcs12 -export"
row negative-serial.cer - "$O x509 -set_serial -0x..."
row key-pkcs8-aes256.pem password.txt "$O pkcs8 -topk8 -v2 aes-256-cbc" leaf.pem
row key-pkcs8-des3.pem password.txt "$O pkcs8 -topk8 -v2 des3" leaf.pem
row key-legacy-aes128.pem password.txt "$O rsa -traditional -aes128" leaf.pem
row key-legacy-des3.pem password.txt "$O rsa -traditional -des3" leaf.pem
row key-ec-legacy-aes128.pem password.txt "$O ec -aes128" leaf-ec.pem
row leaf.pem - "$O x509"
row leaf-ec.pem - "$O x509"
row pyca-cert-key-aes256cbc.p12 password-pyca.txt "pyca/cryptography vectors 38.0.4"
row pyca-cert-rc2-key-3des.p12 password-pyca.txt "pyca/cryptography vectors 38.0.4"
row pyca-no-password.p12 - "pyca/cryptography vectors 38.0.4"
row pyca-cert-none-key-none.p12 password-pyca.txt "pyca/cryptography vectors 38.0.4"
row pyca-cert-aes256cbc-no-key.p12 password-pyca.txt "pyca/cryptography vectors 38.0.4"
row pyca-name-all-no-pwd.p12 - "pyca/cryptography vectors 38.0.4"
row pyca-name-unicode-pwd.p12 password-pyca-pwd.txt "pyca/cryptography vectors 38.0.4"
row root.pem - "$O req -x509"
row root.cer - "$O x509 -outform DER"
row chain.pem - "$O x509"
row chain.p7b - "$O crl2pkcs7 -nocrl"
row chain-der.p7b - "$O crl2pkcs7 -nocrl -outform DER"
row certs-only.p12 password.txt "$O pkcs12 -export -nokeys"
row gnutls-certs-only.p12 password.txt "certtool (GnuTLS $gnutls_v)"
row keytool-truststore.p12 password.txt "keytool (OpenJDK $java_v) -importcert -trustcacerts"
row bad-garbage-inside.pem - "root.pem with a non-base64 line inserted" - bad
row bad-empty.p7b - "$O crl2pkcs7 -nocrl -outform DER (no -certfile)" - bad
row bad-truncated.cer - "root.cer cut in half" - bad
row bad-ber-truncated.p12 password.txt "nss-chain.p12 without its last 40 bytes" - bad
row bad-ber-unterminated.p12 password.txt "nss-chain.p12 without its final end-of-contents" - bad

{
	printf 'file\tpassword\tkey\tleaf\tcerts\tflags\tproducer\n'
	while IFS=$'\t' read -r f pw producer cf bad; do
		printf '%s\t%s\n' "$(derive "$f" "$pw" "$cf" "$bad")" "$producer"
	done <"$rows"
} >manifest.tsv.new
mv manifest.tsv.new manifest.tsv
echo "wrote $(($(wc -l <manifest.tsv) - 1)) rows to $out/manifest.tsv"
