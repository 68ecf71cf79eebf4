import Foundation

/// A point in time given on the command line (`--since 7d`, `--keep 90d`):
/// an age counted back from now, or an absolute ISO 8601 date.
///
/// Ages are `N` followed by `m` (minutes), `h` (hours), `d` (days) or `w`
/// (weeks), `N` ≥ 1. Dates are `2024-05-01` (midnight UTC), `2024-05-01T10:00Z`
/// (as in the inventory) or a full ISO 8601 date and time with a zone
/// (`2024-05-01T10:00:00Z`, `…+02:00`); a day that is not in the calendar is none.
public enum TimeSpec: Hashable, Sendable {
    /// This long before now.
    case ago(TimeInterval)
    /// This moment.
    case date(Date)

    private static let units: [Character: TimeInterval] = ["m": 60, "h": 3600, "d": 86_400, "w": 604_800]
    /// Longest accepted age: ages beyond it are typos.
    private static let maximumAge: TimeInterval = 100 * 366 * 86_400

    /// Parses `7d`, `12h`, `30m`, `2w` or an ISO 8601 date; `nil` if it is none of these.
    /// `allowingZero`: `0d` too (a window back from now: `report --unused 0d`).
    public init?(_ text: String, allowingZero: Bool = false) {
        if let unit = text.last.flatMap({ Self.units[$0] }), let count = Int(text.dropLast()),
           count >= (allowingZero ? 0 : 1), Double(count) * unit <= Self.maximumAge, text.first?.isNumber == true {
            self = .ago(Double(count) * unit)
        } else if let date = Self.parseDate(text) {
            self = .date(date)
        } else {
            return nil
        }
    }

    /// What the option's help and errors say is accepted.
    public static let expected = "an age such as 30m, 12h, 7d or 2w, or an ISO 8601 date such as 2024-05-01 or 2024-05-01T10:00:00Z"

    /// The moment this names, counting ages back from `now`.
    public func date(relativeTo now: Date) -> Date {
        switch self {
        case .ago(let age): return now.addingTimeInterval(-age)
        case .date(let date): return date
        }
    }

    /// Whether the moment lies ahead of `now`: a window or a cut-off that
    /// starts in the future is a typo (`--since 2062-01-01`).
    public func isFuture(relativeTo now: Date = Date()) -> Bool {
        if case .date(let date) = self { return date > now }
        return false
    }

    private static func parseDate(_ text: String) -> Date? {
        // The inventory's forms first (2024-05-01, 2024-05-01T10:00Z), checked
        // against the calendar; Foundation's parser turns 2026-02-30 into March.
        if let date = InventoryDate.parse(text) { return date }
        guard text.utf8.count > 10, InventoryDate.parse(String(text.prefix(10))) != nil else { return nil }
        let full = Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt)
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
        return (try? full.parse(text)) ?? (try? fractional.parse(text))
    }
}
