import ElaQR
import ElaTestSupport
import Testing

@Suite struct QRCodeTests {
    @Test func aCarrierAddressEncodesAsAProperSymbol() throws {
        let address = "6Ke4Hd8kYxY9m4rJ3cW2WJj2yG8aX2Yg6rWb5TCJ7X6ruVbYhpYvAfh2pFa"
        let qr = try QRCode(encoding: address)
        #expect(qr.size >= 21 && (qr.size - 17) % 4 == 0, "a QR version's size is 17 + 4 v")
        // The three finder patterns: dark 7x7 outlines at three corners, a light separator inside.
        for (r, c) in [(0, 0), (0, qr.size - 7), (qr.size - 7, 0)] {
            #expect(qr.isDark(row: r, column: c) && qr.isDark(row: r + 6, column: c + 6) && !qr.isDark(row: r + 1, column: c + 1))
            #expect(qr.isDark(row: r + 3, column: c + 3), "finder centre")
        }
        let text = qr.terminalText(margin: 2)
        let lines = text.split(separator: "\n")
        #expect(lines.count == (qr.size + 4 + 1) / 2 && lines.allSatisfy { $0.count == qr.size + 4 })
        #expect(try QRCode(encoding: address) == qr, "deterministic")
    }

    @Test func tooMuchTextIsATypedError() {
        #expect(throws: QRCodeError.self) { try QRCode(encoding: String(repeating: "x", count: 5000)) }
    }
}
