import ArgumentParser
import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

/// The store-facing commands, parsed with `parseAsRoot` and run against a
/// database file filled with ``ReportFixture``.
@Suite struct ReportCommandTests {
    /// Runs `body` with a filled database file and an inventory next to it.
    func withFleet<T>(_ body: (_ db: String, _ inventory: String) throws -> T) throws -> T {
        try withTemporaryDirectory { dir in
            try ReportFixture.fill(Store(path: "\(dir)/keysync.db"))
            try ReportFilterTests.inventoryYAML.write(toFile: "\(dir)/inventory.yml", atomically: true, encoding: .utf8)
            return try body("\(dir)/keysync.db", "\(dir)/inventory.yml")
        }
    }

    func expectExit(_ code: Int32, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        let error = #expect(throws: ExitCode.self, sourceLocation: sourceLocation) { try body() }
        #expect(error?.rawValue == code, sourceLocation: sourceLocation)
    }

    // MARK: report

    @Test func reportParsing() throws {
        let defaults = try parseCommand(KeySyncCommand.Report.self, ["report"])
        #expect(defaults.since == "7d" && defaults.format == .table && defaults.output == nil)
        #expect(defaults.project.isEmpty && defaults.host.isEmpty && defaults.kind.isEmpty)
        let full = try parseCommand(KeySyncCommand.Report.self, [
            "report", "--since", "2024-05-01", "--format", "prometheus", "--output", "/tmp/k.prom", "--project", "a",
            "--project", "b", "--host", "web-1", "--kind", "file_mode", "--kind", "revoked_key", "--db", "k.db", "--inventory", "i.yml", "--db", "k2.db",
        ])
        #expect(full.format == .prometheus && full.output == "/tmp/k.prom" && full.project == ["a", "b"])
        #expect(full.host == ["web-1"] && full.kind == ["file_mode", "revoked_key"])
        #expect(full.databases == ["k.db", "k2.db"] && full.inventoryOption.inventory == "i.yml")
    }

    @Test func reportHelp() {
        #expect(KeySyncCommand.helpMessage(for: KeySyncCommand.Report.self, columns: 100) == """
            OVERVIEW: Report open drift and drift over time from the database (no SSH).

            Exit 0 even when drift is open (a report is not a check); 1 on bad usage or a missing database or
            inventory. With --expiring, the grants that end soon, from the inventory. With --unused, the grants
            with no login seen in the window (from the logins push and check read in sshd's log), each with
            since when its hosts are watched.

            USAGE: keysync report [--db <db> ...] [--inventory <inventory>] [--since <since>] [--format <format>] [--output <output>] [--project <project> ...] [--host <host> ...] [--kind <kind> ...] [--expiring <expiring>] [--unused <unused>]

            OPTIONS:
              --db <db>               SQLite database (default: $KEYSYNC_DB, then ./keysync.db); repeat it to
                                      report over several at once, e.g. one per --shard or controller.
              --inventory <inventory> Inventory file (default: $KEYSYNC_INVENTORY, then ./inventory.yml).
              --since <since>         History window: an age (30m, 12h, 7d, 2w) or an ISO 8601 date. Open drift
                                      is always shown, however old. (default: 7d)
              --format <format>       Output format. (values: table, json, markdown, csv, html, prometheus;
                                      default: table)
              --output <output>       Write to this file atomically (temp file + rename) instead of stdout.
              --project <project>     Only the hosts and role accounts of this project (repeatable; needs the
                                      inventory).
              --host <host>           Only this host (repeatable).
              --kind <kind>           Only this drift kind, e.g. file_mode or revoked_key (repeatable).
              --expiring <expiring>   Instead of drift: the inventory's grants (until:) that end within this
                                      age (14d) or by this date, and those already ended. Needs the inventory,
                                      not the database.
              --unused <unused>       Instead of drift: the inventory's grants with no login seen in this
                                      window (90d, or an ISO 8601 date), with since when each host is watched;
                                      0d: none since the latest scan of each host. Needs the inventory and the
                                      database.
              --version               Show the version.
              -h, --help              Show help information.

            """)
    }

    @Test func reportValidation() {
        #expect(parseError(["report", "--since", "7days"])
            == "--since: expected an age such as 30m, 12h, 7d or 2w, or an ISO 8601 date such as 2024-05-01 or 2024-05-01T10:00:00Z, got \"7days\"")
        #expect(parseError(["report", "--kind", "file_mode", "--kind", "drifty", "--kind", "x"])
            == "unknown drift kind \"drifty\", \"x\"; valid kinds: " + DriftKind.allCases.map(\.rawValue).joined(separator: ", "))
        #expect(parseError(["report", "--format", "pdf"]).hasPrefix("The value 'pdf' is invalid for '--format <format>'"))
        #expect(parseError(["report", "--output", ""]) == "--output needs a file name")
    }

    @Test func reportRendersFromTheDatabaseFile() throws {
        try withFleet { (db, inventory) throws in
            let report = try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db, "--since", "2023-11-14", "--format", "csv"])
            #expect(try report.render(now: hour(25)) == ReportFormat.csv.render(ReportFixture.report(Store(path: db))))
            let project = try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db, "--inventory", inventory, "--project", "billing"])
            #expect(lines(try project.render(now: hour(25)))[1].hasPrefix("db-1  billing  account_locked"))
            #expect(lines(try project.render(now: hour(25))).count == 5)
        }
    }

    @Test func reportFailsClearlyWithoutADatabaseOrInventory() throws {
        try withFleet { (db, _) throws in
            expectExit(1) { _ = try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db + ".missing"]).render() }
            #expect(!FileManager.default.fileExists(atPath: db + ".missing"))
            expectExit(1) {
                _ = try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db, "--inventory", db + ".yml", "--project", "billing"]).render()
            }
            expectExit(1) {
                _ = try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db, "--inventory", db.replacingOccurrences(of: "keysync.db", with: "inventory.yml"),
                                                            "--project", "bilink"]).render()
            }
        }
    }

    @Test(arguments: [(ReportFormat.prometheus, 0o644), (.html, 0o600)])
    func reportOutputIsWrittenAtomically(_ format: ReportFormat, _ mode: Int) throws {
        try withFleet { (db, _) throws in
            let dir = URL(fileURLWithPath: db).deletingLastPathComponent().path
            let output = "\(dir)/out/keysync.\(format.rawValue)"
            try FileManager.default.createDirectory(atPath: "\(dir)/out", withIntermediateDirectories: false)
            let command = try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db, "--format", format.rawValue, "--output", output])
            try command.run()
            let written = try String(contentsOfFile: output, encoding: .utf8)
            // The same report apart from the generation time.
            let expected = try command.render()
            #expect(written.split(separator: "\n").count == expected.split(separator: "\n").count)
            #expect(written.contains(format == .html ? "</html>\n" : "keysync_run_duration_seconds 60\n"))
            #expect(try FileManager.default.attributesOfItem(atPath: output)[.posixPermissions] as? Int == mode)
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out") == ["keysync.\(format.rawValue)"])
        }
    }

    /// The same database named twice would be counted twice: refused, naming both.
    @Test func theSameDatabaseTwiceIsRefused() throws {
        try withFleet { (db, _) throws in
            let dir = URL(fileURLWithPath: db).deletingLastPathComponent().path
            let other = dir + "/./" + URL(fileURLWithPath: db).lastPathComponent
            expectExit(1) { _ = try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db, "--db", other]).render() }
        }
    }

    /// An empty file is no database: refused, and left empty (opening it would make it one).
    @Test func anEmptyFileIsNotADatabase() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/empty.db"
            FileManager.default.createFile(atPath: path, contents: Data())
            expectExit(1) { _ = try parseCommand(KeySyncCommand.Report.self, ["report", "--db", path, "--format", "prometheus"]).render() }
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            #expect(size == 0)
        }
    }

    /// A report file already there keeps its mode and group (published
    /// through a web server's group); a symlink there is refused, untouched.
    @Test func reportOutputKeepsTheFilesModeAndRefusesALink() throws {
        try withFleet { (db, _) throws in
            let dir = URL(fileURLWithPath: db).deletingLastPathComponent().path
            let output = "\(dir)/keysync.html"
            try Data("old".utf8).write(to: URL(fileURLWithPath: output))
            #expect(chmod(output, 0o640) == 0 && chown(output, 0, 4) == 0)
            try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db, "--format", "html", "--output", output]).run()
            let attributes = try FileManager.default.attributesOfItem(atPath: output)
            #expect(attributes[.posixPermissions] as? Int == 0o640 && attributes[.groupOwnerAccountID] as? Int == 4)
            #expect(try String(contentsOfFile: output, encoding: .utf8).contains("</html>"))

            let target = "\(dir)/target", link = "\(dir)/link.prom"
            try Data("kept".utf8).write(to: URL(fileURLWithPath: target))
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
            expectExit(1) {
                try parseCommand(KeySyncCommand.Report.self, ["report", "--db", db, "--format", "prometheus", "--output", link]).run()
            }
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "kept")
        }
    }

    // MARK: where

    @Test func whereByFingerprintNameFileAndLine() throws {
        try withFleet { (db, inventory) throws in
            func whereText(_ key: String, json: Bool = false) throws -> String {
                try parseCommand(KeySyncCommand.Where.self, ["where", key, "--db", db, "--inventory", inventory] + (json ? ["--json"] : [])).render()
            }
            #expect(try whereText(ReportFixture.bob) == """
                SHA256:c90/8g40PjjHo56cJFRy66U9iLA2iqDMv/L93+KqJho: seen in 2 accounts on 2 hosts
                HOST   ACCOUNT     MANAGED  TYPE         LAST SEEN             RUN  IN LATEST SCAN  COMMENT
                db-1   root        no       ssh-ed25519  2023-11-15T22:13:21Z  3    yes             bob@old-laptop
                web-1  usersample  no       ssh-ed25519  2023-11-14T23:13:21Z  2    no              bob@test
                last use: no login with it seen in sshd's logs

                """)
            #expect(lines(try whereText("kp-billing"))[0] == "\(ReportFixture.bob) (kp-billing): seen in 2 accounts on 2 hosts")
            #expect(lines(try whereText(InventoryFixtures.bob))[0] == "\(ReportFixture.bob) (bob@test): seen in 2 accounts on 2 hosts")
            let file = db + ".alice.pub"
            try (InventoryFixtures.alice + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(lines(try whereText(file)) == [
                "\(ReportFixture.alice) (\(file)): seen in 1 account on 1 host",
                "HOST   ACCOUNT     MANAGED  TYPE         LAST SEEN             RUN  IN LATEST SCAN  COMMENT",
                "web-1  usersample  yes      ssh-ed25519  2023-11-15T22:13:21Z  3    yes             kp-usersample",
                "last use: no login with it seen in sshd's logs",
                "",
            ])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(whereText("kp-usersample", json: true).utf8)) as? [String: Any])
            #expect(json["fingerprint"] as? String == ReportFixture.alice && json["label"] as? String == "kp-usersample")
            let sighting = try #require((json["sightings"] as? [[String: Any]])?.first)
            #expect(sighting["host"] as? String == "web-1" && sighting["managed"] as? Bool == true)
            #expect(sighting["first_seen_run"] as? Int == 2 && sighting["last_seen_run"] as? Int == 3)
            #expect(sighting["in_latest_scan"] as? Bool == true && sighting["last_seen_at"] as? String == "2023-11-15T22:13:21Z")
        }
    }

    @Test func whereAKeyNeverSeenIsNotAnError() throws {
        try withFleet { (db, _) throws in
            let nowhere = InventoryFixtures.carolFingerprint
            #expect(try parseCommand(KeySyncCommand.Where.self, ["where", nowhere, "--db", db]).render() == "\(nowhere): not seen on any host\nlast use: no login with it seen in sshd's logs\n")
            let json = try parseCommand(KeySyncCommand.Where.self, ["where", nowhere, "--db", db, "--json"]).render()
            #expect(json == "{\n  \"fingerprint\" : \"\(nowhere)\",\n  \"logins\" : [\n\n  ],\n  \"sightings\" : [\n\n  ]\n}\n")
        }
    }

    @Test func whereAKeyThatCannotBeParsedExits1() throws {
        try withFleet { (db, inventory) throws in
            let garbage = db + ".garbage.pub"
            try "not a key\n".write(toFile: garbage, atomically: true, encoding: .utf8)
            for key in ["SHA256:tooshort", "SHA256:" + String(repeating: "!", count: 43), garbage, "kp-nobody", "ssh-ed25519 AAAA broken"] {
                expectExit(1) { _ = try parseCommand(KeySyncCommand.Where.self, ["where", key, "--db", db, "--inventory", inventory]).render() }
            }
            // A key name needs the inventory.
            expectExit(1) { _ = try parseCommand(KeySyncCommand.Where.self, ["where", "kp-billing", "--db", db, "--inventory", db + ".none"]).render() }
        }
    }

    @Test func whereResolvesWithoutLoadingTheInventoryUnlessItIsAName() throws {
        let unused: () throws -> KeySync.Inventory = { Issue.record("inventory loaded"); throw ExitCode(1) }
        #expect(try KeySyncCommand.Where.resolve(ReportFixture.alice, inventory: unused) == (ReportFixture.alice, nil))
        #expect(try KeySyncCommand.Where.resolve(InventoryFixtures.alice, inventory: unused) == (ReportFixture.alice, "alice@test"))
        let inventory = try InventoryFixtures.load(ReportFilterTests.inventoryYAML)
        #expect(try KeySyncCommand.Where.resolve("kp-usersample", inventory: { inventory }) == (ReportFixture.alice, "kp-usersample"))
    }

    // MARK: history

    @Test func historyOfAHostNewestFirst() throws {
        try withFleet { (db, _) throws in
            func history(_ arguments: String...) throws -> String {
                try parseCommand(KeySyncCommand.History.self, ["history", "--db", db] + arguments).render()
            }
            #expect(try history("--host", "web-1") == """
                RUN  STARTED               COMMAND  STATUS   ACCOUNT     WHAT      DETAIL
                3    2023-11-15T22:13:20Z  check    drift    usersample  drift     file_mode: /home/usersample/.ssh/authorized_keys mode 0666, want 0600
                2    2023-11-14T23:13:20Z  push     changed  usersample  fixed     missing_key: kp-usersample
                2    2023-11-14T23:13:20Z  push     changed  usersample  fixed     file_mode: /home/usersample/.ssh/authorized_keys mode 0644, want 0600
                2    2023-11-14T23:13:20Z  push     changed  usersample  change    added kp-usersample
                2    2023-11-14T23:13:20Z  push     changed  usersample  change    chmod 0600 /home/usersample/.ssh/authorized_keys
                2    2023-11-14T23:13:20Z  push     changed  usersample  snapshot  /home/usersample/.ssh/authorized_keys sha256 7604167b40bf
                1    2023-11-14T22:13:20Z  check    drift    usersample  drift     missing_key: kp-usersample
                1    2023-11-14T22:13:20Z  check    drift    usersample  drift     file_mode: /home/usersample/.ssh/authorized_keys mode 0644, want 0600

                """)
            #expect(try history("--host", "web-2", "--limit", "2") == """
                RUN  STARTED               COMMAND  STATUS  ACCOUNT  WHAT   DETAIL
                3    2023-11-15T22:13:20Z  check    failed           error  connect to 10.0.0.12:22 timed out after 10 s
                3    2023-11-15T22:13:20Z  check    failed           drift  host_unreachable: connect to 10.0.0.12:22 timed out after 10 s
                2    2023-11-14T23:13:20Z  push     ok               -

                """)
            #expect(lines(try history("--host", "db-1", "--account", "billing")).compactMap { $0.split(separator: " ").first } == ["RUN", "3", "2"])
            #expect(try history("--host", "lab-9") == "no runs recorded for lab-9\n")
            #expect(try history() == """
                RUN  STARTED               COMMAND  STATUS     HOSTS  CHANGED  DRIFT  FAILED  SECONDS  SELECTION
                3    2023-11-15T22:13:20Z  check    completed  3      0        2      1       60.0     --project usersample
                2    2023-11-14T23:13:20Z  push     completed  3      1        1      0       60.0     --project usersample
                1    2023-11-14T22:13:20Z  check    completed  3      0        1      0       60.0     --project usersample

                """)
        }
    }

    @Test func historyJSON() throws {
        try withFleet { (db, _) throws in
            let hostJSON = try parseCommand(KeySyncCommand.History.self, ["history", "--db", db, "--host", "web-1", "--limit", "2", "--json"]).render()
            let host = try #require(try JSONSerialization.jsonObject(with: Data(hostJSON.utf8)) as? [String: Any])
            let runs = try #require(host["runs"] as? [[String: Any]])
            #expect(host["host"] as? String == "web-1" && runs.map { $0["run"] as? Int } == [3, 2])
            #expect((runs[1]["changes"] as? [[String: Any]])?.map { $0["detail"] as? String } == ["added kp-usersample", "chmod 0600 \(ReportFixture.usersampleFile)"])
            #expect((runs[1]["drift"] as? [[String: Any]])?.map { $0["fixed"] as? Bool } == [true, true])
            #expect((runs[1]["result"] as? [String: Any])?["status"] as? String == "changed")
            #expect((runs[1]["snapshots"] as? [[String: Any]])?.first?["hash"] as? String == SHA256Digest.hex(ReportFixture.before))
            let files = try #require(runs[1]["files"] as? [[String: Any]])
            #expect(files.count == 1 && files[0]["account"] as? String == "usersample" && files[0]["path"] as? String == ReportFixture.usersampleFile)
            #expect(files[0]["hash_before"] as? String == SHA256Digest.hex(ReportFixture.before) && files[0]["hash_after"] as? String == "ab12")
            #expect((runs[0]["files"] as? [[String: Any]])?.isEmpty == true)
            let allJSON = try parseCommand(KeySyncCommand.History.self, ["history", "--db", db, "--json", "--limit", "1"]).render()
            let all = try #require((try JSONSerialization.jsonObject(with: Data(allJSON.utf8)) as? [String: Any])?["runs"] as? [[String: Any]])
            #expect(all.count == 1 && all[0]["run"] as? Int == 3 && all[0]["drift"] == nil)
            let summary = try #require(all[0]["summary"] as? [String: Any])
            #expect(summary["hosts"] as? Int == 3 && summary["failed"] as? Int == 1 && summary["seconds"] as? Double == 60)
        }
    }

    @Test func historyValidation() {
        #expect(parseError(["history", "--account", "root"]) == "--account needs --host")
        #expect(parseError(["history", "--limit", "0"]) == "--limit must be at least 1")
    }

    // MARK: prune

    @Test func pruneSaysWhatItRemoved() throws {
        try withFleet { (db, _) throws in
            let prune = try parseCommand(KeySyncCommand.Prune.self, ["prune", "--keep", "12h", "--db", db])
            // Run 2 stays: it is web-2's latest scan (run 3 could not reach it).
            let rendered = try prune.render(now: hour(25)), kept = try Store(path: db).runs().map(\.id)
            #expect(rendered == "removed 1 run, 0 snapshot contents and 1 key sighting from before 2023-11-15T11:13:20Z\n", "\(rendered)")
            #expect(kept.sorted() == [2, 3], "\(kept)")
            let json = try parseCommand(KeySyncCommand.Prune.self, ["prune", "--keep", "12h", "--db", db, "--json"]).render(now: hour(25))
            #expect(json == """
                {
                  "cutoff" : "2023-11-15T11:13:20Z",
                  "host_keys" : 0,
                  "runs" : 0,
                  "snapshots" : 0
                }

                """)
        }
    }

    @Test func pruneValidation() {
        #expect(parseError(["prune"]) == "Missing expected argument '--keep <keep>'")
        #expect(parseError(["prune", "--keep", "forever"]).hasPrefix("--keep: expected an age such as 30m"))
        #expect(parseError(["prune", "--keep", "2999-01-01"]) == "--keep: 2999-01-01 is in the future; that would remove every run")
    }

    // MARK: restore

    @Test func restoreDryRunShowsTheEarlierContent() throws {
        try withFleet { (db, inventory) throws in
            let restore = try parseCommand(KeySyncCommand.Restore.self, ["restore", "--host", "web-1", "--run", "2", "--dry-run", "--db", db, "--inventory", inventory])
            #expect(restore.runID == 2 && restore.dryRun)
            #expect(try restore.render() == """
                would restore 1 file on web-1 to the content before run 2 (push, 2023-11-14T23:13:20Z):
                  /home/usersample/.ssh/authorized_keys (account usersample): 90 bytes, sha256 \(SHA256Digest.hex(ReportFixture.before))
                    ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ7VhfDTf72vO/4wVVnlPMeUxaGBXgq6vJwb1xYPQoi bob@test

                """)
        }
    }

    @Test func restoreDoesNotPretendToWrite() throws {
        try withFleet { (db, inventory) throws in
            expectExit(1) { try parseCommand(KeySyncCommand.Restore.self, ["restore", "--host", "web-1", "--run", "2", "--db", db]).run() }
            // Nothing to restore: a run without snapshots on the host, an unknown run, another account.
            for arguments in [["--host", "db-1", "--run", "2"], ["--host", "web-1", "--run", "99"],
                              ["--host", "web-1", "--run", "2", "--account", "root"]] {
                expectExit(1) { _ = try parseCommand(KeySyncCommand.Restore.self, ["restore", "--dry-run", "--db", db, "--inventory", inventory] + arguments).render() }
            }
        }
    }

    /// The dry run shows what the restore writes: a key revoked since is
    /// left out of the content and named, as the restore does it.
    @Test func restorePlanLeavesRevokedKeysOutOfTheContentItShows() throws {
        let run = Store.Run(id: 7, command: "push", selection: "", startedAt: hour(0), status: .completed, hosts: 1, changed: 1, drift: 0, failed: 0)
        let content = Array("# kept\n".utf8) + ReportFixture.before
        let snapshot = Store.Snapshot(ref: Store.SnapshotRef(runID: 7, host: "web-1", account: "deploy", path: "/home/deploy/.ssh/authorized_keys",
                                                             hash: SHA256Digest.hex(content), takenAt: hour(0)), content: content)
        #expect(RestorePlan(host: "web-1", run: run, snapshots: [snapshot], revoked: [ReportFixture.bob]).text(content: true) == """
            would restore 1 file on web-1 to the content before run 7 (push, 2023-11-14T22:13:20Z):
              /home/deploy/.ssh/authorized_keys (account deploy): \(content.count) bytes, sha256 \(SHA256Digest.hex(content)); 7 bytes come back
                not restoring revoked key ssh-ed25519 \(ReportFixture.bob) (line 2 of the snapshot)
                # kept

            """)
    }

    @Test func restorePlanShowsMissingFilesAndControlCharacters() throws {
        let run = Store.Run(id: 7, command: "push", selection: "", startedAt: hour(0), status: .completed, hosts: 1, changed: 1, drift: 0, failed: 0)
        let created = Store.Snapshot(ref: Store.SnapshotRef(runID: 7, host: "web-1", account: "new", path: "/home/new/.ssh/authorized_keys",
                                                            hash: nil, takenAt: hour(0)), content: nil)
        let content = Array("# \u{1B}]0;owned\u{7}\r\nssh-ed25519 AAAA x".utf8)
        let odd = Store.Snapshot(ref: Store.SnapshotRef(runID: 7, host: "web-1", account: "root", path: "/root/.ssh/authorized_keys",
                                                        hash: SHA256Digest.hex(content), takenAt: hour(0)), content: content)
        #expect(RestorePlan(host: "web-1", run: run, snapshots: [created, odd]).text(content: true) == """
            would restore 1 file on web-1 to the content before run 7 (push, 2023-11-14T22:13:20Z):
              /home/new/.ssh/authorized_keys (account new): did not exist before; not deleted (keysync never deletes it: remove it by hand if you mean to)
              /root/.ssh/authorized_keys (account root): \(content.count) bytes, sha256 \(SHA256Digest.hex(content))
                # \\u{1B}]0;owned\\u{7}\\u{D}
                ssh-ed25519 AAAA x
                (no newline at end of file)

            """)
        #expect(!RestorePlan(host: "web-1", run: run, snapshots: [odd]).text(content: false).contains("ssh-ed25519"))
        let krl = Store.Snapshot(ref: Store.SnapshotRef(runID: 7, host: "web-1", account: "", path: "/etc/ssh/keysync/revoked_keys.krl",
                                                        hash: SHA256Digest.hex([1]), takenAt: hour(0)), content: [1])
        #expect(RestorePlan(host: "web-1", run: run, snapshots: [krl, odd]).text(content: false) == """
            restore 1 file on web-1 to the content before run 7 (push, 2023-11-14T22:13:20Z):
              /etc/ssh/keysync/revoked_keys.krl (root file): not restored; `keysync push --host web-1` writes it from the inventory
              /root/.ssh/authorized_keys (account root): \(content.count) bytes, sha256 \(SHA256Digest.hex(content))

            """)
    }

    @Test func restoreForceIsAFlagOffByDefault() throws {
        #expect(try parseCommand(KeySyncCommand.Restore.self, ["restore", "--host", "web-1", "--run", "2", "--force"]).force)
        #expect(try !parseCommand(KeySyncCommand.Restore.self, ["restore", "--host", "web-1", "--run", "2"]).force)
    }

    @Test func restoreParsing() {
        #expect(parseError(["restore", "--host", "web-1"]) == "Missing expected argument '--run <run>'")
        #expect(parseError(["restore", "--run", "3"]) == "Missing expected argument '--host <host>'")
        #expect(parseError(["restore", "--host", "web-1", "--run", "x"]).hasPrefix("The value 'x' is invalid for '--run <run>'"))
    }
}
