// Ferry's one rule for white space. It lives here, under every stage, so that the template and transform
// (FerryTemplate, FerryTransform) and the load (FerryKingdee, which does not see FerryTemplate) decide alike.

extension Unicode.Scalar {
    /// Whether this is white space as Ferry trims and blank-checks text: a scalar with Unicode's White_Space
    /// property (space, tab, line breaks, the no-break and full-width spaces). Decided per scalar, not per
    /// `Character`: a space followed by a combining mark (" \u{301}") is a space and a mark, so trimming drops
    /// the space and keeps the mark, and "X \u{301}" has no space at its end. Lookup files, `<map>` entries,
    /// the value looked up, the blank check, the transform's and the load's bill-number checks all use this
    /// one rule.
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
