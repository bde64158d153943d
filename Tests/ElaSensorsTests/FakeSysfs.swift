#if canImport(Glibc)
import Glibc
#endif
import ElaTestSupport

/// A throwaway sysfs-like tree in a temporary directory: write files by relative path, parents created.
final class FakeSysfs: Sendable {
    let dir = TemporaryDirectory(prefix: "ela-sensors-test")
    var root: String { dir.path }

    init() {}

    deinit { dir.remove() }

    /// Writes `content` at `relative` (e.g. "class/hwmon/hwmon0/temp1_input"), creating directories.
    @discardableResult
    func write(_ relative: String, _ content: String) -> String {
        writeBytes(relative, Array(content.utf8))
    }

    @discardableResult
    func writeBytes(_ relative: String, _ bytes: [UInt8]) -> String {
        let path = root + "/" + relative
        makeParents(of: relative)
        if let f = fopen(path, "wb") {
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
        }
        return path
    }

    func mkdirs(_ relative: String) {
        var prefix = root
        for part in relative.split(separator: "/") {
            prefix += "/" + part
            mkdir(prefix, 0o755)
        }
    }

    func symlink(_ target: String, at relative: String) {
        makeParents(of: relative)
        _ = Glibc.symlink(target, root + "/" + relative)
    }

    func remove(_ relative: String) { unlink(root + "/" + relative) }

    func chmod(_ relative: String, _ mode: mode_t) { _ = Glibc.chmod(root + "/" + relative, mode) }

    private func makeParents(of relative: String) {
        let parts = relative.split(separator: "/")
        if parts.count > 1 { mkdirs(parts.dropLast().joined(separator: "/")) }
    }
}

/// Running as root makes file modes meaningless for reads.
let runningAsRoot = geteuid() == 0
