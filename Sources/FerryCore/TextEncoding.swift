/// What Ferry can tell about text that is not UTF-8, to say so instead of pointing at a stray byte.
public enum TextEncoding {
    /// The encoding of text saved as UTF-16 or UTF-32 (as Windows tools save "Unicode" text), from its byte
    /// order mark or, without one, from the NUL bytes its first characters have (JSON and XML in UTF-8
    /// have none); `nil` for anything else.
    public static func wide(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 2 else { return nil }
        let b = Array(bytes.prefix(4)) + [UInt8](repeating: 1, count: max(0, 4 - bytes.count))
        switch (b[0], b[1], b[2], b[3]) {
        // A byte order mark, else the NUL bytes of the first character (the `where` is for those only).
        case (0xFF, 0xFE, 0, 0): return "UTF-32LE"
        case (_, 0, 0, 0) where b[0] != 0: return "UTF-32LE"
        case (0, 0, 0xFE, 0xFF): return "UTF-32BE"
        case (0, 0, 0, _) where b[3] != 0: return "UTF-32BE"
        case (0xFF, 0xFE, _, _): return "UTF-16LE"
        case (_, 0, _, _) where b[0] != 0: return "UTF-16LE"
        case (0xFE, 0xFF, _, _): return "UTF-16BE"
        case (0, _, _, _) where b[1] != 0: return "UTF-16BE"
        default: return nil
        }
    }

    /// What to do about text that is not UTF-8: Chinese files from Windows tools are often GBK/GB18030.
    public static let notUTF8Advice =
        "the file is not UTF-8; saved as GBK/GB18030 or another ANSI code page? save it as UTF-8, e.g. iconv -f GB18030 -t UTF-8"
}
