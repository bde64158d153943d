/// Why a GPIO operation failed, in words a user can act on ("pin BUTTON0 is held by watch 3 (input)").
public struct GPIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        let name: String
        /// Bad pin name, value, edge or bias in a request.
        public static let invalidArgument = Kind(name: "invalid argument")
        /// The line is held (by another request of this plugin or by another program).
        public static let busy = Kind(name: "busy")
        /// No such chip or line.
        public static let notFound = Kind(name: "not found")
        /// The operation does not exist on this backend (e.g. simulating a pull on real hardware).
        public static let unsupported = Kind(name: "unsupported")
        /// The chip or kernel refused the operation.
        public static let io = Kind(name: "I/O error")
        /// The plugin's configuration is wrong.
        public static let configuration = Kind(name: "configuration error")
        public var description: String { name }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
