/// Errors of the identity layer. `code` says what kind of problem it is; `message` says exactly what and where.
public struct DIDError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// Input that isn't a well-formed DID object (missing member, wrong type, bad date, bad key...).
        public static let malformed = Code("malformed")
        /// A DID needed for verification could not be resolved.
        public static let unresolved = Code("unresolved")
        /// A signature or a signing rule failed (the object is not genuine).
        public static let notGenuine = Code("not genuine")
        /// Genuine, but expired (or otherwise not valid) at the given time.
        public static let notValid = Code("not valid")
        /// A signing operation could not be carried out (wrong key, bad arguments).
        public static let signing = Code("signing")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static func == (lhs: DIDError, rhs: DIDError) -> Bool { lhs.code == rhs.code && lhs.message == rhs.message }
}
