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
        // FIPS 180-2, appendix B.3: one million 'a's (many blocks); and a slice of a larger array.
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(Hashing.sha256Hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(Hashing.sha256Hex(Array("xabcx".utf8).dropFirst().dropLast()) == expected)
    }

    /// The signatures' digests give the published test vectors: MD5 (RFC 1321, appendix A.5) for WDT and
    /// Qimen, HMAC-SHA256 (RFC 4231, test cases 1 and 2) for Kingdee; beyond them, values of Python's `hmac`:
    /// a key longer than a block, empty key and message, UTF-8 text.
    @Test func signatureDigestsMatchTheRFCVectors() {
        #expect(Hashing.md5Hex("") == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(Hashing.md5Hex("abc") == "900150983cd24fb0d6963f7d28e17f72")
        #expect(Hashing.md5Hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890")
            == "57edf4a22be3c955ac49da2e2107b67a")
        // Python: hashlib.md5("旺店通".encode()).hexdigest(): text is hashed as UTF-8.
        #expect(Hashing.md5Hex("旺店通") == "1529257884109cbac97e9d24ffa25003")
        let key1 = String(repeating: "\u{0B}", count: 20)
        #expect(Hashing.hmacSHA256Hex(key: key1, message: "Hi There")
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(Hashing.hmacSHA256Hex(key: "Jefe", message: "what do ya want for nothing?")
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Hashing.hmacSHA256Hex(
            key: String(repeating: "k", count: 131), message: "Test Using Larger Than Block-Size Key - Hash Key First")
            == "70e4b005732fa7ff79392aa24fb240159b925dbc9f1398420c0f45e6763dcf14")
        #expect(Hashing.hmacSHA256Hex(key: "", message: "")
            == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
        #expect(Hashing.hmacSHA256Hex(key: "金蝶密钥", message: "POST&%2Fk3cloud%2F")
            == "9a3c0b277099b21fcad25e6b1256c25941ec6648dad4ffb3788c2f5a7a101891")
    }
}
