import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import KeySync

/// A small fleet over three runs, recorded the way push and check record it:
///
/// - run 1, `check` at hour 0: web-1 misses kp-usersample and its file is 0644; web-2 and db-1 are fine.
/// - run 2, `push` at hour 1: web-1 repaired (snapshot kept); db-1's billing account is locked (push cannot fix that).
/// - run 3, `check` at hour 24: web-1's file is 0666 now; db-1 still locked and root has a revoked key; web-2 unreachable.
///
/// Open afterwards: db-1 account_locked since run 2; db-1 revoked_key, web-1 file_mode and web-2 host_unreachable since run 3.
enum ReportFixture {
    /// The start of the grant reports' inventories (expiring, unused,
    /// review): `defaults:` and keys alice and bob inline, carol from its file.
    static let grantKeys = """
        defaults: {user: ops}
        keys:
          alice: {public: "\(InventoryFixtures.alice)"}
          bob: {public: "\(InventoryFixtures.bob)"}
          carol: {file: keys/carol.pub}
        """

    /// The report inventories' hosts: web-1 and web-2 in group web, db-1 in none.
    static let hosts = """
        hosts:
          web-1: {address: 127.77.0.1, groups: [web]}
          web-2: {address: 127.77.0.2, groups: [web]}
          db-1: {address: 127.77.0.3}
        """

    static let alice = "SHA256:+pxUqe1KdBg7txDmCBGZPwSVVsyPSr0pX26NVRC626c"
    static let bob = "SHA256:c90/8g40PjjHo56cJFRy66U9iLA2iqDMv/L93+KqJho"
    static let usersampleFile = "/home/usersample/.ssh/authorized_keys"
    static let before = Array("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ7VhfDTf72vO/4wVVnlPMeUxaGBXgq6vJwb1xYPQoi bob@test\n".utf8)
    static let locked = Store.DriftRecord(account: "billing", kind: "account_locked", detail: "password locked (!) in /etc/shadow")
    static let revoked = Store.DriftRecord(account: "root", kind: "revoked_key", detail: "bob@old-laptop is revoked", fingerprint: bob)
    static let unreachable = "connect to 10.0.0.12:22 timed out after 10 s"

    static func mode(_ mode: String, fixed: Bool = false) -> Store.DriftRecord {
        Store.DriftRecord(account: "usersample", kind: "file_mode", detail: "\(usersampleFile) mode \(mode), want 0600", fixed: fixed)
    }

    static func seen(_ account: String, _ fingerprint: String, managed: Bool, comment: String) -> Store.SeenKey {
        Store.SeenKey(account: account, fingerprint: fingerprint, keyType: "ssh-ed25519", comment: comment, managed: managed)
    }

    /// Fills `store`; returns the three run ids.
    @discardableResult
    static func fill(_ store: Store) throws -> [Int64] {
        let bobOnWeb = seen("usersample", bob, managed: false, comment: "bob@test")
        let aliceOnWeb = seen("usersample", alice, managed: true, comment: "kp-usersample")
        let bobOnDB = seen("root", bob, managed: false, comment: "bob@old-laptop")
        let first = try recordRun(store, "check", at: hour(0), [
            Store.HostRecord(host: "web-1", status: .drift, milliseconds: 840, drift: [
                Store.DriftRecord(account: "usersample", kind: "missing_key", detail: "kp-usersample", fingerprint: alice),
                mode("0644"),
            ], seenKeys: [bobOnWeb]),
            Store.HostRecord(host: "web-2", status: .ok, milliseconds: 610),
            Store.HostRecord(host: "db-1", status: .ok, milliseconds: 700, seenKeys: [bobOnDB]),
        ])
        let second = try recordRun(store, "push", at: hour(1), [
            Store.HostRecord(host: "web-1", status: .changed, milliseconds: 1200, hashBefore: SHA256Digest.hex(before), hashAfter: "ab12",
                             files: [Store.FileHashRecord(account: "usersample", path: usersampleFile, hashBefore: SHA256Digest.hex(before), hashAfter: "ab12")],
                             drift: [
                Store.DriftRecord(account: "usersample", kind: "missing_key", detail: "kp-usersample", fingerprint: alice, fixed: true),
                mode("0644", fixed: true),
            ], changes: [
                Store.ChangeRecord(account: "usersample", detail: "added kp-usersample"),
                Store.ChangeRecord(account: "usersample", detail: "chmod 0600 \(usersampleFile)"),
            ], seenKeys: [bobOnWeb, aliceOnWeb], snapshots: [Store.SnapshotInput(account: "usersample", path: usersampleFile, content: before)]),
            Store.HostRecord(host: "web-2", status: .ok, milliseconds: 650),
            Store.HostRecord(host: "db-1", status: .drift, milliseconds: 720, drift: [locked], seenKeys: [bobOnDB]),
        ])
        let third = try recordRun(store, "check", at: hour(24), [
            Store.HostRecord(host: "web-1", status: .drift, milliseconds: 800, drift: [mode("0666")], seenKeys: [aliceOnWeb]),
            Store.HostRecord(host: "web-2", status: .failed, error: unreachable, errorKind: "host_unreachable", milliseconds: 10_000,
                             drift: [Store.DriftRecord(kind: "host_unreachable", detail: unreachable)]),
            Store.HostRecord(host: "db-1", status: .drift, milliseconds: 690, drift: [locked, revoked], seenKeys: [bobOnDB]),
        ])
        return [first, second, third]
    }

    /// The report of the filled store one hour after the last run, history from hour 0.
    static func report(_ store: Store, filter: Store.DriftFilter = .all) throws -> DriftReport {
        try DriftReport(store: store, since: hour(0), filter: filter, generatedAt: hour(25))
    }

    /// A filled in-memory store.
    static func store() throws -> Store {
        let store = try Store.inMemory()
        try fill(store)
        return store
    }
}

/// Lines of `text`, for readable failures.
func lines(_ text: String) -> [String] { text.components(separatedBy: "\n") }

/// Parses `text` as XML; records the parser's complaint, if any.
func expectWellFormedXML(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let parser = XMLParser(data: Data(text.utf8))
    let parsed = parser.parse()
    #expect(parsed, "\(parser.parserError.map { "\($0)" } ?? "") at line \(parser.lineNumber)", sourceLocation: sourceLocation)
}
