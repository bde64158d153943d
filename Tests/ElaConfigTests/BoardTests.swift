import ElaConfig
import ElaTestSupport
import Testing

@Suite struct BoardTests {
    static let boardFiles = TestData.listFiles(TestData.repoRoot + "/Boards").filter { $0.hasSuffix(".toml") }

    @Test func thereAreBoards() { #expect(Self.boardFiles.contains("sim.toml")) }

    @Test(arguments: boardFiles)
    func everyBoardFileParsesAndChecks(_ file: String) throws {
        let text = try #require(TestData.readString(TestData.repoRoot + "/Boards/" + file))
        let id = String(file.dropLast(".toml".count))
        let board = try BoardDescription.parse(text, fileName: file, expectedId: id)
        #expect(board.id == id)
        #expect(!board.name.isEmpty)
        #expect(!board.pins.isEmpty)
    }

    @Test func simBoardHasItsPins() throws {
        let text = try #require(TestData.readString(TestData.repoRoot + "/Boards/sim.toml"))
        let sim = try BoardDescription.parse(text, fileName: "sim.toml", expectedId: "sim")
        #expect(sim.pins.first { $0.name == "LED0" } == .init(name: "LED0", chip: "ela-sim-gpio", line: 0))
        #expect(sim.defaultPlugins == ["gpio", "sensors"])
    }

    @Test(arguments: [
        ("id = \"x\"\nname = \"X\"\n[[gpiochip]]\nlabel = \"c\"\nlines = 2\n[pins]\nA = { chip = \"d\", line = 0 }\n", "pins.A", 7),
        ("id = \"x\"\nname = \"X\"\n[[gpiochip]]\nlabel = \"c\"\nlines = 2\n[pins]\nA = { chip = \"c\", line = 2 }\n", "pins.A", 7),
        ("id = \"x\"\nname = \"X\"\n[[gpiochip]]\nlabel = \"c\"\nlines = 2\n[pins]\nA = { chip = \"c\", line = 1 }\nB = { chip = \"c\", line = 1 }\n", "pins.B", 8),
        ("id = \"y\"\nname = \"X\"\n", "id", 1),
        ("id = \"x\"\nname = \"X\"\ncolour = 1\n", "colour", 3),
    ])
    func badBoardsNameKeyAndLine(_ text: String, _ key: String, _ line: Int) {
        do {
            _ = try BoardDescription.parse(text, fileName: "x.toml", expectedId: "x")
            Issue.record("accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.line == line, "\(error)")
        }
    }
}
