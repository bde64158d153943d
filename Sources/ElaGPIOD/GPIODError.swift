#if canImport(Glibc)
import Glibc
#endif

/// A libgpiod call that failed: what was attempted, on which chip and line, and the errno it left.
public struct GPIODError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was attempted: "open chip", "request line", "read line", ...
    public var operation: String
    /// The chip as the caller named it (path, name or label).
    public var chip: String?
    public var line: Int?
    public var errno: Int32
    /// Who holds the line, when a request failed because it is in use (EBUSY).
    public var consumer: String?

    public init(operation: String, chip: String? = nil, line: Int? = nil, errno: Int32, consumer: String? = nil) {
        self.operation = operation
        self.chip = chip
        self.line = line
        self.errno = errno
        self.consumer = consumer
    }

    /// The line is already requested (by this process or another).
    public var isBusy: Bool { errno == EBUSY }
    /// No such chip (or no GPIO chip at all).
    public var isNotFound: Bool { errno == ENOENT || errno == ENODEV }

    public var errnoText: String { String(cString: strerror(errno)) }

    public var description: String {
        var text = operation
        if let line { text += " \(line)" }
        if let chip { text += line == nil ? " '\(chip)'" : " of chip '\(chip)'" }
        text += ": \(errnoText) (errno \(errno))"
        if let consumer { text += "; held by '\(consumer)'" }
        return text
    }
}
