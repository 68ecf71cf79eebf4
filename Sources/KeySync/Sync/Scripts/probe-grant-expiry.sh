# shellcheck shell=sh
# shellcheck disable=SC2154 # grant_ends comes from ProbeScript.render, sshd_bin from probe.sh (the rendered script is checked whole)
# probe-grant-expiry.sh: after probe.sh, only when a grant on the host ends
# (ProbeScript.grantExpiry); ProbeScript.render sets grant_ends to their Unix
# times. Replies `sshd_version V` and, for sshd 7.7 to 9.0 (which read
# expiry-time in local time), `utc_offset TIME +HHMM` per end.
sshd_v=$("$sshd_bin" -V 2>&1 </dev/null) || :
sshd_release=
while IFS= read -r v_line; do
    case $v_line in *OpenSSH_*) sshd_release=$v_line; break ;; esac
done <<EOF
$sshd_v
EOF
put sshd_version "${sshd_release:-unknown}"
case $sshd_release in
    *OpenSSH_7.[7-9]* | *OpenSSH_8.* | *OpenSSH_9.0*)
        for e in $grant_ends; do
            put utc_offset "$e $(date -d "@$e" +%z 2>/dev/null </dev/null)"
        done ;;
esac
