# shellcheck shell=sh
# shellcheck disable=SC2154 # nonce and read_limit come from the script that includes this (probe or apply)
# root-files.sh: files keysync owns under /etc/ssh/keysync (issue 19): the
# trusted CA keys, a principals file per account, the KRL. Root writes them,
# root:root 0644, so root must never write through a path a user could
# change: every folder from /etc/ssh down must be a real folder (no link)
# owned by root and writable by nobody else; the file itself is never
# followed (a link there is reported, not touched). ProbeScript.render adds
# `probe_root_file PATH` per file (and `sweep_root_files`); ApplyScript.render adds
# `write_root_file PATH EXPECTED-HASH NEW-HASH BASE64` per file to write.

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
    data=$(dd if="$1" iflag=nofollow,nonblock,count_bytes count="$((read_limit + 1))" bs=65536 status=none \
        2>/dev/null </dev/null | base64 -w 0) && rc=0 || rc=1
    printf 'rootfile_content-begin %s base64\n%s\nrootfile_content-end %s %s\n' "$nonce" "$data" "$nonce" "$rc"
}

# sweep_root_files FOLDER PLANNED...: probe_root_file for each file keysync
# may have left in FOLDER (/etc/ssh/keysync) that this run does not plan:
# the CA file and the KRL when the inventory trusts no CA any more, the
# principals file of an account no role names on the host now, all of them
# on a host being decommissioned. The plan empties them (RootFiles.Sweep).
# Builtins only while there is nothing: no process on a host without FOLDER.
sweep_root_files() {
    sweep_dir=$1
    shift
    [ -d "$sweep_dir" ] || return 0
    for swept in "$sweep_dir/trusted_user_ca_keys" "$sweep_dir/revoked_keys.krl" "$sweep_dir/principals"/*; do
        if [ ! -f "$swept" ] || [ -L "$swept" ]; then continue; fi
        case $swept in *"$nl"*) continue ;; esac
        sweep_planned=no
        for planned; do
            if [ "$planned" = "$swept" ]; then sweep_planned=yes; break; fi
        done
        [ "$sweep_planned" = yes ] || probe_root_file "$swept"
    done
}

# write_root_file PATH EXPECTED-HASH NEW-HASH BASE64: replaces PATH when it
# still has EXPECTED-HASH (`absent` for a new file); missing folders below
# /etc/ssh are made 0755 by root. The temp file is made exclusively in the
# same folder by root_replace (apply.sh).
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
    root_replace "$path" "$path" "$expected" "$new_hash" "$content"
}
