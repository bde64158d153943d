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

    /// Deep trees, odd names, a link to a directory given as the path itself, and a part that cannot be removed.
    @Test func removeTreeHandlesDeepTreesOddNamesAndALinkGivenAsThePath() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let outside = TemporaryDirectory()
        defer { outside.remove() }
        let kept = outside.write("kept.txt", "x")
        let deep = dir.path + "/tree/" + (0..<40).map { "d\($0)" }.joined(separator: "/")
        try FileSystem.makeDirectory(deep, mode: 0o755)
        _ = dir.write("tree/d0/with space \u{e9}.txt", "y")
        #expect(symlink(deep, dir.path + "/tree/d0/d1/loop") == 0)
        // The path itself a link: the link goes, not its target.
        #expect(symlink(outside.path, dir.path + "/to-outside") == 0)
        #expect(FileSystem.removeTree(dir.path + "/to-outside/"))
        #expect(FileSystem.exists(kept))
        #expect(FileSystem.removeTree(dir.path + "/tree"))
        #expect(!FileSystem.exists(dir.path + "/tree"))
        // A directory this process may not empty (only without CAP_DAC_OVERRIDE, i.e. not as root): false, the
        // rest gone.
        if geteuid() != 0 {
            try FileSystem.makeDirectory(dir.path + "/part/locked", mode: 0o755)
            _ = dir.write("part/locked/file", "z")
            _ = dir.write("part/free", "z")
            chmod(dir.path + "/part/locked", 0o555)
            defer { chmod(dir.path + "/part/locked", 0o755) }
            #expect(!FileSystem.removeTree(dir.path + "/part"))
            #expect(!FileSystem.exists(dir.path + "/part/free") && FileSystem.exists(dir.path + "/part/locked/file"))
        }
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
