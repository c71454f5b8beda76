#!/usr/bin/env python3
"""Finds import cycles between the modules of each crate of the workspace.

A module is a source file (`foo.rs` or `foo/mod.rs` is module `foo`). An edge A -> B is any
path `crate::B…` or `super::…` written in A (in `use` lines and in expressions alike), resolved
to the deepest module file that exists. Edges from a module to one of its own ancestors or
descendants are left out: a parent declaring its children, and a child using its parent's
items, is how Rust modules nest, not a cycle. Test-only files (`*_tests.rs`, `*_props.rs`,
`tests/`) are left out. Exits 1 and prints each cycle when there is one.

    python3 scripts/module-cycles.py            # every crate under crates/ and src/
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
GROUP = re.compile(r"\b(crate|super)::\{([^;]*?)\}\s*;", re.S)


def modules(src: Path) -> dict:
    """Module path (tuple) -> file, for one crate's src folder."""
    found = {}
    for file in src.rglob("*.rs"):
        rel = file.relative_to(src)
        if file.name.endswith(("_tests.rs", "_props.rs")) or "tests" in rel.parts[:-1]:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "mod":
            parts.pop()
        if parts == ["main"] and (src / "lib.rs").exists():
            continue  # the binary: a crate of its own, on top of the library
        if parts in (["lib"], ["main"]):
            parts = []
        found[tuple(parts)] = file
    return found


def resolve(known: dict, path: tuple):
    while path and path not in known:
        path = path[:-1]
    return path


def edges(known: dict, module: tuple, text: str):
    text = re.sub(r"//[^\n]*", "", text)
    targets = set()

    def add(root: str, segments: list):
        base = () if root == "crate" else module[:-1]
        target = resolve(known, base + tuple(segments))
        targets.add(target)

    for match in GROUP.finditer(text):
        for item in re.split(r",", match.group(2)):
            item = item.strip()
            if item:
                add(match.group(1), [s for s in re.split(r"::", item) if s.isidentifier()][:3])
    for match in PATH.finditer(text):
        segments = [s for s in match.group(2).split("::") if s and s != "{"]
        add(match.group(1), segments)
    for target in targets:
        nested = target[: len(module)] == module or module[: len(target)] == target
        if not nested:
            yield target


def cycles(graph: dict):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    crates = sorted(p / "src" for p in (root / "crates").iterdir() if (p / "src").is_dir())
    crates.append(root / "src")
    bad = 0
    for src in crates:
        known = modules(src)
        graph = {m: set(edges(known, m, f.read_text())) - {m} for m, f in known.items()}
        name = src.parent.name if src.parent != root else "auth-server"
        found = cycles(graph)
        for component in found:
            bad += 1
            shown = ", ".join("::".join(m) or "(root)" for m in component)
            print(f"{name}: import cycle between {shown}")
        if not found:
            print(f"{name}: {len(known)} modules, no import cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
