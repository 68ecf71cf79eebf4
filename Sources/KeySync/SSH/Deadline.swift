import Foundation

/// A point in time after which an operation has failed.
struct Deadline {
    let end: DispatchTime

    init(seconds: Double) {
        end = DispatchTime.now() + .nanoseconds(Int(max(seconds, 0.001) * 1e9))
    }

    var remainingSeconds: Double {
        let now = DispatchTime.now().uptimeNanoseconds
        return end.uptimeNanoseconds > now ? Double(end.uptimeNanoseconds - now) / 1e9 : 0
    }

    var remainingMilliseconds: Int32 {
        let now = DispatchTime.now().uptimeNanoseconds
        guard end.uptimeNanoseconds > now else { return 0 }
        return Int32(min((end.uptimeNanoseconds - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }
}
