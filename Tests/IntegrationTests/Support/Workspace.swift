import Foundation
@testable import KeySync

/// A temporary folder for one test: generated keys, an inventory, a database.
/// Removed when the value is released.
final class Workspace: @unchecked Sendable {
    let path: String

    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "keysync-it-\(safe)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// Generates an ed25519 key pair with `ssh-keygen` (tests only) and returns the private key path.
    @discardableResult
    func generateKey(_ name: String, type: String = "ed25519") throws -> String {
        let key = file(name)
        let result = try TestFleet.run(["ssh-keygen", "-q", "-t", type, "-N", "", "-C", name, "-f", key])
        guard result.succeeded else { throw WorkspaceError.command(result.description) }
        return key
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
    }

    func publicKey(_ name: String) throws -> PublicKey {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file(name + ".pub"))))
        return try KeyImporter.importKey(from: bytes, path: file(name + ".pub"))
    }
}

enum WorkspaceError: Error, CustomStringConvertible {
    case command(String)
    var description: String {
        switch self {
        case .command(let text): return text
        }
    }
}

extension TestFleet {
    /// `hosts:` entries for an inventory, `h<i>: { address: …, groups: [...] }`.
    func inventoryHosts(_ indices: some Sequence<Int>, groups: [String] = []) -> String {
        indices.map { i in
            let group = groups.isEmpty ? "" : ", groups: [\(groups.joined(separator: ", "))]"
            return "  h\(i): { address: \(hosts[i].address)\(group) }"
        }.joined(separator: "\n")
    }

    /// An inventory: `defaults` (the fleet admin's by default), `keys` (the
    /// entries under `keys:`), other top-level `sections` (`people:`,
    /// `revoked:`…), `hosts` plus any `moreHosts` entries, and the text under
    /// `projects:` (see ``usersampleProject(_:hosts:_:)``); none: no `projects:`.
    func inventory(defaults: String? = nil, keys: [String] = ["kp-usersample: { file: kp-usersample.pub }"],
                   sections: String = "", hosts: [Int], moreHosts: String = "", projects: String? = nil) -> String {
        """
        \(defaults ?? inventoryDefaults())
        keys:
        \(keys.map { "  " + $0 }.joined(separator: "\n"))
        \(sections)
        hosts:
        \(inventoryHosts(hosts))
        \(moreHosts)
        """ + (projects.map { "\nprojects:\n" + $0 } ?? "")
    }

    /// Project `name` on `hosts` (h-numbers or names) with role `deploy` for
    /// `account` (`usersample`), as text under `projects:`; `fields` are the
    /// role's other entries in order (`uid: 1001`, `keys: [kp-usersample]`).
    func usersampleProject(_ name: String = "usersample", hosts: [Int], account: String = "usersample", _ fields: [String]) -> String {
        usersampleProject(name, hosts: hosts.map { "h\($0)" }, account: account, fields)
    }

    func usersampleProject(_ name: String = "usersample", hosts: [String], account: String = "usersample", _ fields: [String]) -> String {
        """
          \(name):
            hosts: [\(hosts.joined(separator: ", "))]
            roles:
              deploy:
                account: \(account)
        \(fields.map { "        " + $0 }.joined(separator: "\n"))
        """
    }

    /// The `defaults:` block that logs in as the fleet admin. The command
    /// timeout is generous: CI shares two cores between sshd, sudo and
    /// `useradd` for dozens of hosts at once (timeouts have their own tests).
    /// `knownHosts` replaces the fleet's known_hosts file (hosts on other ports or addresses).
    func inventoryDefaults(key: KeyKind = .ed25519, knownHosts: String? = nil, extra: String = "") -> String {
        """
        defaults:
          user: \(user)
          identity: \(keyPath(key))
          known_hosts: \(knownHosts ?? knownHostsPath)
          connect_timeout: 10
          command_timeout: 120
        \(extra)
        """
    }

    /// Runs `command` as `user` with the OpenSSH client and `key`, like an operator would.
    func login(host: Int, user: String, key: String, command: String = "true") throws -> CommandResult {
        try TestFleet.run([
            "ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(knownHostsPath)",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
            "\(user)@\(hosts[host].address)", command,
        ], timeout: 60)
    }

    /// Removes `accounts` (with their homes and groups) from `hosts`, 8 hosts
    /// at a time, so a test starts from scratch.
    func removeAccounts(_ accounts: [String] = ["usersample"], on hosts: some Sequence<Int>) throws {
        let fleet = self
        let script = "for u in \(accounts.joined(separator: " ")); do userdel -r $u 2>/dev/null; rm -rf /home/$u; groupdel $u 2>/dev/null; done; true"
        let failures = ParallelRunner(width: 8).run(Array(hosts)) { host -> String? in
            do {
                let result = try fleet.exec(host: host, ["sh", "-c", script])
                return result.succeeded ? nil : "h\(host): \(result)"
            } catch { return "h\(host): \(error)" }
        }
        if let failure = failures.compactMap({ $0 }).first { throw WorkspaceError.command(failure) }
    }

    /// The bytes of a file inside host `host`.
    func read(host: Int, _ path: String) throws -> [UInt8] {
        let result = try exec(host: host, ["cat", path])
        return Array(result.stdout.utf8)
    }
}
