import Crypto
import ElaJSON
import ElaWire
import ElaTestSupport

/// Hex helpers for vectors (test-only; the module itself never parses hex).
enum Hex {
    struct BadHex: Error, CustomStringConvertible {
        let text: String
        var description: String { "not hex: \(text.prefix(40))" }
    }

    static func decode(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { throw BadHex(text: text) }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else { throw BadHex(text: text) }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(alphabet[Int(byte >> 4)])
            out.append(alphabet[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}

/// SHA256d as a `Hash256`, for txids and block hashes computed in the tests.
func sha256d(_ bytes: [UInt8]) -> Hash256 {
    Hash256(rawBytes: Array(SHA256.hash(data: Array(SHA256.hash(data: bytes)))))
}

/// A full Bitcoin block reduced to what the Merkle tests need: its header and its txids. Test-only: txids are
/// the SHA256d of each transaction's legacy serialization (segwit marker, flag and witnesses stripped).
struct BitcoinBlock {
    let header80: [UInt8]
    let txids: [Hash256]
    var merkleRoot: Hash256 { Hash256(rawBytes: Array(header80[36..<68])) }

    init(bytes: [UInt8]) throws(WireError) {
        var reader = WireReader(bytes)
        header80 = try reader.readBytes(80, "block.header")
        let count = try reader.readCount("block.txs", limit: 1_000_000, elementSize: 60)
        var txids: [Hash256] = []
        for _ in 0..<count { txids.append(try Self.readTransactionID(&reader)) }
        try reader.expectEnd("block")
        self.txids = txids
    }

    private static func readTransactionID(_ reader: inout WireReader) throws(WireError) -> Hash256 {
        let bytes = reader.bytes
        let versionStart = reader.offset
        try reader.skip(4, "tx.version")
        // BIP144: a 0x00 input count followed by a non-zero flag byte marks a witness serialization.
        let isSegwit = reader.remaining >= 2 && bytes[reader.offset] == 0 && bytes[reader.offset + 1] != 0
        if isSegwit { try reader.skip(2, "tx.marker") }
        let bodyStart = reader.offset
        let inputs = try reader.readCount("tx.inputs", limit: 100_000, elementSize: 41)
        for _ in 0..<inputs {
            try reader.skip(36, "tx.outpoint")
            _ = try reader.readVarBytes("tx.scriptSig", limit: 100_000)
            try reader.skip(4, "tx.sequence")
        }
        let outputs = try reader.readCount("tx.outputs", limit: 100_000, elementSize: 9)
        for _ in 0..<outputs {
            try reader.skip(8, "tx.value")
            _ = try reader.readVarBytes("tx.scriptPubKey", limit: 100_000)
        }
        let bodyEnd = reader.offset
        if isSegwit {
            for _ in 0..<inputs {
                let items = try reader.readCount("tx.witness", limit: 100_000, elementSize: 1)
                for _ in 0..<items { _ = try reader.readVarBytes("tx.witness.item", limit: 4_000_000) }
            }
        }
        let lockTimeStart = reader.offset
        try reader.skip(4, "tx.lockTime")
        let legacy =
            Array(bytes[versionStart..<versionStart + 4]) + Array(bytes[bodyStart..<bodyEnd])
            + Array(bytes[lockTimeStart..<lockTimeStart + 4])
        return sha256d(legacy)
    }
}

/// Small accessors over ElaJSON values for reading vector files.
extension JSONValue {
    struct Missing: Error, CustomStringConvertible {
        let what: String
        var description: String { "vector file lacks \(what)" }
    }

    func string(_ key: String) throws -> String {
        guard let value = self[key]?.stringValue else { throw Missing(what: key) }
        return value
    }

    func int(_ key: String) throws -> Int {
        guard let value = self[key]?.numberValue?.int64Value else { throw Missing(what: key) }
        return Int(value)
    }

    func double(_ key: String) throws -> Double {
        guard let value = self[key]?.numberValue?.doubleValue else { throw Missing(what: key) }
        return value
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard let value = self[key]?.arrayValue else { throw Missing(what: key) }
        return value
    }

    func strings(_ key: String) throws -> [String] {
        try array(key).map { value throws -> String in
            guard let s = value.stringValue else { throw Missing(what: "\(key)[] string") }
            return s
        }
    }

    func ints(_ key: String) throws -> [Int] {
        try array(key).map { value throws -> Int in
            guard let n = value.numberValue?.int64Value else { throw Missing(what: "\(key)[] integer") }
            return Int(n)
        }
    }
}

enum Vectors {
    static func json(_ relativePath: String) throws -> JSONValue {
        try JSONParser.parse(bytes: try TestData.bytes(relativePath))
    }
}
