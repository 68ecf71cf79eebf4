import Foundation

/// Asks for a key passphrase on the terminal, once per key.
enum Passphrase {
    static func prompt(_ label: String) -> String? {
        guard isatty(STDIN_FILENO) != 0, let raw = getpass("Passphrase for \(label): ") else { return nil }
        return String(cString: raw)
    }
}
