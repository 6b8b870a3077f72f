#!/usr/bin/env python3
"""The data steps of scripts/load.sh and scripts/load-replicas.sh (one subcommand each):

  sample VISITORS_JSONL N_TOKENS N_TERMS TOKENS_OUT CANDIDATES_OUT
  rooms NAV_JSONL N ROOMS_OUT
  terms ADDR AUTH_TOKEN USER_ID CANDIDATES TERMS_OUT TOKENS KINDS_OUT
"""
import sys

def sample():
    """A reproducible random sample of the visitors: N_TOKENS tokens (one a line) and, from the first
    N_TERMS of them, one candidate search term each (kind TAB url-encoded term)."""
    import json, random, sys, urllib.parse
    path, n_tokens, n_terms, tokens_out, terms_out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
    rng = random.Random(7)
    sample = []  # reservoir of raw lines
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if len(sample) < n_tokens:
                sample.append(line)
            else:
                j = rng.randrange(i + 1)
                if j < n_tokens:
                    sample[j] = line
    rng.shuffle(sample)
    docs = [json.loads(l) for l in sample]
    with open(tokens_out, "w") as out:
        for d in docs:
            out.write(d["token"] + "\n")

    def candidates(d):
        """The selective terms an agent might type for this visitor, best first by kind."""
        emails = [e.get("address", "") for e in d.get("visitorEmails") or [] if e.get("address")]
        phones = [p.get("phoneNumber", "") for p in d.get("phone") or [] if p.get("phoneNumber")]
        local = emails[0].split("@")[0] if emails else ""
        return {
            "email": emails[0] if emails else None,
            "local": local if len(local) >= 6 and any(c.isdigit() for c in local) else None,
            "phone": phones[0] if phones else None,
            "name": d.get("name") if d.get("name") and " " in d["name"] else None,
            "username": d.get("username"),
        }

    kinds = ["email", "local", "phone", "name", "username"]
    seen = set()
    with open(terms_out, "w") as out:
        for i, d in enumerate(docs[:n_terms]):
            c = candidates(d)
            for k in kinds[i % len(kinds):] + kinds[:i % len(kinds)]:
                if c[k] and c[k] not in seen:
                    seen.add(c[k])
                    out.write(k + "\t" + urllib.parse.quote(c[k], safe="") + "\n")
                    break


def rooms():
    """Up to N distinct (token, room) pairs of the navigation entries that are in a room, sampled
    reproducibly (token TAB rid, one a line)."""
    import json, random, sys
    path, n, out_path = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    rng = random.Random(7)
    pairs, seen, k = [], set(), 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if '"rid"' not in line:
                continue
            d = json.loads(line)
            pair = (d["navigation"]["token"], d["rid"])
            if pair in seen:
                continue
            seen.add(pair)
            k += 1
            if len(pairs) < n:
                pairs.append(pair)
            elif (j := rng.randrange(k)) < n:
                pairs[j] = pair
    with open(out_path, "w") as out:
        for token, rid in pairs:
            out.write(token + "\t" + rid + "\n")


def terms():
    """Every candidate term against a running server: keeps those with 1 <= total <= 100 (term a
    line; kind TAB term in KINDS_OUT); 50 sampled tokens must be found (else the store is not made
    from the same visitors)."""
    import http.client, json, sys
    addr, auth, uid, cand, out_path, tokens_path, kinds_path = sys.argv[2:9]
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    def get(path, headers={}):
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    with open(tokens_path) as f:
        tokens = [l.strip() for l in f][:50]
    missing = [t for t in tokens if get("/api/v1/livechat/visitor/" + t)[0] != 200]
    if missing:
        sys.exit(f"{len(missing)} of {len(tokens)} sampled tokens are not in the store (first: {missing[0]}); "
                 "is the store made from this jsonl?")
    hdr = {"X-Auth-Token": auth, "X-User-Id": uid}
    kept, dropped, totals = {}, {}, []
    with open(cand) as f, open(out_path, "w") as out, open(kinds_path, "w") as kinds_out:
        for line in f:
            kind, term = line.rstrip("\n").split("\t")
            status, body = get("/api/v1/livechat/visitors.search?term=" + term, hdr)
            if status != 200:
                sys.exit(f"search {term}: HTTP {status} {body[:200]!r}")
            total = json.loads(body)["total"]
            if 1 <= total <= 100:
                out.write(term + "\n")
                kinds_out.write(kind + "\t" + term + "\n")
                kept[kind] = kept.get(kind, 0) + 1
                totals.append(total)
            else:
                dropped[kind] = dropped.get(kind, 0) + 1
    totals.sort()
    n = len(totals)
    if n < 20:
        sys.exit(f"only {n} selective terms (dropped {dropped})")
    print(f"kept {n} terms {dict(sorted(kept.items()))}, dropped {sum(dropped.values())} {dict(sorted(dropped.items()))}; "
          f"total per term: median {totals[n // 2]}, max {totals[-1]}")


if __name__ == "__main__":
    commands = {"sample": sample, "rooms": rooms, "terms": terms}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]]()
