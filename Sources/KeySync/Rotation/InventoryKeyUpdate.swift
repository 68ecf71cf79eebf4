import Foundation

/// What a finished rotation did to make the inventory name the new key.
public struct InventoryKeyUpdate: Codable, Sendable, Hashable {
    /// What was done (JSON `action`).
    public enum Action: String, Codable, Sendable {
        /// The key's `file:` now holds the new public key; the old file was kept.
        case replacedFile = "replaced_file"
        /// An inline `public:`: ``line`` is the exact line to paste.
        case editNeeded = "edit_needed"
        /// The inventory already names the new key.
        case alreadyUpdated = "already_updated"
        /// Not done (the old key is not retired everywhere yet, or the file could not be written).
        case notUpdated = "not_updated"
    }

    /// What was done.
    public var action: Action
    /// The key file, or the inventory file for an inline key.
    public var path: String?
    /// Where the old key file was kept (`FILE.retired-YYYYMMDD`).
    public var retiredCopy: String?
    /// Line number in the inventory of the inline key to replace.
    public var lineNumber: Int?
    /// The exact replacement line (`public: "…"`).
    public var line: String?
    /// A sentence for people.
    public var detail: String

    enum CodingKeys: String, CodingKey {
        case action, path, retiredCopy = "retired_copy", lineNumber = "line_number", line, detail
    }

    /// Makes `key` name `new`: rewrites a `file:` key's file atomically (the
    /// old file kept as `FILE.retired-YYYYMMDD`, UTC date, `-2`… if taken), or
    /// describes the edit of an inline key in the inventory at `inventoryPath`.
    /// A `file:` that holds a private key (or a PuTTY file) is never
    /// rewritten: it may be a login identity, and a public key written over
    /// it would lock keysync (or its operator) out; the edit is described.
    static func apply(key: InventoryKey, new: PublicKey, inventoryPath: String, newKeyPath: String? = nil,
                      date: Date = Date()) -> InventoryKeyUpdate {
        if key.fingerprint == new.fingerprint {
            return InventoryKeyUpdate(action: .alreadyUpdated, path: key.file ?? inventoryPath, detail: "the inventory already names the new key for \(key.name)")
        }
        guard let file = key.file else { return inlineEdit(key: key, new: new, inventoryPath: inventoryPath) }
        let path = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
        do {
            let old = try KeyImporter.readFile(path)
            guard (try? KeyImporter.importKey(from: old, path: path))?.fingerprint == key.fingerprint else {
                return InventoryKeyUpdate(action: .notUpdated, path: path, detail: "\(path) no longer holds \(key.fingerprint); left alone, put the new key in it by hand")
            }
            let text = String(decoding: old, as: UTF8.self)
            if text.contains("PRIVATE KEY-----") || text.hasPrefix("PuTTY-User-Key-File-") {
                let line = newKeyPath.map { "file: \(InventoryYAML.scalar(URL(fileURLWithPath: $0).standardizedFileURL.path))" }
                return InventoryKeyUpdate(action: .editNeeded, path: inventoryPath, line: line,
                                          detail: "\(path) holds a private key, which keysync never overwrites (it may be a login identity); "
                                            + "point key \(key.name)'s file: at the new public key" + (line.map { ":\n    \($0)" } ?? ""))
            }
            var info = stat()
            let found = lstat(path, &info) == 0
            let mode = found ? UInt16(info.st_mode & 0o7777) : 0o644
            let retired = try keepRetired(old, of: path, mode: mode, owner: found ? (info.st_uid, info.st_gid) : nil, date: date)
            // Same owner and group as before (a key file shared through its group stays readable to it).
            try AtomicFile.write(Array((new.openSSHLine + "\n").utf8), to: path, mode: mode,
                                 owner: found ? (info.st_uid, info.st_gid) : nil)
            return InventoryKeyUpdate(action: .replacedFile, path: path, retiredCopy: retired,
                                      detail: "\(path) now holds the new key \(new.fingerprint); the old one is kept as \(retired)")
        } catch {
            return InventoryKeyUpdate(action: .notUpdated, path: path,
                                      detail: "\(error); put the new key in \(path) by hand (keysync rotate --resume retries)")
        }
    }

    /// The `public:` line to paste for an inline key, located when the old key's text is found.
    static func inlineEdit(key: InventoryKey, new: PublicKey, inventoryPath: String) -> InventoryKeyUpdate {
        let escaped = new.openSSHLine.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let line = "public: \"\(escaped)\""
        let text = (try? String(contentsOfFile: inventoryPath, encoding: .utf8)) ?? ""
        let number = text.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains(key.publicKey.base64) }.map { $0 + 1 }
        let location = number.map { "\(inventoryPath):\($0)" } ?? inventoryPath
        return InventoryKeyUpdate(action: .editNeeded, path: inventoryPath, lineNumber: number, line: line,
                                  detail: "\(location): key \(key.name) is inline; replace its public: value with:\n    \(line)")
    }

    /// Writes `bytes` to a new `path.retired-YYYYMMDD[-N]` and returns its path.
    private static func keepRetired(_ bytes: [UInt8], of path: String, mode: UInt16, owner: (uid: uid_t, gid: gid_t)?, date: Date) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd"
        let base = "\(path).retired-\(formatter.string(from: date))"
        for attempt in 1...100 {
            let candidate = attempt == 1 ? base : "\(base)-\(attempt)"
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
            if fd < 0 && errno == EEXIST { continue }
            guard fd >= 0 else { throw AtomicFile.WriteError(path: candidate, reason: String(cString: strerror(errno))) }
            defer { close(fd) }
            if let owner, owner.uid != geteuid() || owner.gid != getegid() { _ = fchown(fd, owner.uid, owner.gid) }
            guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
                throw AtomicFile.WriteError(path: candidate, reason: String(cString: strerror(errno)))
            }
            return candidate
        }
        throw AtomicFile.WriteError(path: base, reason: "too many retired copies")
    }
}
