#if canImport(Glibc)
import Glibc
#endif
import ElaTestSupport
import Testing

/// `elactl spv ...` as a real process on the shared chain data.
@Suite(.ownThread) struct ElactlSPVCommandTests {
    let elactl = ChildProcess.product("elactl")
    let spv = TestData.path("spv")

    @Test func verifiesRealHeaderRuns() throws {
        let genesisRun = try ChildProcess.run(elactl, ["spv", "verify-headers", spv + "/btc-mainnet-headers-000000-009999.bin", "--chain", "bitcoin"])
        #expect(genesisRun.status == 0, "\(genesisRun.stdout)")
        #expect(genesisRun.stdout.contains("10000 headers"))
        #expect(genesisRun.stdout.contains("00000000fbc97cc6c599ce9c24dd4a2243e2bfd518eda56e1d5e47d29e29c3a7"))
        let modern = try ChildProcess.run(
            elactl, ["spv", "verify-headers", spv + "/btc-mainnet-headers-822528-830592.bin", "--chain", "bitcoin", "--anchor-height", "822528", "--json"])
        #expect(modern.status == 0)
        #expect(modern.stdout.contains("\"tipHash\": \"00000000000000000000506183a8b30fa3224b85e82a70416e1d594bdb632fdb\""))
    }

    @Test(arguments: [(72, "bits"), (76, "nonce"), (4, "previous hash"), (68, "timestamp")])
    func aTamperedHeaderFailsAtItsHeight(_ offset: Int, _ field: String) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var bytes = try #require(TestData.read(spv + "/btc-mainnet-headers-000000-009999.bin"))
        bytes[4321 * 80 + offset] ^= 0x01
        let path = dir.path + "/run.bin"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let r = try ChildProcess.run(elactl, ["spv", "verify-headers", path, "--chain", "bitcoin", "--json"])
        #expect(r.status == 1, "\(field)")
        #expect(r.stdout.contains("\"height\": 4321"), "\(field): \(r.stdout)")
    }

    @Test func verifiesProofsAndRejectsBadOnes() throws {
        let ok = try ChildProcess.run(elactl, ["spv", "verify-proof", spv + "/txoutproof/0830000-1850.bin"])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("000000000000000000011d55599ed27d7efca05f5849b755319c89eb2cffbc1f"))
        #expect(ok.stdout.contains("tx 1850:"))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var proof = try #require(TestData.read(spv + "/txoutproof/0830000-1850.bin"))
        proof[100] ^= 0xFF  // inside the first hash
        let path = dir.path + "/bad.bin"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = proof.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let bad = try ChildProcess.run(elactl, ["spv", "verify-proof", path])
        #expect(bad.status == 1)
        #expect(bad.stdout.hasPrefix("INVALID"))
        let missing = try ChildProcess.run(elactl, ["spv", "verify-proof", dir.path + "/none.bin"])
        #expect(missing.status == 2)
    }
}
