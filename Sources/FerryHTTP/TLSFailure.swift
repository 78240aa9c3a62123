import NIOPosix
import NIOSSL

/// Recognises TLS failures that no retry mends.
public enum TLSFailure {
    /// Whether `error` (from AsyncHTTPClient or SwiftNIO) says the server's certificate is not trusted or
    /// does not match its name.
    public static func isCertificateProblem(_ error: any Error) -> Bool {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname { return true }
        if case NIOSSLError.handshakeFailed = error {
            let text = String(describing: error)
            return text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed")
        }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.contains { isCertificateProblem($0.error) }
        }
        return false
    }
}
