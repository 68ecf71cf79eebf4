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

/// Prints `text` as is, or with `output` writes it there atomically with `mode`.
func emit(_ text: String, to output: String?, mode: UInt16) throws {
    guard let output else { return print(text, terminator: "") }
    try exitOnError { try AtomicFile.write(Array(text.utf8), to: output, mode: mode) }
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
