import ElaChain
import ElaWire
import ElaTestSupport
import Testing

/// README section A over the files present (items 1, 2, 4, 6, 7); items 3, 5, 8, 9 run when the held-aside
/// files are there.
@Suite(.ownThread) struct BitcoinRunTests {
    static let early = "btc-mainnet-headers-000000-009999.bin"
    static let modern = "btc-mainnet-headers-822528-830592.bin"
    static let middle = "btc-mainnet-headers-030000-039999.bin"

    func headers(_ file: String) throws -> [UInt8] { try #require(TestData.read(file), "missing \(file)") }

    func header(_ bytes: [UInt8], _ index: Int) throws -> BitcoinHeader {
        try BitcoinHeader(bytes: Array(bytes[(index * 80)..<(index * 80 + 80)]))
    }

    /// Chainwork column of the boundary CSV by height.
    static let boundaryRows: [UInt32: (header: BitcoinHeader, chainwork: UInt256)] = {
        var out: [UInt32: (BitcoinHeader, UInt256)] = [:]
        for row in TestData.csv("btc-mainnet-retarget-boundaries.csv") {
            guard let h = row["height"].flatMap({ UInt32($0) }), let hx = row["header_hex"],
                let cw = row["chainwork_hex_be"],
                let header = try? BitcoinHeader(bytes: hexBytes(hx)), let work = UInt256(hex: cw)
            else { continue }
            out[h] = (header, work)
        }
        return out
    }()

    @Test func genesisHash() throws {
        let bytes = try headers(Self.early)
        let genesis = try header(bytes, 0)
        #expect(genesis.hash.displayHex == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
        #expect(genesis == BitcoinHeader.bitcoinMainnetGenesis)
        #expect(ChainParameters.bitcoinMainnet.genesisHash == genesis.hash)
        #expect(genesis.serialized == Array(bytes[0..<80]))
    }

    @Test func earlyRunLinksWithValidWorkFromGenesis() throws {
        let bytes = try headers(Self.early)
        let summary = try HeaderRunVerifier.verify(
            bytes: bytes, chain: .bitcoin, anchorHeight: 0, parameters: .bitcoinMainnet
        ).get()
        #expect(summary.count == 10_000)
        #expect(summary.tipHeight == 9999)
        #expect(summary.tipHash.displayHex == "00000000fbc97cc6c599ce9c24dd4a2243e2bfd518eda56e1d5e47d29e29c3a7")
        // Every block of 0…9999 has bits 0x1d00ffff (work 0x100010001), genesis included.
        #expect(summary.totalWork == UInt256(0x1_0001_0001) * 10_000)
        // The prefix 0…8064 sums to the chainwork the boundary file gives for 8064.
        let prefix = try HeaderRunVerifier.verify(
            bytes: Array(bytes[0..<(8065 * 80)]), chain: .bitcoin, anchorHeight: 0, parameters: .bitcoinMainnet
        ).get()
        #expect(prefix.totalWork == Self.boundaryRows[8064]?.chainwork)
    }

    @Test func modernRunLinksAndMatchesChainwork() throws {
        let bytes = try headers(Self.modern)
        let summary = try HeaderRunVerifier.verify(
            bytes: bytes, chain: .bitcoin, anchorHeight: 822_528, parameters: .bitcoinMainnet
        ).get()
        #expect(summary.count == 8065)
        #expect(summary.tipHeight == 830_592)
        #expect(summary.tipHash.displayHex == "00000000000000000000506183a8b30fa3224b85e82a70416e1d594bdb632fdb")
        let start = try #require(Self.boundaryRows[822_527]?.chainwork)
        let end = try #require(Self.boundaryRows[830_592]?.chainwork)
        #expect(summary.totalWork == end - start)
        #expect(summary.anchorHash == Self.boundaryRows[822_528]?.header.hash)
    }

    @Test func clampedEarlyRetargets() throws {
        let bytes = try headers(Self.early)
        let p = ChainParameters.bitcoinMainnet
        for k in 1...4 {
            let first = try header(bytes, (k - 1) * 2016)
            let last = try header(bytes, k * 2016 - 1)
            let next = try header(bytes, k * 2016)
            #expect(next.bits == 0x1D00_FFFF)
            #expect(
                p.retargetBits(lastBits: last.bits, firstTimestamp: first.timestamp, lastTimestamp: last.timestamp)
                    == next.bits)
            if k == 1 { #expect(last.timestamp - first.timestamp == 2_055_491) }
        }
    }

    @Test func modernRetargets() throws {
        let bytes = try headers(Self.modern)
        let expected: [(Int, UInt32)] = [
            (824_544, 0x1703_D869), (826_560, 0x1704_005A), (828_576, 0x1703_BA5D), (830_592, 0x1703_71B1),
        ]
        var changes = 0
        for i in 1..<(bytes.count / 80) where try header(bytes, i).bits != header(bytes, i - 1).bits {
            changes += 1
            #expect((822_528 + i) % 2016 == 0)
        }
        #expect(changes == 4)
        for (height, bits) in expected {
            #expect(try header(bytes, height - 822_528).bits == bits)
        }
        #expect(try header(bytes, 826_560 - 822_528).bits > header(bytes, 826_559 - 822_528).bits)  // target rose
    }

    @Test func allRetargetBoundariesAndChainworkRules() throws {
        let rows = Self.boundaryRows
        #expect(rows.count == 827)
        let p = ChainParameters.bitcoinMainnet
        #expect(rows[0]?.chainwork == UInt256(0x1_0001_0001))
        var changed = 0
        for k in UInt32(1)...413 {
            let first = try #require(rows[(k - 1) * 2016]?.header)
            let last = try #require(rows[k * 2016 - 1])
            let next = try #require(rows[k * 2016])
            let bits = p.retargetBits(
                lastBits: last.header.bits, firstTimestamp: first.timestamp, lastTimestamp: last.header.timestamp)
            #expect(bits == next.header.bits, "retarget at \(k * 2016)")
            if bits != last.header.bits { changed += 1 }
            #expect(next.header.previousHash == last.header.hash, "link at \(k * 2016)")
            #expect(UInt256(next.header.hash) <= (ProofOfWork.target(bits: next.header.bits) ?? .zero))
            let work = ProofOfWork.work(bits: next.header.bits)
            #expect(next.chainwork == last.chainwork + work, "chainwork at \(k * 2016)")
            if let periodEnd = rows[k * 2016 + 2015] {
                #expect(periodEnd.chainwork == next.chainwork + work * 2015, "chainwork at \(k * 2016 + 2015)")
            }
            // The same rule through the chain's requirement API.
            #expect(
                p.requiredBits(
                    height: k * 2016, parentBits: last.header.bits, parentTimestamp: last.header.timestamp,
                    periodFirstTimestamp: first.timestamp) == .exactly(next.header.bits))
        }
        #expect(changed == 398)
    }

    @Test func builtInCheckpointsEqualBtcdList() throws {
        let rows = TestData.csv("btc-mainnet-checkpoints-btcd.csv")
        #expect(rows.count == 35)
        let table = ChainParameters.bitcoinMainnet.checkpoints
        #expect(table.count == 36)  // + genesis
        for row in rows {
            let height = try #require(row["height"].flatMap { UInt32($0) })
            #expect(table[height]?.displayHex == row["block_hash_display"])
        }
    }

    @Test func checkpointsAreEnforcedInsideARun() throws {
        let bytes = try headers(Self.early)
        var p = ChainParameters.bitcoinMainnet
        let real = try header(bytes, 5000).hash
        p.checkpoints[5000] = real
        #expect(throws: Never.self) {
            try HeaderRunVerifier.verify(bytes: bytes, chain: .bitcoin, anchorHeight: 0, parameters: p).get()
        }
        p.checkpoints[5000] = try header(bytes, 5001).hash
        let failure = HeaderRunVerifier.verify(bytes: bytes, chain: .bitcoin, anchorHeight: 0, parameters: p)
        #expect(
            failure.error == HeaderRuleError(height: 5000, rule: .checkpoint, message: failure.error?.message ?? ""))
        // A wrong anchor height puts the genesis header against a checkpoint it does not match.
        var q = ChainParameters.bitcoinMainnet
        q.checkpoints[7] = real
        #expect(
            HeaderRunVerifier.verify(bytes: Array(bytes[0..<800]), chain: .bitcoin, anchorHeight: 7, parameters: q)
                .error?.rule == .checkpoint)
    }

    @Test func runsStartingMidPeriodUseTheClampRangeAtTheFirstBoundary() throws {
        let early = try headers(Self.early)
        let fromThousand = try HeaderRunVerifier.verify(
            bytes: Array(early[(1000 * 80)...]), chain: .bitcoin, anchorHeight: 1000, parameters: .bitcoinMainnet
        ).get()
        #expect(fromThousand.tipHash.displayHex == "00000000fbc97cc6c599ce9c24dd4a2243e2bfd518eda56e1d5e47d29e29c3a7")
        let modern = try headers(Self.modern)
        let from823000 = try HeaderRunVerifier.verify(
            bytes: Array(modern[(472 * 80)...]), chain: .bitcoin, anchorHeight: 823_000, parameters: .bitcoinMainnet
        ).get()
        #expect(from823000.count == 8065 - 472)
        let last = try header(modern, 824_543 - 822_528)
        guard
            case .between(let lowest, let highest) = ChainParameters.bitcoinMainnet.requiredBits(
                height: 824_544, parentBits: last.bits, parentTimestamp: last.timestamp, periodFirstTimestamp: nil)
        else {
            Issue.record("expected a range")
            return
        }
        let actual = try #require(ProofOfWork.target(bits: header(modern, 824_544 - 822_528).bits))
        #expect(lowest <= actual && actual <= highest)
        #expect(
            lowest.compact
                == ChainParameters.bitcoinMainnet.retargetBits(lastBits: last.bits, firstTimestamp: 0, lastTimestamp: 1)
        )
        // Bits that change off a boundary are refused even with unknown history.
        var bytes = Array(modern[(472 * 80)..<(600 * 80)])
        bytes[100 * 80 + 72] ^= 1
        #expect(
            HeaderRunVerifier.verify(bytes: bytes, chain: .bitcoin, anchorHeight: 823_000, parameters: .bitcoinMainnet)
                .error?.height == 823_100)
    }

    @Test func chainKindMustMatchParameters() throws {
        let early = try headers(Self.early)
        #expect(
            HeaderRunVerifier.verify(
                bytes: Array(early.prefix(800)), chain: .ela, anchorHeight: 0, parameters: .bitcoinMainnet
            ).error?.rule == .malformed)
        #expect(
            HeaderRunVerifier.verify(
                bytes: Array(early.prefix(800)), chain: .bitcoin, anchorHeight: 0, parameters: .elaMainnet
            ).error?.rule == .malformed)
    }

    // MARK: Held-aside acceptance files (run only when present)

    @Test(.enabled(if: TestData.exists(BitcoinRunTests.middle)))
    func middleRunRetargetsAndCheckpoint() throws {
        let bytes = try headers(Self.middle)
        let summary = try HeaderRunVerifier.verify(
            bytes: bytes, chain: .bitcoin, anchorHeight: 30_000, parameters: .bitcoinMainnet
        ).get()
        #expect(summary.tipHash.displayHex == "000000002509f3a013a1d21b89fe33306a45b1fcbb485dd4d310e4f9b2c09945")
        #expect(summary.anchorHash.displayHex == "00000000de1250dc2df5cf4d877e055f338d6ed1ab504d5b71c097cdccd00e13")
        #expect(
            try header(bytes, 3333).hash.displayHex
                == "000000002dd5588a74784eaa7ab0507a18ad16a236e7b1ce69f00d7ddfb5d0a6")
        for (height, bits) in [
            (32_256, UInt32(0x1D00_D86A)), (34_272, 0x1D00_C428), (36_288, 0x1D00_BE71), (38_304, 0x1D00_8CC3),
        ] {
            #expect(try header(bytes, height - 30_000).bits == bits)
        }
        for (height, row) in Self.boundaryRows where height >= 30_000 && height <= 39_999 {
            #expect(try header(bytes, Int(height) - 30_000) == row.header)
        }
    }

    @Test(.enabled(if: TestData.exists("btc-mainnet-stale-headers.csv")))
    func staleHeaderWithEqualWorkStaysASideBranch() throws {
        let bytes = try headers(Self.modern)
        let row = try #require(TestData.csv("btc-mainnet-stale-headers.csv").first { $0["height"] == "823226" })
        let stale = try BitcoinHeader(bytes: hexBytes(row["header_hex"] ?? ""))
        var chain = HeaderChain(
            parameters: .bitcoinMainnet, anchor: try header(bytes, 0), anchorHeight: 822_528,
            anchorChainWork: try #require(Self.boundaryRows[822_528]?.chainwork))
        for i in 1...(823_226 - 822_528) { try chain.add(try header(bytes, i), now: 2_000_000_000) }
        let tip = chain.tip
        #expect(stale.hash != tip.hash && stale.previousHash == chain.hash(atHeight: 823_225))
        #expect(try chain.add(stale, now: 2_000_000_000) == .sideBranch)
        #expect(chain.tip == tip)
        #expect(chain.chainWork(of: stale.hash) == tip.chainWork)
        #expect(try chain.add(try header(bytes, 823_227 - 822_528), now: 2_000_000_000) == .extendedTip)
    }
}

extension Result {
    var error: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
