/// The document as Unicode scalar values, with line starts so any index maps to a line and column.
struct ScalarSource {
    /// Scalar values (UInt32 for cheap comparisons against ASCII constants).
    let scalars: [UInt32]
    /// Index of the first scalar of each line; lineStarts[0] == 0.
    private let lineStarts: [Int]

    init(scalars: [UInt32]) {
        // A leading byte order mark is not part of the document.
        self.scalars = scalars.first == 0xFEFF ? Array(scalars.dropFirst()) : scalars
        var starts = [0]
        for (index, scalar) in self.scalars.enumerated() where scalar == 0x0A {
            starts.append(index + 1)
        }
        lineStarts = starts
    }

    init(text: String) {
        self.init(scalars: text.unicodeScalars.map(\.value))
    }

    /// Decodes strict UTF-8 (no overlongs, surrogates or values above U+10FFFF).
    init(bytes: [UInt8]) throws(TOMLError) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars: [UInt32] = []
        scalars.reserveCapacity(bytes.count)
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar.value)
            case .emptyInput: break decoding
            case .error:
                let partial = ScalarSource(scalars: scalars)
                throw TOMLError(position: partial.position(of: partial.scalars.count), message: "invalid UTF-8 byte sequence")
            }
        }
        self.init(scalars: scalars)
    }

    /// 1-based line and column of the scalar at `index` (index == count means end of input).
    func position(of index: Int) -> TOMLPosition {
        // Binary search for the last line start <= index.
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= index { low = mid } else { high = mid - 1 }
        }
        return TOMLPosition(line: low + 1, column: index - lineStarts[low] + 1)
    }
}
