#!/usr/bin/env python3
"""scripts/load.sh: the generated JSON lines as CSV for the PostgreSQL peer's COPY.

Usage: to_csv.py visitors IN.jsonl OUT.csv | to_csv.py nav IN.jsonl OUT.csv
       to_csv.py terms TERMS_WITH_KINDS OUT.csv   (lines "kind<TAB>url-encoded term")
"""
import csv
import json
import re
import sys
import urllib.parse


def first(d, key, field):
    items = d.get(key) or []
    return items[0].get(field) if items and isinstance(items[0], dict) else None


def date(v):
    return v.get("$date") if isinstance(v, dict) else v


def visitors(src, out):
    for line in src:
        d = json.loads(line)
        email = first(d, "visitorEmails", "address")
        out.writerow([d["_id"], d["token"], d.get("username", ""), d.get("name"),
                      email.strip().lower() if email else None, first(d, "phone", "phoneNumber"),
                      d.get("status", "offline"), date(d["ts"]), date(d.get("_updatedAt", d["ts"])),
                      json.dumps(d["livechatData"], ensure_ascii=False) if d.get("livechatData") else None])


def nav(src, out):
    for line in src:
        d = json.loads(line)
        n = d["navigation"]
        out.writerow([d["_id"], n["token"], d.get("rid"), date(d["ts"]), n["page"]["title"],
                      n["page"]["location"]["href"], n["page"].get("change", "url")])


def terms(src, out):
    """A LIKE pattern per term: phone terms by their digits (visitord matches a phone's digits)."""
    for i, line in enumerate(src, 1):
        kind, term = line.rstrip("\n").split("\t")
        term = urllib.parse.unquote(term)
        t = re.sub(r"\D", "", term) if kind == "phone" else term.lower()
        t = t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.writerow([i, "%" + t + "%"])


def main():
    kind, src, dst = sys.argv[1:4]
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8", newline="") as o:
        {"visitors": visitors, "nav": nav, "terms": terms}[kind](f, csv.writer(o))


if __name__ == "__main__":
    main()
