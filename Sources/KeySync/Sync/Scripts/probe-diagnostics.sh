# shellcheck shell=sh
# shellcheck disable=SC2154 # nonce, diag_lines, diag_log_bytes and diag_log_tail come from ProbeScript.render; client_addr, sshd_bin, has_setpriv and probe_account's variables from probe.sh (the rendered script is checked whole)
# probe-diagnostics.sh: the doctor part of the probe, after probe.sh
# (ProbeScript.Diagnostics). ProbeScript.render sets diag_lines (log lines
# kept per account), diag_log_bytes and diag_log_tail (how much of each log
# source is read) before it, then calls `diag_collect_logs [LOG-FILE...]`
# and `diag_config`; `diagnose_account NAME` right after each
# `probe_account NAME`, and `diag_finish` before the end line.
put client_addr "$client_addr"
sshd_v=$("$sshd_bin" -V 2>&1 </dev/null | head -n 1)
put sshd_version "${sshd_v:-unknown}"
set_today
diag_log=$(mktemp 2>/dev/null) || diag_log=
diag_seen=' '
# diag_add_log LABEL FILE: the last bytes of a log (bounded: a log may
# be one endless line) into the private temp file.
diag_add_log() {
    case "$diag_seen" in *" $1 "*) return 0 ;; esac
    diag_seen="$diag_seen$1 "
    [ -n "$diag_log" ] && [ -f "$2" ] && [ -r "$2" ] || return 0
    put log_source "$1"
    tail -c "$diag_log_bytes" -- "$2" 2>/dev/null </dev/null | tail -n "$diag_log_tail" >> "$diag_log" 2>/dev/null || true
}
sshd_real=$(readlink -f -- "$sshd_bin" 2>/dev/null) || sshd_real=$sshd_bin
diag_collect_logs() { # extra files
    for f in "$@" /var/log/auth.log /var/log/secure; do diag_add_log "$f" "$f"; done
    # sshd of this host (same mount namespace), run by root from the
    # host's own sshd binary: its -E file, or its stderr when that is
    # a file. Any user can start a process named sshd with `-E
    # /etc/shadow`; such a process is not sshd and is skipped.
    self_ns=$(readlink /proc/$$/ns/mnt 2>/dev/null) || self_ns=
    for p in /proc/[0-9]*; do
        comm=
        read -r comm 2>/dev/null < "$p/comm" || continue
        case "$comm" in sshd) ;; *) continue ;; esac
        proc_uid=
        while read -r k r _; do [ "$k" = Uid: ] && { proc_uid=$r; break; }; done 2>/dev/null < "$p/status"
        [ "$proc_uid" = 0 ] || continue
        [ "$(readlink "$p/exe" 2>/dev/null)" = "$sshd_real" ] || continue
        [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$self_ns" ] || continue
        e=$(tr '\0' '\n' 2>/dev/null < "$p/cmdline" | awk 'p == "-E" { print; exit } /^-E./ { print substr($0, 3); exit } { p = $0 }')
        [ -z "$e" ] || diag_add_log "$e" "$e"
        t=$(readlink "$p/fd/2" 2>/dev/null) || t=
        case "$t" in /dev/*) ;; /*) diag_add_log "$t" "$p/fd/2" ;; esac
    done
    if [ -n "$diag_log" ] && [ -d /run/systemd/system ] && command -v journalctl >/dev/null 2>&1; then
        put log_source "journal (units ssh, sshd)"
        journalctl -q --no-pager -o short -n "$diag_log_tail" -u ssh -u sshd 2>/dev/null </dev/null |
            tail -c "$diag_log_bytes" >> "$diag_log" 2>/dev/null || true
    fi
}
diag_config() {
    for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf; do
        [ -f "$f" ] || continue
        KS_FILE=$f awk '{
            s = $0; sub(/^[ \t]+/, "", s); split(s, w, /[ \t=]+/); k = tolower(w[1])
            if (k ~ /^(match|include|allowusers|denyusers|allowgroups|denygroups|pubkeyauthentication|pubkeyacceptedalgorithms|pubkeyacceptedkeytypes|authorizedkeysfile|strictmodes|usepam|requiredrsasize|trustedusercakeys|authorizedprincipalsfile|revokedkeys|casignaturealgorithms)$/)
                printf "config %d\t%s\t%s\n", FNR, ENVIRON["KS_FILE"], $0
        }' "$f" 2>/dev/null
    done
}
diag_stat() { # path: `%F|%a|%u|%g|%s` or `absent`, never following a symlink
    if [ -L "$1" ] || [ -e "$1" ]; then stat -c '%F|%a|%u|%g|%s' -- "$1" 2>/dev/null || echo error; else echo absent; fi
}
diag_group_sole() { # a diag_stat line: probe.sh's group_sole for a group-writable path of the walk
    IFS='|' read -r _ dm du dg _ <<EOF
$1
EOF
    if group_writable "$dm"; then group_sole "$dg" "$du"; fi
}
diag_keyfile() { # listed|unlisted path; the bytes as the account reads them
    put keyfile "$1	$(diag_stat "$2")	$2"
    if [ -f "$2" ] && [ ! -L "$2" ]; then read_as_account keyfile_content "$2" "$p_uid" "$p_gid"; fi
}
diagnose_account() { # name; runs right after probe_account for the same name
    [ "$name" = "$1" ] || return 0
    if [ -n "$pw" ]; then diag_details; else home=; fi
    put log_checked ""
    [ -z "$diag_log" ] || diag_logs
}
diag_details() { # uses probe_account's name, pw, p_uid, p_gid, home, file, settings
    groups=$(id -Gn -- "$name" 2>/dev/null </dev/null)
    put groups "$groups "
    lookup shadow "$name"
    if [ -n "$found" ]; then
        IFS=: read -r _ s_pw s_rest <<EOF
$found
EOF
        marks=0
        while [ "${s_pw#!}" != "$s_pw" ]; do s_pw=${s_pw#!}; marks=$((marks + 1)); done
        case $s_pw in '') class=empty ;; '*'*) class=star ;; *) class='hash' ;; esac
        s_pw=
        put shadow_lock "$marks $class $s_rest"
    fi
    while read -r key value; do
        case $key in requiredrsasize | permitrootlogin) put sshd "$key $value" ;; esac
    done <<EOF
$settings
EOF
    if [ -e "$file" ] && [ "$has_setpriv" = yes ]; then
        # shellcheck disable=SC2016 # $1 belongs to the inner shell
        r=$(setpriv --reuid="$p_uid" --regid="$p_gid" --init-groups sh -c 'if test -r "$1"; then echo yes; else echo no; fi' sh "$file" 2>/dev/null </dev/null 4>&-) || r=
        case $r in yes | no) ;; *) r=unknown ;; esac
        put file_access "$r"
    fi
    # The link is resolved as the account, so the walk shows only folders the
    # account can pass through itself (root would see into any folder), and
    # every line goes through put: a link target may hold a line break.
    real=
    if [ "$has_setpriv" = yes ]; then
        real=$(setpriv --reuid="$p_uid" --regid="$p_gid" --init-groups -- readlink -f -- "$file" 2>/dev/null </dev/null 4>&-) || real=
    fi
    if [ -n "$real" ]; then
        ds=$(diag_stat "$real"); put walk_file "$ds	$real"; diag_group_sole "$ds"
        rhome=$(readlink -f -- "$home" 2>/dev/null) || rhome=$home
        d=$real
        while :; do
            d=${d%/*}
            [ -n "$d" ] || d=/
            ds=$(diag_stat "$d"); put walk "$ds	$d"; diag_group_sole "$ds"
            if [ "$d" = "$rhome" ] || [ "$d" = / ] || [ "$d" = . ]; then break; fi
        done
    fi
    tokens=$(printf '%s\n' "$settings" | awk 'tolower($1) == "authorizedkeysfile" { for (i = 2; i <= NF; i++) print $i; exit }')
    listed=no
    while IFS= read -r t; do
        if [ -z "$t" ] || [ "$t" = none ]; then continue; fi
        akf_expand "$t" "$home" "$name"
        p=$akf_path
        [ "$p" != "$home/.ssh/authorized_keys" ] || listed=yes
        [ "$p" = "$file" ] || diag_keyfile listed "$p"
    done <<EOF
$tokens
EOF
    [ "$listed" = yes ] || [ "$file" = "$home/.ssh/authorized_keys" ] || diag_keyfile unlisted "$home/.ssh/authorized_keys"
}
diag_logs() {
    # Lines about the account or its home, and syslog lines of the same
    # sshd process; never a line shaped like a passwd, shadow or group
    # entry (name:field:digits:), whatever file it came from.
    KS_NAME=$name KS_HOME=$home awk -v max="$diag_lines" '
        function about(line,   t, i, k, h) {
            h = ENVIRON["KS_HOME"]
            if (h != "" && h != "/" && (index(line, h "/") || substr(line, length(line) - length(h) + 1) == h)) return 1
            k = split(line, t, "[][ \t\047\"=:,()<>]+")
            for (i = 1; i <= k; i++) if (t[i] == ENVIRON["KS_NAME"]) return 1
            return 0
        }
        function pid(line) { return match(line, /sshd(-session)?\[[0-9]+\]/) ? substr(line, RSTART, RLENGTH) : "" }
        { sub(/\r$/, "") }
        /^[^ :]+:[^ :]*:[0-9]*:/ { next }
        NR == FNR { if (about($0) && (q = pid($0)) != "") pids[q] = 1; next }
        about($0) || ((q = pid($0)) != "" && (q in pids)) { kept[++c] = substr($0, 1, 500) }
        END { for (i = (c > max ? c - max + 1 : 1); i <= c; i++) print "log " kept[i] }
    ' "$diag_log" "$diag_log"
}
diag_finish() { # the private temp file goes
    [ -z "$diag_log" ] || rm -f "$diag_log"
}
