import Testing

@testable import FerryCore

@Suite struct SafeFileNameTests {
    /// The allocation-free path for plain bill numbers gives exactly what the general path gives.
    @Test func thePlainNamePathAgreesWithTheGeneralOne() {
        var state: UInt64 = 0x1234_5678_9ABC_DEF1
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let pieces = ["RK", "rk", "0", "9", "-", "_", ".", "/", " ", "入库", "MANIFEST", "manifest", "Manifest", ".json",
            ".reject", "~", "é", "A", "z", String(repeating: "x", count: 60)]
        var plain = 0
        for _ in 0..<20_000 {
            var text = ""
            for _ in 0..<next(4) { text += pieces[next(pieces.count)] }
            #expect(SafeFileName.make(text) == SafeFileName.general(text), "\(text)")
            if SafeFileName.isSafeAsItIs(text) { plain += 1 }
        }
        #expect(plain > 1000, "the random names must exercise the fast path too")
        #expect(SafeFileName.isSafeAsItIs("RK0000000001"))
        #expect(!SafeFileName.isSafeAsItIs("MaNiFeSt") && !SafeFileName.isSafeAsItIs("") && !SafeFileName.isSafeAsItIs("a.b"))
    }
}
