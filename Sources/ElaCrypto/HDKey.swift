/// A BIP32 extended private key over **secp256r1 (P-256)**, as the Elastos DID SDKs use it: the BIP32 formulas
/// with the P-256 group order and P-256 public keys (`I = HMAC-SHA512("Bitcoin seed", seed)`, child scalar
/// `(IL + kpar) mod n`). Serialized as a standard BIP32 xprv: Base58Check, 82 bytes with the checksum, version 0488ADE4.
public struct HDKey: Sendable {
    /// 0 for the master key.
    public let depth: UInt8
    /// First 4 bytes of HASH160(parent compressed public key); zero for the master key.
    public let parentFingerprint: [UInt8]
    /// The index this key was derived with, hardened bit (0x8000_0000) included.
    public let childNumber: UInt32
    /// The 32-byte chain code.
    public let chainCode: [UInt8]
    /// The private key.
    public let privateKey: ElaPrivateKey

    /// The public key of `privateKey`.
    public var publicKey: ElaPublicKey { privateKey.publicKey }

    /// BIP32 mainnet private version bytes, "xprv".
    static let privateVersion: [UInt8] = [0x04, 0x88, 0xAD, 0xE4]
    /// The first hardened index.
    public static let hardenedOffset: UInt32 = 0x8000_0000

    private init(depth: UInt8, parentFingerprint: [UInt8], childNumber: UInt32, chainCode: [UInt8], privateKey: ElaPrivateKey) {
        self.depth = depth
        self.parentFingerprint = parentFingerprint
        self.childNumber = childNumber
        self.chainCode = chainCode
        self.privateKey = privateKey
    }

    /// The master key of a BIP32 seed (16...64 bytes; a BIP39 seed is 64).
    public static func master(seed: [UInt8]) throws(HDKeyError) -> HDKey {
        guard (16...64).contains(seed.count) else { throw HDKeyError(.seedLength(seed.count)) }
        var digest = Digest.hmacSHA512(key: Array("Bitcoin seed".utf8), data: seed)
        defer { wipe(&digest) }
        // ElaPrivateKey enforces 0 < IL < n, the BIP32 validity rule.
        guard let key = try? ElaPrivateKey(rawRepresentation: Array(digest[0..<32])) else {
            throw HDKeyError(.invalidDerivedKey(index: nil))
        }
        return HDKey(depth: 0, parentFingerprint: [0, 0, 0, 0], childNumber: 0, chainCode: Array(digest[32..<64]), privateKey: key)
    }

    /// Parses an xprv string: Base58Check of 78 bytes (82 with the checksum) =
    /// version(4) depth(1) parentFingerprint(4) childNumber(4) chainCode(32) 0x00 key(32).
    public init(xprv: String) throws(HDKeyError) {
        let payload: [UInt8]
        do { payload = try Base58.decodeCheck(xprv) } catch { throw HDKeyError(.base58(error)) }
        guard payload.count == 78 else { throw HDKeyError(.wrongLength(payload.count + 4)) }
        guard Array(payload[0..<4]) == Self.privateVersion else {
            throw HDKeyError(.unsupportedVersion(Hex.encode(payload[0..<4])))
        }
        guard payload[45] == 0x00 else { throw HDKeyError(.notPrivate) }
        let depth = payload[4]
        let fingerprint = Array(payload[5..<9])
        let childNumber = payload[9..<13].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        if depth == 0 && (fingerprint != [0, 0, 0, 0] || childNumber != 0) { throw HDKeyError(.inconsistentMasterKey) }
        let key: ElaPrivateKey
        do { key = try ElaPrivateKey(rawRepresentation: Array(payload[46..<78])) } catch { throw HDKeyError(.key(error)) }
        self.init(depth: depth, parentFingerprint: fingerprint, childNumber: childNumber, chainCode: Array(payload[13..<45]),
                  privateKey: key)
    }

    /// The xprv serialization (111 characters).
    public var xprv: String {
        privateKey.withRawBytes { raw in
            var payload = Self.privateVersion + [depth] + parentFingerprint
            payload += [UInt8(childNumber >> 24), UInt8(childNumber >> 16 & 0xFF), UInt8(childNumber >> 8 & 0xFF), UInt8(childNumber & 0xFF)]
            payload += chainCode + [0x00] + raw
            defer { Self.wipe(&payload) }
            return Base58.encodeCheck(payload)
        }
    }

    /// First 4 bytes of HASH160(compressed public key): the child's `parentFingerprint`.
    public var fingerprint: [UInt8] { Array(Digest.hash160(publicKey.compressed).prefix(4)) }

    /// Derives one level. `index` must be below 2^31; `hardened` adds 2^31.
    /// Throws `invalidDerivedKey` in the BIP32 "IL >= n or child = 0" case (probability ~2^-127): use the next index.
    public func deriveChild(_ index: UInt32, hardened: Bool) throws(HDKeyError) -> HDKey {
        guard index < Self.hardenedOffset else { throw HDKeyError(.indexOutOfRange(index)) }
        guard depth < UInt8.max else { throw HDKeyError(.tooDeep) }
        let childNumber = hardened ? index | Self.hardenedOffset : index
        let indexBytes = [UInt8(childNumber >> 24), UInt8(childNumber >> 16 & 0xFF), UInt8(childNumber >> 8 & 0xFF), UInt8(childNumber & 0xFF)]
        let derived: (key: ElaPrivateKey, chainCode: [UInt8])? = privateKey.withRawBytes { parentRaw in
            // Hardened: HMAC(c, 0x00 || kpar || i); normal: HMAC(c, serP(point(kpar)) || i).
            var data = hardened ? [0x00] + parentRaw + indexBytes : publicKey.compressed + indexBytes
            var digest = Digest.hmacSHA512(key: chainCode, data: data)
            defer {
                Self.wipe(&data)
                Self.wipe(&digest)
            }
            guard let tweak = P256Scalar(bigEndian: Array(digest[0..<32])), tweak < P256Scalar.order,
                let parent = P256Scalar(bigEndian: parentRaw)
            else { return nil }
            var child = tweak.addingModOrder(parent)
            defer { child.wipe() }
            guard !child.isZero else { return nil }
            var childRaw = child.bigEndianBytes
            defer { Self.wipe(&childRaw) }
            guard let key = try? ElaPrivateKey(rawRepresentation: childRaw) else { return nil }
            return (key, Array(digest[32..<64]))
        }
        guard let derived else { throw HDKeyError(.invalidDerivedKey(index: childNumber)) }
        return HDKey(depth: depth + 1, parentFingerprint: fingerprint, childNumber: childNumber, chainCode: derived.chainCode,
                     privateKey: derived.key)
    }

    /// Derives along a path such as "m/44'/0'/0'/0/3" or "44H/0H/0H/0/3" (hardened markers ', H or h). The path is
    /// relative to this key; a leading "m" is allowed and ignored, "m" or "" alone return this key.
    public func derive(path: String) throws(HDKeyError) -> HDKey {
        var key = self
        for (index, hardened) in try HDPath.parse(path) {
            key = try key.deriveChild(index, hardened: hardened)
        }
        return key
    }

    /// The Elastos DID identity key m/44'/0'/0'/0/index of a mnemonic (`DERIVE_PATH_PREFIX` "44H/0H/0H/0/").
    public static func identityKey(mnemonic: Mnemonic, passphrase: String, index: UInt32) throws(HDKeyError) -> HDKey {
        guard index < hardenedOffset else { throw HDKeyError(.indexOutOfRange(index)) }
        var seed: [UInt8]
        do { seed = try mnemonic.seed(passphrase: passphrase) } catch { throw HDKeyError(.mnemonic(error)) }
        defer { wipe(&seed) }
        return try master(seed: seed).derive(path: "m/44'/0'/0'/0/\(index)")
    }

    static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

/// BIP32 path text -> (index, hardened) steps.
enum HDPath {
    static func parse(_ path: String) throws(HDKeyError) -> [(UInt32, Bool)] {
        var components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.first == "m" || components.first == "M" { components.removeFirst() }
        if components == [""] { components = [] }
        var steps: [(UInt32, Bool)] = []
        for component in components {
            var digits = Substring(component)
            let hardened = digits.last.map { "'Hh".contains($0) } ?? false
            if hardened { digits = digits.dropLast() }
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
                let index = UInt32(digits), index < HDKey.hardenedOffset
            else { throw HDKeyError(.badPath(path, component: component)) }
            steps.append((index, hardened))
        }
        return steps
    }
}

/// An HD key parse or derivation failure.
public struct HDKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case base58(Base58Error)
        /// The decoded extended key is not 82 bytes (78 + checksum).
        case wrongLength(Int)
        /// Version bytes other than 0488ADE4 (xprv), e.g. an xpub or a testnet key.
        case unsupportedVersion(String)
        /// Byte 45 is not 0x00, so this is not a private extended key.
        case notPrivate
        /// Depth 0 with a non-zero parent fingerprint or child number.
        case inconsistentMasterKey
        case key(KeyError)
        case seedLength(Int)
        /// IL >= n or a zero child key (BIP32: skip to the next index). nil index = the master key from this seed.
        case invalidDerivedKey(index: UInt32?)
        /// An index of 2^31 or more passed where the hardened flag is separate.
        case indexOutOfRange(UInt32)
        case tooDeep
        case badPath(String, component: String)
        case mnemonic(MnemonicError)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .base58(let error): return "extended key: \(error)"
        case .wrongLength(let count): return "extended key must decode to 82 bytes (78 + 4 checksum), got \(count)"
        case .unsupportedVersion(let hex): return "extended key version \(hex) is not a mainnet xprv (0488ade4)"
        case .notPrivate: return "extended key is not a private key (byte 45 must be 0x00)"
        case .inconsistentMasterKey: return "extended key has depth 0 but a non-zero parent fingerprint or child number"
        case .key(let error): return "extended key: \(error)"
        case .seedLength(let count): return "BIP32 seed must be 16 to 64 bytes, got \(count)"
        case .invalidDerivedKey(let index):
            if let index { return "child \(index) is not a valid key (IL >= n or zero, BIP32 case); use the next index" }
            return "this seed gives no valid master key (IL >= n or zero, BIP32 case); use another seed"
        case .indexOutOfRange(let index): return "child index \(index) must be below 2^31; mark hardening separately"
        case .tooDeep: return "cannot derive below depth 255"
        case .badPath(let path, let component):
            return "bad derivation path \(path.debugDescription) at \(component.debugDescription); expected e.g. m/44'/0'/0'/0/3"
        case .mnemonic(let error): return "mnemonic: \(error)"
        }
    }
}
