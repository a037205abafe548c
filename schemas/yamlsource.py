"""Where a configuration's YAML says what: the loader, node paths and positions (line, column) for errors.

``load_yaml`` parses the text once into the data and its node tree, noting mappings that have a key twice
(PyYAML keeps the last one silently): ``DuplicateNotingLoader``. ``YamlSource`` keeps the text beside the
settings and composes the node tree again only when an error needs a position (``position`` of a key or a
value by its path, ``query_position`` of an offset inside a scalar -- plain, quoted or block -- mapped back
to the file's line and column). ``scan`` gives the line of each item of a top-level list and the paths of
duplicated keys. ``paused_gc`` pauses the cyclic collector while thousands of long-lived objects are built.

Imports nothing of ours: ``schemas.config`` builds its problems (``schemas.errors.Problem``) on top.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: parsing and compiling thousands of rules allocates hundreds of
    thousands of long-lived objects, and the collections they trigger (each traversing everything
    allocated so far) were a third of the time of loading and compiling 5,000 rules (measured).
    Reference counting still frees everything that is not in a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# libyaml's safe loader when PyYAML was built with it (10x faster on large rule files), else the pure one.
# libyaml refuses nesting deeper than 1,000 levels, and an anchor is constructed once and shared by its
# aliases (a "billion laughs" file is a few shared lists, not a billion strings).
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"


class DuplicateNotingLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, noting the mappings that have a key twice (PyYAML keeps the last one silently). The
    test is free when there is none: the dict built has as many keys as the mapping has pairs."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicated: list[tuple[yaml.MappingNode, yaml.Node, yaml.Node]] = []   # (mapping, key, first)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        before = node.value[:]          # merge keys (<<) are flattened into node.value in place
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(before) or len(node.value) != len(before):
            first: dict[tuple[str, str], yaml.Node] = {}
            for k, _ in before:
                if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE:
                    if (k.tag, k.value) in first:
                        self.duplicated.append((node, k, first[(k.tag, k.value)]))
                    first[(k.tag, k.value)] = k
        return mapping

NodePath = tuple[str | int, ...]
_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


def compose(text: str) -> yaml.Node | None:
    loader = DuplicateNotingLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of ``part`` in a mapping (the last of duplicate keys, as constructing keeps),
    (item, item) of an index in a sequence; None if it is not there."""
    if isinstance(node, yaml.MappingNode):
        found = None
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                found = (k, v)
        return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], node.value[part]
    return None


def align_offset(raw: str, style: str | None, value: str, offset: int) -> int:
    """The index in ``raw`` (a scalar's source text) of character ``offset`` of its ``value``: the characters
    of the value matched in order against the source, a blank of the value where a blank is or where a line
    break was folded; quotes, escapes, indentation and a block scalar's header are skipped."""
    if style in ("|", ">"):
        first = _BREAK.search(raw)
        j = first.end() if first else len(raw)
    else:
        j = 1 if style in ("'", '"') else 0
    if offset >= len(value):                     # just after the last character of the value
        stripped = len(value.rstrip())
        return align_offset(raw, style, value, stripped - 1) + 1 if stripped else j
    p = j
    for i in range(offset + 1):
        c = value[i]
        if c.isspace():
            p = j
            if j < len(raw) and raw[j] == c:
                j += 1
            continue
        k = raw.find(c, j, j + 200)
        if k >= 0 and (style in ("'", '"') or not raw[j:k].strip()):
            p, j = k, k + 1
        else:
            p = j
    return min(p, len(raw))


class YamlSource:
    """The YAML text settings were read from, for the positions of errors found later (``compile_settings``);
    its node tree is composed again on the first look-up (errors only). Equal to every other ``YamlSource``: it
    is not part of what the settings are."""

    __slots__ = ("_root", "text")

    def __init__(self, text: str | None, root: yaml.Node | None = None) -> None:
        self.text = text
        self._root = root

    def __eq__(self, other: object) -> bool:
        return isinstance(other, YamlSource)

    def __hash__(self) -> int:
        return 0

    def root(self) -> yaml.Node | None:
        if self._root is None and self.text is not None:
            try:
                with paused_gc():
                    self._root = compose(self.text)
            except yaml.YAMLError:
                self.text = None
        return self._root

    def nodes(self, path: Sequence[str | int]) -> tuple[yaml.Node | None, yaml.Node | None, bool]:
        """(key node, value node, found whole path): the nearest enclosing ones when not all of it is there."""
        key = node = self.root()
        for part in path:
            pair = child(node, part)
            if pair is None:
                return key, node, False
            key, node = pair
        return key, node, True

    def position(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int | None] | None:
        k, v, _ = self.nodes(path)
        node = k if key else v
        if node is None:
            return None
        return node.start_mark.line + 1, node.start_mark.column + 1

    def query_position(self, path: Sequence[str | int], offset: int) -> tuple[int, int | None] | None:
        _, node, found = self.nodes(path)
        if not found or not isinstance(node, yaml.ScalarNode) or self.text is None:
            return self.position(path)
        start, end = node.start_mark, node.end_mark
        raw = self.text[start.index:end.index]
        j = align_offset(raw, node.style, node.value, max(offset, 0))
        breaks = list(_BREAK.finditer(raw, 0, j))
        if not breaks:
            return start.line + 1, start.column + j + 1
        return start.line + len(breaks) + 1, j - breaks[-1].end() + 1


def scan(root: yaml.Node | None, duplicated: list[tuple[yaml.MappingNode, yaml.Node, yaml.Node]]
          ) -> tuple[dict[tuple[str, int], int], list[tuple[NodePath, yaml.Node, yaml.Node]]]:
    """The line of each item of a top-level list, and the ``duplicated`` keys the loader noted with their
    paths: (path of the key, its node, the node of the same key before it). Only when there are duplicates
    is the tree walked for their paths (each node once: aliases share theirs)."""
    lines: dict[tuple[str, int], int] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(value, yaml.SequenceNode):
                for i, node in enumerate(value.value):
                    lines[(key.value, i)] = node.start_mark.line + 1
    if not duplicated:
        return lines, []
    paths: dict[int, NodePath] = {}
    wanted = {id(m) for m, _, _ in duplicated}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, NodePath]] = [(root, ())] if root is not None else []
    while stack and len(paths) < len(wanted):
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in wanted:
            paths[id(node)] = path
        if isinstance(node, yaml.MappingNode):
            stack.extend((v, (*path, k.value)) for k, v in node.value if isinstance(k, yaml.ScalarNode))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, (*path, i)) for i, v in enumerate(node.value))
    found = [((*paths.get(id(m), ()), k.value), k, before) for m, k, before in duplicated]
    found.sort(key=lambda d: (d[1].start_mark.line, d[1].start_mark.column))
    return lines, found


def load_yaml(text: str) -> tuple[Any, yaml.Node | None, list[tuple[yaml.MappingNode, yaml.Node, yaml.Node]]]:
    """The YAML document, its node tree (parsed once: positions come from the same tree) and the keys that
    a mapping has twice."""
    loader = DuplicateNotingLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return data, root, loader.duplicated
