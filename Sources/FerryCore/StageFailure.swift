/// A stage could not run at all (bad template, missing setting, unreadable input path): every reason,
/// each as a `Diagnostic`. The CLI prints them all and exits with code 2.
public struct StageFailure: Error, Sendable {
    /// The reasons, in the order found.
    public var diagnostics: [Diagnostic]

    /// Creates a failure from its reasons.
    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }
}
