// Ferry's one rule for white space. It lives here, under every stage, so that the template and transform
// (FerryTemplate, FerryTransform) and the load (FerryKingdee, which does not see FerryTemplate) decide alike.

extension Unicode.Scalar {
    /// Whether this is white space as Ferry trims and blank-checks text: a scalar with Unicode's White_Space
    /// property (space, tab, line breaks, the no-break and full-width spaces). Decided per scalar, not per
    /// `Character`: a space followed by a combining mark (" \u{301}") is a space and a mark, so trimming drops
    /// the space and keeps the mark, and "X \u{301}" has no space at its end. Lookup files, `<map>` entries,
    /// the value looked up, the blank check, the space around a decimal or integer (`ExactDecimal`, so fields
    /// and conditions alike), the transform's and the load's bill-number checks all use this one rule.
    @inlinable public var isTrimmedSpace: Bool { properties.isWhitespace }
}

extension String {
    /// The string without white space (`Unicode.Scalar.isTrimmedSpace`: Unicode's, full-width spaces
    /// included) at either end; the string itself when it has none.
    public func trimmingCharactersInSpaces() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end && scalars[start].isTrimmedSpace { start = scalars.index(after: start) }
        while end > start && scalars[scalars.index(before: end)].isTrimmedSpace { end = scalars.index(before: end) }
        if start == scalars.startIndex && end == scalars.endIndex { return self }
        return String(scalars[start..<end])
    }

    /// Whether `trimmingCharactersInSpaces()` would change the string: its first or last scalar is white space.
    /// Most texts start and end with ASCII that is not white space, which two bytes settle without Unicode's
    /// property tables (this runs for every value a lookup misses, and for every bill number).
    @inlinable public var hasSpaceAtEitherEnd: Bool {
        func mayBeSpace(_ byte: UInt8) -> Bool { byte >= 0x80 || byte == 0x20 || (0x09...0x0D).contains(byte) }
        guard let firstByte = utf8.first, let lastByte = utf8.last, mayBeSpace(firstByte) || mayBeSpace(lastByte),
            let first = unicodeScalars.first, let last = unicodeScalars.last
        else { return false }
        return first.isTrimmedSpace || last.isTrimmedSpace
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// The bounds of this UTF-8 text without white space (`Unicode.Scalar.isTrimmedSpace`) at either end, as
    /// `String.trimmingCharactersInSpaces()` would trim it. An ASCII byte at an end is decided by its value
    /// alone; only a scalar beyond ASCII there is decoded and looked up in Unicode's properties, so plain ASCII
    /// text ("119.0000") costs two byte compares and no allocation. Numbers are trimmed by it.
    func boundsWithoutSpaces() -> Range<Int> {
        @inline(__always) func isASCIISpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        /// The scalar whose `length` bytes start at `lead`; nil when they are not one (not valid UTF-8).
        func scalar(at lead: Int, length: Int) -> Unicode.Scalar? {
            let byte = self[lead]
            let expected = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 0
            guard length == expected else { return nil }
            var value = UInt32(byte) & (0x7F >> length)
            for i in (lead + 1)..<(lead + length) { value = value << 6 | UInt32(self[i] & 0x3F) }
            return Unicode.Scalar(value)
        }
        var start = 0
        var end = count
        while start < end {
            let byte = self[start]
            if byte < 0x80 {
                guard isASCIISpace(byte) else { break }
                start += 1
            } else {
                var next = start + 1
                while next < end && self[next] & 0xC0 == 0x80 { next += 1 }
                guard scalar(at: start, length: next - start)?.isTrimmedSpace == true else { break }
                start = next
            }
        }
        while end > start {
            let byte = self[end - 1]
            if byte < 0x80 {
                guard isASCIISpace(byte) else { break }
                end -= 1
            } else {
                var lead = end - 1
                while lead > start && self[lead] & 0xC0 == 0x80 { lead -= 1 }
                guard scalar(at: lead, length: end - lead)?.isTrimmedSpace == true else { break }
                end = lead
            }
        }
        return start..<end
    }
}
