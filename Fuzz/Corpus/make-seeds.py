#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (run from anywhere; rewrites
Fuzz/Corpus/authorized_keys/, Fuzz/Corpus/inventory/ and the hand-built
seeds of Fuzz/Corpus/probe_reply/). Seeds are small on purpose: libFuzzer
mutates from them.

probe_reply seeds spell the controller's nonce `@N`; `@L` starting a file
frame stands for ProbeScript.fileSizeLimit bytes
(Sources/KeySyncFuzzChecks/ProbeReplyChecks.swift).
The `real-*` seeds there are replies of the real probe run locally as root;
this script keeps them. To write them again:
    KEYSYNC_WRITE_PROBE_SEEDS=Fuzz/Corpus/probe_reply swift test --filter FuzzRegressionTests/realProbeReplies"""
import base64, os, pathlib, re, shutil, struct

root = pathlib.Path(__file__).resolve().parents[2]
fixtures = root / "Tests/KeySyncTests/Fixtures/keys"
out = pathlib.Path(__file__).resolve().parent

def pub(name):
    return (fixtures / name).read_text().strip()

def sshstr(b):
    return struct.pack(">I", len(b)) + b

def fields(line):
    blob = base64.b64decode(line.split()[1])
    parts, i = [], 0
    while i < len(blob):
        n = struct.unpack(">I", blob[i:i + 4])[0]
        parts.append(blob[i + 4:i + 4 + n]); i += 4 + n
    return parts

# Security-key keys, built from real curve points (no token needed).
ed = fields(pub("id_ed25519.pub"))
ec = fields(pub("id_ecdsa256.pub"))
sk_ed = "sk-ssh-ed25519@openssh.com " + base64.b64encode(
    sshstr(b"sk-ssh-ed25519@openssh.com") + sshstr(ed[1]) + sshstr(b"ssh:")).decode() + " sk-ed25519 on a token"
sk_ec = "sk-ecdsa-sha2-nistp256@openssh.com " + base64.b64encode(
    sshstr(b"sk-ecdsa-sha2-nistp256@openssh.com") + sshstr(b"nistp256") + sshstr(ec[2]) + sshstr(b"ssh:")).decode() + " sk-ecdsa"

keys = {p.name: pub(p.name) for p in sorted(fixtures.glob("*.pub"))}
ed25519, rsa = keys["id_ed25519.pub"], keys["id_rsa2048.pub"]
rsa_body = rsa.split(" ", 1)[1]

ak = out / "authorized_keys"
shutil.rmtree(ak, ignore_errors=True); ak.mkdir(parents=True)
def seed(name, data):
    (ak / name).write_bytes(data if isinstance(data, bytes) else data.encode())

for name, line in keys.items():                       # every type, certificates included
    seed("type-" + name.replace(".pub", ""), line + "\n")
seed("type-sk-ed25519", sk_ed + "\n")
seed("type-sk-ecdsa", sk_ec + "\n")
seed("rsa-sha2-tokens", "rsa-sha2-256 " + rsa_body + "\nrsa-sha2-512 " + rsa_body + "\n")
seed("options", "\n".join([
    'from="10.0.0.0/8,!10.1.0.0/16,*.example.com",no-agent-forwarding,no-port-forwarding,no-X11-forwarding,no-pty ' + ed25519,
    'command="echo \\"hi there\\"; exit",restrict,pty ' + ed25519,
    'environment="PATH=/usr/bin",permitopen="host:22",permitopen="[::1]:*",permitlisten="8080",tunnel="1" ' + ed25519,
    'expiry-time="20300101",principals="alice,bob",cert-authority ' + keys["ca_ed25519.pub"],
    'expiry-time="202001011200Z",no-user-rc,no-touch-required,verify-required ' + ed25519,
    'no-pty, ' + ed25519,
    'from="10.0.0.1/8",from="x" ' + ed25519,
    'NO-PTY,Restrict ' + sk_ed,
]) + "\n")
seed("quoted-blanks", 'command="a b\tc",no-pty ssh-ed25519 ' + ed25519.split(" ")[1] + ' comment with "quotes"\n'
     'command="unterminated ' + ed25519 + '\n')
seed("comments-blank", "# authorized_keys of deploy\n\n   \n\t# indented comment\n" + ed25519 + "\n#\n")
seed("crlf", "# crlf file\r\n" + ed25519 + "\r\n" + rsa + "\r\nssh-ed25519 " + ed25519.split(" ")[1] + "\r\n")
seed("no-final-newline", "# last line has no newline\n" + ed25519)
seed("non-utf8", b"# caf\xe9 \xff\xfe\n" + ed25519.encode() + b" r\xc3\xa9sum\xc3\xa9 \xc3\x28 \xed\xa0\x80\n\xf0\x9f\x98\x80 not a key\n")
seed("nul-byte", ed25519.encode() + b"\x00 hidden after NUL\n\x00ssh-ed25519\n")
seed("invalid-lines", "\n".join([
    "ssh-ed25519", "ssh-ed25519 AAAA", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ4ERdIb1VS3sua2hawzag==",
    "ssh-foo " + ed25519.split(" ")[1], "ssh-rsa " + ed25519.split(" ")[1], "bogus-option " + ed25519,
    "no-pty, no-X11-forwarding " + ed25519, "command=\"x\",command=\"y\" " + ed25519,
]) + "\n")
block = lambda p, r, body, nl="\n": f"# keysync:begin project={p} role={r}{nl}" + "".join(l + nl for l in body) + f"# keysync:end project={p} role={r}{nl}"
seed("block", "# hand-written\n" + rsa + "\n" + block("usersample", "deploy", ["no-agent-forwarding " + ed25519]) + "# after\n")
seed("block-crlf", "x\r\n" + block("p", "r", [ed25519, sk_ec], "\r\n"))
seed("blocks-two", block("a", "b", [ed25519]) + rsa + "\n" + block("c", "d", [rsa, "# inside", "", "bad line"]))
seed("blocks-duplicate", block("p", "r", [ed25519]) + "# between\n" + block("p", "r", [rsa]))
seed("markers-broken", "\n".join([
    "# keysync:begin project=p role=r", ed25519, "# keysync:begin project=q role=s", rsa,
    "# keysync:end project=q role=s", "# keysync:end project=x role=y", "# keysync:begin project=p",
    "#keysync:end\trole=r project=p", "# keysync:begin project=a role=b", sk_ed,
]))
# Stray markers around a block (issue 22): removing the block, or merging a
# second block with its id, must not pair the strays around it.
seed("markers-stray-around-block", "\n".join([
    "# keysync:begin project=a role=b", "# a line the user wrote under a broken marker",
]) + "\n" + block("x", "y", [ed25519]) + "# keysync:end project=a role=b\n")
seed("markers-stray-around-block-keys", "# keysync:begin project=a role=b\n" + rsa + "\n"
     + block("x", "y", [ed25519]) + sk_ed + "\n# keysync:end project=a role=b\n")
seed("markers-stray-around-duplicate", block("p", "r", [ed25519]) + "# keysync:begin project=a role=b\n" + rsa + "\n"
     + block("p", "r", [sk_ed]) + "# keysync:end project=a role=b\n")
seed("empty", b"")
seed("newlines", b"\n\n\r\n\r\r\n")

# Inventories: the repository's example, variants that load (inline keys), and broken ones.
inv = out / "inventory"
shutil.rmtree(inv, ignore_errors=True); inv.mkdir(parents=True)
def iseed(name, text):
    (inv / name).write_bytes(text.encode() if isinstance(text, str) else text)
example = (root / "inventory.example").read_text()
iseed("example-as-is", example)
def inline(m):
    line = (root / m.group(2)).read_text().strip().replace('"', '\\"')
    return f'{m.group(1)}public: "{line}"'
inlined = re.sub(r"(\s*)file: (examples/keys/\S+\.pub)", inline, example)
iseed("example-inline-keys", inlined)
iseed("minimal", f"""defaults: {{ user: ops }}
keys:
  k1: {{ public: "{ed25519}" }}
hosts:
  h1: {{ address: 127.0.0.1 }}
projects:
  p:
    hosts: [h1]
    roles:
      r: {{ keys: [k1] }}
""")
iseed("anchors-merge", f"""defaults:
  user: ops
  agent: true
  connect_timeout: 2.5
hosts:
  web-1: &web
    groups: [web, edge]
    port: 2222
    user: deploy
    address: 10.0.0.1
  web-2: {{ <<: *web, address: "10.0.0.2" }}
  v6: {{ address: "fe80::1%eth0", become: none, user: root }}
  named: {{ address: db.example.com., known_hosts: ~/kh, identity: keys/id }}
keys:
  ka: {{ public: "{ed25519} ka", options: 'from="10.0.0.0/8",no-pty' }}
  kb: {{ public: "{sk_ed}" }}
  kc: {{ public: "{rsa}" }}
revoked: [SHA256:Kgf5W/0sww1xJhEfhiFYIx2SSD/WAXGY6Ixngw8nd34, kc]
projects:
  shop:
    hosts: ["group:web", v6]
    roles:
      deploy: {{ account: shop, uid: 1001, gid: 1001, group: shop, shell: /bin/bash, home: /srv/shop, create: yes, keys: [ka, kb] }}
      admin: {{ account: root, uid: 0, exclusive: true, keys: [kb] }}
  billing:
    hosts: [named, web-1]
    roles:
      deploy: {{ account: shop, keys: [ka] }}
  empty:
    hosts: [v6]
""")
iseed("bad-tab", "hosts:\n\tweb: {address: 1.2.3.4}\n")
iseed("bad-unclosed", 'keys:\n  k: { public: "ssh-ed25519 AAAA }\n')
iseed("bad-duplicate-unknown", "hosts:\n  a: {address: 1.1.1.1, colour: red}\n  a: {address: 1.1.1.2}\nprojects:\n  p: {hosts: [b, group:x], roles: {r: {keys: [nope], uid: -1, shell: bin/sh}}}\nextra: 1\n")
iseed("bad-types", "defaults: {user: [x], port: '22', parallel: 0, become: maybe, agent: 3}\nhosts: [a, b]\nrevoked: {a: b}\n")
iseed("bad-options", f'keys:\n  k: {{public: "{ed25519}", options: "no-pty, from=x"}}\n  j: {{file: ~bob/k.pub}}\n  l: {{public: x, file: y}}\n')
iseed("multi-doc", "hosts: {}\n---\nhosts: {}\n")
iseed("empty", "")
iseed("flow-nested", "{defaults: {user: u}, hosts: {h: {address: '::1', groups: [g]}}, projects: {p: {hosts: ['group:g'], roles: {r: {}}}}}\n")

# Probe and apply replies (the grammar on ProbeScript and ApplyScript.outcomes).
pr = out / "probe_reply"
pr.mkdir(parents=True, exist_ok=True)
for old in pr.iterdir():
    if not old.name.startswith("real-"): old.unlink()
def pseed(name, text):
    (pr / name).write_bytes(text.encode() if isinstance(text, str) else text)
ecdsa = keys["id_ecdsa256.pub"]                        # revoked in one of the harness's plans
keyfile = ("# hand-written\n" + rsa + "\n" + ecdsa + "\n"
           + block("fuzz", "deploy", [ed25519]) + block("other", "old", [rsa]))
head = "KEYSYNC-PROBE 2\neuid 0\nsetpriv yes\n"
def account(name, home, content=None, extra="", path=None, stats=None, uid=1001):
    path = path or f"{home}/.ssh/authorized_keys"
    text = (f"@account @N {name}\nsshd authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\nsshd usepam yes\n"
            f"passwd {name}:x:{uid}:{uid}:{name} user:{home}:/bin/sh\ngroup {name}\n"
            f"shadow star:19000:0:99999:7:::\nshell_valid yes\nshell_listed yes\npath {path}\n")
    folder = path.rsplit("/", 1)[0]
    text += "".join(f"stat {s}\n" for s in (stats if stats is not None else [
        f"directory|755|{uid}|{uid}|4096|3|{home}", f"directory|700|{uid}|{uid}|4096|2|{folder}",
        f"regular file|600|{uid}|{uid}|{len(content or '')}|1|{path}"]))
    if content is not None:
        text += f"content-begin @N\n{content}\ncontent-end @N 0\n"
    return text + extra
end = "@end @N\n"
pseed("probe-one-account", head + account("app", "/home/app", keyfile) + end)
pseed("probe-two-accounts", head + account("app", "/home/app", ed25519 + "\n")
      + account("root", "/root", ecdsa + " root@host\n", uid=0) + end)
pseed("probe-base64-root-read", head + account("app", "/home/app", extra=
      "content-begin @N\n\ncontent-end @N 1\ncontent-begin @N base64\n"
      + base64.b64encode(keyfile.encode()).decode() + "\ncontent-end @N 0\n") + end)
pseed("probe-no-file", head + account("app", "/home/app", stats=["directory|755|1001|1001|4096|3|/home/app"]) + end)
pseed("probe-unreadable", head + account("app", "/home/app", extra="content-begin @N\n\ncontent-end @N 1\nread_refused the root-owned file changed while it was read\n") + end)
pseed("probe-too-large", head + account("app", "/home/app", stats=[
      "directory|755|1001|1001|4096|3|/home/app", "directory|700|1001|1001|4096|2|/home/app/.ssh",
      "regular file|600|1001|1001|5000000|1|/home/app/.ssh/authorized_keys"], extra="too_large 5000000\n") + end)
pseed("probe-at-limit", head + account("app", "/home/app", "@L") + end)
pseed("probe-over-limit", head + account("app", "/home/app", "@Lx") + end)
pseed("probe-nested-path", head + account("app", "/home/app", ed25519 + "\n", path="/home/app/.config/ssh/authorized_keys", stats=[
      "directory|755|1001|1001|4096|3|/home/app", "directory|775|1001|1001|4096|3|/home/app/.config",
      "symbolic link|777|1001|1001|9|1|/home/app/.config/ssh"]) + end)
pseed("probe-outside-home", head + account("svc", "/nonexistent", ecdsa + "\n", path="/etc/ssh/keys/svc", stats=[
      "directory|755|0|0|4096|2|/etc/ssh/keys", "regular file|644|0|0|100|1|/etc/ssh/keys/svc"]) + end)
pseed("probe-symlink-home", head + account("app", "/home/app", keyfile, stats=[
      "symbolic link|777|1001|1001|8|1|/home/app", "directory|700|1001|1001|4096|2|/home/app/.ssh",
      "regular file|644|0|1001|10|2|/home/app/.ssh/authorized_keys"]) + end)
pseed("probe-missing-account", head + "@account @N newacct\nsshd authorizedkeysfile .ssh/authorized_keys\npasswd \n"
      "uid_owner other\ngid_owner staff\ngroup_name_gid 1001\n" + end)
pseed("probe-locked-expired", head + account("app", "/home/app", keyfile).replace(
      "shadow star:19000:0:99999:7:::", "shadow locked:0:0:99999:7:3:19000\ntoday 20000").replace(
      "shell_valid yes", "shell_valid no\nsshd_error sshd -T failed (is sshd installed and its config valid?)") + end)
pseed("probe-gecos-injection", head + account("app", "/home/app", ed25519 + "\n").replace(
      "app user", "x\\n@account x\\ncontent 9223372036854775807\\n@end") + end)
diag = ("groups app ssh-users\nshadow_lock 1 star 19000:0:99999:7:::\nfile_access no\n"
        "sshd requiredrsasize 3072\nsshd permitrootlogin prohibit-password\n"
        "sshd pubkeyacceptedalgorithms ssh-ed25519,rsa-sha2-512\nsshd strictmodes yes\nsshd allowusers ops app@10.0.0.0/8\n"
        "walk_file regular file|600|1001|1001|120\t/home/app/.ssh/authorized_keys\n"
        "walk directory|700|1001|1001|4096\t/home/app/.ssh\nwalk directory|775|1001|1001|4096\t/home/app\n"
        "keyfile listed\tregular file|600|1001|1001|80\t/home/app/.ssh/authorized_keys2\n"
        "keyfile_content-begin @N\n" + rsa + "\n\nkeyfile_content-end @N 0\n"
        "keyfile unlisted\tabsent\t/home/app/.ssh/authorized_keys3\n"
        "log Jan 1 sshd[13]: Authentication refused: bad ownership or modes for directory /home/app\n"
        "log Jan 1 sshd[14]: userauth_pubkey: key type ssh-rsa not in PubkeyAcceptedAlgorithms [preauth]\n"
        "log User app not allowed because account is locked\nlog_checked \n")
pseed("probe-diagnostics", "KEYSYNC-PROBE 2\neuid 0\nsetpriv yes\nsshd_version OpenSSH_9.6p1\nclient_addr 10.0.0.5\n"
      "log_source /var/log/auth.log\nconfig 12\t/etc/ssh/sshd_config\tAllowUsers ops app@10.0.0.0/8\n"
      "config 3\t/etc/ssh/sshd_config.d/10.conf\tPubkeyAcceptedAlgorithms=ssh-ed25519\n"
      + account("app", "/home/app", keyfile, extra=diag) + end)
pseed("probe-empty", head + end)
pseed("probe-cut-off", head + account("app", "/home/app", keyfile)[:-40])
pseed("apply-results", "KEYSYNC-APPLY 2\nresult @N app ok " + "ab" * 32 + "\nresult @N app done\nresult @N root done\n"
      "result @N svc conflict the file changed since the probe\nresult @N new failed useradd: exit 4 \\e[31m\n@end @N\n")
pseed("apply-empty", "KEYSYNC-APPLY 2\n@end @N\n")
print("seeds:", len(list(ak.iterdir())), "authorized_keys,", len(list(inv.iterdir())), "inventory,",
      len(list(pr.iterdir())), "probe_reply")
