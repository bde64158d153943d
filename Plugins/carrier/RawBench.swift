// SPDX-License-Identifier: GPL-3.0-or-later
// `ela-carrier bench-raw`: the benchmark's baseline, measured with toxcore alone (no plugin protocol, no agent):
// two Tox instances in this process, a 1 ms loop, friend connection time, the RTT of lossless custom packets and the
// rate of a one-way stream of messages.
#if canImport(Glibc)
import Glibc
#endif
import ElaTox

enum RawBench {
    /// `bench-raw <udp|tcp> <host> <udp port> <tcp port> <key hex> <round trips>`; prints one JSON line.
    static func run(_ args: [String]) -> Int32 {
        guard args.count == 6, let udpPort = UInt16(args[2]), let tcpPort = UInt16(args[3]), let key = decodeHex(args[4]),
            let count = Int(args[5])
        else {
            PluginLog.line("usage: ela-carrier bench-raw udp|tcp HOST UDP_PORT TCP_PORT KEY_HEX ROUND_TRIPS")
            return 2
        }
        let tcpOnly = args[0] == "tcp"
        do {
            var oa = ToxOptions()
            oa.udpEnabled = true
            var ob = ToxOptions()
            ob.udpEnabled = !tcpOnly
            let a = try Tox(oa)
            let b = try Tox(ob)
            for t in [a, b] {
                try? t.bootstrap(host: args[1], port: udpPort, publicKey: key)
                try? t.addTCPRelay(host: args[1], port: tcpPort, publicKey: key)
            }
            func spin(_ seconds: Double, until done: () -> Bool, on handle: ([ToxEvent], [ToxEvent]) -> Void) -> Bool {
                let deadline = nowMs() + Int64(seconds * 1000)
                while nowMs() < deadline {
                    handle(a.iterate(), b.iterate())
                    if done() { return true }
                    usleep(1000)
                }
                return false
            }
            var selfUp = false
            guard spin(60, until: { selfUp }, on: { _, _ in selfUp = a.connection.isOnline && b.connection.isOnline }) else {
                PluginLog.line("bench-raw: instances did not reach the network in 60 s")
                return 1
            }
            let t0 = nowMs()
            let friendOfA = try a.addFriend(address: b.address, message: Array("bench".utf8))
            var linked = false
            guard spin(60, until: { linked }, on: { _, evB in
                for e in evB { if case .friendRequest(let pk, _) = e { _ = try? b.addFriendNoRequest(publicKey: pk) } }
                linked = a.connection(ofFriend: friendOfA).isOnline && b.friends.contains { b.connection(ofFriend: $0).isOnline }
            }) else {
                PluginLog.line("bench-raw: friends did not connect in 60 s")
                return 1
            }
            let connectMs = nowMs() - t0
            if !tcpOnly {
                // Links often start over the TCP relay; measure the direct UDP path, as the label says.
                var direct = false
                _ = spin(20, until: { direct }) { _, _ in direct = a.connection(ofFriend: friendOfA) == .udp }
                // Then let it settle, as the DApp bench does after its session opens: right after the switch some
                // packets still take the relay (round trips of 100 ms and more in an otherwise 1 ms run).
                if direct { _ = spin(5, until: { false }) { _, _ in } }
            }
            let path = a.connection(ofFriend: friendOfA).rawValue
            var rtts: [Double] = []
            for i in 0..<(count + 20) {
                let ping: [UInt8] = [160, UInt8(truncatingIfNeeded: i)] + [UInt8](repeating: 0, count: 14)
                var start = monoNs()
                while !a.sendLosslessPacket(friend: friendOfA, ping) {
                    _ = a.iterate()
                    usleep(1000)
                    start = monoNs()
                }
                var back = false
                let ok = spin(10, until: { back }) { evA, evB in
                    for e in evB { if case .losslessPacket(let f, let p) = e { while !b.sendLosslessPacket(friend: f, p) { _ = b.iterate() } } }
                    for e in evA { if case .losslessPacket(_, let p) = e, p.count > 1, p[1] == UInt8(truncatingIfNeeded: i) { back = true } }
                }
                guard ok else {
                    PluginLog.line("bench-raw: round trip \(i) lost")
                    return 1
                }
                if i >= 20 { rtts.append(Double(monoNs() - start) / 1e6) }
            }
            rtts.sort()
            let p50 = rtts[rtts.count / 2]
            let p99 = rtts[min(rtts.count - 1, rtts.count * 99 / 100)]
            // A one-way stream of Tox messages (the carrier's unit; ~200 bytes like an event), sent as fast as
            // toxcore's send queue takes them; the rate is what B received per second.
            let streamCount = 2000
            let body = [UInt8](repeating: 0x61, count: 200)
            var received = 0
            var sent = 0
            let streamStart = monoNs()
            let streamed = spin(60, until: { received >= streamCount }) { _, evB in
                for e in evB { if case .friendMessage = e { received += 1 } }
                while sent < streamCount, (try? a.sendMessage(friend: friendOfA, body)) != nil { sent += 1 }
            }
            let streamSeconds = Double(monoNs() - streamStart) / 1e9
            let perSecond = streamed ? Double(streamCount) / streamSeconds : 0
            print("{\"path\":\"\(path)\",\"connectMs\":\(connectMs),\"p50Ms\":\(p50),\"p99Ms\":\(p99),\"n\":\(rtts.count),\"streamPerSecond\":\(perSecond)}")
            return 0
        } catch {
            PluginLog.line("bench-raw: \(error)")
            return 1
        }
    }
}

func monoNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
