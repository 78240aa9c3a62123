import COpenSSL
import Foundation

/// The hashes Ferry uses: SHA-256 for manifests and receipts, MD5 and HMAC-SHA256 for API signatures.
///
/// Computed by OpenSSL's libcrypto (the system's, through `COpenSSL`): SwiftNIO's TLS already compiles a
/// copy of BoringSSL, and swift-crypto compiled a second one into every build (README, *Dependencies*).
public enum Hashing {
    /// Lowercase hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: some DataProtocol) -> String {
        bytes.withContiguousStorageIfAvailable { digestHex(.sha256, UnsafeRawBufferPointer($0)) }
            ?? sha256Hex(Array(bytes))
    }

    /// Lowercase hex SHA-256 of the UTF-8 of `text`.
    public static func sha256Hex(_ text: String) -> String {
        sha256Hex(Array(text.utf8))
    }

    /// Lowercase hex MD5 of the UTF-8 of `text` (WDT and Qimen signatures only; not for security).
    public static func md5Hex(_ text: String) -> String {
        Array(text.utf8).withUnsafeBytes { digestHex(.md5, $0) }
    }

    /// Lowercase hex HMAC-SHA256 of `message` keyed with `key` (both as UTF-8).
    public static func hmacSHA256Hex(key: String, message: String) -> String {
        let key = Array(key.utf8)
        let message = Array(message.utf8)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { out in
            var length = 0
            let done = withNonNullBase(key) { key, keyCount in
                withNonNullBase(message) { message, messageCount in
                    EVP_Q_mac(
                        Algorithm.library.context, "HMAC", nil, "SHA2-256", nil, key, keyCount,
                        message.assumingMemoryBound(to: UInt8.self), messageCount, out.baseAddress, out.count, &length)
                }
            }
            guard done != nil else { Algorithm.sha256.failed() }
            return hex(raw: UnsafeRawBufferPointer(start: out.baseAddress, count: length))
        }
    }

    /// Lowercase hex of a byte sequence.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        Array(bytes).withUnsafeBytes(hex(raw:))
    }

    /// Lowercase hex SHA-256 of `bytes`: the digest's bytes go straight into the string (every payload's
    /// SHA-256 is made here).
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { digestHex(.sha256, $0) }
    }

    /// A digest libcrypto makes, fetched from its provider once (a fetch per call would look the algorithm
    /// up by name each time, under a lock).
    private enum Algorithm {
        case sha256, md5

        /// Ferry's own library context, with OpenSSL's default provider loaded, and the digests fetched from it.
        /// Its own, so the system's OpenSSL configuration does not decide what Ferry can hash (a FIPS-only one has
        /// no MD5, which WDT's signatures need) and is not read at each start (~0.8 ms). No clean-up at exit:
        /// `ferry` ends with `exit()` while other threads may still be hashing (a Kingdee request's signature),
        /// and libcrypto's would free the provider under them. Fetched EVP_MDs are immutable and may be used from
        /// any thread at once.
        nonisolated(unsafe) static let library: (context: OpaquePointer?, sha256: OpaquePointer?, md5: OpaquePointer?) = {
            _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_NO_LOAD_CONFIG), nil)
            let context = OSSL_LIB_CTX_new()
            guard context != nil, OSSL_PROVIDER_load(context, "default") != nil else { return (nil, nil, nil) }
            return (context, EVP_MD_fetch(context, "SHA2-256", nil), EVP_MD_fetch(context, "MD5", nil))
        }()

        var method: OpaquePointer? {
            switch self {
            case .sha256: Self.library.sha256
            case .md5: Self.library.md5
            }
        }

        /// libcrypto could not make the digest: its installation is broken (no default provider?), which no
        /// input causes.
        func failed() -> Never {
            fatalError(
                "OpenSSL's libcrypto could not compute \(self == .sha256 ? "SHA-256" : "MD5"); check the system's "
                    + "OpenSSL 3 installation (openssl version -a; openssl list -digest-algorithms)")
        }
    }

    /// Calls `body` with the bytes' address and count; an empty array's may be nil, libcrypto is given a
    /// valid one whatever the count.
    private static func withNonNullBase<R>(_ bytes: [UInt8], _ body: (UnsafeRawPointer, Int) -> R) -> R {
        bytes.withUnsafeBytes { withNonNullBase($0, body) }
    }

    private static func withNonNullBase<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawPointer, Int) -> R) -> R {
        if let base = bytes.baseAddress { return body(base, bytes.count) }
        var none: UInt8 = 0
        return withUnsafeBytes(of: &none) { body($0.baseAddress!, 0) }
    }

    /// Lowercase hex of `algorithm`'s digest of `bytes`, made in one temporary buffer and the string.
    private static func digestHex(_ algorithm: Algorithm, _ bytes: UnsafeRawBufferPointer) -> String {
        guard let method = algorithm.method else { algorithm.failed() }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { out in
            var length: UInt32 = 0
            guard withNonNullBase(bytes, { EVP_Digest($0, $1, out.baseAddress, &length, method, nil) }) == 1 else {
                algorithm.failed()
            }
            return hex(raw: UnsafeRawBufferPointer(start: out.baseAddress, count: Int(length)))
        }
    }

    /// Lowercase hex of raw bytes, made in one allocation (the string's own).
    private static func hex(raw: UnsafeRawBufferPointer) -> String {
        let digits = ("0123456789abcdef" as StaticString).utf8Start
        return String(unsafeUninitializedCapacity: 2 * raw.count) { out in
            for (i, byte) in raw.enumerated() {
                out[2 * i] = digits[Int(byte >> 4)]
                out[2 * i + 1] = digits[Int(byte & 0x0F)]
            }
            return 2 * raw.count
        }
    }
}
