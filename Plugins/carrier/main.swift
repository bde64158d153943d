// SPDX-License-Identifier: GPL-3.0-or-later
// ela-carrier: the agent's (and ElaClient's) Tox transport; the only program that links libtoxcore
// (GPL-3.0-or-later, Packaging/LICENSES.md). It is a plugin: the host (ela-agent, or ElaClient in a DApp) starts it,
// talks to it over the plugin protocol, and makes every decision. ela-carrier only moves bytes:
// - host -> carrier: carrier.status, carrier.add {address, message, replace}, carrier.accept {keys},
//   carrier.remove {key}, carrier.forget {key} (hear a refused key's request again), carrier.send {key, text} (chunked, at most `window` Tox messages in flight);
// - carrier -> host (requests, in order, at most 16 awaiting an answer): carrier.started {publicKey, address} (answered
//   with the friends to accept, `accept`: [key]), carrier.request {key, message} (a friend request and its hello),
//   carrier.connection {key?, connection} (a friend's link or our own), carrier.message {key, text} (reassembled).
// Keys are hex here; user-facing Base58 forms are made by the host.
#if canImport(Glibc)
import Glibc
#endif
import ElaPluginKit
import Synchronization

if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "bench-raw" {
    exit(RawBench.run(Array(CommandLine.arguments.dropFirst(2))))
}

let node = Mutex<CarrierNode?>(nil)
var plugin = PluginDefinition(name: "carrier", version: "0.1.0")

func running() throws(PluginError) -> CarrierNode {
    guard let n = node.withLock({ $0 }) else { throw PluginError.failed("the carrier is starting") }
    return n
}

func key(_ params: JSONObject, _ name: String = "key") throws(PluginError) -> [UInt8] {
    guard let k = params[name]?.stringValue.flatMap(decodeHex), k.count == 32 else {
        throw PluginError.invalidParams("\"\(name)\" must be a 32-byte public key in hex (64 digits)")
    }
    return k
}

plugin.method("carrier.status") { _, _ in .object(try running().status()) }

plugin.method("carrier.add") { call, _ in
    let n = try running()
    guard let address = call.params["address"]?.stringValue.flatMap(decodeHex), address.count == 38 else {
        throw PluginError.invalidParams("\"address\" must be a 38-byte Tox address in hex (76 digits)")
    }
    guard let message = call.params["message"]?.stringValue, !message.isEmpty, message.utf8.count <= 1016 else {
        throw PluginError.invalidParams("\"message\" must be 1 to 1016 bytes (the hello)")
    }
    let replace = call.params["replace"]?.boolValue ?? false
    let k = try n.addFriend(address: address, message: Array(message.utf8), replace: replace)
    return .object(["key": .string(encodeHex(k))])
}

plugin.method("carrier.accept") { call, _ in
    let n = try running()
    var keys: [[UInt8]] = []
    for v in call.params["keys"]?.arrayValue ?? [] {
        guard let k = v.stringValue.flatMap(decodeHex), k.count == 32 else { throw PluginError.invalidParams("\"keys\" must be hex public keys") }
        keys.append(k)
    }
    try n.accept(keys)
    return .object(["accepted": .number(JSONNumber(keys.count))])
}

plugin.method("carrier.remove") { call, _ in
    try running().remove(try key(call.params))
    return .object(["removed": true])
}

plugin.method("carrier.forget") { call, _ in
    try running().forget(try key(call.params))
    return .object(["forgotten": true])
}

// On the socket reader (no pool thread to wake), and the chunks leave from here too: no hop to the Tox thread.
plugin.method("carrier.send", mode: .nonBlocking) { call, _ in
    let n = try running()
    let k = try key(call.params)
    guard let text = call.params["text"]?.stringValue else { throw PluginError.invalidParams("\"text\" must be the message text") }
    return .object(["chunks": .number(JSONNumber(try n.send(key: k, text: Array(text.utf8))))])
}

plugin.onStart = { context in
    let config = try NodeConfig(context.config)
    // toxcore's reports go to the host in the order they happened, written from the Tox thread itself.
    let n = CarrierNode(config: config) { method, params, answered in
        context.send(method, params, timeout: .seconds(20)) { result in
            switch result {
            case .success(let answer): answered(answer)
            case .failure(let error):
                context.log("carrier: host did not take \(method): \(error)")
                answered(nil)
            }
        }
    }
    try await n.start()
    node.withLock { $0 = n }
    let udp = config.udp ? "on" : "off"
    context.log("carrier: Tox up (UDP \(udp), \(config.bootstrap.count) bootstrap nodes, \(config.relays.count) TCP relays)")
}

plugin.onStop = { _ in
    await node.withLock { $0 }?.stop()
}

await PluginMain.runAndExit(plugin)
