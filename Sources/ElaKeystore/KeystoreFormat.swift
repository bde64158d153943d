import ElaSodium

/// On-disk format of one keystore entry, version 1. All integers are big-endian.
///
///     offset  size  field
///     0       5     magic "ELAKS"
///     5       1     format version = 1
///     6       1     protection kind: 1 = passphrase, 2 = machine secret
///     7       4     ciphertext length L (UInt32, includes the 16-byte tag)
///   passphrase kind:
///     11      8     Argon2id opslimit (UInt64)
///     19      8     Argon2id memlimit in bytes (UInt64)
///     27      16    Argon2id salt
///     43      24    XChaCha20-Poly1305 nonce
///     67      L     ciphertext || tag
///   machine-secret kind:
///     11      16    key-derivation salt
///     27      24    XChaCha20-Poly1305 nonce
///     51      L     ciphertext || tag
///
/// The whole header (offset 0 up to the ciphertext) is the AEAD associated data, so changing
/// any header byte fails authentication. The file size must be exactly header + L.
///
/// File key:
/// - passphrase: Argon2id(passphrase, salt, opslimit, memlimit) -> 32 bytes.
/// - machine secret: BLAKE2b-256 keyed with the 32-byte machine secret over
///   `machineSecretContext || salt`, so the machine secret is never used as a key itself.
enum KeystoreFormat {
    static let magic: [UInt8] = Array("ELAKS".utf8)
    static let version: UInt8 = 1
    static let saltLength = 16
    static let nonceLength = 24
    static let tagLength = 16
    static let keyLength = 32
    /// Magic + version + kind: the part every reader must see before anything else makes sense.
    static let prefixLength = 7
    static let machineSecretContext: [UInt8] = Array("ElastosDeviceAgent/keystore/v1/machine-secret".utf8)

    /// Upper bounds on stored Argon2id costs. A tampered header could otherwise make `load`
    /// spend hours or gigabytes before authentication gets a chance to fail.
    static let maximumOpsLimit: UInt64 = 32
    static let maximumMemLimitBytes = 1 << 30

    static func headerLength(_ kind: ProtectionKind) -> Int {
        switch kind {
        case .passphrase: return prefixLength + 4 + 8 + 8 + saltLength + nonceLength
        case .machineSecret: return prefixLength + 4 + saltLength + nonceLength
        }
    }

    /// The parsed header of a file.
    struct Header {
        var kind: ProtectionKind
        var parameters: Argon2id.Parameters?
        var salt: [UInt8]
        var nonce: [UInt8]
        var ciphertextLength: Int

        func encoded() -> [UInt8] {
            var bytes = KeystoreFormat.magic
            bytes.append(KeystoreFormat.version)
            bytes.append(kind.rawValue)
            bytes.appendBigEndian(UInt64(ciphertextLength), width: 4)
            if kind == .passphrase, let parameters {
                bytes.appendBigEndian(parameters.opsLimit, width: 8)
                bytes.appendBigEndian(UInt64(parameters.memLimitBytes), width: 8)
            }
            bytes += salt
            bytes += nonce
            return bytes
        }
    }

    /// Checks stored or requested Argon2id costs against libsodium's and the keystore's limits.
    static func checkParameters(_ parameters: Argon2id.Parameters) -> String? {
        if !Argon2id.Parameters.opsLimitRange.contains(parameters.opsLimit) || parameters.opsLimit > maximumOpsLimit {
            return "opsLimit \(parameters.opsLimit) outside 1...\(maximumOpsLimit)"
        }
        let minimumMemory = Argon2id.Parameters.memLimitRange.lowerBound
        if parameters.memLimitBytes < minimumMemory || parameters.memLimitBytes > maximumMemLimitBytes {
            return "memLimitBytes \(parameters.memLimitBytes) outside \(minimumMemory)...\(maximumMemLimitBytes)"
        }
        return nil
    }

    /// Splits a file into header, associated data and ciphertext, checking everything that can
    /// be checked before decryption. Never reads out of bounds, whatever `file` holds.
    static func parse(
        _ file: [UInt8], path: String, expecting requested: ProtectionKind
    ) throws(KeystoreError) -> (header: Header, associatedData: [UInt8], ciphertext: [UInt8]) {
        // Magic: a short file that matches so far is truncated, anything else is foreign.
        let magicSeen = min(file.count, magic.count)
        guard Array(file[0..<magicSeen]) == Array(magic[0..<magicSeen]) else { throw .notAKeystoreFile(path: path) }
        guard file.count >= prefixLength else {
            throw .truncated(path: path, expected: prefixLength, got: file.count)
        }
        guard file[5] == version else { throw .unsupportedVersion(path: path, version: file[5]) }
        guard let kind = ProtectionKind(rawValue: file[6]) else {
            throw .corruptHeader(path: path, reason: "unknown protection kind \(file[6])")
        }
        guard kind == requested else { throw .protectionMismatch(path: path, file: kind, requested: requested) }

        let headerLength = headerLength(kind)
        guard file.count >= headerLength else {
            throw .truncated(path: path, expected: headerLength, got: file.count)
        }
        var reader = ByteReader(bytes: file, offset: prefixLength)
        // Compared as read: a length past Int32.max must not trap on a 32-bit board.
        let declaredLength = reader.bigEndian(width: 4)
        let maximumCiphertext = Keystore.maximumSecretLength + tagLength
        guard declaredLength >= UInt64(tagLength), declaredLength <= UInt64(maximumCiphertext) else {
            throw .corruptHeader(
                path: path, reason: "ciphertext length \(declaredLength) outside \(tagLength)...\(maximumCiphertext)")
        }
        let ciphertextLength = Int(declaredLength)
        var parameters: Argon2id.Parameters?
        if kind == .passphrase {
            let opsLimit = reader.bigEndian(width: 8)
            let memLimit = reader.bigEndian(width: 8)
            guard memLimit <= UInt64(maximumMemLimitBytes) else {
                throw .corruptHeader(path: path, reason: "memLimitBytes \(memLimit) above \(maximumMemLimitBytes)")
            }
            let stored = Argon2id.Parameters(opsLimit: opsLimit, memLimitBytes: Int(memLimit))
            if let problem = checkParameters(stored) { throw .corruptHeader(path: path, reason: problem) }
            parameters = stored
        }
        let salt = reader.bytes(saltLength)
        let nonce = reader.bytes(nonceLength)

        let expectedSize = headerLength + ciphertextLength
        guard file.count >= expectedSize else { throw .truncated(path: path, expected: expectedSize, got: file.count) }
        guard file.count == expectedSize else {
            throw .corruptHeader(path: path, reason: "\(file.count - expectedSize) unexpected bytes after the ciphertext")
        }
        let header = Header(
            kind: kind, parameters: parameters, salt: salt, nonce: nonce, ciphertextLength: ciphertextLength)
        return (header, Array(file[0..<headerLength]), Array(file[headerLength..<expectedSize]))
    }
}

/// Sequential big-endian reads. Callers check the length first; reads past the end yield zeros
/// rather than trapping.
private struct ByteReader {
    let bytes: [UInt8]
    var offset: Int

    mutating func bigEndian(width: Int) -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<width {
            value = value << 8 | UInt64(offset < bytes.count ? bytes[offset] : 0)
            offset += 1
        }
        return value
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        let start = min(offset, bytes.count)
        let end = min(offset + count, bytes.count)
        offset += count
        return Array(bytes[start..<end])
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendBigEndian(_ value: UInt64, width: Int) {
        for index in stride(from: width - 1, through: 0, by: -1) {
            append(UInt8(truncatingIfNeeded: value >> (UInt64(index) * 8)))
        }
    }
}
