/// libsodium wants non-NULL pointers even for empty inputs; Swift may hand out nil base
/// addresses for empty buffers. These helpers always supply a valid pointer.

extension Array where Element == UInt8 {
    func withNonNullBytes<R, E: Error>(_ body: (UnsafePointer<UInt8>, Int) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress, !buffer.isEmpty {
                return Result { () throws(E) -> R in try body(base, buffer.count) }
            }
            var placeholder: UInt8 = 0
            return withUnsafePointer(to: &placeholder) { pointer in
                Result { () throws(E) -> R in try body(pointer, 0) }
            }
        }
        return try result.get()
    }
}

extension SecretBytes {
    func withNonNullBytes<R, E: Error>(_ body: (UnsafePointer<UInt8>, Int) throws(E) -> R) throws(E) -> R {
        // SecretBytes storage always has at least one allocated byte, so the pointer is never nil.
        try withUnsafeBytes { (raw) throws(E) -> R in
            try body(raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self), raw.count)
        }
    }
}
