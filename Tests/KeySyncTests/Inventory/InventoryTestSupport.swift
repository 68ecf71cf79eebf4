import Foundation
import Testing
@testable import KeySync

/// Fixtures and helpers shared by the inventory tests.
enum InventoryFixtures {
    /// `Fixtures/inventory` in the test bundle: holds `keys/{alice,bob,carol,dave}.pub`.
    static let directory: String = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("inventory").path

    /// Where inline test inventories pretend to live, so `keys/alice.pub` resolves.
    static let path = directory + "/inventory.yml"

    /// The repository root (for `inventory.example`).
    static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let home = "/home/tester"

    /// The end of a one-host inventory: `hosts:` with web-1 and `projects:`
    /// with billing on web-1, up to its `roles:` (the caller's roles follow,
    /// indented by six).
    static let billingOnWeb1 = """
        hosts:
          web-1: {address: 127.77.0.1}
        projects:
          billing:
            hosts: [web-1]
            roles:
        """

    /// Public key lines of the fixture keys, and their `ssh-keygen -lf` fingerprints.
    static let alice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJeUmNddxMN0gS/YzcyUoD5S/ONTOdj6bnfoUx0qjP9H alice@test"
    static let aliceFingerprint = "SHA256:+pxUqe1KdBg7txDmCBGZPwSVVsyPSr0pX26NVRC626c"
    static let bob = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ7VhfDTf72vO/4wVVnlPMeUxaGBXgq6vJwb1xYPQoi bob@test"
    static let bobFingerprint = "SHA256:c90/8g40PjjHo56cJFRy66U9iLA2iqDMv/L93+KqJho"
    static let carolFingerprint = "SHA256:Io0fpssdvE5mSwTOoOy07aW4HeIWSAK0XjcfYdwa7Dk"

    /// Loads inline YAML; fails the test with every diagnostic if it does not validate.
    static func load(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Inventory {
        do {
            return try Inventory.parse(yaml, path: path, homeDirectory: home)
        } catch {
            Issue.record("inventory did not validate:\n\(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    /// The diagnostics of inline YAML that must not validate.
    static func diagnostics(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [Diagnostic] {
        do {
            let inventory = try Inventory.parse(yaml, path: path, homeDirectory: home)
            Issue.record("inventory validated, expected errors; warnings: \(inventory.warnings)", sourceLocation: sourceLocation)
            return []
        } catch {
            #expect(!error.diagnostics.isEmpty, "\(error)", sourceLocation: sourceLocation)
            return error.diagnostics
        }
    }

    /// Expects exactly one error, at `line`:`column`, whose message contains `message`.
    static func expectError(_ yaml: String, at line: Int, _ column: Int, _ message: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let errors = diagnostics(yaml, sourceLocation: sourceLocation).filter { $0.severity == .error }
        #expect(errors.count == 1, "\(errors.map(\.description))", sourceLocation: sourceLocation)
        guard let error = errors.first else { return }
        #expect(error.file == path, sourceLocation: sourceLocation)
        #expect("\(error.line):\(error.column)" == "\(line):\(column)", "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(message), "\(error.message)", sourceLocation: sourceLocation)
    }
}
