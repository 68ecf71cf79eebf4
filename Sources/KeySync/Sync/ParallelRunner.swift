import Foundation
import Synchronization

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
private final class RunnerState<Result: Sendable>: Sendable {
    private struct Slots {
        var next = 0
        var done = 0
        var results: [Result?]
    }

    private let slots: Mutex<Slots>
    /// Held while a callback runs, so callbacks run one at a time without holding up `nextIndex`.
    private let callback = Mutex(())
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = Mutex(Slots(results: Array(repeating: nil, count: count)))
    }

    func nextIndex() -> Int? {
        slots.withLock { slots in
            guard slots.next < count else { return nil }
            defer { slots.next += 1 }
            return slots.next
        }
    }

    /// Stores a result, then reports progress under the callback lock.
    func store(_ result: Result, at index: Int, report: (ParallelRunner.Progress) -> Void) {
        let progress = slots.withLock { slots in
            slots.results[index] = result
            slots.done += 1
            return ParallelRunner.Progress(done: slots.done, total: count)
        }
        callback.withLock { _ in report(progress) }
    }

    func results() -> [Result] {
        slots.withLock { $0.results.map { $0! } }
    }
}
