"""Summarise a py-spy `--format raw` profile: the functions with the most samples.

    py-spy record --format raw -o prof.txt -- <command>
    .venv/bin/python -m bench.hotspots prof.txt

"self" counts samples where the function was on top of the stack; "total" counts samples
where it was anywhere on the stack (once per sample).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def summarize(path: Path, top: int = 25) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        samples += count
        frames = [frame.split(" (")[0] + " " + frame.rsplit("/", 1)[-1].rstrip(")")
                  for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"{samples} samples", "self%  total%  function"]
    for frame, _ in total.most_common(top):
        lines.append(f"{100 * own[frame] / samples:5.1f}  {100 * total[frame] / samples:6.1f}"
                     f"  {frame}")
    lines.append("-- by self time --")
    for frame, count in own.most_common(top):
        lines.append(f"{100 * count / samples:5.1f}  {100 * total[frame] / samples:6.1f}"
                     f"  {frame}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
