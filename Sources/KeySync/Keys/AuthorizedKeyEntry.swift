/// A key line of `authorized_keys`: optional options, the key, and its comment.
public struct AuthorizedKeyEntry: Hashable, Sendable {
    /// Nil when the line has no options field.
    public var options: AuthorizedKeyOptions?
    /// The key; its `comment` is the line's comment.
    public var key: PublicKey
    /// The type token as written on the line, e.g. `rsa-sha2-512` (equal to
    /// `key.type` for entries keysync renders).
    public var typeToken: String

    /// An entry for `key`, with options already validated.
    public init(options: AuthorizedKeyOptions? = nil, key: PublicKey) {
        self.options = options?.text.isEmpty == true ? nil : options
        self.key = key
        self.typeToken = key.type
    }

    /// An entry for `key` with an options field such as `from="10.0.0.0/8",no-pty`
    /// (nil or empty for none), validated like sshd.
    public init(optionsText: String?, key: PublicKey) throws(KeyParseError) {
        let text = optionsText ?? ""
        self.init(options: text.isEmpty ? nil : try AuthorizedKeyOptions.parse(text), key: key)
    }

    /// The line's comment (the key's comment).
    public var comment: String { key.comment }

    /// The line as keysync writes it, without a line terminator:
    /// `[options ]type base64[ comment]`; line breaks in the comment become spaces.
    public var line: String {
        let comment = String(key.comment.map { $0.isNewline ? " " : $0 })
        let keyText = comment.isEmpty ? "\(key.type) \(key.base64)" : "\(key.type) \(key.base64) \(comment)"
        return options.map { "\($0.text) \(keyText)" } ?? keyText
    }

    /// Parses one `authorized_keys` line the way sshd does; throws the reason
    /// sshd would skip it. Blank and comment lines throw too.
    public static func parse(_ line: String) throws(KeyParseError) -> AuthorizedKeyEntry {
        switch AuthorizedKeysFile.Line.classify(Array(line.utf8)[...]) {
        case .key(let entry): return entry
        case .invalid(let reason): throw .invalid(reason)
        case .blank, .comment: throw .invalid("not a key line")
        }
    }
}

/// `sshkey_read`: reads `type base64` from the start of `bytes`, and returns
/// the key and the index where the comment starts.
enum KeyLineReader {
    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    static func readKey(_ bytes: ArraySlice<UInt8>) throws(KeyParseError) -> (DecodedKey, token: String, rest: Int) {
        guard let space = bytes.firstIndex(where: isBlank) else {
            throw .invalid("no key after \(KeyBlob.quoted(String(decoding: bytes, as: UTF8.self)))")
        }
        let token = String(decoding: bytes[..<space], as: UTF8.self)
        guard let type = KeyType.named(token) else { throw .invalid("unknown key type \(KeyBlob.quoted(token))") }
        let blobStart = bytes[space...].firstIndex { !isBlank($0) } ?? bytes.endIndex
        guard blobStart < bytes.endIndex else { throw .invalid("\(token) key has no base64 data") }
        let blobEnd = bytes[blobStart...].firstIndex(where: isBlank) ?? bytes.endIndex
        guard let blob = SSHBase64.decode(bytes[blobStart..<blobEnd]) else {
            throw .invalid("\(token) key data is not valid padded base64")
        }
        let decoded = try KeyBlob.decode(blob)
        guard decoded.type == type else {
            throw .invalid("key type \(token) does not match the type inside the blob (\(decoded.type.name))")
        }
        let rest = bytes[blobEnd...].firstIndex { !isBlank($0) } ?? bytes.endIndex
        return (decoded, token, rest)
    }

    /// `sshkey_advance_past_options`: the index of the first blank outside
    /// double quotes, or nil for an unterminated quote.
    static func endOfOptions(_ bytes: ArraySlice<UInt8>) -> Int? {
        var quoted = false
        var i = bytes.startIndex
        while i < bytes.endIndex, quoted || !isBlank(bytes[i]) {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.endIndex, bytes[i + 1] == UInt8(ascii: "\"") {
                i += 1
            } else if bytes[i] == UInt8(ascii: "\"") {
                quoted.toggle()
            }
            i += 1
        }
        return quoted ? nil : i
    }

    static func skipBlanks(_ bytes: ArraySlice<UInt8>, from index: Int) -> Int {
        bytes[index...].firstIndex { !isBlank($0) } ?? bytes.endIndex
    }
}
