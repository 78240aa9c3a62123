import FerryCore

/// A `when` condition: comparisons of document fields with literals, combined with `and`, `or`, `not`
/// and parentheses. Small on purpose, and checked when the template is validated.
///
/// ```
/// status == 80
/// goods_count > 0 and not (remark == '赠品')
/// order_type == 6 or order_type == 4
/// batch_no            (true when the field is present and not empty)
/// ```
/// Comparisons are numeric (exact decimals) when both sides are numbers, textual otherwise; `<`, `<=`,
/// `>`, `>=` are false unless both sides are numbers. A missing field equals only `null`. A value is a number
/// as a `type="decimal"` field reads it (`ExactDecimal`, white space around it dropped: "\u{3000}12" is 12).
public indirect enum Expression: Sendable, Hashable {
    case or(Expression, Expression)
    case and(Expression, Expression)
    case not(Expression)
    case compare(Operand, Comparison, Operand)
    /// True when the operand is present and not empty, `false`, or `0`.
    case truthy(Operand)

    /// A comparison operator.
    public enum Comparison: String, Sendable, Hashable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    }

    /// One side of a comparison.
    public enum Operand: Sendable, Hashable {
        case path(ValuePath)
        case number(ExactDecimal)
        case string(String)
        case bool(Bool)
        case null

        /// A quoted literal.
        var isText: Bool {
            if case .string = self { return true }
            return false
        }
    }

    /// Why an expression is not valid, with the character position.
    public struct SyntaxError: Error, Sendable {
        /// What is wrong.
        public var message: String
    }

    /// Parses an expression.
    ///
    /// - Throws: `SyntaxError` naming the unexpected token and what was expected.
    public init(parsing text: String) throws(SyntaxError) {
        var parser = ExpressionParser(text: text)
        self = try parser.parseAll()
    }

    /// Why a condition cannot be decided for a document (an order comparison on a value that is not a number).
    public struct Undecidable: Error, Sendable, Hashable {
        /// The path whose value is the problem, as written.
        public var path: String
        /// The same path, parsed (for its JSON path: `../warehouse_no` names the enclosing document's).
        public var valuePath: ValuePath?
        /// What is wrong, e.g. `goods_count is 'ten', not a number, so 'goods_count > 0' cannot be decided`.
        public var message: String
    }

    /// Evaluates the expression; `resolve` gives the value of a path (nil when missing).
    ///
    /// - Throws: `Undecidable` when `<`, `<=`, `>` or `>=` meets a value that is missing or not a number:
    ///   such a document must be reported, not silently filtered.
    public func evaluate(_ resolve: (ValuePath) -> JSONValue?) throws(Undecidable) -> Bool {
        switch self {
        case .or(let a, let b):
            if try a.evaluate(resolve) { return true }
            return try b.evaluate(resolve)
        case .and(let a, let b):
            if try !a.evaluate(resolve) { return false }
            return try b.evaluate(resolve)
        case .not(let a): return try !a.evaluate(resolve)
        case .truthy(let operand):
            switch Self.value(operand, resolve) {
            case .none, .some(.null): return false
            case .some(.bool(let b)): return b
            case .some(.number(let n)): return !(ExactDecimal(n)?.isZero ?? false)
            // WDT sends numbers as strings or numbers: "0" is as false as 0. Only white space (" ", U+3000) is
            // as empty as "", as a field and a lookup read it (`ValueConversion.isBlank`).
            case .some(.string(let s)): return !ValueConversion.isBlank(s) && !(ExactDecimal(s)?.isZero ?? false)
            case .some(.array(let a)): return !a.isEmpty
            case .some(.object(let o)): return !o.isEmpty
            }
        case .compare(let lhs, let op, let rhs):
            let a = Self.value(lhs, resolve)
            let b = Self.value(rhs, resolve)
            // A quoted literal is text: `warehouse_no != '001'` keeps "1" (codes with leading zeros).
            if op == .equal || op == .notEqual, lhs.isText || rhs.isText {
                let aText = a == .null ? nil : a?.scalarText
                let bText = b == .null ? nil : b?.scalarText
                let same = aText != nil && aText == bText
                return op == .equal ? same : !same
            }
            // Plain numbers on both sides (`status == 80`, `goods_count > 0` with "2.0000", the usual case)
            // compare without making decimals; the result is the one the decimals would give.
            if let x = Self.small(lhs, a), let y = Self.small(rhs, b), let order = ExactDecimal.Small.compare(x, y) {
                switch op {
                case .equal: return order == 0
                case .notEqual: return order != 0
                case .less: return order < 0
                case .lessOrEqual: return order <= 0
                case .greater: return order > 0
                case .greaterOrEqual: return order >= 0
                }
            }
            // Each side as a number, parsed once (a literal number is already one).
            let x = Self.number(lhs, a)
            let y = Self.number(rhs, b)
            let isOrder = op != .equal && op != .notEqual
            if isOrder {
                if x == nil, case .path(let path) = lhs { throw undecidable(path, a) }
                if y == nil, case .path(let path) = rhs { throw undecidable(path, b) }
            }
            let aNull = a == nil || a == .null
            let bNull = b == nil || b == .null
            if aNull || bNull {
                switch op {
                case .equal: return aNull && bNull
                case .notEqual: return aNull != bNull
                default: return false
                }
            }
            if let x, let y {
                switch op {
                case .equal: return x == y
                case .notEqual: return x != y
                case .less: return x < y
                case .lessOrEqual: return x <= y
                case .greater: return x > y
                case .greaterOrEqual: return x >= y
                }
            }
            let aText = a?.scalarText
            let bText = b?.scalarText
            switch op {
            case .equal: return aText != nil && aText == bText
            case .notEqual: return aText == nil || aText != bText
            default: return false
            }
        }
    }

    /// The operand as a small decimal, when it is one written plainly (a literal, or a value's text); a value
    /// with white space around it is left to `number`, which reads it as a field does.
    private static func small(_ operand: Operand, _ value: JSONValue?) -> ExactDecimal.Small? {
        if case .number(let literal) = operand { return literal.small }
        switch value {
        case .some(.number(let text)), .some(.string(let text)): return ExactDecimal.small(text)
        default: return nil
        }
    }

    /// The operand as an exact decimal, when it is a number or a value whose text is one.
    private static func number(_ operand: Operand, _ value: JSONValue?) -> ExactDecimal? {
        if case .number(let literal) = operand { return literal }
        return value?.scalarText.flatMap(ExactDecimal.init)
    }

    /// `goods_count is 'ten', not a number, so 'goods_count > 0' cannot be decided`.
    private func undecidable(_ path: ValuePath, _ value: JSONValue?) -> Undecidable {
        let shown = value?.scalarText.map { "'\($0)'" } ?? (value == nil || value == .null ? "missing" : value!.kindDescription)
        return Undecidable(path: path.text, valuePath: path, message: "\(path.text) is \(shown), not a number, so '\(self.text)' cannot be decided")
    }

    /// The expression written back as text (for messages).
    public var text: String {
        switch self {
        case .or(let a, let b): return "\(a.text) or \(b.text)"
        case .and(let a, let b): return "\(Self.grouped(a)) and \(Self.grouped(b))"
        case .not(let a): return "not \(Self.grouped(a))"
        case .truthy(let o): return Self.text(o)
        case .compare(let a, let op, let b): return "\(Self.text(a)) \(op.rawValue) \(Self.text(b))"
        }
    }

    private static func grouped(_ e: Expression) -> String {
        if case .or = e { return "(\(e.text))" }
        return e.text
    }

    private static func text(_ operand: Operand) -> String {
        switch operand {
        case .path(let p): return p.text
        case .number(let n): return n.description
        case .string(let s): return "'\(s)'"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    private static func value(_ operand: Operand, _ resolve: (ValuePath) -> JSONValue?) -> JSONValue? {
        switch operand {
        case .path(let path): return resolve(path)
        case .number(let n): return .number(n.description)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .null: return .null
        }
    }

    /// Every path the expression reads.
    public var paths: [ValuePath] {
        switch self {
        case .or(let a, let b), .and(let a, let b): return a.paths + b.paths
        case .not(let a): return a.paths
        case .truthy(let o): return Self.paths(o)
        case .compare(let a, _, let b): return Self.paths(a) + Self.paths(b)
        }
    }

    private static func paths(_ operand: Operand) -> [ValuePath] {
        if case .path(let p) = operand { return [p] }
        return []
    }
}

private struct ExpressionParser {
    enum Token: Equatable {
        case word(String)
        case number(String)
        case string(String)
        case op(String)
        case open, close
        case end
    }

    var tokens: [(token: Token, position: Int)] = []
    var index = 0
    let text: String

    init(text: String) {
        self.text = text
    }

    mutating func tokenize() throws(Expression.SyntaxError) {
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let ch = chars[i]
            let start = i
            if ch.isWhitespace { i += 1; continue }
            if ch == "(" { tokens.append((.open, start)); i += 1; continue }
            if ch == ")" { tokens.append((.close, start)); i += 1; continue }
            if ch == "'" || ch == "\"" {
                var j = i + 1
                var value = ""
                while j < chars.count && chars[j] != ch {
                    if chars[j] == "\\" && j + 1 < chars.count {
                        j += 1
                    }
                    value.append(chars[j])
                    j += 1
                }
                guard j < chars.count else {
                    throw .init(message: "unterminated string starting at position \(start + 1) in '\(text)'")
                }
                tokens.append((.string(value), start))
                i = j + 1
                continue
            }
            if "=!<>&|".contains(ch) {
                var op = String(ch)
                if i + 1 < chars.count, "=&|".contains(chars[i + 1]) { op.append(chars[i + 1]) }
                let valid = ["==", "!=", "<", "<=", ">", ">=", "&&", "||", "!"]
                guard valid.contains(op) else {
                    throw .init(message: "unknown operator '\(op)' at position \(start + 1) in '\(text)'; use ==, !=, <, <=, >, >=, and, or, not")
                }
                tokens.append((.op(op), start))
                i += op.count
                continue
            }
            if ch.isNumber || (ch == "-" && i + 1 < chars.count && chars[i + 1].isNumber) {
                var j = i + 1
                while j < chars.count && (chars[j].isNumber || chars[j] == ".") { j += 1 }
                tokens.append((.number(String(chars[i..<j])), start))
                i = j
                continue
            }
            var j = i
            while j < chars.count && !chars[j].isWhitespace && !"()=!<>&|'\"".contains(chars[j]) { j += 1 }
            if j == i {
                throw .init(message: "unexpected '\(ch)' at position \(start + 1) in '\(text)'")
            }
            tokens.append((.word(String(chars[i..<j])), start))
            i = j
        }
        tokens.append((.end, chars.count))
    }

    var current: Token { tokens[index].token }

    func failure(_ expected: String) -> Expression.SyntaxError {
        let position = tokens[index].position + 1
        let found: String
        switch current {
        case .end: found = "the end"
        case .word(let w): found = "'\(w)'"
        case .number(let n): found = "'\(n)'"
        case .string(let s): found = "'\(s)'"
        case .op(let o): found = "'\(o)'"
        case .open: found = "'('"
        case .close: found = "')'"
        }
        return .init(message: "expected \(expected) but found \(found) at position \(position) in '\(text)'")
    }

    mutating func parseAll() throws(Expression.SyntaxError) -> Expression {
        try tokenize()
        let expression = try parseOr()
        guard current == .end else { throw failure("'and', 'or' or the end") }
        return expression
    }

    mutating func parseOr() throws(Expression.SyntaxError) -> Expression {
        var left = try parseAnd()
        while current == .word("or") || current == .op("||") {
            index += 1
            left = .or(left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws(Expression.SyntaxError) -> Expression {
        var left = try parseNot()
        while current == .word("and") || current == .op("&&") {
            index += 1
            left = .and(left, try parseNot())
        }
        return left
    }

    mutating func parseNot() throws(Expression.SyntaxError) -> Expression {
        if current == .word("not") || current == .op("!") {
            index += 1
            return .not(try parseNot())
        }
        if current == .open {
            index += 1
            let inner = try parseOr()
            guard current == .close else { throw failure("')'") }
            index += 1
            return inner
        }
        let left = try parseOperand()
        if case .op(let symbol) = current, let comparison = Expression.Comparison(rawValue: symbol) {
            index += 1
            let right = try parseOperand()
            return .compare(left, comparison, right)
        }
        return .truthy(left)
    }

    mutating func parseOperand() throws(Expression.SyntaxError) -> Expression.Operand {
        switch current {
        case .number(let text):
            guard let value = ExactDecimal(text) else { throw failure("a number") }
            index += 1
            return .number(value)
        case .string(let s):
            index += 1
            return .string(s)
        case .word(let w):
            if ["and", "or", "not"].contains(w) { throw failure("a field name or a value") }
            index += 1
            switch w {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null": return .null
            default:
                do {
                    return .path(try ValuePath(parsing: w))
                } catch {
                    throw .init(message: error.message)
                }
            }
        default:
            throw failure("a field name or a value")
        }
    }
}
