"""What the benchmarks share: which images they measure on."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SAMPLES = ROOT / "samples"


def image_paths():
    """Gatys et al.'s Tübingen and Starry Night if ../shared is there, else our samples."""
    if (SHARED / "content" / "tubingen.jpg").is_file():
        return SHARED / "content" / "tubingen.jpg", SHARED / "style" / "starry_night.jpg"
    return SAMPLES / "content" / "chelsea.jpg", SAMPLES / "style" / "swirls.jpg"
