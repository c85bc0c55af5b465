#!/usr/bin/env python3
"""Lists public declarations in Sources/ that lack a `///` doc comment (exit 1 if any)."""
import pathlib, re, sys
missing = []
for p in sorted(pathlib.Path(__file__).resolve().parent.parent.joinpath("Sources").rglob("*.swift")):
    lines = p.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*(@\w+(\(.*\))?\s+)*public\s", line) and not re.match(r"\s*public\s+(import)", line):
            j = i - 1
            while j >= 0 and re.match(r"\s*@", lines[j]):
                j -= 1
            if j < 0 or not lines[j].strip().startswith("///"):
                missing.append(f"{p}:{i+1}: {line.strip()}")
print("\n".join(missing) if missing else "all public declarations documented")
sys.exit(1 if missing else 0)
