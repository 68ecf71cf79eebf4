import Foundation
import Testing
@testable import KeySync

/// Not a timed test: run with `KEYSYNC_BENCH=1 swift test --filter KeysBenchmark` to print the figure.
@Suite struct KeysBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KEYSYNC_BENCH"] == "1"))
    func parse100kLines() throws {
        let keys = try ["id_ed25519.pub", "id_ecdsa256.pub", "id_rsa2048.pub", "id_rsa3072.pub", "sk_ed25519.pub"]
            .map { try KeyFixtures.text($0).trimmingCharacters(in: .newlines) }
        var text = ""
        for index in 0..<100_000 {
            switch index % 10 {
            case 0: text += "# comment \(index)\n"
            case 1: text += "from=\"10.0.0.0/8\",no-pty,command=\"/bin/true \(index)\" \(keys[index % keys.count])\n"
            default: text += keys[index % keys.count] + " user\(index)\n"
            }
        }
        let bytes = Array(text.utf8)
        let clock = ContinuousClock()
        var file = AuthorizedKeysFile(bytes: [])
        let parse = clock.measure { file = AuthorizedKeysFile(bytes: bytes) }
        let lint = clock.measure { _ = file.lint(now: Date()) }
        let serialize = clock.measure { _ = file.serialized() }
        print("KeysBenchmark: 100,000 lines (\(bytes.count) bytes): parse \(parse), lint \(lint), serialize \(serialize)")
        #expect(file.lines.count == 100_000)
        for key in keys {
            let single = Array(String(repeating: key + "\n", count: 20_000).utf8)
            let time = clock.measure { _ = AuthorizedKeysFile(bytes: single) }
            print("KeysBenchmark: 20,000 \(key.prefix(while: { $0 != " " })) lines: \(time)")
        }
    }
}
