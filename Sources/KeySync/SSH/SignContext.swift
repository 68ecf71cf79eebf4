import Foundation

/// Carries a Swift signer through libssh2's `void **abstract`.
final class SignContext {
    let sign: (UnsafeRawBufferPointer) -> [UInt8]?
    init(sign: @escaping (UnsafeRawBufferPointer) -> [UInt8]?) { self.sign = sign }
}

/// libssh2's sign callback: the signature goes back in a `malloc` buffer that libssh2 frees.
let signCallback: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, UnsafeMutablePointer<Int>?,
    UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 = { _, signature, signatureLength, data, dataLength, abstract in
    guard let abstract, let raw = abstract.pointee, let signature, let signatureLength else { return -1 }
    let context = Unmanaged<SignContext>.fromOpaque(raw).takeUnretainedValue()
    guard let bytes = context.sign(UnsafeRawBufferPointer(start: data, count: dataLength)),
          let buffer = malloc(bytes.count)?.assumingMemoryBound(to: UInt8.self) else { return -1 }
    buffer.initialize(from: bytes, count: bytes.count)
    signature.pointee = buffer
    signatureLength.pointee = bytes.count
    return 0
}
