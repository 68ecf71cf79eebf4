extension ProbeScript {
    /// The read-only script `keysync offboard` runs on a host: every passwd
    /// account — root, the login user, role accounts and people's own
    /// accounts alike — and each of its AuthorizedKeysFile files that exists
    /// (sshd reads all of them: by default `.ssh/authorized_keys` *and*
    /// `.ssh/authorized_keys2`), one `@account NONCE NAME` section per file.
    ///
    /// A leaver's key pasted by hand into an account keysync does not manage
    /// is exactly what offboarding must find, so the scan is not limited to
    /// the inventory's accounts. Each section is what push's probe sends for
    /// an account (`passwd`, `path`, the `stat` lines from home down to the
    /// file, the bytes framed by the nonce), made by the same shell functions
    /// (`probe_paths`), with the same rules: the file is read *as the
    /// account* (`setpriv`), a root-owned file only in the seed-incident case,
    /// values printed with `printf '%s'`, everything framed by the nonce.
    ///
    /// Accounts come from /etc/passwd when nsswitch.conf names only files for
    /// passwd, else from `getent passwd`; AuthorizedKeysFile from
    /// sshd_config as push reads it, or from `sshd -T -C user=…` per account
    /// when the config has a `Match` block (every account is asked: an
    /// offboarding must not skip one for speed).
    public static func renderScan(nonce: String) -> String {
        "nonce=\(Shell.quote(nonce))\nread_limit=\(fileSizeLimit)\n" + Shell.lookupFunctions + prelude + scanFunctions
            + "scan_accounts\n" + endLine
    }

    /// The most a scan reply may be: as a probe of 16 accounts. Key files are
    /// a few kilobytes, so hundreds of accounts fit; a host that sends more
    /// (huge files, or a compromised host) fails with "reply too large"
    /// instead of costing the controller unbounded memory.
    public static let scanReplyLimit = replyLimit(accounts: 16, diagnostics: false)

    private static let scanFunctions = #"""
    # scan_entry PASSWD-LINE: a section per existing AuthorizedKeysFile file of one account.
    scan_entry() {
        pw=$1
        IFS=: read -r name _ p_uid p_gid _ home _ <<EOF
    $pw
    EOF
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
        for akf in "$@"; do
            case $akf in
                none) continue ;;
                *%*) file=$(expand_akf "$akf" "$home" "$name") ;;
                /*) file=$akf ;;
                *) file=${home%/}/$akf ;;
            esac
            [ -e "$file" ] || [ -L "$file" ] || continue
            case $file in *"$nl"*) file=$(printf '%s' "$file" | tr '\n' ' ') ;; esac
            dir=${file%/*}
            printf '@account %s %s\n' "$nonce" "$name"
            put passwd "$pw"
            put path "$file"
            probe_paths "$home" "$file"
        done
    }
    scan_accounts() {
        if [ -n "$nss_files" ] && [ -r /etc/passwd ]; then
            while IFS= read -r scan_line || [ -n "$scan_line" ]; do
                scan_entry "$scan_line"
            done < /etc/passwd
        else
            scan_list=$(getent passwd 2>/dev/null </dev/null) || scan_list=
            while IFS= read -r scan_line; do
                [ -z "$scan_line" ] || scan_entry "$scan_line"
            done <<EOF
    $scan_list
    EOF
        fi
    }

    """#
}
