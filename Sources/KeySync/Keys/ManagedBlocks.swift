/// Names one managed block: one per project and role.
public struct ManagedBlockID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Project name from the inventory.
    public let project: String
    /// Role name from the inventory.
    public let role: String

    /// Throws unless both names are non-empty and free of blanks and control characters.
    public init(project: String, role: String) throws(KeyParseError) {
        for (label, name) in [("project", project), ("role", role)] where !Self.isValidName(name) {
            throw .invalid("\(label) name \(KeyBlob.quoted(name)) cannot appear in a keysync marker")
        }
        self.project = project
        self.role = role
    }

    /// True when `name` can appear in a marker line.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0.isUnsafeInText }
    }

    /// `# keysync:begin project=P role=R`
    public var beginMarker: String { "# keysync:begin project=\(project) role=\(role)" }
    /// `# keysync:end project=P role=R`
    public var endMarker: String { "# keysync:end project=\(project) role=\(role)" }
    /// `project=P role=R`
    public var description: String { "project=\(project) role=\(role)" }

    /// Orders by project, then role.
    public static func < (a: ManagedBlockID, b: ManagedBlockID) -> Bool { (a.project, a.role) < (b.project, b.role) }
}

/// A well-formed managed block: a begin marker, key lines, and the matching end marker.
public struct ManagedBlock: Hashable, Sendable {
    /// Which project and role.
    public let id: ManagedBlockID
    /// Line number of the begin marker.
    public let begin: Int
    /// Line number of the end marker.
    public let end: Int
    /// The key lines between the markers.
    public let keyLines: [AuthorizedKeysFile.Line]

    /// Every line of the block, markers included.
    public var lineNumbers: ClosedRange<Int> { begin...end }
    /// The key entries between the markers, in order.
    public var entries: [AuthorizedKeyEntry] { keyLines.compactMap(\.entry) }
}

/// A marker that does not form a block. Its lines stay unmanaged: keysync
/// never deletes a line because of a malformed marker.
public struct MarkerProblem: Hashable, Sendable, CustomStringConvertible {
    /// Line number of the marker.
    public let line: Int
    /// What is wrong and what keysync does about it.
    public let message: String
    /// `line N: message`
    public var description: String { "line \(line): \(message)" }
}

/// Managed blocks and pure edits. Every edit returns a new file in which
/// every line it does not touch keeps its bytes.
///
/// Rules for markers: a block is what keysync writes as one, a begin marker,
/// only key lines, and the end marker with the same project and role. Any
/// other line before the end (a comment, a blank or invalid line, another
/// marker) means a person or another tool wrote there, so the begin marker
/// does not open a block. A begin without its end, an end without its begin,
/// and a second block for the same id are reported in `markerProblems`; stray
/// markers and the lines around them count as unmanaged, and a block whose
/// begin is stray is written again at the end of the file (the stray marker
/// stays as a comment).
///
/// Block identity survives edits: after any edit the bytes read back to the
/// same blocks (minus a removed one, with a replaced one) and the same stray
/// markers, so a later run cannot take a person's lines for a block. Only
/// removing a block's lines could change that (a stray begin before it and a
/// stray end after it, with nothing but key lines between them and the
/// block, would pair up); such a block loses its keys but keeps its markers.
extension AuthorizedKeysFile {
    private enum Marker {
        case begin(ManagedBlockID), end(ManagedBlockID), malformed(String)

        init?(_ line: Line) {
            guard case .comment = line.kind else { return nil }
            var text = Substring(line.text).drop { $0 == " " || $0 == "\t" }.dropFirst()  // the '#'
            text = text.drop { $0 == " " || $0 == "\t" }
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let verb = words.first, verb == "keysync:begin" || verb == "keysync:end" else { return nil }
            var fields: [Substring: String] = [:]
            for word in words.dropFirst() {
                let pair = word.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[pair[0]] = String(pair[1]) }
            }
            guard let project = fields["project"], let role = fields["role"],
                  let id = try? ManagedBlockID(project: project, role: role) else {
                self = .malformed("\(verb) marker without project= and role=; left as a comment")
                return
            }
            self = verb == "keysync:begin" ? .begin(id) : .end(id)
        }
    }

    /// Index (0-based) of the first line at or after `index` that is not a
    /// key line: what decides whether a begin marker before it opens a block.
    private func firstNonKeyLine(from index: Int) -> Int {
        Self.firstNonKeyLine(in: lines, from: index)
    }

    private static func firstNonKeyLine(in lines: [Line], from index: Int) -> Int {
        lines[index...].firstIndex { $0.entry == nil } ?? lines.count
    }

    /// True when `line` is the end marker for `id`.
    private static func isEndMarker(_ line: Line, of id: ManagedBlockID) -> Bool {
        if case .end(let other)? = Marker(line) { other == id } else { false }
    }

    /// The blocks and marker problems of a file's lines, found once when the
    /// file is made (``AuthorizedKeysFile/blockScan``): planning one host
    /// asks for them several times.
    struct BlockScan: Hashable, Sendable {
        var blocks: [ManagedBlock] = []
        var problems: [MarkerProblem] = []
        var managedLineNumbers: Set<Int> = []
        /// Key lines between a begin marker that opens no block and its own end marker (no marker between).
        var strayKeyLines: [ManagedBlockID: [Line]] = [:]
    }

    static func scanBlocks(_ lines: [Line]) -> BlockScan {
        var blocks: [ManagedBlock] = []
        var problems: [MarkerProblem] = []
        var pairedEnds = Set<Int>()
        var firstBegin: [ManagedBlockID: Int] = [:]
        var strayKeyLines: [ManagedBlockID: [Line]] = [:]
        for (index, line) in lines.enumerated() {
            switch Marker(line) {
            case nil:
                break
            case .malformed(let message):
                problems.append(MarkerProblem(line: line.number, message: message))
            case .end(let id):
                if !pairedEnds.contains(line.number) {
                    problems.append(MarkerProblem(line: line.number, message:
                        "end marker for \(id) without a matching begin marker; left as a comment"))
                }
            case .begin(let id):
                let stop = firstNonKeyLine(in: lines, from: index + 1)
                guard stop < lines.count, isEndMarker(lines[stop], of: id) else {
                    problems.append(MarkerProblem(line: line.number, message: Self.strayBegin(id, before: stop < lines.count ? lines[stop] : nil)))
                    // A block broken from inside (a comment or blank line put
                    // between its own two markers): its key lines were keysync's.
                    // Strays around other blocks (issue 22) claim nothing.
                    let next = lines[(index + 1)...].firstIndex { Marker($0) != nil }
                    if let next, isEndMarker(lines[next], of: id) {
                        strayKeyLines[id, default: []] += lines[(index + 1)..<next].filter { $0.entry != nil }
                    }
                    continue
                }
                if let first = firstBegin[id] {
                    problems.append(MarkerProblem(line: line.number, message:
                        "second block for \(id) (the first starts at line \(first)); its keys are checked against the inventory, and push writes the inventory's keys in the first block and removes this one"))
                } else {
                    firstBegin[id] = line.number
                }
                blocks.append(ManagedBlock(id: id, begin: line.number, end: lines[stop].number,
                                           keyLines: Array(lines[(index + 1)..<stop])))
                pairedEnds.insert(lines[stop].number)
            }
        }
        return BlockScan(blocks: blocks, problems: problems, managedLineNumbers: Set(blocks.flatMap(\.lineNumbers)),
                         strayKeyLines: strayKeyLines)
    }

    /// Why the begin marker for `id` opens no block: `next` is the first line
    /// after it that is not a key line (nil at the end of the file).
    private static func strayBegin(_ id: ManagedBlockID, before next: Line?) -> String {
        guard let next else { return "begin marker for \(id) has no end marker; left as a comment, its lines are unmanaged" }
        let what = switch Marker(next) {
        case .begin(let other)?: "the begin marker for \(other)"
        case .end(let other)?: "the end marker for \(other)"
        case .malformed?: "a broken marker"
        case nil: switch next.kind {
            case .blank: "a blank line"
            case .comment: "a comment"
            case .invalid: "an invalid line"
            case .key: "a key line"
            }
        }
        return "begin marker for \(id) is followed by \(what) on line \(next.number), not by key lines and its end marker "
            + "(keysync writes nothing else in a block); left as a comment, the lines after it are unmanaged"
    }

    /// The well-formed managed blocks, in file order.
    public var managedBlocks: [ManagedBlock] { blockScan.blocks }
    /// Markers that do not form blocks.
    public var markerProblems: [MarkerProblem] { blockScan.problems }
    /// The first block with `id`, if any.
    public func managedBlock(_ id: ManagedBlockID) -> ManagedBlock? { managedBlocks.first { $0.id == id } }
    /// Numbers of the lines inside well-formed blocks, markers included.
    public var managedLineNumbers: Set<Int> { blockScan.managedLineNumbers }
    /// Key lines of a block broken from inside (a comment or blank line put
    /// between its own begin and end markers by hand): unmanaged now, but
    /// keysync put them there for `id`.
    public func strayKeyLines(of id: ManagedBlockID) -> [Line] { blockScan.strayKeyLines[id] ?? [] }
    /// Every block id keysync has in the file, whole or broken from inside
    /// (a broken block's keys still grant access): what the database keeps
    /// per account, so push and check read the account again.
    public var heldBlockIDs: [ManagedBlockID] {
        let whole = managedBlocks.map(\.id)
        return whole + brokenBlockIDs.filter { !whole.contains($0) }
    }

    /// The ids of blocks broken from inside, in file order.
    public var brokenBlockIDs: [ManagedBlockID] {
        blockScan.strayKeyLines.sorted { ($0.value.first?.number ?? 0) < ($1.value.first?.number ?? 0) }.map(\.key)
    }

    /// The line terminator new lines get: the one of `line`, else the file's first, else `\n`.
    private func lineEnding(near line: Int? = nil) -> [UInt8] {
        let sample = line.map { lines[$0 - 1] } ?? lines.first(where: \.hasNewline)
        return sample?.bytes.suffix(2) == [0x0d, 0x0a] ? [0x0d, 0x0a] : [0x0a]
    }

    /// Replaces the block `id` with one holding `entries`, or appends it at the
    /// end of the file (after adding a final newline if the file lacks one).
    /// Later blocks with the same id are removed (or emptied, see `removingBlock`).
    public func replacingBlock(_ id: ManagedBlockID, with entries: [AuthorizedKeyEntry]) -> AuthorizedKeysFile {
        replacingBlock(id, withLines: entries.map { .entry($0) })
    }

    /// A line of a block written by ``replacingBlock(_:withLines:)``.
    public enum BlockLine: Hashable, Sendable {
        /// A line kept as it is, its own terminator included (a line that
        /// had none, the file's last, gets the block's).
        case kept([UInt8])
        /// An entry written the way keysync writes one.
        case entry(AuthorizedKeyEntry)
    }

    /// Replaces the block `id` with `keyLines`, keeping the bytes of each
    /// `.kept` line, or appends it at the end of the file; later blocks with
    /// the same id go, as with ``replacingBlock(_:with:)``. For roles with
    /// `adopt: true`, whose lines keysync keeps as it found them.
    public func replacingBlock(_ id: ManagedBlockID, withLines keyLines: [BlockLine]) -> AuthorizedKeysFile {
        let matching = managedBlocks.filter { $0.id == id }
        let ending = lineEnding(near: matching.first?.begin)
        let rendered = keyLines.map { line -> [UInt8] in
            switch line {
            case .kept(let bytes): Self.terminated(bytes, ending)
            case .entry(let entry): Array(entry.line.utf8) + ending
            }
        }
        let blockLines = [Array(id.beginMarker.utf8) + ending] + rendered + [Array(id.endMarker.utf8) + ending]
        guard let first = matching.first else {
            var out = LineBuilder()
            lines.forEach { $0.hasNewline ? out.keep($0) : out.add(Self.terminated($0.bytes, ending)) }
            blockLines.forEach { out.add($0) }
            return AuthorizedKeysFile(lines: out.lines)
        }
        return rewriting(first, as: blockLines, removing: matching.dropFirst())
    }

    /// Takes key lines outside every block out of the file, to be written
    /// again inside blocks (`adopt: true` roles): each move names the lines
    /// (1-based numbers of this file) that block `id` takes. A block that
    /// does not exist yet starts empty just before line `at` (its first line
    /// when nil; after the last line when `at` is past it); an existing block
    /// stays where it is. The caller then fills each block with
    /// ``replacingBlock(_:withLines:)``. Lines inside blocks and lines that
    /// are not key lines are never taken.
    ///
    /// Safe for the marker rules: only key lines go, so what stands between
    /// any two markers that are not a block stays what it was, and each new
    /// block is a begin and an end marker with nothing between them.
    public func movingKeyLines(into moves: [(id: ManagedBlockID, lines: Set<Int>, at: Int?)]) -> AuthorizedKeysFile {
        let managed = managedLineNumbers
        let existing = Set(managedBlocks.map(\.id))
        var taken = Set<Int>(), anchors: [Int: [ManagedBlockID]] = [:]
        for move in moves {
            let numbers = move.lines.filter { $0 >= 1 && $0 <= lines.count && !managed.contains($0) && lines[$0 - 1].entry != nil }
            taken.formUnion(numbers)
            if !existing.contains(move.id), let first = numbers.min() {
                var at = min(max(move.at ?? first, 1), lines.count + 1)
                // A new block never goes inside another one: after it.
                for block in managedBlocks where block.begin < at && at <= block.end { at = block.end + 1 }
                anchors[at, default: []].append(move.id)
            }
        }
        guard !taken.isEmpty else { return self }
        var out = LineBuilder()
        func addBlocks(before number: Int) {
            for id in anchors[number] ?? [] {
                let ending = lineEnding(near: number <= lines.count ? number : nil)
                if let last = out.lines.last, !last.hasNewline {
                    out.replaceLast(with: Self.terminated(last.bytes, ending))
                }
                out.add(Array(id.beginMarker.utf8) + ending)
                out.add(Array(id.endMarker.utf8) + ending)
            }
        }
        for line in lines {
            addBlocks(before: line.number)
            if !taken.contains(line.number) { out.keep(line) }
        }
        addBlocks(before: lines.count + 1)
        return AuthorizedKeysFile(lines: out.lines)
    }

    /// Removes every block with `id`, markers included. A block that sits
    /// between a stray begin marker and a stray end marker for one id, with
    /// only key lines between them and it, loses only its keys and stays as
    /// an empty block: without its markers the strays would pair up and the
    /// lines between them, which keysync does not own, would read as a block.
    public func removingBlock(_ id: ManagedBlockID) -> AuthorizedKeysFile {
        rewriting(nil, as: [], removing: managedBlocks.filter { $0.id == id }[...])
    }

    /// One pass over the file: `first` (if any) becomes `blockLines`, each of
    /// `removed` (blocks in file order, after `first`) goes whole or, where
    /// that would pair the strays around it, loses only its keys. Linear in
    /// the file, however many blocks an account owner repeats.
    private func rewriting(_ first: ManagedBlock?, as blockLines: [[UInt8]],
                           removing removed: ArraySlice<ManagedBlock>) -> AuthorizedKeysFile {
        var out = LineBuilder()
        var removed = removed
        var lastNonKey: Line?  // the last line written that is not a key line
        var index = 0
        while index < lines.count {
            let line = lines[index]
            if let first, line.number == first.begin {
                blockLines.forEach { out.add($0) }
                lastNonKey = out.lines.last
                index = first.end
            } else if let block = removed.first, line.number == block.begin {
                removed.removeFirst()
                let next = firstNonKeyLine(from: block.end)
                if Self.wouldPair(lastNonKey, next < lines.count ? lines[next] : nil) {
                    out.keep(line)
                    out.keep(lines[block.end - 1])
                    lastNonKey = out.lines.last
                }
                index = block.end
            } else {
                out.keep(line)
                if line.entry == nil { lastNonKey = line }
                index += 1
            }
        }
        return AuthorizedKeysFile(lines: out.lines)
    }

    /// True when `before` is a begin marker and `after` the end marker of the
    /// same id: with only key lines left between them, they would form a block.
    private static func wouldPair(_ before: Line?, _ after: Line?) -> Bool {
        guard let before, let after, case .begin(let id)? = Marker(before), case .end(let other)? = Marker(after) else { return false }
        return id == other
    }

    /// `bytes` ending in a line break: as they are when they do, else with
    /// `ending`; a last line that already ends in `\r` in a CRLF file gets
    /// only the `\n` (not `\r\r\n`).
    public static func terminated(_ bytes: [UInt8], _ ending: [UInt8]) -> [UInt8] {
        if bytes.last == 0x0a { return bytes }
        if bytes.last == 0x0d && ending == [0x0d, 0x0a] { return bytes + [0x0a] }
        return bytes + ending
    }

    /// Removes every line, inside or outside blocks, that may grant a key with
    /// one of these fingerprints (`SHA256:…`): key lines and suspect lines
    /// (``Line/grantingFingerprint``; a certificate line grants nothing and stays).
    public func removingKeys(withFingerprints fingerprints: Set<String>) -> AuthorizedKeysFile {
        keepingBlocks(removingLines { line in line.grantingFingerprint.map { fingerprints.contains($0) } ?? false }) {
            removingLines { line in line.entry != nil && line.grantingFingerprint.map { fingerprints.contains($0) } == true }
        }
    }

    /// `edited`, unless taking out a suspect line (``Line/suspectFingerprint``,
    /// an invalid line to sshd as keysync reads it) changed which blocks
    /// the file has: between two stray markers it could leave only key
    /// lines, and a user's markers would become a keysync block (issue 22).
    /// Then `keyLinesOnly`, which removes key lines alone (never a change
    /// of blocks: markers with only key lines between them are a block already).
    private func keepingBlocks(_ edited: AuthorizedKeysFile, else keyLinesOnly: () -> AuthorizedKeysFile) -> AuthorizedKeysFile {
        guard edited.managedBlocks.map(\.id) != managedBlocks.map(\.id) || edited.markerProblems.count != markerProblems.count else {
            return edited
        }
        return keyLinesOnly()
    }

    /// Removes every key line outside the well-formed blocks (for exclusive
    /// accounts), and every line another sshd may take for one
    /// (``Line/suspectFingerprint``). Comments, blank and other invalid lines stay.
    public func removingUnmanagedKeys() -> AuthorizedKeysFile {
        let managed = managedLineNumbers
        return keepingBlocks(removingLines { $0.grantingFingerprint != nil && !managed.contains($0.number) }) {
            removingLines { $0.entry != nil && $0.grantingFingerprint != nil && !managed.contains($0.number) }
        }
    }

    private func removingLines(where shouldRemove: (Line) -> Bool) -> AuthorizedKeysFile {
        var out = LineBuilder()
        lines.filter { !shouldRemove($0) }.forEach { out.keep($0) }
        return AuthorizedKeysFile(lines: out.lines)
    }
}

/// Collects lines for an edited file, numbering them as they come.
private struct LineBuilder {
    private(set) var lines: [AuthorizedKeysFile.Line] = []
    mutating func keep(_ line: AuthorizedKeysFile.Line) { lines.append(.init(renumbering: line, to: lines.count + 1)) }
    mutating func add(_ bytes: [UInt8]) { lines.append(.init(number: lines.count + 1, bytes: bytes)) }
    mutating func replaceLast(with bytes: [UInt8]) { lines[lines.count - 1] = .init(number: lines.count, bytes: bytes) }
}
