import ElaChain
import ElaWire
import ElaTestSupport
import Testing

/// Fork choice, reorg limits and contextual rules on mined regnet headers.
@Suite(.ownThread) struct HeaderChainTests {
    let now = RegnetMiner.now

    @Test func extendsFromGenesisAndAnswersQueries() throws {
        var chain = RegnetMiner.newChain()
        let headers = RegnetMiner.chain(on: RegnetMiner.genesis, count: 30)
        for h in headers { #expect(try chain.add(h, now: now) == .extendedTip) }
        #expect(try chain.add(headers[4], now: now) == .duplicate)
        #expect(chain.tip.height == 30 && chain.tip.hash == headers[29].hash)
        let perBlock = ProofOfWork.work(bits: 0x207F_FFFF)
        #expect(chain.tip.chainWork == ProofOfWork.work(bits: 0x1D03_FFFF) + perBlock * 30)
        #expect(chain.header(atHeight: 7) == headers[6])
        #expect(chain.header(atHeight: 0) == RegnetMiner.genesis)
        #expect(chain.header(atHeight: 31) == nil)
        #expect(chain.height(of: headers[9].hash) == 10)
        #expect(chain.isOnMainChain(headers[9].hash))
        #expect(chain.count == 31)
        #expect(chain.medianTimePast == headers[24].timestamp)  // median of heights 20…30
        // Locator: 30…22 at step 1, 21…5 at step 2, 3 at step 4, then the anchor.
        let heights = chain.locator().compactMap { chain.height(of: $0) }
        #expect(heights == [30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 0])
    }

    @Test func locatorStopsAtOneHundredHashes() throws {
        var chain = RegnetMiner.newChain()
        var last = RegnetMiner.genesis
        // 11 groups of 9 cover 9 × (2^11 − 1) = 18 423 blocks; a longer chain hits the 100-hash cap.
        for _ in 0..<18_500 {
            last = RegnetMiner.mine(on: last)
            try chain.add(last, now: now)
        }
        let locator = chain.locator()
        #expect(locator.count == 100)
        #expect(locator.first == chain.tip.hash && locator.last != RegnetMiner.genesis.hash)
        let heights = locator.compactMap { chain.height(of: $0) }
        #expect(heights.last == UInt32(18_500 - 18_423))
        #expect(heights == heights.sorted(by: >))
    }

    @Test func moreWorkReorganizesAndEqualWorkDoesNot() throws {
        var chain = RegnetMiner.newChain()
        let main = RegnetMiner.chain(on: RegnetMiner.genesis, count: 5)
        for h in main { try chain.add(h, now: now) }
        // Fork from height 3.
        let fork = RegnetMiner.chain(on: main[2], count: 3, tag: 1)
        #expect(try chain.add(fork[0], now: now) == .sideBranch)
        #expect(try chain.add(fork[1], now: now) == .sideBranch)  // equal work: the first seen tip stays
        #expect(chain.tip.hash == main[4].hash)
        #expect(chain.chainWork(of: fork[1].hash) == chain.tip.chainWork)
        #expect(
            try chain.add(fork[2], now: now)
                == .reorganized(disconnected: [main[4].hash, main[3].hash], connected: fork.map(\.hash)))
        #expect(chain.tip.hash == fork[2].hash && chain.tip.height == 6)
        #expect(
            !chain.isOnMainChain(main[3].hash) && chain.isOnMainChain(fork[0].hash) && chain.isOnMainChain(main[2].hash)
        )
        #expect(chain.header(atHeight: 4) == fork[0])
        #expect(chain.height(of: main[4].hash) == 5)  // still stored as a side branch
        // The old branch catches up (equal) and then overtakes.
        let more = RegnetMiner.chain(on: main[4], count: 2)
        #expect(try chain.add(more[0], now: now) == .sideBranch)
        #expect(
            try chain.add(more[1], now: now)
                == .reorganized(
                    disconnected: [fork[2].hash, fork[1].hash, fork[0].hash],
                    connected: [main[3].hash, main[4].hash, more[0].hash, more[1].hash]))
        #expect(chain.tip.height == 7)
    }

    /// Moving the anchor up forgets what lies below and keeps the tip, the main chain above, the side branches a
    /// reorganization could still reach, and fork choice: the chain goes on as before.
    @Test func reanchoringForgetsTheDepthsAndKeepsTheRest() throws {
        var (chain, main) = try tenHeadersWithReorgLimitThree()
        let recent = RegnetMiner.mine(on: main[7], tag: 3)  // a side branch at height 9: within the limit
        #expect(try chain.add(recent, now: now) == .sideBranch)
        #expect(chain.reanchored(atHeight: 0) == nil && chain.reanchored(atHeight: 11) == nil)
        var moved = try #require(chain.reanchored(atHeight: 6))
        #expect(moved.anchorHeight == 6 && moved.tip == ChainTip(hash: main[9].hash, height: 10, chainWork: moved.tip.chainWork))
        #expect(moved.count == 6)  // heights 6...10 and the side header
        #expect(moved.header(atHeight: 5) == nil && moved.height(of: main[4].hash) == nil)
        #expect(moved.isOnMainChain(main[7].hash) && !moved.isOnMainChain(recent.hash) && moved.height(of: recent.hash) == 9)
        // It grows and reorganizes as the original would.
        let next = RegnetMiner.mine(on: main[9])
        #expect(try moved.add(next, now: now) == .extendedTip)
        let fork = RegnetMiner.chain(on: recent, count: 3, tag: 4)
        #expect(try moved.add(fork[0], now: now) == .sideBranch)
        #expect(try moved.add(fork[1], now: now) == .sideBranch)
        guard case .reorganized = try moved.add(fork[2], now: now) else {
            Issue.record("the side branch kept across the move did not take over")
            return
        }
        #expect(moved.tip.hash == fork[2].hash && moved.tip.height == 12)
    }

    /// A regnet chain that allows reorganizations 3 deep, and its first 10 headers on top of genesis.
    func tenHeadersWithReorgLimitThree() throws -> (HeaderChain<ELAHeader>, [ELAHeader]) {
        var p = ChainParameters.elaRegnet
        p.reorgDepthLimit = 3
        var chain = RegnetMiner.newChain(p)
        let main = RegnetMiner.chain(on: RegnetMiner.genesis, count: 10)
        for h in main { try chain.add(h, now: now) }
        return (chain, main)
    }

    @Test func reorgDeeperThanTheLimitIsRefused() throws {
        var (chain, main) = try tenHeadersWithReorgLimitThree()
        // Fork at height 6: four blocks below the tip (10).
        let deep = RegnetMiner.mine(on: main[5], tag: 2)
        #expect(
            throws: HeaderRuleError(
                height: 7, rule: .reorgTooDeep,
                message: "branch forks at height 6, 4 blocks below the tip 10; the limit is 3")
        ) {
            try chain.add(deep, now: now)
        }
        // Fork at height 7 (depth 3) is allowed and can win.
        let ok = RegnetMiner.chain(on: main[6], count: 4, tag: 2)
        for h in ok.dropLast() { #expect(try chain.add(h, now: now) == .sideBranch) }
        guard case .reorganized(let disconnected, let connected) = try chain.add(ok[3], now: now) else {
            Issue.record("expected a reorg")
            return
        }
        #expect(disconnected.count == 3 && connected.count == 4)
        // A branch that was within the limit when it started is refused once the tip has moved on.
        let side = RegnetMiner.mine(on: chain.header(atHeight: 9) ?? ok[1], tag: 3)
        #expect(try chain.add(side, now: now) == .sideBranch)
        for h in RegnetMiner.chain(on: ok[3], count: 3) { try chain.add(h, now: now) }
        #expect(throws: HeaderRuleError.self) { try chain.add(RegnetMiner.mine(on: side, tag: 3), now: now) }
    }

    @Test func sideBranchesAreBoundedAndTheDeepOnesPruned() throws {
        var (chain, main) = try tenHeadersWithReorgLimitThree()
        // Siblings of the tip cost nothing on regnet: the chain keeps a bounded number.
        let limit = HeaderChain<ELAHeader>.maxSideBranchHeaders
        func sibling(_ i: Int, of parent: ELAHeader) -> ELAHeader {
            RegnetMiner.mine(on: parent, timestamp: parent.timestamp + 1 + UInt32(i / 256), tag: UInt8(i % 256))
        }
        for i in 0..<limit { #expect(try chain.add(sibling(i, of: main[8]), now: now) == .sideBranch) }
        #expect(chain.count == 11 + limit)
        do {
            try chain.add(sibling(limit, of: main[8]), now: now)
            Issue.record("a side branch past the limit was kept")
        } catch {
            #expect(error.rule == .sideBranchLimit && error.height == 10, "\(error)")
        }
        // A header that would lead is still taken: the bound never blocks a reorganization.
        var overtaken = chain
        let lead = RegnetMiner.mine(on: sibling(0, of: main[8]), tag: 7)
        #expect(try overtaken.add(lead, now: now) == .reorganized(disconnected: [main[9].hash], connected: [sibling(0, of: main[8]).hash, lead.hash]))
        // Once the tip is more than the reorganization limit above them they are dropped, and forks fit again.
        let more = RegnetMiner.chain(on: main[9], count: 4)
        for h in more { #expect(try chain.add(h, now: now) == .extendedTip) }
        #expect(try chain.add(sibling(0, of: more[2]), now: now) == .sideBranch)
        #expect(chain.count == 15 + 1)
        #expect(chain.tip.hash == more[3].hash && chain.header(atHeight: 10) == main[9])
    }

    @Test func checkpointsPinHeightsAndForks() throws {
        let main = RegnetMiner.chain(on: RegnetMiner.genesis, count: 6)
        var p = ChainParameters.elaRegnet
        p.checkpoints[3] = main[2].hash
        var chain = RegnetMiner.newChain(p)
        for h in main.prefix(2) { try chain.add(h, now: now) }
        let impostor = RegnetMiner.mine(on: main[1], tag: 9)
        #expect(throws: HeaderRuleError.self) { try chain.add(impostor, now: now) }
        do {
            try chain.add(impostor, now: now)
        } catch {
            #expect(error.rule == .checkpoint && error.height == 3)
        }
        for h in main.dropFirst(2) { try chain.add(h, now: now) }
        // A fork below the passed checkpoint can never win: refused at once.
        do {
            try chain.add(RegnetMiner.mine(on: main[0], tag: 9), now: now)
            Issue.record("fork below checkpoint accepted")
        } catch {
            #expect(error.rule == .checkpoint && error.height == 2)
        }
        // Above it, forks are fine.
        #expect(try chain.add(RegnetMiner.mine(on: main[3], tag: 9), now: now) == .sideBranch)
    }

    @Test func futureTimeLimit() throws {
        var chain = RegnetMiner.newChain()
        let g = RegnetMiner.genesis
        let clock = g.timestamp + 1000
        let tooLate = RegnetMiner.mine(on: g, timestamp: clock + 7201)
        #expect(
            throws: HeaderRuleError(
                height: 1, rule: .futureTime,
                message: "timestamp \(clock + 7201) is more than 7200 s after now (\(clock))")
        ) {
            try chain.add(tooLate, now: clock)
        }
        #expect(try chain.add(RegnetMiner.mine(on: g, timestamp: clock + 7200), now: clock) == .extendedTip)
    }

    @Test func medianTimePast() throws {
        var chain = RegnetMiner.newChain()
        let headers = RegnetMiner.chain(on: RegnetMiner.genesis, count: 12)
        for h in headers { try chain.add(h, now: now) }
        // Previous 11: heights 2…12; their median is height 7's timestamp.
        let median = headers[6].timestamp
        #expect(chain.medianTimePast == median)
        let beforeMedian = RegnetMiner.mine(on: headers[11], timestamp: median - 1)
        do {
            try chain.add(beforeMedian, now: now)
            Issue.record("timestamp before the median accepted")
        } catch {
            #expect(error.rule == .medianTimePast && error.height == 13)
        }
        // ELA accepts a timestamp equal to the median (it compares timestamp + 1 ns), even though it is
        // earlier than the parent's.
        #expect(ChainParameters.elaRegnet.medianTimeAllowsEqual)
        #expect(try chain.add(RegnetMiner.mine(on: headers[11], timestamp: median), now: now) == .extendedTip)
        // From genesis the rule applies with fewer than 11 ancestors (median of what exists).
        var young = RegnetMiner.newChain()
        let two = RegnetMiner.chain(on: RegnetMiner.genesis, count: 2)
        for h in two { try young.add(h, now: now) }
        #expect(throws: HeaderRuleError.self) {
            try young.add(RegnetMiner.mine(on: two[1], timestamp: two[0].timestamp - 1), now: now)
        }
    }

    @Test func medianTimePastNeedsElevenAncestorsAboveACheckpointAnchor() throws {
        let headers = RegnetMiner.chain(on: RegnetMiner.genesis, count: 5)
        // Anchored at height 5: earlier timestamps are unknown, so an early timestamp passes until 11 are stored.
        var chain = HeaderChain(parameters: .elaRegnet, anchor: headers[4], anchorHeight: 5, anchorChainWork: .one)
        let early = RegnetMiner.mine(on: headers[4], timestamp: headers[4].timestamp - 500)
        #expect(try chain.add(early, now: now) == .extendedTip)
        var last = early
        for _ in 0..<10 {
            last = RegnetMiner.mine(on: last)
            try chain.add(last, now: now)
        }
        #expect(throws: HeaderRuleError.self) {
            try chain.add(RegnetMiner.mine(on: last, timestamp: early.timestamp), now: now)
        }
    }

    @Test func bitsAndTargetRules() throws {
        var chain = RegnetMiner.newChain()
        let g = RegnetMiner.genesis
        // Regnet never retargets: a harder (valid-PoW) header still breaks the difficulty rule.
        let harder = RegnetMiner.mine(on: g, bits: 0x207F_FFFE)
        #expect(
            throws: HeaderRuleError(
                height: 1, rule: .difficulty, message: "bits 0x207ffffe, the retarget rule requires 0x207fffff")
        ) {
            try chain.add(harder, now: now)
        }
        for bits: UInt32 in [0x2100_FFFF, 0x2080_0000, 0x2081_0000, 0x0000_0000, 0x2300_0001, 0x2101_0000] {
            var h = RegnetMiner.mine(on: g)
            h.bits = bits
            do {
                try chain.add(h, now: now)
                Issue.record("bits \(bits) accepted")
            } catch {
                #expect(error.rule == .targetRange && error.height == 1, "\(error)")
            }
        }
        // The genesis keeps its own bits; a header that claims a wrong height is a linkage error.
        var wrongHeight = RegnetMiner.mine(on: g)
        wrongHeight.height = 2
        #expect(throws: HeaderRuleError.self) { try chain.add(wrongHeight, now: now) }
        // Unknown parent.
        var orphan = RegnetMiner.mine(on: g)
        orphan.previousHash = Hash256(rawBytes: [UInt8](repeating: 7, count: 32))
        do {
            try chain.add(orphan, now: now)
        } catch {
            #expect(error.rule == .unknownParent && error.height == 1)
        }
    }

    @Test func elaRetargetEvery720BlocksFromPowLimitBitsAfterGenesis() throws {
        var p = ChainParameters.elaRegnet
        p.retarget = .ela  // the mainnet rule, on regnet's easy powLimitBits
        #expect(
            p.requiredBits(height: 1, parentBits: 0x1D03_FFFF, parentTimestamp: 0, periodFirstTimestamp: nil)
                == .exactly(0x207F_FFFF))
        #expect(
            ChainParameters.elaMainnet.requiredBits(
                height: 1, parentBits: 0x1D03_FFFF, parentTimestamp: 0, periodFirstTimestamp: nil)
                == .exactly(0x1F00_08FF))
        var chain = RegnetMiner.newChain(p)
        let g = RegnetMiner.genesis
        // Block 1 must not inherit the genesis bits.
        #expect(throws: HeaderRuleError.self) { try chain.add(RegnetMiner.mine(on: g, bits: 0x207F_FFFE), now: now) }
        var last = g
        for _ in 1..<720 {
            last = RegnetMiner.mine(on: last)
            try chain.add(last, now: now)
        }
        #expect(last.height == 719)
        // 719 spacings of 120 s = 86 280 s, so the target shrinks by 86280/86400.
        let expected: UInt32 = 0x207F_D27C
        #expect(
            p.retargetBits(lastBits: 0x207F_FFFF, firstTimestamp: g.timestamp, lastTimestamp: last.timestamp)
                == expected)
        do {
            try chain.add(RegnetMiner.mine(on: last), now: now)
            Issue.record("unchanged bits accepted at a retarget")
        } catch {
            #expect(error.rule == .difficulty && error.height == 720)
        }
        #expect(try chain.add(RegnetMiner.mine(on: last, bits: expected), now: now) == .extendedTip)
        // Cap: a slow period would raise the target above 2^255 − 1, which caps to 0x207fffff.
        #expect(p.retargetBits(lastBits: 0x207F_FFFF, firstTimestamp: 0, lastTimestamp: 400_000) == 0x207F_FFFF)
        // ELA subtracts uint32 timestamps: a "negative" span wraps and clamps to the maximum (×4).
        #expect(p.retargetBits(lastBits: 0x1D00_FFFF, firstTimestamp: 10, lastTimestamp: 5) == 0x1D03_FFFC)
        #expect(
            ChainParameters.bitcoinMainnet.retargetBits(lastBits: 0x1C00_FFFF, firstTimestamp: 10, lastTimestamp: 5)
                == 0x1B3F_FFC0)
    }

    @Test func auxPowHeadersOnRegnetAndStrictParameters() throws {
        var strict = ChainParameters.elaRegnet
        strict.allowsHeaderPoWWithoutAuxPow = false
        var chain = RegnetMiner.newChain(strict)
        let withProof = RegnetMiner.mineWithAuxPow(on: RegnetMiner.genesis)
        #expect(try chain.add(withProof, now: now) == .extendedTip)
        let plain = RegnetMiner.mine(on: withProof)
        do {
            try chain.add(plain, now: now)
            Issue.record("header without AuxPoW accepted")
        } catch {
            #expect(error.rule == .auxPow && error.height == 2)
        }
        // A proof made for another header does not commit to this one.
        var stolen = RegnetMiner.mine(on: withProof, tag: 5)
        stolen.auxPow = withProof.auxPow
        do {
            try chain.add(stolen, now: now)
            Issue.record("foreign AuxPoW accepted")
        } catch {
            #expect(error.rule == .auxPow && error.message.contains("auxRootMissing"))
        }
        // Mainnet refuses a regnet-style header outright.
        var mainnet = HeaderChain(
            parameters: .elaMainnet, anchor: ELAHeader.mainnetGenesis, anchorHeight: 0, anchorChainWork: .one)
        do {
            try mainnet.add(RegnetMiner.mine(on: ELAHeader.mainnetGenesis), now: now)
            Issue.record("regnet header accepted on mainnet")
        } catch {
            #expect(error.rule == .targetRange || error.rule == .auxPow)
        }
    }

    @Test func boundaryWithUnknownPeriodStartIsBoundedByTheClamp() throws {
        var p = ChainParameters.elaRegnet
        p.retarget = .ela
        var full = RegnetMiner.newChain(p)
        var last = RegnetMiner.genesis
        var headers: [ELAHeader] = []
        for _ in 1..<720 {
            last = RegnetMiner.mine(on: last)
            headers.append(last)
            try full.add(last, now: now)
        }
        // Anchored at 700, the period start (height 0) is unknown at 720.
        var chain = HeaderChain(parameters: p, anchor: headers[699], anchorHeight: 700, anchorChainWork: .one)
        for h in headers[700...] { try chain.add(h, now: now) }
        guard
            case .between(let lowest, let highest) = p.requiredBits(
                height: 720, parentBits: last.bits, parentTimestamp: last.timestamp, periodFirstTimestamp: nil)
        else {
            Issue.record("expected a range")
            return
        }
        #expect(lowest == UInt256(compact: 0x201F_FFFF))
        #expect(highest == UInt256(compact: 0x207F_FFFF))  // ×4 capped at 2^255 − 1, as compact
        // Out of range (target / 256) and non-canonical encodings are refused; the real next bits pass.
        for bad: UInt32 in [0x1F7F_FFFF, 0x2100_7FFF] {
            do {
                try chain.add(RegnetMiner.mine(on: last, bits: bad), now: now)
                Issue.record("bits \(bad) accepted")
            } catch {
                #expect(error.rule == .difficulty && error.height == 720)
            }
        }
        let exact = RegnetMiner.mine(on: last, bits: 0x207F_D27C)
        #expect(try chain.add(exact, now: now) == .extendedTip)
        // Any in-range bits pass here; a sibling with a smaller target has more work and takes over.
        let harder = RegnetMiner.mine(on: last, bits: 0x2040_0000, tag: 1)
        #expect(try chain.add(harder, now: now) == .reorganized(disconnected: [exact.hash], connected: [harder.hash]))
    }

    /// Bitcoin's rule is strictly after the median; checked on an easy-target Bitcoin-format chain.
    @Test func bitcoinMedianTimeIsStrict() throws {
        func mine(_ previous: BitcoinHeader?, timestamp: UInt32) -> BitcoinHeader {
            var h = BitcoinHeader(
                version: 1, previousHash: previous?.hash ?? .zero, merkleRoot: .zero, timestamp: timestamp,
                bits: 0x207F_FFFF, nonce: 0)
            while UInt256(h.hash) > (ProofOfWork.target(bits: 0x207F_FFFF) ?? .zero) { h.nonce += 1 }
            return h
        }
        let genesis = mine(nil, timestamp: 1_600_000_000)
        var p = ChainParameters(
            name: "bitcoin-easy", kind: .bitcoin, genesisHeader: genesis.serialized,
            powLimit: ProofOfWork.target(bits: 0x207F_FFFF) ?? .zero, powLimitBits: 0x207F_FFFF, retarget: .bitcoin,
            checkpoints: [:], reorgDepthLimit: 100, auxPowChainID: nil, allowsHeaderPoWWithoutAuxPow: false,
            p2pMagic: 0xDAB5_BFFA, p2pPort: 18444)
        p.retarget.fixedAtPowLimit = true
        #expect(!p.medianTimeAllowsEqual)
        var chain = HeaderChain(parameters: p, anchor: genesis, anchorHeight: 0, anchorChainWork: .one)
        var headers = [genesis]
        for i in 1...11 {
            headers.append(mine(headers[i - 1], timestamp: genesis.timestamp + UInt32(i) * 600))
            try chain.add(headers[i], now: now)
        }
        let median = chain.medianTimePast
        #expect(median == headers[6].timestamp)
        do {
            try chain.add(mine(headers[11], timestamp: median), now: now)
            Issue.record("timestamp equal to the median accepted")
        } catch {
            #expect(error.rule == .medianTimePast && error.height == 12)
        }
        #expect(try chain.add(mine(headers[11], timestamp: median + 1), now: now) == .extendedTip)
        // The same rule in a run.
        var w = WireWriter()
        for h in headers + [mine(headers[11], timestamp: median)] { h.write(to: &w) }
        let failure = HeaderRunVerifier.verify(bytes: w.bytes, chain: .bitcoin, anchorHeight: 0, parameters: p).error
        #expect(failure?.rule == .medianTimePast && failure?.height == 12)
    }
}
