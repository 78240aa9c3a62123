/// Ferry's version: what `ferry --version` prints, and what the WDT and Kingdee clients send in their
/// `User-Agent` (`Ferry/0.1.0 (Kingdee WebApi client)`), so a server's log shows which Ferry called.
public enum FerryVersion {
    /// This source tree's version (semantic versioning; raised with each release).
    public static let current = "0.1.0"
}
