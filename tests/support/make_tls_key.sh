#!/bin/sh
# SPDX-License-Identifier: MIT
# make_tls_key.sh OPENSSL OUT: a 2048-bit RSA key for the HTTPS tests whose CRT components all
# have their full length. Wine 8 (its PKCS #12 import and GnuTLS) cannot sign with a key whose
# private exponent starts with a zero byte (about one key in 256; seen): the client-certificate
# handshake then fails with "Public key signing has failed". The CRT components (exponents,
# coefficient), read by the same import code, are held to their full length too. Such keys are
# drawn again.
set -eu
openssl=$1
out=$2
tries=0
while :; do
    "$openssl" genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out"
    # Bytes of each component as `openssl rsa -text` prints it, less a leading 00 (the sign).
    if "$openssl" rsa -in "$out" -text -noout 2>/dev/null | awk '
        /^[a-zA-Z]/ { if (name != "") len[name] = n - lead; name = $1; n = 0; lead = -1; next }
        { gsub(/[ \t]/, ""); m = split($0, a, ":");
          for (i = 1; i <= m; i++) if (a[i] != "") { if (lead < 0) lead = (a[i] == "00"); n++ } }
        END { if (name != "") len[name] = n - lead;
              exit !(len["privateExponent:"] == 256 && len["exponent1:"] == 128 && len["exponent2:"] == 128 \
                     && len["coefficient:"] == 128 && len["prime1:"] == 128 && len["prime2:"] == 128) }'
    then
        exit 0
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || { echo "make_tls_key.sh: no full-length key in 50 tries" >&2; exit 1; }
done
