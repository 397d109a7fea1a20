"""Regenerate 000_references.tsv and 003_references.tsv from the two seed reviews (developer tool; tests never run it).

Usage: python3 tests/data/seeds/extract_references.py /path/to/seeds

Seed 000 (Lin et al.): after '**References**', references 1-35 are '- ' bullets (numbered by order) and 36-139 are
'n. ' lines. Seed 003 (Wilczynski et al. 2024): after the line 'References', 1-26 are '- ' bullets and 27-175 are
'n. ' lines. Printed numbers must continue the bullet count, and the list must be complete (checked here).
"""
import re
import sys
from pathlib import Path

SEEDS = {"000": "000_87ceed3f47a27ea7.txt", "003": "003_26fa38c77c722e11.txt"}
START = {"000": "**References**", "003": "References"}
END = {"000": "## Publisher's Note", "003": "Publisher's note"}


def references(text: str, seed: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == START[seed])
    entries: list[str] = []
    for line in lines[start + 1:]:
        if line.strip() == END[seed]:
            break
        if line.startswith("- "):
            entries.append(line[2:].strip())
        elif m := re.match(r"(\d+)\. (.*)", line):
            if int(m.group(1)) != len(entries) + 1:
                raise ValueError(f"seed {seed}: printed number {m.group(1)} after {len(entries)} entries")
            entries.append(m.group(2).strip())
        elif line.strip():
            raise ValueError(f"seed {seed}: unexpected line in the reference list: {line[:80]!r}")
    return entries


def main(seed_dir: str) -> None:
    out = Path(__file__).parent
    for seed, name in SEEDS.items():
        entries = references((Path(seed_dir) / name).read_text(encoding="utf-8"), seed)
        rows = [f"# Reference list of seed {seed} ({name}), one row per reference, text as printed; "
                f"regenerate with extract_references.py", "number\ttext"]
        rows += [f"{i}\t{text}" for i, text in enumerate(entries, 1)]
        (out / f"{seed}_references.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(seed, len(entries))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/seeds")
