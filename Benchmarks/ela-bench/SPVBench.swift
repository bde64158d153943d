#if canImport(Glibc)
import Glibc
#endif
import Crypto
import ElaChain
import ElaSQLite
import ElaStorage
import ElaWire

/// Headers validated per second over the real Bitcoin header files next to plain double-SHA256 over the same bytes,
/// and headers stored per second in the agent database.
func benchSPV() throws {
    let files = ["btc-mainnet-headers-000000-009999.bin": UInt32(0), "btc-mainnet-headers-822528-830592.bin": 822_528]
    for (name, anchor) in files.sorted(by: { $0.value < $1.value }) {
        guard let text = readBytes(testdata + "/spv/" + name) else {
            print("(\(name) not found under \(testdata)/spv)")
            continue
        }
        let count = text.count / 80
        // Baseline: SHA256d of each 80-byte header straight from the buffer (no copies), nothing else.
        let hashRate = measure(seconds: 1.5) {
            var sink: UInt8 = 0
            text.withUnsafeBytes { raw in
                for i in 0..<count {
                    let first = SHA256.hash(data: UnsafeRawBufferPointer(rebasing: raw[(i * 80)..<(i * 80 + 80)]))
                    sink ^= first.withUnsafeBytes { SHA256.hash(data: $0) }.withUnsafeBytes { $0[0] }
                }
            }
            if sink == 42 { print("", terminator: "") }
        } * Double(count)
        let validateRate = try measure(seconds: 1.5) {
            guard case .success = HeaderRunVerifier.verify(bytes: text, chain: .bitcoin, anchorHeight: anchor, parameters: .bitcoinMainnet) else {
                throw BenchFailure(description: "\(name) did not verify")
            }
        } * Double(count)
        print("SPV headers validated, \(name) (\(count) headers): \(fmt(validateRate)) headers/s | plain SHA256d of the same bytes: \(fmt(hashRate)) /s | ratio \(fmt(validateRate / hashRate))  (goal >= 0.5)")
    }

    // Storage: batches of 500 (one getblocks round trip), as the sync stores them.
    guard let run = readBytes(testdata + "/spv/btc-mainnet-headers-000000-009999.bin") else { return }
    let dir = "/tmp/ela-bench-\(getpid())"
    mkdir(dir, 0o700)
    defer {
        for f in ["agent.db", "agent.db-wal", "agent.db-shm"] { unlink(dir + "/" + f) }
        rmdir(dir)
    }
    let store = try AgentStore(path: dir + "/agent.db")
    var records: [StoredHeader] = []
    var r = WireReader(run)
    var height: Int64 = 0
    while !r.isAtEnd {
        let raw = try r.readBytes(80)
        let h = try BitcoinHeader(bytes: raw)
        records.append(
            StoredHeader(
                hash: h.hash.rawBytes, previousHash: h.previousHash.rawBytes, height: height,
                chainWork: [UInt8](repeating: 0, count: 32), raw: raw, onMainChain: true))
        height += 1
    }
    // Baseline: the same bytes into a bare (hash, raw) table through the same binding, same batches.
    let baselineDB = try SQLiteConnection(path: dir + "/agent.db")
    try baselineDB.execute("CREATE TABLE IF NOT EXISTS bare (hash BLOB PRIMARY KEY, raw BLOB) WITHOUT ROWID")
    var t0 = now()
    var i = 0
    while i < records.count {
        try baselineDB.transaction {
            let insert = try baselineDB.prepare("INSERT INTO bare (hash, raw) VALUES (?, ?)")
            for rec in records[i..<min(i + 500, records.count)] {
                insert.reset()
                try insert.bind([rec.hash, rec.raw])
                try insert.execute()
            }
        }
        i += 500
    }
    let bareRate = Double(records.count) / (now() - t0)
    baselineDB.close()

    t0 = now()
    i = 0
    while i < records.count {
        try store.saveHeaders(Array(records[i..<min(i + 500, records.count)]), chain: "bitcoin")
        i += 500
    }
    let storeRate = Double(records.count) / (now() - t0)
    print("SPV headers stored (batches of 500, WAL): \(fmt(storeRate)) headers/s | bare (hash, raw) insert: \(fmt(bareRate)) /s | ratio \(fmt(storeRate / bareRate))")
    store.close()
}

func readBytes(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        out.append(contentsOf: buf[0..<n])
        if n < buf.count { break }
    }
    return out
}
