import Foundation

/// The version of a host's sshd, as `sshd -V` (or, on an older sshd without `-V`,
/// the usage text after "illegal option -- V") prints it:
/// `OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024`.
public struct SSHDVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// The first `OpenSSH_X.Y` (also `OpenSSH_for_Windows_X.Y`) in `text`;
    /// nil for anything else (another SSH server, `unknown`, noise).
    public init?(_ text: String) {
        guard let start = text.range(of: "OpenSSH_") else { return nil }
        var rest = text[start.upperBound...]
        if rest.hasPrefix("for_Windows_") { rest = rest.dropFirst("for_Windows_".count) }
        let majorText = rest.prefix { $0.isASCII && $0.isNumber }
        rest = rest.dropFirst(majorText.count)
        guard rest.first == "." else { return nil }
        let minorText = rest.dropFirst().prefix { $0.isASCII && $0.isNumber }
        guard (1...3).contains(majorText.count), (1...3).contains(minorText.count),
              let major = Int(majorText), let minor = Int(minorText) else { return nil }
        self.init(major: major, minor: minor)
    }

    public static func < (a: SSHDVersion, b: SSHDVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

    public var description: String { "OpenSSH \(major).\(minor)" }

    /// The first sshd with the `expiry-time` key option (OpenSSH 7.7, 2018).
    public static let expiryTime = SSHDVersion(major: 7, minor: 7)
    /// The first sshd that reads a `Z`/`UTC` suffix on `expiry-time`
    /// (OpenSSH 9.1); before it the time is the host's local time.
    public static let expiryTimeUTC = SSHDVersion(major: 9, minor: 1)
    /// The first sshd whose default CASignatureAlgorithms leaves out `ssh-rsa`
    /// (SHA-1 CA signatures; OpenSSH 8.2).
    public static let refusesSHA1CASignatures = SSHDVersion(major: 8, minor: 2)
}

/// How `expiry-time` is written for one host's sshd.
///
/// The option makes sshd itself refuse a key after the grant's end, even
/// if keysync never runs again; removing the line after the end (push) is
/// the second line of defence, and the only one where sshd lacks the option.
public enum ExpiryTimeSyntax: Hashable, Sendable {
    /// OpenSSH 9.1 and later: `expiry-time="YYYYMMDDHHMMZ"` (UTC).
    case utc
    /// OpenSSH 7.7 to 9.0, which read the value in the host's local time:
    /// the host's offset from UTC (seconds east) at each grant end the probe
    /// was asked about, by Unix time. A grant end without an offset is
    /// written without the option (it was not asked about, or `date` failed).
    case localTime(utcOffsets: [Int: Int])
    /// No `expiry-time`: sshd before 7.7, another SSH server, or a version
    /// the probe did not report. Lines are written without it.
    case unsupported

    /// The syntax for a host whose probe reported `sshdVersion` and `utcOffsets`.
    public init(sshdVersion: String?, utcOffsets: [Int: Int]) {
        guard let version = sshdVersion.flatMap(SSHDVersion.init), version >= .expiryTime else {
            self = .unsupported
            return
        }
        self = version >= .expiryTimeUTC ? .utc : .localTime(utcOffsets: utcOffsets)
    }

    /// `expiry-time="…"` for a grant ending at `until`, or nil when this sshd
    /// cannot be told. Whole minutes are written as `YYYYMMDDHHMM`, other
    /// moments with seconds.
    public func option(until: Date) -> String? {
        let seconds = Int(until.timeIntervalSince1970.rounded(.down))
        switch self {
        case .utc: return Self.format(seconds, suffix: "Z")
        case .localTime(let offsets): return offsets[seconds].map { Self.format(seconds + $0, suffix: "") }
        case .unsupported: return nil
        }
    }

    /// `expiry-time="YYYYMMDDHHMM[SS]SUFFIX"` for the wall-clock time `seconds` (read as UTC).
    private static func format(_ seconds: Int, suffix: String) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = CivilDate.civil(fromDays: days)
        let inDay = seconds - days * 86_400
        var text = String(format: "%04d%02d%02d%02d%02d", year, month, day, inDay / 3600, inDay % 3600 / 60)
        if inDay % 60 != 0 { text += String(format: "%02d", inDay % 60) }
        return "expiry-time=\"\(text)\(suffix)\""
    }

    /// Parses the probe's `+HHMM`/`-HHMM` (`date +%z`) as seconds east of UTC.
    static func offset(_ text: Substring) -> Int? {
        let bytes = Array(text.utf8)
        guard bytes.count == 5, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"),
              bytes.dropFirst().allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let digits = bytes.dropFirst().map { Int($0 - 0x30) }
        let hours = digits[0] * 10 + digits[1], minutes = digits[2] * 10 + digits[3]
        guard hours <= 14, minutes < 60 else { return nil }
        return (hours * 3600 + minutes * 60) * (bytes[0] == UInt8(ascii: "-") ? -1 : 1)
    }
}

extension DesiredEntry {
    /// Whether the grant has ended at `now` (an entry without `until` never
    /// ends; without a clock nothing has ended).
    public func hasEnded(at now: Date?) -> Bool {
        guard let until, let now else { return false }
        return until <= now
    }

    /// The entry as written on a host whose sshd reads `expiry-time` as
    /// `syntax`: the key's own options, then `expiry-time` when the grant
    /// ends. sshd applies the earliest of several `expiry-time` options, so
    /// one already in the key's options still holds.
    public func forHost(_ syntax: ExpiryTimeSyntax) -> DesiredEntry {
        guard let until, let expiry = syntax.option(until: until) else { return self }
        var entry = self
        entry.options = options.map { $0 + "," + expiry } ?? expiry
        return entry
    }
}
