#!/usr/bin/env python3
"""Registers N users and logs each in once, 8 at a time; writes their access tokens.

    fill.py BASE_URL N TOKEN_FILE [EMAIL_PREFIX]

Used by bench/run.sh to fill the session cache and the verified-token cache to their default
size before measuring the server's peak memory. Exits 1 when a request fails.
"""
import http.client
import json
import sys
import threading
import urllib.parse


def worker(base, indexes, prefix, tokens, failures):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = {"Content-Type": "application/json"}
    for i in indexes:
        body = json.dumps({"email": f"{prefix}{i}@bench.example", "password": f"fillpassword{i}"})
        for path, expected in (("/create", 201), ("/login", 200)):
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status != expected:
                failures.append(f"{path} answered {response.status}: {payload[:200]!r}")
                return
        tokens[i] = json.loads(payload)["access_token"]


def main() -> int:
    base, n, token_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    prefix = sys.argv[4] if len(sys.argv) > 4 else "fill"
    tokens = [None] * n
    failures = []
    threads = [
        threading.Thread(target=worker, args=(base, range(k, n, 8), prefix, tokens, failures))
        for k in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(f"fill.py: {len(failures)} failures, the first: {failures[0]}", file=sys.stderr)
        return 1
    with open(token_file, "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
