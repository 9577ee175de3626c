"""Reads a Python consumer of the ecr-layer-cache package with Python's own parser (ast) and prints, as JSON,
what tests/examples.test.ts checks against the package schema: each CachedDockerBuild call's keyword arguments,
the enum members it names, and the attributes (outputs) read from the component.

A value is {"literal": v} when ast.literal_eval reads it, {"enum": [Enum, MEMBER]} for a member of one of the
SDK's enums, and {"expr": source} for anything else (an Output, a config read).
"""

import ast
import json
import sys

MODULE = "pulumi_ecr_layer_cache"


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == MODULE
    }

    def is_component(func: ast.expr) -> bool:
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "CachedDockerBuild"
            and isinstance(func.value, ast.Name)
            and func.value.id in aliases
        )

    def value(v: ast.expr) -> dict:
        if (
            isinstance(v, ast.Attribute)
            and isinstance(v.value, ast.Attribute)
            and isinstance(v.value.value, ast.Name)
            and v.value.value.id in aliases
        ):
            return {"enum": [v.value.attr, v.attr]}
        try:
            return {"literal": ast.literal_eval(v)}
        except ValueError:
            return {"expr": ast.unparse(v)}

    calls, instances = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and is_component(node.value.func):
            instances.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if isinstance(node, ast.Call) and is_component(node.func):
            calls.append(
                {
                    "positional": [value(a) for a in node.args],
                    "keywords": {k.arg: value(k.value) for k in node.keywords},
                }
            )
    attributes = sorted(
        {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in instances
        }
    )
    print(json.dumps({"module_aliases": sorted(aliases), "calls": calls, "attributes": attributes}))


if __name__ == "__main__":
    main(sys.argv[1])
