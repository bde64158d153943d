#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PKI made with the real `openssl` command: a CA, a server certificate for 127.0.0.1 (SAN IP and DNS
/// localhost) and a client certificate signed by it, plus a second, unrelated CA that must not be trusted. EC P-256
/// keys, so it takes well under a second.
public final class TestTLS: @unchecked Sendable {  // immutable after init
    public static let openssl = "/usr/bin/openssl"
    public static var isInstalled: Bool { access(openssl, X_OK) == 0 }

    public let directory: TemporaryDirectory
    public var caFile: String { directory.path + "/ca.pem" }
    public var serverCertFile: String { directory.path + "/server.pem" }
    public var serverKeyFile: String { directory.path + "/server.key" }
    public var clientCertFile: String { directory.path + "/client.pem" }
    public var clientKeyFile: String { directory.path + "/client.key" }
    /// A CA that signed nothing here: a client trusting only it must refuse the server.
    public var strangerCAFile: String { directory.path + "/stranger-ca.pem" }

    public init() throws {
        directory = TemporaryDirectory(prefix: "ela-tls")
        let d = directory.path
        _ = directory.write("server.ext", "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n")
        _ = directory.write("client.ext", "extendedKeyUsage = clientAuth\n")
        let steps: [[String]] = [
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d + "/ca.key"],
            ["req", "-x509", "-new", "-key", d + "/ca.key", "-subj", "/CN=ela test CA", "-days", "2", "-out", d + "/ca.pem"],
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", d + "/stranger-ca.key"],
            ["req", "-x509", "-new", "-key", d + "/stranger-ca.key", "-subj", "/CN=stranger CA", "-days", "2", "-out", d + "/stranger-ca.pem"],
        ] + ["server", "client"].flatMap { who -> [[String]] in
            [
                ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(d)/\(who).key"],
                ["req", "-new", "-key", "\(d)/\(who).key", "-subj", who == "server" ? "/CN=127.0.0.1" : "/CN=ela-device", "-out", "\(d)/\(who).csr"],
                [
                    "x509", "-req", "-in", "\(d)/\(who).csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key", "-CAcreateserial",
                    "-days", "2", "-extfile", "\(d)/\(who).ext", "-out", "\(d)/\(who).pem",
                ],
            ]
        }
        for args in steps {
            let r = try ChildProcess.run(Self.openssl, args)
            guard r.status == 0 else { throw ChildProcessError(message: "openssl \(args.joined(separator: " ")): \(r.stderr)") }
        }
    }

    deinit { directory.remove() }
}
