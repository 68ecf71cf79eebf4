import Foundation
import Testing

/// A fault injected into one test host, and how to take it back out.
///
/// Every fault lives only in that host's mount namespace (a bind mount, an
/// overlay, a tmpfs, a sudoers edit in its private `/etc`), so other hosts
/// and this machine are never affected. ``undo()`` removes it; if that fails
/// the host is rebuilt with `Scripts/testfleet reset`.
struct InjectedFault {
    let host: Int
    let name: String
    let fleet: TestFleet
    let undoScript: String

    /// Takes the fault out again (or resets the host when that fails).
    func undo(sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try fleet.sh(host, undoScript)
        } catch {
            Issue.record("undoing \(name) on h\(host) failed (\(error)); resetting the host", sourceLocation: sourceLocation)
            do { try fleet.reset(hosts: [host]) } catch {
                Issue.record("resetting h\(host) failed: \(error)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// Why preparing a host for a fault test failed.
struct FaultSetupError: Error, CustomStringConvertible {
    let description: String
}

extension TestFleet {
    /// SIGHUP to host `host`'s listening sshd (it re-executes and re-reads
    /// its config; sessions stay), then waits until it accepts logins again.
    func reloadSSHD(host: Int) throws {
        guard kill(try sshdPid(host), SIGHUP) == 0 else { throw FaultSetupError(description: "h\(host): SIGHUP to sshd failed") }
        for _ in 0..<50 {
            usleep(100_000)
            for key in [KeyKind.ed25519, .rsa] where (try? ssh(host: host, key: key, command: "true", timeout: 10))?.succeeded == true {
                return
            }
        }
        throw FaultSetupError(description: "sshd of h\(host) did not come back after SIGHUP")
    }

    /// Points host `host`'s sshd at the files keysync writes under
    /// /etc/ssh/keysync (what manage_sshd's drop-in does) and reloads it.
    func pointSSHDAtKeysyncFiles(host: Int) throws {
        try sh(host, """
            printf '%s\\n' 'TrustedUserCAKeys /etc/ssh/keysync/trusted_user_ca_keys' \\
                'AuthorizedPrincipalsFile /etc/ssh/keysync/principals/%u' \\
                'RevokedKeys /etc/ssh/keysync/revoked_keys.krl' >> /etc/ssh/sshd_config
            """)
        try reloadSSHD(host: host)
    }

    /// The role accounts the fault suite manages (`fz0`…`fz9`); no other suite uses them.
    static let faultAccounts = (0..<10).map { "fz\($0)" }

    /// Runs a `sh` script inside host `host` as root; throws with its output when it fails.
    @discardableResult
    func sh(_ host: Int, _ script: String, stdin: Data? = nil, timeout: TimeInterval = 60) throws -> String {
        let result = try exec(host: host, ["sh", "-c", script], stdin: stdin, timeout: timeout)
        guard result.succeeded else { throw FaultSetupError(description: "h\(host): \(result)") }
        return result.stdout
    }

    /// Removes the fault accounts (and their homes) from `hosts`, so every test starts clean.
    func removeFaultAccounts(_ hosts: some Sequence<Int>) throws {
        let names = Self.faultAccounts.joined(separator: " ")
        for host in hosts {
            try sh(host, """
                for a in \(names); do
                    if getent passwd "$a" >/dev/null; then
                        home=$(getent passwd "$a" | cut -d: -f6)
                        userdel "$a" 2>/dev/null
                        [ -L "$home" ] && rm -f "$home"
                        case "$home" in /home/fz*) rm -rf -- "$home" ;; esac
                    fi
                    getent group "$a" >/dev/null && groupdel "$a" 2>/dev/null
                    rm -rf "/home/$a" "/home/$a.real"
                done
                true
                """)
        }
    }

    /// `account → sha256` of each fault account's authorized_keys on `host`
    /// (`absent`, `symlink`, or `other` when it is not a regular file).
    func authorizedKeysHashes(host: Int, accounts: [String] = TestFleet.faultAccounts) throws -> [String: String] {
        let out = try sh(host, """
            for a in \(accounts.joined(separator: " ")); do
                f=/home/$a/.ssh/authorized_keys
                if [ -L "$f" ]; then echo "$a symlink"
                elif [ -f "$f" ]; then echo "$a $(sha256sum < "$f" | cut -c1-64)"
                elif [ -e "$f" ]; then echo "$a other"
                else echo "$a absent"
                fi
            done
            """)
        var hashes: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { hashes[String(parts[0])] = String(parts[1]) }
        }
        return hashes
    }

    /// keysync temp files (`.keysync-*`) anywhere under the host's `/home`.
    func keysyncTempFiles(host: Int) throws -> [String] {
        try sh(host, "find /home -name '.keysync-*' 2>/dev/null; true").split(separator: "\n").map(String.init)
    }

    /// sha256, mode, owner and names of the files in `paths` inside the host:
    /// a fingerprint that changes if anything under them is written.
    func victimState(host: Int, _ paths: [String]) throws -> String {
        try sh(host, """
            for p in \(paths.map { "'\($0)'" }.joined(separator: " ")); do
                if [ -d "$p" ] && [ ! -L "$p" ]; then
                    find "$p" -xdev -printf '%p %y %m %u:%g %s\\n' | sort
                    find "$p" -xdev -type f -exec sha256sum {} + | sort
                else
                    stat -c '%n %F %a %U:%G %s' -- "$p"; sha256sum -- "$p"
                fi
            done
            """)
    }

    /// The new part of host `host`'s sshd log since `offset` bytes.
    func sshdLog(host: Int, from offset: Int = 0) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/h\(host)/sshd.log"))
        return String(decoding: data.dropFirst(offset), as: UTF8.self)
    }

    /// Current size of host `host`'s sshd log, to read only what comes after.
    func sshdLogSize(host: Int) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: "\(directory)/h\(host)/sshd.log"))?[.size] as? Int) ?? 0
    }

    // MARK: Faults

    /// Replaces the program at `path` inside the host with `script` (a bind
    /// mount over it, in that host's namespace only).
    func replaceProgram(host: Int, path: String, script: String) throws -> InjectedFault {
        let name = "ks-fault-" + (path as NSString).lastPathComponent
        try sh(host, "cat > /tmp/\(name) && chmod 755 /tmp/\(name) && mount --bind /tmp/\(name) \(path)", stdin: Data(script.utf8))
        return InjectedFault(host: host, name: "fake \(path)", fleet: self,
                             undoScript: "umount -l \(path) && rm -f /tmp/\(name)")
    }

    /// Accounts come from a directory service as well as files (as with
    /// LDAP or sssd), so the probe asks `getent` instead of reading
    /// /etc/passwd itself; returns the shell that undoes it.
    private func useDirectoryService(host: Int) throws -> String {
        try sh(host, "cp /etc/nsswitch.conf /tmp/ks-nsswitch.conf && sed -i 's/^\\(passwd\\|group\\|shadow\\):.*/\\1: files compat/' /etc/nsswitch.conf && grep -q '^passwd: files compat' /etc/nsswitch.conf")
        return "cp /tmp/ks-nsswitch.conf /etc/nsswitch.conf && rm -f /tmp/ks-nsswitch.conf"
    }

    /// A directory service that never answers: `getent` waits 30 s, and the
    /// probe, which asks it because nsswitch.conf names more than files,
    /// hangs mid-command.
    func hangGetent(host: Int) throws -> InjectedFault {
        let undoNSS = try useDirectoryService(host: host)
        let fault = try replaceProgram(host: host, path: "/usr/bin/getent", script: "#!/bin/sh\nexec sleep 30\n")
        return InjectedFault(host: host, name: fault.name, fleet: self, undoScript: fault.undoScript + " && " + undoNSS)
    }

    /// The first `getent` call waits `seconds`, later ones run normally: a
    /// slow host (nsswitch.conf names a directory service, so the probe asks getent).
    func slowGetent(host: Int, seconds: Int) throws -> InjectedFault {
        let undoNSS = try useDirectoryService(host: host)
        try sh(host, "cp /usr/bin/getent /tmp/ks-real-getent && touch /tmp/ks-slow-once")
        let fault = try replaceProgram(host: host, path: "/usr/bin/getent", script: """
            #!/bin/sh
            if rm /tmp/ks-slow-once 2>/dev/null; then sleep \(seconds); fi
            exec /tmp/ks-real-getent "$@"
            """)
        return InjectedFault(host: host, name: "slow getent", fleet: self,
                             undoScript: fault.undoScript + " && rm -f /tmp/ks-real-getent /tmp/ks-slow-once && " + undoNSS)
    }

    /// `sudo` is not installed: an overlay with a whiteout hides `/usr/bin/sudo`.
    func removeSudo(host: Int) throws -> InjectedFault {
        try sh(host, """
            mkdir -p /tmp/ks-nosudo && rm -f /tmp/ks-nosudo/sudo && mknod /tmp/ks-nosudo/sudo c 0 0 &&
            mount -t overlay keysync-nosudo -o lowerdir=/tmp/ks-nosudo:/usr/bin /usr/bin &&
            ! command -v sudo
            """)
        return InjectedFault(host: host, name: "no sudo", fleet: self,
                             undoScript: "umount -l /usr/bin && rm -rf /tmp/ks-nosudo && command -v sudo >/dev/null")
    }

    /// The admin's sudo rule loses NOPASSWD: `sudo -n` says a password is required.
    func sudoNeedsPassword(host: Int) throws -> InjectedFault {
        let file = "/etc/sudoers.d/keysync-admin"
        try sh(host, "cp -p \(file) /tmp/ks-sudoers && sed -i 's/NOPASSWD: *//' \(file) && ! grep -q NOPASSWD \(file)")
        return InjectedFault(host: host, name: "sudo password", fleet: self, undoScript: "cp -p /tmp/ks-sudoers \(file) && rm -f /tmp/ks-sudoers")
    }

    /// `/home` becomes a 1 MiB tmpfs holding a copy of the old `/home`, then is filled up: every write fails with ENOSPC.
    func fullHome(host: Int) throws -> InjectedFault {
        try sh(host, """
            mkdir -p /tmp/ks-home-orig && mount --bind /home /tmp/ks-home-orig &&
            mount -t tmpfs -o size=1m,mode=0755 keysync-fullhome /home &&
            cp -a /tmp/ks-home-orig/. /home/ && umount /tmp/ks-home-orig && rmdir /tmp/ks-home-orig &&
            { dd if=/dev/zero of=/home/ks-fill bs=4096 2>/dev/null; true; } &&
            { dd if=/dev/zero of=/home/ks-fill2 bs=1 2>/dev/null; true; } &&
            [ "$(df --output=avail /home | tail -n 1 | tr -d ' ')" = 0 ]
            """)
        return InjectedFault(host: host, name: "full home", fleet: self, undoScript: "umount -l /home")
    }

    /// `/home` is remounted read-only (that host's bind mount only).
    func readOnlyHome(host: Int) throws -> InjectedFault {
        try sh(host, "mount -o remount,bind,ro /home && ! touch /home/ks-probe 2>/dev/null")
        return InjectedFault(host: host, name: "read-only home", fleet: self, undoScript: "mount -o remount,bind,rw /home")
    }
}

/// Serialises fault-suite runs that share one fleet: hosts 20–29 are
/// tampered with, and two test processes doing that at once (say a branch's
/// and main's) would break each other's faults. The first test of a process
/// takes an exclusive `flock` on `<fleet>/.faults.lock` and holds it until
/// the process exits; another process waits for it (up to 30 minutes).
enum FaultHostsLock {
    private static let state = LockedState<Int32?>(nil)

    static func hold(_ fleet: TestFleet, timeout: TimeInterval = 1800) throws {
        try state.withLock { fd in
            if fd != nil { return }
            let path = fleet.directory + "/.faults.lock"
            let opened = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard opened >= 0 else {
                throw FaultSetupError(description: "cannot open \(path): \(String(cString: strerror(errno)))")
            }
            let end = Date().addingTimeInterval(timeout)
            while flock(opened, LOCK_EX | LOCK_NB) != 0 {
                guard Date() < end else {
                    close(opened)
                    throw FaultSetupError(description: "another fault-suite run held \(path) for \(Int(timeout)) s")
                }
                usleep(500_000)
            }
            fd = opened // kept open: released when this process exits
        }
    }
}
