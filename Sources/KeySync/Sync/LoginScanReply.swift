import Foundation

/// Logins of one account with one key that a scan of sshd's log found
/// (a `login_key` reply line).
public struct LoginUse: Hashable, Sendable {
    public var account: String
    /// `SHA256:…` as sshd logs it (of the key inside a certificate, for one).
    public var fingerprint: String
    /// sshd's name of the key type: `ED25519`, `RSA`, `ECDSA`, `ED25519-CERT`…
    public var keyType: String
    /// Accepted logins in the part of the log read.
    public var count: Int
    /// Unix times of the first and last of them; nil when the log's lines
    /// carry no time (sshd's own `-E` file or stderr).
    public var first: Int?
    public var last: Int?
    /// The client address of the last one.
    public var address: String
    /// A certificate's key id, when the key was a certificate.
    public var certificateID: String?

    /// A count of logins.
    public init(account: String, fingerprint: String, keyType: String, count: Int, first: Int? = nil, last: Int? = nil,
                address: String = "", certificateID: String? = nil) {
        (self.account, self.fingerprint, self.keyType, self.count) = (account, fingerprint, keyType, count)
        (self.first, self.last, self.address, self.certificateID) = (first, last, address, certificateID)
    }
}

/// What the probe's log scan answered (``ProbeScript/Logins``).
public struct LoginScanReply: Hashable, Sendable {
    /// The source it read (or found: `none`).
    public var source: LoginSource?
    /// Logins per account and key, as the probe counted them (a rotation
    /// read in two parts may list one pair twice).
    public var uses: [LoginUse] = []
    /// Where it stopped; nil: nowhere to remember (nothing read, or an error).
    public var position: LoginPosition?
    /// The source was read for the first time (or found anew), from the
    /// time given (nil: its lines carry none, or it was empty).
    public var firstScan = false
    public var firstTime: Int?
    /// Lines may have been lost since the last scan (a rotated file that is
    /// no longer beside the new one, a truncated file), with why; `since`:
    /// the time of the first line read after the gap.
    public var gap: String?
    public var sinceTime: Int?
    /// More than the read limit was waiting: the rest comes next run.
    public var behind = false
    /// Bytes of log the probe read in this scan (bounded by ``ProbeScript/Logins/readLimit``).
    public var bytesRead: Int?
    /// Pairs the probe did not list (more than ``ProbeScript/Logins/keyLimit``).
    public var dropped = 0
    /// Why nothing could be read (not root, the file is gone, the parser failed).
    public var problem: String?

    public init() {}

    /// A count that fits: reply numbers from a host are bounded before any arithmetic.
    private static func number(_ text: Substring, max: Int = 1 << 40) -> Int? {
        guard text.utf8.count <= 16, let value = Int(text), value >= 0, value <= max else { return nil }
        return value
    }

    /// A time (`-`: none); nil for anything that is not one.
    private static func time(_ text: Substring) -> Int?? {
        if text == "-" { return .some(nil) }
        guard let value = number(text, max: 1 << 36) else { return nil }
        return .some(value)
    }

    private static func isToken(_ text: Substring, max: Int, _ allowed: (UInt8) -> Bool) -> Bool {
        !text.isEmpty && text.utf8.count <= max && text.utf8.allSatisfy(allowed)
    }

    static func isAccount(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, first != UInt8(ascii: "-") else { return false }
        return isToken(text, max: 64) { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || "._@-$".utf8.contains(byte)
        }
    }

    static func isFingerprint(_ text: Substring) -> Bool {
        // On bytes: a reply can carry thousands (Character comparisons showed in profiles).
        text.utf8.count == 50 && text.utf8.starts(with: "SHA256:".utf8) && text.utf8.dropFirst(7).allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
        }
    }

    /// Applies one `login_*` line (its value after the nonce); anything
    /// malformed is ignored, so a host cannot make the parser trap.
    mutating func apply(key: Substring, value: Substring) {
        // Split on bytes (not Characters): a reply may carry thousands of these lines.
        let words = value.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false).map { Substring($0) }
        switch key {
        case "login_source":
            guard words.count >= 2, let kind = LoginSource.Kind(rawValue: String(words[0])) else { return }
            let path = words.count > 2 ? words[2...].joined(separator: " ") : ""
            let pid = words[1] == "-" ? nil : Self.number(words[1], max: 1 << 31)
            guard path.isEmpty || (path.hasPrefix("/") && path.utf8.count <= 4096) else { return }
            source = LoginSource(kind: kind, path: kind == .journal || kind == .none ? "" : path, pid: kind == .stderr ? pid : nil)
        case "login_key":
            guard uses.count < ProbeScript.Logins.keyLimit * 2, words.count >= 7,
                  let count = Self.number(words[0], max: 1 << 32), count > 0,
                  let first = Self.time(words[1]), let last = Self.time(words[2]),
                  Self.isAccount(words[3]),
                  Self.isToken(words[4], max: 64, { ($0 >= 0x30 && $0 <= 0x3a) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || "._%-".utf8.contains($0) }),
                  Self.isToken(words[5], max: 40, { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || $0 == UInt8(ascii: "-") }),
                  Self.isFingerprint(words[6]) else { return }
            let id = words.count > 7 ? String(words[7...].joined(separator: " ").prefix(200)) : nil
            uses.append(LoginUse(account: String(words[3]), fingerprint: String(words[6]), keyType: String(words[5]), count: count,
                                 first: first, last: last, address: String(words[4]), certificateID: id))
        case "login_at":
            guard words.count == 2, Self.isToken(words[0], max: 20, { $0 >= 0x30 && $0 <= 0x39 }),
                  let offset = Self.number(words[1]) else { return }
            position = .file(inode: String(words[0]), offset: offset)
        case "login_cursor":
            guard LoginPosition.isCursor(value) else { return }
            position = .journal(cursor: String(value))
        case "login_dropped":
            dropped = words.first.flatMap { Self.number($0) } ?? dropped
        case "login_note":
            let word = words.first ?? ""
            let rest = words.count > 1 ? words[1...].joined(separator: " ") : ""
            switch word {
            case "first":
                firstScan = true
                firstTime = Self.time(Substring(rest)) ?? nil
            case "since": sinceTime = Self.time(Substring(rest)) ?? nil
            case "gap": gap = String(rest.prefix(40))
            case "behind": behind = true
            case "read": bytesRead = Self.number(Substring(rest))
            case "missing": problem = "the log file is gone"
            case "not_root": problem = "the probe does not run as root"
            case "error": problem = String(rest.prefix(200))
            default: break
            }
        default:
            break
        }
    }
}

/// A scan of sshd's log on one host: what was asked and what came back.
public struct LoginScanResult: Hashable, Sendable {
    public var request: ProbeScript.Logins
    public var reply: LoginScanReply
    /// When the reply arrived: the time of logins read from lines without one.
    public var scannedAt: Date
    /// The account keysync logged in as to run this probe: sshd logged that
    /// login before the probe started, so a log that gets sshd's logins
    /// holds it (or, written late, the next scan does).
    public var loginAccount: String?

    /// A scan result.
    public init(request: ProbeScript.Logins, reply: LoginScanReply, scannedAt: Date, loginAccount: String? = nil) {
        (self.request, self.reply, self.scannedAt, self.loginAccount) = (request, reply, scannedAt, loginAccount)
    }

    /// The scan read on from the last one's position, through to the end,
    /// with nothing in the way, and found no login of `loginAccount`.
    var missesOwnLogin: Bool {
        guard let loginAccount, reply.problem == nil, reply.gap == nil, !reply.firstScan, !reply.behind, reply.dropped == 0,
              request.position != nil, reply.position != nil else { return false }
        return !reply.uses.contains { $0.account == loginAccount }
    }

    /// What the database records; nil when the probe named no source (nothing to remember).
    var record: Store.LoginScanRecord? {
        guard let source = reply.source else { return nil }
        func date(_ time: Int?) -> Date? { time.map { Date(timeIntervalSince1970: TimeInterval($0)) } }
        // Pairs over the probe's limit were read past but not listed (a log
        // flooded with forged lines can push real logins out): the part read
        // is not fully known, so it counts as a gap up to now and no key is
        // called unused for that time.
        let gap = reply.gap ?? (reply.dropped > 0 ? "\(reply.dropped) account/key pairs over the limit not listed" : nil)
        // Dropped pairs may be from anywhere in what was read: a gap up to now, even with a gap of the log's own.
        let since = reply.gap != nil && reply.dropped == 0 ? date(reply.sinceTime) : nil
        return Store.LoginScanRecord(
            startSource: request.source, startPosition: request.position,
            source: source, position: reply.position, uses: reply.uses, scannedAt: scannedAt, discovered: request.discover,
            firstScan: reply.firstScan, firstTime: date(reply.firstTime), gap: gap, sinceTime: since,
            behind: reply.behind, problem: reply.problem, missesOwnLogin: missesOwnLogin)
    }
}
