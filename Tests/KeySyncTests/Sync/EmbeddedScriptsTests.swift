import Foundation
import Testing
@testable import KeySync

/// The shell sent to hosts has one source, `Sources/KeySync/Sync/Scripts/*.sh`;
/// the binary carries it as `EmbeddedScripts`, which EmbedScriptsPlugin
/// generates at build time. These fail when the generator drops, renames or
/// alters a file.
@Suite struct EmbeddedScriptsTests {
    static let root = URL(fileURLWithPath: InventoryFixtures.repositoryRoot)
    static let scripts = root.appendingPathComponent("Sources/KeySync/Sync/Scripts")

    @Test func everyScriptIsEmbeddedByteForByte() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.scripts.path).filter { $0.hasSuffix(".sh") }.sorted()
        #expect(names.count >= 7)
        #expect(EmbeddedScripts.all.keys.sorted() == names)
        for name in names {
            let file = try [UInt8](Data(contentsOf: Self.scripts.appendingPathComponent(name)))
            #expect(EmbeddedScripts.all[name].map { Array($0.utf8) } == file, "\(name) is not embedded as it is")
        }
    }

    /// The markers the parsers look for are the ones the scripts print.
    @Test func theScriptsPrintTheMarkersTheParsersExpect() {
        #expect(EmbeddedScripts.probe.contains("\nprintf '%s\\n' '\(ProbeScript.marker)'\n"))
        #expect(EmbeddedScripts.apply.contains("\nprintf '%s\\n' '\(ApplyScript.marker)'\n"))
    }

    /// What the Swift side adds around the embedded text is values (through
    /// `Shell.quote`) and calls: a rendered script is the .sh files in order.
    @Test func renderedScriptsHoldTheFilesUnchangedAndInOrder() {
        func holdsInOrder(_ script: String, _ parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            var rest = script[...]
            for part in parts {
                guard let range = rest.range(of: part) else {
                    Issue.record("a part is missing or out of order", sourceLocation: sourceLocation)
                    return
                }
                rest = rest[range.upperBound...]
            }
        }
        let requests = [ProbeRequest(account: "app")]
        holdsInOrder(ProbeScript.render(requests, nonce: "n0"), [EmbeddedScripts.lookup, EmbeddedScripts.probe])
        holdsInOrder(ProbeScript.render(requests, nonce: "n0", grantEnds: [1]),
                     [EmbeddedScripts.lookup, EmbeddedScripts.probe, EmbeddedScripts.probeGrantExpiry])
        holdsInOrder(ProbeScript.render(requests, nonce: "n0", diagnostics: ProbeScript.Diagnostics()),
                     [EmbeddedScripts.lookup, EmbeddedScripts.probe, EmbeddedScripts.probeDiagnostics])
        holdsInOrder(ProbeScript.renderScan(nonce: "n0"), [EmbeddedScripts.lookup, EmbeddedScripts.probe, EmbeddedScripts.probeScan])
        holdsInOrder(ApplyScript.render([AccountApply(account: "app")], nonce: "n0"),
                     [EmbeddedScripts.lookup, EmbeddedScripts.applyResult, EmbeddedScripts.apply])
    }
}
