import FerryCore

/// The two request signatures WDT accepts. Pure functions; the secret never leaves them.
public enum WDTSignature {
    /// The Qimen/TOP `sign_method=md5` signature: uppercase hex MD5 of
    /// `secret + k1 v1 k2 v2 … + secret`, keys sorted by byte order, every parameter except `sign`.
    ///
    /// - Parameters:
    ///   - parameters: all request parameters (system and business).
    ///   - secret: the Qimen app secret.
    /// - Returns: 32 uppercase hex digits.
    public static func qimen(_ parameters: [String: String], secret: String) -> String {
        Hashing.md5Hex(qimenSigningString(parameters, secret: secret)).uppercased()
    }

    /// The string the Qimen signature hashes (exposed for tests and for the sandbox's diagnostics).
    public static func qimenSigningString(_ parameters: [String: String], secret: String) -> String {
        var out = secret
        for key in sortedKeys(parameters) where key != "sign" {
            out += key
            out += parameters[key] ?? ""
        }
        return out + secret
    }

    /// The classic WDT open-API signature: lowercase hex MD5 of the packed parameters followed by the secret.
    ///
    /// - Parameters:
    ///   - parameters: `sid`, `appkey`, `timestamp` and the business parameters.
    ///   - secret: the WDT app secret.
    ///   - counting: how value lengths are counted (characters, like the official SDKs, by default).
    /// - Returns: 32 lowercase hex digits.
    public static func openAPI(
        _ parameters: [String: String], secret: String, counting: WDTLengthCounting = .characters
    ) -> String {
        Hashing.md5Hex(openAPIPacked(parameters, counting: counting) + secret)
    }

    /// The packed form `%02d-key:%04d-value` joined with `;`, keys sorted, `sign` left out.
    ///
    /// Lengths wider than the field are written in full (`%04d` of 12345 is `12345`), as in PHP and Java.
    public static func openAPIPacked(_ parameters: [String: String], counting: WDTLengthCounting = .characters) -> String {
        var pieces: [String] = []
        for key in sortedKeys(parameters) where key != "sign" {
            let value = parameters[key] ?? ""
            pieces.append("\(pad(length(key, counting), 2))-\(key):\(pad(length(value, counting), 4))-\(value)")
        }
        return pieces.joined(separator: ";")
    }

    static func sortedKeys(_ parameters: [String: String]) -> [String] {
        parameters.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    static func length(_ text: String, _ counting: WDTLengthCounting) -> Int {
        switch counting {
        case .characters: return text.unicodeScalars.count
        case .bytes: return text.utf8.count
        }
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
