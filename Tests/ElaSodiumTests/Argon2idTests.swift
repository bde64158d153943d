import ElaSodium
import ElaTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Argon2id", .ownThread)
struct Argon2idTests {
    let passphrase = SecretBytes(utf8: "correct horse battery staple")
    let salt = [UInt8](repeating: 0x5a, count: 16)

    @Test func presetsMatchLibsodium() {
        #expect(Argon2id.Parameters.moderate == .init(opsLimit: 3, memLimitBytes: 256 << 20))
        #expect(Argon2id.Parameters.interactive == .init(opsLimit: 2, memLimitBytes: 64 << 20))
        #expect(Argon2id.Parameters.testing == .init(opsLimit: 1, memLimitBytes: 8192))
        #expect(Argon2id.saltLength == 16)
    }

    @Test func sameInputsGiveTheSameKey() throws {
        let first = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, parameters: .testing, length: 32)
        let second = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, parameters: .testing, length: 32)
        #expect(first.count == 32)
        #expect(first == second)
        #expect(first != SecretBytes([UInt8](repeating: 0, count: 32)))
    }

    @Test func anyInputChangeGivesAnotherKey() throws {
        let base = try Argon2id.deriveKey(passphrase: passphrase, salt: salt, parameters: .testing, length: 32)
        var otherSalt = salt
        otherSalt[15] ^= 1
        #expect(try Argon2id.deriveKey(passphrase: passphrase, salt: otherSalt, parameters: .testing, length: 32) != base)
        #expect(
            try Argon2id.deriveKey(passphrase: SecretBytes(utf8: "Correct horse battery staple"), salt: salt,
                parameters: .testing, length: 32) != base)
        let moreWork = Argon2id.Parameters(opsLimit: 2, memLimitBytes: 8192)
        #expect(try Argon2id.deriveKey(passphrase: passphrase, salt: salt, parameters: moreWork, length: 32) != base)
    }

    /// Cross-check against the reference `argon2` CLI output published with iov-core's tests:
    /// `echo -n "123" | argon2 ABCDEFGHIJKLMNOP -id -v 13 -k 1024 -t 5` (1 MiB, 5 passes, 1 lane).
    @Test func referenceVector() throws {
        let key = try Argon2id.deriveKey(
            passphrase: SecretBytes(utf8: "123"), salt: Array("ABCDEFGHIJKLMNOP".utf8),
            parameters: .init(opsLimit: 5, memLimitBytes: 1024 * 1024), length: 32)
        #expect(bytes(of: key) == hex("3c5d010180ba0cf5b6b858cba23b318e42d33088983c404598599c3b029ecac6"))
    }

    @Test func invalidInputsAreTypedErrors() {
        #expect(throws: SodiumError.invalidSaltLength(expected: 16, got: 8)) {
            try Argon2id.deriveKey(passphrase: passphrase, salt: [UInt8](repeating: 0, count: 8), parameters: .testing, length: 32)
        }
        #expect(throws: SodiumError.self) {
            try Argon2id.deriveKey(passphrase: passphrase, salt: salt, parameters: .testing, length: 8)
        }
        #expect(throws: SodiumError.self) {
            try Argon2id.deriveKey(
                passphrase: passphrase, salt: salt, parameters: .init(opsLimit: 0, memLimitBytes: 8192), length: 32)
        }
        #expect(throws: SodiumError.self) {
            try Argon2id.deriveKey(
                passphrase: passphrase, salt: salt, parameters: .init(opsLimit: 1, memLimitBytes: 1024), length: 32)
        }
    }

    /// Runs in a child process whose address space is capped, so the allocation fails for sure
    /// (and cannot hurt the machine) and must come back as `.outOfMemory`, not a crash.
    @Test func outOfMemoryIsReportedAsATypedError() async {
        await #expect(processExitsWith: .success) {
            var limit = rlimit(rlim_cur: 8 << 30, rlim_max: 8 << 30)
            guard setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 else { exit(3) }
            do {
                _ = try Argon2id.deriveKey(
                    passphrase: SecretBytes(utf8: "x"), salt: [UInt8](repeating: 1, count: 16),
                    parameters: .init(opsLimit: 1, memLimitBytes: 64 << 30), length: 32)
                exit(1)
            } catch SodiumError.outOfMemory(let requested) {
                exit(requested == 64 << 30 ? 0 : 4)
            } catch {
                exit(2)
            }
        }
    }
}
