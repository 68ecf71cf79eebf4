/// Connects to the first of a host's addresses that accepts, trying them in
/// the order the resolver gave (`getaddrinfo`: A and AAAA records in the
/// system's preference order, RFC 6724), as OpenSSH's `ssh_connect_direct`
/// does. One `connect_timeout` covers all of them, as ssh's `ConnectTimeout`
/// does: an address that refuses or is unreachable costs nothing and the
/// next one is tried at once; one that stays silent uses up what is left of
/// the timeout, and no address is tried after it has passed.
///
/// Separate from the sockets so the order, the shared deadline and the
/// error a host gets are testable without a network.
struct AddressDialer<Address> {
    /// What trying one address did.
    enum Attempt {
        /// Connected: the socket to keep.
        case connected(Int32)
        /// Refused, unreachable, or no socket for its family: try the next one.
        case failed(reason: String)
        /// No answer before the deadline.
        case timedOut
    }

    /// The resolved addresses, in the resolver's order.
    let addresses: [Address]
    /// `address:port` of an address, for messages.
    let describe: (Address) -> String

    /// The socket of the first address `attempt` connects to within
    /// `timeout` seconds (the caller's `connect_timeout`) for the host
    /// labelled `label`; otherwise `connectTimeout` when the time ran out,
    /// or `connectFailed` naming every address tried and why it failed.
    func connect(label: String, timeout: Double, deadline: Deadline,
                 attempt: (Address, Deadline) -> Attempt) -> Result<Int32, SSHError> {
        var failures: [String] = []
        for address in addresses {
            guard deadline.remainingMilliseconds > 0 else { return .failure(.connectTimeout(host: label, seconds: timeout)) }
            switch attempt(address, deadline) {
            case .connected(let socket):
                return .success(socket)
            case .failed(let reason):
                failures.append(addresses.count == 1 ? reason : "\(describe(address)): \(reason)")
            case .timedOut:
                return .failure(.connectTimeout(host: label, seconds: timeout))
            }
        }
        return .failure(.connectFailed(host: label, reason: failures.isEmpty ? "no usable address" : failures.joined(separator: "; ")))
    }
}
