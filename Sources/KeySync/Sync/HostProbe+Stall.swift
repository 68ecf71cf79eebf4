extension HostProbe {
    /// The account whose read was still running when a probe's reply
    /// stopped: the last `@account NONCE NAME` section of `partial` has a
    /// frame begun (`content-begin NONCE`, `other_content-begin NONCE`)
    /// that never ended. Those frames are the only part of the probe that
    /// runs as the account (setpriv → dd), so only that account can hold
    /// it: its processes stopped (SIGSTOP), or its file never answers (a
    /// FUSE or hung NFS mount under its home). Nil when the reply stopped
    /// anywhere else. A file's bytes inside a frame cannot fake either line:
    /// they would need the nonce, which no process of the account sees.
    ///
    /// - Returns: the account and the byte offset of its open frame's begin
    ///   line in `partial` (when that frame began tells a stall from a slow
    ///   read before it: ``RemoteCommand/seconds(since:)``).
    static func stalledAccount(in partial: [UInt8], nonce: String) -> (account: String, frameOffset: Int)? {
        guard !nonce.isEmpty else { return nil }
        let text = String(decoding: partial, as: UTF8.self)
        let section = "@account \(nonce) "
        guard let start = text.range(of: "\n" + section, options: .backwards)?.upperBound
                ?? (text.hasPrefix(section) ? text.index(text.startIndex, offsetBy: section.count) : nil) else { return nil }
        let rest = text[start...]
        guard let lineEnd = rest.firstIndex(of: "\n") else { return nil }
        let name = String(rest[..<lineEnd])
        let body = rest[lineEnd...]
        guard !name.isEmpty, let begun = body.range(of: "-begin \(nonce)", options: .backwards),
              !body[begun.upperBound...].contains("-end \(nonce) ") else { return nil }
        return (name, text.utf8.distance(from: text.startIndex, to: begun.lowerBound))
    }
}
