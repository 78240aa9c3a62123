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

    /// The directory holding the embedded files (looked up once).
    ///
    /// SwiftPM puts them in `ferry_FerrySchemes.resources` beside the executable, the first place
    /// `Bundle.module` looks. That place is tried directly: setting up `Bundle` costs about a millisecond,
    /// at every start of every command. `Bundle.module` still decides everywhere else (other platforms,
    /// or a binary moved away from its resources).
    public static let directory: String = besideExecutable() ?? Bundle.module.resourcePath ?? Bundle.module.bundlePath

    private static let bundleName = "ferry_FerrySchemes.resources"

    /// `ferry_FerrySchemes.resources` in the running executable's directory, when it is there.
    private static func besideExecutable() -> String? {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let executable = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = executable.lastIndex(of: "/") else { return nil }
        let candidate = executable[..<slash] + "/" + bundleName
        var info = stat()
        guard stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return nil }
        return candidate
        #else
        return nil
        #endif
    }

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
        return path.hasPrefix(prefix) ? "builtin:" + String(path.dropFirst(prefix.count)) : path
    }

    /// Path of the embedded example lookups directory.
    public static var lookupsDirectory: String { path("lookups") }
}
