import Foundation

/// The schemes that ship inside Ferry (our "scheme market"): templates, their XSD and example lookups.
///
/// The files live in the repository's `Templates/` folder and are embedded as resources, so `ferry init`,
/// `ferry schemes` and `ferry demo` work from any directory.
public enum BuiltInSchemes {
    /// File name of the XSD that every scheme is validated against.
    public static let schemaFileName = "ferry-scheme-1.xsd"

    /// File names of the built-in scheme templates.
    public static let templateFileNames = ["wdt-stockin-to-kingdee-other-inbound.xml"]

    /// The name of the default scheme.
    public static let defaultSchemeName = "wdt-stockin-to-kingdee-other-inbound"

    /// The directory holding the embedded files (looked up once: `Bundle` searches the file system).
    public static let directory: String = Bundle.module.resourcePath ?? Bundle.module.bundlePath

    /// Path of an embedded file.
    public static func path(_ fileName: String) -> String {
        directory + "/" + fileName
    }

    /// Path of the embedded XSD.
    public static var schemaPath: String { path(schemaFileName) }

    /// How to show a path to people and in manifests: embedded files (whose path depends on where Ferry is
    /// installed) become `builtin:FILE`; other paths are returned unchanged.
    public static func displayName(_ path: String) -> String {
        let prefix = directory + "/"
        return path.hasPrefix(prefix) ? "builtin:" + path.dropFirst(prefix.count) : path
    }

    /// Path of the embedded example lookups directory.
    public static var lookupsDirectory: String { path("lookups") }
}
