/// Left-aligned columns separated by two spaces, for terminal output.
///
/// Cells are made terminal-safe; an optional ANSI style wraps a cell's text
/// before padding, so colour never shifts the columns.
struct TextTable {
    /// A cell and the SGR parameters to colour it with (`"1;31"`), if any.
    struct Cell: ExpressibleByStringLiteral {
        var text: String
        var style: String?

        init(_ text: String, style: String? = nil) {
            self.text = text.terminalSafe()
            self.style = style
        }

        init(stringLiteral text: String) { self.init(text) }
    }

    var header: [String]
    var rows: [[Cell]] = []

    /// The table, one line per row after the header, no trailing blanks or newline.
    func rendered(colour: Bool) -> String {
        let all = [header.map { Cell($0, style: "1") }] + rows
        let widths = header.indices.map { column in all.map { $0[column].text.count }.max() ?? 0 }
        return all.map { row in
            let line = row.enumerated().map { column, cell in
                let padding = column == row.count - 1 ? 0 : widths[column] + 2 - cell.text.count
                return cell.rendered(colour: colour) + String(repeating: " ", count: padding)
            }.joined()
            return String(line.reversed().drop { $0 == " " }.reversed())
        }.joined(separator: "\n")
    }
}

extension TextTable.Cell {
    /// The cell alone, styled when `colour`.
    func rendered(colour: Bool) -> String {
        guard colour, let style, !text.isEmpty else { return text }
        return "\u{1B}[\(style)m\(text)\u{1B}[0m"
    }
}
