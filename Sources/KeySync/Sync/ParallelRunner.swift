import Foundation

/// Runs one job per item with at most `width` in flight, on a fixed set of
/// worker threads (never more than `width`, however many items).
///
/// Each job blocks only in `poll` with its own deadlines, so a dedicated
/// thread per slot is cheaper and more predictable than Dispatch's pool,
/// which would grow threads for blocked work items.
public struct ParallelRunner: Sendable {
    /// Progress after one item finished.
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
    }

    /// Maximum jobs in flight.
    public var width: Int

    public init(width: Int) {
        self.width = max(1, width)
    }

    /// Runs `job` for every item; results come back in input order. One
    /// item's failure is its own result and never stops the others.
    /// `onResult` is called serially (from worker threads) after each item.
    public func run<Item: Sendable, Result: Sendable>(
        _ items: [Item],
        onResult: (@Sendable (Int, Result, Progress) -> Void)? = nil,
        _ job: @escaping @Sendable (Item) -> Result
    ) -> [Result] {
        guard !items.isEmpty else { return [] }
        let state = RunnerState<Result>(count: items.count)
        let group = DispatchGroup()
        for _ in 0..<min(width, items.count) {
            group.enter()
            let thread = Thread {
                // SIGINT/SIGTERM go to the controller's handler, never to a
                // worker: a signal landing in a worker could interrupt a
                // socket call mid-command (EINTR) and fail a host whose
                // write had in fact gone through.
                var signals = sigset_t()
                sigemptyset(&signals)
                sigaddset(&signals, SIGINT)
                sigaddset(&signals, SIGTERM)
                pthread_sigmask(SIG_BLOCK, &signals, nil)
                while let index = state.nextIndex() {
                    let result = job(items[index])
                    state.store(result, at: index) { progress in onResult?(index, result, progress) }
                }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        return state.results()
    }
}

/// Shared between workers: the next index to take and the results so far.
private final class RunnerState<Result>: @unchecked Sendable {
    private let lock = NSLock()
    private let callbackLock = NSLock()
    private var next = 0
    private var done = 0
    private var slots: [Result?]
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = Array(repeating: nil, count: count)
    }

    func nextIndex() -> Int? {
        lock.withLock {
            guard next < count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// Stores a result, then reports progress under a second lock so
    /// callbacks run one at a time without holding up `nextIndex`.
    func store(_ result: Result, at index: Int, report: (ParallelRunner.Progress) -> Void) {
        let progress = lock.withLock {
            slots[index] = result
            done += 1
            return ParallelRunner.Progress(done: done, total: count)
        }
        callbackLock.withLock { report(progress) }
    }

    func results() -> [Result] {
        lock.withLock { slots.map { $0! } }
    }
}
