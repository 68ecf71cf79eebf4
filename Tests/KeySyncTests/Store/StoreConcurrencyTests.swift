import Foundation
import GRDB
import Testing
@testable import KeySync
import Synchronization

@Suite struct StoreConcurrencyTests {
    /// Like a cron `check` while an operator runs `push`: two independent
    /// stores (separate connections, as two processes have) open a new file at
    /// the same moment and write and read concurrently; both succeed.
    @Test func twoStoresOnOneFileBothSucceed() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/keysync.db"
            let writers = 2, runsEach = 5, hostsPerRun = 40
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: writers) { writer in
                do {
                    let store = try Store(path: path)
                    for run in 0..<runsEach {
                        let runID = try store.beginRun(command: writer == 0 ? "check" : "push")
                        for n in 0..<hostsPerRun {
                            let content = Array("key \(writer) \(run) \(n % 7)\n".utf8)
                            try store.recordHostResult(Store.HostRecord(
                                host: "web-\(n)", status: .drift,
                                drift: [missing("SHA256:\(writer)-\(n)")],
                                seenKeys: [.init(account: "usersample", fingerprint: "SHA256:\(n)", keyType: "ssh-ed25519", managed: true)],
                                snapshots: [.init(account: "usersample", path: "/home/usersample/.ssh/authorized_keys", content: content)]
                            ), runID: runID)
                            if n % 10 == 0 { _ = try store.openDrift() }
                        }
                        try store.finishRun(id: runID)
                    }
                } catch {
                    failures.append("writer \(writer): \(error)")
                }
            }
            #expect(failures.all.isEmpty)

            let store = try Store(path: path)
            let runs = try store.runs()
            #expect(runs.count == writers * runsEach)
            #expect(runs.allSatisfy { $0.status == .completed && $0.hosts == hostsPerRun })
            let (integrity, results, keys) = try sql(store) { db in
                (try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                 try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM host_results"),
                 try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM host_keys"))
            }
            #expect(integrity == "ok")
            #expect(results == writers * runsEach * hostsPerRun)
            #expect(keys == hostsPerRun)
        }
    }
}

extension StoreConcurrencyTests {
    static let sqlite3 = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Another process (the `sqlite3` shell) holds the write lock for a second;
    /// a store write waits for it instead of failing.
    @Test(.enabled(if: sqlite3 != nil, "needs the sqlite3 shell (apt-get install sqlite3)"))
    func aWriteWaitsForAnotherProcess() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/keysync.db"
            let store = try Store(path: path)
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: Self.sqlite3!)
            shell.arguments = [path]
            let input = Pipe()
            shell.standardInput = input
            try shell.run()
            input.fileHandleForWriting.write(Data("""
                BEGIN IMMEDIATE;
                INSERT INTO runs (command, started_at) VALUES ('other', '2024-01-01 00:00:00.000');
                .shell touch \(dir)/locked; sleep 1
                COMMIT;

                """.utf8))
            try input.fileHandleForWriting.close()
            while !FileManager.default.fileExists(atPath: "\(dir)/locked") && shell.isRunning { usleep(10_000) }
            let runID = try store.beginRun(command: "check")
            shell.waitUntilExit()
            #expect(shell.terminationStatus == 0)
            #expect(try store.runs().map(\.command) == ["check", "other"])
            #expect(try store.run(id: runID)?.status == .running)
        }
    }
}

/// Errors gathered from worker threads.
final class Failures: Sendable {
    private let items = Mutex<[String]>([])
    func append(_ item: String) { items.withLock { $0.append(item) } }
    var all: [String] { items.withLock { $0 } }
}
