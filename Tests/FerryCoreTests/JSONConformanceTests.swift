import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Conformance cases in the style of JSONTestSuite (y_ must parse, n_ must be rejected), and round-trips
/// against Python's `json` module on random documents.
@Suite struct JSONConformanceTests {
    @Test(arguments: [
        "[1E22]", "[-1e-300]", "[\"\\u0000\"]", "[[]   ]", "{\"\":0}", "[\"\\uD834\\uDD1E\"]", "[0.000001]", "[-0]",
        "{\"a\":[],\"b\":{}}", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[1.5e+10]", "\"\\u2028\\u2029\"", "[\"ö\"]", "[123456789012345678901234567890]",
        "[false, true, null]", "{\"a\":{\"a\":{\"a\":[1,2,{\"b\":\"c\"}]}}}", "[\"\u{1F600}\"]",
    ])
    func yParses(text: String) throws {
        _ = try JSONReader.parse(text)
    }

    @Test(arguments: [
        "[1,]", "{\"a\":1,}", "[NaN]", "[Infinity]", "[-]", "[.1]", "[1e]", "[\"\\u00\"]", "[0x1]", "[\"a\" \"b\"]",
        "{1:2}", "[\"\t\"]", "[1.e5]", "[+1]", "{\"a\" : }", "[\"\\uDD1E\"]", "[\"\\uD834\"]", "[\"\\uD834\\u0041\"]", "[1 2]",
        "{\"a\":1 \"b\":2}", "[nul]", "[True]", "]", "{", "\"abc", "[\"\\a\"]", "[00]", "[-01]", "[1]x", "[1] [2]",
    ])
    func nIsRejected(text: String) {
        #expect(throws: JSONSyntaxError.self, "\(text)") { try JSONReader.parse(text) }
    }

    @Test func randomDocumentsRoundTripThroughPython() throws {
        let dir = TestSupport.makeTemporaryDirectory("ferry-json-roundtrip")
        // Python writes random documents (ASCII-escaped and not, every escape, surrogate pairs, deep nesting,
        // big and small numbers), Ferry reads each and writes it back compactly, Python checks both mean the same.
        let script = """
            import json, random, sys, decimal
            random.seed(20261129)
            def s():
                pool = 'abcXYZ 中文"\\\\/\\n\\t\\r\\b\\f\\u0001\\u2028😀é'
                return ''.join(random.choice(pool) for _ in range(random.randint(0, 12)))
            def v(d):
                r = random.random()
                if d > 6 or r < 0.3:
                    c = random.randint(0, 6)
                    return [None, True, False, random.randint(-10**20, 10**20), s(),
                            decimal.Decimal(str(random.uniform(-1e6, 1e6))).quantize(decimal.Decimal('0.0001')),
                            random.randint(0, 9) * 10 ** random.randint(-5, 5)][c]
                if r < 0.65:
                    return [v(d + 1) for _ in range(random.randint(0, 5))]
                return {s(): v(d + 1) for _ in range(random.randint(0, 5))}
            class E(json.JSONEncoder):
                def default(self, o):
                    if isinstance(o, decimal.Decimal): return float(o)
                    return super().default(o)
            with open(sys.argv[1], 'w', encoding='utf-8') as f:
                for i in range(300):
                    doc = {'id': i, 'v': v(0), 'deep': [[[[[[[[[[i]]]]]]]]]]}
                    f.write(json.dumps(doc, ensure_ascii=bool(i % 2), cls=E) + '\\n')
            """
        try FileSystem.writeAtomically(script, to: dir + "/gen.py")
        let gen = try TestSupport.run("/usr/bin/env", ["python3", dir + "/gen.py", dir + "/in.jsonl"])
        #expect(gen.status == 0, "\(gen.stderr)")
        let lines = JSONReader.parseLines(try FileSystem.read(dir + "/in.jsonl"))
        #expect(lines.count == 300)
        var out: [UInt8] = []
        for line in lines {
            guard case .success(let value) = line.result else {
                Issue.record("line \(line.number) did not parse")
                continue
            }
            JSONWriter(style: .compact).write(value, into: &out, indent: 0)
            out.append(0x0A)
        }
        try FileSystem.writeAtomically(out, to: dir + "/out.jsonl")
        let check = try TestSupport.run(
            "/usr/bin/env",
            [
                "python3", "-c",
                "import json,sys,decimal\nD=decimal.Decimal\na=[json.loads(l,parse_float=D) for l in open(sys.argv[1],encoding='utf-8')]\nb=[json.loads(l,parse_float=D) for l in open(sys.argv[2],encoding='utf-8')]\nassert len(a)==len(b)==300\nbad=[i for i,(x,y) in enumerate(zip(a,b)) if x!=y]\nprint('ok' if not bad else 'differ: %s' % bad[:5])",
                dir + "/in.jsonl", dir + "/out.jsonl",
            ])
        #expect(check.stdout == "ok\n", "\(check.stdout) \(check.stderr)")
    }
}
