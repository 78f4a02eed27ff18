"""What the benchmarks share: which images they measure on, and how figures are saved."""

import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SAMPLES = ROOT / "samples"


def image_paths():
    """Gatys et al.'s Tübingen and Starry Night if ../shared is there, else our samples."""
    if (SHARED / "content" / "tubingen.jpg").is_file():
        return SHARED / "content" / "tubingen.jpg", SHARED / "style" / "starry_night.jpg"
    return SAMPLES / "content" / "chelsea.jpg", SAMPLES / "style" / "swirls.jpg"


def write_results(path, results):
    """Writes a benchmark's figures as JSON (if a path is given) and says where."""
    if not path:
        return
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    print(f"wrote {path}")
