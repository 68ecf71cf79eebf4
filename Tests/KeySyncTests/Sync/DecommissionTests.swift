import Foundation
import Testing
@testable import KeySync

/// `keysync decommission` without a network: what it refuses before
/// contacting anything, `--forget`, and the recorded host key it trusts.
@Suite struct DecommissionTests {
    static let yaml = """
        defaults: {user: ops}
        keys:
          alice: {file: keys/alice.pub}
        hosts:
          web-1: {address: 10.0.0.1}
          web-2: {address: 10.0.0.2, port: 2222}
        projects:
          shop:
            hosts: [web-1]
            roles:
              deploy: {account: svc, keys: [alice]}
        """

    let inventory: Inventory
    let store: Store
    let hostKey: PublicKey

    init() throws {
        inventory = try InventoryFixtures.load(Self.yaml)
        store = try Store.inMemory()
        hostKey = try SyncKeys.ed25519()
        let run = try store.beginRun(command: "push")
        for (name, address, port) in [("web-1", "10.0.0.1", 22), ("gone-1", "10.0.0.9", 22), ("renamed", "10.0.0.2", 2222)] {
            var record = Store.HostRecord(host: name, status: .changed)
            record.endpoint = Store.HostEndpoint(address: address, port: port, user: "ops", identity: "/k", become: "sudo",
                                                 connectTimeout: 10, commandTimeout: 30,
                                                 hostKey: "\(hostKey.type) \(hostKey.base64)", knownHosts: "/kh")
            record.accountBlocks = ["svc": [Store.BlockRef(project: "shop", role: "deploy")]]
            try store.recordHostResult(record, runID: run)
        }
        try store.recordHostResult(Store.HostRecord(host: "legacy-1", status: .ok), runID: run)
        try store.finishRun(id: run)
        // Known only from before schema v2: a scanned host without an address.
        try sql(store) { try $0.execute(sql: "INSERT INTO managed_hosts (host) VALUES ('legacy-1')") }
    }

    @Test func refusesBeforeContactingAnything() throws {
        func refusal(_ host: String) -> DecommissionError? {
            do {
                _ = try Decommission.run(host: host, inventory: inventory, store: store)
                return nil
            } catch { return error as? DecommissionError }
        }
        #expect(refusal("web-1") == .stillInInventory(host: "web-1"))
        #expect(refusal("gone-2") == .unknownHost(host: "gone-2", hint: "; did you mean \"gone-1\"?"))
        #expect(refusal("legacy-1") == .noEndpoint(host: "legacy-1"))
        #expect(refusal("renamed") == .sameAddress(host: "renamed", address: "[10.0.0.2]:2222", inventoryHost: "web-2"))
        #expect(try store.runs().map(\.command) == ["push"], "nothing recorded")
        #expect(DecommissionError.stillInInventory(host: "web-1").description
            == "host \"web-1\" is still under hosts: in the inventory; remove it there first (push removes blocks of projects it left)")
    }

    @Test func forgetRecordsTheHostAsGoneWithoutContactingIt() throws {
        let report = try Decommission.forget(host: "gone-1", inventory: inventory, store: store)
        #expect(report.action == .forget && report.decommissioned && report.exitCode == 0)
        #expect(report.address == "10.0.0.9" && report.accounts.isEmpty)
        let run = try #require(try store.run(id: report.run))
        #expect(run.command == "decommission" && run.selection == "gone-1 --forget" && run.status == .completed)
        #expect(try store.managedHost(named: "gone-1")?.retired == .forgotten)
        #expect(ManagedHistory(accounts: try store.managedAccounts(), hosts: try store.managedHosts())
            .departedHosts(.all, inventory: inventory).map(\.host) == ["legacy-1", "renamed"])
        // The legacy host, without an address, can be forgotten too.
        #expect(try Decommission.forget(host: "legacy-1", inventory: inventory, store: store).address == nil)
        #expect(throws: DecommissionError.stillInInventory(host: "web-1")) {
            try Decommission.forget(host: "web-1", inventory: inventory, store: store)
        }
        let json = ReportJSON.string(report)
        #expect(json.contains("\"action\" : \"forget\"") && json.contains("\"decommissioned\" : true"))
        #expect(report.text().hasSuffix("gone-1: recorded as gone, not contacted; no longer reported (run \(report.run))\n"))
    }

    @Test func textSaysWhatStaysAndDepartedHostsAreNotRepairs() {
        let refused = DecommissionReport(
            run: 7, host: "gone-1", action: .decommission, address: "10.0.0.9", port: 22, user: "ops", status: .drift,
            decommissioned: false, error: nil, errorKind: nil, accounts: ["svc"], changes: ["refused: this would leave svc with no keys"],
            drift: [DriftItem(account: "svc", kind: .lockoutRefused, detail: "would remove every key of svc"),
                    DriftItem(account: "", kind: .hostDeparted, detail: "gone")],
            diff: nil, remaining: 1, seconds: 0.1)
        #expect(refused.exitCode == 2)
        #expect(refused.text() == """
            gone-1: nothing written: refused: this would leave svc with no keys
              lockout_refused: svc: would remove every key of svc (not repaired)
            gone-1: NOT decommissioned: 1 item(s) above stay (still reported as host_departed; run 7)

            """)
        let departed = RunReport(run: 3, hosts: [.init(host: "gone-1", status: .drift, changes: [],
                                                       drift: [DriftItem(account: "", kind: .hostDeparted, detail: "gone")])],
                                 summary: .init(hosts: 1, changed: 0, drift: 1, failed: 0, seconds: 0), interrupted: false)
        #expect(departed.text(mode: .push, dryRun: false).hasPrefix("gone-1: drift\n  host_departed: gone\n"))
    }

    /// A host last reached through jump hosts is reached through the same
    /// ones: the chain push recorded, each hop checked strictly against the
    /// known_hosts it was checked against then.
    @Test func theJobGoesThroughTheJumpHostsTheLastRunWentThrough() throws {
        let outer = JumpHop(endpoint: SSHEndpoint(name: "bastion", address: "192.0.2.1", port: 2222, user: "jump",
                                                  connectTimeout: 4, hostKeyPolicy: .acceptNew(path: "/kh-b")),
                            identity: .file(path: "/keys/b"))
        let inner = JumpHop(endpoint: SSHEndpoint(name: "ops@10.1.0.1", address: "10.1.0.1", user: "ops",
                                                  hostKeyPolicy: .knownHosts(path: "/kh")),
                            identity: .agent(socketPath: nil))
        let job = HostJob(host: "behind-1", endpoint: SSHEndpoint(name: "behind-1", address: "10.1.0.7", user: "ops",
                                                                  hostKeyPolicy: .knownHosts(path: "/kh")),
                          identity: .file(path: "/k"), become: .sudo, commandTimeout: 30, accounts: [], jumps: [outer, inner])
        let run = try store.beginRun(command: "push")
        var record = Store.HostRecord(host: "behind-1", status: .ok)
        record.endpoint = SyncEngine.endpoint(job, hostKey: hostKey)
        try store.recordHostResult(record, runID: run)
        try store.finishRun(id: run)

        let recorded = try #require(try store.managedHost(named: "behind-1")?.endpoint)
        #expect(recorded.jumps == [
            Store.RecordedJump(name: "bastion", address: "192.0.2.1", port: 2222, user: "jump", identity: "/keys/b",
                               knownHosts: "/kh-b", connectTimeout: 4),
            Store.RecordedJump(name: "ops@10.1.0.1", address: "10.1.0.1", port: 22, user: "ops", identity: nil,
                               knownHosts: "/kh", connectTimeout: 10),
        ])
        let decommission = try Decommission.job(for: try #require(try store.managedHost(named: "behind-1")),
                                                endpoint: recorded, hostKey: hostKey, store: store)
        var strictOuter = outer
        strictOuter.endpoint.hostKeyPolicy = .knownHosts(path: "/kh-b")
        #expect(decommission.jumps == [strictOuter, inner])
        #expect(decommission.endpoint.hostKeyPolicy == .recorded(key: hostKey))
        // Direct hosts stay direct; NULL in the column.
        #expect(try store.managedHost(named: "gone-1")?.jumps == nil)
        #expect(try Decommission.job(for: try #require(try store.managedHost(named: "gone-1")),
                                     endpoint: try #require(try store.managedHost(named: "gone-1")?.endpoint),
                                     hostKey: hostKey, store: store).jumps.isEmpty)
    }

    /// The departed host must answer with the key keysync verified when it
    /// last reached it; known_hosts is not consulted.
    @Test func theRecordedHostKeyIsTheOnlyOneTrusted() throws {
        let verifier = HostKeyVerifier()
        let endpoint = SSHEndpoint(name: "gone-1", address: "10.0.0.9", port: 22, user: "ops",
                                   hostKeyPolicy: .recorded(key: hostKey))
        #expect(try verifier.verify(endpoint, blob: hostKey.blob) == .known)
        #expect(try verifier.knownKeyTypes(host: "10.0.0.9", port: 22, policy: endpoint.hostKeyPolicy) == [hostKey.type])
        let other = try SyncKeys.ecdsa256()
        #expect(throws: SSHError.self) { try verifier.verify(endpoint, blob: other.blob) }
        do {
            _ = try verifier.verify(endpoint, blob: other.blob)
        } catch let error as SSHError {
            #expect(error.kind == .hostKeyMismatch)
            #expect(error.description.contains("the host key keysync recorded (\(hostKey.type) \(hostKey.fingerprint))"))
        }
    }
}
