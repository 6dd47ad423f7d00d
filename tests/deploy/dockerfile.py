"""A small reader of the repository's Dockerfile: its stages and their instructions.

Enough of the syntax for our own file: comments, backslash continuations, `FROM image AS name`,
and instructions as (keyword, arguments) with JSON-array (exec form) arguments parsed.
"""

import json
import os
import re
from dataclasses import dataclass, field

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@dataclass
class Stage:
    name: str
    image: str
    instructions: list = field(default_factory=list)  # (KEYWORD, text)

    def all(self, keyword):
        return [text for k, text in self.instructions if k == keyword]

    def one(self, keyword):
        found = self.all(keyword)
        assert len(found) == 1, f"stage {self.name}: expected one {keyword}, found {len(found)}"
        return found[0]


def logical_lines(text):
    line = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not line and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            line += stripped[:-1] + " "
            continue
        yield (line + stripped).strip()
        line = ""
    if line.strip():
        yield line.strip()


def parse(path=os.path.join(REPO_ROOT, "Dockerfile")):
    stages = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for line in logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest.strip(), re.I)
            assert m, f"cannot read FROM {rest!r}"
            stages.append(Stage(m.group(2) or str(len(stages)), m.group(1)))
            continue
        assert stages, f"{keyword} before any FROM"
        stages[-1].instructions.append((keyword, rest.strip()))
    return stages


def exec_form(text):
    """The JSON array of an exec-form instruction (CMD, ENTRYPOINT), or None for shell form."""
    text = text.strip()
    return json.loads(text) if text.startswith("[") else None


def env_pairs(text):
    """ENV a=1 b=2 (the key=value form)."""
    return dict(pair.split("=", 1) for pair in text.split())


def apt_packages(run_text):
    """The packages of the `apt-get install` in a RUN instruction."""
    m = re.search(r"apt-get install ([^&|;]*)", run_text)
    if not m:
        return []
    return [w for w in m.group(1).split() if not w.startswith("-")]


def healthcheck(text):
    """(options, command) of a HEALTHCHECK ... CMD <command>."""
    opts, _, command = text.partition(" CMD ")
    options = dict(o[2:].split("=", 1) for o in opts.split() if o.startswith("--"))
    return options, command.strip()
