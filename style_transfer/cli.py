"""The command line of every technique: flags, their validation, --help, exit codes, and
library errors as flag errors. Nothing else: the techniques are the library's, progress
and run reports are `reporting`'s.

A technique's flags are made from its settings dataclass (`settings_flags`): each field
becomes a flag of the same name, with the library's default, range and help, so the
command line checks a value exactly as the library does, while flags are parsed and
before any image is read. Numbers must be finite and in range, lists non-empty with no
empty entry, input files must exist.

Known errors (a bad flag, an unreadable file, missing weights, a stray word that is not a
flag) end the run with one line on stderr, `error: ...`, and exit code 2. Anything
unexpected ends it with one line, `internal error: <type>: <message>; details in <file>`,
exit code 1, the traceback in that file, beside the run's report (else in the temporary
folder), and on stderr too with --verbose, which every command has. Ctrl-C during an
optimisation saves the latest image and report, then exits 130.

Importing this module imports TensorFlow quietly (`startup`; its start-up lines would
bury the one-line errors): scripts import it before the library.
"""

import contextlib
import dataclasses
import os
import pathlib
import re
import signal
import sys
import tempfile
import textwrap
import traceback
import warnings

EXIT_USAGE = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130


_STDERR = os.dup(2)  # TensorFlow's import sends file descriptor 2 to /dev/null a while.


def _interrupted_while_starting(signum, frame):
    """Ctrl-C before the run starts (TensorFlow's import takes seconds): one line, 130."""
    os.write(_STDERR, b"interrupted\n")
    os._exit(EXIT_INTERRUPTED)


signal.signal(signal.SIGINT, _interrupted_while_starting)

from absl import app, flags  # noqa: E402

from style_transfer import startup  # noqa: E402,F401  (first: quiets TensorFlow's start-up)
from style_transfer import images, parameters, reporting  # noqa: E402


# Flag name -> the --help heading it is listed under, in this order.
GROUPS = {"inputs": "Inputs", "objective": "Objective (Eq. 7 and its layers)",
          "method": "Method", "optimisation": "Optimisation", "training": "Training",
          "network": "Network", "server": "Server", "output": "Output and progress"}
_GROUP_OF = {}
# "path": a function giving the run report's path, beside which an internal error's
# details go (set by output_flags, or by a script's `cli.run(details=...)`).
_ERROR_DETAILS = {}
# Every numeric flag (or list of numbers): name -> (int or float, low, high, positive),
# the range its validator enforces (tests/flag_probe.py tries values outside it).
NUMERIC_FLAGS = {}
ArgumentError = parameters.ArgumentError


def group(heading, *names):
    """Lists flags that a script defines itself under a --help heading (`GROUPS`)."""
    _GROUP_OF.update({name: heading for name in names})


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
        _GROUP_OF[field.name] = meta["group"]
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
    _GROUP_OF[name] = heading
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
    _GROUP_OF[name] = heading
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
    _GROUP_OF[name] = "inputs"
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
    _GROUP_OF[name] = "inputs"
    return holder


_VERBOSE = flags.DEFINE_bool("verbose", False, "On an internal error, print the traceback "
                             "on stderr too.")
_GROUP_OF["verbose"] = "output"


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
    _GROUP_OF[name] = "output"
    return holder


def report_flag(help_text="JSON run report; default: the output path with .json."):
    """--report: where the JSON run report goes (checked writable while parsing)."""
    return output_file("report", None, help_text, (".json",))


def quiet_flag(help_text="Print nothing but errors."):
    """--quiet."""
    holder = flags.DEFINE_bool("quiet", False, help_text)
    _GROUP_OF["quiet"] = "output"
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
    _ERROR_DETAILS["path"] = lambda: report_path(holders)
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


def flag_values():
    """Every flag this package and the running script define, by name (for reports)."""
    return {name: flag.value for name, flag in _defined_by_us()}


def finish(result, run_flags, start_time):
    """Saves the result's image and report (`reporting.finish_run`); the exit code."""
    reporting.finish_run(result, run_flags["output"].value, report_path(run_flags),
                         run_flags["quiet"].value, start_time, flag_values())
    return EXIT_INTERRUPTED if result.interrupted else 0


def _flag_error_lines(error):
    """absl's message for bad flags, without its repeats: one line per flag, naming it,
    and a number that is not one said as a person would."""
    lines = []
    for text in re.split(r"\s*(?=\bflag --\w+=)", " ".join(str(error).split())):
        if not text:
            continue
        required = re.match(r"flag --(\w+)=None: Flag --\w+ must have a value other than "
                            r"None", text)
        number = re.match(r"flag --(\w+)=(.*?): (invalid literal for int\(\)|could not "
                          r"convert string to float)", text)
        ours = re.match(r"flags? .*?: (--.*)", text)  # Our validators name the flag already.
        if required:
            lines.append(f"--{required.group(1)} is required")
        elif number:
            whole = "whole " if number.group(3).startswith("invalid") else ""
            lines.append(f"--{number.group(1)}: {number.group(2)!r} is not a {whole}number")
        else:
            lines.append(ours.group(1) if ours else text.replace("flag --", "--", 1))
    return lines


def _defined_by_us():
    """[(name, flag)] of the flags this package and the script define."""
    found = []
    for module, module_flags in flags.FLAGS.flags_by_module_dict().items():
        if module.startswith(("__main__", "style_transfer", "scripts")):
            found += [(flag.name, flag) for flag in module_flags]
    return found


def help_text(doc, required):
    """--help: the script's summary, then every flag it takes, grouped, with defaults."""
    name = pathlib.Path(sys.argv[0]).stem
    summary = (doc or "").strip().split("\n\n")[0]
    lines = [f"{name}: {' '.join(summary.split())}", "",
             f"usage: {name} " + " ".join(f"--{flag} ..." for flag in required) +
             " [flags]"]
    by_group = {}
    for flag_name, flag in _defined_by_us():
        by_group.setdefault(_GROUP_OF.get(flag_name, "method"), []).append(flag)
    for group, heading in GROUPS.items():
        if group not in by_group:
            continue
        lines += ["", f"{heading}:"]
        for flag in sorted(by_group[group], key=lambda f: f.name):
            default = ("required" if flag.name in required else
                       "default: " + (flag.default_as_str or "none").strip("'"))
            lines.append(f"  --{flag.name}  ({default})")
            lines += textwrap.wrap(flag.help, 88, initial_indent="      ",
                                   subsequent_indent="      ")
    lines += ["", "--helpfull also lists absl's and TensorFlow's own flags."]
    return "\n".join(lines)


def _parse_flags_or_exit(argv, doc, required):
    """absl's parser with our --help, and one-line errors instead of absl's two lines."""
    if any(arg in ("--help", "-h", "--helpshort", "-?") for arg in argv[1:]):
        print(help_text(doc, required))
        sys.exit(0)
    try:
        remaining = flags.FLAGS(argv)
    except flags.Error as error:
        for line in _flag_error_lines(error):
            print(f"error: {line}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if len(remaining) > 1:  # absl leaves these, e.g. `--bounds yes` as --bounds and "yes".
        print(f"error: {remaining[1]!r} is not a flag; write flags as --name=value "
              f"(--help lists them)", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    return remaining


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line each on stderr: `warning: <message>`."""
    text = " ".join(str(message).split())
    print(f"warning: {text}", file=sys.stderr)


def _internal_error(error):
    """Writes the traceback beside the run's report (or, failing that, in the temporary
    folder); returns the one line to print. --verbose prints the traceback too."""
    details = "".join(traceback.format_exception(error))
    script = pathlib.Path(sys.argv[0]).stem
    places = [pathlib.Path(tempfile.gettempdir()) / f"{script}.{os.getpid()}.error.json"]
    with contextlib.suppress(Exception):
        places.insert(0, pathlib.Path(_ERROR_DETAILS["path"]()).with_suffix(".error.json"))
    where = reporting.write_error_details(error, details, places)
    if _VERBOSE.value or where == "stderr":
        print(details, file=sys.stderr, end="")
    message = " ".join(str(error).split()) or "(no message)"
    if isinstance(error, OSError) and error.filename:  # The system refused a file.
        return f"error: {error.filename}: {error.strerror}; details in {where}"
    return f"internal error: {type(error).__name__}: {message}; details in {where}"


def run(main, doc=None, required=(), argument_flags=None, details=None):
    """Runs `main(argv)` like `absl.app.run`, with this module's errors and help.

    Args:
        main: the script's main function; its return value is the exit code.
        doc: the script's docstring, for --help.
        required: flags the script cannot run without.
        argument_flags: library argument name -> the flag that gives it, where the two
            differ (errors name the flag).
        details: for a script without `output_flags`, a function giving the path of
            its report, beside which an internal error's traceback is written.
    """
    for name in required:
        flags.mark_flag_as_required(name)
    renamed = argument_flags or {}
    if details is not None:
        _ERROR_DETAILS["path"] = details

    def guarded_main(argv):
        warnings.showwarning = _show_warning
        # From here Ctrl-C is the library's: an optimisation saves its latest image first.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return main(argv)
        except parameters.ArgumentError as error:
            flag = renamed.get(error.argument, error.argument)
            known = flag in flags.FLAGS
            print(f"error: {'--' if known else ''}{flag}: {error.detail}", file=sys.stderr)
            return EXIT_USAGE
        except ValueError as error:
            print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as error:  # Anything else: one line, the traceback in a file.
            print(_internal_error(error), file=sys.stderr)
            return EXIT_INTERNAL

    app.run(guarded_main, flags_parser=lambda argv: _parse_flags_or_exit(argv, doc, required))
