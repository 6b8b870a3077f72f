#!/usr/bin/env python3
"""Deterministic generator of Livechat navigation history for the visitors of gen_visitors.py.

Usage: gen_navigation.py VISITORS ENTRIES SEED OUT.jsonl      (OUT "-" writes to stdout)

One JSON object per line in the shape of Rocket.Chat's `livechat_navigation_history` messages as
mongoexport writes them, which `visitord import --navigation` reads:
  {"_id", "rid"?, "t": "livechat_navigation_history", "ts": {"$date"}, "msg",
   "navigation": {"token", "page": {"title", "change": "url", "location": {"href"}}}}
  token   the token of visitor i of `gen_visitors.py VISITORS SEED` (left(md5("<SEED>:<i>"), 17));
          visitors are drawn with a heavy tail (a few visitors browse a lot, most a little)
  rid     30 % of the visitors had a chat: room_id(i) = left(md5("room:<SEED>:<i>"), 17); 60 % of
          their entries are in that room, the rest room-less (before or after the chat)
  title, href   a shop-and-docs site: product, category, blog, help, search and checkout pages,
          some with query strings and campaign parameters, titles to match
  ts      spread over 2022-01 .. 2025-10 like the visitors' creation times
The same arguments give byte-identical output (chunks of 100,000 rows, each from its own RNG).
10,000,000 entries: ~2.3 GB, a few minutes on 2 cores.
"""
import hashlib
import json
import random
import sys
from datetime import datetime, timedelta, timezone

from gen_visitors import write_chunks  # same directory: the parallel, ordered chunk writer

ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"
CHUNK = 100_000
T0 = datetime(2022, 1, 1, tzinfo=timezone.utc)
SPAN_MS = int((datetime(2025, 10, 1, tzinfo=timezone.utc) - T0).total_seconds() * 1000)

PRODUCTS = ("wireless headphones,running shoes,espresso machine,standing desk,usb-c hub,mechanical keyboard,"
            "yoga mat,backpack,smart watch,air fryer,office chair,monitor arm,water bottle,rain jacket,"
            "bluetooth speaker,desk lamp,coffee grinder,travel adapter,phone case,hiking boots").split(",")
CATEGORIES = ("electronics,home-office,kitchen,outdoor,sports,fashion,accessories,gifts,sale,new-arrivals").split(",")
BLOG = ("how to choose a standing desk,10 tips for remote work,our sustainability report,"
        "spring collection is here,behind the scenes at our warehouse,black friday deals explained,"
        "caring for leather boots,the best coffee at home").split(",")
HELP = ("shipping times,returns and refunds,track my order,payment methods,warranty,change my address,"
        "cancel an order,gift cards,international delivery,contact support").split(",")
SEARCHES = "headphones shoes desk chair coffee gift sale black jacket usb lamp bag watch".split()
CAMPAIGNS = "newsletter spring_sale retargeting brand black_friday".split()
SOURCES = "google facebook instagram email bing".split()
LANGS = ("", "", "", "/pt-br", "/es", "/de", "/fr")


def slug(s):
    return s.replace(" ", "-")


def page(rng):
    """(title, path) of a page of the site."""
    r = rng.random()
    lang = rng.choice(LANGS)
    if r < 0.12:
        return "Acme Store - Home", f"{lang}/"
    if r < 0.40:
        p = rng.choice(PRODUCTS)
        n = rng.randrange(1000, 99999)
        variant = f"?color={rng.choice(('black', 'white', 'blue', 'red'))}" if rng.random() < 0.3 else ""
        return f"{p.title()} | Acme Store", f"{lang}/products/{slug(p)}-{n}{variant}"
    if r < 0.55:
        c = rng.choice(CATEGORIES)
        pg = f"?page={rng.randrange(2, 20)}" if rng.random() < 0.4 else ""
        return f"{c.replace('-', ' ').title()} | Acme Store", f"{lang}/c/{c}{pg}"
    if r < 0.65:
        q = rng.choice(SEARCHES)
        return f"Search results for \"{q}\" | Acme Store", f"{lang}/search?q={q}&sort=relevance"
    if r < 0.75:
        b = rng.choice(BLOG)
        return f"{b.capitalize()} - Acme Blog", f"/blog/{rng.randrange(2019, 2026)}/{slug(b)}"
    if r < 0.87:
        h = rng.choice(HELP)
        return f"{h.capitalize()} - Help Center", f"/help/articles/{rng.randrange(100000, 999999)}-{slug(h)}"
    if r < 0.95:
        step = rng.choice(("cart", "shipping", "payment", "review", "confirmation"))
        return f"Checkout - {step.title()} | Acme Store", f"/checkout/{step}"
    return "Pricing | Acme Store", "/pricing"


def token(seed, i):
    return hashlib.md5(f"{seed}:{i}".encode()).hexdigest()[:17]


def room_id(seed, i):
    """The room of visitor i, or None (30 % of the visitors have one)."""
    h = hashlib.md5(f"room:{seed}:{i}".encode()).hexdigest()
    return h[:17] if int(h[17:21], 16) % 10 < 3 else None


def gen_chunk(args):
    visitors, seed, lo, hi = args
    rng = random.Random(f"visitord-nav:{seed}:{lo}")
    table = bytes(ord(ID_ALPHABET[b % len(ID_ALPHABET)]) for b in range(256))
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    buf = []
    for k in range(lo, hi):
        # Heavy tail: u**3 puts ~half the entries on ~1/8 of the visitors.
        i = 1 + int(rng.random() ** 3 * visitors) if rng.random() < 0.5 else 1 + int(rng.random() * visitors)
        i = min(i, visitors)
        tok = token(seed, i)
        rid = room_id(seed, i)
        title, path = page(rng)
        if rng.random() < 0.1:
            sep = "&" if "?" in path else "?"
            path += f"{sep}utm_source={rng.choice(SOURCES)}&utm_campaign={rng.choice(CAMPAIGNS)}"
        href = "https://shop.acme.example" + path
        ts = T0 + timedelta(milliseconds=int(rng.random() * SPAN_MS))
        doc = {"_id": rng.randbytes(17).translate(table).decode("ascii")}
        if rid is not None and rng.random() < 0.6:
            doc["rid"] = rid
        doc["t"] = "livechat_navigation_history"
        doc["ts"] = {"$date": ts.isoformat(timespec="milliseconds")[:23] + "Z"}
        doc["msg"] = f"{title} - {href}"
        doc["navigation"] = {"token": tok, "page": {"title": title, "change": "url", "location": {"href": href}}}
        buf.append(dumps(doc))
    buf.append("")
    return "\n".join(buf)


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: gen_navigation.py VISITORS ENTRIES SEED OUT.jsonl")
    visitors, entries, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if visitors < 1:
        sys.exit("VISITORS must be at least 1")
    write_chunks(gen_chunk, [(visitors, seed, lo, min(lo + CHUNK, entries)) for lo in range(0, entries, CHUNK)], out)


if __name__ == "__main__":
    main()
