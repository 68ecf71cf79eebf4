import Foundation

/// A minimal ssh-agent client (draft-miller-ssh-agent): list identities and
/// sign, with the rsa-sha2 flags libssh2 1.10's own agent code never sends.
final class SSHAgentClient {
    struct Identity {
        var blob: [UInt8]
        var comment: String
    }

    static let signRSASHA256: UInt32 = 2
    static let signRSASHA512: UInt32 = 4

    private let fd: Int32

    /// Connects to the agent socket (`SSH_AUTH_SOCK`).
    init(socketPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SSHError.identity(path: socketPath, reason: "cannot create a socket for ssh-agent") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw SSHError.identity(path: socketPath, reason: "ssh-agent socket path is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SSHError.identity(path: socketPath, reason: "cannot connect to ssh-agent: \(reason)")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The identities the agent holds.
    func identities() throws -> [Identity] {
        var reader = try request([11]) // SSH_AGENTC_REQUEST_IDENTITIES
        guard reader.byteIfPresent() == 12, let count = reader.uint32IfPresent() else { throw agentError("unexpected identities answer") }
        var result: [Identity] = []
        for _ in 0..<count {
            guard let blob = reader.stringIfPresent(), let comment = reader.textIfPresent() else { throw agentError("truncated identities answer") }
            result.append(Identity(blob: blob, comment: comment))
        }
        return result
    }

    /// The raw signature (without its algorithm name) of `data` by the key `blob`.
    func sign(blob: [UInt8], data: [UInt8], flags: UInt32) throws -> [UInt8] {
        var writer = SSHWireWriter()
        writer.raw([13]) // SSH_AGENTC_SIGN_REQUEST
        writer.string(blob)
        writer.string(data)
        writer.uint32(flags)
        var reader = try request(writer.bytes)
        guard reader.byteIfPresent() == 14, let signature = reader.stringIfPresent() else { throw agentError("agent refused to sign") }
        var inner = SSHWireReader(signature)
        guard inner.stringIfPresent() != nil, let raw = inner.stringIfPresent() else { throw agentError("malformed signature from agent") }
        return raw
    }

    private func request(_ body: [UInt8]) throws -> SSHWireReader {
        var framed = SSHWireWriter()
        framed.string(body)
        try writeAll(framed.bytes)
        var lengthReader = SSHWireReader(try readExactly(4))
        guard let length = lengthReader.uint32IfPresent(), length <= 256 * 1024 else { throw agentError("oversized agent answer") }
        return SSHWireReader(try readExactly(Int(length)))
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw agentError("write to agent failed") }
            offset += n
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = out[offset...].withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw agentError("agent closed the connection") }
            offset += n
        }
        return out
    }

    private func agentError(_ reason: String) -> SSHError {
        .identity(path: "ssh-agent", reason: reason)
    }
}
