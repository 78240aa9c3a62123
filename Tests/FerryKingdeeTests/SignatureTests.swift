import FerryKingdee
import Testing

struct SignatureTests {
    @Test func placeholder() {}
}
