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
    public static func parse(_ text: String, endOfDay: Bool = false) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, range.allSatisfy({ (48...57).contains(bytes[$0]) }) else { return nil }
            return range.reduce(0) { $0 * 10 + Int(bytes[$1] - 48) }
        }
        func at(_ index: Int, _ char: Character) -> Bool { index < bytes.count && bytes[index] == char.asciiValue! }
        guard let year = number(0..<4), at(4, "-"), let month = number(5..<7), at(7, "-"), let day = number(8..<10),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
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
        let (year, month, day) = civil(fromDays: days)
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

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Date {
        let seconds = days(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
    /// `days_from_civil`): no Calendar, so no time zone can creep in.
    private static func days(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
