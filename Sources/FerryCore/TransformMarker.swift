/// The file that says a transform of a directory has not finished: `.transform-incomplete`, beside the
/// payloads.
///
/// A transform creates it before it writes any payload, appends the names of the files it is about to
/// write (one JSON array of names per input file), and removes it once `manifest.json` is durable. While it
/// is there, the directory may hold a mix of this transform's files and an earlier one's (an older version
/// of a document that a later input file would have replaced), and files that no manifest lists:
///
/// - the next transform removes the files it names that it no longer produces, as it does for those the
///   previous manifest lists;
/// - load refuses the directory until a transform has finished.
///
/// Hidden (a leading dot), so that nothing reads it as a payload.
public enum TransformMarker {
    /// The marker's file name.
    public static let fileName = ".transform-incomplete"

    /// The marker's path in `directory`.
    public static func path(in directory: String) -> String { directory + "/" + fileName }

    /// The names a marker's content lists (every complete line that is a JSON array of strings).
    public static func names(in bytes: [UInt8]) -> [String] {
        AppendOnlyFile.lines(of: bytes).flatMap { line -> [String] in
            ((try? JSONReader.parse(line.bytes))?.arrayValue ?? []).compactMap(\.stringValue)
        }
    }
}
