import Foundation

/// The output of `keysync keys lint`: one row per line of the file.
///
/// JSON: `{"lines":[{"line","kind","type","fingerprint","comment","options":[{"name","value"}],"problems":[…]}]}`,
/// with `null` for `type`, `fingerprint` and `comment` on lines that hold no key.
public struct LintReport: Encodable, Sendable {
    /// One line of the file.
    public struct Row: Encodable, Sendable {
        /// 1-based line number.
        public let line: Int
        /// `key`, `comment`, `blank` or `invalid`.
        public let kind: String
        /// Canonical key type, for key lines.
        @NullWhenNil public var type: String?
        /// `SHA256:…`, for key lines.
        @NullWhenNil public var fingerprint: String?
        /// The key comment, for key lines.
        @NullWhenNil public var comment: String?
        /// The options, for key lines.
        public let options: [AuthorizedKeyOptions.Option]
        /// Problem descriptions; empty for a clean line.
        public let problems: [String]
        /// The problems with their severities, for the text form.
        let details: [KeyProblem]

        enum CodingKeys: String, CodingKey { case line, kind, type, fingerprint, comment, options, problems }
    }

    /// One row per line, in order.
    public let lines: [Row]

    enum CodingKeys: String, CodingKey { case lines }

    /// The report for `file`, judged at `now`.
    public init(file: AuthorizedKeysFile, now: Date) {
        lines = file.lint(now: now).map { lint in
            let entry = lint.line.entry
            return Row(line: lint.line.number, kind: lint.line.kind.name, type: entry?.key.type,
                       fingerprint: entry?.key.fingerprint, comment: entry?.comment,
                       options: entry?.options?.options ?? [], problems: lint.problems.map(\.description),
                       details: lint.problems)
        }
    }

    /// True when any line is invalid or has a warning (exit status 2).
    public var hasProblems: Bool { lines.contains { !$0.problems.isEmpty } }

    /// The JSON document, keys sorted.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self).jsonControlsEscaped } ?? "{\"lines\":[]}"
    }

    /// One row per line, problems indented below their line, and a summary.
    /// Comments, options and problems quote the file, often one copied from a
    /// host: control characters are shown escaped (the file's own lines hold no line feed).
    public func text() -> String {
        let width = String(lines.last?.line ?? 0).count
        var out = lines.map { row -> String in
            var fields = [String(repeating: " ", count: width - String(row.line).count) + String(row.line),
                          row.kind.padding(toLength: 7, withPad: " ", startingAt: 0)]
            if let type = row.type, let fingerprint = row.fingerprint {
                fields += [type, fingerprint]
                if let comment = row.comment, !comment.isEmpty { fields.append(comment) }
                if !row.options.isEmpty { fields.append("[" + row.options.map(\.display).joined(separator: ",") + "]") }
            }
            let problems = row.details.map { "\n" + String(repeating: " ", count: width + 2) + "\($0.severity.rawValue): \($0)" }
            return (fields.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + problems.joined())
                .terminalSafe(keepingNewlines: true)
        }
        let keys = lines.filter { $0.kind == "key" }.count
        let invalid = lines.filter { $0.kind == "invalid" }.count
        let warnings = lines.flatMap(\.details).filter { $0.severity == .warning }.count
        out.append("\(lines.count) lines: \(keys) keys, \(invalid) invalid, \(warnings) warnings")
        return out.joined(separator: "\n")
    }
}

extension AuthorizedKeyOptions.Option: Encodable {
    /// `name` or `name="value"` (the value unescaped).
    var display: String { value.map { "\(name)=\"\($0)\"" } ?? name }

    enum CodingKeys: String, CodingKey { case name, value }

    /// Encodes `{"name", "value"}`, `value` null for flags.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(value, forKey: .value)
    }
}
