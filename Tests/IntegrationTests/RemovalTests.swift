import Foundation
import Testing
import GRDB
@testable import KeySync

/// Issue 16, removing access, against real sshd: a block whose project or
/// role no longer maps to the host and account goes (`stale_block`), a
/// host that left `hosts:` is listed (`host_departed`) until `decommission`
/// cleans it or `--forget` records it gone, and the lockout guard holds on
/// every one of these paths. Each test ends with a real login that fails
/// because the access was taken away.
///
/// Hosts 63–69: 63–67 one per test, 69 the host the projects keep when a
/// test's own host leaves them (every project needs one), 68 spare.
/// Serialized: the tests share host 69.
@Suite(.serialized) struct RemovalTests {
    let fleet: TestFleet
    static let anchor = 69

    init() throws { fleet = try TestFleet.shared(minimumHosts: 70) }

    /// Keys `kp-usersample`, `kp-deploy` and `mine` (never in the inventory: the account owner's own).
    func workspace(_ name: String = #function) throws -> Workspace {
        let workspace = try Workspace(name)
        for key in ["kp-usersample", "kp-deploy", "mine", "stranger"] { try workspace.generateKey(key) }
        return workspace
    }

    /// Writes `file` with `hosts:` for `hosts` and the given projects (YAML
    /// under `projects:`), and loads it.
    @discardableResult
    func inventory(_ workspace: Workspace, _ file: String, hosts: [Int], projects: String, revoked: String = "",
                   extraKeys: String = "") throws -> Inventory {
        try workspace.write(file, """
            \(fleet.inventoryDefaults())
            keys:
              kp-usersample: { file: kp-usersample.pub }
              kp-deploy: { file: kp-deploy.pub }
            \(extraKeys)
            \(revoked)
            hosts:
            \(fleet.inventoryHosts(hosts))
            projects:
            \(projects)
            """)
        return try Inventory.load(path: workspace.file(file))
    }

    /// Project `name` on `hosts` with role `deploy` for account `usersample` and `key`.
    func project(_ name: String, _ hosts: [Int], key: String = "kp-usersample", account: String = "usersample") -> String {
        """
          \(name):
            hosts: [\(hosts.map { "h\($0)" }.joined(separator: ", "))]
            roles:
              deploy: { account: \(account), uid: 1631, gid: 1631, home: /home/\(account), shell: /bin/bash, create: true, keys: [\(key)] }
        """
    }

    /// push or check as the CLI runs them: hosts in no project kept, departed hosts listed.
    func run(_ inventory: Inventory, _ mode: SyncEngine.Mode, store: Store, force: Bool = false,
             projects: [String] = []) throws -> RunReport {
        let targets = try inventory.select(projects: projects, includingHostsWithoutBlocks: true)
        var run = SyncRun(inventory: inventory, targets: targets,
                          settings: SyncEngine.Settings(mode: mode, parallel: 8, plan: PlanOptions(force: force)))
        run.departedHosts = projects.isEmpty ? .all : .projects(Set(projects))
        run.readsFormerAccounts = true
        return try run.execute(store: store)
    }

    func resetAccounts(_ host: Int) throws {
        try fleet.removeAccounts(["usersample", "builder"], on: [host])
    }

    /// `usersample` (uid 1631) with a keys file holding the owner's own key `mine`, written as the account.
    func createAccount(_ host: Int, _ workspace: Workspace) throws {
        try resetAccounts(host)
        let mine = try String(contentsOfFile: workspace.file("mine.pub"), encoding: .utf8)
        let made = try fleet.exec(host: host, ["sh", "-c", """
            groupadd -g 1631 usersample && useradd -u 1631 -g 1631 -m -d /home/usersample -s /bin/bash -p '*' usersample &&
            su -s /bin/sh usersample -c 'umask 077 && mkdir -p ~/.ssh && cat > ~/.ssh/authorized_keys'
            """], stdin: Data(mine.utf8))
        try #require(made.status == 0, "\(made)")
    }

    func login(_ host: Int, _ user: String, _ workspace: Workspace, _ key: String) throws -> Int32 {
        try fleet.login(host: host, user: user, key: workspace.file(key)).status
    }

    func kinds(_ report: RunReport, _ host: Int) -> [DriftKind] {
        report.hosts.first { $0.host == "h\(host)" }?.drift.map(\.kind) ?? []
    }

    let file = "/home/usersample/.ssh/authorized_keys"

    /// Host `host` with usersample granted kp-usersample and kp-deploy, pushed:
    /// the workspace (named after the calling test), the inventory and the store.
    func pushedWithTwoKeys(_ host: Int, test: String = #function) throws -> (Workspace, Inventory, Store) {
        let workspace = try workspace(test)
        try resetAccounts(host)
        let inventory = try inventory(workspace, "both.yml", hosts: [host], projects: project("usersample", [host], key: "kp-usersample, kp-deploy"))
        let store = try Store(path: workspace.file("keysync.db"))
        try #require(try run(inventory, .push, store: store).summary.failed == 0)
        return (workspace, inventory, store)
    }

    /// A host dropped from every project keeps its place under `hosts:`:
    /// `check` reports its blocks as `stale_block`, `push --project ci`
    /// removes only ci's, `push` the rest; the owner's own key stays.
    @Test func hostDroppedFromItsProjectsLosesTheirBlocks() throws {
        let host = 63
        let workspace = try workspace()
        try createAccount(host, workspace)
        try resetAccounts(Self.anchor)
        let both = try inventory(workspace, "both.yml", hosts: [host, Self.anchor],
                                 projects: project("usersample", [host, Self.anchor]) + "\n" + project("ci", [host], key: "kp-deploy"))
        let store = try Store(path: workspace.file("keysync.db"))
        let first = try run(both, .push, store: store)
        try #require(first.summary.failed == 0, "\(first.hosts)")
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0)
        #expect(try login(host, "usersample", workspace, "kp-deploy") == 0)

        let dropped = try inventory(workspace, "dropped.yml", hosts: [host, Self.anchor],
                                    projects: project("usersample", [Self.anchor]) + "\n" + project("ci", [Self.anchor], key: "kp-deploy"))
        #expect(try dropped.select().map(\.host.name) == ["h\(Self.anchor)"], "h\(host) is in no project")
        let check = try run(dropped, .check, store: store)
        #expect(check.exitCode(for: .check, dryRun: false) == 2)
        #expect(kinds(check, host) == [.staleBlock, .staleBlock])

        let ci = try run(dropped, .push, store: store, projects: ["ci"])
        #expect(ci.hosts.first { $0.host == "h\(host)" }?.status == .changed, "\(ci.hosts)")
        #expect(try login(host, "usersample", workspace, "kp-deploy") != 0, "ci's block is gone")
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0, "usersample's block is not ci's to touch")

        let push = try run(dropped, .push, store: store)
        #expect(push.exitCode(for: .push, dryRun: false) == 0, "\(push.hosts)")
        let mine = try String(contentsOfFile: workspace.file("mine.pub"), encoding: .utf8)
        #expect(String(decoding: try fleet.read(host: host, file), as: UTF8.self) == mine)
        let recheck = try run(dropped, .check, store: store)
        #expect(recheck.exitCode(for: .check, dryRun: false) == 0)
        #expect(!recheck.hosts.contains { $0.host == "h\(host)" }, "nothing of keysync's left there: not contacted any more")
        #expect(try login(host, "usersample", workspace, "mine") == 0)
        #expect(try login(host, "usersample", workspace, "kp-usersample") != 0)
    }

    /// Host `host` pushed with role build (account builder, kp-deploy) beside
    /// usersample, builder's login checked; returns the workspace (named after
    /// the calling test), the store and the inventory without role build.
    func builderRemoved(_ host: Int, test: String = #function) throws -> (Workspace, Store, Inventory) {
        let workspace = try workspace(test)
        try resetAccounts(host)
        let builder = """
              build: { account: builder, uid: 1632, gid: 1632, home: /home/builder, shell: /bin/bash, create: true, keys: [kp-deploy] }
        """
        let withBuilder = try inventory(workspace, "a.yml", hosts: [host], projects: project("usersample", [host]) + "\n" + builder)
        let store = try Store(path: workspace.file("keysync.db"))
        try #require(try run(withBuilder, .push, store: store).summary.failed == 0)
        #expect(try login(host, "builder", workspace, "kp-deploy") == 0)
        return (workspace, store, try inventory(workspace, "b.yml", hosts: [host], projects: project("usersample", [host])))
    }

    /// A role removed from the project: its account keeps a block no role
    /// names. It held the account's only keys, so the lockout guard refuses
    /// (the login still works) until `--force`.
    @Test func accountNoRoleNamesAnyMoreLosesItsBlockOnlyWithForce() throws {
        let host = 64
        let (workspace, store, without) = try builderRemoved(host)
        let check = try run(without, .check, store: store)
        #expect(kinds(check, host) == [.staleBlock, .lockoutRefused])
        #expect(check.hosts[0].drift.first?.account == "builder")

        let refused = try run(without, .push, store: store)
        #expect(refused.hosts[0].status == .drift)
        #expect(kinds(refused, host) == [.staleBlock, .lockoutRefused])
        #expect(try login(host, "builder", workspace, "kp-deploy") == 0, "the guard held")

        let forced = try run(without, .push, store: store, force: true)
        #expect(forced.hosts[0].status == .changed, "\(forced.hosts)")
        #expect(try login(host, "builder", workspace, "kp-deploy") != 0)
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0)
        #expect(try run(without, .check, store: store).exitCode(for: .check, dryRun: false) == 0)
    }

    /// The owner of an account no role names any more cannot make keysync
    /// forget it (review s15 removal #1): moving the keys file away for one
    /// check, or breaking the stale block by hand, used to drop the account
    /// from the database, and the block's key logged in with every later
    /// check clean.
    @Test func anAccountsOwnerCannotMakeKeysyncForgetItsStaleBlock() throws {
        let host = 64
        let (workspace, store, without) = try builderRemoved(host)
        let asBuilder = { (command: String) in try fleet.sh(host, "su -s /bin/sh builder -c \(Shell.quote(command))") }
        func builderDrift() throws -> [DriftKind] {
            try run(without, .check, store: store).hosts.first?.drift.filter { $0.account == "builder" }.map(\.kind) ?? []
        }

        _ = try asBuilder("mv ~/.ssh/authorized_keys ~/.ssh/away")
        #expect(try builderDrift().isEmpty, "no file, nothing to report")
        _ = try asBuilder("mv ~/.ssh/away ~/.ssh/authorized_keys")
        #expect(try builderDrift().contains(.staleBlock), "the block is back and must be seen")

        _ = try asBuilder("sed -i '2a # my note' ~/.ssh/authorized_keys")
        let first = try builderDrift(), second = try builderDrift()
        #expect(!first.isEmpty && !second.isEmpty, "the broken block's key is reported on every check: \(first), \(second)")
        #expect(try login(host, "builder", workspace, "kp-deploy") == 0, "the key still grants access, which is why it must be reported")
    }

    /// A `--project` run reads one project's accounts: drift it did not look
    /// at stays open in the report with its start (review s13: it used to
    /// close every other item on the host); a whole check that finds it gone
    /// closes it. Host 68.
    @Test func aProjectRunLeavesOtherProjectsDriftOpen() throws {
        let host = 68
        let workspace = try workspace()
        try resetAccounts(host)
        let builder = """
          ci:
            hosts: [h\(host)]
            roles:
              build: { account: builder, uid: 1632, gid: 1632, home: /home/builder, shell: /bin/bash, create: true, keys: [kp-deploy] }
        """
        let inventory = try inventory(workspace, "a.yml", hosts: [host], projects: project("usersample", [host]) + "\n" + builder)
        let store = try Store(path: workspace.file("keysync.db"))
        try #require(try run(inventory, .push, store: store).summary.failed == 0)
        let builderFile = "/home/builder/.ssh/authorized_keys"
        let original = try fleet.read(host: host, builderFile)
        try #require(try fleet.exec(host: host, ["sh", "-c", ": > \(builderFile)"]).status == 0)
        let check = try run(inventory, .check, store: store)
        #expect(kinds(check, host) == [.missingKey])
        let before = try store.openDrift()
        #expect(before.map { "\($0.account) \($0.kind)" } == ["builder missing_key"])

        let scoped = try run(inventory, .check, store: store, projects: ["usersample"])
        #expect(scoped.exitCode(for: .check, dryRun: false) == 0, "usersample's account is in sync: \(scoped.hosts)")
        let after = try store.openDrift()
        #expect(after.map { "\($0.account) \($0.kind)" } == ["builder missing_key"], "a usersample-only run did not look at builder")
        #expect(after.first?.since == before.first?.since && after.first?.sinceRunID == before.first?.sinceRunID)

        try #require(try fleet.exec(host: host, ["sh", "-c", "cat > \(builderFile)"], stdin: Data(original)).status == 0)
        #expect(try run(inventory, .check, store: store).exitCode(for: .check, dryRun: false) == 0)
        #expect(try store.openDrift().isEmpty, "the whole check saw it fixed")
        try resetAccounts(host)
    }

    /// A comment put inside keysync's block by hand breaks the block (left as
    /// it is): a key later taken out of the inventory still logs in from
    /// there, and check names it as `unexpected_key`, not repairable (review
    /// s13: nothing named it). Host 68.
    @Test func aKeyLeftInABrokenBlockIsNamed() throws {
        let host = 68
        defer { try? resetAccounts(host) }
        let (workspace, _, store) = try pushedWithTwoKeys(host)
        try #require(try fleet.exec(host: host, ["sed", "-i", "2a # a note by hand", file]).status == 0)
        let narrowed = try inventory(workspace, "one.yml", hosts: [host], projects: project("usersample", [host]))
        let push = try run(narrowed, .push, store: store)
        #expect(try login(host, "usersample", workspace, "kp-deploy") == 0, "sshd still takes the line in the broken block")
        let deploy = try workspace.publicKey("kp-deploy")
        let named = push.hosts.first?.drift.filter { $0.kind == .unexpectedKey && $0.fingerprint == deploy.fingerprint } ?? []
        #expect(named.count == 1 && named.allSatisfy { !$0.repairable } && named.first?.detail.contains("broken block") == true, "\(push.hosts)")
        let check = try run(narrowed, .check, store: store)
        #expect(check.exitCode(for: .check, dryRun: false) == 2 && kinds(check, host).contains(.unexpectedKey), "\(check.hosts)")

        // The role then leaves the account altogether (the usual removal): the keys of the broken block are still named.
        try #require(try fleet.exec(host: host, ["sed", "-i", "1a # another note", file]).status == 0)
        let gone = try inventory(workspace, "gone.yml", hosts: [host, Self.anchor], projects: project("usersample", [Self.anchor]))
        let after = try run(gone, .check, store: store)
        let usersample = try workspace.publicKey("kp-usersample")
        #expect(after.hosts.first { $0.host == "h\(host)" }?.drift.contains { $0.kind == .unexpectedKey && $0.fingerprint == usersample.fingerprint } == true, "\(after.hosts)")
    }

    /// A hand edit inside a block that changes no grant (a comment after a
    /// key, the order of the lines): `check` names it `block_edited` and
    /// exits 2, push rewrites the block, and the next check is clean (review
    /// s13: check said nothing while every push "changed" the host). Host 68.
    @Test func aHandEditInsideABlockIsReportedByCheckAndRewrittenByPush() throws {
        let host = 68
        defer { try? resetAccounts(host) }
        let (workspace, inventory, store) = try pushedWithTwoKeys(host)
        let written = try fleet.exec(host: host, ["cat", file]).stdout
        for edit in [["sed", "-i", "2s/$/ edited by alice/", file], ["sed", "-i", "2{h;d};3G", file]] {
            try #require(try fleet.exec(host: host, edit).status == 0)
            let check = try run(inventory, .check, store: store)
            #expect(check.exitCode(for: .check, dryRun: false) == 2 && kinds(check, host) == [.blockEdited], "\(edit): \(check.hosts)")
            let push = try run(inventory, .push, store: store)
            #expect(push.hosts.first?.changes.contains { $0.hasPrefix("fix block_edited:") } == true, "\(push.hosts)")
            #expect(try fleet.exec(host: host, ["cat", file]).stdout == written)
            #expect(kinds(try run(inventory, .check, store: store), host).isEmpty)
        }
        #expect(try login(host, "usersample", workspace, "kp-deploy") == 0)
    }

    /// One account's write fails (its key folder is on a read-only mount) and
    /// another's stands: the host fails, and the drift store closes the
    /// written account's items at once, the failed one's stay open (they
    /// waited for the next scan before). Host 68.
    @Test func aWriteThatStoodOnAFailedHostClosesItsAccountsItems() throws {
        let host = 68
        let workspace = try workspace()
        try fleet.removeAccounts(["usersample", "builder"], on: [host])
        let readOnly = "/home/builder/.ssh"
        defer {
            _ = try? fleet.exec(host: host, ["sh", "-c", "! mountpoint -q \(readOnly) || umount \(readOnly)"])
            try? fleet.removeAccounts(["usersample", "builder"], on: [host])
        }
        let two = """
          usersample:
            hosts: [h\(host)]
            roles:
              deploy: { account: usersample, uid: 1631, gid: 1631, home: /home/usersample, shell: /bin/bash, create: true, keys: [kp-usersample] }
              ci: { account: builder, uid: 1632, gid: 1632, home: /home/builder, shell: /bin/bash, create: true, keys: [kp-deploy] }
        """
        let inventory = try inventory(workspace, "two.yml", hosts: [host], projects: two)
        let store = try Store(path: workspace.file("keysync.db"))
        try #require(try run(inventory, .push, store: store).summary.failed == 0)
        for (key, account) in [("kp-usersample", "usersample"), ("kp-deploy", "builder")] {
            try #require(try fleet.exec(host: host, ["sed", "-i", "/\(key)/d", "/home/\(account)/.ssh/authorized_keys"]).status == 0)
        }
        _ = try run(inventory, .check, store: store)
        let open = { try store.openDrift().filter { $0.host == "h\(host)" }.map { "\($0.account) \($0.kind)" } }
        #expect(try open() == ["builder missing_key", "usersample missing_key"])
        let mounted = try fleet.exec(host: host, ["sh", "-c", "mount --bind \(readOnly) \(readOnly) && mount -o remount,ro,bind \(readOnly)"])
        try #require(mounted.status == 0, "\(mounted)")
        let push = try run(inventory, .push, store: store)
        let result = try #require(push.hosts.first { $0.host == "h\(host)" })
        #expect(result.status == .failed && result.errorKind == .applyFailed && result.error?.contains("builder") == true, "\(result)")
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0)
        #expect(try open() == ["builder missing_key"])
        _ = try fleet.exec(host: host, ["umount", readOnly])
        #expect(try run(inventory, .push, store: store).summary.failed == 0)
        #expect(try open().isEmpty)
    }

    // MARK: An account's owner stops keysync's commands as that account

    /// builder's own loop, run in host 68 as builder (uid 1633): on an
    /// inotify event on `argv[1]` (mask `argv[3]`) that `hit` accepts, stop
    /// every process of builder in this host for a second, appending their
    /// pids to `argv[2]` (its own pid goes to `argv[2].pid`).
    /// With `dribble`, the stopped processes are then let run for 1 ms
    /// every 1.5 s for half a minute, so some bytes keep coming.
    static func ownersLoop(hit: String, dribble: Bool = false) -> String {
        #"""
        import ctypes, os, select, signal, sys, time
        os.closerange(3, 65536)  # exec's pipes: the test waits for them to close
        path, out, mask_wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init()
        libc.inotify_add_watch(fd, path.encode(), mask_wanted)
        me, mine = os.getuid(), os.readlink("/proc/self/ns/mnt")
        with open(out + ".pid", "w") as f:
            f.write("%d " % os.getpid())
        open(out + ".ready", "w").close()
        deadline = time.time() + 120
        while time.time() < deadline:
            if not select.select([fd], [], [], 1)[0]:
                continue
            data, hit = os.read(fd, 4096), False
            while len(data) >= 16:  # struct inotify_event: wd, mask, cookie, len, name
                mask, size = int.from_bytes(data[4:8], "little"), int.from_bytes(data[12:16], "little")
                name = data[16:16 + size].rstrip(b"\0")
                hit = hit or \#(hit)
                data = data[16 + size:]
            if not hit:
                continue
            stopped, until = set(), time.time() + 1
            while time.time() < until:
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        if pid in stopped or int(pid) == os.getpid() or os.stat("/proc/" + pid).st_uid != me:
                            continue
                        if os.readlink("/proc/%s/ns/mnt" % pid) != mine:
                            continue
                        os.kill(int(pid), signal.SIGSTOP)
                        stopped.add(pid)
                    except OSError:
                        pass
            with open(out, "a") as f:
                f.write(" ".join(stopped) + " ")
            for _ in range(20 if \#(dribble ? "True" : "False") else 0):
                time.sleep(1.5)
                for pid in stopped:
                    try:
                        os.kill(int(pid), signal.SIGCONT)
                        time.sleep(0.001)
                        os.kill(int(pid), signal.SIGSTOP)
                    except OSError:
                        pass
        """#
    }

    static let stallFolder = "/tmp/keysync-stall"

    /// Starts builder's loop on host `host` watching `path` and waits until it watches.
    func startOwnersLoop(_ host: Int, watching path: String, mask: Int, hit: String, dribble: Bool = false) throws {
        let launch = try fleet.exec(host: host, ["sh", "-c", """
            mkdir -p \(Self.stallFolder) && chown builder: \(Self.stallFolder) && \
            setsid setpriv --reuid=1633 --regid=1633 --init-groups python3 -c "$0" "$1" \(Self.stallFolder)/stopped \(mask) </dev/null >/dev/null 2>&1 &
            """, Self.ownersLoop(hit: hit, dribble: dribble), path])
        try #require(launch.status == 0, "\(launch)")
        for _ in 0..<200 where try !fleet.exec(host: host, ["test", "-e", Self.stallFolder + "/stopped.ready"]).succeeded { usleep(25_000) }
    }

    /// Ends builder's loop and what it stopped (by PID: userdel refuses while
    /// they run), then removes both accounts.
    func endOwnersLoop(_ host: Int) {
        if let pids = try? fleet.exec(host: host, ["sh", "-c", "cat \(Self.stallFolder)/stopped.pid \(Self.stallFolder)/stopped 2>/dev/null"]).stdout {
            for pid in pids.split(separator: " ").compactMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) { kill(pid, SIGKILL) }
        }
        _ = try? fleet.exec(host: host, ["rm", "-rf", Self.stallFolder])
        try? fleet.removeAccounts(["usersample", "builder"], on: [host])
    }

    /// Host `host` with account builder (role ci, `builder` keys, listed
    /// first: written first) and usersample (`usersample` keys), command_timeout 6.
    func stallInventory(_ workspace: Workspace, _ file: String, host: Int, builder: String, usersample: String) throws -> Inventory {
        try workspace.write(file, """
            \(fleet.inventoryDefaults().replacingOccurrences(of: "command_timeout: 120", with: "command_timeout: 6"))
            keys:
              kp-usersample: { file: kp-usersample.pub }
              kp-deploy: { file: kp-deploy.pub }
            hosts:
            \(fleet.inventoryHosts([host]))
            projects:
              usersample:
                hosts: [h\(host)]
                roles:
                  ci: { account: builder, uid: 1633, gid: 1633, home: /home/builder, shell: /bin/bash, create: true, keys: [\(builder)] }
                  deploy: { account: usersample, uid: 1631, gid: 1631, home: /home/usersample, shell: /bin/bash, create: true, keys: [\(usersample)] }
            """)
        return try Inventory.load(path: workspace.file(file))
    }

    /// Fresh accounts builder and usersample (with kp-usersample and
    /// kp-deploy) pushed on host `host`: the workspace (named after the
    /// calling test), the store and that inventory.
    func pushedBeforeTheStall(_ host: Int, test: String = #function) throws -> (Workspace, Store, Inventory) {
        let workspace = try workspace(test)
        try fleet.removeAccounts(["usersample", "builder"], on: [host])
        let store = try Store(path: workspace.file("keysync.db"))
        let before = try stallInventory(workspace, "before.yml", host: host, builder: "kp-usersample", usersample: "kp-usersample, kp-deploy")
        try #require(try run(before, .push, store: store).summary.failed == 0)
        try #require(try login(host, "usersample", workspace, "kp-deploy") == 0)
        return (workspace, store, before)
    }

    /// Pushes `after` until builder's loop caught keysync (the loop may be
    /// too late on a busy machine: then `before` is pushed back and it is
    /// tried again, at most four times); the host's last result.
    func pushUntilStalled(_ before: Inventory, _ after: Inventory, _ host: Int, store: Store) throws -> RunReport.Host {
        var attempts = 0
        while true {
            attempts += 1
            let push = try run(after, .push, store: store)
            let result = try #require(push.hosts.first { $0.host == "h\(host)" })
            if result.errorKind == .accountStalled || attempts == 4 { return result }
            _ = try run(before, .push, store: store)
        }
    }

    /// The owner of one account stops keysync's read of their keys file (a
    /// SIGSTOP the moment the file is opened, as a loop of theirs can): the
    /// probe waits out command_timeout, then the host is done again without
    /// that account, so a removal in another account lands; the host is
    /// failed and the error names the account (before: the whole host
    /// timed out on every run, and no revocation on it ever landed). Host 68.
    @Test(arguments: [false, true])
    func anAccountThatStopsItsReadDoesNotHoldTheOtherAccounts(dribbling: Bool) throws {
        let host = 68
        defer { endOwnersLoop(host) }
        let (workspace, store, before) = try pushedBeforeTheStall(host)
        // 4 MB of comments (under the 4 MiB read limit) keep builder's read going long enough to be caught.
        let padded = try fleet.exec(host: host, ["su", "-s", "/bin/sh", "builder", "-c",
                                                 "yes '# padding padding padding padding padding padding' | head -c 4000000 >> ~/.ssh/authorized_keys"])
        try #require(padded.status == 0, "\(padded)")
        // IN_OPEN. Dribbling: the read lets a few bytes through every 1.5 s
        // (review s14: a rule that waited for silence never named it).
        try startOwnersLoop(host, watching: "/home/builder/.ssh/authorized_keys", mask: 0x20, hit: "bool(mask & 0x20)", dribble: dribbling)

        let after = try stallInventory(workspace, "after.yml", host: host, builder: "kp-usersample", usersample: "kp-usersample")
        let result = try pushUntilStalled(before, after, host, store: store)
        #expect(try fleet.exec(host: host, ["test", "-s", Self.stallFolder + "/stopped"]).succeeded, "the loop stopped nothing")
        #expect(result.status == .failed && result.errorKind == .accountStalled, "\(result)")
        #expect(result.error?.contains("reading the keys file of builder as builder did not finish in 6 s") == true, "\(result.error ?? "")")
        #expect(try login(host, "usersample", workspace, "kp-deploy") != 0, "the removal in usersample landed")
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0)
        // A whole scan for the rest (builder's open items, if any, carried as they were: ResultRecorderTests).
        let recorded = try store.writer.read { try Row.fetchOne($0, sql: "SELECT scanned, partial FROM host_results ORDER BY run_id DESC LIMIT 1") }
        #expect(recorded?["scanned"] == true && recorded?["partial"] == false, "\(String(describing: recorded))")
    }

    /// The same owner stops keysync's *write* as their account instead (when
    /// keysync chmods their key folder, right before the write): the apply
    /// waits out command_timeout, then the host is done again without that
    /// account, so the removal in the account after it lands. Host 68.
    @Test func anAccountThatStopsItsWriteDoesNotHoldTheAccountsAfterIt() throws {
        let host = 68
        defer { endOwnersLoop(host) }
        let (workspace, store, before) = try pushedBeforeTheStall(host)
        // IN_ATTRIB of the folder itself (keysync's chmod) or IN_CREATE of keysync's temp file.
        try startOwnersLoop(host, watching: "/home/builder/.ssh", mask: 0x4 | 0x100,
                            hit: #"(mask & 0x4 and not name) or (mask & 0x100 and name.startswith(b".keysync-"))"#)

        let after = try stallInventory(workspace, "after.yml", host: host, builder: "kp-usersample, kp-deploy", usersample: "kp-usersample")
        let result = try pushUntilStalled(before, after, host, store: store)
        #expect(result.status == .failed && result.errorKind == .accountStalled, "\(result)")
        #expect(result.error?.contains("the apply did not finish for builder in 6 s") == true, "\(result.error ?? "")")
        #expect(try login(host, "usersample", workspace, "kp-deploy") != 0, "the removal in usersample, after builder, landed")
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0)
        let deploy = try workspace.publicKey("kp-deploy")
        #expect(result.changes.contains { $0.contains("unexpected_key") && $0.contains(deploy.fingerprint) }, "\(result.changes)")
    }

    /// An exclusive account: the owner wraps a key of their own in a block
    /// of another inventory project (one that is not on this host); a
    /// `push --project` of the account's project removes it, and the key no
    /// longer logs in (review s13: it stayed through every scoped run). Host 68.
    @Test func anExclusiveAccountLosesAForgedBlockInAScopedPush() throws {
        let host = 68
        let workspace = try workspace()
        try resetAccounts(host)
        try resetAccounts(Self.anchor)
        defer { try? resetAccounts(host); try? resetAccounts(Self.anchor) }
        let exclusive = project("usersample", [host]).replacingOccurrences(of: "create: true,", with: "create: true, exclusive: true,")
        let inventory = try inventory(workspace, "x.yml", hosts: [host, Self.anchor],
                                      projects: exclusive + "\n" + project("ci", [Self.anchor], key: "kp-deploy"))
        let store = try Store(path: workspace.file("keysync.db"))
        try #require(try run(inventory, .push, store: store, projects: ["usersample"]).summary.failed == 0)
        let mine = try workspace.publicKey("mine")
        let forged = "# keysync:begin project=ci role=deploy\n\(mine.openSSHLine)\n# keysync:end project=ci role=deploy\n"
        try #require(try fleet.exec(host: host, ["sh", "-c", "cat >> \(file)"], stdin: Data(forged.utf8)).status == 0)
        #expect(try login(host, "usersample", workspace, "mine") == 0, "the forged block grants before the push")
        let push = try run(inventory, .push, store: store, projects: ["usersample"])
        #expect(push.hosts.first { $0.host == "h\(host)" }?.changes.contains { $0.contains("stale_block") } == true, "\(push.hosts)")
        #expect(try login(host, "usersample", workspace, "mine") != 0)
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0)
    }

    /// A host keysync never logged in to (it failed from the first run) and
    /// then removed from the inventory holds nothing of keysync's: `decommission
    /// --forget` takes it, and a whole-fleet check records it as gone by
    /// itself, so its failure leaves the report (review s13: it stayed
    /// "failed" for ever). Hosts 69 (real) and two ghosts on a closed port.
    @Test func aHostNeverReachedLeavesTheReportOnceItLeavesTheInventory() throws {
        let workspace = try workspace()
        try resetAccounts(Self.anchor)
        let address = fleet.hosts[Self.anchor].address
        func write(ghosts: [String]) throws -> Inventory {
            try workspace.write("g.yml", """
                \(fleet.inventoryDefaults())
                keys:
                  kp-usersample: { file: kp-usersample.pub }
                hosts:
                \(fleet.inventoryHosts([Self.anchor]))
                \(ghosts.enumerated().map { "  \($0.element): { address: \(address), port: \($0.offset + 1), connect_timeout: 2 }" }.joined(separator: "\n"))
                projects:
                \(project("usersample", [Self.anchor]).replacingOccurrences(of: "[h\(Self.anchor)]", with: "[\((["h\(Self.anchor)"] + ghosts).joined(separator: ", "))]"))
                """)
            return try Inventory.load(path: workspace.file("g.yml"))
        }
        let store = try Store(path: workspace.file("keysync.db"))
        let first = try run(try write(ghosts: ["ghost1", "ghost2"]), .check, store: store)
        #expect(first.hosts.filter { $0.status == .failed }.map(\.host).sorted() == ["ghost1", "ghost2"], "\(first.hosts)")
        #expect(try store.openDrift().filter { $0.kind == "host_unreachable" }.count == 2)

        let without = try write(ghosts: [])
        let forgotten = try Decommission.forget(host: "ghost1", inventory: without, store: store)
        #expect(forgotten.decommissioned)
        let check = try run(without, .check, store: store)
        #expect(check.summary.failed == 0, "\(check.hosts)")
        let failed = try store.latestHostResults().filter { $0.status == .failed }.map(\.host)
        #expect(failed.isEmpty, "still failed in the report: \(failed)")
        let open = try store.openDrift().filter { $0.host.hasPrefix("ghost") }.map { "\($0.host) \($0.kind) \($0.detail)" }
        #expect(open.isEmpty, "\(open)")
        #expect(try store.managedHosts().filter { $0.retired == .forgotten }.map(\.host).sorted() == ["ghost1", "ghost2"])
        try resetAccounts(Self.anchor)
    }

    /// A host removed from `hosts:` is listed, never contacted, by check and
    /// push (exit 2); `keysync decommission --dry-run` shows the diff,
    /// `keysync decommission` removes the block and a revoked key there,
    /// keeps the owner's key, and the host is no longer reported.
    @Test func departedHostIsListedThenDecommissioned() throws {
        let host = 65
        let workspace = try workspace()
        try createAccount(host, workspace)
        try resetAccounts(Self.anchor)
        try inventory(workspace, "before.yml", hosts: [host, Self.anchor], projects: project("usersample", [host, Self.anchor]))
        let db = workspace.file("keysync.db")
        let pushed = try KeySyncProcess.run(["push", "--inventory", workspace.file("before.yml"), "--db", db])
        try #require(pushed.status == 0, "\(pushed)")
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0)
        // Someone pastes a key that is revoked later.
        let stranger = try String(contentsOfFile: workspace.file("stranger.pub"), encoding: .utf8)
        try fleet.exec(host: host, ["su", "-s", "/bin/sh", "usersample", "-c", "cat >> \(file)"], stdin: Data(stranger.utf8))
        let fingerprint = try workspace.publicKey("stranger").fingerprint
        let after = try inventory(workspace, "after.yml", hosts: [Self.anchor], projects: project("usersample", [Self.anchor]),
                                  revoked: "revoked: [\(fingerprint)]")
        let untouched = try fleet.read(host: host, file)

        let check = try KeySyncProcess.run(["check", "--inventory", workspace.file("after.yml"), "--db", db, "--json"])
        #expect(check.status == 2, "\(check)")
        #expect(check.stdout.contains("\"kind\" : \"host_departed\"") && check.stdout.contains("\"host\" : \"h\(host)\""))
        let store = try Store(path: db)
        let push = try run(after, .push, store: store)
        #expect(push.exitCode(for: .push, dryRun: false) == 0, "a push that is done exits 0; the departed host is in its output")
        #expect(kinds(push, host) == [.hostDeparted])
        let departedRow = try store.hostResults(runID: try #require(push.run)).first { $0.host == "h\(host)" }
        #expect(departedRow?.scanned == false && departedRow?.status == .drift, "listed, not contacted")
        #expect(try fleet.read(host: host, file) == untouched)

        let decommission = ["decommission", "h\(host)", "--inventory", workspace.file("after.yml"), "--db", db, "--json"]
        let dry = try KeySyncProcess.run(decommission + ["--dry-run"])
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout.contains("\"action\" : \"dry_run\"") && dry.stdout.contains("\"decommissioned\" : false"))
        #expect(dry.stdout.contains("-# keysync:begin project=usersample role=deploy"))
        #expect(try fleet.read(host: host, file) == untouched)
        #expect(try KeySyncProcess.run(["check", "--inventory", workspace.file("after.yml"), "--db", db]).status == 2, "still departed")

        let done = try KeySyncProcess.run(decommission)
        #expect(done.status == 0, "\(done)")
        let report = try JSONDecoder().decode(DecommissionReport.self, from: Data(done.stdout.utf8))
        #expect(report.action == .decommission && report.decommissioned && report.status == .changed)
        #expect(report.address == fleet.hosts[host].address && report.accounts == ["usersample"])
        #expect(Set(report.drift.map(\.kind)) == [.staleBlock, .revokedKey])
        let mine = try String(contentsOfFile: workspace.file("mine.pub"), encoding: .utf8)
        #expect(String(decoding: try fleet.read(host: host, file), as: UTF8.self) == mine)
        #expect(try store.snapshots(host: "h\(host)", runID: report.run).first?.content == untouched, "snapshot before the write")
        #expect(try store.managedHost(named: "h\(host)")?.retired == .decommissioned)

        let recheck = try KeySyncProcess.run(["check", "--inventory", workspace.file("after.yml"), "--db", db])
        #expect(recheck.status == 0, "\(recheck)")
        let again = try KeySyncProcess.run(["decommission", "h\(Self.anchor)", "--inventory", workspace.file("after.yml"), "--db", db])
        #expect(again.status == 1 && again.stderr.contains("still under hosts:"), "\(again)")
        #expect(try login(host, "usersample", workspace, "mine") == 0)
        #expect(try login(host, "usersample", workspace, "stranger") != 0)
        #expect(try login(host, "usersample", workspace, "kp-usersample") != 0)
    }

    /// Decommission keeps the lockout guard: it refuses to remove keysync's
    /// own login key (an admin block in the login user's file) and an
    /// account's last keys, and the host stays departed; with the login key
    /// back outside any block, `--force` empties the account.
    @Test func decommissionKeepsTheLockoutGuard() throws {
        let host = 66
        let workspace = try workspace()
        try resetAccounts(host)
        try resetAccounts(Self.anchor)
        let adminFile = "/home/\(fleet.user)/.ssh/authorized_keys"
        let original = try fleet.read(host: host, adminFile)
        defer { _ = try? fleet.exec(host: host, ["sh", "-c", "cat > \(adminFile)"], stdin: Data(original)) }
        let admin = """
          admin:
            hosts: [h\(host)]
            roles:
              ops: { account: \(fleet.user), keys: [kp-admin] }
        """
        try inventory(workspace, "before.yml", hosts: [host, Self.anchor],
                      projects: project("usersample", [host, Self.anchor]) + "\n" + admin,
                      extraKeys: "  kp-admin: { file: \(fleet.keyPath(.ed25519)).pub }")
        let store = try Store(path: workspace.file("keysync.db"))
        let before = try Inventory.load(path: workspace.file("before.yml"))
        try #require(try run(before, .push, store: store).summary.failed == 0)
        // The login key now only inside keysync's admin block.
        let pushed = AuthorizedKeysFile(bytes: try fleet.read(host: host, adminFile))
        let block = try #require(pushed.managedBlocks.first)
        let onlyBlock = pushed.lines[(block.begin - 1)..<block.end].map(\.text).joined(separator: "\n") + "\n"
        try fleet.exec(host: host, ["sh", "-c", "cat > \(adminFile)"], stdin: Data(onlyBlock.utf8))

        let after = try inventory(workspace, "after.yml", hosts: [Self.anchor], projects: project("usersample", [Self.anchor]))
        let usersampleBefore = try fleet.read(host: host, file)
        let refused = try Decommission.run(host: "h\(host)", inventory: after, store: store)
        #expect(refused.exitCode == 2 && !refused.decommissioned && refused.status == .drift, "\(refused)")
        let refusals = refused.drift.filter { $0.kind == .lockoutRefused }
        #expect(Set(refusals.map(\.account)) == [fleet.user, "usersample"])
        #expect(refused.drift.last?.kind == .hostDeparted)
        #expect(try fleet.read(host: host, adminFile) == Array(onlyBlock.utf8))
        #expect(try fleet.read(host: host, file) == usersampleBefore)
        #expect(ManagedHistory(accounts: try store.managedAccounts(), hosts: try store.managedHosts())
            .departedHosts(.all, inventory: after).map(\.host) == ["h\(host)"], "still departed")
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0, "the guard held")

        try fleet.exec(host: host, ["sh", "-c", "cat > \(adminFile)"], stdin: Data(original))
        let forced = try Decommission.run(host: "h\(host)", inventory: after, store: store, force: true)
        #expect(forced.exitCode == 0 && forced.decommissioned, "\(forced)")
        #expect(try fleet.read(host: host, adminFile) == original)
        #expect(try fleet.ssh(host: host, command: "true").status == 0, "keysync's own login still works")
        #expect(try login(host, "usersample", workspace, "kp-usersample") != 0)
    }

    /// `--forget` contacts nothing (the old block still lets the key in),
    /// and the host is no longer reported; if it comes back under `hosts:`
    /// in no project, push still knows its block and removes it.
    @Test func forgottenHostIsNotContactedAndCleanedIfItReturns() throws {
        let host = 67
        let workspace = try workspace()
        try createAccount(host, workspace)
        try resetAccounts(Self.anchor)
        let before = try inventory(workspace, "before.yml", hosts: [host, Self.anchor], projects: project("usersample", [host, Self.anchor]))
        let db = workspace.file("keysync.db")
        let store = try Store(path: db)
        try #require(try run(before, .push, store: store).summary.failed == 0)
        let pushed = try fleet.read(host: host, file)

        let gone = try inventory(workspace, "gone.yml", hosts: [Self.anchor], projects: project("usersample", [Self.anchor]))
        #expect(kinds(try run(gone, .check, store: store), host) == [.hostDeparted])
        let forget = try KeySyncProcess.run(["decommission", "h\(host)", "--forget", "--inventory", workspace.file("gone.yml"), "--db", db])
        #expect(forget.status == 0 && forget.stdout.contains("recorded as gone, not contacted"), "\(forget)")
        #expect(try KeySyncProcess.run(["decommission", "h\(host)", "--forget", "--dry-run", "--db", db]).status == 1)
        let check = try run(gone, .check, store: store)
        #expect(check.exitCode(for: .check, dryRun: false) == 0 && !check.hosts.contains { $0.host == "h\(host)" })
        #expect(try fleet.read(host: host, file) == pushed, "not contacted")
        #expect(try login(host, "usersample", workspace, "kp-usersample") == 0)

        let back = try inventory(workspace, "back.yml", hosts: [host, Self.anchor], projects: project("usersample", [Self.anchor]))
        let push = try run(back, .push, store: store)
        #expect(kinds(push, host) == [.staleBlock] && push.hosts.first { $0.host == "h\(host)" }?.status == .changed, "\(push.hosts)")
        #expect(try store.managedHost(named: "h\(host)")?.retired == nil, "managed again")
        #expect(try login(host, "usersample", workspace, "mine") == 0)
        #expect(try login(host, "usersample", workspace, "kp-usersample") != 0)
    }
}
