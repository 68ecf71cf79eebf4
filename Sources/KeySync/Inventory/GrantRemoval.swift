import Foundation

/// `review --propose-removals`: the inventory edit that removes grants, as a
/// text edit of the YAML (comments, order and layout kept) and a unified
/// diff. Nothing is written: the diff is printed for a person to apply.
public struct GrantRemoval: Sendable {
    /// The edited text.
    public var text: String
    /// Grants that could not be removed by a line edit, with why (edit by hand).
    public var notes: [String]
    /// Grants removed.
    public var removed: [AccessGrant]

    /// Removes `grants` from `text` (the inventory they were read from).
    /// A grant from a person (`people:`) goes only when every key that
    /// person brings to the role is among `grants`; the person is removed
    /// from the role's `people:` then.
    public init(text original: String, removing grants: [AccessGrant], allGrants: [AccessGrant]) {
        // Lines as libyaml counts them (the grants' lines and columns come
        // from it): split on Characters, one CRLF pair or a U+2028 above a
        // grant would shift every later line by one and remove a neighbour.
        var lines = Self.lines(original)
        var notes: [String] = [], removed: [AccessGrant] = []
        var edits: [(source: GrantSource, grants: [AccessGrant])] = []
        let removing = Set(grants.map { Self.id($0) })
        var personDone = Set<String>()
        for grant in grants {
            guard let source = grant.source else {
                notes.append("\(grant.project)/\(grant.role): key \(grant.key): no inventory line known; remove it by hand")
                continue
            }
            guard let person = grant.person else {
                edits.append((source, [grant]))
                continue
            }
            let group = "\(grant.project)\u{0}\(grant.role)\u{0}\(person)"
            guard personDone.insert(group).inserted else { continue }
            let theirs = allGrants.filter { $0.project == grant.project && $0.role == grant.role && $0.person == person }
            let kept = theirs.filter { !removing.contains(Self.id($0)) }
            guard kept.isEmpty else {
                notes.append("\(grant.project)/\(grant.role): person \(person) (line \(source.line)) still uses "
                             + kept.map(\.key).joined(separator: ", ") + "; unused: "
                             + theirs.filter { removing.contains(Self.id($0)) }.map(\.key).joined(separator: ", ")
                             + " (remove it from the person's keys by hand if it is no longer theirs)")
                continue
            }
            edits.append((source, theirs))
        }
        // Bottom to top, right to left: an edit never moves the position of one still to do.
        for edit in edits.sorted(by: { ($0.source.line, $0.source.column) > ($1.source.line, $1.source.column) }) {
            if let problem = Self.remove(at: edit.source, named: edit.grants[0].person ?? edit.grants[0].key, in: &lines) {
                notes.append("\(edit.grants[0].project)/\(edit.grants[0].role): \(edit.grants[0].person.map { "person \($0)" } ?? "key \(edit.grants[0].key)") at line \(edit.source.line): \(problem); remove it by hand")
            } else {
                removed += edit.grants
            }
        }
        let text = lines.map { String(String.UnicodeScalarView($0.text)) + $0.end }.joined()
        (self.text, self.notes, self.removed) = (text, notes, removed)
    }

    /// One line of the inventory: its scalars and the line break after it
    /// (`""` for the last), so the text joins back byte for byte.
    struct Line: Equatable {
        var text: [Unicode.Scalar]
        var end: String
    }

    /// `text` split as libyaml counts lines (``Diagnostic/scanLines(_:scalar:lineBreak:)``,
    /// which the diagnostics' lines and columns come from); columns count Unicode scalars.
    static func lines(_ text: String) -> [Line] {
        var lines: [Line] = [], current: [Unicode.Scalar] = []
        Diagnostic.scanLines(text, scalar: { current.append($0) }, lineBreak: { end in
            lines.append(Line(text: current, end: end))
            current = []
        })
        return lines + [Line(text: current, end: "")]
    }

    private static func id(_ grant: AccessGrant) -> String { "\(grant.project)\u{0}\(grant.role)\u{0}\(grant.key)" }

    /// The unified diff from `original` to the edited text ("" when nothing changed).
    public func diff(from original: String, path: String) -> String {
        UnifiedDiff.render(old: Array(original.utf8), new: Array(text.utf8), path: path)
    }

    /// Removes the list item whose name starts at `source` in `lines`
    /// (each joined with a `\n`; for tests); the reason when it cannot.
    static func remove(at source: GrantSource, in lines: inout [String]) -> String? {
        var split = lines.map { Line(text: Array($0.unicodeScalars), end: "\n") }
        defer { lines = split.map { String(String.UnicodeScalarView($0.text)) } }
        return remove(at: source, named: nil, in: &split)
    }

    /// Removes the list item whose name (`name`, when given: the text there
    /// must be it, bare or quoted) starts at `source`; the reason when it cannot.
    static func remove(at source: GrantSource, named name: String?, in lines: inout [Line]) -> String? {
        guard source.line >= 1, source.line <= lines.count else { return "no such line" }
        let line = lines[source.line - 1].text
        let at = source.column - 1
        guard at >= 0, at < line.count else { return "no such column" }
        if let name, !Self.names(name, in: line, at: at) { return "the text there is not \(name) (the inventory changed?)" }
        let before = line[..<at]
        // A block list item: `- name`, `- { key: name, … }`, or `- key: name` with more lines below.
        if !before.contains("["), let dash = before.firstIndex(where: { $0 != " " }), before[dash] == "-" {
            let indent = dash
            var end = source.line
            while end < lines.count {
                let next = lines[end].text
                let blank = next.allSatisfy { $0 == " " || $0 == "\t" }
                let nextIndent = next.prefix { $0 == " " }.count
                guard !blank, nextIndent > indent else { break }
                end += 1
            }
            lines.removeSubrange((source.line - 1)..<end)
            return nil
        }
        // A flow list on this line: `[a, name, { key: b, until: … }]`.
        var depth = 0, open: Int?
        for index in stride(from: at - 1, through: 0, by: -1) {
            switch line[index] {
            case "]", "}": depth += 1
            case "[", "{":
                // An enclosing `{` is the item's own mapping: the list is further out.
                if depth > 0 { depth -= 1 } else if line[index] == "[" { open = index }
            default: break
            }
            if open != nil { break }
        }
        guard let open else { return "not in a list keysync can edit" }
        var elements: [(start: Int, end: Int)] = [], start = open + 1, level = 0, close: Int?
        var quote: Unicode.Scalar?
        var index = open + 1
        while index < line.count, close == nil {
            let char = line[index]
            if let q = quote {
                if char == q { quote = nil }
            } else {
                switch char {
                case "\"", "'": quote = char
                case "[", "{": level += 1
                case "}": level -= 1
                case "]":
                    if level == 0 { close = index } else { level -= 1 }
                case "," where level == 0:
                    elements.append((start, index))
                    start = index + 1
                default: break
                }
            }
            index += 1
        }
        guard let close else { return "the list continues on the next line" }
        elements.append((start, close))
        guard let hit = elements.firstIndex(where: { $0.start <= at && at < $0.end }) else { return "not in a list keysync can edit" }
        let kept = elements.indices.filter { $0 != hit }
            .map { String(String.UnicodeScalarView(line[elements[$0].start..<elements[$0].end])).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        lines[source.line - 1].text = Array(line[...open]) + Array(kept.joined(separator: ", ").unicodeScalars) + Array(line[close...])
        return nil
    }

    /// Whether `line` holds `name` at `at`, bare or in quotes, and nothing of a longer name after it.
    private static func names(_ name: String, in line: [Unicode.Scalar], at: Int) -> Bool {
        var index = at
        if line[index] == "\"" || line[index] == "'" { index += 1 }
        let wanted = Array(name.unicodeScalars)
        guard line.count - index >= wanted.count, Array(line[index..<index + wanted.count]) == wanted else { return false }
        let after = index + wanted.count
        return after == line.count || " \t,]}\"'#".unicodeScalars.contains(line[after])
    }
}
