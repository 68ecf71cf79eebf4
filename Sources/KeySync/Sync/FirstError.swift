import Synchronization

/// The first error any of several worker threads met (a store write, say);
/// later ones are dropped. Kept so the run can finish, then thrown.
final class FirstError: Sendable {
    private let error = Mutex<(any Error)?>(nil)

    /// Keeps `error` unless one is kept already.
    func keep(_ error: any Error) {
        self.error.withLock { kept in if kept == nil { kept = error } }
    }

    /// Throws the kept error, if any.
    func rethrow() throws {
        if let error = error.withLock({ $0 }) { throw error }
    }
}
