/// An `authorized_keys` file, parsed line by line the way OpenSSH 9.x sshd
/// reads it, keeping every line's exact bytes.
///
/// Parsing never fails: any bytes (invalid UTF-8, CRLF, NUL, no final newline)
/// give lines, and `serialized()` of an unmodified file returns the input byte for byte.
public struct AuthorizedKeysFile: Hashable, Sendable {
    /// One line of the file.
    public struct Line: Hashable, Sendable {
        /// What sshd makes of a line.
        public enum Kind: Hashable, Sendable {
            /// Empty, or only blanks (a lone `\r` of a CRLF file included).
            case blank
            /// First non-blank character is `#`.
            case comment
            /// A key sshd would use.
            case key(AuthorizedKeyEntry)
            /// sshd skips this line, for `reason`.
            case invalid(reason: String)

            /// `blank`, `comment`, `key` or `invalid` (the JSON names).
            public var name: String {
                switch self {
                case .blank: "blank"
                case .comment: "comment"
                case .key: "key"
                case .invalid: "invalid"
                }
            }
        }

        /// 1-based line number.
        public let number: Int
        /// The exact original bytes, line terminator (`\n`) included when present.
        public let bytes: [UInt8]
        /// What sshd makes of the line.
        public let kind: Kind
        /// For an `invalid` line whose key parsed but whose options keysync
        /// reads as invalid: that key's fingerprint. Another sshd than the
        /// one keysync follows (an older one's looser `expiry-time`, a
        /// service name only the host knows) may accept the line, so a
        /// revoked key there is still reported and removed, and an exclusive
        /// account loses the line (nil for every other line).
        public let suspectFingerprint: String?

        /// Classifies `bytes` (one line, with or without its `\n`).
        public init(number: Int, bytes: [UInt8]) {
            self.number = number
            self.bytes = bytes
            (self.kind, self.suspectFingerprint) = Self.read(bytes.last == 0x0a ? bytes.dropLast() : bytes[...])
        }

        /// `line` moved to position `number`, without parsing it again.
        init(renumbering line: Line, to number: Int) {
            self.number = number
            self.bytes = line.bytes
            self.kind = line.kind
            self.suspectFingerprint = line.suspectFingerprint
        }

        /// The key sshd may take this line for: a key line's (not a
        /// certificate's: sshd never takes one from authorized_keys), or
        /// the suspect one. What revocations, exclusivity and the lockout
        /// guard go by.
        public var grantingFingerprint: String? {
            if let key = entry?.key { return key.isCertificate ? nil : key.fingerprint }
            return suspectFingerprint
        }

        /// The key entry, for key lines.
        public var entry: AuthorizedKeyEntry? {
            if case .key(let entry) = kind { entry } else { nil }
        }

        /// True when the line ends with `\n`.
        public var hasNewline: Bool { bytes.last == 0x0a }

        /// The line without its `\n` or `\r\n`, decoded as UTF-8 (invalid bytes replaced).
        public var text: String {
            var content = bytes[...]
            if content.last == 0x0a { content = content.dropLast() }
            if content.last == 0x0d { content = content.dropLast() }
            return String(decoding: content, as: UTF8.self)
        }

        /// sshd's reading of one line (without `\n`): C string up to the first
        /// NUL, leading blanks skipped, `#` comments, then `type base64 [comment]`,
        /// then `options type base64 [comment]`.
        static func classify(_ content: ArraySlice<UInt8>) -> Kind { read(content).kind }

        /// ``classify(_:)`` and the ``suspectFingerprint``.
        static func read(_ content: ArraySlice<UInt8>) -> (kind: Kind, suspect: String?) {
            let visible = content.prefix { $0 != 0 }
            let rest = visible[KeyLineReader.skipBlanks(visible, from: visible.startIndex)...]
            if rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0d }) { return (.blank, nil) }
            if rest.first == UInt8(ascii: "#") { return (.comment, nil) }
            let firstError: KeyParseError
            do {
                let (key, token, commentStart) = try KeyLineReader.readKey(rest)
                return (.key(entry(nil, key, token, comment: rest[commentStart...])), nil)
            } catch { firstError = error }

            guard let optionsEnd = KeyLineReader.endOfOptions(rest) else {
                return (.invalid(reason: "unterminated double quote in the options"), nil)
            }
            let keyPart = rest[KeyLineReader.skipBlanks(rest, from: optionsEnd)...]
            let found: (DecodedKey, token: String, rest: Int)
            do { found = try KeyLineReader.readKey(keyPart) } catch {
                let token = String(decoding: keyPart.prefix { $0 != 0x20 && $0 != 0x09 }, as: UTF8.self)
                return (.invalid(reason: (KeyType.named(token) == nil ? firstError : error).description), nil)
            }
            do {
                var options = try AuthorizedKeyOptions.parsePrefix(rest).0
                options.text = String(decoding: rest[..<optionsEnd], as: UTF8.self)
                return (.key(entry(options, found.0, found.token, comment: keyPart[found.rest...])), nil)
            } catch {
                let key = PublicKey(type: found.0.type.name, blob: found.0.canonicalBlob, comment: "")
                return (.invalid(reason: "bad options: \(error)"), key.fingerprint)
            }
        }

        private static func entry(_ options: AuthorizedKeyOptions?, _ key: DecodedKey, _ token: String,
                                  comment: ArraySlice<UInt8>) -> AuthorizedKeyEntry {
            let comment = comment.last == 0x0d ? comment.dropLast() : comment
            var entry = AuthorizedKeyEntry(options: options, key: PublicKey(
                type: key.type.name, blob: key.canonicalBlob, comment: String(decoding: comment, as: UTF8.self)))
            entry.typeToken = token
            return entry
        }
    }

    /// The lines in file order; line `n` is `lines[n - 1]`.
    public let lines: [Line]
    /// The managed blocks of `lines` and their marker problems (ManagedBlocks.swift).
    let blockScan: BlockScan

    /// Parses `bytes`; never fails.
    public init(bytes: [UInt8]) {
        var lines: [Line] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0a).map { $0 + 1 } ?? bytes.count
            lines.append(Line(number: lines.count + 1, bytes: Array(bytes[start..<end])))
            start = end
        }
        self.init(lines: lines)
    }

    /// Parses UTF-8 text.
    public init(text: String) { self.init(bytes: Array(text.utf8)) }

    /// A file made of `lines`, already numbered 1…n.
    init(lines: [Line]) {
        self.lines = lines
        blockScan = Self.scanBlocks(lines)
    }

    /// The file's bytes: the concatenation of every line's original bytes.
    public func serialized() -> [UInt8] { lines.flatMap(\.bytes) }

    /// Every key line, in order.
    public var keyLines: [Line] { lines.filter { $0.entry != nil } }

    /// True for an empty file or one whose last line ends with `\n`.
    public var endsWithNewline: Bool { lines.last?.hasNewline ?? true }
}
