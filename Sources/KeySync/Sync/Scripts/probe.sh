# shellcheck shell=sh
# shellcheck disable=SC2154 # nonce and read_limit come from ProbeScript.render, nl and found from lookup.sh (the rendered script is checked whole)
# probe.sh: the read-only probe's shell, after lookup.sh (ProbeScript.prelude).
# ProbeScript.render puts before it `nonce=...`, `read_limit=...` and, when
# sshd -T must be asked (doctor), `sshd_t=yes`; after it one
# `probe_account NAME UID GID GROUP` per account (`-` for an id not asked
# for) and the end line. The reply format is described on ProbeScript.
#
# Every process the probe starts costs the host a fork and an exec, and on a
# busy host (or hundreds of test hosts on two cores) that is most of what a
# check costs beyond the login itself: `sshd -T` alone costs more than
# `sudo cat`. So the common case uses shell builtins only (euid from /proc,
# passwd/group/shadow read from /etc when nsswitch says `files`,
# sshd_config read directly when it has no `Match`) and starts `stat` plus
# the read as the account (setpriv -> dd, head) per account. Anything
# unusual (a `Match` block, a quoted AuthorizedKeysFile, NSS sources beyond
# files, doctor's diagnostics) falls back to asking `getent` and `sshd -T`.
set -u
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
umask 077
# fd 4 is the reply. Commands that run as an account get </dev/null and
# 4>&- and write into a pipe to a root process, never into the reply or
# the script: a process of the account's uid can be opened through /proc
# by that account.
exec 4>&1
client_addr=${1:-}
client_addr=${client_addr%% *}
[ -n "$client_addr" ] || client_addr=127.0.0.1
printf '%s\n' 'KEYSYNC-PROBE 2'
# put KEY VALUE: one reply line. lookup already made entries one line;
# anything else with a line break (a path from sshd -T) is flattened too.
put() {
    case $2 in
        *"$nl"*) printf '%s %s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ')" ;;
        *) printf '%s %s\n' "$1" "$2" ;;
    esac
}
euid=
while read -r k _ e _; do [ "$k" = Uid: ] && { euid=$e; break; }; done 2>/dev/null < /proc/self/status
[ -n "$euid" ] || euid=$(id -u)
put euid "$euid"
sshd_bin=/usr/sbin/sshd
[ -x "$sshd_bin" ] || sshd_bin=$(command -v sshd 2>/dev/null || echo sshd)
if command -v setpriv >/dev/null 2>&1; then has_setpriv=yes; else has_setpriv=no; fi
put setpriv "$has_setpriv"
# Root reads only where unprivileged users cannot hard-link other users' files.
# (dash reads /proc/sys byte by byte and sees no final newline: read fails but sets the value.)
protected_hardlinks=
read -r protected_hardlinks 2>/dev/null < /proc/sys/fs/protected_hardlinks || :
today=
set_today() { [ -n "$today" ] || today=$(( $(date +%s) / 86400 )); }
# sshd_config without Match blocks: the first value of a keyword wins, as
# in sshd; Include is read in place (relative to /etc/ssh, globs sorted).
# Variables are global (POSIX sh has no `local`): an Include's recursion
# may overwrite key/value/pattern/f, but each loop has expanded its list
# already and reads its own file descriptor, so nothing is lost.
sshd_t=${sshd_t:-}
sshd_akf=
sshd_pam=
sshd_strict=
# The settings that use the files under /etc/ssh/keysync (root-files.sh),
# reported only when root_files=yes (ProbeScript.render, issue 19).
root_files=${root_files:-}
sshd_tuca=
sshd_apf=
sshd_rk=
sshd_config_read() { # FILE DEPTH
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
                # sshd makes a leading ~ root's home (tilde_expand_filename at parse), cuts a # comment
                # and unquotes: sshd -T says what it made of it.
                case $value in *'"'* | *\\* | *'~'* | *'#'*) sshd_t=yes; return 0 ;; esac
                [ -n "$sshd_akf" ] || sshd_akf=$value ;;
            [Uu][Ss][Ee][Pp][Aa][Mm])
                [ -n "$sshd_pam" ] || sshd_pam=$value ;;
            [Ss][Tt][Rr][Ii][Cc][Tt][Mm][Oo][Dd][Ee][Ss])
                [ -n "$sshd_strict" ] || sshd_strict=$value ;;
            [Tt][Rr][Uu][Ss][Tt][Ee][Dd][Uu][Ss][Ee][Rr][Cc][Aa][Kk][Ee][Yy][Ss])
                case $value in *'"'* | *'#'*) sshd_t=yes; return 0 ;; esac
                [ -n "$sshd_tuca" ] || sshd_tuca=$value ;;
            [Aa][Uu][Tt][Hh][Oo][Rr][Ii][Zz][Ee][Dd][Pp][Rr][Ii][Nn][Cc][Ii][Pp][Aa][Ll][Ss][Ff][Ii][Ll][Ee])
                case $value in *'"'* | *'#'*) sshd_t=yes; return 0 ;; esac
                [ -n "$sshd_apf" ] || sshd_apf=$value ;;
            [Rr][Ee][Vv][Oo][Kk][Ee][Dd][Kk][Ee][Yy][Ss])
                case $value in *'"'* | *'#'*) sshd_t=yes; return 0 ;; esac
                [ -n "$sshd_rk" ] || sshd_rk=$value ;;
        esac
    done < "$1"
}
sshd_words() { sshd_akf="$*"; }
if [ -z "$sshd_t" ]; then
    if [ -f /etc/ssh/sshd_config ]; then sshd_config_read /etc/ssh/sshd_config 0; else sshd_t=yes; fi
    set -f
    # shellcheck disable=SC2086 # split on blanks like sshd does (globbing is off)
    sshd_words ${sshd_akf:-.ssh/authorized_keys .ssh/authorized_keys2}
    set +f
    case $sshd_pam in [Yy][Ee][Ss]) sshd_pam=yes ;; *) sshd_pam=no ;; esac
fi
# read_as_account FRAME FILE UID GID: the file as the account reads it
# (sshd reads with the account's rights and follows links), between
# `FRAME-begin NONCE` and `\nFRAME-end NONCE STATUS`. At most
# read_limit + 1 bytes: more means the file is too large. The `head`
# (root) between the account's dd and the reply is not only the limit: a
# process running as the account must never hold the reply (through /proc
# the account could read the nonce and forge frames; ProbeScriptTests).
read_as_account() {
    printf '%s-begin %s\n' "$1" "$nonce"
    if [ "$has_setpriv" = yes ]; then
        rc=$( { { setpriv --reuid="$3" --regid="$4" --init-groups -- \
                    dd if="$2" iflag=nonblock bs=65536 status=none </dev/null 2>/dev/null 3>&- 4>&-
                  echo "$?" >&3; } | head -c "$((read_limit + 1))" >&4 4>&-; } 3>&1 )
    else
        rc=127
    fi
    printf '\n%s-end %s %s\n' "$1" "$nonce" "${rc:-1}"
}
# read_as_root FRAME DIR DIR_ID FILE_ID FILE: the seed incident, a root-owned
# file with one link that the account cannot read. The folder is entered
# with `cd` and must be the one stat saw (device:inode), so later names
# are resolved in it and not through a link swapped in above; the file is
# opened without following a link or waiting on a FIFO, and must have the
# same device, inode, owner 0, one link, size and ctime before and after
# the read. The bytes are sent (base64) only after both checks.
read_as_root() {
    data=$(
        cd -P -- "$2" 2>/dev/null || exit 1
        [ "$(stat -c %d:%i . 2>/dev/null)" = "$3" ] || exit 1
        f=${5##*/}
        before=$(stat -c '%d:%i|%u|%h|%F|%s|%z' -- "$f" 2>/dev/null) || exit 1
        case $before in "$4|0|1|regular file|"* | "$4|0|1|regular empty file|"*) ;; *) exit 1 ;; esac
        b64=$(dd if="$f" iflag=nofollow,nonblock,count_bytes count="$((read_limit + 1))" bs=65536 status=none \
            2>/dev/null </dev/null | base64 -w 0) || exit 1
        after=$(stat -c '%d:%i|%u|%h|%F|%s|%z' -- "$f" 2>/dev/null) || exit 1
        [ "$before" = "$after" ] && [ "$(stat -c %d:%i . 2>/dev/null)" = "$3" ] || exit 1
        printf '%s' "$b64"
    ) || return 1
    printf '%s-begin %s base64\n%s\n%s-end %s 0\n' "$1" "$nonce" "$data" "$1" "$nonce"
}
# akf_expand TOKEN HOME USER: $akf_path := the AuthorizedKeysFile token as
# sshd's percent_expand makes it a path (%h, %u, %U: $p_uid, %%). Only a
# token with `%` costs a process (awk); the common ones are plain
# assignments, not a `$( )` fork.
akf_expand() {
    case $1 in
        *%*) ;;
        /*) akf_path=$1; return ;;
        *) akf_path=$2/$1; return ;;
    esac
    akf_path=$(printf '%s\n' "$1" | KS_HOME=$2 KS_USER=$3 KS_UID=${p_uid:-} awk '{
        h = ENVIRON["KS_HOME"]; u = ENVIRON["KS_USER"]; n = ENVIRON["KS_UID"]; out = ""; s = $0
        while ((i = index(s, "%")) > 0) {
            c = substr(s, i + 1, 1); out = out substr(s, 1, i - 1)
            if (c == "h") out = out h; else if (c == "u") out = out u
            else if (c == "U" && n != "") out = out n
            else if (c == "%") out = out "%"; else out = out "%" c
            s = substr(s, i + 2)
        }
        out = out s
        if (substr(out, 1, 1) != "/") out = h "/" out
        print out
    }')
}
# group_sole GID OWNER_UID: a `group_sole GID:OWNER_UID yes|no` line for a
# folder or keys file of this account that is group-writable. Upstream sshd's
# StrictModes refuses group write; Debian's (and Ubuntu's: their
# user-group-modes patch, `secure_permissions` in misc.c) accepts it when the
# group is the account's alone: the group exists, every passwd entry whose
# primary group it is is the account, its member list is empty or exactly
# the path's owner, and it has a member at all. The planner accepts group
# write only on a `yes`; no line (another system) means refused.
# Enumerates passwd as sshd's getpwent does (getent without a key when
# nsswitch names more than files); only ever runs for a group-writable path.
debian=
[ ! -f /etc/debian_version ] || debian=yes
# group_writable MODE: true when a `%a` mode (755, 2775) lets its group write
# (its group digit is 2, 3, 6 or 7).
group_writable() {
    gw=${1%?}; gw=${gw#"${gw%?}"}
    case $gw in 2 | 3 | 6 | 7) return 0 ;; esac
    return 1
}
gs_seen=' '
group_sole() {
    [ -n "$debian" ] || return 0
    # Once per group and owner (offboard's scan asks for every account).
    case $gs_seen in *" $1:$2 "*) return 0 ;; esac
    gs_seen="$gs_seen$1:$2 "
    gs=no
    lookup group "$1"; gs_entry=$found
    if [ -n "$gs_entry" ]; then
        gs_members=${gs_entry##*:}
        gs_count=0
        # sshd enumerates with getpwent: systemd's userdb entries too.
        if [ -n "$lookup_db" ] && [ -z "$nss_systemd" ]; then gs_all=$lookup_db gs_tag=p
        elif [ -n "$nss_files" ] && [ -z "$nss_systemd" ] && [ -r /etc/passwd ]; then gs_all=$(cat /etc/passwd 2>/dev/null) gs_tag=
        else gs_all=$(getent passwd 2>/dev/null </dev/null) gs_tag=; fi
        gs_ifs=$IFS
        IFS=$nl
        set -f
        gs=yes
        for gs_line in $gs_all; do
            case $gs_line in "$gs_tag"*) gs_line=${gs_line#"$gs_tag"} ;; *) continue ;; esac
            passwd_fields "$gs_line"
            [ "$pf_gid" = "$1" ] || continue
            gs_count=$((gs_count + 1))
            [ "$pf_uid" = "$p_uid" ] || gs=no
        done
        set +f
        IFS=$gs_ifs
        lookup passwd "$2"; gs_owner=${found%%:*}
        [ -n "$gs_owner" ] || gs=no
        if [ -n "$gs_members" ]; then
            gs_count=$((gs_count + 1))
            [ "$gs_members" = "$gs_owner" ] || gs=no
        fi
        [ "$gs_count" -gt 0 ] || gs=no
    fi
    put group_sole "$1:$2 $gs"
}
lookup_loaded=
probe_account() { # name uid gid group
    name=$1
    printf '@account %s %s\n' "$nonce" "$name"
    # passwd, group, shadow and shells once for all accounts (lookup.sh).
    [ -n "$lookup_loaded" ] || { lookup_loaded=yes; lookup_load; }
    settings=
    akf_all=
    if [ -n "$sshd_t" ]; then
        settings=$("$sshd_bin" -T -C "user=$name,host=$client_addr,addr=$client_addr" 2>/dev/null)
        while read -r key value; do
            case $key in
                authorizedkeysfile) akf_all=$value; put sshd "$key $value" ;;
                strictmodes | pubkeyauthentication | pubkeyacceptedalgorithms | allowusers | allowgroups | \
                denyusers | denygroups | usepam | authorizedkeyscommand) put sshd "$key $value" ;;
                trustedusercakeys | authorizedprincipalsfile | revokedkeys) [ -z "$root_files" ] || put sshd "$key $value" ;;
            esac
        done <<EOF
$settings
EOF
        [ -n "$settings" ] || put sshd_error "sshd -T failed (is sshd installed and its config valid?)"
    else
        akf_all=$sshd_akf
        put sshd "authorizedkeysfile $sshd_akf"
        put sshd "usepam $sshd_pam"
        case $sshd_strict in [Nn][Oo]) put sshd "strictmodes no" ;; esac
        if [ -n "$root_files" ]; then
            put sshd "trustedusercakeys ${sshd_tuca:-none}"
            put sshd "authorizedprincipalsfile ${sshd_apf:-none}"
            put sshd "revokedkeys ${sshd_rk:-none}"
        fi
    fi
    lookup passwd "$name"; pw=$found
    put passwd "$pw"
    if [ -z "$pw" ]; then
        # Only needed to create the account: who already has its ids and group.
        if [ "$2" != "-" ]; then lookup passwd "$2"; put uid_owner "${found%%:*}"; fi
        if [ "$3" != "-" ]; then lookup group "$3"; put gid_owner "${found%%:*}"; fi
        if [ -n "$4" ]; then
            lookup group "$4"; entry=$found
            IFS=: read -r _ _ g_gid _ <<EOF
$entry
EOF
            put group_name_gid "${g_gid:-}"
        fi
        return 0
    fi
    passwd_fields "$pw"
    p_uid=$pf_uid p_gid=$pf_gid home=$pf_home shell=$pf_shell
    lookup group "$p_gid"
    put group "${found%%:*}"
    lookup shadow "$name"; entry=$found
    if [ -n "$entry" ]; then
        IFS=: read -r _ s_pw s_lstchg s_min s_max s_warn s_inact s_expire _ <<EOF
$entry
EOF
        case $s_pw in
            '') class=empty ;;
            '!'*) class=locked ;;
            # Linux sshd (no PAM) counts only a leading '!' as a lock
            # (LOCKED_PASSWD_PREFIX); `*LK*` is Solaris's and locks nothing here.
            '*'*) class=star ;;
            *) class='hash' ;;
        esac
        s_pw=
        # Only an expiry date, or a password maximum age under 10,000 days
        # (PAM's ageing; useradd's 99999 never runs out), needs today's day
        # number (a `date` process).
        [ -z "$s_expire" ] || set_today
        case $s_max in '' | *[!0-9]* | ?????*) ;; *) set_today ;; esac
        put shadow "$class:$s_lstchg:$s_min:$s_max:$s_warn:$s_inact:$s_expire"
    fi
    [ -z "$today" ] || put today "$today"
    [ -n "$shell" ] || shell=/bin/sh
    if [ -f "$shell" ] && [ -x "$shell" ]; then put shell_valid yes; else put shell_valid no; fi
    listed=no
    lookup_listed_shell "$shell"
    case $? in
        0) listed=yes ;;
        2) while IFS= read -r line; do [ "$line" = "$shell" ] && listed=yes; done < /etc/shells 2>/dev/null ;;
    esac
    put shell_listed "$listed"
    akf=${akf_all%% *}
    [ -n "$akf" ] || akf=.ssh/authorized_keys
    akf_expand "$akf" "$home" "$name"
    file=$akf_path
    case $file in *"$nl"*) file=$(printf '%s' "$file" | tr '\n' ' ') ;; esac
    dir=${file%/*}
    put path "$file"
    probe_paths "$home" "$file"
    probe_other_files
}
# probe_other_files: the files after the first in AuthorizedKeysFile (the
# default's .ssh/authorized_keys2). sshd reads them too, so a revoked key or,
# in an exclusive account, an unmanaged one there must be reported; keysync
# writes only the first. Each one that exists is read as the account, as
# sshd reads it (a test as root says only whether the name exists).
probe_other_files() {
    set -f
    # shellcheck disable=SC2086 # split on blanks like sshd does (globbing is off)
    set -- $akf_all
    set +f
    [ "$#" -gt 1 ] || return 0
    shift
    for token; do
        [ "$token" != none ] || continue
        akf_expand "$token" "$home" "$name"
        other=$akf_path
        case $other in *"$nl"*) other=$(printf '%s' "$other" | tr '\n' ' ') ;; esac
        [ "$other" != "$file" ] || continue
        if ! [ -e "$other" ] && ! [ -L "$other" ]; then
            hidden_from_root "$other" || continue
            put read_refused "$(hidden_text "$other")"
            continue
        fi
        put other_path "$other"
        read_as_account other_content "$other" "$p_uid" "$p_gid"
    done
}
# probe_paths HOME FILE: lstat of every path from home down to the file
# (never following a link; lines below a link or a non-folder are not
# sent: they describe someone else's files), then the file's bytes.
probe_paths() {
    h=${1%/} ph=$1
    root_keys=-
    case $2 in
        "$h"/*)
            rest=${2#"$h"/}
            d=$h
            set -- "$1"
            while :; do
                case $rest in */*) ;; *) break ;; esac
                d=$d/${rest%%/*}
                rest=${rest#*/}
                set -- "$@" "$d"
            done ;;
        *)
            # Outside home (AuthorizedKeysFile /etc/ssh/authorized_keys/%u):
            # root's file, written by root only in a folder that is safe for
            # root from the nearest existing one up (root_keys safe); then
            # a file the account cannot read is also read as root.
            k=$dir
            while [ ! -e "$k" ] && [ ! -L "$k" ] && [ -n "$k" ]; do k=${k%/*}; done
            root_keys=$(root_folder_problem "${k:-/}")
            put root_keys "${root_keys:-safe}"
            set -- "$1" "$dir" ;;
    esac
    set -- "$@" "$file"
    stats=$(stat -c '%F|%a|%u|%g|%s|%h|%d:%i|%n' -- "$@" 2>/dev/null)
    # Root reads only when no path on the way is a link or not a folder.
    linked=no f_kind='' f_uid='' f_links='' f_size='' f_id='' d_id='' gw_paths=''

    while IFS='|' read -r kind mode uid gid size links id path; do
        [ -n "$kind" ] || continue
        [ "$linked" = yes ] || printf 'stat %s|%s|%s|%s|%s|%s|%s\n' "$kind" "$mode" "$uid" "$gid" "$size" "$links" "$path"
        if [ "$linked" = no ] && group_writable "$mode"; then gw_paths="$gw_paths $gid:$uid"; fi
        if [ "$path" = "$file" ]; then
            f_kind=$kind f_uid=$uid f_links=$links f_size=$size f_id=$id
        else
            [ "$path" != "$dir" ] || d_id=$id
            # A home that is a link says nothing about a root-owned layout's folder.
            [ "$kind" = directory ] || { [ "$root_keys" != - ] && [ "$path" = "$ph" ]; } || linked=yes
        fi
    done <<EOF
$stats
EOF
    for gw in $gw_paths; do group_sole "${gw%:*}" "${gw#*:}"; done
    if [ -z "$f_kind" ] && [ "$linked" = no ] && hidden_from_root "$file"; then
        put read_refused "$(hidden_text "$file")"
        return 0
    fi
    case $f_kind in
        'regular file' | 'regular empty file')
            if [ "$f_size" -gt "$read_limit" ]; then put too_large "$f_size"; return 0; fi ;;
        'symbolic link') ;;
        *) return 0 ;;
    esac
    read_as_account content "$file" "$p_uid" "$p_gid"
    [ "$rc" != 0 ] || return 0
    # In a folder safe for root nobody else can add a hard link, so
    # protected_hardlinks does not matter there.
    if [ "$linked" = no ] && [ "$f_uid" = 0 ] && [ "$f_links" = 1 ] && [ -n "$d_id" ] &&
        { [ "$protected_hardlinks" = 1 ] || [ -z "$root_keys" ]; }; then
        read_as_root content "$dir" "$d_id" "$f_id" "$file" || put read_refused "the root-owned file changed while it was read"
    fi
}
