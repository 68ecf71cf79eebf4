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

/// An optional that JSON writes as `null` when it is nil, for the fields a
/// document promises to every reader (`fix` of a doctor finding, `error` of
/// a doctor host, a lint row's key fields); JSONEncoder leaves other nil
/// optionals out.
@propertyWrapper
public struct NullWhenNil<Wrapped: Codable & Hashable & Sendable>: Codable, Hashable, Sendable {
    public var wrappedValue: Wrapped?

    public init(wrappedValue: Wrapped?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Wrapped.self)
    }
}

extension KeyedDecodingContainer {
    /// A missing key decodes as nil, as it does for a plain optional.
    func decode<Wrapped>(_ type: NullWhenNil<Wrapped>.Type, forKey key: Key) throws -> NullWhenNil<Wrapped> {
        try decodeIfPresent(type, forKey: key) ?? NullWhenNil(wrappedValue: nil)
    }
}
