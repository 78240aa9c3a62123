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
        let digits: StaticString = "0123456789abcdef"
        // One allocation (the string itself) instead of a growing array and a copy: every payload's
        // SHA-256 goes through here.
        let count = bytes.underestimatedCount
        var out: [UInt8] = []
        out.reserveCapacity(2 * count)
        let table = digits.utf8Start
        for byte in bytes {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex SHA-256 of `bytes`, made without intermediate arrays.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        let digest = bytes.withUnsafeBytes { SHA256.hash(data: $0) }
        let table = ("0123456789abcdef" as StaticString).utf8Start
        return String(unsafeUninitializedCapacity: 2 * SHA256.byteCount) { out in
            var i = 0
            digest.withUnsafeBytes { raw in
                for byte in raw {
                    out[i] = table[Int(byte >> 4)]
                    out[i + 1] = table[Int(byte & 0x0F)]
                    i += 2
                }
            }
            return i
        }
    }
}
