import Foundation
import Testing
@testable import KeySync

@Suite struct KeysBlobTests {
    static let publicKeys = KeyFixtures.names(withSuffix: ".pub")

    @Test func everyKeyTypeHasAFixture() {
        #expect(Self.publicKeys.count >= 18)
    }

    @Test(arguments: publicKeys)
    func fingerprintMatchesSSHKeygen(_ name: String) throws {
        let key = try KeyFixtures.publicKey(name)
        let expected = try KeyFixtures.expectedFingerprintLine(name.replacingOccurrences(of: ".pub", with: ".fp"))
        #expect(key.fingerprintLine == expected)
    }
}
