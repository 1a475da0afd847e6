#!/usr/bin/env bash
# End-to-end test of certctl.exe on the CurrentUser\My store of a Wine
# prefix: import two PFX files, list, show, sign with each stored key from
# another process, refuse to export a non-exportable key, remove, and check
# that the certificates and their key containers are gone; then make
# certificates with 'new' and check their keys the same way. Thumbprints and
# signatures are checked with openssl, not with certctl.
#
# .ci/wine/run prepares the prefix and calls this script with WINEPREFIX
# set; it needs go, openssl and wine on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${WINEPREFIX:?WINEPREFIX is not set; .ci/wine/run prepares one}"
export WINEDEBUG=-all

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$root"
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -o "$work/certctl.exe" ./cmd/certctl
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -o "$work/probe.exe" ./.ci/wine/probe
  cp testdata/pfx/openssl3-default.pfx testdata/pfx/openssl-legacy.pfx testdata/pfx/password.txt "$work/"
)
cd "$work"

step() { echo "e2e: $*"; }
fail() { echo "e2e: FAIL: $*" >&2; exit 1; }
# certctl and probe run under Wine; stdout is kept free of carriage returns.
certctl() { wine ./certctl.exe "$@" | tr -d '\r'; }
probe() { wine ./probe.exe "$@" | tr -d '\r'; }

# What openssl says about a fixture: its leaf certificate, thumbprint and
# public key. The legacy file (RC2-40) needs openssl 3's -legacy.
leaf() { openssl pkcs12 $2 -in "$1" -passin file:password.txt -nokeys -clcerts; }
declare -A tp pub
fixtures=(openssl3-default.pfx openssl-legacy.pfx)
leaf openssl3-default.pfx "" >default.pem
leaf openssl-legacy.pfx -legacy >legacy.pem
for f in "${fixtures[@]}"; do
  pem=default.pem; [ "$f" = openssl-legacy.pfx ] && pem=legacy.pem
  tp[$f]=$(openssl x509 -in "$pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
  openssl x509 -in "$pem" -noout -pubkey >"$f.pub.pem"
  [ ${#tp[$f]} -eq 40 ] || fail "no thumbprint from openssl for $f"
done

step "the store starts without the fixtures"
certctl list >list0.txt
for f in "${fixtures[@]}"; do
  if grep -q "${tp[$f]}" list0.txt; then fail "${tp[$f]} is already in My"; fi
done

step "import both into CurrentUser\\My"
certctl import "${fixtures[@]}" --password-file password.txt >import.txt
for f in "${fixtures[@]}"; do
  grep -q "^${tp[$f]} " import.txt || fail "import did not report ${tp[$f]} for $f: $(cat import.txt)"
done

step "importing again changes nothing"
wine ./certctl.exe import "${fixtures[@]}" --password-file password.txt >/dev/null 2>again.txt
grep -q "already in store My" again.txt || fail "second import: $(cat again.txt)"

step "list shows both, with their keys, under openssl's thumbprints"
certctl list >list1.txt
cat list1.txt
for f in "${fixtures[@]}"; do
  grep -E -q "^${tp[$f]} .* yes$" list1.txt || fail "list lacks ${tp[$f]} with a key"
done

step "show one"
certctl show "${tp[openssl3-default.pfx]}" >show.txt
grep -q "Thumbprint (SHA-1):  ${tp[openssl3-default.pfx]}" show.txt || fail "show: $(cat show.txt)"
grep -q "CN=certctl test openssl3-default" show.txt || fail "show: $(cat show.txt)"
grep -q "Private key: *yes" show.txt || fail "show: $(cat show.txt)"

step "each key is in a container of its own and signs in another process"
echo "certctl e2e $(date +%s)" >data.txt
declare -A container
for f in "${fixtures[@]}"; do
  probe keyinfo "${tp[$f]}" >keyinfo.txt
  container[$f]=$(sed -n 's/^container=//p' keyinfo.txt)
  case ${container[$f]} in certctl-*) ;; *) fail "container of $f: $(cat keyinfo.txt)" ;; esac
  grep -q "^provider=Microsoft Enhanced RSA and AES Cryptographic Provider$" keyinfo.txt || fail "provider of $f: $(cat keyinfo.txt)"
  probe container "${container[$f]}" >/dev/null || fail "container ${container[$f]} of $f does not exist"
  probe sign "${tp[$f]}" data.txt "$f.sig"
  openssl dgst -sha256 -verify "$f.pub.pem" -signature "$f.sig" data.txt >verify.txt ||
    fail "signature with the key of $f does not verify: $(cat verify.txt)"
  echo "e2e:   ${tp[$f]} in ${container[$f]}: $(cat verify.txt)"
done
[ "${container[openssl3-default.pfx]}" != "${container[openssl-legacy.pfx]}" ] || fail "both keys share a container"

step "a key imported without --exportable stays in the store"
if wine ./certctl.exe export "${tp[openssl3-default.pfx]}" --out key.pfx --password-file password.txt 2>export.txt; then
  fail "export of a non-exportable key succeeded"
fi
grep -q -- "--exportable" export.txt || fail "export error does not say why: $(cat export.txt)"
[ ! -e key.pfx ] || fail "a failed export left key.pfx"
certctl export "${tp[openssl3-default.pfx]}" --no-key --out cert.pem
[ "$(openssl x509 -in cert.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')" = "${tp[openssl3-default.pfx]}" ] ||
  fail "exported certificate is not the imported one"

step "--store-dir does not apply on Windows"
if CERTCTL_STORE_DIR='C:\stores' wine ./certctl.exe list >/dev/null 2>storedir.txt; then
  fail "CERTCTL_STORE_DIR was accepted"
fi
grep -q "CurrentUser system store" storedir.txt || fail "store dir error: $(cat storedir.txt)"
grep -q "hint: on Windows leave --store-dir and CERTCTL_STORE_DIR unset" storedir.txt || fail "store dir hint: $(cat storedir.txt)"

step "remove both: certificates and key containers are gone"
for f in "${fixtures[@]}"; do
  certctl remove "${tp[$f]}"
done
certctl list -o json >list2.json
[ "$(tr -d ' \n' <list2.json)" = "[]" ] || fail "store not empty after remove: $(cat list2.json)"
for f in "${fixtures[@]}"; do
  if probe container "${container[$f]}"; then fail "key container ${container[$f]} of $f is left"; fi
done

step "new makes a key in the store that signs, and that only --exportable lets out"
certctl new --subject "CN=certctl e2e new" >new.txt
ntp=$(cut -c1-40 new.txt)
grep -q "^$ntp  CN=certctl e2e new$" new.txt || fail "new: $(cat new.txt)"
certctl export "$ntp" --no-key --out new.pem
[ "$(openssl x509 -in new.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')" = "$ntp" ] || fail "new: the exported certificate is not $ntp"
openssl x509 -in new.pem -noout -text >new-text.txt
grep -q "Issuer: CN *= *certctl e2e new" new-text.txt || fail "new: not self-signed: $(cat new-text.txt)"
grep -q "TLS Web Client Authentication" new-text.txt || fail "new: no client-auth EKU: $(cat new-text.txt)"
openssl verify -CAfile new.pem -partial_chain new.pem >/dev/null || fail "new: the self-signature does not verify"
openssl x509 -in new.pem -noout -pubkey >new.pub.pem
probe keyinfo "$ntp" >new-keyinfo.txt
new_container=$(sed -n 's/^container=//p' new-keyinfo.txt)
case $new_container in certctl-*) ;; *) fail "container of the new key: $(cat new-keyinfo.txt)" ;; esac
probe sign "$ntp" data.txt new.sig
openssl dgst -sha256 -verify new.pub.pem -signature new.sig data.txt >/dev/null || fail "the new key's signature does not verify"
if wine ./certctl.exe export "$ntp" --out new-key.pfx --password-file password.txt 2>new-export.txt; then
  fail "export of a key made without --exportable succeeded"
fi
grep -q -- "--exportable" new-export.txt || fail "new: export error does not say why: $(cat new-export.txt)"
certctl new --subject "CN=certctl e2e exportable" --exportable >exp.txt
etp=$(cut -c1-40 exp.txt)
certctl export "$etp" --out exp.pfx --password-file password.txt
openssl pkcs12 -in exp.pfx -passin file:password.txt -nocerts -nodes | openssl pkey -pubout >exp-key.pub.pem
openssl pkcs12 -in exp.pfx -passin file:password.txt -nokeys -clcerts | openssl x509 -noout -pubkey >exp-cert.pub.pem
cmp -s exp-key.pub.pem exp-cert.pub.pem || fail "the exported key is not the certificate's"
for t in "$ntp" "$etp"; do certctl remove "$t"; done
if probe container "$new_container"; then fail "the new key's container $new_container is left"; fi

step "passed"
