"""Quick coercion of option values for Typer >= 0.25, which builds a pydantic ``TypeAdapter`` for
every option of the command it runs (and imports pydantic: together about 0.15 s of every run).

nlpcli's options are strings, whole numbers, numbers, flags, lists of strings and enums; a value
that is plainly one of those (``"2"`` for an int within its bounds, a member's name for an enum)
is converted here, exactly as pydantic would; anything else (a bad value, an unusual type) goes
to Typer's own coercion, so its error messages stay as they are. :func:`install` does nothing on
a Typer without that machinery.
"""

from __future__ import annotations

import enum
import math
import re
from typing import Any, get_args, get_origin

_INT = re.compile(r"-?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


class _Unsure(Exception):
    """The value is not plainly of the type: Typer's coercion decides."""


def _scalar(annotation: Any, value: Any, info) -> Any:
    if annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int or annotation is float:
        return _number(annotation, value, info)
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if isinstance(value, annotation):
            return value
        if isinstance(value, str):
            for member in annotation:
                if member.value == value:
                    return member
    raise _Unsure


def _number(annotation: type, value: Any, info) -> Any:
    if isinstance(value, bool):
        raise _Unsure
    if annotation is int:
        if isinstance(value, int):
            number: Any = value
        elif isinstance(value, str) and _INT.match(value):
            number = int(value)
        else:
            raise _Unsure
    elif isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _FLOAT.match(value):
        number = float(value)
    else:
        raise _Unsure
    if isinstance(number, float) and not math.isfinite(number):
        raise _Unsure
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if (
        getattr(info, "clamp", False)
        or (low is not None and number < low)
        or (high is not None and number > high)
    ):
        raise _Unsure  # clamping and range errors: Typer's own
    return number


def quick_value(annotation: Any, value: Any, info) -> Any:
    """``value`` as ``annotation``, or :class:`_Unsure`."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [_scalar(item, v, info) for v in value]
    return _scalar(annotation, value, info)


def install() -> None:
    """Let Typer's option parameters try :func:`quick_value` before building their adapter."""
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
        from typer.core import _TyperParameter
    except ImportError:  # another Typer: nothing to speed up
        return
    if getattr(_TyperParameter.get_runtime_param, "_nlpcli", False):
        return

    class QuickParam(RuntimeParam):
        def _coerce_value(self, value, param, ctx):
            try:
                return quick_value(self.annotation, value, self.parameter_info)
            except _Unsure:
                if getattr(param, "_nlpcli_full", None) is None:
                    param._nlpcli_full = build_runtime_param(param.type_descriptor)
                return param._nlpcli_full._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self):
        if self._runtime_param is None:
            d = self.type_descriptor
            if d.file_annotation is not None:
                self._runtime_param = build_runtime_param(d)
            else:
                self._runtime_param = QuickParam(parameter_info=d.parameter_info, annotation=d.annotation)
        return self._runtime_param

    get_runtime_param._nlpcli = True  # type: ignore[attr-defined]
    _TyperParameter.get_runtime_param = get_runtime_param
