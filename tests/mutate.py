"""`make mutate`: plants each one-line bug of a mutations file, runs the tests that guard
it, and prints which bugs the suite catches and which survive.

Usage: python tests/mutate.py tests/mutations.txt

Each file is restored after its bug, whatever happens (Ctrl-C included); a bug whose
text is not found exactly once is reported as stale, not run.
"""

import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def mutations(path):
    """[(what, file, find, replace, tests)] from the blocks of a mutations file."""
    blocks, lines = [], []
    for line in pathlib.Path(path).read_text().splitlines() + ["---"]:
        if line.startswith("#"):
            continue
        if line == "---":
            if lines:
                what, file, find, replace, tests = lines
                blocks.append((what, file, find, replace, tests.split()))
            lines = []
        elif line.strip():
            lines.append(line)
    return blocks


def main(path):
    results = []
    for what, file, find, replace, tests in mutations(path):
        target = ROOT / file
        original = target.read_text()
        if original.count(find) != 1:
            results.append((what, "stale"))
            print(f"stale    {what} ({file}: the text is not found exactly once)", flush=True)
            continue
        start = time.time()
        try:
            target.write_text(original.replace(find, replace))
            done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", *tests],
                                  cwd=ROOT, capture_output=True, text=True, timeout=900)
        finally:
            target.write_text(original)
        verdict = "caught" if done.returncode != 0 else "SURVIVED"
        results.append((what, verdict))
        print(f"{verdict:<8} {what} ({time.time() - start:.0f} s)", flush=True)
    caught = sum(verdict == "caught" for _, verdict in results)
    print(f"{caught} of {len(results)} planted bugs caught; survivors: "
          f"{[what for what, verdict in results if verdict != 'caught'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ROOT / "tests" / "mutations.txt"))
