/// File names made from document numbers, safe on every common file system.
///
/// Letters (including Chinese), digits, `-`, `_` and `.` are kept. Anything else (`/`, `\`, `:`, `*`, `?`,
/// `"`, `<`, `>`, `|`, spaces, control characters), a leading dot, a name that would collide with Ferry's
/// own files (`manifest`, `*.reject`, `*.receipt`, `*.error`) or an over-long name is replaced, and a short
/// hash of the original is appended, so two different numbers never share a file name.
public enum SafeFileName {
    /// Longest base name kept (in bytes), well under the usual 255-byte limit.
    public static let maximumBytes = 120

    /// A safe base name (without extension) for `number`.
    public static func make(_ number: String) -> String {
        isSafeAsItIs(number) ? number : general(number)
    }

    /// `make` for any text (the fast path's reference in tests).
    static func general(_ number: String) -> String {
        var out = ""
        var changed = false
        for scalar in number.unicodeScalars {
            if scalar.isASCII {
                let v = scalar.value
                let ok = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x2D
                    || v == 0x5F || v == 0x2E
                if ok {
                    out.unicodeScalars.append(scalar)
                } else {
                    out.append("_")
                    changed = true
                }
                continue
            }
            let ok = (scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "-" || scalar == "_"
                || scalar == ".") && scalar.value >= 0x20 && scalar.value != 0x7F
            if ok {
                out.unicodeScalars.append(scalar)
            } else {
                out.append("_")
                changed = true
            }
        }
        if out.hasPrefix(".") {
            out = "_" + out.dropFirst()
            changed = true
        }
        let lower = out.lowercased()
        if out.isEmpty || lower == "manifest" || lower.hasSuffix(".reject") || lower.hasSuffix(".receipt")
            || lower.hasSuffix(".error") || lower.hasSuffix(".json")
        {
            changed = true
        }
        if out.utf8.count > maximumBytes {
            while out.utf8.count > maximumBytes { out.removeLast() }
            changed = true
        }
        if changed {
            out += "~" + String(Hashing.sha256Hex(number).prefix(8))
        }
        return out
    }

    /// Whether `make` would give `number` back unchanged, decided from its bytes alone (no allocation):
    /// ASCII letters, digits, `-` and `_`, short enough, and not `manifest`. Bill numbers nearly always are
    /// (`RK0000000001`). A dot, or anything else, takes the general path.
    static func isSafeAsItIs(_ number: String) -> Bool {
        let bytes = number.utf8
        guard !bytes.isEmpty, bytes.count <= maximumBytes else { return false }
        for v in bytes {
            let ok = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x2D
                || v == 0x5F
            if !ok { return false }
        }
        return !(bytes.count == 8 && bytes.elementsEqual("manifest".utf8) { $0 | 0x20 == $1 })
    }
}
