import Testing
@testable import KeySync

@Suite struct KeySignerTests {
    /// DER integers carry a leading zero when the top bit is set, SSH mpints
    /// too; both drop other leading zeros.
    @Test func ecdsaSignatureDERBecomesTwoMpints() throws {
        let r: [UInt8] = [0x00, 0x80, 0x01], s: [UInt8] = [0x7f, 0x02]
        let der: [UInt8] = [0x30, UInt8(2 + r.count + 2 + s.count), 0x02, UInt8(r.count)] + r + [0x02, UInt8(s.count)] + s
        let ssh = try #require(KeySigner.sshECDSASignature(der: der))
        #expect(ssh == [0, 0, 0, 3, 0x00, 0x80, 0x01, 0, 0, 0, 2, 0x7f, 0x02])
    }

    @Test func longFormLengthsAreRead() throws {
        let r = [UInt8](repeating: 0x11, count: 66), s = [UInt8](repeating: 0x22, count: 66)
        let body: [UInt8] = [0x02, 66] + r + [0x02, 66] + s
        let der: [UInt8] = [0x30, 0x81, UInt8(body.count)] + body
        let ssh = try #require(KeySigner.sshECDSASignature(der: der))
        #expect(ssh.count == 4 + 66 + 4 + 66)
    }

    @Test(arguments: [[UInt8](), [0x30], [0x30, 0x05, 0x02, 0x01, 0x01], [0x31, 0x00], [0x30, 0x03, 0x02, 0x01, 0x01, 0x00]])
    func malformedDERIsRejected(_ der: [UInt8]) {
        #expect(KeySigner.sshECDSASignature(der: der) == nil)
    }
}
