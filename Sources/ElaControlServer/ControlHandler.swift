public import ElaControl
public import ElaJSON

/// Answers control requests. Pure (no I/O), so it is tested without a socket.
public struct ControlHandler: Sendable {
    public typealias Method = @Sendable (JSONObject) async throws(ControlError) -> JSONValue
    var methods: [String: Method]

    public init(methods: [String: Method]) { self.methods = methods }

    /// Decodes one frame, runs the method, encodes the reply (errors become JSON-RPC error replies).
    public func respond(to frame: [UInt8]) async -> [UInt8] {
        let request: ControlRequest
        do { request = try ControlRequest(frame: frame) } catch {
            return ControlResponse(id: nil, outcome: .failure(error)).encoded()
        }
        guard let method = methods[request.method] else {
            let known = methods.keys.sorted().joined(separator: ", ")
            return ControlResponse(
                id: request.id,
                outcome: .failure(ControlError(code: ControlError.methodNotFound, message: "unknown method '\(request.method)' (known: \(known))"))
            ).encoded()
        }
        do {
            return ControlResponse(id: request.id, outcome: .success(try await method(request.params))).encoded()
        } catch {
            return ControlResponse(id: request.id, outcome: .failure(error)).encoded()
        }
    }
}
