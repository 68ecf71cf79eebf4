import Foundation

// Number and date wording shared by every report.

extension Date {
    /// `2023-11-14T22:13:20Z`: how every report prints a date.
    var reportText: String { formatted(Date.ISO8601FormatStyle(timeZone: .gmt)) }
}

extension Int {
    /// `1 host`, `2 hosts`.
    func counted(_ noun: String) -> String { "\(self) \(noun)\(self == 1 ? "" : "s")" }
}

extension TimeInterval {
    /// Seconds with one decimal for people: `4.2`.
    var secondsText: String { String(format: "%.1f", self) }
    /// Rounded to milliseconds (what the database keeps), for JSON and metrics.
    var milliseconds: Double { (self * 1000).rounded() / 1000 }
}
