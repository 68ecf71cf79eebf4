/// The broken invariants found for one input, as readable sentences.
///
/// The fuzz targets turn a non-empty list into a crash (libFuzzer keeps the
/// input); `FuzzRegressionTests` turn it into a test failure.
public struct Violations: Sendable, CustomStringConvertible {
    /// One sentence per broken invariant, in the order found.
    public private(set) var messages: [String] = []

    /// No violation yet.
    public init() {}

    /// True when every invariant held.
    public var isEmpty: Bool { messages.isEmpty }

    /// Records `message` unless `condition` holds.
    mutating func expect(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { messages.append(message()) }
    }

    /// Records `message`.
    mutating func fail(_ message: String) { messages.append(message) }

    /// One violation per line.
    public var description: String { messages.joined(separator: "\n") }
}

/// A byte string for messages: printable ASCII as is, everything else escaped, cut at `limit` bytes.
func debugBytes(_ bytes: some Collection<UInt8>, limit: Int = 160) -> String {
    var text = ""
    for byte in bytes.prefix(limit) {
        switch byte {
        case 0x0a: text += "\\n"
        case 0x0d: text += "\\r"
        case 0x09: text += "\\t"
        case 0x5c: text += "\\\\"
        case 0x20..<0x7f: text += String(UnicodeScalar(byte))
        default: text += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
        }
    }
    return "\"" + text + (bytes.count > limit ? "…\" (\(bytes.count) bytes)" : "\"")
}

extension Violations {
    /// The body of a libFuzzer target's `LLVMFuzzerTestOneInput` (Fuzz/): the
    /// input as bytes through `check`. A broken promise traps, so libFuzzer
    /// keeps the input as a crash (the violations are printed above the stack).
    public static func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int, _ what: String,
                            _ check: ([UInt8]) -> Violations) -> Int32 {
        let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
        let violations = check(bytes)
        if !violations.isEmpty { fatalError("\(what) invariant broken:\n\(violations)") }
        return 0
    }
}
