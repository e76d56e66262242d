"""render_reference_jinja2.py writes reference_jinja2.json: the renderings of render_reference.mjs
(same templates, conversations, prefixes and variables), made by Python's Jinja2 set up the way
transformers' apply_chat_template sets it up, so they are what a Python training script renders,
and the renderings of the small templates of features.json, one Jinja feature each.

The environment: ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension, a {% generation %} block that renders its body, tojson as
json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...) and raise_exception.
strftime_now is left out on purpose, as in sftlab (see the package documentation).

Regenerate (needs python3 with jinja2; the Go tests only read the output):

    python3 render_reference_jinja2.py
"""

import json
import os
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Generation(Extension):
    """{% generation %}...{% endgeneration %}: transformers marks assistant text with it."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def main():
    here = Path(__file__).parent
    templates = json.loads((here / "templates.json").read_text(encoding="utf-8"))
    conversations = json.loads((here / "conversations.json").read_text(encoding="utf-8"))

    inputs = []
    for c in conversations:
        msgs = c["messages"]
        for gen in (False, True):
            inputs.append((c["name"], len(msgs), gen, msgs))
        for i, m in enumerate(msgs):
            if m["role"] == "assistant" and i > 0:
                inputs.append((c["name"], i, True, msgs[:i]))

    env = environment()
    cases = []
    for t in templates:
        template = env.from_string((here / t["file"]).read_text(encoding="utf-8"))
        for name, prefix, gen, msgs in inputs:
            case = {"template": t["name"], "conversation": name, "prefix": prefix, "add_generation_prompt": gen}
            try:
                case["text"] = template.render(
                    messages=msgs,
                    add_generation_prompt=gen,
                    tools=None,
                    documents=None,
                    enable_thinking=False,
                    **t["special_tokens"],
                )
            except jinja2.exceptions.TemplateError as e:
                case["error"] = str(e)
            cases.append(case)

    features = []
    for f in json.loads((here / "features.json").read_text(encoding="utf-8")):
        case = {"name": f["name"]}
        try:
            case["text"] = env.from_string(f["template"]).render(**f["vars"])
        except jinja2.exceptions.TemplateError as e:
            case["error"] = str(e)
        features.append(case)

    out = {"engine": f"jinja2 {jinja2.__version__}", "cases": cases, "features": features}
    target = here / "reference_jinja2.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    print(f"wrote {len(cases)} renderings to {target}")


if __name__ == "__main__":
    main()
