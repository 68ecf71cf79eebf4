/// keysync's version, printed by `keysync --version`.
public enum KeySyncVersion {
    public static let string = "0.1.0"
}
