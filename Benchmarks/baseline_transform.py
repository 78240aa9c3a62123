#!/usr/bin/env python3
"""Baseline for Ferry's transform benchmark: the built-in scheme's mapping done by a plain Python script
with the standard `json` module.

Usage: baseline_transform.py INPUT_DIR OUTPUT_DIR [LOOKUPS_DIR]

It reads every *.json page under INPUT_DIR (Qimen or open-API pages, or JSON arrays), keeps the most
recent version of each stockin_no, applies wdt-stockin-to-kingdee-other-inbound 1.0.0 (org 100) and
writes <FBillNo>.json payloads byte-identical to Ferry's, plus <stockin_no>.reject.json files (whose
content is not compared). Scripts/bench.sh checks the payloads against Ferry's.
"""
import csv
import decimal
import json
import os
import re
import sys

ORG = "100"
OPTIONS = [("IsDeleteEntry", True), ("IsVerifyBaseDataField", True), ("ValidateFlag", True),
           ("NumberSearch", True), ("IsAutoSubmitAndAudit", False)]
MARK = "\x00D"
NUMBER_RE = re.compile(r'"\\u0000D([^"\\]*)\\u0000"')


class Num(str):
    """A JSON number kept as its text."""


def number(text):
    return MARK + text + "\x00"


def load_lookup(path, key, value):
    table = {}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                k = (row.get(key) or "").strip()
                if k:
                    table[k] = (row.get(value) or "").strip()
    return table


def text(v):
    if v is None or isinstance(v, (dict, list)):
        return None
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def dec(t):
    try:
        d = decimal.Decimal(t.strip())
    except (decimal.InvalidOperation, AttributeError):
        return None
    return d if d.is_finite() else None


DATE_RE = re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?)?$")


def date(t):
    m = DATE_RE.match(t.strip())
    if not m:
        return None
    return "%s-%s-%s" % m.group(1, 2, 3)


def decimal_text(t):
    """Ferry's ExactDecimal description of t: sign, digits, scale kept."""
    d = dec(t)
    if d is None:
        return None
    s = format(d, "f")
    if s.startswith("-") and dec(s) == 0:
        s = s[1:]
    return s


def transform(order, materials, warehouses):
    """Returns (payload, None) or (None, reasons) or (None, None) when filtered."""
    status = dec(text(order.get("status")) or "")
    if status is None or status != 80:
        return None, None
    reasons = []
    no = text(order.get("stockin_no"))
    if not no:
        reasons.append("FBillNo: required value is missing")
    fdate = None
    t = text(order.get("stockin_time"))
    if t:
        fdate = date(t)
        if fdate is None or fdate.startswith("0000"):
            reasons.append("FDate: not a date")
    else:
        reasons.append("FDate: required value is missing")
    parts = ["旺店通入库单"]
    for key in ("stockin_no", "order_type_name", "src_order_no"):
        v = text(order.get(key))
        if v:
            parts.append(v)
    note = " ".join(parts)
    entries = []
    warehouse = text(order.get("warehouse_no"))
    for line in order.get("details_list") or []:
        qty_text = text(line.get("goods_count"))
        qty = dec(qty_text) if qty_text else None
        if qty is None:
            reasons.append("line filter: goods_count is not a number")
            continue
        if qty <= 0:
            continue
        spec = text(line.get("spec_no"))
        if not spec:
            reasons.append("FMATERIALID: required value is missing")
            continue
        if not warehouse:
            reasons.append("FSTOCKID: required value is missing")
            continue
        price_text = text(line.get("cost_price")) or "0"
        price = decimal_text(price_text)
        if price is None:
            reasons.append("FPrice: not a decimal")
            continue
        entry = {
            "FMATERIALID": {"FNumber": materials.get(spec, spec)},
            "FSTOCKID": {"FNumber": warehouses.get(warehouse, warehouse)},
            "FSTOCKSTATUSID": {"FNumber": "KCZT01_SYS"},
            "FQty": number(decimal_text(qty_text)),
            "FPrice": number(price),
        }
        batch = text(line.get("batch_no"))
        if batch:
            entry["FLOT"] = {"FNumber": batch}
        remark = text(line.get("remark"))
        entry["FEntryNote"] = remark if remark is not None else ""
        entry["FOWNERTYPEID"] = "BD_OwnerOrg"
        entry["FOWNERID"] = {"FNumber": ORG}
        entry["FKEEPERTYPEID"] = "BD_KeeperOrg"
        entry["FKEEPERID"] = {"FNumber": ORG}
        entries.append(entry)
    if not entries and not reasons:
        reasons.append("FEntity: no lines left")
    if reasons:
        return None, reasons
    model = {
        "FBillNo": no, "FBillTypeID": {"FNUMBER": "QTRKD01_SYS"}, "FStockOrgId": {"FNumber": ORG},
        "FStockDirect": "GENERAL", "FDate": fdate, "FOwnerTypeIdHead": "BD_OwnerOrg",
        "FOwnerIdHead": {"FNumber": ORG}, "FNOTE": note, "FEntity": entries,
    }
    data = dict(OPTIONS)
    data["Model"] = model
    return {"formid": "STK_MISCELLANEOUS", "data": data}, None


def main():
    src, out = sys.argv[1], sys.argv[2]
    lookups = sys.argv[3] if len(sys.argv) > 3 else None
    materials = load_lookup(lookups and os.path.join(lookups, "materials.csv"), "spec_no", "kingdee_material_number")
    warehouses = load_lookup(lookups and os.path.join(lookups, "warehouses.csv"), "wdt_warehouse_no", "kingdee_stock_number")
    os.makedirs(out, exist_ok=True)
    files = []
    for root, dirs, names in os.walk(src):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".json") and name != "manifest.json":
                files.append(os.path.join(root, name))
    files.sort()
    best = {}
    orders = []
    for path in files:
        with open(path, "rb") as f:
            page = json.loads(f.read(), parse_float=Num, parse_int=Num)
        if isinstance(page, list):
            items = page
        else:
            body = page.get("response", page)
            items = body.get("stockin_list") or []
        for order in items:
            key = text(order.get("stockin_no"))
            version = text(order.get("modified")) or ""
            index = len(orders)
            orders.append(order)
            if key is None:
                continue
            if key not in best or version >= text(orders[best[key]].get("modified") or "") or "":
                best[key] = index
    for index, order in enumerate(orders):
        key = text(order.get("stockin_no"))
        if key is not None and best.get(key) != index:
            continue
        payload, reasons = transform(order, materials, warehouses)
        if payload is not None:
            body = json.dumps(payload, ensure_ascii=False, indent=2)
            body = NUMBER_RE.sub(lambda m: m.group(1), body) + "\n"
            with open(os.path.join(out, payload["data"]["Model"]["FBillNo"] + ".json"), "w", encoding="utf-8") as f:
                f.write(body)
        elif reasons:
            with open(os.path.join(out, (key or "no-key") + ".reject.json"), "w", encoding="utf-8") as f:
                json.dump({"key": key, "reasons": reasons}, f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
