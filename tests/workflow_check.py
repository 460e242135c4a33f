#!/usr/bin/env python3
"""Structural check of .github/workflows/ci.yml, with no network: the YAML parses, every key is
one GitHub Actions knows at its place (a typo such as `runs_on` or `use` fails, naming it), every
step has exactly one of run/uses, and the jobs do what docs/testing.md says: the CPU job on
every push runs tests/run and uploads the CI sweep's CSVs, plots and report (tolerating their
absence); the GPU job, on a self-hosted `gpu` runner and by hand only, sweeps, compares with
the committed results/<device>/ baseline through the gate, and uploads.

Usage: workflow_check.py FILE.yml [--parser builtin|yaml | --parsers-agree]. Exit 0, or 1 with
one line per problem. PyYAML is used when importable; otherwise (or with --parser builtin) a small parser of
the block YAML subset workflows use (mappings, sequences, plain/quoted scalars, flow
sequences, | and > block scalars)."""
import re
import sys

WORKFLOW_KEYS = {"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}
JOB_KEYS = {"name", "needs", "if", "runs-on", "environment", "concurrency", "outputs", "env",
            "defaults", "steps", "timeout-minutes", "strategy", "continue-on-error", "container",
            "services", "permissions", "uses", "with", "secrets"}
STEP_KEYS = {"id", "if", "name", "uses", "run", "shell", "with", "env", "working-directory",
             "continue-on-error", "timeout-minutes"}
EVENTS = {"push", "pull_request", "pull_request_target", "workflow_dispatch", "schedule",
          "workflow_call", "workflow_run", "release", "merge_group"}


class YamlError(Exception):
    pass


def scalar(s):
    s = s.strip()
    if s.startswith("[") and s.endswith("]"):
        return [scalar(x) for x in s[1:-1].split(",") if x.strip()]
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1].replace("''", "'") if s[0] == "'" else s[1:-1]
    if s in ("", "~", "null"):
        return None
    return s


def strip_comment(line):
    out, q = [], None
    for i, ch in enumerate(line):
        if q:
            q = None if ch == q else q
        elif ch in "'\"" and (i == 0 or line[i - 1] in " :[,-"):
            q = ch
        elif ch == "#" and (i == 0 or line[i - 1] == " "):
            break
        out.append(ch)
    return "".join(out).rstrip()


def parse_builtin(text):
    """Block YAML subset -> dicts, lists and strings."""
    lines, blocks = [], []   # (indent, text, line number); block scalars' texts
    raw = text.split("\n")
    i = 0
    while i < len(raw):
        line = raw[i]
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise YamlError("line %d: a tab in the indentation" % (i + 1))
        body = strip_comment(line)
        i += 1
        if not body.strip():
            continue
        ind = len(body) - len(body.lstrip())
        m = re.match(r"^((?:- )?[^\s:][^:]*:)\s*([|>])[-+]?$", body.strip())
        if m:  # a block scalar: the following lines indented deeper, kept aside
            block = []
            while i < len(raw) and (not raw[i].strip() or len(raw[i]) - len(raw[i].lstrip()) > ind):
                block.append(raw[i].rstrip())
                i += 1
            while block and not block[-1]:
                block.pop()
            cut = min((len(b) - len(b.lstrip()) for b in block if b), default=0)
            blocks.append(("\n" if m.group(2) == "|" else " ").join(b[cut:] for b in block) + "\n")
            body = " " * ind + m.group(1) + " \x00%d" % (len(blocks) - 1)
        lines.append((ind, body.strip(), i))
    pos = [0]

    def block(ind):
        if pos[0] >= len(lines):
            return None
        return seq(ind) if lines[pos[0]][1].startswith("- ") else mapping(ind)

    def value_of(rest, ind):
        if rest.startswith("\x00"):
            return blocks[int(rest[1:])]
        if rest:
            return scalar(rest)
        if pos[0] < len(lines) and lines[pos[0]][0] > ind:
            return block(lines[pos[0]][0])
        if pos[0] < len(lines) and lines[pos[0]][0] == ind and lines[pos[0]][1].startswith("- "):
            return seq(ind)  # a sequence may sit at its key's indentation
        return None

    def mapping(ind):
        d = {}
        while pos[0] < len(lines):
            li, text, n = lines[pos[0]]
            if li < ind or (li == ind and text.startswith("- ")):
                break
            if li > ind:
                raise YamlError("line %d: unexpected indentation" % n)
            m = re.match(r"^([^\s:'\"][^:]*|'[^']*'|\"[^\"]*\"):(?:\s+(.*))?$", text)
            if not m:
                raise YamlError("line %d: not a 'key: value' line: %s" % (n, text))
            key = scalar(m.group(1))
            if key in d:
                raise YamlError("line %d: key %s given twice" % (n, key))
            pos[0] += 1
            d[key] = value_of((m.group(2) or "").strip(), ind)
        return d

    def seq(ind):
        out = []
        while pos[0] < len(lines):
            li, text, n = lines[pos[0]]
            if li != ind or not text.startswith("- "):
                if li > ind:
                    raise YamlError("line %d: unexpected indentation" % n)
                break
            item = text[2:].strip()
            if re.match(r"^[^\s:'\"\[][^:]*:(\s|$)", item):  # "- key: v": a mapping item
                lines[pos[0]] = (li + 2, item, n)
                out.append(mapping(li + 2))
            else:
                pos[0] += 1
                out.append(value_of(item, li))
        return out

    doc = block(0)
    if pos[0] != len(lines):
        raise YamlError("line %d: unexpected indentation" % lines[pos[0]][2])
    return doc


def parse_yaml(text):
    import yaml
    try:
        d = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise YamlError(str(e).replace("\n", " "))
    if isinstance(d, dict) and True in d:  # YAML 1.1 reads the key `on` as true
        d["on"] = d.pop(True)
    return d


def text_of(x):
    return x if isinstance(x, str) else " ".join(x) if isinstance(x, list) else str(x or "")


def check(doc):
    errs = []
    if not isinstance(doc, dict):
        return ["the file is not a mapping"]
    for k in doc:
        if k not in WORKFLOW_KEYS:
            errs.append("unknown top-level key '%s'" % k)
    for k in ("on", "jobs"):
        if k not in doc:
            errs.append("no '%s'" % k)
    on = doc.get("on") or {}
    events = set(on) if isinstance(on, dict) else set(on if isinstance(on, list) else [on])
    for e in events - EVENTS:
        errs.append("unknown event '%s' under on" % e)
    for e in ("push", "workflow_dispatch"):
        if e not in events:
            errs.append("not run on %s" % e)
    jobs = doc.get("jobs") or {}
    if not isinstance(jobs, dict) or not jobs:
        return errs + ["no jobs"]
    for jn, job in jobs.items():
        if not isinstance(job, dict):
            errs.append("job %s: not a mapping" % jn)
            continue
        for k in job:
            if k not in JOB_KEYS:
                errs.append("job %s: unknown key '%s'" % (jn, k))
        for k in ("runs-on", "steps"):
            if k not in job:
                errs.append("job %s: no '%s'" % (jn, k))
        for i, st in enumerate(job.get("steps") or []):
            where = "job %s step %d (%s)" % (jn, i + 1, (st or {}).get("name", "unnamed")
                                             if isinstance(st, dict) else "?")
            if not isinstance(st, dict):
                errs.append(where + ": not a mapping")
                continue
            for k in st:
                if k not in STEP_KEYS:
                    errs.append("%s: unknown key '%s'" % (where, k))
            if ("run" in st) == ("uses" in st):
                errs.append(where + ": needs exactly one of run and uses")
    # What the project's jobs must do.
    def steps(job):
        return [s for s in job.get("steps") or [] if isinstance(s, dict)]

    def uploads(job):
        return [s for s in steps(job) if text_of(s.get("uses")).startswith("actions/upload-artifact@")]

    def runs(job):
        return "\n".join(text_of(s.get("run")) for s in steps(job))

    cpu = [j for j in jobs.values() if isinstance(j, dict) and "tests/run" in runs(j)]
    gpu = [j for j in jobs.values() if isinstance(j, dict) and
           {"self-hosted", "gpu"} <= set(text_of(j.get("runs-on")).replace(",", " ").split())]
    if not cpu:
        errs.append("no job runs tests/run")
    for j in cpu:
        if "self-hosted" in text_of(j.get("runs-on")):
            errs.append("the tests/run job must run on a hosted runner")
        if "if" in j:
            errs.append("the tests/run job must run on every push (no 'if')")
        paths = " ".join(text_of((u.get("with") or {}).get("path")) for u in uploads(j))
        for p in ("build/ci-sweep/*.csv", "build/ci-sweep/*.png", "build/ci-sweep/*.svg",
                  "build/ci-sweep/report/"):
            if p not in paths.split():
                errs.append("the tests/run job uploads no %s" % p)
        for u in uploads(j):
            w = u.get("with") or {}
            if "build/ci-sweep" in text_of(w.get("path")) and w.get("if-no-files-found") != "warn":
                errs.append("the CI sweep upload must say if-no-files-found: warn")
            if "build/ci-sweep" in text_of(w.get("path")) and "always()" not in text_of(u.get("if")):
                errs.append("the CI sweep upload must run even when the tests fail (if: always())")
    if not gpu:
        errs.append("no job runs on [self-hosted, gpu]")
    for j in gpu:
        if "workflow_dispatch" not in text_of(j.get("if")):
            errs.append("the GPU job must run by hand only (if: ... workflow_dispatch)")
        r = runs(j)
        for what, pat in (("the sweep", r"--sweep"), ("the compare gate", r"compare .*--fail-above"),
                          ("the committed baseline", r"results/")):
            if not re.search(pat, r):
                errs.append("the GPU job lacks %s" % what)
        if not uploads(j):
            errs.append("the GPU job uploads nothing")
    return errs


def plain(x):
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return None if x is None else str(x)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[2:] == ["--parsers-agree"]:  # the built-in parser reads the file as PyYAML does
        text = open(argv[1], encoding="utf-8").read()
        if plain(parse_builtin(text)) != plain(parse_yaml(text)):
            print("%s: the built-in parser and PyYAML read it differently" % argv[1])
            return 1
        return 0
    parser = argv[3] if len(argv) > 3 and argv[2] == "--parser" else None
    if parser is None:
        try:
            import yaml  # noqa: F401
            parser = "yaml"
        except ImportError:
            parser = "builtin"
    try:
        text = open(argv[1], encoding="utf-8").read()
        doc = parse_yaml(text) if parser == "yaml" else parse_builtin(text)
    except (OSError, YamlError) as e:
        print("%s: %s" % (argv[1], e))
        return 1
    errs = check(doc)
    for e in errs:
        print("%s: %s" % (argv[1], e))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
