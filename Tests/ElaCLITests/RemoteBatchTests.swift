import ElaCarrier
import ElaJSON
import Testing

@testable import ElaCLI

/// The lines `elactl remote batch` reads: each a request, or an error line saying why it is not one.
@Suite struct RemoteBatchTests {
    @Test func requestsAndTheirIds() throws {
        let full = try BatchRequest.parse(#"{"method": "gpio.write", "params": {"pin": "LED0", "value": 1}, "id": 7}"#).get()
        #expect(full.method == "gpio.write" && full.params["pin"] == "LED0" && full.id == 7)
        let bare = try BatchRequest.parse(#"{"method": "gpio.info"}"#).get()
        #expect(bare.params.isEmpty && bare.id == nil)
        #expect(try BatchRequest.parse(#"{"method": "gpio.info", "params": null}"#).get().params.isEmpty)
    }

    @Test(arguments: [
        ("not json", -32700),
        (#"{"method": "gpio.read""#, -32700),
        (#"["gpio.read"]"#, -32600),
        (#"{"params": {}}"#, -32600),
        (#"{"method": ""}"#, -32600),
        (#"{"method": 5}"#, -32600),
        (#"{"method": "gpio.read", "params": [1]}"#, -32600),
    ])
    func malformedLinesAreErrors(line: String, code: Int64) {
        guard case .failure(let error) = BatchRequest.parse(line) else {
            Issue.record("accepted: \(line)")
            return
        }
        #expect(error.code == code, "\(line): \(error)")
        #expect(!error.message.isEmpty)
    }
}
