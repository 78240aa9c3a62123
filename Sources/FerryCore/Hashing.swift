import Crypto
import Foundation

/// The hashes Ferry uses: SHA-256 for manifests and receipts, MD5 and HMAC-SHA256 for API signatures.
public enum Hashing {
    /// Lowercase hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: some DataProtocol) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Lowercase hex SHA-256 of the UTF-8 of `text`.
    public static func sha256Hex(_ text: String) -> String {
        sha256Hex(Array(text.utf8))
    }

    /// Lowercase hex MD5 of the UTF-8 of `text` (WDT and Qimen signatures only; not for security).
    public static func md5Hex(_ text: String) -> String {
        hex(Insecure.MD5.hash(data: Array(text.utf8)))
    }

    /// Lowercase hex HMAC-SHA256 of `message` keyed with `key` (both as UTF-8).
    public static func hmacSHA256Hex(key: String, message: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: Array(key.utf8)))
        return hex(mac)
    }

    /// Lowercase hex of a byte sequence.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        Array(bytes).withUnsafeBytes(hex(raw:))
    }

    /// Lowercase hex SHA-256 of `bytes`: the digest's bytes go straight into the string (every payload's
    /// SHA-256 is made here).
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { SHA256.hash(data: $0) }.withUnsafeBytes(hex(raw:))
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
