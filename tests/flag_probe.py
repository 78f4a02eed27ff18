"""Run as `python tests/flag_probe.py SCRIPT FOLDER`: imports one script, then tries bad
values on every flag it defines, taken from absl's flag registry, and prints a JSON list
of what happened. tests/test_cli.py runs it once per script and judges the results.

For every numeric flag (a float, an integer, or a list of numbers): nan, inf, -inf and
a value just outside its range. For every list flag: an empty list and an empty entry.
Each case is parsed the way the script's `run` parses (`command.parse_flags_or_exit`), with
the script's required flags given good values, so that the bad value is the only fault.
Also `--help`, whose text must name every flag.
"""

import contextlib
import importlib.util
import io
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from absl import flags  # noqa: E402

from style_transfer import cli, command  # noqa: E402

GOOD = {"content": "c.png", "style": "s.png", "style_masks": "m.png", "mask": "m.png",
        "stylized": "c.png", "content_map": "map.png", "style_map": "map.png",
        "model": "model.keras", "content_dir": ".", "content_seg": "map.png",
        "style_seg": "map.png"}


def outside(base, low, high, positive):
    """A value just outside the flag's range (its validator must refuse it)."""
    if low is not None:
        return str(low - 1 if base is int else low - abs(low) * 0.5 - 1.0)
    if positive:
        return "0"
    return str(high + 1)


def parse(script_path, doc, required, args):
    """Parses argv like the script's run(); returns (exit code or None, stdout, stderr)."""
    flags.FLAGS.unparse_flags()
    out, err = io.StringIO(), io.StringIO()
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            command.parse_flags_or_exit([str(script_path), *args], doc, required)
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def main():
    script_path, folder = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    spec = importlib.util.spec_from_file_location(f"scripts.{script_path.stem}", script_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ours = [flag for name, module_flags in flags.FLAGS.flags_by_module_dict().items()
            if name.startswith(("scripts", "style_transfer")) for flag in module_flags]
    given = [flag.name for flag in ours if flag.name in GOOD]  # Good values, each.
    base_args = [f"--{name}={folder if name == 'content_dir' else folder / GOOD[name]}"
                 for name in given]
    required = []
    results = []
    code, _, err = parse(script_path, module.__doc__, required, base_args)
    results.append({"case": "good", "code": code, "stderr": err})
    for flag in ours:
        numeric = flag.name in cli.NUMERIC_FLAGS
        parser = type(flag.parser).__name__
        is_list = parser == "ListParser"
        results.append({"case": "registry", "flag": flag.name, "numeric": numeric,
                        "numeric_parser": parser in ("FloatParser", "IntegerParser"),
                        "list": is_list})
        values = []
        if numeric:
            values = ["nan", "inf", "-inf", outside(*cli.NUMERIC_FLAGS[flag.name])]
        if is_list:
            values += ["", "a,,b", " , "] if not numeric else ["", "1,,2"]
        for value in values:
            args = [a for a in base_args if not a.startswith(f"--{flag.name}=")]
            code, _, err = parse(script_path, module.__doc__, required,
                                 args + [f"--{flag.name}={value}"])
            results.append({"case": "bad", "flag": flag.name, "value": value, "code": code,
                            "stderr": err})
    code, out, _ = parse(script_path, module.__doc__, required, ["--help"])
    results.append({"case": "help", "code": code, "stdout": out,
                    "flags": [flag.name for flag in ours]})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
