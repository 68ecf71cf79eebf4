@preconcurrency import Yams

/// Reads typed values out of composed YAML nodes and records a located
/// diagnostic for everything that does not fit, so that one pass finds every problem.
///
/// Documents are composed with `Resolver.basic` (no implicit typing, which is
/// also much faster); types come from the scalar style here instead: only
/// plain scalars can be numbers, booleans or null.
struct NodeReader {
    /// The inventory file as the user named it, for diagnostics.
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    private(set) var errorCount = 0
    /// Mappings merged in for merge keys so far (`<<`), and the most a file may take.
    private var mergedPairs = 0, mergeLimitReported = false
    static let mergeLimit = 10_000

    init(file: String) { self.file = file }

    // MARK: Diagnostics

    mutating func error(_ message: String, at node: Node) { report(.error, message, at: node) }
    mutating func warning(_ message: String, at node: Node) { report(.warning, message, at: node) }

    mutating func report(_ severity: Diagnostic.Severity, _ message: String, at node: Node) {
        let (line, column) = Self.position(of: node)
        add(Diagnostic(file: file, line: line, column: column, severity: severity, message: message))
    }

    mutating func add(_ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
        if diagnostic.severity == .error { errorCount += 1 }
    }

    /// 1-based line and column of a node (Yams marks are already 1-based).
    static func position(of node: Node) -> (line: Int, column: Int) {
        node.mark.map { ($0.line, $0.column) } ?? (1, 1)
    }

    static func line(of node: Node) -> Int { position(of: node).line }

    // MARK: Mappings

    /// The pairs of a mapping with YAML merge keys (`<<: *anchor`) expanded:
    /// explicit keys win over merged ones, earlier merges over later ones.
    private mutating func pairs(of mapping: Node.Mapping) -> [(key: Node, value: Node, merged: Bool)] {
        var explicit: [(key: Node, value: Node, merged: Bool)] = []
        var merged: [(key: Node, value: Node, merged: Bool)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, scalar.style == .plain, scalar.string == "<<" else {
                explicit.append((key, value, false))
                continue
            }
            let sources: [Node] = value.sequence.map(Array.init) ?? [value]
            // Merges of merges of one anchor double with each level: a small
            // file must not take exponential time (an alias bomb).
            guard mergedPairs < Self.mergeLimit else {
                if !mergeLimitReported { error("merge keys (<<) expand to more than \(Self.mergeLimit) mappings (aliases merged into themselves?)", at: key) }
                mergeLimitReported = true
                continue
            }
            for source in sources {
                guard let inner = source.mapping else {
                    error("a merge key (<<) takes a mapping or a list of mappings, found \(Self.describe(source))", at: source)
                    continue
                }
                mergedPairs += 1
                merged += pairs(of: inner).map { ($0.key, $0.value, true) }
            }
        }
        return explicit + merged
    }

    /// The entries of a mapping keyed by name (hosts, keys, projects, roles) in
    /// file order; reports a non-mapping, non-string keys and duplicate names.
    mutating func entries(of node: Node, _ what: String, noun: String = "name") -> [(name: String, key: Node, value: Node)] {
        if Self.isNull(node) { return [] }
        guard let mapping = node.mapping else {
            error("\(what) must be a mapping of names, found \(Self.describe(node))", at: node)
            return []
        }
        var result: [(name: String, key: Node, value: Node)] = []
        var seen: [String: Node] = [:]
        for (key, value, merged) in pairs(of: mapping) {
            guard case .scalar(let scalar) = key, !Self.isNull(key) else {
                error("\(what): a \(noun) must be a string, found \(Self.describe(key))", at: key)
                continue
            }
            if let first = seen[scalar.string] {
                if !merged { error("\(what): duplicate \(noun) \"\(scalar.string)\" (first at line \(Self.line(of: first)))", at: key) }
                continue
            }
            seen[scalar.string] = key
            result.append((scalar.string, key, value))
        }
        return result
    }

    /// The fields of a record-like mapping by name (null counts as an empty
    /// mapping); reports a non-mapping, duplicate fields, and unknown fields
    /// with a "did you mean" suggestion.
    mutating func fields(of node: Node, _ what: String, allowed: [String]) -> Fields? {
        guard node.mapping != nil || Self.isNull(node) else {
            error("\(what) must be a mapping, found \(Self.describe(node))", at: node)
            return nil
        }
        var fields = Fields(node: node)
        for (name, key, value) in entries(of: node, what, noun: "field") {
            guard allowed.contains(name) else {
                let hint = Suggestion.closest(to: name, in: allowed).map { "did you mean \"\($0)\"?" }
                    ?? "expected one of: \(allowed.joined(separator: ", "))"
                error("\(what): unknown field \"\(name)\"; \(hint)", at: key)
                continue
            }
            fields.values[name] = (key, value)
        }
        return fields
    }

    // MARK: Scalars

    private static let nulls: Set<String> = ["", "~", "null", "Null", "NULL"]

    /// A plain empty, `~` or `null` scalar.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        return scalar.style == .plain && nulls.contains(scalar.string)
    }

    /// How a value looks in an error message.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar):
            if isNull(node) { return "nothing" }
            let text = scalar.string.count > 40 ? scalar.string.prefix(40) + "…" : Substring(scalar.string)
            return scalar.style == .plain ? "\"\(text)\"" : "the quoted string \"\(text)\""
        }
    }

    /// A non-empty string scalar.
    mutating func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            error("\(what) must be a string, found \(Self.describe(node))", at: node)
            return nil
        }
        if scalar.string.isEmpty { error("\(what) must not be empty", at: node) }
        return scalar.string
    }

    /// A plain decimal integer within `range`: digits only, no `+` and no
    /// leading zero (YAML 1.1 readers, Ansible's among them, take `0755` for
    /// octal 493, so `uid: 0755` would mean one account here and another
    /// there).
    mutating func integer(_ node: Node, _ what: String, in range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = Int(scalar.string),
              scalar.string.utf8.drop(while: { $0 == UInt8(ascii: "-") }).allSatisfy({ (0x30...0x39).contains($0) }) else {
            error("\(what) must be an integer from \(range.lowerBound) to \(range.upperBound), found \(Self.describe(node))", at: node)
            return nil
        }
        guard scalar.string == "0" || !scalar.string.hasPrefix("0") else {
            error("\(what) \(scalar.string) has a leading zero, which YAML 1.1 tools read as octal; write \(value) (decimal) or the octal's value", at: node)
            return nil
        }
        guard range.contains(value) else {
            error("\(what) \(value) is out of range (\(range.lowerBound) to \(range.upperBound))", at: node)
            return nil
        }
        return value
    }

    /// A plain number of seconds, more than 0 and at most a day.
    mutating func seconds(_ node: Node, _ what: String) -> Double? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = Double(scalar.string), value.isFinite else {
            error("\(what) must be a number of seconds, found \(Self.describe(node))", at: node)
            return nil
        }
        guard value > 0, value <= 86_400 else {
            error("\(what) must be more than 0 and at most 86400 seconds, found \(scalar.string)", at: node)
            return nil
        }
        return value
    }

    /// A plain `true`/`false` (also `yes`/`no`), any case.
    mutating func bool(_ node: Node, _ what: String) -> Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            switch scalar.string.lowercased() {
            case "true", "yes": return true
            case "false", "no": return false
            default: break
            }
        }
        error("\(what) must be true or false, found \(Self.describe(node))", at: node)
        return nil
    }

    /// A list of strings (`[a, b]` or a block list), each with its node; null or absent is an empty list.
    mutating func strings(_ node: Node?, _ what: String) -> [(value: String, node: Node)] {
        guard let node, !Self.isNull(node) else { return [] }
        guard let sequence = node.sequence else {
            error("\(what) must be a list, found \(Self.describe(node))", at: node)
            return []
        }
        return sequence.compactMap { item in string(item, "\(what) item").map { ($0, item) } }
    }
}

/// The known fields of one YAML mapping, by name.
struct Fields {
    /// The mapping node itself.
    let node: Node
    var values: [String: (key: Node, value: Node)] = [:]

    /// The value node of a field, if present.
    subscript(_ name: String) -> Node? { values[name]?.value }
}

/// "Did you mean" suggestions by edit distance.
enum Suggestion {
    /// The candidate closest to `name`, if within a third of its length (at least 1 edit);
    /// ties go to the alphabetically first, so the answer does not depend on hashing order.
    /// Only candidates of similar length are compared, so large sets stay cheap.
    static func closest<S: Sequence<String>>(to name: String, in candidates: S) -> String? {
        let target = Array(name.unicodeScalars)
        let limit = max(1, target.count / 3)
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let other = Array(candidate.unicodeScalars)
            guard abs(other.count - target.count) <= min(limit, best?.distance ?? limit) else { continue }
            let distance = editDistance(target, other)
            if distance <= limit, best.map({ (distance, candidate) < ($0.distance, $0.name) }) ?? true { best = (candidate, distance) }
        }
        return best?.name
    }

    /// Edit distance counting insertions, deletions, substitutions and swaps of
    /// neighbours (optimal string alignment), so `prot` is one edit from `port`.
    static func editDistance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = Swift.min(current[j], before[j - 2] + 1)
                }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    /// `; did you mean "x"?` or the empty string.
    static func hint<S: Sequence<String>>(for name: String, in candidates: S) -> String {
        closest(to: name, in: candidates).map { "; did you mean \"\($0)\"?" } ?? ""
    }
}
