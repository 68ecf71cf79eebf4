import Foundation

/// Dates written in the inventory (`until:`, `left:`): `YYYY-MM-DD`, a whole
/// day in UTC, or `YYYY-MM-DDTHH:MMZ` (seconds optional), an instant in UTC.
///
/// Only UTC: a fleet spans time zones, and an access end that moved with the
/// operator's laptop would not be an end anyone could audit.
public enum InventoryDate {
    /// What the parser accepts, for error messages.
    static let expected = "a date YYYY-MM-DD (UTC) or a time YYYY-MM-DDTHH:MMZ"

    /// The instant `text` names. A plain date means its start (00:00Z) or,
    /// with `endOfDay`, its end (00:00Z of the next day: the first instant
    /// that is no longer that day). Nil when `text` is not one of the two
    /// forms or names no real day or time (`2026-02-30`, `24:00`).
    /// Nil too from 10000-01-01T00:00Z on (`GrantUntil.firstUnwritable`): an
    /// end sshd's `expiry-time` cannot hold.
    public static func parse(_ text: String, endOfDay: Bool = false) -> Date? {
        moment(text, endOfDay: endOfDay).flatMap { $0 < GrantUntil.firstUnwritable ? $0 : nil }
    }

    private static func moment(_ text: String, endOfDay: Bool) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, range.allSatisfy({ (48...57).contains(bytes[$0]) }) else { return nil }
            return range.reduce(0) { $0 * 10 + Int(bytes[$1] - 48) }
        }
        func at(_ index: Int, _ char: Character) -> Bool { index < bytes.count && bytes[index] == char.asciiValue! }
        guard let year = number(0..<4), at(4, "-"), let month = number(5..<7), at(7, "-"), let day = number(8..<10),
              (1...12).contains(month), (1...CivilDate.daysIn(month: month, year: year)).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0
        if bytes.count == 10 {
            if endOfDay { return date(year, month, day, 0, 0, 0).addingTimeInterval(86_400) }
        } else {
            guard at(10, "T"), let h = number(11..<13), at(13, ":"), let m = number(14..<16) else { return nil }
            (hour, minute) = (h, m)
            switch bytes.count {
            case 17 where at(16, "Z"): break
            case 20 where at(16, ":") && at(19, "Z"):
                guard let s = number(17..<19) else { return nil }
                second = s
            default: return nil
            }
            guard hour < 24, minute < 60, second < 60 else { return nil }
        }
        return date(year, month, day, hour, minute, second)
    }

    /// `YYYY-MM-DD` when the instant is a UTC midnight, else `YYYY-MM-DDTHH:MM[:SS]Z`.
    public static func text(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let (year, month, day) = CivilDate.civil(fromDays: days)
        let within = seconds - days * 86_400
        let day10 = String(format: "%04d-%02d-%02d", year, month, day)
        guard within != 0 else { return day10 }
        let (h, m, s) = (within / 3600, within % 3600 / 60, within % 60)
        return day10 + (s == 0 ? String(format: "T%02d:%02dZ", h, m) : String(format: "T%02d:%02d:%02dZ", h, m, s))
    }

    /// The UTC day of `date` as `YYYY-MM-DD`.
    public static func day(_ date: Date) -> String {
        String(text(Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)).prefix(10))
    }

    private static func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Date {
        let seconds = CivilDate.days(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
