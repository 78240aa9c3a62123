#!/usr/bin/env python3
"""Expected values for Ferry's decimal conversions and comparisons, computed with Python's `decimal`.

Run once from the repository root:  python3 Fixtures/decimals/generate.py
It rewrites conversions.jsonl and comparisons.jsonl beside it (deterministic: fixed seed). The Swift
tests (Tests/FerryTemplateTests/DecimalOracleTests.swift) check Ferry's fast and general paths against them.

What Ferry promises (README, "type", "scale" and "Spaces"): a decimal is
`W*[+-]?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?W*`, where W is a code point with Unicode's White_Space
property (WHITE_SPACE below; not Python's `str.isspace`, which also takes U+001C..U+001F), with an
exponent of at most 1000 either way; it is kept exactly with its scale, or rounded half away from zero
(ROUND_HALF_UP in Python's terms) or padded to `scale` digits; a zero never has a minus sign. An
integer must have no fraction different from zero. A value that is empty or only white space is empty.
"""
import decimal
import json
import os
import random
import re

decimal.getcontext().prec = 6000
decimal.getcontext().Emax = 100000
decimal.getcontext().Emin = -100000
# Unicode's White_Space property (PropList.txt), the scalars Ferry trims (`Unicode.Scalar.isTrimmedSpace`).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"
PATTERN = re.compile(r"^[%s]*[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?[%s]*\Z" % (WHITE_SPACE, WHITE_SPACE))
HERE = os.path.dirname(os.path.abspath(__file__))


def parse(text):
    """The exact value, or None when Ferry must refuse the text."""
    if not PATTERN.match(text):
        return None
    body = text.strip(WHITE_SPACE)
    m = re.search(r"[eE]([+-]?[0-9]+)$", body)
    if m and abs(int(m.group(1))) > 1000:
        return None
    return decimal.Decimal(body)


def plain(d):
    s = format(d, "f")
    if d.is_zero() and s.startswith("-"):
        s = s[1:]
    return s


def blank(text):
    return text.strip(WHITE_SPACE) == ""


def convert(text, kind, scale):
    if blank(text):
        return {"empty": True}
    d = parse(text)
    if d is None:
        return {"failure": True}
    if kind == "decimal":
        if scale is not None:
            d = d.quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
        elif d.as_tuple().exponent > 0:
            d = d.quantize(decimal.Decimal(1))
        return {"value": plain(d)}
    if d != d.to_integral_value():
        return {"failure": True}
    return {"value": plain(d.quantize(decimal.Decimal(1)))}


def digits(rng, n, leading_zero_ok=True):
    s = "".join(rng.choice("0123456789") for _ in range(n))
    if not leading_zero_ok and n > 1 and s[0] == "0":
        s = rng.choice("123456789") + s[1:]
    return s


def random_text(rng):
    sign = rng.choice(["", "", "", "-", "-", "+"])
    length = rng.choice([1, 1, 2, 3, 5, 8, 17, 18, 19, 20, 25, 40])
    integer = digits(rng, length, leading_zero_ok=rng.random() < 0.2)
    if rng.random() < 0.2:
        integer = "0"
    text = sign + integer
    if rng.random() < 0.7:
        frac_len = rng.choice([1, 2, 3, 4, 4, 4, 5, 6, 10, 18, 19, 21, 30])
        frac = digits(rng, frac_len)
        if rng.random() < 0.3:
            # A 5 (or 4, or 9s) just past a likely scale: the rounding edge.
            cut = rng.randint(0, frac_len - 1)
            frac = frac[:cut] + rng.choice(["5", "50", "500", "4999", "9", "99995"]) + frac[cut + 1:]
        if rng.random() < 0.2:
            frac = frac + "0" * rng.randint(1, 4)
        text += "." + frac
    if rng.random() < 0.1:
        text += rng.choice(["e", "E"]) + rng.choice(["", "+", "-"]) + str(rng.choice([0, 1, 2, 3, 5, 18, 20, 999]))
    if rng.random() < 0.1:
        text = rng.choice([" ", "  ", "\t"]) + text
    if rng.random() < 0.1:
        text = text + rng.choice([" ", "  ", "\t"])
    return text


EDGES = [
    "0", "-0", "+0", "0.0000", "-0.0000", "00", "-00.000", "119.0000", "12.30", "-12.30", "007", "-007.50",
    "9.995", "-9.995", "0.5", "-0.5", "0.4999", "-0.0049", "-0.005", "99.95", "999.9995",
    "999999999999999999", "-999999999999999999", "999999999999999999.5", "99999999999999999.95",
    "9999999999999999999", "99999999999999999999", "12345678901234567890.123456789",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "922337203685477580.7",
    "0.000000000000000001", "0.0000000000000000005", "1e3", "1E-2", "1e+2", "1.5e-2", "-1.50E1", "0e5",
    "1e2", "1e1000", "1e-1000", "1e1001", "1e-1001", "5e-21", "5e-3", "0e-1001",
    "1e-9223372036854775808", "1e9223372036854775807", "1e-9223372036854775809", "1e99999999999999999999",
    " 12.5 ", "  12.5", "12.5\t", "\t-3.10\t", "+5", "+0.50", "+-5", "-+5", "--5", "- 5", "5-",
    "", " ", "\t", "  \t ", "1.", ".5", "-.5", "1..2", "1.2.3", "1,000", "1_000", "0x10", "1e", "1e+", "e3",
    "12.50元", "¥12.50", "１２", "１２.５", "12 .5", "1 000", "NaN", "Infinity", "-Infinity", "1e3.5",
    "12.5\n", "\u00a012.5", "\u300012.5", "١٢", "Ⅻ",
]

# White space around a number, and what is not White_Space or not around it. Kept apart from EDGES (and
# checked after the random values) so that adding them leaves the rows before them as they were.
SPACES = [
    "12.5\u3000", "\u3000\u3000-12.345\u00a0", "\r\n0.125\r\n", "\u2028+007\u0085", "\u000b5\u000c", "\u30001e3\u3000",
    "\u1680119.0000\u205f", "\u2000-0\u200a", "\u202f9.995\u2029", "\u3000", "\u00a0\u3000\n", "12\u3000.5",
    "1\u00a0000", "-\u300012", "1e\u30003", "\u200b12.5", "12.5\u200b", "\ufeff12.5", "\x1c12.5", "12.5\x1f",
    "12.5\u0301", " \u030112.5", "\u3000１２",
]


def main():
    rng = random.Random(20261130)
    texts = list(EDGES) + [random_text(rng) for _ in range(800)] + SPACES
    scales = [None, 0, 1, 2, 4, 10, 20]
    with open(os.path.join(HERE, "conversions.jsonl"), "w", encoding="utf-8") as out:
        for text in texts:
            for scale in scales:
                row = {"text": text, "type": "decimal", "scale": scale}
                row.update(convert(text, "decimal", scale))
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            row = {"text": text, "type": "integer", "scale": None}
            row.update(convert(text, "integer", None))
            out.write(json.dumps(row, ensure_ascii=False) + "\n")

    # Comparisons: a value's text against a number literal of a `when` condition, and two values.
    literals = ["0", "-0", "0.0000", "1", "-1", "80", "99", "99.999", "100", "0.5", "-0.5",
                "999999999999999999", "1000000000000000000", "0.000000000000000001", "12.3"]
    values = list(EDGES) + [random_text(rng) for _ in range(800)]
    with open(os.path.join(HERE, "comparisons.jsonl"), "w", encoding="utf-8") as out:
        for n, value in enumerate(values + SPACES):
            for literal in literals if n < len(EDGES) or n >= len(values) else rng.sample(literals, 4):
                a, b = parse(value), parse(literal)
                order = None if a is None else (a > b) - (a < b)
                out.write(json.dumps({"value": value, "literal": literal, "order": order}, ensure_ascii=False) + "\n")
            other = rng.choice(values)
            a, b = parse(value), parse(other)
            order = None if a is None or b is None else (a > b) - (a < b)
            out.write(json.dumps({"value": value, "other": other, "order": order}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
