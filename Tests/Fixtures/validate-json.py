#!/usr/bin/env python3
"""Validates JSON (or YAML) documents against a JSON Schema with Debian's python3-jsonschema.

usage: validate-json.py SCHEMA.json FILE... (FILE "-" reads one document from stdin; .yml/.yaml files are YAML)
Prints one line per problem ("FILE: path: message") and exits 1 when any document is invalid, 0 otherwise.
"""
import json
import sys

import jsonschema


def load(path):
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    if path.endswith((".yml", ".yaml")):
        import yaml
        return yaml.safe_load(text)
    return json.loads(text)


def main():
    schema = json.load(open(sys.argv[1], encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=jsonschema.FormatChecker())
    bad = 0
    for path in sys.argv[2:]:
        for error in sorted(validator.iter_errors(load(path)), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            print(f"{path}: {where}: {error.message}")
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
