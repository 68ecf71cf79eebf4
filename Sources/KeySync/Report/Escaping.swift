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
    /// a quote, CR or LF, or starts or ends with a blank.
    var csvField: String {
        let needsQuotes = unicodeScalars.contains { ",\"\r\n".unicodeScalars.contains($0) }
            || first?.isWhitespace == true || last?.isWhitespace == true
        return needsQuotes ? "\"" + replacingOccurrences(of: "\"", with: "\"\"") + "\"" : self
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

    /// Safe to print on a terminal: control characters (escape sequences a
    /// host could plant in a key comment or file) shown as `\u{1B}`-style codes.
    /// Tabs are kept; line breaks only with `keepingNewlines`.
    func terminalSafe(keepingNewlines: Bool = false) -> String {
        var out = ""
        for scalar in unicodeScalars {
            let allowed = scalar == "\t" || (keepingNewlines && scalar == "\n")
            if !allowed && (scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
