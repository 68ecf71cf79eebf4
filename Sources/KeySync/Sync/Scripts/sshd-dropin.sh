# shellcheck shell=sh
# shellcheck disable=SC2154 # nonce and read_limit come from SSHDDropInScript.render; file_hash, oneline, result from apply.sh and apply-result.sh; write_root_file from root-files.sh (the rendered script is checked whole)
# sshd-dropin.sh: manage_sshd (issue 19). keysync's drop-in
# /etc/ssh/sshd_config.d/50-keysync.conf is written like the other root
# files (write_root_file: root:root 0644, temp + fsync + rename,
# compare-and-swap, never through a link), then checked and sshd reloaded:
#   1. `sshd -t` must accept the whole configuration with it (a reload of a
#      configuration sshd cannot read stops sshd: it re-executes and exits);
#   2. `sshd -T` must report our values (sshd keeps the first value of a
#      keyword: one set earlier in sshd_config or an earlier drop-in wins);
#   3. reload: `systemctl reload` when systemd runs ssh.service or
#      sshd.service, else SIGHUP to the pid in the PidFile `sshd -T` names
#      (a root-owned regular file whose pid is a root sshd); then wait
#      until sshd rewrites that PidFile (it does once it listens again).
# A failed step puts the previous drop-in back (or removes ours) and says
# so. SSHDDropInScript.render calls `install_dropin` or `rollback_dropin`.
# Reply lines: write_root_file's `result`, and `sshd NONCE STEP STATUS TEXT`.

sshd_bin=/usr/sbin/sshd
[ -x "$sshd_bin" ] || sshd_bin=$(command -v sshd 2>/dev/null || echo sshd)

# sshd_step STEP STATUS [TEXT]: one reply line, TEXT on one line.
sshd_step() { printf 'sshd %s %s %s %s\n' "$nonce" "$1" "$2" "$(oneline "${3:-}" 600)"; }

# restore_dropin PATH WRITTEN-HASH OLD-HASH OLD-BASE64: puts the previous
# drop-in back (OLD-HASH `absent`: removes ours), only while the file still
# holds what keysync wrote. Reports `sshd restore ok|failed`.
restore_dropin() {
    if [ "$3" = absent ]; then
        if [ "$(file_hash "$1")" = "$2" ] && rm -f -- "$1"; then
            sshd_step restore ok "removed $1"
        else
            sshd_step restore failed "$1 changed since keysync wrote it; left as it is"
        fi
        return 0
    fi
    out=$(write_root_file "$1" "$2" "$3" "$4")
    case $out in
        "result $nonce $1 ok "*) sshd_step restore ok "put the previous $1 back" ;;
        *) sshd_step restore failed "$(printf '%s' "$out" | cut -d' ' -f4-)" ;;
    esac
}

# sshd_reload EFFECTIVE: reloads sshd (EFFECTIVE is `sshd -T` output, for
# the PidFile). Sets `reloaded` (how) or `reload_error`; returns 1 on error.
sshd_reload() {
    reloaded='' reload_error=''
    pidfile=$(printf '%s\n' "$1" | awk '$1 == "pidfile" { print $2; exit }')
    before=''
    case $pidfile in '' | none) ;; *) before=$(stat -c %y -- "$pidfile" 2>/dev/null) || before='' ;; esac
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        for unit in ssh.service sshd.service; do
            systemctl is-active --quiet "$unit" 2>/dev/null || continue
            if err=$(systemctl reload "$unit" 2>&1); then
                reloaded="systemctl reload $unit"
                break
            fi
            reload_error="systemctl reload $unit failed: $err"
            return 1
        done
    fi
    if [ -z "$reloaded" ]; then
        case $pidfile in
            '' | none)
                reload_error="systemd does not run sshd and sshd -T names no PidFile (PidFile ${pidfile:-not reported}); keysync cannot tell which process to reload"
                return 1 ;;
        esac
        if [ -L "$pidfile" ] || [ ! -f "$pidfile" ]; then reload_error="$pidfile (sshd's PidFile) is missing or not a regular file"; return 1; fi
        if [ "$(stat -c %u -- "$pidfile" 2>/dev/null)" != 0 ]; then reload_error="$pidfile (sshd's PidFile) is not owned by root"; return 1; fi
        pid=''
        read -r pid 2>/dev/null < "$pidfile" || :
        case $pid in '' | *[!0-9]*) reload_error="$pidfile holds no pid"; return 1 ;; esac
        # A root process whose program is named sshd (a binary upgraded
        # since it started shows as `… (deleted)`): not a stale pid reused.
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=''
        exe=${exe% (deleted)}
        if [ "${exe##*/}" != sshd ] || [ "$(stat -c %u "/proc/$pid" 2>/dev/null)" != 0 ]; then
            reload_error="pid $pid in $pidfile is not a root sshd (${exe:-no such process})"
            return 1
        fi
        if ! err=$(kill -HUP "$pid" 2>&1); then reload_error="kill -HUP $pid failed: $err"; return 1; fi
        reloaded="SIGHUP to sshd pid $pid ($pidfile)"
    fi
    # sshd writes its PidFile again once the new sshd listens: wait for it.
    if [ -n "$before" ]; then
        n=0
        while [ "$n" -lt 100 ]; do
            now=$(stat -c %y -- "$pidfile" 2>/dev/null) || now=''
            if [ -n "$now" ] && [ "$now" != "$before" ]; then return 0; fi
            sleep 0.1
            n=$((n + 1))
        done
        reloaded="$reloaded; $pidfile was not rewritten within 10 s"
    fi
    return 0
}

# install_dropin PATH EXPECTED-HASH NEW-HASH BASE64 OLD-HASH OLD-BASE64
# SETTING...: writes the drop-in, then steps 1-3 above; each SETTING is
# `keyword value` as `sshd -T` prints it.
install_dropin() {
    path=$1 written=$3 old_hash=$5 old_content=$6
    out=$(write_root_file "$1" "$2" "$3" "$4")
    printf '%s\n' "$out"
    case $out in "result $nonce $1 ok "*) ;; *) sshd_step write failed; return 0 ;; esac
    shift 6
    if ! err=$("$sshd_bin" -t 2>&1 </dev/null); then
        restore_dropin "$path" "$written" "$old_hash" "$old_content"
        sshd_step test failed "${err:-sshd -t failed}"
        return 0
    fi
    if ! effective=$("$sshd_bin" -T 2>&1 </dev/null); then
        restore_dropin "$path" "$written" "$old_hash" "$old_content"
        sshd_step effective failed "sshd -T failed: $effective"
        return 0
    fi
    wrong=''
    for setting in "$@"; do
        printf '%s\n' "$effective" | grep -Fxq -- "$setting" && continue
        seen=$(printf '%s\n' "$effective" | awk -v k="${setting%% *}" '$1 == k { $1 = ""; print substr($0, 2); exit }')
        wrong="$wrong${wrong:+, }${setting%% *} is ${seen:-not set}"
    done
    if [ -n "$wrong" ]; then
        restore_dropin "$path" "$written" "$old_hash" "$old_content"
        sshd_step effective failed "$wrong"
        return 0
    fi
    if ! sshd_reload "$effective"; then
        restore_dropin "$path" "$written" "$old_hash" "$old_content"
        # The reload may have happened in part (systemctl): reload what is back.
        sshd_reload "$effective" || :
        sshd_step reload failed "$reload_error"
        return 0
    fi
    sshd_step reload ok "$reloaded"
}

# rollback_dropin PATH WRITTEN-HASH OLD-HASH OLD-BASE64: after a login
# through the reloaded sshd failed: the previous drop-in back, checked with
# `sshd -t`, and sshd reloaded again.
rollback_dropin() {
    restore_dropin "$1" "$2" "$3" "$4"
    if ! err=$("$sshd_bin" -t 2>&1 </dev/null); then
        sshd_step test failed "${err:-sshd -t failed}; sshd not reloaded"
        return 0
    fi
    effective=$("$sshd_bin" -T 2>/dev/null </dev/null) || effective=''
    if sshd_reload "$effective"; then sshd_step reload ok "$reloaded"; else sshd_step reload failed "$reload_error"; fi
}
