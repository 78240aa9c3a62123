import FerryCore
import Foundation

/// The "API signature" header scheme of the official Kingdee SDKs 7.3+/8.x (`X-Api-*`, `X-Kd-*` headers).
///
/// Byte-for-byte the algorithm of the official Python SDK `kingdee-cdp-webapi-sdk` 8.2.0
/// (`WebApiClient.BuildHeader`, `encode_util.DecodeAppSecret`, `hmac_util.HmacSHA256`): timestamps and
/// nonces in Unix seconds, the URL path percent-encoded with `/` as `%2F`, HMAC-SHA256 rendered as
/// Base64 of the lowercase hex digest. Used by the client to sign and by the sandbox to verify.
/// Pure: no clock, no environment.
public enum KingdeeSignature {
    /// The XOR seed the SDKs use to decode the secret half of an app id (`xOrSec` in the Java SDK).
    static let xorSeed = Array("0054f397c6234378b09ca7d3e5debce7".utf8)

    /// The identity a signature is computed for.
    public struct Identity: Sendable, Hashable {
        /// 账套 id (data-centre id).
        public var acctID: String
        /// The integration user's login name.
        public var username: String
        /// The app id from 第三方系统登录授权, `<clientId>_<32 characters>`.
        public var appID: String
        /// The app secret that goes with `appID`.
        public var appSecret: String
        /// Language id (2052 Simplified Chinese).
        public var lcid: Int
        /// Organisation number sent in `X-Kd-Appdata` (the SDK default is 0).
        public var orgNumber: String

        /// Creates an identity.
        public init(acctID: String, username: String, appID: String, appSecret: String, lcid: Int, orgNumber: String) {
            self.acctID = acctID
            self.username = username
            self.appID = appID
            self.appSecret = appSecret
            self.lcid = lcid
            self.orgNumber = orgNumber
        }
    }

    /// Header names, spelled as the Python SDK spells them.
    public enum Header {
        /// `X-Api-ClientID`: the client id half of the app id.
        public static let clientID = "X-Api-ClientID"
        /// `X-Api-Auth-Version`: always `2.0`.
        public static let authVersion = "X-Api-Auth-Version"
        /// `x-api-timestamp`: Unix seconds.
        public static let timestamp = "x-api-timestamp"
        /// `x-api-nonce`: the timestamp again, as the SDKs send it.
        public static let nonce = "x-api-nonce"
        /// `x-api-signheaders`: which headers are signed.
        public static let signHeaders = "x-api-signheaders"
        /// `X-Api-Signature`: signature of method, path, nonce and timestamp.
        public static let signature = "X-Api-Signature"
        /// `X-Kd-Appkey`: the full app id.
        public static let appKey = "X-Kd-Appkey"
        /// `X-Kd-Appdata`: Base64 of `acct,user,lcid,org`.
        public static let appData = "X-Kd-Appdata"
        /// `X-Kd-Signature`: signature of app id and app data with the app secret.
        public static let kdSignature = "X-Kd-Signature"
    }

    /// The nine signature headers for a POST to `url`, in the SDK's order.
    ///
    /// - Parameters:
    ///   - url: the full service URL (`…/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc`).
    ///   - identity: who signs.
    ///   - timestamp: Unix seconds, as text; also used as the nonce, as both SDKs do.
    /// - Returns: `(name, value)` pairs.
    public static func headers(url: String, identity: Identity, timestamp: String) -> [(String, String)] {
        let path = encodedPath(url)
        let (clientID, clientSecret) = splitAppID(identity.appID)
        let stringToSign = "POST\n\(path)\n\nx-api-nonce:\(timestamp)\nx-api-timestamp:\(timestamp)\n"
        let appData = appDataText(identity)
        return [
            (Header.clientID, clientID),
            (Header.authVersion, "2.0"),
            (Header.timestamp, timestamp),
            (Header.nonce, timestamp),
            (Header.signHeaders, "x-api-timestamp,x-api-nonce"),
            (Header.signature, kdHmac(stringToSign, key: clientSecret)),
            (Header.appKey, identity.appID),
            (Header.appData, Data(appData.utf8).base64EncodedString()),
            (Header.kdSignature, kdHmac(identity.appID + appData, key: identity.appSecret)),
        ]
    }

    /// `"{acctId},{userName},{lcid},{orgNum}"`, the plain text behind `X-Kd-Appdata`.
    public static func appDataText(_ identity: Identity) -> String {
        "\(identity.acctID),\(identity.username),\(identity.lcid),\(identity.orgNumber)"
    }

    /// `Base64(lowercaseHex(HMAC-SHA256(key, message)))`, the SDKs' `HmacSHA256`.
    public static func kdHmac(_ message: String, key: String) -> String {
        Data(Hashing.hmacSHA256Hex(key: key, message: message).utf8).base64EncodedString()
    }

    /// Splits an app id into the client id and the decoded client secret (`("", "")` when the id is not
    /// `<clientId>_<secret>`; an empty secret when the second part is not 32 Base64 characters, as in Python).
    public static func splitAppID(_ appID: String) -> (clientID: String, clientSecret: String) {
        let parts = appID.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return ("", "") }
        return (String(parts[0]), decodeClientSecret(String(parts[1])))
    }

    /// Decodes the 32-character half of an app id: Base64-decode, XOR with the SDK seed, Base64-encode.
    public static func decodeClientSecret(_ text: String) -> String {
        guard text.utf8.count == 32, let bytes = Data(base64Encoded: text) else { return "" }
        var out: [UInt8] = []
        for (i, byte) in bytes.enumerated() { out.append(byte ^ xorSeed[i % xorSeed.count]) }
        return Data(out).base64EncodedString()
    }

    /// The URL's path (from the first `/` at or after character 10), percent-encoded as Python's
    /// `quote(path)` does, then `/` → `%2F`.
    public static func encodedPath(_ url: String) -> String {
        var path = url
        if url.hasPrefix("http") {
            let chars = Array(url)
            if chars.count > 10, let slash = chars[10...].firstIndex(of: "/") {
                path = String(chars[slash...])
            }
        }
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }
}
