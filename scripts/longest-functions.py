#!/usr/bin/env python3
"""The longest functions (and initialisers, closures assigned to properties are not counted) in Swift
sources, by lines from the declaration to its closing brace. Usage: longest-functions.py [DIR] [N]."""
import os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else "Sources"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
declaration = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|static|override|mutating|nonisolated|final|class)\s+)*(?:func\s+[^\s(<]+|init[?!]?)\s*[(<]")
found = []
for directory, _, files in os.walk(root):
    for name in files:
        if not name.endswith(".swift"):
            continue
        path = os.path.join(directory, name)
        lines = open(path, encoding="utf-8").read().split("\n")
        index = 0
        while index < len(lines):
            if declaration.match(lines[index]) and not lines[index].strip().startswith("//"):
                depth, started, end = 0, False, None
                for number in range(index, len(lines)):
                    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', lines[number].split("//")[0])
                    depth += text.count("{") - text.count("}")
                    if "{" in text:
                        started = True
                    if started and depth <= 0:
                        end = number
                        break
                    if not started and number > index + 12:
                        break  # a protocol requirement: no body
                if end is not None:
                    found.append((end - index + 1, path, index + 1, lines[index].strip()[:90]))
            index += 1
found.sort(reverse=True)
for length, path, line, text in found[:count]:
    print(f"{length:5d}  {path}:{line}  {text}")
