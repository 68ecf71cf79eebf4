/// A problem found in an inventory, located in its file (1-based line and column).
///
/// Its `description` is the line a compiler would print:
/// `inventory.yml:14:3: error: host "web1" has no address`.
public struct Diagnostic: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// How bad a diagnostic is: errors make the inventory unusable, warnings do not.
    public enum Severity: String, Hashable, Sendable {
        case error, warning
    }

    /// The inventory file as the user named it.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column, counted in Unicode scalars.
    public var column: Int
    public var severity: Severity
    /// What is wrong and what was expected, without the location.
    public var message: String

    /// Creates a diagnostic. Control characters in `message` (a value quoted
    /// from the inventory) are made visible, so a diagnostic is always one
    /// line and cannot drive the terminal it is printed on.
    public init(file: String, line: Int, column: Int, severity: Severity = .error, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.severity = severity
        self.message = message.terminalSafe()
    }

    /// `file:line:col: severity: message`.
    public var description: String { "\(file):\(line):\(column): \(severity.rawValue): \(message)" }

    /// Orders by position in the file.
    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        (lhs.line, lhs.column, lhs.message) < (rhs.line, rhs.column, rhs.message)
    }

    /// The length in Unicode scalars of each line of `text` as libyaml
    /// counts lines (`\r\n`, `\r`, `\n`, U+0085, U+2028 and U+2029 end one),
    /// the lines and columns a diagnostic names; never empty.
    public static func lineLengths(_ text: String) -> [Int] {
        var lengths = [0]
        scanLines(text, scalar: { _ in lengths[lengths.count - 1] += 1 }, lineBreak: { _ in lengths.append(0) })
        return lengths
    }

    /// Walks `text` as libyaml counts lines: `scalar` for each Unicode scalar
    /// of a line, `lineBreak` for each line break (`\r\n` as one, `\r`,
    /// `\n`, U+0085, U+2028, U+2029), in order.
    static func scanLines(_ text: String, scalar: (Unicode.Scalar) -> Void, lineBreak: (String) -> Void) {
        var afterCR = false
        for character in text.unicodeScalars {
            if afterCR {
                afterCR = false
                if character == "\n" { lineBreak("\r\n"); continue }
                lineBreak("\r")
            }
            switch character {
            case "\r": afterCR = true
            case "\n", "\u{85}", "\u{2028}", "\u{2029}": lineBreak(String(character))
            default: scalar(character)
            }
        }
        if afterCR { lineBreak("\r") }
    }
}

/// Errors from loading an inventory or selecting from it.
public enum InventoryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The inventory file could not be read at all.
    case unreadable(path: String, reason: String)
    /// The inventory has errors; every one found, in file order, warnings included.
    case invalid([Diagnostic])
    /// A selection named projects, hosts or groups that the inventory does not define
    /// (one message per name, with a suggestion where one is close).
    case unknownSelection([String])

    /// The located diagnostics, if the inventory itself is at fault.
    public var diagnostics: [Diagnostic] {
        if case .invalid(let diagnostics) = self { return diagnostics }
        return []
    }

    /// One problem per line.
    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): error: cannot read inventory: \(reason)"
        case .invalid(let diagnostics): return diagnostics.map(\.description).joined(separator: "\n")
        case .unknownSelection(let messages): return messages.map { "error: \($0)" }.joined(separator: "\n")
        }
    }
}
