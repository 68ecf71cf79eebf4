import Foundation
import Testing
import Synchronization

/// One row of the fault table that `Scripts/faults` prints: the fault that
/// was injected, what keysync must do, what it did, and whether that passed.
struct FaultRow: Codable, Sendable {
    var fault: String
    var expected: String
    var observed: String
    var pass: Bool
    /// A known, not yet fixed problem (the row fails, the suite does not).
    var known: Bool = false
}

/// Collects the checks of one fault and writes its row.
///
/// Every failed `require` is also a test issue at the caller's location, so
/// `swift test` fails exactly when a row says `pass: false`. Rows go, one JSON
/// object per line, to the file named by `KEYSYNC_FAULTS_REPORT` (when set).
///
/// ```swift
/// try FaultCheck.run("host down (closed port)", expected: "host_unreachable, exit 3") { check in
///     check.require(kind == "host_unreachable", "error kind \(kind)")
///     check.observe("host_unreachable in 0.0 s")
/// }
/// ```
final class FaultCheck: @unchecked Sendable {
    let fault: String
    let expected: String
    private var observations: [String] = []
    private var failures: [String] = []

    private init(fault: String, expected: String) {
        self.fault = fault
        self.expected = expected
    }

    /// Runs `body` for one fault and records its row, also when `body` throws
    /// (the error is then part of the observation and the row fails).
    ///
    /// With `knownIssue`, the checks run inside `withKnownIssue`: failing them
    /// keeps the suite green (the row says KNOWN), passing them fails the test
    /// so the known issue gets removed once it is fixed.
    static func run(_ fault: String, expected: String, knownIssue: String? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation, _ body: (FaultCheck) throws -> Void) throws {
        let check = FaultCheck(fault: fault, expected: expected)
        check.knownIssue = knownIssue
        do {
            if let knownIssue {
                withKnownIssue(Comment(rawValue: knownIssue), sourceLocation: sourceLocation) {
                    do { try body(check) } catch { check.failures.append("error: \(error)"); throw error }
                }
            } else {
                try body(check)
            }
        } catch {
            check.failures.append("error: \(error)")
            check.write()
            throw error
        }
        check.write()
    }

    private var knownIssue: String?

    /// Adds what was seen to the row's "observed" column.
    func observe(_ text: String) {
        observations.append(text)
    }

    /// Fails the row (and the test) unless `condition` holds.
    @discardableResult
    func require(_ condition: Bool, _ what: @autoclosure () -> String,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if !condition {
            let text = what()
            failures.append(text)
            Issue.record("\(fault): \(text)", sourceLocation: sourceLocation)
        }
        return condition
    }

    private func write() {
        var observed = observations.joined(separator: "; ")
        if !failures.isEmpty {
            observed += (observed.isEmpty ? "" : "; ") + "FAILED: " + failures.joined(separator: "; ")
        }
        if let knownIssue, !failures.isEmpty { observed += " (known issue: \(knownIssue))" }
        FaultReport.append(FaultRow(fault: fault, expected: expected, observed: observed, pass: failures.isEmpty,
                                    known: knownIssue != nil && !failures.isEmpty))
    }
}

/// Appends rows to `$KEYSYNC_FAULTS_REPORT`.
enum FaultReport {
    private static let lock = Mutex(())

    static func append(_ row: FaultRow) {
        guard let path = ProcessInfo.processInfo.environment["KEYSYNC_FAULTS_REPORT"], !path.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(row) else { return }
        lock.withLock { _ in
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return }
            defer { close(fd) }
            let bytes = [UInt8](data) + [UInt8(ascii: "\n")]
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }
}
