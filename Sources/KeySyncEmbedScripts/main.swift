import Foundation

// KeySyncEmbedScripts OUTPUT SCRIPT.sh... — run by EmbedScriptsPlugin at build
// time. Writes each script, byte for byte, as a Swift raw string constant
// named after the file (probe-scan.sh becomes `EmbeddedScripts.probeScan`),
// plus `EmbeddedScripts.all` by file name.

struct EmbedError: Error, CustomStringConvertible {
    let description: String
}

/// probe-grant-expiry.sh -> probeGrantExpiry
func identifier(_ name: String) throws -> String {
    let words = name.dropLast(".sh".count).split(separator: "-", omittingEmptySubsequences: false)
    let valid = words.allSatisfy { word in
        !word.isEmpty && word.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    } && words.first?.first.map { ("a"..."z").contains($0) } == true
    guard name.hasSuffix(".sh"), valid else {
        throw EmbedError(description: "\(name): name must be lowercase words joined by '-'")
    }
    return words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
}

/// The fewest '#' such that the text can neither close the raw string
/// (`"""#`) nor start an escape (`\#`).
func delimiter(for text: String) -> String {
    var hashes = "#"
    while text.contains("\"" + hashes) || text.contains("\\" + hashes) { hashes += "#" }
    return hashes
}

func generate(_ paths: [String]) throws -> String {
    var out = """
    // Generated at build time by EmbedScriptsPlugin from Sources/KeySync/Sync/Scripts/*.sh.

    /// The shell sources in Sources/KeySync/Sync/Scripts/, byte for byte.
    enum EmbeddedScripts {

    """
    var entries: [(name: String, id: String)] = []
    for path in paths {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let id = try identifier(name)
        guard let text = String(data: try Data(contentsOf: URL(fileURLWithPath: path)), encoding: .utf8) else {
            throw EmbedError(description: "\(name) is not UTF-8")
        }
        guard !text.utf8.contains(UInt8(ascii: "\r")) else {
            throw EmbedError(description: "\(name) has a carriage return (Swift would turn CRLF into LF)")
        }
        let hashes = delimiter(for: text)
        // The line break before the closing delimiter is not part of the
        // string, so the text keeps exactly its own last line break.
        out += "    /// Sources/KeySync/Sync/Scripts/\(name)\n"
        out += "    static let \(id) = \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)\n\n"
        entries.append((name, id))
    }
    guard !entries.isEmpty else { throw EmbedError(description: "no .sh files given") }
    out += "    /// Every script above by file name.\n    static let all: [String: String] = [\n"
    for entry in entries { out += "        \"\(entry.name)\": \(entry.id),\n" }
    out += "    ]\n}\n"
    return out
}

do {
    let arguments = CommandLine.arguments.dropFirst()
    guard let output = arguments.first else { throw EmbedError(description: "usage: KeySyncEmbedScripts OUTPUT SCRIPT.sh...") }
    let text = try generate(arguments.dropFirst().sorted())
    let url = URL(fileURLWithPath: output)
    // Unchanged output keeps its date, so KeySync is not recompiled for nothing.
    if (try? String(contentsOf: url, encoding: .utf8)) != text {
        try Data(text.utf8).write(to: url, options: .atomic)
    }
} catch {
    FileHandle.standardError.write(Data("KeySyncEmbedScripts: \(error)\n".utf8))
    exit(1)
}
