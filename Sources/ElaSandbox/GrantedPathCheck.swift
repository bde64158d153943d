#if canImport(Glibc)
import Glibc
#endif

/// A path a plugin's manifest asks for is bound into its sandbox, whose parents the launcher creates open (0755):
/// without this check a grant would show what the host's own permissions close to the plugin's uid, such as a
/// service's state under a 0700 /var/lib/private, or /root.
public enum GrantedPathCheck {
    /// A directory above `path` (resolved) that the plugin's uid and gid, with no other groups, could not pass
    /// through on the host, or nil when every one of them can be: `"/var/lib/private (mode 0700, owner 0:0)"`.
    /// A path that does not resolve is left to the launcher, which refuses it with its own reason.
    public static func closedAncestor(of path: String, uid: UInt32, gid: UInt32) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        let real = String(cString: resolved)
        free(resolved)
        var ancestor = ""
        for component in real.split(separator: "/").dropLast() {
            ancestor += "/" + component
            var st = stat()
            guard stat(ancestor, &st) == 0 else { return "\(ancestor) (\(String(cString: strerror(errno))))" }
            let mode = st.st_mode
            // As the kernel decides: the owner's bits for the owner, else the group's for the group, else the others'.
            let searchable =
                st.st_uid == uid ? mode & S_IXUSR != 0 : st.st_gid == gid ? mode & S_IXGRP != 0 : mode & S_IXOTH != 0
            if !searchable { return "\(ancestor) (mode 0\(String(mode & 0o777, radix: 8)), owner \(st.st_uid):\(st.st_gid))" }
        }
        return nil
    }
}
