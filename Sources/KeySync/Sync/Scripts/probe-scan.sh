# shellcheck shell=sh
# shellcheck disable=SC2154 # nonce, nl, client_addr, sshd_bin and sshd_akf come from ProbeScript.renderScan, lookup.sh and probe.sh (the rendered script is checked whole)
# shellcheck disable=SC2034 # dir is read by probe_paths in probe.sh
# probe-scan.sh: `keysync offboard`'s scan of every passwd account, after
# lookup.sh and probe.sh (ProbeScript.renderScan, which then calls
# scan_accounts and ends the reply). Sections are made by probe.sh's
# probe_paths, so they read exactly like the probe's.
# scan_entry PASSWD-LINE: a section per existing AuthorizedKeysFile file of one
# account; keys_file_index is the file's place in AuthorizedKeysFile (1: the
# file push manages).
scan_entry() {
    pw=$1
    name=${pw%%:*}
    passwd_fields "$pw"
    p_uid=$pf_uid p_gid=$pf_gid home=$pf_home
    [ -n "$name" ] && [ -n "$home" ] || return 0
    case $p_uid$p_gid in '' | *[!0-9]*) return 0 ;; esac
    if [ -n "$sshd_t" ]; then
        scan_akf=$("$sshd_bin" -T -C "user=$name,host=$client_addr,addr=$client_addr" 2>/dev/null </dev/null |
            while read -r key value; do [ "$key" = authorizedkeysfile ] && { printf '%s\n' "$value"; break; }; done)
        if [ -z "$scan_akf" ]; then
            printf '@account %s %s\n' "$nonce" "$name"
            put sshd_error "sshd -T failed for $name (is sshd installed and its config valid?)"
            return 0
        fi
    else
        scan_akf=$sshd_akf
    fi
    set -f
    # shellcheck disable=SC2086 # split on blanks like sshd does (globbing is off)
    set -- $scan_akf
    set +f
    akf_n=0
    for akf in "$@"; do
        akf_n=$((akf_n + 1))
        case $akf in
            none) continue ;;
            *%*) akf_expand "$akf" "$home" "$name"; file=$akf_path ;;
            /*) file=$akf ;;
            *) file=${home%/}/$akf ;;
        esac
        # A file root cannot see into is listed: probe_paths reports it as
        # unreadable, so offboard never says none remains there.
        [ -e "$file" ] || [ -L "$file" ] || hidden_from_root "$file" || continue
        case $file in *"$nl"*) file=$(printf '%s' "$file" | tr '\n' ' ') ;; esac
        dir=${file%/*}
        printf '@account %s %s\n' "$nonce" "$name"
        put passwd "$pw"
        put path "$file"
        put keys_file_index "$akf_n"
        probe_paths "$home" "$file"
    done
}
scan_accounts() {
    if [ -n "$nss_files" ] && [ -r /etc/passwd ]; then
        while IFS= read -r scan_line || [ -n "$scan_line" ]; do
            scan_entry "$scan_line"
        done < /etc/passwd
    else
        # A line break in a directory service's GECOS field splits an entry
        # and could forge one (`evil:x:0:0::/home/attacker:/bin/sh`): each
        # name is looked up again on its own (lookup gives one line) and
        # scanned once, with that entry.
        scan_list=$(getent passwd 2>/dev/null </dev/null) || scan_list=
        scan_seen=' '
        while IFS= read -r scan_line; do
            scan_name=${scan_line%%:*}
            case $scan_name in '' | *' '*) continue ;; esac
            case $scan_seen in *" $scan_name "*) continue ;; esac
            lookup passwd "$scan_name"
            [ "${found%%:*}" = "$scan_name" ] || continue
            scan_seen="$scan_seen$scan_name "
            scan_entry "$found"
        done <<EOF
$scan_list
EOF
    fi
}
