internal import CQRencode

/// A QR code symbol encoded by libqrencode: `size` x `size` modules, row-major, true = dark.
public struct QRCode: Sendable, Equatable {
    public let size: Int
    public let modules: [Bool]

    /// Encodes `text` (8-bit mode, error correction level M, smallest version that fits).
    public init(encoding text: String) throws(QRCodeError) {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { throw QRCodeError(text: text) }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        size = width
        let data = code.pointee.data!
        modules = (0..<(width * width)).map { data[$0] & 1 == 1 }
    }

    public func isDark(row: Int, column: Int) -> Bool {
        row >= 0 && column >= 0 && row < size && column < size && modules[row * size + column]
    }

    /// The symbol for a terminal: two module rows per text line with Unicode half blocks, dark on light, with a
    /// quiet zone of `margin` modules (scanners need it).
    public func terminalText(margin: Int = 2) -> String {
        var out = ""
        let range = -margin..<(size + margin)
        var row = -margin
        while row < size + margin {
            for column in range {
                // Light = a printed block (terminals are usually dark-on-light-agnostic; blocks draw the light part).
                let top = !isDark(row: row, column: column)
                let bottom = !isDark(row: row + 1, column: column)
                out += top && bottom ? "\u{2588}" : top ? "\u{2580}" : bottom ? "\u{2584}" : " "
            }
            out += "\n"
            row += 2
        }
        return out
    }
}

public struct QRCodeError: Error, Sendable, CustomStringConvertible {
    public let text: String
    public var description: String { "cannot encode \(text.utf8.count) bytes as a QR code (too long or out of memory)" }
}
