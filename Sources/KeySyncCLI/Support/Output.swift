import ArgumentParser
import Foundation
import KeySync

/// Writes one line to stderr (diagnostics and progress never go to stdout).
/// Errors can quote a host (sudo's stderr, a path from the probe): control
/// characters are shown escaped, line feeds between messages kept.
func printError(_ line: String) {
    printStyled(line.terminalSafe(keepingNewlines: true))
}

/// Writes `line` to stderr as it is: for text keysync styled itself
/// (coloured diagnostics, whose messages ``Diagnostic`` already made safe).
func printStyled(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Prints a bad-input error: its located diagnostics (styled), or its
/// description when it has none; the caller then exits 1.
func printBadInput(_ description: String, _ diagnostics: [Diagnostic]) {
    if diagnostics.isEmpty {
        printError(description)
    } else {
        printStyled(diagnostics.map { $0.rendered() }.joined(separator: "\n"))
    }
}

/// Runs `body`; an error other than an exit code is printed as `error: …` (once) and exits 1.
func exitOnError<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        // An inventory error already says `error:` on each line (after its file, line and column).
        let text = "\(error)"
        printError(error is InventoryError || text.hasPrefix("error: ") ? text : "error: \(text)")
        throw ExitCode(1)
    }
}

/// Prints `text` as is, or with `output` writes it there atomically with
/// `mode`. A file already there keeps its mode and group (a report published
/// through a web server's group stays readable to it; its owner too when
/// root writes it); a symlink there is refused, neither followed nor replaced.
func emit(_ text: String, to output: String?, mode: UInt16) throws {
    guard let output else { return print(text, terminator: "") }
    var mode = mode, owner: (uid: uid_t, gid: gid_t)?
    var existing = stat()
    if lstat(output, &existing) == 0 {
        if existing.st_mode & S_IFMT == S_IFLNK {
            printError("error: \(output) is a symlink; keysync replaces the report file itself and never writes through or over a link: name the file")
            throw ExitCode(1)
        }
        if existing.st_mode & S_IFMT == S_IFREG {
            mode = UInt16(existing.st_mode & 0o7777)
            if geteuid() == 0 {
                owner = (existing.st_uid, existing.st_gid)
            } else if existing.st_gid == getegid() || processGroups().contains(existing.st_gid) {
                owner = (geteuid(), existing.st_gid)
            }
        }
    }
    try exitOnError { try AtomicFile.write(Array(text.utf8), to: output, mode: mode, owner: owner) }
}

/// The supplementary groups of this process.
private func processGroups() -> [gid_t] {
    let count = getgroups(0, nil)
    guard count > 0 else { return [] }
    var groups = [gid_t](repeating: 0, count: Int(count))
    let got = getgroups(count, &groups)
    return got > 0 ? Array(groups.prefix(Int(got))) : []
}

/// JSON with stable key order; control characters from hosts only as `\u` escapes.
enum JSONOutput {
    static func string<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self).jsonControlsEscaped
    }
}

extension Diagnostic {
    /// `file:line:col: error: message`, with the severity coloured when stderr
    /// is a terminal and `NO_COLOR` is unset.
    func rendered(colour: Bool = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil) -> String {
        guard colour else { return description }
        let code = severity == .error ? "1;31" : "1;35"
        return "\u{1B}[1m\(file):\(line):\(column):\u{1B}[0m \u{1B}[\(code)m\(severity.rawValue):\u{1B}[0m \(message)"
    }
}
