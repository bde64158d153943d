import ElaChain
import ElaWire
import ElaTestSupport
import Testing

/// ELA genesis, checkpoints, header serialization (README section C).
@Suite(.ownThread) struct ELAFormatTests {
    static let genesisJSON = TestData.text("ela-genesis.json") ?? ""

    @Test(arguments: [0, 1])
    func genesisRebuiltFromJSON(_ network: Int) throws {
        let json = Self.genesisJSON
        let headerHex = try #require(TestData.jsonStrings("header_84_bytes_hex", in: json)[safe: network])
        let expectedRaw = try #require(TestData.jsonStrings("expected_hash_raw", in: json)[safe: network])
        let expectedDisplay = try #require(TestData.jsonStrings("expected_hash_display", in: json)[safe: network])
        let header = try ELAHeader(bytes: hexBytes(headerHex), withAuxPow: false)
        #expect(header.hash.rawHex == expectedRaw)
        #expect(header.hash.displayHex == expectedDisplay)
        #expect(header.serialized(withAuxPow: false) == hexBytes(headerHex))
        let builtIn = network == 0 ? ELAHeader.mainnetGenesis : ELAHeader.testnetGenesis
        #expect(header == builtIn)
        let parameters = network == 0 ? ChainParameters.elaMainnet : ChainParameters.elaTestnet
        #expect(parameters.genesisHash.rawHex == expectedRaw)
        #expect(parameters.elaGenesis == header)
        #expect(
            header.timestamp == 1_513_936_800 && header.bits == 0x1D03_FFFF && header.nonce == 2_083_236_893
                && header.height == 0)
        // Merkle root = SHA256d(coinbase txid ‖ ELA asset id), txid = SHA256d(unsigned coinbase).
        let coinbase = hexBytes(try #require(TestData.jsonStrings("coinbase_tx_unsigned_hex", in: json)[safe: network]))
        let txid = try #require(TestData.jsonStrings("coinbase_txid_raw", in: json)[safe: network])
        let asset = try #require(TestData.jsonStrings("ela_asset_id_raw", in: json)[safe: network])
        #expect(sha256d(coinbase) == hexBytes(txid))
        #expect(sha256d(hexBytes(txid) + hexBytes(asset)) == header.merkleRoot.rawBytes)
        // On the wire the genesis carries ELA's zero-valued AuxPoW: 84 + 132 + trailer.
        let full = header.serialized(withAuxPow: true)
        #expect(full.count == 84 + 132 + 1 && full.last == 1)
        #expect(try ELAHeader(bytes: full) == header)
    }

    @Test func networkConstantsMatchJSON() {
        let json = Self.genesisJSON
        #expect(TestData.jsonInts("mainnet", in: json) == [2_017_001, 20338])
        #expect(TestData.jsonInts("testnet", in: json) == [2_018_101, 21338])
        #expect(TestData.jsonInts("regnet", in: json) == [2_018_201, 22338])
        #expect(ChainParameters.elaMainnet.p2pMagic == 2_017_001 && ChainParameters.elaMainnet.p2pPort == 20338)
        #expect(ChainParameters.elaTestnet.p2pMagic == 2_018_101 && ChainParameters.elaTestnet.p2pPort == 21338)
        #expect(ChainParameters.elaRegnet.p2pMagic == 2_018_201 && ChainParameters.elaRegnet.p2pPort == 22338)
        #expect(ChainParameters.elaMainnet.auxPowChainID == 1224)
        #expect(ChainParameters.elaMainnet.powLimitBits == 0x1F00_08FF)
        #expect(ChainParameters.elaRegnet.genesisHash == ChainParameters.elaTestnet.genesisHash)
    }

    @Test func checkpointFileIsStrictlyIncreasingAndBuiltIn() throws {
        let rows = TestData.csv("ela-mainnet-checkpoints.csv")
        #expect(rows.count == 132)
        var lastHeight: Int64 = -1
        var lastTime: Int64 = -1
        let table = ChainParameters.elaMainnet.checkpoints
        #expect(table.count == 132)
        for row in rows {
            let height = try #require(row["height"].flatMap { UInt32($0) })
            let time = try #require(row["timestamp"].flatMap { UInt32($0) })
            #expect(Int64(height) > lastHeight && Int64(time) > lastTime, "row \(height)")
            lastHeight = Int64(height)
            lastTime = Int64(time)
            let display = try #require(row["block_hash_display"].flatMap { Hash256(displayHex: $0) })
            #expect(display.rawHex == row["block_hash_raw"])
            #expect(table[height] == display)
            let bits = try #require(row["bits_hex"].flatMap { UInt32($0.dropFirst(2), radix: 16) })
            #expect(ProofOfWork.target(bits: bits) != nil)
        }
        let first = try #require(rows.first)
        #expect(first["block_hash_raw"] == ChainParameters.elaMainnet.genesisHash.rawHex)
        #expect(first["timestamp"] == "1513936800" && first["bits_hex"] == "0x1d03ffff")
        #expect(lastHeight == 620_928)
    }

    @Test func headerWithAuxPowRoundTrips() throws {
        let header = try #require(Optional(RegnetMiner.mineWithAuxPow(on: RegnetMiner.genesis)))
        #expect(header.auxPow != nil)
        let bytes = header.serialized()
        let decoded = try ELAHeader(bytes: bytes)
        #expect(decoded == header)
        #expect(decoded.hash == header.hash)
        #expect(decoded.powHash == header.auxPow?.parentHeader.hash)
        var reader = WireReader(bytes + [9, 9])
        _ = try ELAHeader(reader: &reader)
        #expect(reader.remaining == 2)
        // The trailer must be 0x01.
        var bad = bytes
        bad[bad.count - 1] = 0
        #expect(throws: WireError.self) { try ELAHeader(bytes: bad) }
        // Every truncation is a WireError, never a crash.
        for n in 0..<bytes.count {
            #expect(throws: WireError.self) { try ELAHeader(bytes: Array(bytes.prefix(n))) }
        }
        #expect(try ELAHeader(bytes: Array(bytes.prefix(84)), withAuxPow: false).hash == header.hash)
    }

    @Test(.enabled(if: TestData.exists("ela-block-height10000-testblock.json")))
    func heightTenThousandTestBlock() throws {
        let json = try #require(TestData.text("ela-block-height10000-testblock.json"))
        // The full block is the longest hex string in the file.
        let blockHex = try #require(TestData.hexStrings(in: json).max { $0.count < $1.count })
        let block = hexBytes(blockHex)
        var reader = WireReader(block)
        let header = try ELAHeader(reader: &reader)
        #expect(try reader.readUInt32() == 2)
        #expect(header.height == 10_000)
        #expect(header.hash.rawHex == "6d126217acca4ed3b3aa40de6d1dad6761a7bba4ebdb67c88714455cea580084")
        let aux = try #require(header.auxPow)
        try aux.check(auxBlockHash: header.hash, chainID: 1224)
        #expect(header.bits == 0x1D56_01DD)
        try header.checkProofOfWork(
            hash: header.hash, target: try #require(ProofOfWork.target(bits: header.bits)), height: 10_000,
            parameters: .elaMainnet)
        var changed = header
        changed.timestamp += 1
        #expect(throws: AuxPowError.self) { try aux.check(auxBlockHash: changed.hash, chainID: 1224) }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { i >= 0 && i < count ? self[i] : nil }
}

func sha256d(_ bytes: [UInt8]) -> [UInt8] { Hash256.sha256d(bytes).rawBytes }
