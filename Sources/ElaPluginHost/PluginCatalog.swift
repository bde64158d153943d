#if canImport(Glibc)
import Glibc
#endif
public import ElaConfig
import ElaFileSystem

/// A plugin found on disk: its manifest, where it lives, and the program to run.
public struct PluginDescriptor: Sendable, Equatable {
    public var manifest: PluginManifest
    /// The folder holding `plugin.toml`.
    public var directory: String
    /// Absolute path of the program.
    public var executable: String

    public init(manifest: PluginManifest, directory: String, executable: String) {
        self.manifest = manifest
        self.directory = directory
        self.executable = executable
    }

    public var name: String { manifest.name }
}

/// A plugin folder that could not be used, with the reason (shown by `elactl plugin list`).
public struct PluginDiscoveryProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var directory: String
    public var message: String
    public var description: String { "\(directory): \(message)" }

    public init(directory: String, message: String) {
        self.directory = directory
        self.message = message
    }
}

/// Finds plugins: each `<dir>/<name>/plugin.toml` in the given directories, earlier directories winning on name
/// clashes. A manifest's `executable` is an absolute path, a file next to the manifest, or a program in one of
/// `programDirectories` (the agent's own folder for development builds, `/usr/lib/ela-agent`).
public struct PluginCatalog: Sendable {
    public var directories: [String]
    public var programDirectories: [String]

    public init(directories: [String], programDirectories: [String]) {
        self.directories = directories
        self.programDirectories = programDirectories
    }

    public func discover() -> (plugins: [PluginDescriptor], problems: [PluginDiscoveryProblem]) {
        var plugins: [PluginDescriptor] = []
        var problems: [PluginDiscoveryProblem] = []
        for dir in directories where FileSystem.isDirectory(dir) {
            for entry in Self.subdirectories(of: dir) {
                let folder = dir + "/" + entry
                let manifestPath = folder + "/plugin.toml"
                guard FileSystem.exists(manifestPath) else { continue }
                let manifest: PluginManifest
                do {
                    manifest = try PluginManifest.parse(try FileSystem.readText(manifestPath), fileName: manifestPath)
                } catch let e as ConfigError {
                    problems.append(PluginDiscoveryProblem(directory: folder, message: e.description))
                    continue
                } catch {
                    problems.append(PluginDiscoveryProblem(directory: folder, message: "\(error)"))
                    continue
                }
                guard !plugins.contains(where: { $0.name == manifest.name }) else { continue }
                guard let program = resolve(manifest.executable, in: folder) else {
                    problems.append(
                        PluginDiscoveryProblem(
                            directory: folder,
                            message: "executable '\(manifest.executable)' not found next to the manifest or in \(programDirectories.joined(separator: ", "))"))
                    continue
                }
                plugins.append(PluginDescriptor(manifest: manifest, directory: folder, executable: program))
            }
        }
        return (plugins.sorted { $0.name < $1.name }, problems)
    }

    func resolve(_ executable: String, in folder: String) -> String? {
        if executable.hasPrefix("/") { return access(executable, X_OK) == 0 ? executable : nil }
        for candidate in [folder] + programDirectories {
            let path = candidate + "/" + executable
            if access(path, X_OK) == 0 && !FileSystem.isDirectory(path) { return path }
        }
        return nil
    }

    static func subdirectories(of dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            if FileSystem.isDirectory(dir + "/" + name) { names.append(name) }
        }
        return names.sorted()
    }
}
