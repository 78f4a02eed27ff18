"""Each technique's parameters: default, accepted range and help, written once.

A technique keeps its parameters in a frozen dataclass whose fields are made with
`parameter`: the default (its reference code's value), the range it accepts and a
one-line help that names the paper's symbol. The technique's function takes them as
keyword arguments (`settings_from` checks each value and names the argument when one is
wrong); the command line builds its flags from the same fields, so no default, range or
help text is written twice.
"""

import dataclasses
import inspect
import math
import numbers
import types
import typing


class ArgumentError(ValueError):
    """A bad argument. The message starts with the argument's name.

    Attributes:
        argument: the name of the argument (the command line's flag of the same name).
        detail: what is wrong with it and what to do, without the name.
    """

    def __init__(self, argument, detail):
        super().__init__(f"{argument}: {detail}")
        self.argument, self.detail = argument, detail


def parameter(default, help, *, low=None, high=None, positive=False, choices=None,
              item=None, group="method"):
    """A dataclass field with what the library and the command line need to know of it.

    Args:
        default: the value used when none is given.
        help: one line for the command line's --help, with the paper's symbol.
        low, high: inclusive bounds of a number (or of each number of a tuple).
        positive: the number must be above 0.
        choices: the strings it may take.
        item: a function that checks one string of a tuple and returns its canonical
            form (e.g. `vgg.canonical_layer_name`), raising ValueError.
        group: the heading it is listed under in --help.
    """
    return dataclasses.field(default=default, metadata=dict(
        help=help, low=low, high=high, positive=positive, choices=choices, item=item,
        group=group))


def field_help(settings_class, name):
    """The help text of field `name` of `settings_class`."""
    return {f.name: f for f in dataclasses.fields(settings_class)}[name].metadata["help"]


def override(settings_class, name, default, **changes):
    """Field `name` of `settings_class` with another default (a technique's own reference
    value), and optionally other metadata (help, bounds)."""
    field = {f.name: f for f in dataclasses.fields(settings_class)}[name]
    return dataclasses.field(default=default, metadata={**field.metadata, **changes})


@dataclasses.dataclass(frozen=True)
class Kind:
    """What a field holds, read from its annotation: `base` (bool, int, float or str),
    whether it is a tuple of them, and whether None is allowed."""
    base: type
    is_tuple: bool
    optional: bool


def kind_of(settings_class, name):
    """The `Kind` of field `name`, from annotations like `float`, `tuple[str, ...]` or
    `tuple[float, ...] | None`."""
    annotation = typing.get_type_hints(settings_class)[name]
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional, annotation = True, members[0]
    if typing.get_origin(annotation) is tuple:
        return Kind(typing.get_args(annotation)[0], True, optional)
    return Kind(annotation, False, optional)


def check_number(name, value, base=float, low=None, high=None, positive=False):
    """A number checked: finite, whole for `base` int, within [low, high], above 0 if
    `positive`; the value as `base`.

    Raises:
        ArgumentError: naming `name`.
    """
    return _number(base, value, dict(low=low, high=high, positive=positive), name)


def _number(base, value, meta, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentError(name, f"give a number, not {value!r}")
    if base is int:
        if not float(value).is_integer():
            raise ArgumentError(name, f"give a whole number, not {value!r}")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ArgumentError(name, f"{value} is not a finite number; give one")
    low, high = meta["low"], meta["high"]
    if meta["positive"] and not value > 0:
        raise ArgumentError(name, f"{value} is not above 0; give a positive number")
    if low is not None and value < low or high is not None and value > high:
        span = (f"between {low:g} and {high:g}" if low is not None and high is not None
                else f"at least {low:g}" if low is not None else f"at most {high:g}")
        raise ArgumentError(name, f"{value} is out of range; give a number {span}")
    return value


def _one(kind, value, meta, name):
    if kind.base is bool:
        if not isinstance(value, bool):
            raise ArgumentError(name, f"give True or False, not {value!r}")
        return value
    if kind.base in (int, float):
        return _number(kind.base, value, meta, name)
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError(name, f"give a non-empty text, not {value!r}")
    value = value.strip()
    if meta["choices"] and value not in meta["choices"]:
        raise ArgumentError(name, f"{value!r} is not one of {', '.join(meta['choices'])}")
    if meta["item"] is not None:
        try:
            value = meta["item"](value)
        except ValueError as error:
            raise ArgumentError(name, str(error)) from None
    return value


def check_value(settings_class, name, value):
    """The value of field `name` checked and in canonical form (numbers as int or float,
    sequences as tuples).

    Raises:
        ArgumentError: wrong type, not finite, out of range, not a choice, an empty
            sequence or an empty entry.
    """
    field = {f.name: f for f in dataclasses.fields(settings_class)}[name]
    kind, meta = kind_of(settings_class, name), field.metadata
    if value is None:
        if kind.optional:
            return None
        raise ArgumentError(name, "give a value")
    if not kind.is_tuple:
        return _one(kind, value, meta, name)
    if isinstance(value, (str, bytes)) or not isinstance(value, typing.Iterable):
        value = [value]
    values = list(value)
    if not values:
        raise ArgumentError(name, "the list is empty; give at least one value")
    return tuple(_one(kind, item, meta, name) for item in values)


def settings_from(settings_class, options):
    """A `settings_class` instance from keyword arguments, each checked.

    Raises:
        ArgumentError: an unknown argument, a bad value, or (`validate`) values that do
            not fit together.
    """
    names = [f.name for f in dataclasses.fields(settings_class)]
    for name in options:
        if name not in names:
            raise ArgumentError(name, f"unknown argument; this technique takes "
                                      f"{', '.join(names)}")
    # A technique's recipes: for the value of one of its settings (the network, the patch
    # loss), the values of others that go with it, e.g. VGG16's layer names or CNNMRF's
    # weights, for every setting the caller does not give.
    defaults = {f.name: f.default for f in dataclasses.fields(settings_class)}
    for key, by_value in getattr(settings_class, "RECIPES", {}).items():
        value = check_value(settings_class, key, options.get(key, defaults[key]))
        options = {**by_value.get(value, {}), **options}
    settings = settings_class(**{name: check_value(settings_class, name, value)
                                 for name, value in options.items()})
    validate = getattr(settings, "validate", None)
    if validate is not None:
        validate()
    return settings


def as_dict(settings):
    """The settings as plain JSON values (tuples as lists), for run reports."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in dataclasses.asdict(settings).items()}


def takes(settings_class):
    """Gives a technique's function the settings it takes as keyword arguments: in its
    signature (`inspect.signature`, `help()`, a notebook's completion), each with its
    default, and in its docstring, each with its default and one-line meaning. The
    function still receives them as `**options` (`settings_from` checks them)."""
    def decorate(function):
        signature = inspect.signature(function)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        fields = dataclasses.fields(settings_class)
        function.__signature__ = signature.replace(parameters=own + [
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
            for f in fields])
        lines = [f"    {f.name}={f.default!r}: {f.metadata['help']}" for f in fields]
        function.__doc__ = (f"{function.__doc__ or ''}\n\n    Settings "
                            f"(`{settings_class.__name__}`), as keyword arguments:\n"
                            + "\n".join(lines) + "\n")
        return function
    return decorate
