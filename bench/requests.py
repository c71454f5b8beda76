#!/usr/bin/env python3
"""Sends N requests, one after another on one keep-alive connection, and checks each answer.

    requests.py BASE_URL METHOD PATH N [--token-file F] [--body-file F] [--refresh-key K]

With --token-file, request i carries `Authorization: Bearer <line i mod count>`. With
--body-file, each line is one JSON body (request i sends line i mod count). With
--refresh-key K, the bodies are `{"K": token}` built from the token file, and each answer's
new refresh token replaces the one used, so that rotation never refuses a token twice.
Exits 1 on the first non-2xx answer. Used by bench/instructions.sh: the server's instruction
count is read around a run of this script, so it must send exactly N requests and nothing else.
"""
import argparse
import http.client
import json
import sys
import urllib.parse


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("method")
    parser.add_argument("path")
    parser.add_argument("n", type=int)
    parser.add_argument("--token-file")
    parser.add_argument("--body-file")
    parser.add_argument("--refresh-key")
    args = parser.parse_args()

    url = urllib.parse.urlsplit(args.base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    tokens = []
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            tokens = [line.strip() for line in f if line.strip()]
    bodies = []
    if args.body_file:
        with open(args.body_file, encoding="utf-8") as f:
            bodies = [line.strip() for line in f if line.strip()]

    for i in range(args.n):
        headers = {}
        body = None
        if args.refresh_key:
            slot = i % len(tokens)
            body = json.dumps({args.refresh_key: tokens[slot]})
        elif tokens:
            headers["Authorization"] = "Bearer " + tokens[i % len(tokens)]
        if bodies:
            body = bodies[i % len(bodies)]
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(args.method, args.path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        if not 200 <= response.status < 300:
            print(f"requests.py: {args.method} {args.path} answered {response.status}: "
                  f"{payload[:200]!r}", file=sys.stderr)
            return 1
        if args.refresh_key:
            tokens[slot] = json.loads(payload)[args.refresh_key]
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
