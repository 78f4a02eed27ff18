"""Running a command of the suite: parsing its flags with one-line errors, --help,
warnings, internal errors, exit codes and Ctrl-C (`run`). `cli` defines the flags.

Known errors (a bad flag, an unreadable file, missing weights, a stray word that is not a
flag) end the run with one line on stderr, `error: ...`, and exit code 2. Anything
unexpected ends it with one line, `internal error: <type>: <message>; details in <file>`,
exit code 1, the traceback in that file, beside the run's report (else in the temporary
folder), and on stderr too with --verbose, which every command has. Ctrl-C during an
optimisation saves the latest image and report, then exits 130; before the run starts
(the backend's import takes seconds) it prints one line and exits 130.

Importing this module imports the Keras backend quietly (`startup`; its start-up lines
would bury the one-line errors): scripts import it (through `cli`) before the library.
"""

import contextlib
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


_STDERR = os.dup(2)  # The backend's quiet import sends file descriptor 2 to /dev/null a while.


def _interrupted_while_starting(signum, frame):
    """Ctrl-C before the run starts (the backend's import takes seconds): one line, 130."""
    os.write(_STDERR, b"interrupted\n")
    os._exit(EXIT_INTERRUPTED)


signal.signal(signal.SIGINT, _interrupted_while_starting)

from absl import app, flags  # noqa: E402

from style_transfer import startup  # noqa: E402  (first: quiets the backend's start-up)
from style_transfer import parameters, reporting  # noqa: E402


# Flag name -> the --help heading it is listed under, in this order.
GROUPS = {"inputs": "Inputs", "objective": "Objective (Eq. 7 and its layers)",
          "method": "Method", "optimisation": "Optimisation", "training": "Training",
          "network": "Network", "server": "Server", "output": "Output and progress"}
GROUP_OF = {}  # Flag name -> its group (`cli.group`, the flag makers).
# "path": a function giving the run report's path, beside which an internal error's
# details go (set by output_flags, or by a script's `cli.run(details=...)`).
ERROR_DETAILS = {}
_VERBOSE = flags.DEFINE_bool("verbose", False, "On an internal error, print the traceback "
                             "on stderr too.")
GROUP_OF["verbose"] = "output"


def flag_values():
    """Every flag this package and the running script define, by name (for reports)."""
    return {name: flag.value for name, flag in _defined_by_us()}


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
        by_group.setdefault(GROUP_OF.get(flag_name, "method"), []).append(flag)
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


def parse_flags_or_exit(argv, doc, required):
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
        places.insert(0, pathlib.Path(ERROR_DETAILS["path"]()).with_suffix(".error.json"))
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
        ERROR_DETAILS["path"] = details

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

    app.run(guarded_main, flags_parser=lambda argv: parse_flags_or_exit(argv, doc, required))
