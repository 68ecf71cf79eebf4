# shellcheck shell=sh
# shellcheck disable=SC2154 # nonce, euid, nl, lookup_* and sshd_bin come from ProbeScript.render, lookup.sh and probe.sh; login_* from ProbeScript.Logins (the rendered script is checked whole)
# probe-logins.sh: last use of keys (issue 21), after probe.sh, only when
# push or check asks (ProbeScript.Logins). ProbeScript.Logins sets before it
# login_limit (bytes read per run: at most once, twice in the run that
# skips), login_skip_after (a file more than this many times login_limit
# behind is skipped to its end), login_discover (yes: find the
# source again), login_kind, login_path, login_pid (the source the database
# names: file, stderr or journal), login_ino and login_offset (where the
# last scan stopped in a file) or login_cursor (the journal's), then calls
# `login_scan`.
#
# Only `Accepted publickey` lines are parsed, on the host, by login_awk; what
# leaves the host is, per account and key, a count, the first and last time,
# the last address, the key type and fingerprint (`login` lines), and where
# the scan stopped. Nothing else of the log: no line is ever sent as it is.
#
# Cost: a check reads only the bytes added since the last scan, with one
# `dd` and one `awk` (builtins for the rest: the file's inode comes from
# /proc/self/fdinfo; its size is asked with `stat` only after a read that
# used up the limit). That awk also reads passwd, group, shadow and shells
# for the probe's lookups, which would otherwise cost an awk of their own.
# Finding the source (which sshd serves this login, its -E file or stderr,
# the journal or syslog) costs a few processes and runs only when the
# controller asks (no source known, or once a day).

# yes: the next login_parse also prints lookup_print's text (login_scan).
login_lookup=

# login_line WORD VALUE…: one reply line `login_WORD NONCE VALUE…`.
# login_line WORD VALUE...: one reply line. A value from a file name (a
# rotated log's, found by a glob) may hold a line break: it is flattened,
# or whoever can rename files in the log's folder could add reply lines.
login_line() {
    w=$1
    shift
    case $* in
        *"$nl"*) printf 'login_%s %s %s\n' "$w" "$nonce" "$(printf '%s' "$*" | tr '\n' ' ')" ;;
        *) printf 'login_%s %s %s\n' "$w" "$nonce" "$*" ;;
    esac
}

# login_ino FD: $login_i := the inode of the file open on FD (fdinfo, no
# process; `stat` on kernels before 5.14, whose fdinfo has no inode).
login_ino() {
    login_i=
    while read -r k v; do
        [ "$k" = ino: ] && { login_i=$v; break; }
    done 2>/dev/null < "/proc/$$/fdinfo/$1"
    [ -n "$login_i" ] || login_i=$(stat -L -c %i "/proc/$$/fd/$1" 2>/dev/null </dev/null)
}

# login_status PID: $login_ppid and $login_uid of a process (builtins).
login_status() {
    login_ppid='' login_uid=''
    while read -r k v _; do
        case $k in
            PPid:) login_ppid=$v ;;
            Uid:) login_uid=$v; break ;;
        esac
    done 2>/dev/null < "/proc/$1/status"
}

# login_safe PATH: a regular file that only its owner may write (mode &
# 022 clear), owned by root or a system account (rsyslog runs as `syslog`
# on Ubuntu; up to SYS_UID_MAX of /etc/login.defs, else UID_MIN - 1, else
# 999): lines in a file others can write could be forged by them, and a
# user who created an -E path first (in /var/tmp) would own the file sshd
# appends to.
# Its inode and size are kept (login_safe_path, _ino, _size): the first
# scan of the file it finds needs the size, and one `stat` fewer costs the
# host less.
login_safe_path='' login_safe_ino='' login_safe_size=''
login_sys_uid_max() { # the highest system uid, as useradd counts (login.defs)
    sm='' um=''
    while read -r k v _; do
        case $v in '' | *[!0-9]*) continue ;; esac
        case $k in SYS_UID_MAX) sm=$v ;; UID_MIN) um=$v ;; esac
    done 2>/dev/null < /etc/login.defs
    if [ -n "$sm" ]; then echo "$sm"; elif [ -n "$um" ] && [ "$um" -gt 0 ]; then echo $((um - 1)); else echo 999; fi
}
login_safe() {
    m=$(stat -L -c '%a %u %i %s' "$1" 2>/dev/null </dev/null) || return 1
    [ -f "$1" ] || return 1
    case ${m%% *} in *[2367]? | *[2367]) return 1 ;; esac
    m=${m#* }
    case ${m%% *} in 0) ;; *[!0-9]* | '') return 1 ;; *) [ "${m%% *}" -le "$(login_sys_uid_max)" ] || return 1 ;; esac
    login_safe_path=$1 login_safe_size=${m##* }
    m=${m#* }
    login_safe_ino=${m%% *}
}

# login_find: the source of this host's sshd logins, by doctor's rules
# (probe-diagnostics.sh): the sshd that serves this very connection (the
# topmost ancestor run by uid 0 from the host's sshd binary, in this mount
# namespace). Its -E file; else its stderr when it runs with -e and that
# is a file; else the journal (systemd); else /var/log/auth.log or
# /var/log/secure. A file anyone but its owner may write is skipped
# (login_safe). Sets login_kind, login_path, login_pid.
login_find() {
    login_kind=none login_path='' login_pid=''
    p=$PPID listener='' depth=0
    while [ "$depth" -lt 10 ] && [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null; do
        login_status "$p"
        # shellcheck disable=SC3013 # test -ef: dash, bash and busybox sh have it (without it no sshd is found, and syslog or the journal is read)
        if [ "$login_uid" = 0 ] && [ "/proc/$p/exe" -ef "$sshd_bin" ] && [ "/proc/$p/ns/mnt" -ef /proc/$$/ns/mnt ]; then
            listener=$p
        fi
        p=$login_ppid
        depth=$((depth + 1))
    done
    if [ -n "$listener" ]; then
        # -E FILE and -e, as sshd's getopt reads them ("C:E:b:c:f:g:h:k:o:p:u:"
        # take a value). sshd's setproctitle may have made its arguments one
        # string, `sshd: /usr/sbin/sshd -D -E FILE … [listener] …`.
        args=$(tr '\0' '\n' 2>/dev/null < "/proc/$listener/cmdline" | awk '
            { a[++n] = $0 }
            END {
                if (n == 1 && substr(a[1], 1, 6) == "sshd: ") {
                    n = split(substr(a[1], 7), a, / /)
                    for (i = 2; i <= n; i++) if (substr(a[i], 1, 1) == "[") { n = i - 1; break }
                }
                for (j = 2; j <= n; j++) {
                    if (want != "") { if (want == "E") e = a[j]; want = ""; continue }
                    if (a[j] !~ /^-./) continue
                    for (i = 2; i <= length(a[j]); i++) {
                        c = substr(a[j], i, 1)
                        if (c == "e") stderr = 1
                        if (index("CEbcfghkopu", c)) {
                            v = substr(a[j], i + 1)
                            if (v == "") want = c; else if (c == "E") e = v
                            break
                        }
                    }
                }
                printf "%d %s", stderr, e
            }')
        e=${args#* }
        case $e in
            /*)
                case $e in *"$nl"*) ;; *) if login_safe "$e"; then login_kind=file login_path=$e; return 0; fi ;; esac ;;
        esac
        if [ "${args%% *}" = 1 ] && [ -f "/proc/$listener/fd/2" ]; then
            t=$(readlink "/proc/$listener/fd/2" 2>/dev/null) || t=
            case $t in
                /*) case $t in *"$nl"*) ;; *) if login_safe "/proc/$listener/fd/2"; then login_kind=stderr login_path=$t login_pid=$listener; return 0; fi ;; esac ;;
            esac
        fi
    fi
    if [ -d /run/systemd/system ] && command -v journalctl >/dev/null 2>&1; then
        login_kind=journal
        return 0
    fi
    for f in /var/log/auth.log /var/log/secure; do
        if login_safe "$f"; then login_kind=syslog login_path=$f; return 0; fi
    done
}

# login_parse FORMAT [SKIP CHECK]: the log text on stdin, then one extra
# newline (so the last record is empty when the text ended with a line
# break, and a cut line otherwise), parsed for accepted public-key logins.
# FORMAT: raw (sshd -E or -e: no prefix, no time), syslog (rsyslog's
# traditional or RFC 3339 time, host, `sshd[PID]:` or `sshd-session[PID]:`)
# or journal (journalctl -o json, one entry a line). SKIP 1: the first line
# is the end of one already read (CHECK 1: it must be empty). Prints
# `login_end USED READ FIRST CURSOR` (bytes of whole lines used, bytes
# read, the time of the first line with a time or -, the last entry's
# journal cursor or -) on stdout. The `login_key` lines (one per account
# and key) and `login_dropped` go to the reply itself (fd 4, as awk's
# stderr): the shell needs only the end line, and dash's patterns on a
# long text cost the host time growing with its square. With
# login_lookup=yes, awk then prints passwd, group, shadow and shells for
# lookup.sh (lookup_print) after the end line: one process for both, as
# the lookups come right after the scan (login_take_lookup).
login_parse() {
    # The nonce goes to awk in its environment, not as an argument: any
    # local user can read a process's command line (/proc/PID/cmdline),
    # and one who knows the nonce while the probe runs could frame lines in
    # a file the probe reads next; /proc/PID/environ is root's alone.
    KS_NONCE=$nonce KS_CURSOR=${login_want:-} awk -v fmt="$1" -v skip="${2:-0}" -v check="${3:-0}" -v now="$login_now" -v now_year="$login_year" \
        -v lookup="$login_lookup" -v shells="$lookup_shells" "$lookup_awk"'
        function civil(y, m, d) {  # days from 1970-01-01 (Howard Hinnant)
            y -= (m <= 2); era = int((y >= 0 ? y : y - 399) / 400); yoe = y - era * 400
            doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
            return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
        }
        function stamp(line,   t, s, z, off) {  # syslog time at the start of line, or -1; sets rest
            if (match(line, /^[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]+)?(Z|[+-][0-2][0-9]:[0-5][0-9]) /)) {
                s = substr(line, 1, RLENGTH - 1); rest = substr(line, RLENGTH + 1)
                t = civil(substr(s, 1, 4) + 0, substr(s, 6, 2) + 0, substr(s, 9, 2) + 0) * 86400 \
                    + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18, 2)
                z = substr(s, length(s), 1)
                if (z != "Z") {
                    z = substr(s, length(s) - 5)
                    off = substr(z, 2, 2) * 3600 + substr(z, 5, 2) * 60
                    t -= (substr(z, 1, 1) == "-" ? -off : off)
                }
                return t
            }
            if (match(line, /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] /)) {
                s = substr(line, 1, RLENGTH - 1); rest = substr(line, RLENGTH + 1)
                m = (index("JanFebMarAprMayJunJulAugSepOctNovDec", substr(s, 1, 3)) + 2) / 3
                # No year in the line: the latest of next, this and last year
                # (now_year is the UTC year of the controller; the local year
                # of the host may be ahead of it, east of UTC on the last day
                # of the year) that is not ahead of now: next year only within
                # an hour (a line is written before it is read), the others
                # within a day of clock skew.
                s = " " m " " (substr(s, 5, 2) + 0) " " substr(s, 8, 2) " " substr(s, 11, 2) " " substr(s, 14, 2)
                t = mktime((now_year + 1) s)
                if (t > now + 3600) t = mktime(now_year s)
                if (t > now + 86400) t = mktime((now_year - 1) s)
                return t
            }
            return -1
        }
        function json(line, field,   v, i, c, n) {  # a string field of a journal entry, or the empty string
            if (match(line, "[{,]\"" field "\":\"[^\"\\\\]*\"")) return substr(line, RSTART + length(field) + 5, RLENGTH - length(field) - 6)
            # With escapes (sshd writes a certificate key ID byte that is not
            # printable ASCII as \ooo, which JSON escapes again): decoded,
            # a line break to a blank, \uXXXX to "?". Only such lines pay
            # for the loop.
            if (!match(line, "[{,]\"" field "\":\"")) return ""
            v = ""; n = length(line)
            for (i = RSTART + RLENGTH; i <= n; i++) {
                c = substr(line, i, 1)
                if (c == "\"") return v
                if (c != "\\") { v = v c; continue }
                c = substr(line, ++i, 1)
                if (c == "u") { v = v "?"; i += 4 }
                else if (c == "t") v = v "\t"
                else if (c == "n" || c == "r") v = v " "
                else if (c == "\"" || c == "\\" || c == "/") v = v c
                else v = v "?"
            }
            return ""
        }
        function accepted(msg, t,   w, n, user, addr, type, fp, id, i, k) {
            sub(/\r$/, "", msg)
            if (substr(msg, 1, 23) != "Accepted publickey for ") return
            n = split(msg, w, / /)
            if (n < 11 || w[5] != "from" || w[7] != "port" || w[9] != "ssh2:") return
            user = w[4]; addr = w[6]; type = w[10]; fp = w[11]
            if (user !~ /^[A-Za-z0-9_.][A-Za-z0-9_.@-]*[$]?$/ || length(user) > 64) return
            if (addr !~ /^[0-9A-Fa-f.:]+(%[A-Za-z0-9_.-]+)?$/ || length(addr) > 64) return
            if (w[8] !~ /^[0-9]+$/ || length(w[8]) > 5) return
            if (type !~ /^[A-Z0-9][A-Z0-9-]*$/ || length(type) > 40) return
            if (fp !~ /^SHA256:[A-Za-z0-9+\/]+$/ || length(fp) != 50) return
            id = ""
            if (n > 11) {
                # A certificate: TYPE-CERT SHA256:FP ID KEYID (serial N) CA CATYPE SHA256:CAFP.
                if (type !~ /-CERT$/ || n < 17 || w[12] != "ID" || w[n - 4] != "(serial" || w[n - 3] !~ /^[0-9]+\)$/ \
                    || w[n - 2] != "CA" || w[n - 1] !~ /^[A-Z0-9][A-Z0-9-]*$/ || w[n] !~ /^SHA256:[A-Za-z0-9+\/]+$/ || length(w[n]) != 50) return
                id = w[13]
                for (i = 14; i <= n - 5; i++) id = id " " w[i]
                gsub(/[^ -~]/, "?", id)
                id = substr(id, 1, 200)
            } else if (type ~ /-CERT$/) return
            k = user " " fp
            if (!(k in count)) {
                if (keys >= 2000) { dropped++; return }
                keys++; order[keys] = k; first[k] = t
            }
            count[k]++
            if (t != "-") { if (first[k] == "-" || t < first[k]) first[k] = t; if (last[k] == "" || last[k] == "-" || t > last[k]) last[k] = t }
            else if (last[k] == "") last[k] = "-"
            where[k] = addr; kind[k] = type; cert[k] = id
        }
        function line(text,   t, msg, ts) {
            if (fmt == "none") return
            if (fmt != "journal" && !index(text, "Accepted publickey for ")) {
                if (fmt == "syslog" && tfirst == "-" && (t = stamp(text)) >= 0) tfirst = t
                return
            }
            if (fmt == "raw") { accepted(text, "-"); return }
            if (fmt == "journal") {
                c = json(text, "__CURSOR")
                if (c ~ /^[A-Za-z0-9=;]+$/ && length(c) <= 300) cursor = c
                if (want != "" && !seen_first) {
                    # journalctl --cursor starts at the stored entry, which the
                    # last scan read: skipped, its cursor kept as the position
                    # (a scan with nothing new still has one, so a journal that
                    # stopped getting sshd lines shows as a scan without keysync
                    # login). Another first entry: that one was vacuumed (size or
                    # age limits, a volatile journal lost at reboot), and what
                    # came after it up to here may be too.
                    seen_first = 1
                    if (c == want) return
                    vacuumed = 1
                }
                ts = json(text, "__REALTIME_TIMESTAMP")
                if (ts !~ /^[0-9]+$/) return
                t = int(substr(ts, 1, length(ts) - 6) + 0)
                if (tfirst == "-") tfirst = t
                if (json(text, "_UID") != "0") return
                msg = json(text, "_COMM")
                if (msg != "sshd" && msg != "sshd-session") return
                accepted(json(text, "MESSAGE"), t)
                return
            }
            t = stamp(text)
            if (t == -1) return
            if (tfirst == "-") tfirst = t
            # host, then the tag of the sshd process itself.
            if (!match(rest, /^[^ ]+ sshd(-session)?\[[0-9]+\]: /)) return
            accepted(substr(rest, RLENGTH + 1), t)
        }
        BEGIN { nonce = ENVIRON["KS_NONCE"]; want = ENVIRON["KS_CURSOR"]; tfirst = "-"; cursor = "-"; used = 0; keys = 0; dropped = 0 }
        NR > 1 {
            used += length(prev) + 1
            if (NR == 2 && skip) { if (check && prev != "") bad = 1 }
            else if (!bad) line(prev)
        }
        { prev = $0 }
        END {
            read = used + length(prev)
            if (bad) printf "login_end %s %d %d - -\n", nonce, -1, read
            else {
                printf "login_end %s %d %d %s %s\n", nonce, used, read, tfirst, cursor
                # The end line out first: the shell then moves the position
                # past logins that are already in the reply, even if awk died
                # below (they are never counted twice). Then the login lines
                # into the reply (the stderr of awk is fd 4), 64 at a time
                # (stderr is unbuffered).
                fflush()
                out = ""
                for (i = 1; i <= keys; i++) {
                    k = order[i]; split(k, u, " ")
                    out = out sprintf("login_key %s %d %s %s %s %s %s %s%s\n", nonce, count[k], first[k], last[k], u[1], where[k], kind[k], u[2], (cert[k] == "" ? "" : " " cert[k]))
                    if (i % 64 == 0) { printf "%s", out > "/dev/stderr"; out = "" }
                }
                if (dropped) out = out sprintf("login_dropped %s %d\n", nonce, dropped)
                if (vacuumed) out = out sprintf("login_note %s gap vacuumed\nlogin_note %s since %s\n", nonce, nonce, tfirst)
                if (out != "") printf "%s", out > "/dev/stderr"
            }
            if (lookup == "yes") lookup_print(shells)
        }' 2>&4
}

# login_take_lookup: after a parse that printed lookup_print's text (after
# its end line, in $out), lookup.sh answers from it (lookup_take); the
# probe does not read the files again.
login_take_lookup() {
    [ "$login_lookup" = yes ] || return 0
    login_lookup=''
    # Without a line break this is the end line itself, which lookup_take refuses.
    lookup_take "${out#*"$nl"}"
    lookup_loaded=yes
}

# login_read FD START FORMAT CHECK: at most login_left bytes of the file
# open on FD (5 or 6) from START, parsed (the byte before START is read
# too: it ends the line read last time). Prints the login lines; sets
# login_used (bytes of whole lines after START), login_got (bytes read
# after START), login_first, login_bad (the byte before START is not a
# line break: not the file read last time), login_short (the file ends
# before START). Returns 1 when the parser gave no answer.
login_read() {
    if [ "$2" -gt 0 ]; then from=$(($2 - 1)) skip=1; else from=0 skip=0; fi
    count=$((login_left + skip))
    # Through /proc/$$/fd/N: a new open of the same file, so skip= counts
    # from its start whatever an earlier read of FD left its offset at.
    out=$({ dd if="/proc/$$/fd/$1" bs=65536 skip="$from" count="$count" iflag=skip_bytes,count_bytes status=none 2>/dev/null; echo; } | login_parse "$3" "$skip" "$4")
    login_end "$skip" || return 1
    login_left=$((login_left - login_got)) login_spent=$((login_spent + login_got))
}

# login_end SKIP: reads the first line of $out (`login_end USED READ
# FIRST CURSOR`) into login_used, login_got, login_first,
# login_cursor_read, login_bad and login_short (awk printed the login
# lines into the reply itself), and hands the lines after it to lookup.sh
# when awk printed passwd and the others there; with SKIP 1 the first byte
# read was the one before the start, not counted. Only patterns anchored
# at the start of $out: each costs the length of the first line, not of
# the text.
login_end() {
    case $out in "login_end $nonce "*) ;; *) login_line note error "the log parser (awk) gave no answer"; return 1 ;; esac
    login_take_lookup
    login_skip=$1
    # shellcheck disable=SC2086 # USED READ FIRST CURSOR: four words
    set -- ${out%%"$nl"*}
    shift 2
    login_used=$1 login_got=$2 login_first=$3 login_cursor_read=$4 login_bad='' login_short=''
    [ "$login_used" -ge 0 ] || login_bad=yes
    if [ "$login_skip" = 1 ]; then
        [ "$login_got" -gt 0 ] || login_short=yes
        [ "$login_used" -le 0 ] || login_used=$((login_used - 1))
        [ "$login_got" -le 0 ] || login_got=$((login_got - 1))
    fi
    [ "$login_used" -ge 0 ] || login_used=0
}

# login_open FD PATH: PATH open for reading on FD (5 or 6); 1 when it is
# not a regular file or cannot be opened (never waits on a FIFO; a failed
# open does not end the script).
login_open() {
    [ -f "$2" ] || return 1
    if [ "$1" = 5 ]; then { command exec 5< "$2"; } 2>/dev/null; else { command exec 6< "$2"; } 2>/dev/null; fi
}

# login_file PATH FORMAT: the new bytes of a log file since the last scan.
# A file with another inode than last time was rotated: the old inode is
# looked for beside it (PATH.1, PATH-DATE; compressed ones cannot be read)
# and finished first, so no line is lost; then the new file from its
# start. Lines are never read twice: the position only moves past whole
# lines, and a line is used only once the line break after it is written.
login_file() {
    f=$1
    login_open 5 "$f" || { login_line note missing; return 0; }
    login_ino 5
    ino=$login_i
    if [ -z "$login_ino" ] || [ -z "$login_offset" ]; then
        # First scan: the last login_limit bytes, from the first whole line.
        # Lines without a time (sshd's own file) cannot be dated: watching
        # starts at the end, only the last line is read to find its end.
        # The size login_safe saw when it just found this file, if it is
        # still the file open on fd 5 (same inode); else `stat` it.
        if [ "$f" = "$login_safe_path" ] && [ -n "$ino" ] && [ "$ino" = "$login_safe_ino" ]; then
            size=$login_safe_size
        else
            size=$(stat -L -c %s "/proc/$$/fd/5" 2>/dev/null </dev/null) || size=0
        fi
        fmt=$2 tail=$login_limit
        [ "$fmt" != raw ] || fmt=none tail=65536
        start=$((size > tail ? size - tail : 0))
        login_read 5 "$start" "$fmt" 0 || return 0
        login_line note first "$login_first"
        at=$((start + login_used))
    elif [ "$ino" = "$login_ino" ]; then
        login_read 5 "$login_offset" "$2" 1 || return 0
        at=$((login_offset + login_used))
        if [ -n "$login_bad" ] || [ -n "$login_short" ]; then
            # Shorter than where the last scan stopped, or other bytes there:
            # truncated (copytruncate) or rewritten. Read it from its start.
            login_left=$login_limit
            login_read 5 0 "$2" 0 || return 0
            login_line note gap truncated
            login_line note since "$login_first"
            at=$login_used
        elif [ "$login_left" -le 0 ] &&
            size=$(stat -L -c %s "/proc/$$/fd/5" 2>/dev/null </dev/null) &&
            [ "$size" -gt $((login_offset + login_limit * login_skip_after)) ]; then
            # Far behind (a flood, or a log that grew by a gigabyte since the
            # last scan): reading it all would cost the host that much, a piece
            # per run might never catch up. The piece just read stays counted;
            # then its last login_limit bytes, from the first whole line, and
            # say so: watching starts again there. The size is asked only
            # after a full read: a run that caught up costs no `stat` process
            # (each process costs the host about a millisecond). This run
            # reads at most twice login_limit.
            login_left=$login_limit
            start=$((size - login_limit))
            login_read 5 "$start" "$2" 0 || return 0
            login_line note gap skipped
            login_line note since "$login_first"
            at=$((start + login_used))
        fi
    else
        old=
        for r in "$f".1 "$f"-[0-9]*; do
            case $r in *.gz | *.xz | *.bz2 | *.zst | *.lz4 | *.Z) continue ;; esac
            login_open 6 "$r" || continue
            login_ino 6
            if [ "$login_i" = "$login_ino" ]; then old=$r; break; fi
            exec 6<&-
        done
        if [ -n "$old" ]; then
            login_read 6 "$login_offset" "$2" 1 || return 0
            exec 6<&-
            if [ -n "$login_bad" ] || [ -n "$login_short" ]; then
                login_line note gap rewritten
                old=
            elif [ "$login_left" -le 0 ]; then
                # Still behind in the old file: stay in it.
                login_line at "$login_ino $((login_offset + login_used))"
                login_line note behind
                return 0
            else
                login_line note rotated "$old"
            fi
        else
            login_line note gap rotated
        fi
        login_read 5 0 "$2" 0 || return 0
        [ -n "$old" ] || login_line note since "$login_first"
        at=$login_used
    fi
    [ "$login_left" -gt 0 ] || login_line note behind
    login_line at "$ino $at"
    exec 5<&-
}

# login_journal: sshd's entries after the cursor (_UID 0 and _COMM sshd or
# sshd-session: fields journald sets itself, which no other process can
# forge), at most login_limit bytes of JSON; the first scan takes the last
# 2000 entries.
login_journal() {
    # --cursor, not --after-cursor: the latter skips one entry blindly, so
    # when the stored one was vacuumed an unread entry went and nobody knew;
    # awk checks that the first entry is the stored one (login_want).
    if [ -n "$login_cursor" ]; then set -- "--cursor=$login_cursor"; else set -- -n 2000; fi
    # _TRANSPORT=syslog: sshd's own syslog(3) lines, which it escapes; an
    # sshd run with -e under systemd sends stdout lines that a client's
    # bytes can split into a forged "Accepted" line.
    out=$({ journalctl -q --no-pager -o json --output-fields=MESSAGE,_UID,_COMM _UID=0 _COMM=sshd _COMM=sshd-session _TRANSPORT=syslog "$@" 2>/dev/null </dev/null |
            head -c "$login_limit"; echo; } | login_want=$login_cursor login_parse journal 0 0)
    login_end 0 || return 0
    [ -n "$login_cursor" ] || login_line note first "$login_first"
    login_left=$((login_left - login_got)) login_spent=$((login_spent + login_got))
    [ "$login_got" -lt "$login_limit" ] || login_line note behind
    [ "$login_cursor_read" = - ] || login_line cursor "$login_cursor_read"
}

# login_scan: finds the source when asked (keeping the position when it is
# the one the database names), then reads it.
login_scan() {
    [ "$euid" = 0 ] || { login_line note not_root; return 0; }
    login_left=$login_limit login_spent=0
    # probe_account's lookups come right after: the scan's awk reads
    # passwd, group, shadow and shells for them (lookup.sh), one process
    # less per host.
    if [ -z "$lookup_loaded" ] && lookup_can_load; then login_lookup=yes; fi
    was="$login_kind $login_path"
    # shellcheck disable=SC3013 # test -ef, as in login_find (without it the source is found again each time)
    if [ "$login_discover" = yes ] || { [ "$login_kind" = stderr ] && ! [ "/proc/$login_pid/exe" -ef "$sshd_bin" ]; }; then
        login_find
        [ "$login_kind $login_path" = "$was" ] || login_ino='' login_offset='' login_cursor=''
    fi
    login_line source "$login_kind ${login_pid:--} $login_path"
    case $login_kind in
        file) login_file "$login_path" raw ;;
        stderr) login_file "/proc/$login_pid/fd/2" raw ;;
        syslog) login_file "$login_path" syslog ;;
        journal) login_journal ;;
    esac
    # A read that gave up early returns with the log still open on fd 5 or
    # 6: closed here, so no process the probe starts later (the read as
    # each account) inherits a handle on the root-only log.
    exec 5<&- 6<&-
    # What this run cost the host: bytes of log read (at most login_limit,
    # twice that in the run that finds a file far behind).
    login_line note read "$login_spent"
}
