import Foundation
import KeySync
import KeySyncFuzzChecks
import Testing

/// Every committed fuzz input through the same checks the libFuzzer targets run
/// (Sources/KeySyncFuzzChecks): the crashes the fuzzers found (Fuzz/Crashes,
/// regression tests for the fixed bugs) and the seed corpora (Fuzz/Corpus, so
/// that CI exercises the harness without libFuzzer).
@Suite struct FuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    /// `Corpus/<target>/<file>` and `Crashes/<target>/<file>`, sorted (missing folders give none).
    static func inputs(_ target: String) -> [String] {
        ["Crashes", "Corpus"].flatMap { folder in
            let names = (try? FileManager.default.contentsOfDirectory(
                atPath: fuzzDirectory.appendingPathComponent("\(folder)/\(target)").path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\(target)/\($0)" }
        }
    }

    static func bytes(_ input: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: fuzzDirectory.appendingPathComponent(input)))
    }

    @Test func theCorporaAreFound() {
        #expect(Self.inputs("authorized_keys").count >= 30)
        #expect(Self.inputs("inventory").count >= 10)
        #expect(Self.inputs("inventory").contains { $0.hasPrefix("Crashes/") })
        #expect(Self.inputs("probe_reply").count >= 20)
    }

    @Test(arguments: inputs("authorized_keys"))
    func authorizedKeys(_ input: String) throws {
        let violations = AuthorizedKeysChecks.check(try Self.bytes(input))
        #expect(violations.isEmpty, "\(input):\n\(violations)")
    }

    @Test(arguments: inputs("inventory"))
    func inventory(_ input: String) throws {
        let violations = InventoryChecks.check(try Self.bytes(input))
        #expect(violations.isEmpty, "\(input):\n\(violations)")
    }

    @Test(arguments: inputs("probe_reply"))
    func probeReply(_ input: String) throws {
        let violations = ProbeReplyChecks.check(try Self.bytes(input))
        #expect(violations.isEmpty, "\(input):\n\(violations)")
    }

    /// The seeds reach past the parsers (a seed that stopped at the marker or
    /// a nonce would only test the first line): every probe and apply seed
    /// parses, except the one cut off on purpose.
    @Test func probeReplySeedsParse() throws {
        for input in Self.inputs("probe_reply") where input.hasPrefix("Corpus/") && !input.hasSuffix("-cut-off") {
            let reply = ProbeReplyChecks.reply(from: try Self.bytes(input))
            let name = input.split(separator: "/").last ?? ""
            if name.hasPrefix("apply-") {
                #expect(throws: Never.self, "\(input)") { try ApplyScript.outcomes(from: reply, nonce: ProbeReplyChecks.nonce) }
            } else {
                #expect(throws: Never.self, "\(input)") { try HostProbe(reply: reply, nonce: ProbeReplyChecks.nonce) }
            }
        }
    }

    /// The real probe, run locally as root (read-only), with and without the
    /// doctor part: its replies parse and pass the same checks. With
    /// `KEYSYNC_WRITE_PROBE_SEEDS=DIR` they are written there as seeds
    /// (`real-*`, the nonce spelled `@N`; see Fuzz/Corpus/make-seeds.py).
    @Test(.enabled(if: getuid() == 0, "reads /etc/shadow: needs root"))
    func realProbeReplies() throws {
        let requests = [ProbeRequest(account: "root", uid: 0, gid: 0, group: "root"),
                        ProbeRequest(account: "keysync-nosuchuser", uid: 0, gid: 0, group: "root")]
        for (name, diagnostics) in [("real-probe", nil), ("real-probe-diagnostics", ProbeScript.Diagnostics())] {
            let script = ProbeScript.render(requests, nonce: ProbeReplyChecks.nonce, diagnostics: diagnostics)
            let output = try LocalShell.run(script, arguments: ["-s", "--", "127.0.0.1 40000 22"])
            #expect(output.status == 0, "\(output.stderr)")
            let probe = try HostProbe(reply: output.stdout, nonce: ProbeReplyChecks.nonce)
            #expect(Set(probe.accounts.keys) == ["root", "keysync-nosuchuser"])
            let violations = ProbeReplyChecks.check(output.stdout)
            #expect(violations.isEmpty, "\(name):\n\(violations)")
            if let directory = ProcessInfo.processInfo.environment["KEYSYNC_WRITE_PROBE_SEEDS"] {
                let seed = output.text.replacingOccurrences(of: ProbeReplyChecks.nonce, with: "@N")
                try Data(seed.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
            }
        }
    }
}

/// What FuzzAuthorizedKeys showed about broken markers (issue 22, once a
/// known issue): removing a block between a stray begin and a stray end for
/// one id must not pair them, or the user's lines between them would become
/// a block that the next push for that id replaces.
@Suite struct FuzzStrayMarkerTests {
    static let ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG/XdnYRiq8yhdLYyUbUYxVXpxz1U5p8DsRpWVeKtIwS user@laptop"
    static let sk = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIG/XdnYRiq8yhdLYyUbUYxVXpxz1U5p8DsRpWVeKtIwSAAAABHNzaDo= user@token"

    /// The user's lines under the broken marker: a comment (the fuzzer's
    /// input), or only key lines, which look exactly like a block's.
    @Test(arguments: [["# a line the user wrote under a broken marker"], [ed, sk]])
    func removingABlockNeverJoinsStrayMarkersAroundIt(_ users: [String]) throws {
        let before = ["# keysync:begin project=a role=b"] + users
        let block = ["# keysync:begin project=x role=y", "# keysync:end project=x role=y"]
        let text = (before + block + ["# keysync:end project=a role=b"]).joined(separator: "\n") + "\n"
        let file = AuthorizedKeysFile(text: text)
        #expect(file.keyLines.count == (users.count == 1 ? 0 : 2))
        #expect(file.managedBlocks.map(\.id.description) == ["project=x role=y"])
        #expect(file.markerProblems.map(\.line) == [1, users.count + 4])

        let edited = file.removingBlock(try ManagedBlockID(project: "x", role: "y"))
        let reread = AuthorizedKeysFile(bytes: edited.serialized())
        #expect(reread.managedBlock(try ManagedBlockID(project: "a", role: "b")) == nil)
        #expect(reread.markerProblems.count == 2)
        // The user's lines are outside every block, as they were.
        let managed = reread.managedLineNumbers
        let outside = reread.lines.filter { !managed.contains($0.number) }.map(\.text)
        #expect(outside == before + ["# keysync:end project=a role=b"])
        // A comment between the strays already keeps them apart, so X goes
        // whole; with only keys there, X stays as an empty block between them.
        #expect(reread.managedBlocks.map(\.id.description) == (users.count == 1 ? [] : ["project=x role=y"]))
        #expect(reread.managedBlocks.allSatisfy { $0.keyLines.isEmpty })
        // A push for a/b afterwards appends its own block and leaves the rest.
        let pushed = reread.replacingBlock(try ManagedBlockID(project: "a", role: "b"), with: [])
        #expect(pushed.serialized().starts(with: reread.serialized()))
    }
}
