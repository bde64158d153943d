import ElaChain
import ElaTestSupport
import Testing

@Suite(.ownThread) struct UInt256Tests {
    @Test func additionAndSubtractionCarryAcrossLimbs() {
        let a = UInt256(w0: .max, w1: .max, w2: .max, w3: 0)
        #expect(a + .one == UInt256(w0: 0, w1: 0, w2: 0, w3: 1))
        #expect(UInt256(w0: 0, w1: 0, w2: 0, w3: 1) - .one == a)
        #expect(UInt256.max.addingReportingOverflow(.one) == (.zero, true))
        #expect(UInt256.zero.subtractingReportingOverflow(.one) == (.max, true))
        #expect(UInt256.max.saturatingAdd(.one) == .max)
        #expect(UInt256.max &+ .one == .zero)
    }

    @Test func shiftsMoveBitsAcrossLimbs() {
        #expect(UInt256.one << 255 == UInt256(w0: 0, w1: 0, w2: 0, w3: 1 << 63))
        #expect((UInt256.one << 255) >> 255 == .one)
        #expect(UInt256.one << 256 == .zero)
        #expect(UInt256(w0: 0x8000_0000_0000_0001, w1: 0, w2: 0, w3: 0) << 1 == UInt256(w0: 2, w1: 1, w2: 0, w3: 0))
        #expect(UInt256(w0: 0, w1: 1, w2: 0, w3: 0) >> 1 == UInt256(w0: 1 << 63, w1: 0, w2: 0, w3: 0))
        #expect(UInt256.max >> 200 == UInt256(w0: (1 << 56) - 1, w1: 0, w2: 0, w3: 0))
    }

    @Test func hexRoundTripsBigEndian() throws {
        let v = try #require(UInt256(hex: "0x00000000ffff0000000000000000000000000000000000000000000000000000"))
        #expect(v == UInt256(w0: 0, w1: 0, w2: 0, w3: 0x0000_0000_FFFF_0000))
        #expect(v.hexString == "00000000ffff0000000000000000000000000000000000000000000000000000")
        #expect(UInt256(hex: "1") == .one)
        #expect(UInt256(hex: "xyz") == nil)
        #expect(UInt256(hex: String(repeating: "f", count: 65)) == nil)
    }

    @Test(arguments: [
        (
            "d23f0824128b2f330c5c7fd0a6a3a4506513270e269e0d37f2a74de452e6b438",
            "0000000000000000000000000000000000000000000000039531985d5d9dc9f8",
            "00000000000000003aaeaacac105ea0a64a3474dc39c1d02a100f4de0e082ea9",
            "0000000000000000000000000000000000000000000000032229de654bb1cf80"
        ),
        (
            "11e20b8f6b0d549b6f03675a1600a35a099950d836f675cc81e74ef5e8e25d94",
            "000000000000000000000000000000030f21ddb66cad4a268d116ece1738f7d9",
            "0000000000000000000000000000000005d88738873abd50e9fe38c4283971eb",
            "00000000000000000000000000000000560f39193161c629c95652f95adf1061"
        ),
        (
            "f29d0da9953f48f1a09f76b5a170b33839263059f28c105d1fb17c2390c192cf",
            "00000000000000000000000000000000000000000000001995e60af593bd04cf",
            "0000000000000000097b818436c12540d064ed65c9c6c8b86552e0d842d79cc1",
            "000000000000000000000000000000000000000000000001294095539879cec0"
        ),
        (
            "4a23d5962217beaddbc496cb8e81973e0becd7b03898d190f9ebdacc0cb1e29c",
            "574bdd4ad0eda82f8f6d05584ef8aa38922766581e27a1c08a6a63ec24ede6a4",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "4a23d5962217beaddbc496cb8e81973e0becd7b03898d190f9ebdacc0cb1e29c"
        ),
        (
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "0000000000000100000000000000000000000000000000000000000000003039",
            "00000000000000000000000000000000000000000000000000ffffffffffffff",
            "00000000000000ffffffffffffffffffffffffffffffffcfc700000000003038"
        ),
    ])
    func divisionMatchesPython(_ a: String, _ b: String, _ q: String, _ r: String) throws {
        let dividend = try #require(UInt256(hex: a))
        let divisor = try #require(UInt256(hex: b))
        let (quotient, remainder) = try #require(dividend.quotientAndRemainder(dividingBy: divisor))
        #expect(quotient.hexString == q)
        #expect(remainder.hexString == r)
    }

    @Test func smallMultiplyAndDivide() throws {
        let x = try #require(UInt256(hex: "7fffff0000000000000000000000000000000000000000000000000000000000"))
        // 320-bit intermediate: x * 345600 does not fit in 256 bits, x * 345600 / 86400 = 4x does not either.
        #expect(x.multipliedThenDivided(by: 345_600, dividedBy: 86_400) == nil)
        #expect(
            x.multipliedThenDivided(by: 86_280, dividedBy: 86_400)?.hexString
                == "7fd27c282d82d82d82d82d82d82d82d82d82d82d82d82d82d82d82d82d82d82d")
        #expect(x.multipliedReportingOverflow(by: 2).overflow == false)
        #expect(x.multipliedReportingOverflow(by: 3).overflow == true)
        let (q, r) = UInt256(w0: 7, w1: 1, w2: 0, w3: 0).quotientAndRemainder(dividingBy: UInt64(2))
        #expect(q == UInt256(w0: 1 << 63 | 3, w1: 0, w2: 0, w3: 0) && r == 1)
        #expect(UInt256.one.quotientAndRemainder(dividingBy: UInt256.zero) == nil)
    }

    @Test func comparisonIsNumeric() {
        #expect(UInt256(w0: .max, w1: 0, w2: 0, w3: 0) < UInt256(w0: 0, w1: 1, w2: 0, w3: 0))
        #expect(UInt256(w0: 0, w1: 0, w2: 0, w3: 1) > UInt256(w0: .max, w1: .max, w2: .max, w3: 0))
        #expect(UInt256.max.bitWidth == 256 && UInt256.zero.bitWidth == 0 && UInt256.one.bitWidth == 1)
    }
}

@Suite(.ownThread) struct CompactTests {
    /// Bitcoin Core `arith_uint256_tests` `bignum_SetCompact` cases: bits, value (hex), negative, overflow, re-encoded.
    @Test(arguments: [
        (UInt32(0x0000_0000), "0", false, false, UInt32(0)),
        (0x0012_3456, "0", false, false, 0),
        (0x0100_3456, "0", false, false, 0),
        (0x0200_0056, "0", false, false, 0),
        (0x0300_0000, "0", false, false, 0),
        (0x0400_0000, "0", false, false, 0),
        (0x0092_3456, "0", false, false, 0),
        (0x0180_3456, "0", false, false, 0),
        (0x0280_0056, "0", false, false, 0),
        (0x0380_0000, "0", false, false, 0),
        (0x0480_0000, "0", false, false, 0),
        (0x0112_3456, "12", false, false, 0x0112_0000),
        (0x0212_3456, "1234", false, false, 0x0212_3400),
        (0x0312_3456, "123456", false, false, 0x0312_3456),
        (0x0412_3456, "12345600", false, false, 0x0412_3456),
        (0x0500_9234, "92340000", false, false, 0x0500_9234),
        (0x2012_3456, "1234560000000000000000000000000000000000000000000000000000000000", false, false, 0x2012_3456),
        (0x01FE_DCBA, "7e", true, false, 0x017E_0000),
        (0x0492_3456, "12345600", true, false, 0x0412_3456),
    ])
    func decodesLikeBitcoinCore(
        _ bits: UInt32, _ value: String, _ negative: Bool, _ overflow: Bool, _ reencoded: UInt32
    ) throws {
        let decoded = UInt256.decodeCompact(bits)
        let expected = try #require(UInt256(hex: value))
        #expect(decoded.value == expected)
        #expect(decoded.isNegative == negative)
        #expect(decoded.overflows == overflow)
        #expect(decoded.value.compact == reencoded)
        #expect((UInt256(compact: bits) == nil) == (negative || overflow))
    }

    @Test func overflowingEncodingsAreRejected() {
        #expect(UInt256.decodeCompact(0xFF12_3456).overflows)
        #expect(UInt256.decodeCompact(0x2201_0000).overflows)
        #expect(!UInt256.decodeCompact(0x2200_0001).overflows)
        #expect(UInt256.decodeCompact(0x2101_0000).overflows)
        #expect(ProofOfWork.target(bits: 0xFF12_3456) == nil)
        #expect(ProofOfWork.target(bits: 0x0492_3456) == nil)
        #expect(ProofOfWork.work(bits: 0xFF12_3456) == .zero)
    }

    @Test func workMatchesKnownValues() throws {
        // chainwork(0) in btc-mainnet-retarget-boundaries.csv is the genesis work.
        #expect(ProofOfWork.work(bits: 0x1D00_FFFF) == UInt256(0x1_0001_0001))
        // ELA's cap 2^255 − 1: 2^256 / 2^255 = 2.
        #expect(ProofOfWork.work(target: ChainParameters.elaPowLimit) == UInt256(2))
        #expect(ProofOfWork.compact(ChainParameters.elaPowLimit) == 0x207F_FFFF)
        #expect(ProofOfWork.compact(ChainParameters.bitcoinMainnet.powLimit) == 0x1D00_FFFF)
        #expect(ProofOfWork.work(target: .zero) == .zero)
    }
}
