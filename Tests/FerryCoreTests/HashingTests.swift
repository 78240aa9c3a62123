import FerryCore
import Testing

@Suite struct HashingTests {
    /// The byte-array path (payloads, inputs) and the generic one (any `DataProtocol`) give the same, known
    /// digests.
    @Test func sha256HexMatchesKnownDigestsOnEveryPath() {
        let abc = Array("abc".utf8)
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        #expect(Hashing.sha256Hex(abc) == expected)
        #expect(Hashing.sha256Hex("abc") == expected)
        #expect(Hashing.sha256Hex(abc[...]) == expected)
        #expect(Hashing.sha256Hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var state: UInt64 = 7
        for count in [1, 55, 56, 63, 64, 65, 1000] {
            let bytes = (0..<count).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1
                return UInt8(truncatingIfNeeded: state >> 56)
            }
            #expect(Hashing.sha256Hex(bytes) == Hashing.sha256Hex(bytes[...]), "\(count) bytes")
        }
        #expect(Hashing.hex([0x00, 0x0F, 0xA5, 0xFF]) == "000fa5ff")
    }
}
