#if canImport(Glibc)
import Glibc
#endif

/// Figures for `ela.ping`.
enum ProcessStats {
    /// Resident set size in KiB (`VmRSS` of /proc/self/status); 0 when unreadable.
    static func residentKB() -> Int {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            text.append(contentsOf: chunk[0..<n])
        }
        return parseVmRSS(text)
    }

    static func parseVmRSS(_ status: [UInt8]) -> Int {
        for line in status.split(separator: 0x0A) where line.starts(with: Array("VmRSS:".utf8)) {
            var value = 0
            for b in line.dropFirst(6) where b >= 0x30 && b <= 0x39 {
                value = value &* 10 &+ Int(b - 0x30)
            }
            return value
        }
        return 0
    }
}
