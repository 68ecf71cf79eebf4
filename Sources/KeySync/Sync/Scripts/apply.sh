# shellcheck shell=sh
# shellcheck disable=SC2154 # read_limit comes from ApplyScript.render
# apply.sh: the apply script's functions, after lookup.sh and apply-result.sh
# (ApplyScript.prelude). ApplyScript.render puts `nonce=...` before them and,
# after them, per account in this order: `run_create NAME CMD...`,
# `unlock_account NAME`, `fix_home NAME`, `restrict_home NAME HOME`, then
# `write_file NAME DIR FILE EXPECTED-HASH NEW-HASH CONTENT [MAKE-FOLDER]` or
# `result NAME done`; then the end line. The safety rules are described on
# ApplyScript (and DESIGN.md, "Writing on a host").
set -u
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
umask 077
exec 4>&1
printf '%s\n' 'KEYSYNC-APPLY 2'
failed_accounts=' '
# as_user UID GID CMD...: as the account, never as root; no stdin, and
# never the reply (callers send its output to /dev/null or capture it).
as_user() {
    u=$1; g=$2; shift 2
    if command -v setpriv >/dev/null 2>&1; then
        setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@" </dev/null 4>&-
    else
        echo "setpriv (util-linux) is required to write as the account" >&2
        return 1
    fi
}
# file_hash PATH: the compare-and-swap token (`ApplyScript`). At most
# read_limit + 1 bytes are read (the probe read no more; a sparse 16 TB file
# an account swaps in must not keep root reading), and a read that fails
# hashes unlike any content (`unreadable` is hashed after what was read): a
# failure is a conflict, never the hash of an empty file. A path root
# cannot see into (hidden_from_root) is `hidden`, never `absent`.
file_hash() {
    if [ -L "$1" ]; then echo symlink
    elif [ -f "$1" ]; then
        h=$( { dd if="$1" iflag=nofollow,nonblock,count_bytes count="$((read_limit + 1))" bs=65536 status=none 2>/dev/null </dev/null ||
            echo unreadable; } | sha256sum)
        echo "${h%% *}"
    elif [ -e "$1" ]; then echo other
    elif hidden_from_root "$1"; then echo hidden
    else echo absent
    fi
}
# content_bytes WORD: the bytes of a file to write, as ApplyScript.contentWord
# sent them: after a `|`, the text itself (plain ASCII lines: no process);
# otherwise base64.
content_bytes() {
    case $1 in
        '|'*) printf '%s' "${1#?}" ;;
        *) printf '%s' "$1" | base64 -d ;;
    esac
}
oneline() { printf '%s' "$1" | tr '\n\r' '  ' | cut -c1-"$2"; } # text width: an error on one line
lookup_account() { # name: sets uid gid home from passwd, fails if missing
    lookup passwd "$1"
    [ -n "$found" ] || return 1
    passwd_fields "$found"
    # shellcheck disable=SC2154 # pf_* come from passwd_fields in lookup.sh
    uid=$pf_uid gid=$pf_gid home=$pf_home
}
fail_account() { # name kind reason: reports and skips the account's later steps
    result "$1" "$2" "$3"; failed_accounts="$failed_accounts$1 "
}
run_create() { # name cmd...
    name=$1; shift
    case "$failed_accounts" in *" $name "*) return 0 ;; esac
    if ! out=$("$@" 2>&1 </dev/null 4>&-); then
        fail_account "$name" error "$1 failed: $(oneline "$out" 300)"
    fi
}
unlock_account() { # name: '!'... followed by nothing (useradd's lock) becomes '*'; a hash or '*' behind the '!' (usermod -L) is never replaced
    name=$1
    case "$failed_accounts" in *" $name "*) return 0 ;; esac
    lookup shadow "$name"
    [ -n "$found" ] || { fail_account "$name" error "no shadow entry"; return 0; }
    IFS=: read -r _ pw _ <<EOF
$found
EOF
    case "$pw" in '!'*) ;; *) fail_account "$name" conflict "the shadow password field is no longer locked; left alone"; return 0 ;; esac
    rest=$pw
    while [ "${rest#!}" != "$rest" ]; do rest=${rest#!}; done
    case "$rest" in '') ;; *) fail_account "$name" conflict "something sits behind the '!' (a password hash, or usermod -L's lock of '*'); left alone"; return 0 ;; esac
    err=$(usermod -p '*' -- "$name" 2>&1 </dev/null 4>&-) || fail_account "$name" error "usermod -p '*' failed: $(oneline "$err" 200)"
}
fix_home() { # name: `push --fix-home`, chmod go-w of the account's home as restrict_home does it
    case "$failed_accounts" in *" $1 "*) return 0 ;; esac
    lookup_account "$1" || { fail_account "$1" error "account missing"; return 0; }
    restrict_home "$1" "$home"
}
restrict_home() { # name home: chmod go-w, never chown; as the account when it owns home, as root when root does
    name=$1; want=$2
    case "$failed_accounts" in *" $name "*) return 0 ;; esac
    lookup_account "$name" || { fail_account "$name" error "account missing"; return 0; }
    if [ "$home" != "$want" ]; then fail_account "$name" conflict "home is now $home, not $want"; return 0; fi
    if [ -L "$home" ] || [ ! -d "$home" ]; then fail_account "$name" error "home $home is missing or a symlink"; return 0; fi
    owner=$(stat -c %u -- "$home")
    if [ "$owner" = "$uid" ]; then
        # A command as the account: see write_file's @as_account.
        printf '@as_account %s %s\n' "$nonce" "$name"
        err=$(as_user "$uid" "$gid" chmod go-w -- "$home" 2>&1) ||
            { fail_account "$name" error "cannot chmod $home: $(oneline "$err" 200)"; return 0; }
    elif [ "$owner" = 0 ]; then
        # chmod as root goes by path and follows a symlink swapped in after
        # the check above: only safe when nobody but root can rename anything
        # on the way. Every folder above home, up to /, must be root's and
        # not writable by group or others unless sticky (then only root
        # renames its root-owned entries): a user-writable /srv could swap
        # /srv/apps for one whose app1 is a link to /tmp.
        case $home in /*) ;; *) fail_account "$name" conflict "home $home is not an absolute path; left alone"; return 0 ;; esac
        d=$home
        while [ "$d" != / ] && [ "${d%/}" != "$d" ]; do d=${d%/}; done
        d=${d%/*}
        problem=$(root_folder_problem "${d:-/}" sticky)
        if [ -n "$problem" ]; then
            fail_account "$name" conflict "$problem, above the root-owned home $home; left alone"; return 0
        fi
        err=$(chmod go-w -- "$home" 2>&1) || { fail_account "$name" error "cannot chmod $home: $(oneline "$err" 200)"; return 0; }
    else
        fail_account "$name" conflict "home $home is owned by uid $owner, neither $name nor root; keysync never chowns it"
    fi
}
# key_folders HOME DIR: $folders := every folder from HOME (exclusive)
# down to DIR, one per line; empty when DIR is not under HOME. (A variable,
# not output: no `$( )` fork.)
key_folders() {
    folders=
    h=${1%/}
    case $2 in "$h"/*) ;; *) return 0 ;; esac
    rest=${2#"$h"/}
    d=$h
    while [ -n "$rest" ]; do
        d=$d/${rest%%/*}
        case $rest in */*) rest=${rest#*/} ;; *) rest= ;; esac
        # shellcheck disable=SC2154 # nl comes from lookup.sh
        folders=$folders$d$nl
    done
}
write_file() { # name dir file expected-hash new-hash content-word [make-folder]
    name=$1; dir=$2; file=$3; expected=$4; new_hash=$5; content=$6
    case "$failed_accounts" in *" $name "*) return 0 ;; esac
    lookup_account "$name" || { result "$name" error "account missing"; return 0; }
    key_folders "$home" "$dir"
    if [ -z "$folders" ]; then write_root_keys "$@"; return 0; fi
    if [ -L "$home" ] || [ ! -d "$home" ]; then result "$name" error "home $home is missing or a symlink"; return 0; fi
    # From here on commands run as the account, which can stop them: a
    # reply that ends after this line names the account that held it
    # (ApplyScript.stalledAccount).
    printf '@as_account %s %s\n' "$nonce" "$name"
    # Each folder on the way: never a link; a missing one is made by the
    # account (mode 700: umask 077 takes nothing from it). A missing key
    # folder itself is made by the account's shell that writes the file
    # (below): a setpriv and a mkdir less on every fresh account, and root
    # does nothing in it.
    made=
    while IFS= read -r d; do
        [ -n "$d" ] || continue
        if [ -L "$d" ]; then result "$name" conflict "$d is a symlink"; return 0; fi
        if [ ! -e "$d" ] && hidden_from_root "$d"; then result "$name" conflict "$(hidden_text "$d")"; return 0; fi
        if [ "$d" = "$dir" ] && [ ! -e "$d" ]; then made=yes; break; fi
        if [ ! -e "$d" ]; then
            err=$(as_user "$uid" "$gid" mkdir -m 700 -- "$d" 2>&1 >/dev/null) ||
                { result "$name" error "cannot create $d as $name: $(oneline "$err" 200)"; return 0; }
        fi
        if [ -L "$d" ] || [ ! -d "$d" ]; then result "$name" conflict "$d is not a directory"; return 0; fi
    done <<EOF
$folders
EOF
    if [ -n "$made" ]; then
        # The account makes the key folder, 700, empty, right before it
        # writes: its owner, mode, leftovers and keys file are known without
        # a `stat`, a `chmod` and a hash (three processes and a fork on every
        # fresh account). If a name is there by then, mkdir fails and
        # nothing is written.
        current=absent
    else
        # The key folder takes chmod from the account; one the account does not own is left alone.
        owner=$(stat -c %u -- "$dir" 2>/dev/null) || owner=
        if [ "$owner" != "$uid" ]; then
            result "$name" conflict "$dir is owned by uid $owner, not $name; keysync never chowns it"; return 0
        fi
        err=$(as_user "$uid" "$gid" chmod 700 -- "$dir" 2>&1 >/dev/null) ||
            { result "$name" error "cannot chmod $dir: $(oneline "$err" 200)"; return 0; }
        # Temp files a killed run left behind (the glob is a builtin; find runs only if there are any).
        for stale in "$dir"/.keysync-*; do
            [ -e "$stale" ] || [ -L "$stale" ] || break
            as_user "$uid" "$gid" find "$dir" -maxdepth 1 -name '.keysync-*' -type f -delete >/dev/null 2>&1 || true
            break
        done
        current=$(file_hash "$file")
    fi
    if [ "$current" = hidden ]; then
        result "$name" conflict "$(hidden_text "$file")"; return 0
    elif [ "$current" != "$expected" ]; then
        result "$name" conflict "$file changed since it was read"; return 0
    fi
    # As the account: the key folder when it is missing, then dd creates the
    # temp file exclusively (0600 under umask 077) and fsyncs it. The rename
    # happens only for the complete content: if the script is killed
    # mid-write, the pipe ends early and the hash cannot match.
    # shellcheck disable=SC2016 # $1..$4 and $$ belong to the inner shell
    if ! err=$(content_bytes "$content" | setpriv --reuid="$uid" --regid="$gid" --clear-groups -- sh -c '
        umask 077
        if [ -n "$4" ] && ! mkdir -m 700 -- "$1"; then echo "cannot create $1 as the account" >&2; exit 1; fi
        t="$1/.keysync-$$"
        # chmod: a default ACL on the folder overrides the umask (0660 and a
        # rewrite on every push); 600 also masks what the ACL grants.
        if dd of="$t" conv=excl,fsync bs=65536 status=none && h=$(sha256sum < "$t") && [ "${h%% *}" = "$3" ] &&
            chmod 600 "$t" && mv -fT "$t" "$2"; then
            sync "$1" 2>/dev/null || true
            exit 0
        fi
        rm -f "$t"
        exit 1' sh "$dir" "$file" "$new_hash" "$made" 2>&1 4>&-); then
        result "$name" error "write failed, old file kept: $(oneline "$err" 300)"; return 0
    fi
    # The temp file had exactly these bytes before the atomic rename.
    result "$name" ok "$new_hash"
}
# write_root_keys NAME DIR FILE EXPECTED-HASH NEW-HASH CONTENT [MAKE-FOLDER]:
# a keys file outside the account's home (AuthorizedKeysFile
# /etc/ssh/authorized_keys/%u, issue 19) is root's: written by root as
# root:root 0644, only in a folder that root_folder_problem finds safe (so
# the account can neither race nor redirect the write). With MAKE-FOLDER
# `yes` (the folder is the one sshd_config names, not one made from %u or
# %h) a missing DIR is made 0755 in a safe folder.
write_root_keys() {
    name=$1; dir=$2; file=$3
    # A plain absolute path only: `..` after a folder the account owns (its
    # home, a link) would resolve through it.
    case $file in "$dir"/*/* | "$dir"/ | "$dir"/. | "$dir"/..) result "$name" error "$file is not a file in $dir"; return 0 ;; "$dir"/*) ;;
        *) result "$name" error "$file is not in $dir"; return 0 ;; esac
    case $dir/ in /*//* | /*/./* | /*/../* | [!/]*) result "$name" error "$dir is not a plain absolute path"; return 0 ;; esac
    if [ "${7:-no}" = yes ] && [ ! -e "$dir" ] && [ ! -L "$dir" ]; then
        problem=$(root_folder_problem "${dir%/*}")
        if [ -n "$problem" ]; then result "$name" conflict "$problem; $dir not created"; return 0; fi
        err=$(mkdir -m 755 -- "$dir" 2>&1) || { result "$name" error "cannot create $dir: $(oneline "$err" 200)"; return 0; }
    fi
    root_replace "$name" "$file" "$4" "$5" "$6"
}
# root_replace KEY PATH EXPECTED-HASH NEW-HASH CONTENT-WORD: root writes PATH
# (root:root 0644) when its folder is safe for root (root_folder_problem)
# and PATH still has EXPECTED-HASH (`absent` for a new file). The temp file
# is made exclusively in the same folder (entered with cd -P and checked by
# device:inode, so a folder swapped in later is not written into),
# fsynced, checked against NEW-HASH and renamed over PATH; a crash leaves
# the old or the new bytes. Results are reported under KEY.
root_replace() {
    key=$1; path=$2; expected=$3; new_hash=$4; content=$5
    dir=${path%/*}
    [ -n "$dir" ] || dir=/
    problem=$(root_folder_problem "$dir")
    if [ -n "$problem" ]; then result "$key" conflict "$problem; left alone"; return 0; fi
    id=$(stat -c %d:%i -- "$dir" 2>/dev/null) || id=
    current=$(file_hash "$path")
    if [ "$current" = symlink ]; then result "$key" conflict "$path is a symlink; left alone"; return 0; fi
    if [ "$current" != "$expected" ]; then result "$key" conflict "$path changed since it was read"; return 0; fi
    # shellcheck disable=SC2016 # $1..$4 and $$ belong to the inner shell
    if ! err=$(content_bytes "$content" | sh -c '
        cd -P -- "$1" 2>/dev/null || exit 1
        [ "$(stat -c %d:%i . 2>/dev/null)" = "$2" ] || { echo "the folder changed during the write" >&2; exit 1; }
        umask 022
        t=".keysync-$$"
        rm -f -- "$t"
        if dd of="$t" conv=excl,fsync bs=65536 status=none && chown 0:0 -- "$t" && chmod 644 -- "$t" &&
            h=$(sha256sum < "$t") && [ "${h%% *}" = "$4" ] && mv -fT -- "$t" "$3"; then
            sync . 2>/dev/null || true
            exit 0
        fi
        rm -f -- "$t"
        exit 1' sh "$dir" "$id" "${path##*/}" "$new_hash" 2>&1 4>&-); then
        result "$key" error "write failed, old file kept: $(oneline "$err" 300)"; return 0
    fi
    result "$key" ok "$new_hash"
}
