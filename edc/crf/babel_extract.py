"""Babel extractor for eCRF definitions: every label, help text, title and check message."""
from __future__ import annotations

import yaml

TRANSLATABLE_KEYS = {"title", "label", "help", "query"}


def extract_forms(fileobj, keywords, comment_tags, options):
    """Yield (lineno, funcname, message, comments) for each translatable scalar."""
    node = yaml.compose(fileobj.read().decode("utf-8"), Loader=yaml.SafeLoader)
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                if isinstance(value, yaml.ScalarNode):
                    if key.value in TRANSLATABLE_KEYS and value.value.strip():
                        yield value.start_mark.line + 1, None, value.value, []
                else:
                    stack.append(value)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
