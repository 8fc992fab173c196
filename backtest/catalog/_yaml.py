"""Read YAML into plain data while remembering the line of every key and list item.

Scalars follow the YAML 1.2 core schema, not PyYAML's YAML 1.1 default, because YAML 1.1
misreads catalog data: ``time: 19:00`` becomes the integer 1140 (base 60), the ticker ``ON`` or
``NO`` becomes a boolean, and an impossible date such as ``2023-02-30`` makes the whole file fail
to parse instead of producing one clear error for one field. Here dates and times stay text and
are validated by the catalog schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema implicit scalars (null, bool, int, float, str)."""

    yaml_implicit_resolvers = {}  # noqa: RUF012  (PyYAML API: a class-level table)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass
class LinedData:
    """Plain data read from YAML, the line of every path in it, and duplicate keys found."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path_, int]] = field(default_factory=list)

    def line(self, path: Path_) -> int:
        """Line of ``path``, or of its nearest ancestor that has one (1 at worst)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


def load_yaml_with_lines(text: str) -> LinedData:
    """Parse one YAML document; raise :class:`YamlSyntaxError` with the offending line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or str(exc)
        context = f" ({exc.context})" if exc.context else ""
        raise YamlSyntaxError(line, f"YAML syntax error: {problem}{context}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    out = LinedData(data=None)
    if node is None:
        return out
    out.lines[()] = node.start_mark.line + 1
    out.data = _build(node, (), out, loader)
    return out


def _build(node: yaml.Node, path: Path_, out: LinedData, loader: _Loader) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolve YAML merge keys (<<)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path, out, loader)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            sub = (*path, str(key))
            line = key_node.start_mark.line + 1
            if key in result:
                out.duplicate_keys.append((sub, line))
            out.lines[sub] = line
            result[key] = _build(value_node, sub, out, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            sub = (*path, i)
            out.lines[sub] = item.start_mark.line + 1
            items.append(_build(item, sub, out, loader))
        return items
    return loader.construct_object(node, deep=True)
