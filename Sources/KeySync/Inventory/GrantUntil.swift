import Foundation

/// The `until:` of a grant: the moment access ends.
///
/// A date alone (`2026-12-31`) means the end of that day in UTC, so a grant
/// written for "until the 31st" still works all of the 31st wherever the
/// host is. A date and time (`2026-12-31T18:00Z`, `…T18:00:30Z`,
/// `…T19:00+01:00`) must name its zone: keysync never guesses one, because
/// the controller's and each host's local time differ. Fields are checked
/// strictly (no 31 April, no hour 24), unlike sshd's own `mktime`
/// roll-over, so a typo is an error instead of another date.
public enum GrantUntil {
    /// What `until:` accepts, for error messages.
    public static let expected = "a date (2026-12-31, the end of that day in UTC) or a date and time with a zone (2026-12-31T18:00Z, 2026-12-31T19:00+01:00)"

    /// The first moment sshd's `expiry-time` cannot write (10000-01-01T00:00Z:
    /// it takes 8, 12 or 14 digits, and a 13-digit time makes sshd skip the
    /// whole line, which would lock the grant out instead of ending it later).
    public static let firstUnwritable = Date(timeIntervalSince1970: 253_402_300_800)

    /// The end moment `text` names, or why it names none.
    public static func parse(_ text: String) -> Result<Date, Problem> {
        switch moment(text) {
        case .success(let end) where end >= firstUnwritable:
            return .failure(Problem("ends after 9999-12-31T23:59:59Z, which sshd's expiry-time cannot hold; leave until out for a grant without an end"))
        case let result: return result
        }
    }

    private static func moment(_ text: String) -> Result<Date, Problem> {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, bytes[range].allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return bytes[range].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        func at(_ index: Int, _ character: Character) -> Bool { index < bytes.count && bytes[index] == character.asciiValue! }
        guard bytes.count >= 10, let year = number(0..<4), at(4, "-"), let month = number(5..<7), at(7, "-"),
              let day = number(8..<10) else { return .failure(Problem("is not \(expected)")) }
        guard (1970...9999).contains(year), (1...12).contains(month), (1...CivilDate.daysIn(month: month, year: year)).contains(day) else {
            return .failure(Problem("is not a calendar date (year 1970–9999, month 1–12, a day that month has)"))
        }
        let midnight = CivilDate.days(year, month, day) * 86_400
        if bytes.count == 10 { return .success(Date(timeIntervalSince1970: TimeInterval(midnight + 86_400))) }

        guard at(10, "T") || at(10, "t"), let hour = number(11..<13), at(13, ":"), let minute = number(14..<16) else {
            return .failure(Problem("is not \(expected)"))
        }
        var index = 16, second = 0
        if at(16, ":") {
            guard let value = number(17..<19) else { return .failure(Problem("is not \(expected)")) }
            second = value
            index = 19
        }
        guard hour < 24, minute < 60, second < 60 else {
            return .failure(Problem("has no such time of day (hours 00–23, minutes and seconds 00–59)"))
        }
        let zone = String(decoding: bytes[index...], as: UTF8.self)
        var offset = 0
        switch zone {
        case "Z", "z": break
        case "": return .failure(Problem("has a time but no zone; add Z for UTC (2026-12-31T18:00Z) or an offset such as +01:00"))
        default:
            let z = Array(zone.utf8)
            guard z.count == 6, z[0] == UInt8(ascii: "+") || z[0] == UInt8(ascii: "-"), z[3] == UInt8(ascii: ":"),
                  let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6),
                  hours <= 14, minutes < 60 else {
                return .failure(Problem("has an unknown zone \"\(zone)\"; write Z for UTC or an offset such as +01:00"))
            }
            offset = (hours * 3600 + minutes * 60) * (z[0] == UInt8(ascii: "-") ? -1 : 1)
        }
        return .success(Date(timeIntervalSince1970: TimeInterval(midnight + hour * 3600 + minute * 60 + second - offset)))
    }

    /// Why a value is not an `until`.
    public struct Problem: Error, Equatable, Sendable {
        /// Reads after the quoted value: `"2026-13-01" is not a calendar date …`.
        public let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
