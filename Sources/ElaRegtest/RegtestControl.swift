public import ElaControlServer
internal import ElaChain
internal import ElaControl
internal import ElaJSON
internal import ElaWire

/// The control-socket methods of `ela-regtest` (newline-delimited JSON-RPC, `ElaControl`). Hashes are shown in
/// display order (byte-reversed, as explorers and ELA's RPC print them).
///
/// - `status` -> `{network, height, tip, genesis, chainWork, mempool, peers, p2pPort, blocks}`
/// - `mine {count}` -> `{height, tip, hashes}`
/// - `submit {…request…}` or `submit {request: {…}}` -> `{txid}`
/// - `fork {fromHeight, count}` -> `{height, tip, hashes, reorganized}`
/// - `block {height}` or `block {hash}` -> the block's header fields, `main`, `txids`
/// - `transaction {txid}` -> `{status: pending|confirmed|unknown, block?, height?, confirmations?}`
public enum RegtestControl {
    public static func handler(node: RegtestNode) -> ControlHandler {
        ControlHandler(methods: [
            "ping": { _ in .string("pong") },
            "status": { _ in await status(node) },
            "mine": { params throws(ControlError) in
                let count = try integer(params, "count", default: 1)
                let hashes = try await run { () throws(RegtestError) in try await node.mine(count: count) }
                return .object(await result(node, hashes: hashes))
            },
            "fork": { params throws(ControlError) in
                let height = try integer(params, "fromHeight", default: nil)
                let count = try integer(params, "count", default: 1)
                guard let from = UInt32(exactly: height) else {
                    throw ControlError(code: ControlError.invalidParams, message: "fromHeight must be a block height, got \(height)")
                }
                let before = await node.tip.hash
                let hashes = try await run { () throws(RegtestError) in try await node.fork(fromHeight: from, count: count) }
                var o = await result(node, hashes: hashes)
                let after = await node.tip.hash
                o["reorganized"] = .bool(after != before && hashes.contains(after))
                return .object(o)
            },
            "submit": { params throws(ControlError) in
                let request = params["request"] ?? .object(params)
                let txid = try await run { () throws(RegtestError) in try await node.submit(request: request) }
                return .object(JSONObject([("txid", .string(txid.displayHex))]))
            },
            "block": { params throws(ControlError) in try await block(node, params) },
            "transaction": { params throws(ControlError) in try await transaction(node, params) },
        ])
    }

    static func status(_ node: RegtestNode) async -> JSONValue {
        let chain = await node.chainSnapshot
        let tip = chain.tip
        return .object(
            JSONObject([
                ("network", .string(chain.parameters.name)), ("height", number(tip.height)),
                ("tip", .string(tip.hash.displayHex)), ("genesis", .string(chain.genesisHash.displayHex)),
                ("chainWork", .string(tip.chainWork.hexString)), ("mempool", number(chain.mempool.count)),
                ("peers", number(await node.peerCount)), ("p2pPort", number(await node.listeningPort)),
                ("blocks", number(chain.blockCount)),
            ]))
    }

    static func result(_ node: RegtestNode, hashes: [Hash256]) async -> JSONObject {
        let tip = await node.tip
        return JSONObject([
            ("height", number(tip.height)), ("tip", .string(tip.hash.displayHex)),
            ("hashes", .array(hashes.map { .string($0.displayHex) })),
        ])
    }

    static func block(_ node: RegtestNode, _ params: JSONObject) async throws(ControlError) -> JSONValue {
        let chain = await node.chainSnapshot
        let found: ChainBlock?
        if let text = params["hash"]?.stringValue {
            guard let hash = Hash256(displayHex: text) else { throw invalid("hash must be 64 hex digits, got '\(text)'") }
            found = chain.block(hash)
        } else {
            let height = try integer(params, "height", default: nil)
            found = UInt32(exactly: height).flatMap { chain.block(atHeight: $0) }
        }
        guard let block = found else { throw invalid("no such block (genesis has no regtest body)") }
        let h = block.header
        return .object(
            JSONObject([
                ("hash", .string(h.hash.displayHex)), ("height", number(h.height)),
                ("main", .bool(chain.isOnMainChain(h.hash))), ("previous", .string(h.previousHash.displayHex)),
                ("merkleRoot", .string(h.merkleRoot.displayHex)), ("timestamp", number(h.timestamp)),
                ("txids", .array(block.txids.map { .string($0.displayHex) })),
            ]))
    }

    static func transaction(_ node: RegtestNode, _ params: JSONObject) async throws(ControlError) -> JSONValue {
        guard let text = params["txid"]?.stringValue, let txid = Hash256(displayHex: text) else {
            throw invalid("txid must be 64 hex digits")
        }
        let chain = await node.chainSnapshot
        if chain.mempoolTransaction(txid) != nil { return .object(JSONObject([("status", "pending")])) }
        guard let (block, height) = chain.confirmedTransaction(txid) else {
            return .object(JSONObject([("status", "unknown")]))
        }
        return .object(
            JSONObject([
                ("status", "confirmed"), ("block", .string(block.displayHex)), ("height", number(height)),
                ("confirmations", number(chain.tip.height - height + 1)),
            ]))
    }

    /// Runs a node call, mapping its error to a JSON-RPC error (caller mistakes are `invalidParams`).
    static func run<T>(_ body: () async throws(RegtestError) -> T) async throws(ControlError) -> T {
        do { return try await body() } catch {
            let code = error.kind == .invalidRequest ? ControlError.invalidParams : chainRejected
            throw ControlError(code: code, message: error.message)
        }
    }

    /// A block the node mined was refused, or the store failed.
    public static let chainRejected = -32010

    static func integer(_ params: JSONObject, _ name: String, default value: Int?) throws(ControlError) -> Int {
        guard let raw = params[name], !raw.isNull else {
            guard let value else { throw invalid("missing integer parameter '\(name)'") }
            return value
        }
        guard let n = raw.numberValue?.int64Value, let i = Int(exactly: n) else {
            throw invalid("'\(name)' must be an integer, got \(JSONWriter.compact(raw))")
        }
        return i
    }

    static func invalid(_ message: String) -> ControlError { ControlError(code: ControlError.invalidParams, message: message) }

    static func number(_ v: some BinaryInteger) -> JSONValue { .number(JSONNumber(Int64(clamping: v))) }
}
