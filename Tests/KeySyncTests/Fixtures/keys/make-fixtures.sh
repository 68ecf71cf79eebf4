#!/bin/sh
# Regenerates the key fixtures used by Tests/KeySyncTests/Keys.
# Needs: ssh-keygen (OpenSSH 9.x), openssl, puttygen (putty-tools), python3.
# Every `*.fp` file holds what `ssh-keygen -lf` printed for the key next to it;
# the tests compare keysync's own fingerprints with it. Test-only keys: never use them.
set -eu
cd "$(dirname "$0")"
rm -f -- *.pub *.fp *.ppk *.pem *.rfc4716 *.txt id_* ca_* sk_* pem_* ppk_* enc_* 2>/dev/null || true

gen() { # name type bits
    ssh-keygen -q -t "$2" ${3:+-b "$3"} -N '' -C "$1@keysync-test" -f "$1"
}
gen id_ed25519 ed25519
gen id_ecdsa256 ecdsa 256
gen id_ecdsa384 ecdsa 384
gen id_ecdsa521 ecdsa 521
gen id_rsa1024 rsa 1024
gen id_rsa2048 rsa 2048
gen id_rsa3072 rsa 3072
gen id_dsa dsa 1024
gen ca_ed25519 ed25519
gen ca_rsa rsa 2048

# Security-key public keys cannot be generated without hardware; build the
# blobs by hand from real ed25519/ecdsa points plus the usual "ssh:" application.
python3 - <<'EOF'
import base64, struct
def s(b): return struct.pack(">I", len(b)) + b
def fields(line):
    blob = base64.b64decode(line.split()[1]); out = []; i = 0
    while i < len(blob):
        n = struct.unpack(">I", blob[i:i+4])[0]; out.append(blob[i+4:i+4+n]); i += 4 + n
    return out
ed = fields(open("id_ed25519.pub").read())
ec = fields(open("id_ecdsa256.pub").read())
for name, blob in [
    ("sk_ed25519", s(b"sk-ssh-ed25519@openssh.com") + s(ed[1]) + s(b"ssh:")),
    ("sk_ecdsa", s(b"sk-ecdsa-sha2-nistp256@openssh.com") + s(b"nistp256") + s(ec[2]) + s(b"ssh:")),
]:
    t = blob[4:4+struct.unpack(">I", blob[:4])[0]].decode()
    open(name + ".pub", "w").write("%s %s %s@keysync-test\n" % (t, base64.b64encode(blob).decode(), name))
EOF

# Certificates: user certs signed by an ed25519 CA and an RSA CA (rsa-sha2-512 signature).
for k in id_ed25519 id_ecdsa256 id_rsa2048 sk_ed25519 sk_ecdsa; do
    ssh-keygen -q -s ca_ed25519 -I "$k-id" -n alice,bob "$k.pub"
done
ssh-keygen -q -s ca_rsa -t rsa-sha2-512 -I dsa-id -n alice -V +520w id_dsa.pub

# Encrypted OpenSSH private key (public part stays readable).
cp id_ed25519 enc_openssh_ed25519 && ssh-keygen -q -p -N 'secret pass' -f enc_openssh_ed25519

# RFC 4716 (what PuTTYgen and ssh-keygen -e export).
for k in id_ed25519 id_rsa2048 id_ecdsa384; do
    ssh-keygen -e -f "$k.pub" | sed 's/converted by .* from/converted from/' > "$k.rfc4716"
done
# Hand-made variant: CRLF, a continued Comment header, an x- header, base64 wrapped oddly.
python3 - <<'PY'
body = "".join(open("id_ecdsa256.pub").read().split()[1])
lines = ["---- BEGIN SSH2 PUBLIC KEY ----", "x-Private-Thing: ignored", 'Comment: "a very long comment that \\', 'continues here"']
lines += [body[i:i+50] for i in range(0, len(body), 50)] + ["---- END SSH2 PUBLIC KEY ----", ""]
open("id_ecdsa256.rfc4716", "w", newline="").write("\r\n".join(lines))
PY

# PuTTY .ppk v2 and v3, unencrypted and encrypted, from the OpenSSH keys.
printf 'ppk secret\n' > ppk-pass.txt
for k in id_ed25519 id_rsa2048 id_ecdsa256; do
    puttygen "$k" -O private -o "ppk_${k#id_}_v3.ppk" -C "${k}-putty"
    puttygen "$k" -O private --ppk-param version=2 -o "ppk_${k#id_}_v2.ppk" -C "${k}-putty"
done
puttygen id_ed25519 -O private --new-passphrase ppk-pass.txt -o ppk_ed25519_v3_enc.ppk -C enc-putty
puttygen id_rsa2048 -O private --ppk-param version=2 --new-passphrase ppk-pass.txt -o ppk_rsa2048_v2_enc.ppk -C enc-putty
rm -f ppk-pass.txt

# PEM private keys from openssl: PKCS#1, PKCS#8 (RSA, EC, Ed25519), SEC1, and encrypted ones.
openssl genrsa -traditional -out pem_pkcs1_rsa.pem 2048 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out pem_pkcs8_rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out pem_pkcs8_ec384.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -out pem_pkcs8_ed25519.pem 2>/dev/null
openssl ecparam -genkey -name prime256v1 -noout -out pem_sec1_ec256.pem 2>/dev/null
openssl ec -in pem_sec1_ec256.pem -conv_form compressed -out pem_sec1_ec256_compressed.pem 2>/dev/null
openssl ecparam -genkey -name secp521r1 -noout -out pem_sec1_ec521.pem 2>/dev/null
openssl rsa -in pem_pkcs1_rsa.pem -traditional -aes256 -passout pass:x -out enc_pem_pkcs1_rsa.pem 2>/dev/null
openssl pkcs8 -topk8 -in pem_pkcs8_ed25519.pem -v2 aes-256-cbc -passout pass:x -out enc_pem_pkcs8_ed25519.pem 2>/dev/null
chmod 600 id_* ca_* pem_* enc_*

# Expected fingerprints, straight from ssh-keygen.
for f in *.pub; do ssh-keygen -lf "$f" > "${f%.pub}.fp"; done
for f in pem_*.pem; do
    ssh-keygen -y -f "$f" -P '' 2>/dev/null | ssh-keygen -lf - | sed "s/no comment/${f}/" > "$f.fp" || true
done
# ssh-keygen 9.2 cannot read PKCS#8 Ed25519 keys: derive the public key with openssl instead.
openssl pkey -in pem_pkcs8_ed25519.pem -pubout -outform DER 2>/dev/null | tail -c 32 | python3 -c '
import base64, struct, sys
s = lambda b: struct.pack(">I", len(b)) + b
print("ssh-ed25519", base64.b64encode(s(b"ssh-ed25519") + s(sys.stdin.buffer.read())).decode())' |
    ssh-keygen -lf - | sed "s/no comment/pem_pkcs8_ed25519.pem/" > pem_pkcs8_ed25519.pem.fp
