/// The project version, from one place: the CLI, the daemon and the Debian package (`make deb` reads this line).
public enum AgentVersion {
    public static let string = "0.1.0"
}
