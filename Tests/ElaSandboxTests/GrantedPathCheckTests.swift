#if canImport(Glibc)
import Glibc
#endif
import ElaSandbox
import ElaTestSupport
import Testing

/// A manifest's read-only path must not open what the host's permissions close to the plugin's uid.
@Suite struct GrantedPathCheckTests {
    @Test func aParentClosedToThePluginIsNamed() throws {
        let dir = TemporaryDirectory(prefix: "ela-grant")
        defer { dir.remove() }
        chmod(dir.path, 0o755)
        try #require(mkdir(dir.path + "/private", 0o700) == 0 && mkdir(dir.path + "/private/pub", 0o755) == 0)
        chmod(dir.path + "/private", 0o700)
        _ = dir.write("private/pub/data", "secret")
        try #require(mkdir(dir.path + "/open", 0o755) == 0)
        _ = dir.write("open/data", "fine")

        let closed = GrantedPathCheck.closedAncestor(of: dir.path + "/private/pub", uid: 61999, gid: 61999)
        #expect(closed?.hasPrefix(dir.path + "/private (mode 0700, owner ") == true, "\(closed ?? "nil")")
        #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/private/pub/data", uid: 61999, gid: 61999) == closed)
        // Open all the way; the path itself need not be searchable (its own mode still applies inside).
        #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/open/data", uid: 61999, gid: 61999) == nil)
        #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/private", uid: 61999, gid: 61999) == nil)
        // The owner, or the group, with their own search bit (changing owners needs root).
        if geteuid() == 0 {
            let me = getuid(), group = getgid()
            chown(dir.path + "/private", 61999, 0)
            #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/private/pub", uid: 61999, gid: 61999) == nil)
            chown(dir.path + "/private", me, 61998)
            chmod(dir.path + "/private", 0o710)
            #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/private/pub", uid: 61999, gid: 61998) == nil)
            #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/private/pub", uid: 61999, gid: 61999) != nil)
            // Only one class counts: the group's cleared bit closes it to the group even though others may pass.
            chmod(dir.path + "/private", 0o705)
            #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/private/pub", uid: 61999, gid: 61998) != nil)
            #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/private/pub", uid: 61999, gid: 61999) == nil)
            chown(dir.path + "/private", me, group)
            chmod(dir.path + "/private", 0o700)
        }
        // Through a symbolic link: the real path's parents count.
        #expect(symlink(dir.path + "/private/pub", dir.path + "/open/link") == 0)
        #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/open/link", uid: 61999, gid: 61999) != nil)
        // What does not resolve is the launcher's to refuse.
        #expect(GrantedPathCheck.closedAncestor(of: dir.path + "/missing/x", uid: 61999, gid: 61999) == nil)
    }
}
