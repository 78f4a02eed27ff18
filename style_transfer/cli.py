"""The flags of every command: made from the technique's settings, checked as the library
checks them, grouped for --help. Nothing else: the techniques are the library's, progress
and run reports are `reporting`'s.

A technique's flags are made from its settings dataclass (`settings_flags`): each field
becomes a flag of the same name, with the library's default, range and help, so the
command line checks a value exactly as the library does, while flags are parsed and
before any image is read. Numbers must be finite and in range, lists non-empty with no
empty entry, input files must exist.

Running a command (parsing, --help, one-line errors, exit codes, Ctrl-C) is `command`'s;
`run` and the exit codes are named here too, for the scripts.
"""

import dataclasses
import os
import pathlib

from absl import flags

from style_transfer import command  # First: quiets the backend's start-up, catches Ctrl-C.
from style_transfer import images, parameters, reporting
# What the scripts call from `command`, named here so that a script imports one module.
from style_transfer.command import (EXIT_INTERNAL, EXIT_INTERRUPTED,  # noqa: F401
                                    EXIT_USAGE, flag_values, run)


# Every numeric flag (or list of numbers): name -> (int or float, low, high, positive),
# the range its validator enforces (tests/flag_probe.py tries values outside it).
NUMERIC_FLAGS = {}
ArgumentError = parameters.ArgumentError


def group(heading, *names):
    """Lists flags that a script defines itself under a --help heading (`GROUPS`)."""
    command.GROUP_OF.update({name: heading for name in names})


def _fail(flag, detail):
    """A flag's one-line error: `--flag: detail` (the detail names the value)."""
    raise flags.ValidationError(f"--{flag}: {detail}")


def _typed_items(kind, values, flag):
    """A list flag's strings as the field's item type (float, int or str)."""
    shown = ",".join(values)
    if any(not item.strip() for item in values):
        _fail(flag, f"{shown!r}: an entry is empty; give a value between each pair of commas")
    if kind.base in (int, float):
        try:
            return [float(item) if kind.base is float else int(item) for item in values]
        except ValueError:
            _fail(flag, f"{shown}: give {'whole ' if kind.base is int else ''}numbers")
    return values


def _flag_validator(settings_class, name, kind):
    def validate(value):
        if kind.is_tuple and value is not None:
            if not value:
                _fail(name, "the list is empty; give at least one value")
            value = _typed_items(kind, value, name)
        try:
            parameters.check_value(settings_class, name, value)
        except parameters.ArgumentError as error:
            _fail(name, error.detail)
        return True
    return validate


def settings_flags(settings_class, exclude=()):
    """One flag per field of a technique's settings dataclass.

    Each flag has the field's name, default (the library's), help and group; its value is
    checked by `parameters.check_value`, the library's own check, while flags are parsed.

    Args:
        settings_class: e.g. `gatys.StyleTransferSettings`.
        exclude: fields the script does not offer.

    Returns:
        dict: field name -> FlagHolder, for `values`.
    """
    holders = {}
    for field in dataclasses.fields(settings_class):
        if field.name in exclude:
            continue
        kind = parameters.kind_of(settings_class, field.name)
        meta, default = field.metadata, field.default
        if kind.is_tuple:
            holder = flags.DEFINE_list(field.name, None if default is None else list(default),
                                       meta["help"])
        elif kind.base is bool:
            holder = flags.DEFINE_bool(field.name, default, meta["help"])
        elif kind.base in (int, float):
            define = flags.DEFINE_float if kind.base is float else flags.DEFINE_integer
            holder = define(field.name, default, meta["help"])
        elif meta["choices"]:
            holder = flags.DEFINE_enum(field.name, default, list(meta["choices"]),
                                       meta["help"])
        else:
            holder = flags.DEFINE_string(field.name, default, meta["help"])
        flags.register_validator(field.name, _flag_validator(settings_class, field.name, kind))
        command.GROUP_OF[field.name] = meta["group"]
        if kind.base in (int, float):
            NUMERIC_FLAGS[field.name] = (kind.base, meta["low"], meta["high"], meta["positive"])
        holders[field.name] = (holder, kind)
    return holders


def number(name, default, help_text, *, integer=False, low=None, high=None,
           positive=False, heading="method"):
    """A numeric flag of a script's own, checked like the library's numbers
    (`parameters.check_number`): finite and in range, or one line naming it."""
    base = int if integer else float
    define = flags.DEFINE_integer if integer else flags.DEFINE_float
    holder = define(name, default, help_text)

    def validate(value):
        if value is not None:
            try:
                parameters.check_number(name, value, base, low, high, positive)
            except parameters.ArgumentError as error:
                _fail(name, error.detail)
        return True
    flags.register_validator(name, validate)
    command.GROUP_OF[name] = heading
    NUMERIC_FLAGS[name] = (base, low, high, positive)
    return holder


def values(holders):
    """The values of the flags given on the command line, as the library's keyword
    arguments (lists typed); the library fills in the rest (its defaults, or a
    technique's recipe for the network chosen)."""
    return {name: (_typed_items(kind, holder.value, name) if kind.is_tuple and holder.value
                   is not None else holder.value)
            for name, (holder, kind) in holders.items() if holder.present}


def check(parse, value):
    """A flag validator from the library's own parser of a value: True, or the parser's
    `ArgumentError` as the flag's one-line error."""
    try:
        parse(value)
    except parameters.ArgumentError as error:
        _fail(error.argument, error.detail)
    return True


def text_list(name, default, help_text, heading="method"):
    """A flag of comma-separated words (not files): not empty, no empty entry."""
    holder = flags.DEFINE_list(name, default, help_text)

    def validate(values):
        if values is not None and (not values or any(not v.strip() for v in values)):
            _fail(name, f"{','.join(values)!r}: give one or more values, separated by "
                        f"commas, with no empty entry")
        return True
    flags.register_validator(name, validate)
    command.GROUP_OF[name] = heading
    return holder


def _exists(path, flag):
    if path is not None and not os.path.isfile(path):
        _fail(flag, f"{path}: " + ("is a folder; give a file in it" if os.path.isdir(path)
                                   else "no such file"))
    return True


def input_file(name, help_text):
    """A flag naming one input file, checked to exist while flags are parsed."""
    holder = flags.DEFINE_string(name, None, help_text)
    flags.register_validator(name, lambda path: _exists(path, name))
    command.GROUP_OF[name] = "inputs"
    return holder


def input_files(name, help_text):
    """A flag naming comma-separated input files: not empty, no empty entry, each exists."""
    holder = flags.DEFINE_list(name, None, help_text)

    def validate(paths):
        if paths is not None:
            if not paths or any(not path.strip() for path in paths):
                _fail(name, f"{','.join(paths)!r}: give one or more files, separated by "
                            f"commas, with no empty entry")
            for path in paths:
                _exists(path, name)
        return True
    flags.register_validator(name, validate)
    command.GROUP_OF[name] = "inputs"
    return holder


def output_file(name, default, help_text, formats=images.SAVE_FORMATS):
    """A flag naming a file to write: its extension known and its folder writable,
    checked while flags are parsed (before any work)."""
    holder = flags.DEFINE_string(name, default, help_text)

    def writable(path):
        if path is not None:
            try:
                images.check_writable(path, formats)
            except ValueError as error:
                _fail(name, str(error))
        return True
    flags.register_validator(name, writable)
    command.GROUP_OF[name] = "output"
    return holder


def report_flag(help_text="JSON run report; default: the output path with .json."):
    """--report: where the JSON run report goes (checked writable while parsing)."""
    return output_file("report", None, help_text, (".json",))


def quiet_flag(help_text="Print nothing but errors."):
    """--quiet."""
    holder = flags.DEFINE_bool("quiet", False, help_text)
    command.GROUP_OF["quiet"] = "output"
    return holder


def output_flags(default_output="output.png", iterative=True):
    """--output, --report, --quiet and, for an optimisation (`iterative`), the
    `reporting.ProgressSettings` flags.

    Returns:
        dict of FlagHolders: output, report, quiet (and print_every, checkpoint_every).
    """
    holders = {"output": output_file("output", default_output,
                                     "Where to write the result image."),
               "report": report_flag(), "quiet": quiet_flag()}
    if iterative:
        holders.update({name: holder for name, (holder, _) in
                        settings_flags(reporting.ProgressSettings).items()})
    command.ERROR_DETAILS["path"] = lambda: report_path(holders)
    return holders


def report_path(run_flags):
    """The report's path: --report, or the output path with .json."""
    return run_flags["report"].value or str(pathlib.Path(run_flags["output"].value)
                                            .with_suffix(".json"))


def progress(run_flags):
    """The library's progress callback for the command line: lines and checkpoints
    (`output_flags(iterative=True)`)."""
    return reporting.ProgressLines(run_flags["print_every"].value,
                                   run_flags["checkpoint_every"].value,
                                   run_flags["output"].value, run_flags["quiet"].value)


def finish(result, run_flags, start_time):
    """Saves the result's image and report (`reporting.finish_run`); the exit code."""
    reporting.finish_run(result, run_flags["output"].value, report_path(run_flags),
                         run_flags["quiet"].value, start_time, flag_values())
    return EXIT_INTERRUPTED if result.interrupted else 0


