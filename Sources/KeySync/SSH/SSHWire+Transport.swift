/// Optional-returning reads for the transport (agent answers, private-key
/// sections), where any malformed message is simply unusable.
extension SSHWireReader {
    mutating func stringIfPresent() -> [UInt8]? { (try? string()).map(Array.init) }
    mutating func textIfPresent() -> String? { stringIfPresent().map { String(decoding: $0, as: UTF8.self) } }
    mutating func uint32IfPresent() -> UInt32? { try? uint32() }
    mutating func byteIfPresent() -> UInt8? { isAtEnd ? nil : try? byte() }

    mutating func bytesIfPresent(_ count: Int) -> [UInt8]? {
        guard count >= 0, count <= remaining else { return nil }
        var result: [UInt8] = []
        for _ in 0..<count { guard let b = byteIfPresent() else { return nil }; result.append(b) }
        return result
    }
}

extension Array where Element == UInt8 {
    /// The key type named by an SSH public key blob's first string.
    var sshBlobKeyType: String? {
        var reader = SSHWireReader(self)
        return reader.textIfPresent()
    }
}
