import CLibSSH2

/// Process-wide libssh2 initialisation, done once before any worker starts.
enum LibSSH2 {
    static let initialized: Bool = {
        libssh2_init(0) == 0
    }()

    /// libssh2's message for the last error on `session`.
    static func lastError(_ session: OpaquePointer) -> String {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        guard let message, length > 0 else { return "libssh2 error \(code)" }
        return String(cString: message)
    }

    static func lastErrno(_ session: OpaquePointer) -> Int32 {
        libssh2_session_last_errno(session)
    }
}
