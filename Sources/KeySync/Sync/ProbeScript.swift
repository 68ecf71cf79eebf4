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
        // Doctor wants sshd's own view (sshd -T) and its version, always.
        var script = "nonce=\(Shell.quote(nonce))\n" + (diagnostics == nil ? "" : "sshd_t=yes\n") + Shell.lookupFunctions + prelude
            + (diagnostics?.prelude ?? "")
        for request in requests {
            let uid = request.uid.map(String.init) ?? "-"
            let gid = request.gid.map(String.init) ?? "-"
            let group = Shell.quote(request.group ?? "")
            script += "probe_account \(Shell.quote(request.account)) \(uid) \(gid) \(group)\n"
            if diagnostics != nil { script += "diagnose_account \(Shell.quote(request.account))\n" }
        }
        if diagnostics != nil { script += Diagnostics.epilogue }
        script += "echo \"@end $nonce\"\n"
        return script
    }

    /// 128 random bits as hex.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    // Every process the probe starts costs the host a fork and an exec, and
    // on a busy host (or hundreds of test hosts on two cores) that is most of
    // what a check costs beyond the login itself: `sshd -T` alone costs more
    // than `sudo cat`. So the common case uses shell builtins only — euid
    // from /proc, passwd/group/shadow read from /etc when nsswitch says
    // `files`, sshd_config read directly when it has no `Match` — and starts
    // two processes per account (`stat`, `dd`). Anything unusual (a `Match`
    // block, a quoted AuthorizedKeysFile, NSS sources beyond files, doctor's
    // diagnostics) falls back to asking `getent` and `sshd -T`.
    private static let prelude = #"""
    set -u
    export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
    umask 077
    client_addr=${1:-}
    client_addr=${client_addr%% *}
    [ -n "$client_addr" ] || client_addr=127.0.0.1
    echo 'KEYSYNC-PROBE 1'
    euid=
    while read -r k r e rest; do [ "$k" = Uid: ] && { euid=$e; break; }; done 2>/dev/null < /proc/self/status
    [ -n "$euid" ] || euid=$(id -u)
    echo "euid $euid"
    sshd_bin=/usr/sbin/sshd
    [ -x "$sshd_bin" ] || sshd_bin=$(command -v sshd 2>/dev/null || echo sshd)
    if command -v setpriv >/dev/null 2>&1; then echo "setpriv yes"; else echo "setpriv no"; fi
    today=
    set_today() { [ -n "$today" ] || today=$(( $(date +%s) / 86400 )); }
    # sshd_config without Match blocks: the first value of a keyword wins, as
    # in sshd; Include is read in place (relative to /etc/ssh, globs sorted).
    sshd_t=${sshd_t:-}
    sshd_akf=
    sshd_pam=
    sshd_config_read() { # FILE DEPTH
        local key value pattern f
        [ "$2" -lt 16 ] || { sshd_t=yes; return 0; }
        [ -f "$1" ] || return 0
        [ -r "$1" ] || { sshd_t=yes; return 0; }
        while read -r key value; do
            case $key in '' | '#'*) continue ;; esac
            case $key in *=*) value=${key#*=}${value:+ $value}; key=${key%%=*} ;; esac
            case $value in '='*) value=${value#=}; value=${value#"${value%%[! 	]*}"} ;; esac
            case $key in
                [Mm][Aa][Tt][Cc][Hh]) sshd_t=yes; return 0 ;;
                [Ii][Nn][Cc][Ll][Uu][Dd][Ee])
                    case $value in *'"'*) sshd_t=yes; return 0 ;; esac
                    for pattern in $value; do
                        case $pattern in /*) ;; *) pattern=/etc/ssh/$pattern ;; esac
                        for f in $pattern; do sshd_config_read "$f" $(( $2 + 1 )); done
                        [ -z "$sshd_t" ] || return 0
                    done ;;
                [Aa][Uu][Tt][Hh][Oo][Rr][Ii][Zz][Ee][Dd][Kk][Ee][Yy][Ss][Ff][Ii][Ll][Ee])
                    case $value in *'"'* | *\\*) sshd_t=yes; return 0 ;; esac
                    [ -n "$sshd_akf" ] || sshd_akf=$value ;;
                [Uu][Ss][Ee][Pp][Aa][Mm])
                    [ -n "$sshd_pam" ] || sshd_pam=$value ;;
            esac
        done < "$1"
    }
    sshd_words() { sshd_akf="$*"; }
    if [ -z "$sshd_t" ]; then
        if [ -f /etc/ssh/sshd_config ]; then sshd_config_read /etc/ssh/sshd_config 0; else sshd_t=yes; fi
        set -f
        sshd_words ${sshd_akf:-.ssh/authorized_keys .ssh/authorized_keys2}
        set +f
        case $sshd_pam in [Yy][Ee][Ss]) sshd_pam=yes ;; *) sshd_pam=no ;; esac
    fi
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
        settings=
        akf=
        if [ -n "$sshd_t" ]; then
            settings=$("$sshd_bin" -T -C "user=$name,host=$client_addr,addr=$client_addr" 2>/dev/null)
            while read -r key value; do
                case $key in
                    authorizedkeysfile) akf=${value%% *}; echo "sshd $key $value" ;;
                    strictmodes | pubkeyauthentication | pubkeyacceptedalgorithms | allowusers | allowgroups | \
                    denyusers | denygroups | usepam | authorizedkeyscommand) echo "sshd $key $value" ;;
                esac
            done <<EOF
    $settings
    EOF
            [ -n "$settings" ] || echo "sshd_error sshd -T failed (is sshd installed and its config valid?)"
        else
            akf=${sshd_akf%% *}
            echo "sshd authorizedkeysfile $sshd_akf"
            echo "sshd usepam $sshd_pam"
        fi
        lookup passwd "$name"; pw=$found
        echo "passwd $pw"
        if [ -z "$pw" ]; then
            # Only needed to create the account: who already has its ids and group.
            if [ "$2" != "-" ]; then lookup passwd "$2"; echo "uid_owner ${found%%:*}"; fi
            if [ "$3" != "-" ]; then lookup group "$3"; echo "gid_owner ${found%%:*}"; fi
            if [ -n "$4" ]; then
                lookup group "$4"; entry=$found
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
        lookup group "$p_gid"
        echo "group ${found%%:*}"
        lookup shadow "$name"; entry=$found
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
            # Only an expiry date needs today's day number (a `date` process).
            [ -z "$s_expire" ] || set_today
            echo "shadow $class:$s_lstchg:$s_min:$s_max:$s_warn:$s_inact:$s_expire"
        fi
        [ -z "$today" ] || echo "today $today"
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
