import Foundation

/// JSON as every keysync report prints it: sorted keys, pretty-printed,
/// dates as ISO 8601 UTC, absent optional values left out.
enum ReportJSON {
    static func string(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // The documents are plain structs of strings, numbers and dates: encoding cannot fail.
        return String(decoding: try! encoder.encode(value), as: UTF8.self).jsonControlsEscaped
    }
}
