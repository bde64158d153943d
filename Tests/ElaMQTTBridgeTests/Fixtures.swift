import ElaMosquitto

enum MosquittoErrorFixture {
    static let refused = MosquittoError(code: .system, operation: "mosquitto_connect", systemError: 111, context: "127.0.0.1:1")
}
