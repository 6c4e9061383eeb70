#!/usr/bin/env python3
"""The module graph in the README ("### Module graph") is the one that
libmail/CMakeLists.txt builds (its facteur_layer(NAME USES ...) lines)."""
import re
import sys

top = sys.argv[1]
cmake = open(f"{top}/libmail/CMakeLists.txt").read()
built = {}
for m in re.finditer(r"^facteur_layer\((\w+)([^)]*)\)", cmake, re.M):
    uses = re.search(r"USES ([a-z ]+?)(?: LIBS|$)", m.group(2).strip())
    built[m.group(1)] = sorted(uses.group(1).split()) if uses else []
readme = open(f"{top}/README.md").read()
table = readme.split("### Module graph", 1)[1].split("\n## ", 1)[0]
documented = {}
for line in table.splitlines():
    f = line.split()
    if len(f) >= 2 and line.startswith("    ") and f[0] != "module":
        documented[f[0]] = sorted(x for x in f[1:] if x != "-")
if built != documented:
    for name in sorted(set(built) | set(documented)):
        if built.get(name) != documented.get(name):
            print(f"{name}: built {built.get(name)}, README says {documented.get(name)}")
    sys.exit(1)
print(f"{len(built)} modules, README and CMake agree")
