import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

/// Text a host controls (key comments, options, sudo's stderr, file content in
/// diffs, paths in drift) reaches the operator's terminal only escaped, and
/// `--json` carries it exactly, with control characters as `\u` escapes.
@Suite struct HostTextOutputTests {
    /// A comment planting an OSC title change, a CR that would overprint the
    /// line, a C1 CSI, a line separator and a bidi override.
    static let comment = "alice\u{1B}]0;pwned\u{07}\rFAKE \u{9B}2J\u{2028}\u{202E}x"
    static let escaped = #"alice\u{1B}]0;pwned\u{7}\u{D}FAKE \u{9B}2J\u{2028}\u{202E}x"#

    static func report(dryRun: Bool) -> RunReport {
        let diff = "--- a/home/fz0/.ssh/authorized_keys\n+++ b/home/fz0/.ssh/authorized_keys\n@@ -1 +1,2 @@\n ssh-ed25519 AAAA \(comment)\n+ssh-ed25519 BBBB ok\n"
        return RunReport(run: 7, hosts: [
            .init(host: "h1", status: dryRun ? .changed : .drift, error: nil,
                  changes: dryRun ? ["fz0: remove unexpected key \(comment)"] : [],
                  drift: [DriftItem(account: "fz0", kind: .unexpectedKey, detail: "SHA256:x \(comment)")],
                  diff: dryRun ? diff : nil),
            .init(host: "h2", status: .failed, error: "sudo: \u{1B}[2J\u{1B}[Hpassword for ops:\r", changes: [], drift: [], diff: nil),
        ], summary: .init(hosts: 2, changed: dryRun ? 1 : 0, drift: 1, failed: 1, seconds: 1.25), interrupted: false)
    }

    static func expectNoRawControls(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let raw = text.unicodeScalars.filter { $0.isUnsafeInText && $0 != "\n" }
        #expect(raw.isEmpty, "raw \(raw.map { String($0.value, radix: 16) }) in \(text.debugDescription)", sourceLocation: sourceLocation)
    }

    @Test func checkTextEscapesCommentsAndErrors() {
        let text = Self.report(dryRun: false).text(mode: .check, dryRun: false)
        Self.expectNoRawControls(text)
        #expect(text == """
            h1: drift
              unexpected_key: fz0: SHA256:x \(Self.escaped)
            h2: FAILED: sudo: \\u{1B}[2J\\u{1B}[Hpassword for ops:\\u{D}
            checked 2 hosts in 1.2 s: 0 changed, 1 with drift, 1 failed (run 7)

            """)
    }

    @Test func dryRunDiffKeepsItsLinesAndEscapesTheRest() {
        let text = Self.report(dryRun: true).text(mode: .push, dryRun: true)
        Self.expectNoRawControls(text)
        #expect(text.contains("h1: would change: fz0: remove unexpected key \(Self.escaped)\n"))
        #expect(text.contains("\n ssh-ed25519 AAAA \(Self.escaped)\n+ssh-ed25519 BBBB ok\n"))
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count == 10, "\(text)")
    }

    /// A push the lockout guard held wrote nothing: its refusal is a line of
    /// `changes`, but the host is not `changed` and the text must not say so.
    @Test func aRefusalIsNothingWrittenNotAChange() {
        let refusal = "refused: this would leave ciuser with no keys (it has 1); use --force if you really mean it"
        for dryRun in [false, true] {
            let report = RunReport(run: 3, hosts: [
                .init(host: "h4", status: .drift, changes: [refusal],
                      drift: [DriftItem(account: "ciuser", kind: .lockoutRefused, detail: "would remove every key of ciuser")]),
            ], summary: .init(hosts: 1, changed: 0, drift: 1, failed: 0, seconds: 1), interrupted: false)
            let text = report.text(mode: .push, dryRun: dryRun)
            #expect(text.hasPrefix("h4: nothing written: \(refusal)\n"), "\(text)")
            #expect(!text.contains("would change:") && !text.contains(": changed:"), "\(text)")
        }
    }

    /// The `--json` document: the same strings after decoding, and not one
    /// raw control character (JSONEncoder leaves DEL, C1 and U+2028 raw).
    @Test func jsonEscapesControlsAndRoundTrips() throws {
        let report = Self.report(dryRun: true)
        let json = try JSONOutput.string(report)
        Self.expectNoRawControls(json)
        for escape in [#"\u001b]0;pwned\u0007\r"#, #"\u009b2J\u2028\u202ex"#] {
            #expect(json.contains(escape), "\(escape) missing from \(json)")
        }
        let decoded = try JSONDecoder().decode(RunReport.self, from: Data(json.utf8))
        #expect(decoded.hosts.first?.drift.first?.detail == "SHA256:x \(Self.comment)")
        #expect(decoded.hosts.first?.diff == report.hosts.first?.diff)
        #expect(decoded.hosts.last?.error == report.hosts.last?.error)
    }

    @Test func reportJSONEscapesControlsToo() throws {
        let sighting = Store.KeySighting(key: Store.HostKey(
            host: "h1", account: "fz0", fingerprint: "SHA256:x", keyType: "ssh-ed25519", comment: Self.comment, managed: false,
            firstSeenRun: 1, firstSeenAt: Date(timeIntervalSince1970: 0), lastSeenRun: 1, lastSeenAt: Date(timeIntervalSince1970: 0)),
            seenInLatestScan: true)
        let report = KeyLocationReport(fingerprint: "SHA256:x", sightings: [sighting])
        Self.expectNoRawControls(report.json())
        Self.expectNoRawControls(report.text())
        #expect(report.text().contains(Self.escaped))
        struct Document: Decodable { struct S: Decodable { let comment: String }; let sightings: [S] }
        #expect(try JSONDecoder().decode(Document.self, from: Data(report.json().utf8)).sightings.first?.comment == Self.comment)
    }

    @Test func keysLintShowsHostileCommentsEscaped() {
        let line = "no-pty,command=\"\u{1B}[31m\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJeUmNddxMN0gS/YzcyUoD5S/ONTOdj6bnfoUx0qjP9H \(Self.comment)\n"
        let lint = LintReport(file: AuthorizedKeysFile(text: line), now: Date())
        Self.expectNoRawControls(lint.text())
        Self.expectNoRawControls(lint.json())
        #expect(lint.text().contains(Self.escaped))
    }

    @Test(arguments: [
        ("\u{2028}", #"\u{2028}"#), ("\u{2029}", #"\u{2029}"#), ("\u{202E}evil", #"\u{202E}evil"#), ("\u{2066}", #"\u{2066}"#),
        ("é ✓ 日本", "é ✓ 日本"),
    ])
    func terminalSafeEscapesSeparatorsAndBidiControls(_ raw: String, _ shown: String) {
        #expect(raw.terminalSafe() == shown)
    }

    @Test func jsonControlsEscapedKeepsTheDocument() throws {
        let original = ["a": "x\u{7F}\u{85}\u{2028}y\"\\", "b": "plain é"]
        let encoded = String(decoding: try JSONEncoder().encode(original), as: UTF8.self).jsonControlsEscaped
        #expect(!encoded.unicodeScalars.contains { $0.isUnsafeInText })
        let pretty = JSONEncoder()
        pretty.outputFormatting = .prettyPrinted
        let layout = String(decoding: try pretty.encode(original), as: UTF8.self).jsonControlsEscaped
        #expect(layout.contains("\n") && !layout.contains("\\u000a"), "the layout's line feeds stay")
        #expect(try JSONDecoder().decode([String: String].self, from: Data(layout.utf8)) == original)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(encoded.utf8)) == original)
    }
}
