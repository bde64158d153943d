#if canImport(Glibc)
import Glibc
#endif
import ElaFileSystem
import ElaTestSupport
import Testing

@Suite(.ownThread) struct FileSystemTests {
    @Test func removeTreeRemovesLinksNotWhatTheyPointTo() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let outside = TemporaryDirectory()
        defer { outside.remove() }
        let kept = outside.write("kept.txt", "x")
        try FileSystem.makeDirectory(dir.path + "/tree/a/b", mode: 0o755)
        _ = dir.write("tree/a/b/file", "y")
        #expect(symlink(outside.path, dir.path + "/tree/a/link") == 0)
        #expect(FileSystem.removeTree(dir.path + "/tree"))
        #expect(!FileSystem.exists(dir.path + "/tree") && FileSystem.exists(kept))
        #expect(!FileSystem.removeTree(dir.path + "/tree"))  // nothing there
    }

    /// An exclusive lock without waiting: a second taker (another open file, as another process would have) is told
    /// it is held; closing the holder's descriptor frees it; a symbolic link is not followed.
    @Test func lockExclusivelyHoldsUntilClosed() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/x.lock"
        let holder = try #require(try FileSystem.lockExclusively(path))
        #expect(try FileSystem.lockExclusively(path) == nil)
        close(holder)
        let again = try #require(try FileSystem.lockExclusively(path))
        close(again)
        #expect(symlink(path, dir.path + "/link.lock") == 0)
        #expect(throws: FileSystemError.self) { _ = try FileSystem.lockExclusively(dir.path + "/link.lock") }
    }

    @Test func memoryFilesystemsAreTold() throws {
        #expect(FileSystem.isInMemory("/dev/shm"))  // tmpfs on every Linux system
        #expect(!FileSystem.isInMemory("/proc/self"))
        #expect(!FileSystem.isInMemory("/no/such/path"))
    }

    @Test func readsAndLimits() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let p = dir.write("a.txt", "hello")
        #expect(try FileSystem.readText(p) == "hello")
        #expect(throws: FileSystemError.self) { try FileSystem.read(p, limit: 3) }
        do {
            _ = try FileSystem.read(dir.path + "/missing")
            Issue.record("read a missing file")
        } catch {
            #expect(error.description.contains("No such file"))
        }
        let bad = dir.path + "/c.bin"
        let fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = [UInt8]([0xFF, 0xFE]).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(throws: FileSystemError.self) { try FileSystem.readText(bad) }
    }

    @Test func listsRegularFilesAndMakesDirectories() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = dir.write("b", "")
        _ = dir.write("a", "")
        _ = dir.write(".hidden", "")
        try FileSystem.makeDirectory(dir.path + "/x/y/z", mode: 0o700)
        #expect(FileSystem.isDirectory(dir.path + "/x/y/z"))
        #expect(try FileSystem.regularFiles(in: dir.path) == ["a", "b"])
        _ = dir.write("file", "")
        #expect(throws: FileSystemError.self) { try FileSystem.makeDirectory(dir.path + "/file", mode: 0o700) }
    }
}
