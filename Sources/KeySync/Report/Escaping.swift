/// Escaping for text that comes from the database (host names, details, key
/// comments: anything a host could have put there) in each output format.
extension String {
    /// Safe in HTML text and in double- or single-quoted attribute values;
    /// control characters other than line feed shown as `\u{1B}`-style codes
    /// (XML, and so SVG, forbids them).
    var htmlEscaped: String {
        var out = ""
        for character in terminalSafe(keepingNewlines: true).unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// One RFC 4180 field: quoted (with `"` doubled) when it holds a comma,
    /// a quote or LF, or starts or ends with a blank. Other control
    /// characters (an escape sequence in a key comment the account wrote,
    /// a CR that would overprint the row) are shown as `\u{1B}`-style
    /// codes: CSV goes to terminals too. A field a spreadsheet would take
    /// for a formula (first character `=`, `+`, `-`, `@` or a tab) gets a
    /// leading `'` (OWASP's rule): details come from hosts, and a host
    /// could make a cell a formula.
    var csvField: String {
        var text = showingUnsafeScalars(keeping: ["\n", "\t"])
        if let first = text.unicodeScalars.first, "=+-@\t".unicodeScalars.contains(first) { text = "'" + text }
        let needsQuotes = text.unicodeScalars.contains { ",\"\n".unicodeScalars.contains($0) }
            || text.first?.isWhitespace == true || text.last?.isWhitespace == true
        return needsQuotes ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    /// Plain text inside a Markdown table cell: CommonMark punctuation that
    /// could start markup is backslash-escaped, line breaks become spaces,
    /// other control characters are made visible.
    var markdownEscaped: String {
        var out = ""
        for character in replacingOccurrences(of: "\r\n", with: " ").terminalSafe(keepingNewlines: true).unicodeScalars {
            switch character {
            case "\\", "`", "*", "_", "[", "]", "<", ">", "|", "~", "&":
                out += "\\" + String(character)
            case "\n": out += " "
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A Prometheus label value: `\` → `\\`, `"` → `\"`, line feed → `\n`.
    var prometheusLabelEscaped: String {
        replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Encoded JSON with every ``Unicode/Scalar/isUnsafeInText`` character
    /// above ASCII written as a `\uXXXX` escape. JSONEncoder escapes
    /// U+0000–U+001F in strings (the line feeds left are the layout's) but
    /// leaves DEL, C1 controls (U+009B is a CSI to some terminals), U+2028/
    /// U+2029 and bidi controls raw, to reach a terminal where `--json` output
    /// is read. Outside strings JSON has only ASCII, so the document is the same.
    public var jsonControlsEscaped: String {
        func unsafe(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0x7F && scalar.isUnsafeInText }
        guard unicodeScalars.contains(where: unsafe) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            if unsafe(scalar) {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Safe to print on a terminal: control characters (escape sequences a
    /// host could plant in a key comment or file, a CR that would overprint
    /// the line) and the other ``Unicode/Scalar/isUnsafeInText`` characters
    /// shown as `\u{1B}`-style codes. Tabs are kept; line feeds only with
    /// `keepingNewlines`. Every text command prints host text through this.
    public func terminalSafe(keepingNewlines: Bool = false) -> String {
        showingUnsafeScalars(keeping: keepingNewlines ? ["\t", "\n"] : ["\t"])
    }

    /// ``Unicode/Scalar/isUnsafeInText`` characters other than `kept` shown
    /// as `\u{1B}`-style codes.
    func showingUnsafeScalars(keeping kept: Set<Unicode.Scalar>) -> String {
        var out = ""
        for scalar in unicodeScalars {
            if scalar.isUnsafeInText && !kept.contains(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension Unicode.Scalar {
    /// Characters that change how text is laid out or shown instead of showing
    /// themselves: C0 controls (tab, CR and LF included), DEL, C1 controls
    /// (U+0080–U+009F; U+0085 is a line break to YAML, U+009B a CSI to some
    /// terminals), the line and paragraph separators U+2028/U+2029, and the
    /// bidirectional embeddings, overrides and isolates (U+202A–U+202E,
    /// U+2066–U+2069) that make text read differently from what it holds.
    ///
    /// One set for both directions: the inventory refuses them in every value
    /// that reaches a line of a host file, and the terminal output escapes
    /// them in text that came from a host.
    public var isUnsafeInText: Bool {
        switch value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}

/// Finding and naming ``Unicode/Scalar/isUnsafeInText`` characters, for
/// error messages that say which character is wrong and where.
enum UnsafeText {
    /// The first unsafe character of `text` and its 1-based position in Unicode scalars.
    static func first(in text: String, where unsafe: (Unicode.Scalar) -> Bool = \.isUnsafeInText)
        -> (position: Int, scalar: Unicode.Scalar)? {
        for (offset, scalar) in text.unicodeScalars.enumerated() where unsafe(scalar) {
            return (offset + 1, scalar)
        }
        return nil
    }

    /// Characters that end a line for sshd (LF), editors (CR) or YAML and
    /// Unicode (U+0085, U+2028, U+2029).
    static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar)
    }

    /// `a line feed (\n)`, `an escape (\e)`, `a line separator (\u2028)`…
    static func name(of scalar: Unicode.Scalar) -> String {
        let code = escape(scalar)
        switch scalar.value {
        case 0x00: return "a NUL (\(code))"
        case 0x07: return "a bell (\(code))"
        case 0x08: return "a backspace (\(code))"
        case 0x09: return "a tab (\(code))"
        case 0x0A: return "a line feed (\(code))"
        case 0x0B: return "a vertical tab (\(code))"
        case 0x0C: return "a form feed (\(code))"
        case 0x0D: return "a carriage return (\(code))"
        case 0x1B: return "an escape (\(code))"
        case 0x7F: return "a delete (\(code))"
        case 0x85: return "a next-line control (\(code))"
        case 0x80...0x9F: return "a C1 control character (\(code))"
        case 0x2028: return "a line separator (\(code))"
        case 0x2029: return "a paragraph separator (\(code))"
        case 0x202A...0x202E, 0x2066...0x2069: return "a bidirectional control (\(code))"
        default: return "a control character (\(code))"
        }
    }

    /// How YAML writes `scalar` inside double quotes: `\n`, `\e`, `\x85`, `\u2028`.
    static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\0": return "\\0"
        case "\u{07}": return "\\a"
        case "\u{08}": return "\\b"
        case "\t": return "\\t"
        case "\n": return "\\n"
        case "\u{0B}": return "\\v"
        case "\u{0C}": return "\\f"
        case "\r": return "\\r"
        case "\u{1B}": return "\\e"
        default:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return scalar.value <= 0xFF ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                                        : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }

    /// `text` as a YAML double-quoted string, unsafe characters escaped, so
    /// an error message shows the value as the inventory can write it;
    /// long values are cut to `limit` characters around `position`.
    static func quoted(_ text: String, around position: Int = 1, limit: Int = 60) -> String {
        let scalars = Array(text.unicodeScalars)
        var start = 0, end = scalars.count
        if scalars.count > limit {
            start = max(0, min(position - 1 - limit / 2, scalars.count - limit))
            end = start + limit
        }
        var out = start > 0 ? "\"…" : "\""
        for scalar in scalars[start..<end] {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: if scalar.isUnsafeInText { out += escape(scalar) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + (end < scalars.count ? "…\"" : "\"")
    }

    /// What is wrong with `text` as `what` (e.g. "options", "the key comment"),
    /// or nil: `options must not hold control or line-separator characters;
    /// found a line feed (\n) at character 15 of "command=\"true\"\nssh-ed25519 AAAA…"`.
    static func problem(_ text: String, _ what: String) -> String? {
        guard let (position, scalar) = first(in: text) else { return nil }
        return "\(what) must not hold control or line-separator characters; found \(name(of: scalar)) at character \(position) of \(quoted(text, around: position))"
    }
}
