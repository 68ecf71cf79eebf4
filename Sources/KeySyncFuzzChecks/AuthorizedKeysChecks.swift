import Foundation
import KeySync

/// What the `authorized_keys` code promises for *any* bytes, checked on one input.
///
/// Run by the `FuzzAuthorizedKeys` libFuzzer target (Fuzz/) and by
/// `FuzzRegressionTests` over the seed and crash corpora. Each check names the
/// promise it holds the code to (docs/authorized-keys.md, the doc comments of
/// ``AuthorizedKeysFile``, README "Safety guarantees").
public enum AuthorizedKeysChecks {
    /// A fixed "now" for lint, so that a run does not depend on the day it runs.
    public static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// At most this many block ids and entries are tried per input (keeps a run fast on big inputs).
    static let maxIDs = 6
    static let maxEntries = 16

    /// Every violated promise for `bytes`; empty when all hold. Crashes only if the library does.
    public static func check(_ bytes: [UInt8]) -> Violations {
        var v = Violations()
        let file = AuthorizedKeysFile(bytes: bytes)
        checkParse(file, bytes, &v)
        checkEntries(file, &v)
        checkBlocks(file, &v)
        checkLint(file, &v)
        checkEdits(file, &v)
        checkOptionsAndImport(bytes, &v)
        return v
    }

    // MARK: Parsing: lines, bytes, kinds

    static func checkParse(_ file: AuthorizedKeysFile, _ bytes: [UInt8], _ v: inout Violations) {
        // "An unmodified file serialises to the same bytes."
        v.expect(file.serialized() == bytes, "serialized() is not the input: \(debugBytes(file.serialized()))")
        v.expect(file.lines.map(\.number) == Array(file.lines.indices.map { $0 + 1 }), "line numbers are not 1…n")
        for (index, line) in file.lines.enumerated() {
            v.expect(!line.bytes.isEmpty, "line \(line.number) is empty (no bytes, not even a newline)")
            v.expect(!line.bytes.dropLast().contains(0x0a), "line \(line.number) holds a newline before its end")
            if index < file.lines.count - 1 {
                v.expect(line.hasNewline, "line \(line.number) is not the last line but does not end with \\n")
            }
            // A line's kind depends on its bytes only.
            let again = AuthorizedKeysFile.Line(number: line.number, bytes: line.bytes)
            v.expect(again == line, "line \(line.number) parses differently the second time")
        }
        v.expect(file.endsWithNewline == (bytes.last.map { $0 == 0x0a } ?? true), "endsWithNewline is wrong")
        if let text = String(validating: bytes, as: UTF8.self) {
            v.expect(AuthorizedKeysFile(text: text) == file, "init(text:) and init(bytes:) disagree")
        }
    }

    // MARK: Key lines: what keysync would write for them reads back the same

    /// What must survive rendering an entry and reading it back: type, blob,
    /// options (text and parsed), and the comment as `line` writes it
    /// (line breaks become spaces; leading blanks are not part of a comment).
    struct Essence: Equatable, CustomStringConvertible {
        let type: String
        let blob: [UInt8]
        let optionsText: String?
        let options: [AuthorizedKeyOptions.Option]?
        let comment: String

        init(_ entry: AuthorizedKeyEntry, normalizingComment: Bool) {
            type = entry.key.type
            blob = entry.key.blob
            optionsText = entry.options?.text
            options = entry.options?.options
            if normalizingComment {
                let written = String(entry.comment.map { $0.isNewline ? " " : $0 })
                comment = String(written.drop { $0 == " " || $0 == "\t" })
            } else {
                comment = entry.comment
            }
        }

        var description: String {
            "\(optionsText.map { "[\($0)] " } ?? "")\(type) \(SHA256Digest.hex(blob).prefix(12)) \(debugBytes(Array(comment.utf8), limit: 40))"
        }
    }

    static func checkEntries(_ file: AuthorizedKeysFile, _ v: inout Violations) {
        for line in file.keyLines.prefix(maxEntries * 4) {
            guard let entry = line.entry else { continue }
            v.expect(entry.key.fingerprint.hasPrefix("SHA256:"), "line \(line.number): fingerprint \(entry.key.fingerprint)")
            v.expect(entry.key.keyType != nil, "line \(line.number): key type \(entry.key.type) is unknown to KeyType")
            // sshd splits lines at \n only and stops at a NUL (U+0085, U+2028, \r inside are just bytes).
            v.expect(!entry.line.utf8.contains { $0 == 0x0a || $0 == 0 }, "line \(line.number): the rendered line holds \\n or NUL")
            do {
                let again = try AuthorizedKeyEntry.parse(entry.line)
                let want = Essence(entry, normalizingComment: true), got = Essence(again, normalizingComment: false)
                v.expect(got == want, "line \(line.number): rendered as \(debugBytes(Array(entry.line.utf8))), reads back as \(got), not \(want)")
            } catch {
                v.fail("line \(line.number): keysync's rendering \(debugBytes(Array(entry.line.utf8))) of a valid entry does not parse: \(error)")
            }
        }
    }

    // MARK: Managed blocks

    static func checkBlocks(_ file: AuthorizedKeysFile, _ v: inout Violations) {
        let blocks = file.managedBlocks
        var previousEnd = 0
        for block in blocks {
            guard block.begin > previousEnd, block.begin < block.end, block.end <= file.lines.count else {
                v.fail("block \(block.id) spans lines \(block.begin)…\(block.end) (previous block ends at \(previousEnd), \(file.lines.count) lines)")
                return
            }
            previousEnd = block.end
            for number in [block.begin, block.end] {
                if case .comment = file.lines[number - 1].kind {} else { v.fail("block \(block.id): marker line \(number) is not a comment") }
            }
            // keysync writes nothing but key lines between its markers; any other line there means no block.
            let inside = Array(file.lines[block.begin..<(block.end - 1)])
            v.expect(block.keyLines == inside, "block \(block.id): keyLines are not the lines between its markers")
            v.expect(inside.allSatisfy { $0.entry != nil }, "block \(block.id): a line between its markers is not a key line")
        }
        for problem in file.markerProblems {
            v.expect((1...max(file.lines.count, 1)).contains(problem.line), "marker problem on line \(problem.line) of \(file.lines.count)")
        }
        v.expect(file.managedLineNumbers == Set(blocks.flatMap(\.lineNumbers)), "managedLineNumbers disagrees with managedBlocks")
    }

    // MARK: Lint

    static func checkLint(_ file: AuthorizedKeysFile, _ v: inout Violations) {
        let lint = file.lint(now: now)
        v.expect(lint.map(\.line) == file.lines, "lint does not report every line once, in order")
        for item in lint {
            if case .invalid = item.line.kind {
                v.expect(item.problems.contains { $0.severity == .error }, "line \(item.line.number): invalid but lint reports no error")
            }
            for problem in item.problems {
                v.expect(!problem.description.isEmpty && !problem.code.isEmpty, "line \(item.line.number): empty problem text")
            }
        }
        let report = LintReport(file: file, now: now)
        v.expect(report.lines.count == file.lines.count, "LintReport has \(report.lines.count) rows for \(file.lines.count) lines")
        _ = report.text()
        let json = report.json()
        if (try? JSONSerialization.jsonObject(with: Data(json.utf8))) == nil {
            v.fail("LintReport.json() is not valid JSON: \(debugBytes(Array(json.utf8)))")
        }
    }

    // MARK: Edits keep every line they do not own

    /// The block ids an input names: its blocks, ids on stray markers, and one it does not have.
    static func candidateIDs(_ file: AuthorizedKeysFile) -> [ManagedBlockID] {
        var ids: [ManagedBlockID] = []
        func add(_ id: ManagedBlockID) { if !ids.contains(id) { ids.append(id) } }
        file.managedBlocks.forEach { add($0.id) }
        for line in file.lines where line.text.contains("keysync:") {
            var fields: [Substring: String] = [:]
            for word in line.text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                let pair = word.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[pair[0]] = String(pair[1]) }
            }
            if let project = fields["project"], let role = fields["role"],
               let id = try? ManagedBlockID(project: project, role: role) {
                add(id)
            }
        }
        if let fresh = try? ManagedBlockID(project: "fuzz-new", role: "fuzz-role") { add(fresh) }
        return Array(ids.prefix(maxIDs))
    }

    /// (id, essences) of every block, for "other blocks unchanged".
    static func blockSummary(_ file: AuthorizedKeysFile, except id: ManagedBlockID? = nil) -> [String] {
        file.managedBlocks.filter { $0.id != id }.map { block in
            "\(block.id): " + block.entries.map { Essence($0, normalizingComment: false).description }.joined(separator: ", ")
        }
    }

    static func checkEdits(_ file: AuthorizedKeysFile, _ v: inout Violations) {
        let entries = Array(file.keyLines.compactMap(\.entry).prefix(maxEntries))
        for id in candidateIDs(file) {
            for wanted in [entries, [], Array(entries.reversed().prefix(2))] {
                checkReplacing(file, id, wanted, &v)
            }
            checkRemoving(file, id, &v)
        }
        checkRemovingKeys(file, Set(entries.prefix(3).map(\.key.fingerprint)), &v)
        checkRemovingUnmanagedKeys(file, &v)
        checkEditSequence(file, entries, &v)
    }

    /// The file value must be what its own bytes parse to.
    static func checkConsistent(_ edited: AuthorizedKeysFile, _ what: String, _ v: inout Violations) {
        let reparsed = AuthorizedKeysFile(bytes: edited.serialized())
        v.expect(reparsed == edited, "\(what): the edited file is not what its bytes parse to")
    }

    static func checkReplacing(_ file: AuthorizedKeysFile, _ id: ManagedBlockID, _ wanted: [AuthorizedKeyEntry],
                               _ v: inout Violations) {
        let what = "replacingBlock(\(id), \(wanted.count) entries)"
        let matching = file.managedBlocks.filter { $0.id == id }
        let edited = file.replacingBlock(id, with: wanted)
        checkConsistent(edited, what, &v)
        guard let block = edited.managedBlock(id) else {
            v.fail("\(what): the result has no block \(id)")
            return
        }
        // The block holds exactly the entries asked for.
        let got = block.entries.map { Essence($0, normalizingComment: false) }
        let want = wanted.map { Essence($0, normalizingComment: true) }
        v.expect(got == want, "\(what): the block holds \(got), not \(want)")
        v.expect(block.keyLines.count == block.end - block.begin - 1, "\(what): the new block holds lines that are not keys")
        // In place of the first old block, else at the end.
        let expectedBegin = matching.first?.begin ?? file.lines.count + 1
        v.expect(block.begin == expectedBegin, "\(what): block written at line \(block.begin), expected \(expectedBegin)")
        // Every line outside the replaced blocks keeps its bytes and order
        // (appending first gives a last line without newline the file's line ending).
        let removed = Set(matching.flatMap(\.lineNumbers))
        var expected = file.lines.filter { !removed.contains($0.number) }.map(\.bytes)
        if matching.isEmpty, let last = expected.last, last.last != 0x0a {
            let marker = edited.lines[block.begin - 1].bytes
            expected[expected.count - 1] = last + (marker.suffix(2) == [0x0d, 0x0a] ? [0x0d, 0x0a] : [0x0a])
        }
        let editedBlocks = Set(edited.managedBlocks.filter { $0.id == id }.flatMap(\.lineNumbers))
        let kept = edited.lines.filter { !editedBlocks.contains($0.number) }.map(\.bytes)
        if kept != expected {
            let common = min(kept.count, expected.count)
            let index = (0..<common).first { kept[$0] != expected[$0] } ?? common
            v.fail("\(what): lines outside the block changed: kept \(kept.count) lines, expected \(expected.count); first difference at kept line \(index + 1): \(index < kept.count ? debugBytes(kept[index]) : "none") vs \(index < expected.count ? debugBytes(expected[index]) : "none")")
        }
        // Every marker line of the new block uses one line ending.
        let endings = Set(edited.lines[(block.begin - 1)..<block.end].map { $0.bytes.suffix(2) == [0x0d, 0x0a] })
        v.expect(endings.count == 1, "\(what): the new block mixes CRLF and LF")
        // Blocks of other ids are not touched, and no new block appears.
        let others = blockSummary(file, except: id), othersAfter = blockSummary(edited, except: id)
        v.expect(othersAfter == others, "\(what): other blocks changed from \(others) to \(othersAfter)")
        // One block per id afterwards: later ones are merged, or emptied where
        // removing them would pair stray markers around them (those only with marker problems).
        let later = edited.managedBlocks.filter { $0.id == id }.dropFirst()
        v.expect(later.allSatisfy(\.keyLines.isEmpty), "\(what): a later block \(id) still holds keys after the merge")
        v.expect(later.isEmpty || !file.markerProblems.isEmpty, "\(what): \(later.count + 1) blocks \(id) after the edit in a file without marker problems")
        // A second identical edit changes nothing.
        let twice = edited.replacingBlock(id, with: wanted)
        v.expect(twice.serialized() == edited.serialized(), "\(what): not idempotent: a second identical edit changes the file")
    }

    static func checkRemoving(_ file: AuthorizedKeysFile, _ id: ManagedBlockID, _ v: inout Violations) {
        let what = "removingBlock(\(id))"
        let removed = Set(file.managedBlocks.filter { $0.id == id }.flatMap(\.lineNumbers))
        let edited = file.removingBlock(id)
        checkConsistent(edited, what, &v)
        // Exactly the blocks' lines go; a block between stray markers that would
        // pair up without it keeps its markers (an empty block), its keys still go.
        let outside = edited.lines.filter { line in !edited.managedBlocks.contains { $0.id == id && $0.lineNumbers.contains(line.number) } }
        v.expect(outside.map(\.bytes) == file.lines.filter { !removed.contains($0.number) }.map(\.bytes),
                 "\(what): a line outside the block changed or went missing")
        let left = edited.managedBlocks.filter { $0.id == id }
        v.expect(left.allSatisfy(\.keyLines.isEmpty), "\(what): a block \(id) that still holds keys is left")
        v.expect(left.isEmpty || !file.markerProblems.isEmpty, "\(what): \(left.count) blocks \(id) left in a file without marker problems")
        let others = blockSummary(file, except: id), othersAfter = blockSummary(edited, except: id)
        v.expect(othersAfter == others, "\(what): other blocks changed from \(others) to \(othersAfter)")
    }

    /// One step of a plan's edits.
    enum Edit: CustomStringConvertible {
        case replace(ManagedBlockID, [AuthorizedKeyEntry]), remove(ManagedBlockID), revoke(Set<String>)

        var description: String {
            switch self {
            case .replace(let id, let entries): "replacingBlock(\(id), \(entries.count) entries)"
            case .remove(let id): "removingBlock(\(id))"
            case .revoke(let fingerprints): "removingKeys(\(fingerprints.count) fingerprints)"
            }
        }
    }

    /// The edits a push makes, in an order that depends on the input: every
    /// id is replaced or removed, then each is replaced and removed again,
    /// with a revocation in between.
    static func editSequence(_ file: AuthorizedKeysFile, _ entries: [AuthorizedKeyEntry]) -> [Edit] {
        let ids = candidateIDs(file)
        var edits: [Edit] = []
        for (index, id) in ids.enumerated() {
            edits.append(index % 2 == 0 ? .remove(id) : .replace(id, Array(entries.prefix(index))))
        }
        edits.append(.revoke(Set(entries.prefix(1).map(\.key.fingerprint))))
        for id in ids.reversed() { edits += [.replace(id, Array(entries.suffix(1))), .remove(id)] }
        let start = file.lines.count % max(edits.count, 1)
        return Array(edits[start...] + edits[..<start])
    }

    /// Issue 22: the lines outside the blocks keysync read (user lines and
    /// stray markers) stay byte for byte, in order, and outside every block
    /// after any sequence of edits; only a revocation removes some of them
    /// (revoked keys go wherever they are) and an append may give the last
    /// one the newline it lacked. Were two stray markers to pair up, the
    /// lines between them would go missing from the outside lines.
    static func checkEditSequence(_ file: AuthorizedKeysFile, _ entries: [AuthorizedKeyEntry], _ v: inout Violations) {
        func outside(_ file: AuthorizedKeysFile) -> [AuthorizedKeysFile.Line] {
            let managed = file.managedLineNumbers
            return file.lines.filter { !managed.contains($0.number) }
        }
        var expected = outside(file).map(\.bytes)
        var current = file
        var done: [String] = []
        for edit in editSequence(file, entries) {
            let edited: AuthorizedKeysFile
            switch edit {
            case .replace(let id, let wanted):
                edited = current.replacingBlock(id, with: wanted)
                if current.managedBlock(id) == nil, let last = current.lines.last, !last.hasNewline,
                   expected.last == last.bytes, let marker = edited.lines.last?.bytes {
                    expected[expected.count - 1] = AuthorizedKeysFile.terminated(last.bytes, marker.suffix(2) == [0x0d, 0x0a] ? [0x0d, 0x0a] : [0x0a])
                }
            case .remove(let id):
                edited = current.removingBlock(id)
            case .revoke(let fingerprints):
                edited = current.removingKeys(withFingerprints: fingerprints)
                // Suspect lines go too, unless that would change the blocks (then key lines alone).
                let keyLinesOnly = changesBlocks(current) { grants($0, fingerprints) }
                expected = expected.filter { bytes in
                    let line = AuthorizedKeysFile.Line(number: 1, bytes: bytes)
                    return !(grants(line, fingerprints) && (!keyLinesOnly || line.entry != nil))
                }
            }
            done.append(edit.description)
            let reread = AuthorizedKeysFile(bytes: edited.serialized())
            let got = outside(reread).map(\.bytes)
            if got != expected {
                let common = min(got.count, expected.count)
                let index = (0..<common).first { got[$0] != expected[$0] } ?? common
                v.fail("after \(done.joined(separator: ", ")): the lines outside the blocks read are \(got.count), expected \(expected.count); "
                    + "first difference at #\(index + 1): \(index < got.count ? debugBytes(got[index]) : "none") vs \(index < expected.count ? debugBytes(expected[index]) : "none")")
                return
            }
            current = reread
        }
    }

    /// Whether `line` may grant one of `fingerprints` (a key line that is
    /// not a certificate, or a suspect line).
    static func grants(_ line: AuthorizedKeysFile.Line, _ fingerprints: Set<String>) -> Bool {
        line.grantingFingerprint.map { fingerprints.contains($0) } ?? false
    }

    /// Whether dropping `removed` from `file` changes which blocks it has (or
    /// its marker problems): then the edit removes key lines only.
    static func changesBlocks(_ file: AuthorizedKeysFile, removing removed: (AuthorizedKeysFile.Line) -> Bool) -> Bool {
        let kept = AuthorizedKeysFile(bytes: file.lines.filter { !removed($0) }.flatMap(\.bytes))
        return kept.managedBlocks.map(\.id) != file.managedBlocks.map(\.id) || kept.markerProblems.count != file.markerProblems.count
    }

    static func checkRemovingKeys(_ file: AuthorizedKeysFile, _ fingerprints: Set<String>, _ v: inout Violations) {
        let what = "removingKeys(\(fingerprints.count) fingerprints)"
        let edited = file.removingKeys(withFingerprints: fingerprints)
        checkConsistent(edited, what, &v)
        // Every line that may grant a revoked key goes, suspect lines too,
        // unless that would change the blocks: then key lines alone.
        let keyLinesOnly = changesBlocks(file) { grants($0, fingerprints) }
        let removed: (AuthorizedKeysFile.Line) -> Bool = { grants($0, fingerprints) && (!keyLinesOnly || $0.entry != nil) }
        v.expect(edited.lines.map(\.bytes) == file.lines.filter { !removed($0) }.map(\.bytes),
                 "\(what): a line that is not a revoked key changed or went missing, or one that is stayed")
        v.expect(!edited.lines.contains { grants($0, fingerprints) && (!keyLinesOnly || $0.entry != nil) }, "\(what): a revoked key is left")
        v.expect(edited.managedBlocks.map(\.id) == file.managedBlocks.map(\.id), "\(what): the blocks changed")
    }

    static func checkRemovingUnmanagedKeys(_ file: AuthorizedKeysFile, _ v: inout Violations) {
        let what = "removingUnmanagedKeys()"
        let edited = file.removingUnmanagedKeys()
        checkConsistent(edited, what, &v)
        let managed = file.managedLineNumbers
        let unmanaged: (AuthorizedKeysFile.Line) -> Bool = { $0.grantingFingerprint != nil && !managed.contains($0.number) }
        let keyLinesOnly = changesBlocks(file, removing: unmanaged)
        let removed: (AuthorizedKeysFile.Line) -> Bool = { unmanaged($0) && (!keyLinesOnly || $0.entry != nil) }
        v.expect(edited.lines.map(\.bytes) == file.lines.filter { !removed($0) }.map(\.bytes),
                 "\(what): a comment, blank, invalid or managed line changed or went missing, or an unmanaged key stayed")
        let managedAfter = edited.managedLineNumbers
        v.expect(!edited.keyLines.contains { !managedAfter.contains($0.number) && $0.grantingFingerprint != nil },
                 "\(what): a key outside the blocks is left")
        v.expect(blockSummary(edited) == blockSummary(file), "\(what): the blocks changed")
    }

    // MARK: Options field and key import (inventory `options:` and `file:`)

    static func checkOptionsAndImport(_ bytes: [UInt8], _ v: inout Violations) {
        let firstLine = bytes.prefix { $0 != 0x0a }
        if let options = try? AuthorizedKeyOptions.parse(String(decoding: firstLine, as: UTF8.self)) {
            do {
                let again = try AuthorizedKeyOptions.parse(options.text)
                v.expect(again == options, "options \(debugBytes(Array(options.text.utf8))) parse differently the second time")
            } catch {
                v.fail("options \(debugBytes(Array(options.text.utf8))) parsed once, then not: \(error)")
            }
        }
        guard bytes.count <= 16_384, let keys = try? KeyImporter.importKeys(from: bytes, path: "fuzz-input") else { return }
        for key in keys.prefix(maxEntries) {
            do {
                let again = try KeyImporter.parsePublicKeyLine(key.openSSHLine)
                v.expect(again.blob == key.blob && again.type == key.type,
                         "imported key \(key.type) reads back as \(again.type) with another blob from \(debugBytes(Array(key.openSSHLine.utf8)))")
            } catch {
                v.fail("imported key's line \(debugBytes(Array(key.openSSHLine.utf8))) does not parse: \(error)")
            }
        }
    }
}
