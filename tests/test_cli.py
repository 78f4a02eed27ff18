"""Every command survives hostile input: each numeric and list flag from the flag
registry, hostile files, internal errors; and --help lists every flag."""

import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from PIL import Image

from style_transfer import cli, cin
from test_images import png_header

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "scripts").glob("*.py") if p.name != "__init__.py")


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    """tests/flag_probe.py's findings for every script, run side by side."""
    folder = tmp_path_factory.mktemp("probe")
    rng = np.random.default_rng(0)
    for name in ("c.png", "s.png", "m.png", "map.png"):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(folder / name)
    (folder / "model.keras").write_bytes(b"")  # Only checked to exist while parsing.
    running = {script.stem: subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "flag_probe.py"), str(script), str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for script in SCRIPTS}
    return {name: json.loads(process.communicate(timeout=600)[0])
            for name, process in running.items()}


@pytest.mark.parametrize("script", [s.stem for s in SCRIPTS])
def test_every_numeric_and_list_flag_refuses_hostile_values(probes, script):
    """nan, inf, -inf and out of range on every number; empty lists and entries on every
    list: exit 2 and one line naming the flag, while flags are parsed (before any file
    is read or written)."""
    results = probes[script]
    assert results[0] == {"case": "good", "code": None, "stderr": ""}
    registry = [r for r in results if r["case"] == "registry"]
    unguarded = [r["flag"] for r in registry if r["numeric_parser"] and not r["numeric"]]
    assert not unguarded, "numeric flags without a checked range"
    bad = [r for r in results if r["case"] == "bad"]
    numeric = {r["flag"] for r in registry if r["numeric"]}
    assert {r["flag"] for r in bad} >= numeric | {r["flag"] for r in registry if r["list"]}
    for case in bad:
        lines = case["stderr"].strip().splitlines()
        assert case["code"] == 2 and len(lines) == 1, case
        assert lines[0].startswith(f"error: --{case['flag']}") and "Traceback" not in lines[0]


@pytest.mark.parametrize("script", [s.stem for s in SCRIPTS])
def test_help_lists_every_flag_and_exits_0(probes, script):
    (found,) = [r for r in probes[script] if r["case"] == "help"]
    assert found["code"] == 0
    missing = [flag for flag in found["flags"] if f"--{flag} " not in found["stdout"]]
    assert not missing
    assert "Try --helpfull" not in found["stdout"] and "absl" in found["stdout"]
    assert "--verbose " in found["stdout"]  # Every command: tracebacks on request.
    if script in ("masked_transfer", "cin_stylize", "cin_train", "cin_serve", "figures"):
        assert "--print_every" not in found["stdout"]  # No optimisation, no progress lines.


def test_help_from_the_installed_way_of_running(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "style_transfer.py"),
                           "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    assert "Objective (Eq. 7 and its layers):" in done.stdout and "--style_weight" in done.stdout


def run(script, *args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def files(tmp_path, rng):
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(tmp_path / "c.png")
    Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(tmp_path / "s.png")
    (tmp_path / "out.png").write_bytes(b"an earlier result")
    return tmp_path


def test_a_nan_weight_changes_no_output(files):
    done = run("style_transfer.py", "--content", "c.png", "--style", "s.png", "--output",
               "out.png", "--weights", "random", "--style_weight", "nan", cwd=files)
    assert done.returncode == 2 and done.stderr.startswith("error: --style_weight: nan")
    assert (files / "out.png").read_bytes() == b"an earlier result"
    assert sorted(p.name for p in files.iterdir()) == ["c.png", "out.png", "s.png"]


@pytest.mark.parametrize("content, problem", [
    (png_header(20000, 20000), "20000x20000"), (b"", "the file is empty"),
    (b"GIF89a broken", "not an image Pillow can read")])
def test_hostile_images_are_one_line_naming_the_file(files, content, problem):
    (files / "bad.png").write_bytes(content)
    done = run("style_transfer.py", "--content", "bad.png", "--style", "s.png", "--output",
               "out.png", "--weights", "random", cwd=files)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "bad.png" in lines[0], done.stderr
    if content[:4] != b"\x89PNG" or "20000x20000" in lines[0]:  # Over this machine's limit.
        assert problem in lines[0]
    assert (files / "out.png").read_bytes() == b"an earlier result"


CRASHING_SCRIPT = '''
import sys
sys.path.insert(0, {root!r})
from style_transfer import cli
{flags}

def main(argv):
    raise RuntimeError("something nobody expected")

cli.run(main, __doc__{details})
'''


@pytest.mark.parametrize("flags, details, where", [
    ("_OUTPUT = cli.output_flags()", "", "out.error.json"),  # Beside the run report.
    ("", ", details=lambda: 'runs/report.json'", "runs/report.error.json"),  # cin_train's.
    ("", ", details=lambda: 'gone/report.json'", None)])  # No folder: the temporary one.
def test_an_internal_error_is_one_line_with_the_traceback_in_a_file(tmp_path, flags, details,
                                                                    where):
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SCRIPT.format(root=str(ROOT), flags=flags, details=details))
    (tmp_path / "runs").mkdir()
    args = [sys.executable, str(script), "--output", "out.png"][:4 if flags else 2]
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    line = done.stderr.strip()
    assert done.returncode == 1 and line.startswith(
        "internal error: RuntimeError: something nobody expected; details in "), done.stderr
    details_path = pathlib.Path(line.split("details in ")[1])
    if where is None:
        assert details_path.parent == pathlib.Path(tempfile.gettempdir())
        assert details_path.name.startswith("crash.") and details_path.suffix == ".json"
    else:
        assert details_path == pathlib.Path(where)
    report = json.loads((tmp_path / details_path).read_text())
    (tmp_path / details_path).unlink()
    assert "Traceback" in report["traceback"] and "something nobody" in report["error"]
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "out.json").exists()
    verbose = subprocess.run(args + ["--verbose"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr
    assert verbose.stderr.strip().splitlines()[-1].startswith("internal error: RuntimeError")
    pathlib.Path(tmp_path / verbose.stderr.strip().split("details in ")[1]).unlink()


def test_a_word_that_is_not_a_flag_is_refused(files):
    """absl reads `--bounds yes` as --bounds and a stray "yes": a mistake, not a run."""
    for args in (["--bounds", "yes"], ["extra.png"]):
        done = run("style_transfer.py", "--content", "c.png", "--style", "s.png", "--output",
                   "out.png", "--weights", "random", "--size", "32", "--iterations", "1",
                   *args, cwd=files)  # Small: a run that wrongly goes on ends soon.
        assert done.returncode == 2 and done.stderr.strip() == (
            f"error: {args[-1]!r} is not a flag; write flags as --name=value (--help lists "
            f"them)")
    assert (files / "out.png").read_bytes() == b"an earlier result"


def test_training_folders_empty_unreadable_or_partly_unreadable(tmp_path, rng):
    with pytest.raises(ValueError, match="content_dir: .*: no such folder"):
        cin.photo_paths(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="content_dir: .*empty: no image files"):
        cin.photo_paths(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    for name in ("a.png", "b.jpg"):
        (tmp_path / "bad" / name).write_text("not a photo")
    with pytest.raises(ValueError, match=r"none of its 2 image files is readable \(first: "
                                         r"a.png"):
        cin.photo_paths(tmp_path / "bad")
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
        tmp_path / "bad" / "c.png")
    with pytest.warns(UserWarning, match=r"skipped 2 of 3 files .*\(first: a.png"):
        assert [p.name for p in cin.photo_paths(tmp_path / "bad")] == ["c.png"]


@pytest.mark.parametrize("args, expected", [
    ([], "--content_dir: photos: no image files (.jpg, .jpeg, .png, .bmp, .webp, .tif, "
         ".tiff); add photos"),
    (["--checkpoint_dir", "s.png"], "--checkpoint_dir: s.png: is a file, not a folder; give "
                                    "a folder (created if needed)"),
    (["--report", "photos"], "--report: photos: unknown file type (none); use one of .json")])
def test_a_training_run_that_cannot_start_is_one_line_and_writes_nothing(tmp_path, args,
                                                                         expected):
    (tmp_path / "photos").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "s.png")
    done = run("cin_train.py", "--style", "s.png", "--content_dir", "photos", "--weights",
               "random", "--steps", "1", *args, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == f"error: {expected}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "s.png"]


def test_every_script_runs_through_cli_run():
    """Each script's entry point goes through cli.run (errors, help, no tracebacks)."""
    for script in SCRIPTS:
        text = script.read_text()
        assert "cli.run(main, __doc__" in text, script.name
        assert "flags.FLAGS." not in text, script.name  # Flags are FlagHolders.


def test_make_hostile_runs_and_judges_its_cases():
    """`make hostile`'s tool, on two of its cases: a bad input and an odd but good one."""
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "hostile.py"),
                           "content 'empty.png'", "content one.png"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "2 cases, 0 broke the promise"
    assert lines[0].startswith("ok") and "empty.png: the file is empty" in lines[0]


def test_each_bad_flag_is_a_line_said_as_a_person_would(files):
    (files / "a_folder").mkdir()
    done = run("style_transfer.py", "--content", "nope.jpg", "--style", "a_folder",
               "--output", "out.png", cwd=files)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert sorted(done.stderr.strip().splitlines()) == [
        "error: --content: nope.jpg: no such file",
        "error: --style: a_folder: is a folder; give a file in it"], done.stderr
    for flag, value, line in (("size", "abc", "'abc' is not a whole number"),
                              ("style_weight", "x", "'x' is not a number")):
        done = run("style_transfer.py", "--content", "c.png", "--style", "s.png",
                   f"--{flag}", value, cwd=files)
        assert done.returncode == 2 and done.stderr.strip() == f"error: --{flag}: {line}"
    assert (files / "out.png").read_bytes() == b"an earlier result"


def test_ctrl_c_while_starting_is_one_line_and_exit_130(files):
    """Ctrl-C during TensorFlow's import, seconds before any work: no traceback."""
    import signal
    import time
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "style_transfer.py"),
                                "--content", "c.png", "--style", "s.png"], cwd=files,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and stderr.strip() == "interrupted", stderr
    assert (files / "out.png").read_bytes() == b"an earlier result"


def test_network_flag_chooses_the_network_and_its_layer_names(files):
    done = run("style_transfer.py", "--content", "c.png", "--style", "s.png", "--output",
               "new.png", "--weights", "random", "--size", "32", "--iterations", "1",
               "--network", "vgg16", "--quiet", cwd=files)
    assert done.returncode == 0, done.stderr
    report = json.loads((files / "new.json").read_text())
    assert report["settings"]["network"] == "vgg16" and report["weights"]["network"] == "vgg16"
    done = run("style_transfer.py", "--content", "c.png", "--style", "s.png", "--weights",
               "random", "--network", "vgg16", "--style_layers", "relu3_4", cwd=files)
    assert done.returncode == 2 and done.stderr.strip().startswith(
        "error: --style_layers: unknown VGG16 layer 'relu3_4'; use relu1_1 … relu1_2"), (
        done.stderr)
