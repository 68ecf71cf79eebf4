import Foundation
import Testing
@testable import KeySync

@Suite struct KeysManagedBlockTests {
    let ed = try! KeyFixtures.publicKey("id_ed25519.pub")
    let ecdsa = try! KeyFixtures.publicKey("id_ecdsa256.pub")
    let rsa = try! KeyFixtures.publicKey("id_rsa2048.pub")
    let id = try! ManagedBlockID(project: "usersample", role: "deploy")

    func file(_ lines: [String], newline: String = "\n", final: Bool = true) -> AuthorizedKeysFile {
        AuthorizedKeysFile(text: lines.joined(separator: newline) + (final ? newline : ""))
    }

    func text(_ file: AuthorizedKeysFile) -> String { String(decoding: file.serialized(), as: UTF8.self) }

    @Test func appendsANewBlockAfterAddingTheMissingNewline() throws {
        let before = file(["# mine", ed.openSSHLine], final: false)
        let after = before.replacingBlock(id, with: [try AuthorizedKeyEntry(optionsText: "no-pty", key: ecdsa)])
        #expect(text(after) == "# mine\n\(ed.openSSHLine)\n# keysync:begin project=usersample role=deploy\n"
            + "no-pty \(ecdsa.openSSHLine)\n# keysync:end project=usersample role=deploy\n")
        let block = try #require(after.managedBlock(id))
        #expect(block.lineNumbers == 3...5)
        #expect(block.entries.map(\.key) == [ecdsa])
        #expect(block.entries.first?.options?.text == "no-pty")
    }

    @Test func replacesInPlaceAndKeepsEverythingElseByteForByte() throws {
        let start = file(["# head", "garbage line\r", ed.openSSHLine], final: false)
            .replacingBlock(id, with: [AuthorizedKeyEntry(key: ecdsa)])
        let tail = Array("\n#tail\r\n\n".utf8)
        let withTail = AuthorizedKeysFile(bytes: start.serialized() + tail)
        let replaced = withTail.replacingBlock(id, with: [AuthorizedKeyEntry(key: rsa), AuthorizedKeyEntry(key: ed)])
        let bytes = replaced.serialized()
        #expect(bytes.starts(with: Array("# head\ngarbage line\r\n\(ed.openSSHLine)\n".utf8)))
        #expect(bytes.suffix(tail.count) == tail[...])
        #expect(replaced.managedBlock(id)?.entries.map(\.key) == [rsa, ed])
        #expect(replaced.replacingBlock(id, with: [AuthorizedKeyEntry(key: rsa), AuthorizedKeyEntry(key: ed)]) == replaced)
    }

    @Test func usesCRLFInACRLFFile() {
        let after = file(["# a", "# b"], newline: "\r\n").replacingBlock(id, with: [AuthorizedKeyEntry(key: ed)])
        #expect(text(after).hasSuffix("\(ed.openSSHLine)\r\n# keysync:end project=usersample role=deploy\r\n"))
    }

    @Test func aLastLineEndingInCRInACRLFFileGetsOnlyTheLF() {
        // Not `\r\r\n`: the CR it has and the CRLF the file uses make one line end.
        let after = AuthorizedKeysFile(text: "# a\r\n# b\r").replacingBlock(id, with: [AuthorizedKeyEntry(key: ed)])
        #expect(text(after) == "# a\r\n# b\r\n# keysync:begin project=usersample role=deploy\r\n\(ed.openSSHLine)\r\n# keysync:end project=usersample role=deploy\r\n")
    }

    @Test func removesBlocksKeysAndUnmanagedKeys() throws {
        let other = try ManagedBlockID(project: "p2", role: "r")
        let base = file(["# top", rsa.openSSHLine, "invalid stuff"])
            .replacingBlock(id, with: [AuthorizedKeyEntry(key: ed), AuthorizedKeyEntry(key: rsa)])
            .replacingBlock(other, with: [AuthorizedKeyEntry(key: ecdsa)])
        #expect(base.managedBlocks.map(\.id) == [id, other])

        let noBlock = base.removingBlock(id)
        #expect(noBlock.managedBlocks.map(\.id) == [other])
        #expect(noBlock.lines.prefix(3).map(\.text) == ["# top", rsa.openSSHLine, "invalid stuff"])

        let revoked = base.removingKeys(withFingerprints: [rsa.fingerprint])
        #expect(revoked.keyLines.map { $0.entry?.key } == [ed, ecdsa])
        #expect(revoked.managedBlock(id)?.entries.map(\.key) == [ed])

        let exclusive = base.removingUnmanagedKeys()
        #expect(exclusive.lines.prefix(2).map(\.text) == ["# top", "invalid stuff"])
        #expect(exclusive.keyLines.count == 3)
    }

    @Test func revokingACAKeyRemovesItsCertAuthorityLine() throws {
        let file = file(["cert-authority,principals=\"a\" \(ed.openSSHLine)", rsa.openSSHLine])
        #expect(file.removingKeys(withFingerprints: [ed.fingerprint]).keyLines.map { $0.entry?.key } == [rsa])
    }

    @Test func malformedMarkersNeverCostUnmanagedLines() throws {
        let begin = id.beginMarker, end = id.endMarker
        let cases: [[String]] = [
            [begin, ed.openSSHLine],                                  // begin without end
            [end, ed.openSSHLine],                                    // end without begin
            ["# keysync:begin project=usersample", ed.openSSHLine],   // no role
            [begin, ed.openSSHLine, "# keysync:begin project=x role=y", rsa.openSSHLine],  // nested begin
        ]
        for lines in cases {
            let broken = file(lines)
            #expect(broken.managedBlocks.isEmpty, "\(lines)")
            #expect(!broken.markerProblems.isEmpty, "\(lines)")
            // Every key there is unmanaged; nothing is deleted except by the explicit exclusive policy.
            #expect(broken.removingBlock(id) == broken)
            let replaced = broken.replacingBlock(id, with: [AuthorizedKeyEntry(key: ecdsa)])
            #expect(replaced.serialized().starts(with: broken.serialized()))
            #expect(replaced.managedBlock(id)?.entries.map(\.key) == [ecdsa])
        }
    }

    /// keysync writes only key lines between its markers; any other line
    /// there means someone else wrote in it, so it is no block and push
    /// appends a fresh one instead of rewriting the lines inside.
    @Test(arguments: ["# my note", "", "not a key", "# keysync:begin project=x role=y", "# keysync:end project=x role=y"])
    func aBlockHoldsNothingButKeyLines(_ inside: String) throws {
        let lines = [id.beginMarker, ed.openSSHLine, inside, rsa.openSSHLine, id.endMarker]
        let edited = file(lines)
        #expect(edited.managedBlocks.isEmpty)
        #expect(edited.markerProblems.map(\.line).contains(1))
        #expect(edited.markerProblems.map(\.line).contains(5))
        #expect(edited.markerProblems.first { $0.line == 1 }?.message.contains("on line 3") == true)
        let replaced = edited.replacingBlock(id, with: [AuthorizedKeyEntry(key: ecdsa)])
        #expect(text(replaced) == text(edited) + "\(id.beginMarker)\n\(ecdsa.openSSHLine)\n\(id.endMarker)\n")
        #expect(replaced.removingBlock(id) == edited)
    }

    /// Merging a second block into the first must not pair the stray markers
    /// around the second one (issue 22): it is emptied, not removed.
    @Test func mergingADuplicateBetweenStrayMarkersEmptiesIt() throws {
        let stray = try ManagedBlockID(project: "a", role: "b")
        let base = file([id.beginMarker, ed.openSSHLine, id.endMarker, stray.beginMarker, rsa.openSSHLine,
                         id.beginMarker, ecdsa.openSSHLine, id.endMarker, stray.endMarker])
        #expect(base.managedBlocks.map(\.id) == [id, id])
        let merged = AuthorizedKeysFile(bytes: base.replacingBlock(id, with: [AuthorizedKeyEntry(key: ed)]).serialized())
        #expect(merged.lines.map(\.text) == [id.beginMarker, ed.openSSHLine, id.endMarker, stray.beginMarker, rsa.openSSHLine,
                                             id.beginMarker, id.endMarker, stray.endMarker])
        #expect(merged.managedBlock(stray) == nil)
        #expect(merged.replacingBlock(id, with: [AuthorizedKeyEntry(key: ed)]) == merged)
        // Without the strays the duplicate goes whole.
        let plain = file([id.beginMarker, ed.openSSHLine, id.endMarker, id.beginMarker, ecdsa.openSSHLine, id.endMarker])
        #expect(plain.replacingBlock(id, with: [AuthorizedKeyEntry(key: ed)]).lines.map(\.text) == [id.beginMarker, ed.openSSHLine, id.endMarker])
    }

    @Test func duplicateBlocksAreMergedIntoTheFirst() throws {
        let b = id.beginMarker, e = id.endMarker
        let twice = file([b, ed.openSSHLine, e, "# between", b, rsa.openSSHLine, e])
        #expect(twice.managedBlocks.count == 2)
        #expect(twice.markerProblems.count == 1)
        let merged = twice.replacingBlock(id, with: [AuthorizedKeyEntry(key: ecdsa)])
        #expect(merged.lines.map(\.text) == [b, ecdsa.openSSHLine, e, "# between"])
    }

    @Test func markerNamesAreValidated() {
        #expect(throws: KeyParseError.self) { try ManagedBlockID(project: "a b", role: "r") }
        #expect(throws: KeyParseError.self) { try ManagedBlockID(project: "a", role: "") }
    }
}
