/// One account the probe looks at, with the ids keysync would create it with.
public struct ProbeRequest: Hashable, Sendable {
    public var account: String
    public var uid: Int?
    public var gid: Int?
    /// The primary group name keysync would use or create.
    public var group: String?

    public init(account: String, uid: Int? = nil, gid: Int? = nil, group: String? = nil) {
        self.account = account
        self.uid = uid
        self.gid = gid
        self.group = group
    }
}

/// The read-only POSIX `sh` script run once per host (as root through
/// `sudo -n sh -s`, or `sh -s` when the login is root).
///
/// Its reply is line-oriented (`key value`), one `@account` section per
/// account; the authorized_keys bytes follow a `content LENGTH` line
/// verbatim. Password hashes never leave the host: only the class of the
/// shadow password field (`locked`, `star`, `hash`, `empty`) is sent.
public enum ProbeScript {
    /// Marker on the first line of a reply, to tell a probe reply from a login banner or an error.
    static let marker = "KEYSYNC-PROBE 1"

    /// The script for `requests`. `$1` is the login's `SSH_CLIENT` (for `sshd -T -C addr=`).
    /// `nonce` frames file contents: a host cannot forge the end of a file it
    /// cannot guess the boundary of. With `diagnostics`, each account section
    /// also carries what `keysync doctor` needs.
    public static func render(_ requests: [ProbeRequest], nonce: String = ProbeScript.makeNonce(),
                              diagnostics: Diagnostics? = nil) -> String {
        var script = "nonce=\(Shell.quote(nonce))\n" + prelude + (diagnostics?.prelude ?? "")
        for request in requests {
            let uid = request.uid.map(String.init) ?? "-"
            let gid = request.gid.map(String.init) ?? "-"
            let group = Shell.quote(request.group ?? "")
            script += "probe_account \(Shell.quote(request.account)) \(uid) \(gid) \(group)\n"
            if diagnostics != nil { script += "diagnose_account \(Shell.quote(request.account))\n" }
        }
        if diagnostics != nil { script += Diagnostics.epilogue }
        script += "echo '@end'\n"
        return script
    }

    /// 128 random bits as hex.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    // Every process the probe starts costs the host a fork and an exec, and
    // hundreds of hosts share the machine's cores in tests: the script uses
    // shell builtins wherever it can (about six processes per account).
    private static let prelude = #"""
    set -u
    export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
    umask 077
    client_addr=${1:-}
    client_addr=${client_addr%% *}
    [ -n "$client_addr" ] || client_addr=127.0.0.1
    echo 'KEYSYNC-PROBE 1'
    echo "euid $(id -u)"
    sshd_bin=/usr/sbin/sshd
    [ -x "$sshd_bin" ] || sshd_bin=$(command -v sshd 2>/dev/null || echo sshd)
    "$sshd_bin" -V 2>&1 | { IFS= read -r line; echo "sshd_version ${line:-unknown}"; }
    if command -v setpriv >/dev/null 2>&1; then echo "setpriv yes"; else echo "setpriv no"; fi
    today=$(( $(date +%s) / 86400 ))
    # key FILE: the bytes between `key-begin NONCE` and `\nkey-end NONCE STATUS`,
    # read without following a symlink or waiting on a FIFO.
    emit_file() {
        echo "$1-begin $nonce"
        dd if="$2" iflag=nofollow,nonblock bs=65536 status=none 2>/dev/null
        rc=$?
        echo
        echo "$1-end $nonce $rc"
    }
    expand_akf() { # token home user -> path, like sshd's percent_expand
        case $1 in
            *%*) ;;
            /*) echo "$1"; return ;;
            *) echo "$2/$1"; return ;;
        esac
        printf '%s\n' "$1" | KS_HOME=$2 KS_USER=$3 awk '{
            h = ENVIRON["KS_HOME"]; u = ENVIRON["KS_USER"]; out = ""; s = $0
            while ((i = index(s, "%")) > 0) {
                c = substr(s, i + 1, 1); out = out substr(s, 1, i - 1)
                if (c == "h") out = out h; else if (c == "u") out = out u
                else if (c == "%") out = out "%"; else out = out "%" c
                s = substr(s, i + 2)
            }
            out = out s
            if (substr(out, 1, 1) != "/") out = h "/" out
            print out
        }'
    }
    probe_account() {
        name=$1
        echo "@account $name"
        settings=$("$sshd_bin" -T -C "user=$name,host=$client_addr,addr=$client_addr" 2>/dev/null)
        akf=
        while read -r key value; do
            case $key in
                authorizedkeysfile) akf=${value%% *}; echo "sshd $key $value" ;;
                strictmodes | pubkeyauthentication | pubkeyacceptedalgorithms | allowusers | allowgroups |                 denyusers | denygroups | usepam | authorizedkeyscommand) echo "sshd $key $value" ;;
            esac
        done <<EOF
    $settings
    EOF
        [ -n "$settings" ] || echo "sshd_error sshd -T failed (is sshd installed and its config valid?)"
        pw=$(getent passwd "$name") || pw=
        echo "passwd $pw"
        if [ -z "$pw" ]; then
            # Only needed to create the account: who already has its ids and group.
            if [ "$2" != "-" ]; then owner=$(getent passwd "$2") || owner=; echo "uid_owner ${owner%%:*}"; fi
            if [ "$3" != "-" ]; then owner=$(getent group "$3") || owner=; echo "gid_owner ${owner%%:*}"; fi
            if [ -n "$4" ]; then
                entry=$(getent group "$4") || entry=
                IFS=: read -r g_name g_pw g_gid g_rest <<EOF
    $entry
    EOF
                echo "group_name_gid ${g_gid:-}"
            fi
            return 0
        fi
        IFS=: read -r p_name p_pw p_uid p_gid p_gecos home shell <<EOF
    $pw
    EOF
        entry=$(getent group "$p_gid") || entry=
        echo "group ${entry%%:*}"
        entry=$(getent shadow "$name") || entry=
        if [ -n "$entry" ]; then
            IFS=: read -r s_name s_pw s_lstchg s_min s_max s_warn s_inact s_expire s_rest <<EOF
    $entry
    EOF
            case $s_pw in
                '') class=empty ;;
                '!'*) class=locked ;;
                '*') class=star ;;
                '*'*) class=locked ;;
                *) class=hash ;;
            esac
            s_pw=
            echo "shadow $class:$s_lstchg:$s_min:$s_max:$s_warn:$s_inact:$s_expire"
        fi
        echo "today $today"
        [ -n "$shell" ] || shell=/bin/sh
        if [ -f "$shell" ] && [ -x "$shell" ]; then echo "shell_valid yes"; else echo "shell_valid no"; fi
        listed=no
        while IFS= read -r line; do [ "$line" = "$shell" ] && listed=yes; done < /etc/shells 2>/dev/null
        echo "shell_listed $listed"
        [ -n "$akf" ] || akf=.ssh/authorized_keys
        file=$(expand_akf "$akf" "$home" "$name")
        dir=${file%/*}
        echo "path $file"
        stat -c 'stat %F|%a|%u|%g|%s|%n' -- "$home" "$dir" "$file" 2>/dev/null
        if [ -f "$file" ] && [ ! -L "$file" ] && [ ! -L "$dir" ] && [ ! -L "$home" ]; then
            emit_file content "$file"
        fi
    }

    """#
}
