import Foundation
import GRDB
import Testing
@testable import KeySync

/// Issue 8, "Done when": `kill -9` of the keysync process during phase 1 and
/// during phase 3, then `--resume`, on hosts 150–159. Part of the serialized
/// ``RotationTests`` suite (they share hosts 120–159).
extension RotationTests {
    /// Runs the binary, SIGKILLs it at random points (three times while adding, three times
    /// while retiring, each a random 0–60 ms after the database shows that this
    /// process moved one more host through the step), resumes until it completes.
    /// A watcher in every host samples the authorized_keys every 50 ms for the
    /// whole run: no sample may lack both keys.
    @Test func killNineDuringAddAndRetireThenResumeNeverLeavesAHostWithoutAKey() throws {
        let hosts = Array(150...159)
        let (workspace, _, store, old, new) = try begin(hosts, binary: true)
        let db = workspace.file("keysync.db"), inv = workspace.file("inventory.yml")
        let oldBlob = try blob(old + ".pub"), newBlob = try blob(new + ".pub")

        let watch = try HostKeyWatch.start(fleet, hosts: hosts, file: Self.file, old: oldBlob, new: newBlob)
        var stopped = false
        defer { if !stopped { _ = try? watch.stop() } }

        let reached: [RotationStep: Set<Store.RotationPhase>] = [.add: [.added, .verified, .retired], .retire: [.retired]]
        func progress(_ step: RotationStep) throws -> Int {
            guard let rotation = try store.latestRotation() else { return 0 }
            return try store.rotationHosts(id: rotation.id).filter { reached[step]!.contains($0.completedPhase) }.count
        }
        var journal: [String] = []  // what happened, for failure messages
        let start = ["rotate", "kp-usersample", "--new-key", new + ".pub", "--verify-identity", new,
                     "--inventory", inv, "--db", db, "--parallel", "2"]
        let resume = { (id: Int64) in ["rotate", "--resume", String(id), "--inventory", inv, "--db", db, "--parallel", "2"] }
        var id: Int64?
        var kills = 0
        for step in [RotationStep.add, .add, .add, .retire, .retire, .retire] {
            let before = try progress(step)
            guard before < hosts.count else { journal.append("\(step.rawValue): nothing left, no kill"); continue }
            let child = try KeySyncProcess(id.map(resume) ?? start)
            let deadline = Date().addingTimeInterval(120)
            while child.isRunning, Date() < deadline, try progress(step) <= before { usleep(5_000) }
            let delay = UInt32.random(in: 0...60_000)
            usleep(delay)
            let at = try progress(step)
            child.kill9()
            let result = child.wait()
            journal.append("\(step.rawValue): killed after \(at - before) more host(s) + \(delay / 1000) ms, exit \(result.status)")
            #expect(result.status == 128 + SIGKILL, "the kill landed while it ran: \(journal) \(result)")
            kills += result.status == 128 + SIGKILL ? 1 : 0
            #expect(try integrity(db) == "ok")
            id = try store.latestRotation()?.id
        }
        #expect(kills >= 4, "\(journal)")
        let rotation = try #require(id)
        let last = try KeySyncProcess.run(resume(rotation))
        #expect(last.status == 0 && last.stdout.contains("10 retired, 0 failed, 0 pending — rotation completed"), "\(journal) \(last)")
        let logs = try watch.stop()
        stopped = true

        for host in hosts {
            let log = logs[host] ?? []
            let states = log.filter { !$0.hasPrefix("end ") }.map { $0.split(separator: " ").last.map(String.init) ?? "" }
            let samples = log.last.flatMap { $0.hasPrefix("end ") ? Int($0.dropFirst(4)) : nil } ?? 0
            #expect(!states.isEmpty && states.allSatisfy { $0 == "10" || $0 == "11" || $0 == "01" },
                    "h\(host) never lost both keys: \(log) \(journal)")
            #expect(states.first == "10" && states.last == "01", "h\(host): \(log)")
            #expect(samples >= 20, "h\(host) was watched for the whole run: \(log)")
        }
        #expect(parallelLogins(hosts, key: new) == Array(repeating: 0, count: 10))
        #expect(parallelLogins(hosts, key: old).allSatisfy { $0 == 255 })
        #expect(try integrity(db) == "ok")
        #expect(try store.retiredFingerprints() == [try fingerprint(old + ".pub")])
        print("kill -9 test: \(journal)")
    }
}
