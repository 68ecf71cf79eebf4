/// Why `adopt` or `inventory import` refused to start: bad input (exit 1),
/// nothing contacted, nothing written.
public enum AdoptError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file (the `--hosts` list, an Ansible inventory) could not be read.
    case unreadable(path: String, reason: String)
    /// The file has errors, each located (`hosts.txt:3:7: error: …`).
    case invalid([Diagnostic])
    /// There is no host to read (an empty list, an inventory without `hosts:`).
    case noHosts(String)

    /// The UTF-8 text of the file at `path` (at most 16 MiB, a regular file).
    static func text(of path: String) throws(AdoptError) -> String {
        let bytes: [UInt8]
        switch FileReader.contents(of: path, regularFileAtMost: 16 << 20) {
        case .success(let contents): bytes = contents
        case .failure(let failure): throw .unreadable(path: path, reason: failure.reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalid([Diagnostic(file: path, line: 1, column: 1, message: "the file is not UTF-8 text")])
        }
        return text
    }

    /// The located diagnostics, if the file itself is at fault.
    public var diagnostics: [Diagnostic] {
        if case .invalid(let diagnostics) = self { return diagnostics }
        return []
    }

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): error: cannot read: \(reason)"
        case let .invalid(diagnostics): return diagnostics.map(\.description).joined(separator: "\n")
        case let .noHosts(what): return "error: \(what) names no host; nothing was contacted"
        }
    }
}
