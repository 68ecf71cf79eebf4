import Foundation
import Testing
@testable import KeySync

/// A host's resolved addresses are tried in the resolver's order within one
/// connect_timeout, as ssh does (``AddressDialer``), without a network.
@Suite struct AddressDialerTests {
    /// A fake address: how trying it ends.
    enum Fake { case refuses, silent, accepts(Int32) }

    let label = "web-1 (web-1.example:22)"

    func dial(_ addresses: [(String, Fake)], seconds: Double = 5) -> (result: Result<Int32, SSHError>, tried: [String]) {
        var tried: [String] = []
        let dialer = AddressDialer(addresses: addresses, describe: { $0.0 })
        let result = dialer.connect(label: label, timeout: seconds, deadline: Deadline(seconds: seconds)) { address, _ in
            tried.append(address.0)
            switch address.1 {
            case .refuses: return .failed(reason: "Connection refused")
            case .silent: return .timedOut
            case .accepts(let fd): return .connected(fd)
            }
        }
        return (result, tried)
    }

    @Test func aRefusingFirstAddressFallsThroughToTheNextInOrder() {
        let (result, tried) = dial([("[::1]:22", .refuses), ("127.0.0.2:22", .refuses), ("127.0.0.3:22", .accepts(7)), ("127.0.0.4:22", .accepts(8))])
        #expect(result == .success(7))
        #expect(tried == ["[::1]:22", "127.0.0.2:22", "127.0.0.3:22"])
    }

    @Test func everyAddressRefusingNamesEachOneAndWhy() {
        let (result, tried) = dial([("[::1]:22", .refuses), ("127.0.0.2:22", .refuses)])
        #expect(tried.count == 2)
        #expect(result == .failure(.connectFailed(host: label, reason: "[::1]:22: Connection refused; 127.0.0.2:22: Connection refused")))
        // One address: the reason alone, as before there could be several.
        #expect(dial([("127.0.0.2:22", .refuses)]).result == .failure(.connectFailed(host: label, reason: "Connection refused")))
        #expect(dial([]).result == .failure(.connectFailed(host: label, reason: "no usable address")))
    }

    /// As ssh's ConnectTimeout: a silent address uses up the one timeout, so
    /// the addresses after it are not tried.
    @Test func aSilentAddressEndsTheAttemptWithConnectTimeout() {
        let (result, tried) = dial([("127.0.0.2:22", .refuses), ("[2001:db8::1]:22", .silent), ("127.0.0.3:22", .accepts(7))], seconds: 3)
        #expect(result == .failure(.connectTimeout(host: label, seconds: 3)))
        #expect(tried == ["127.0.0.2:22", "[2001:db8::1]:22"])
    }

    @Test func noAddressIsTriedOnceTheDeadlineHasPassed() {
        var tried = 0
        let dialer = AddressDialer(addresses: ["a", "b"], describe: { $0 })
        let expired = Deadline(seconds: 0.001)
        usleep(5_000)
        let result = dialer.connect(label: label, timeout: 0.001, deadline: expired) { _, _ in tried += 1; return .connected(3) }
        #expect(result == .failure(.connectTimeout(host: label, seconds: 0.001)))
        #expect(tried == 0)
    }

    /// Every attempt gets the same deadline: what is left of the one timeout.
    @Test func eachAttemptIsGivenTheSharedDeadline() {
        var ends: [UInt64] = []
        let dialer = AddressDialer(addresses: ["a", "b", "c"], describe: { $0 })
        let deadline = Deadline(seconds: 10)
        _ = dialer.connect(label: label, timeout: 10, deadline: deadline) { _, given in
            ends.append(given.end.uptimeNanoseconds)
            return .failed(reason: "Network is unreachable")
        }
        #expect(ends == Array(repeating: deadline.end.uptimeNanoseconds, count: 3))
    }
}
