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
    /// With `diagnostics`, each account section also carries what `keysync doctor` needs.
    public static func render(_ requests: [ProbeRequest], diagnostics: Diagnostics? = nil) -> String {
        var script = prelude + (diagnostics?.prelude ?? "")
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

    private static let prelude = #"""
    set -u
    export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
    umask 077
    client_addr=${1:-}
    client_addr=${client_addr%% *}
    [ -n "$client_addr" ] || client_addr=127.0.0.1
    echo 'KEYSYNC-PROBE 1'
    echo "euid $(id -u)"
    sshd_bin=$(command -v sshd 2>/dev/null || echo /usr/sbin/sshd)
    echo "sshd_version $("$sshd_bin" -V 2>&1 | head -n 1)"
    have_setpriv=no; command -v setpriv >/dev/null 2>&1 && have_setpriv=yes
    echo "setpriv $have_setpriv"
    lstat_line() {
        if [ -L "$1" ] || [ -e "$1" ]; then
            stat -c '%F|%a|%u|%g|%s' -- "$1" 2>/dev/null || echo 'error'
        else
            echo 'absent'
        fi
    }
    emit_file() { # key error-key path: `key LENGTH`, the bytes, a newline (no symlink followed, no FIFO waited on)
        tmp=$(mktemp) || { echo "$2 mktemp failed"; return 0; }
        if dd if="$3" of="$tmp" iflag=nofollow,nonblock bs=65536 status=none 2>/dev/null; then
            echo "$1 $(wc -c < "$tmp" | tr -d ' ')"
            cat "$tmp"
            echo
        else
            echo "$2 cannot read $3"
        fi
        rm -f "$tmp"
    }
    expand_akf() { # token home user -> path, like sshd's percent_expand
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
        if [ "$2" != "-" ]; then echo "uid_owner $(getent passwd "$2" | cut -d: -f1)"; fi
        if [ "$3" != "-" ]; then echo "gid_owner $(getent group "$3" | cut -d: -f1)"; fi
        settings=$("$sshd_bin" -T -C "user=$name,host=$client_addr,addr=$client_addr" 2>/dev/null)
        printf '%s\n' "$settings" | grep -Ei \
            '^(authorizedkeysfile|strictmodes|pubkeyauthentication|pubkeyacceptedalgorithms|allowusers|allowgroups|denyusers|denygroups|usepam|authorizedkeyscommand) ' \
            | sed 's/^/sshd /'
        if [ -n "$4" ]; then echo "group_name_gid $(getent group "$4" | cut -d: -f3)"; fi
        pw=$(getent passwd "$name" 2>/dev/null) || pw=
        echo "passwd $pw"
        [ -n "$pw" ] || return 0
        gid=$(printf '%s' "$pw" | cut -d: -f4)
        home=$(printf '%s' "$pw" | cut -d: -f6)
        shell=$(printf '%s' "$pw" | cut -d: -f7)
        echo "group $(getent group "$gid" 2>/dev/null | cut -d: -f1)"
        getent shadow "$name" 2>/dev/null | awk -F: '{
            p = $2; c = "hash"
            if (p == "") c = "empty"; else if (substr(p, 1, 1) == "!") c = "locked"
            else if (p == "*") c = "star"; else if (substr(p, 1, 1) == "*") c = "locked"
            print "shadow " c ":" $3 ":" $4 ":" $5 ":" $6 ":" $7 ":" $8
        }'
        echo "today $(( $(date +%s) / 86400 ))"
        [ -n "$shell" ] || shell=/bin/sh
        if [ -f "$shell" ] && [ -x "$shell" ]; then echo "shell_valid yes"; else echo "shell_valid no"; fi
        if grep -qxF -- "$shell" /etc/shells 2>/dev/null; then echo "shell_listed yes"; else echo "shell_listed no"; fi
        [ -n "$settings" ] || echo "sshd_error sshd -T failed (is sshd installed and its config valid?)"
        akf=$(printf '%s\n' "$settings" | awk 'tolower($1) == "authorizedkeysfile" { print $2; exit }')
        [ -n "$akf" ] || akf=.ssh/authorized_keys
        file=$(expand_akf "$akf" "$home" "$name")
        dir=$(dirname -- "$file")
        echo "path $file"
        echo "stat_home $(lstat_line "$home")"
        echo "stat_dir $(lstat_line "$dir")"
        echo "stat_file $(lstat_line "$file")"
        if [ -f "$file" ] && [ ! -L "$file" ] && [ ! -L "$dir" ] && [ ! -L "$home" ]; then
            emit_file content read_error "$file"
        fi
    }

    """#
}
