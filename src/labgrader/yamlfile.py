"""Reading YAML a user gave: any bytes in, a document or one InputError line naming the file (and line) out.

Keys given twice are refused (the last one would silently win); secrets can be read with every scalar kept
as the string written (no YAML 1.1 rewriting of 0123, yes, 12:30 or ~)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import InputError


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (the last one would silently win)."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key '{key}' is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


class StringsLoader(yaml.BaseLoader):
    """Secrets exactly as written: every scalar a string (no YAML 1.1 rewriting of 0123, yes, 12:30 or ~)."""


StringsLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(path: Path, shown: str, *, loader=UniqueKeyLoader) -> Any:
    """Any bytes in, a document or one InputError line out (file and line named), never a traceback."""
    try:
        return parse_yaml(Path(path).read_bytes(), shown, loader=loader)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=shown) from None


def parse_yaml(data: bytes, shown: str, *, loader=UniqueKeyLoader) -> Any:
    try:
        return yaml.load(data.decode("utf-8"), Loader=loader)  # noqa: S506 - safe loaders only
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=shown) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', None) or 'syntax error'}", path=shown,
                         field=f"line {mark.line + 1}" if mark else None) from None
    except (RecursionError, ValueError, TypeError, MemoryError) as exc:
        raise InputError(f"not a document labgrader can read ({type(exc).__name__})", path=shown) from None
