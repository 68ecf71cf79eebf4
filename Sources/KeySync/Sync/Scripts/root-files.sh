# shellcheck shell=sh
# shellcheck disable=SC2154 # nonce and read_limit come from the script that includes this (probe or apply)
# root-files.sh: files keysync owns under /etc/ssh/keysync (issue 19): the
# trusted CA keys, a principals file per account, the KRL. Root writes them,
# root:root 0644, so root must never write through a path a user could
# change: every folder from /etc/ssh down must be a real folder (no link)
# owned by root and writable by nobody else; the file itself is never
# followed (a link there is reported, not touched). ProbeScript.render adds
# `probe_root_file PATH` per file; ApplyScript.render adds
# `write_root_file PATH EXPECTED-HASH NEW-HASH BASE64` per file to write.

# root_folder_problem DIR: empty when DIR (and each folder above it up to
# /etc/ssh) is a folder, not a link, owned by root, not group/other
# writable; else what is wrong, on one line.
root_folder_problem() {
    d=$1
    while :; do
        if [ -L "$d" ]; then printf '%s is a symlink' "$d"; return 0; fi
        if [ ! -d "$d" ]; then printf '%s is not a directory' "$d"; return 0; fi
        st=$(stat -c '%u %a' -- "$d" 2>/dev/null) || { printf 'cannot stat %s' "$d"; return 0; }
        case $st in "0 "*) ;; *) printf '%s is owned by uid %s, not root' "$d" "${st%% *}"; return 0 ;; esac
        if [ $((0${st#0 } & 022)) -ne 0 ]; then printf '%s is writable by group or others' "$d"; return 0; fi
        case $d in /etc/ssh | /etc | /) return 0 ;; esac
        d=${d%/*}
        [ -n "$d" ] || d=/
    done
}

# probe_root_file PATH: `rootfile NONCE PATH STAT` with STAT as the
# account files' `%F|%a|%u|%g|%s`, or `absent`; `rootfile_unsafe NONCE
# PATH REASON` when a folder above it is unsafe (then nothing is read); a
# regular file's bytes (base64) between `rootfile_content-begin NONCE
# base64` and `rootfile_content-end NONCE STATUS`, at most read_limit + 1.
probe_root_file() {
    # The nearest folder that exists (a missing one is made by write_root_file).
    d=${1%/*}
    while [ ! -e "$d" ] && [ ! -L "$d" ] && [ -n "$d" ]; do d=${d%/*}; done
    problem=$(root_folder_problem "${d:-/}")
    if [ -n "$problem" ]; then
        printf 'rootfile_unsafe %s %s %s\n' "$nonce" "$1" "$problem"
        return 0
    fi
    st=$(stat -c '%F|%a|%u|%g|%s' -- "$1" 2>/dev/null) || st=absent
    printf 'rootfile %s %s %s\n' "$nonce" "$1" "$st"
    case $st in 'regular file|'* | 'regular empty file|'*) ;; *) return 0 ;; esac
    data=$(dd if="$1" iflag=nofollow,nonblock bs=65536 status=none 2>/dev/null </dev/null |
        head -c "$((read_limit + 1))" | base64 -w 0) && rc=0 || rc=1
    printf 'rootfile_content-begin %s base64\n%s\nrootfile_content-end %s %s\n' "$nonce" "$data" "$nonce" "$rc"
}

# write_root_file PATH EXPECTED-HASH NEW-HASH BASE64: replaces PATH when it
# still has EXPECTED-HASH (`absent` for a new file); missing folders below
# /etc/ssh are made 0755 by root. The temp file is made exclusively in the
# same folder (entered with cd -P and checked by device:inode, so a folder
# swapped in later is not written into), fsynced, checked against NEW-HASH
# and renamed over PATH; a crash leaves the old or the new bytes.
write_root_file() {
    path=$1; expected=$2; new_hash=$3; content=$4
    dir=${path%/*}
    for d in "${dir%/*}" "$dir"; do
        [ "$d" = /etc ] && continue
        problem=$(root_folder_problem "${d%/*}")
        if [ -n "$problem" ]; then result "$path" conflict "$problem; left alone"; return 0; fi
        if [ ! -e "$d" ] && [ ! -L "$d" ]; then
            err=$(mkdir -m 755 -- "$d" 2>&1) || { result "$path" error "cannot create $d: $(oneline "$err" 200)"; return 0; }
        fi
    done
    problem=$(root_folder_problem "$dir")
    if [ -n "$problem" ]; then result "$path" conflict "$problem; left alone"; return 0; fi
    id=$(stat -c %d:%i -- "$dir" 2>/dev/null) || id=
    current=$(file_hash "$path")
    if [ "$current" = symlink ]; then result "$path" conflict "$path is a symlink; left alone"; return 0; fi
    if [ "$current" != "$expected" ]; then result "$path" conflict "$path changed since it was read"; return 0; fi
    # shellcheck disable=SC2016 # $1..$3 and $$ belong to the inner shell
    if ! err=$(printf '%s' "$content" | base64 -d | sh -c '
        cd -P -- "$1" 2>/dev/null || exit 1
        [ "$(stat -c %d:%i . 2>/dev/null)" = "$2" ] || { echo "the folder changed during the write" >&2; exit 1; }
        umask 022
        t=".keysync-$$"
        rm -f -- "$t"
        if dd of="$t" conv=excl,fsync bs=65536 status=none && chmod 644 -- "$t" &&
            h=$(sha256sum < "$t") && [ "${h%% *}" = "$4" ] && mv -fT -- "$t" "$3"; then
            sync . 2>/dev/null || true
            exit 0
        fi
        rm -f -- "$t"
        exit 1' sh "$dir" "$id" "${path##*/}" "$new_hash" 2>&1 4>&-); then
        result "$path" error "write failed, old file kept: $(oneline "$err" 300)"; return 0
    fi
    result "$path" ok "$new_hash"
}
