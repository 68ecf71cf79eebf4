# shellcheck shell=sh
# lookup.sh: the functions the probe and the apply script share, rendered
# right after the values the Swift side fills in (Shell.lookupFunctions).
#
# lookup DB KEY sets $found to what `getent DB KEY` prints. When
# nsswitch.conf says passwd, group and shadow come from files only, it reads
# /etc/passwd, /etc/group or /etc/shadow with builtins (no fork, no exec:
# most of a host's cost per check is processes started); otherwise it asks
# getent. $found is always one line: a directory service can return a GECOS
# field with a line break in it, which must not become a line of the reply.
#
# lookup_load (the probe only) reads /etc/passwd, /etc/group, /etc/shadow and
# /etc/shells at once with one `awk` into $lookup_db, and lookup answers from
# it: dash's `read` takes one syscall per byte, ~0.5 µs a byte, so the three
# files cost more than the process on every host with more than a few
# accounts. When the probe scans sshd's log first, the scan's awk prints
# them too (probe-logins.sh, lookup_take) and that process is saved. Every
# run of lookup.sh (the apply's, which changes these files, included)
# starts without it.
#
# Defines: nl (one newline, for `case` patterns), nss_files, nss_systemd
# (passwd also from systemd's userdb: only an enumeration sees those), lookup,
# lookup_awk, lookup_can_load, lookup_take, lookup_load,
# lookup_listed_shell, passwd_fields, root_folder_problem, hidden_from_root,
# hidden_text.
nl='
'
nss_files=yes
nss_systemd=
[ -r /etc/nsswitch.conf ] || nss_files=
# shellcheck disable=SC2034 # nss_systemd is read by probe.sh (group_sole)
while read -r db sources; do
    case $db in
        passwd: | group: | shadow:)
            for s in $sources; do
                case $s in files) ;; systemd) [ "$db" != passwd: ] || nss_systemd=yes ;; *) nss_files= ;; esac
            done ;;
    esac
done 2>/dev/null < /etc/nsswitch.conf
lookup_db=
lookup_shells=
# lookup_awk: awk functions that print what lookup_load keeps, for the awk
# of lookup_load and the log scan's (probe-logins.sh), so both print the
# same: `lookup_db`, then the lines of passwd, group and shadow (and shells
# when lookup_print's argument is yes), each after a tag: p, g, s, S, then
# `lookup_ok` when every file was read to its end (else `lookup_bad`). The
# tag is the first byte of every line of a file, so no line of one can pass
# for one of another or for the lines around them.
lookup_awk='
    function lookup_file(f, tag,   l, r) {
        while ((r = (getline l < f)) > 0) print tag l
        close(f)
        return r == 0
    }
    function lookup_print(shells,   ok) {
        print "lookup_db"
        ok = lookup_file("/etc/passwd", "p") && lookup_file("/etc/group", "g") && lookup_file("/etc/shadow", "s")
        if (ok && shells == "yes") ok = lookup_file("/etc/shells", "S")
        print (ok ? "lookup_ok" : "lookup_bad")
    }'
# lookup_can_load: 0 when passwd, group and shadow come from files only and
# are readable (root), so lookup may answer from what awk read; sets
# lookup_shells (yes: /etc/shells is read too). Otherwise lookup reads as
# before.
lookup_can_load() {
    lookup_db='' lookup_shells=''
    [ -n "$nss_files" ] && [ -r /etc/passwd ] && [ -r /etc/group ] && [ -r /etc/shadow ] || return 1
    if [ -r /etc/shells ]; then lookup_shells=yes; fi
}
# lookup_take TEXT: $lookup_db := TEXT, lookup_print's output, when it
# read every file (its last line is lookup_ok); else lookup reads as before.
lookup_take() {
    case $1 in
        "lookup_db${nl}lookup_ok" | "lookup_db$nl"*"${nl}lookup_ok") lookup_db=$1 ;;
        *) lookup_db='' lookup_shells='' ;;
    esac
}
# lookup_load: $lookup_db := passwd, group, shadow and shells, read by one awk.
lookup_load() {
    lookup_can_load || return 0
    lookup_take "$(awk -v shells="$lookup_shells" "$lookup_awk"'
        BEGIN { lookup_print(shells) }' 2>/dev/null </dev/null)"
}
# lookup_lines TAG KEY BY_ID: $found := the first line of $lookup_db with
# TAG whose name is KEY (BY_ID yes: whose third field is KEY), tag removed.
# Word splitting on newlines with globbing off: no byte reads, and a `*`
# in a line is not a pattern.
lookup_lines() {
    case $- in *f*) ll_noglob=yes ;; *) ll_noglob= ;; esac
    ll_ifs=$IFS
    IFS=$nl
    set -f
    for line in $lookup_db; do
        case $line in "$1"*) ;; *) continue ;; esac
        if [ -z "$3" ]; then
            case $line in "$1$2":*) found=${line#?}; break ;; esac
        else
            rest=${line#*:}; rest=${rest#*:}
            [ "${rest%%:*}" = "$2" ] && { found=${line#?}; break; }
        fi
    done
    IFS=$ll_ifs
    [ -n "$ll_noglob" ] || set +f
}
# lookup_listed_shell SHELL: 0 when /etc/shells has the line SHELL, 1 when
# not, 2 when lookup_load did not read it (the caller reads the file).
lookup_listed_shell() {
    [ -n "$lookup_shells" ] || return 2
    case $nl$lookup_db$nl in *"${nl}S$1$nl"*) return 0 ;; esac
    return 1
}
lookup() { # DB KEY -> $found: the entry `getent DB KEY` prints (by name, or by id when KEY is a number)
    found=
    if [ -n "$lookup_db" ]; then
        case $1 in passwd) lt=p ;; group) lt=g ;; shadow) lt=s ;; *) lt= ;; esac
        case $2 in '' | *[!0-9]*) lid= ;; *) lid=yes ;; esac
        if [ -n "$lt" ]; then
            lookup_lines "$lt" "$2" "$lid"
            return 0
        fi
    fi
    if [ -z "$nss_files" ] || [ ! -r "/etc/$1" ]; then
        found=$(getent "$1" "$2" 2>/dev/null) || found=
        case $found in *"$nl"*) found=$(printf '%s' "$found" | tr '\n' ' ') ;; esac
        return 0
    fi
    case $2 in
        '' | *[!0-9]*)
            while IFS= read -r line; do
                case $line in "$2":*) found=$line; return 0 ;; esac
            done < "/etc/$1" ;;
        *)
            while IFS= read -r line; do
                rest=${line#*:}; rest=${rest#*:}
                [ "${rest%%:*}" = "$2" ] && { found=$line; return 0; }
            done < "/etc/$1" ;;
    esac
}
# passwd_fields ENTRY: sets pf_uid pf_gid pf_home pf_shell from a passwd
# entry. Uid and gid are taken from the left, shell and home from the right:
# getent prints a directory service's GECOS field raw, and a ':' in it must
# not shift the home keysync manages away from the one sshd uses.
# shellcheck disable=SC2034 # pf_* are read by probe.sh, probe-scan.sh and apply.sh
passwd_fields() {
    pf_rest=${1#*:}; pf_rest=${pf_rest#*:}
    pf_uid=${pf_rest%%:*}; pf_rest=${pf_rest#*:}
    pf_gid=${pf_rest%%:*}; pf_rest=${pf_rest#*:}
    pf_shell=${pf_rest##*:}; pf_rest=${pf_rest%:*}
    pf_home=${pf_rest##*:}
}

# hidden_from_root PATH: true when PATH is not there for root and that may
# be only because root cannot search a folder on the way: the nearest folder
# above it that exists cannot be entered (`DIR/.` does not stat). That is a
# home on root-squashed NFS (root is `nobody` there) or a FUSE mount without
# allow_root: sshd, opening the file as the account, may still read it. A
# probe that took such a file for absent, and an apply whose compare-and-swap
# did, would let the write replace every line keysync does not own. Builtins
# only: `[ -e ]` is stat, so a folder root can enter answers for its
# entries.
hidden_from_root() {
    hp=$1
    while :; do
        if [ -e "$hp" ] || [ -L "$hp" ]; then return 1; fi
        hp=${hp%/*}
        [ -n "$hp" ] || return 1
        if [ -d "$hp" ]; then
            if [ -e "$hp/." ]; then return 1; else return 0; fi
        fi
        # A name on the way that is not a folder: the path cannot exist.
        if [ -e "$hp" ] || [ -L "$hp" ]; then return 1; fi
    done
}

# hidden_text PATH: what the probe and the apply say of such a path.
hidden_text() {
    printf '%s' "root cannot tell whether $1 exists: a folder on the way cannot be searched by root (root-squashed NFS?); nothing read or written there"
}

# root_folder_problem DIR [sticky]: empty when DIR (and each folder above it
# up to /etc/ssh, or up to / for a folder elsewhere) is a folder, not a link,
# owned by root, not group/other writable; else what is wrong, on one line.
# Root writes only in such folders (root-files.sh, apply.sh's root-owned
# keys files): nobody but root can swap a name in them for a link. With
# `sticky`, a group/other writable folder with the sticky bit passes too:
# for a path root goes through, not writes in (apply.sh's restrict_home),
# since there only root renames root's entries.
root_folder_problem() {
    d=$1
    while :; do
        if [ -L "$d" ]; then printf '%s is a symlink' "$d"; return 0; fi
        if [ ! -d "$d" ]; then printf '%s is not a directory' "$d"; return 0; fi
        st=$(stat -c '%u %a' -- "$d" 2>/dev/null) || { printf 'cannot stat %s' "$d"; return 0; }
        case $st in "0 "*) ;; *) printf '%s is owned by uid %s, not root' "$d" "${st%% *}"; return 0 ;; esac
        if [ $((0${st#0 } & 022)) -ne 0 ] && { [ "${2:-}" != sticky ] || [ $((0${st#0 } & 01000)) -eq 0 ]; }; then
            printf '%s is writable by group or others' "$d"; return 0
        fi
        case $d in /etc/ssh | /etc | /) return 0 ;; esac
        d=${d%/*}
        [ -n "$d" ] || d=/
    done
}
