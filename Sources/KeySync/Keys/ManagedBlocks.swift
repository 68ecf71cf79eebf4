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
/// Rules for markers: a block is a begin marker followed, with no other begin
/// marker in between, by the end marker with the same project and role. A
/// begin without its end, an end without its begin, and a second block for
/// the same id are reported in `markerProblems`; lines around a broken
/// marker count as unmanaged, and a replaced block whose begin was orphaned is
/// written again at the end of the file (the stray marker stays as a comment).
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

    private func scanBlocks() -> (blocks: [ManagedBlock], problems: [MarkerProblem]) {
        var blocks: [ManagedBlock] = []
        var problems: [MarkerProblem] = []
        var open: (id: ManagedBlockID, line: Int, keys: [Line])?
        for line in lines {
            switch Marker(line) {
            case nil:
                if line.entry != nil { open?.keys.append(line) }
            case .malformed(let message):
                problems.append(MarkerProblem(line: line.number, message: message))
            case .begin(let id):
                if let unclosed = open {
                    problems.append(MarkerProblem(line: unclosed.line, message:
                        "begin marker for \(unclosed.id) has no end marker before line \(line.number); its lines are unmanaged"))
                }
                open = (id, line.number, [])
            case .end(let id):
                if let block = open, block.id == id {
                    if let first = blocks.first(where: { $0.id == id }) {
                        problems.append(MarkerProblem(line: block.line, message:
                            "second block for \(id) (the first starts at line \(first.begin)); keysync merges them on the next write"))
                    }
                    blocks.append(ManagedBlock(id: id, begin: block.line, end: line.number, keyLines: block.keys))
                    open = nil
                } else {
                    problems.append(MarkerProblem(line: line.number, message:
                        "end marker for \(id) without a matching begin marker; left as a comment"))
                }
            }
        }
        if let unclosed = open {
            problems.append(MarkerProblem(line: unclosed.line, message:
                "begin marker for \(unclosed.id) has no end marker; its lines are unmanaged"))
        }
        return (blocks, problems)
    }

    /// The well-formed managed blocks, in file order.
    public var managedBlocks: [ManagedBlock] { scanBlocks().blocks }
    /// Markers that do not form blocks.
    public var markerProblems: [MarkerProblem] { scanBlocks().problems }
    /// The first block with `id`, if any.
    public func managedBlock(_ id: ManagedBlockID) -> ManagedBlock? { managedBlocks.first { $0.id == id } }
    /// Numbers of the lines inside well-formed blocks, markers included.
    public var managedLineNumbers: Set<Int> { Set(managedBlocks.flatMap(\.lineNumbers)) }

    /// The line terminator new lines get: the one of `line`, else the file's first, else `\n`.
    private func lineEnding(near line: Int? = nil) -> [UInt8] {
        let sample = line.map { lines[$0 - 1] } ?? lines.first(where: \.hasNewline)
        return sample?.bytes.suffix(2) == [0x0d, 0x0a] ? [0x0d, 0x0a] : [0x0a]
    }

    /// Replaces the block `id` with one holding `entries`, or appends it at the
    /// end of the file (after adding a final newline if the file lacks one).
    /// Later blocks with the same id are removed.
    public func replacingBlock(_ id: ManagedBlockID, with entries: [AuthorizedKeyEntry]) -> AuthorizedKeysFile {
        let matching = managedBlocks.filter { $0.id == id }
        let ending = lineEnding(near: matching.first?.begin)
        let blockLines = ([id.beginMarker] + entries.map(\.line) + [id.endMarker]).map { Array($0.utf8) + ending }
        var out = LineBuilder()
        if let first = matching.first {
            let removed = Set(matching.flatMap(\.lineNumbers))
            for line in lines {
                if line.number == first.begin { blockLines.forEach { out.add($0) } }
                if !removed.contains(line.number) { out.keep(line) }
            }
        } else {
            lines.forEach { $0.hasNewline ? out.keep($0) : out.add($0.bytes + ending) }
            blockLines.forEach { out.add($0) }
        }
        return AuthorizedKeysFile(lines: out.lines)
    }

    /// Removes every block with `id`, markers included.
    public func removingBlock(_ id: ManagedBlockID) -> AuthorizedKeysFile {
        let removed = Set(managedBlocks.filter { $0.id == id }.flatMap(\.lineNumbers))
        return removingLines { removed.contains($0.number) }
    }

    /// Removes every key line, inside or outside blocks, whose key has one of these
    /// fingerprints (`SHA256:…`; for certificates, the certified key's).
    public func removingKeys(withFingerprints fingerprints: Set<String>) -> AuthorizedKeysFile {
        removingLines { line in line.entry.map { fingerprints.contains($0.key.fingerprint) } ?? false }
    }

    /// Removes every key line outside the well-formed blocks (for exclusive
    /// accounts). Comments, blank and invalid lines stay.
    public func removingUnmanagedKeys() -> AuthorizedKeysFile {
        let managed = managedLineNumbers
        return removingLines { $0.entry != nil && !managed.contains($0.number) }
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
}
