#!/usr/bin/env python3
"""Checks a metrics.textfile (docs/agent.md "Metrics") the way a strict scraper would read it.

Usage: check_metrics.py FILE [--state S[,S...]] [--generation N] [--expect 'SERIES=VALUE']...
                             [--present NAME]... [--absent NAME]...

The format (Prometheus text exposition 0.0.4), strictly: the file ends in a newline; every line
is `# HELP NAME TEXT`, `# TYPE NAME TYPE` or a sample `NAME[{LABEL="VALUE",...}] VALUE`; a
family's TYPE comes before its first sample, once, and its samples are contiguous; names and
label names are valid, label values use only the escapes \\\\ \\" \\n; values are numbers; no
series appears twice. haspool's own conventions: every name starts with haspool_, counters end
in _total and are never negative, gauges never end in _total.

Then the assertions: --state: haspool_state is one-hot and its 1 is one of the states given;
--generation: haspool_generation is N; --expect 'NAME{LABELS}=VALUE': that series (labels as
written in the file) has that value; --present NAME: a sample of that family; --absent NAME:
none.
Exit 0 when everything holds, else 1 with one line saying what does not.
"""
import argparse
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    rf"^(?P<name>{NAME})(?:\{{(?P<labels>(?:{LABEL}={LABEL_VALUE})(?:,{LABEL}={LABEL_VALUE})*)?\}})? "
    rf"(?P<value>\S+)(?: (?P<ts>-?[0-9]+))?$")
HELP = re.compile(rf"^# HELP (?P<name>{NAME}) (?P<text>.*)$")
TYPE = re.compile(rf"^# TYPE (?P<name>{NAME}) (?P<type>counter|gauge|histogram|summary|untyped)$")
ONE_LABEL = re.compile(rf"({LABEL})=({LABEL_VALUE})")


class Bad(Exception):
    pass


def number(text, where):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", text):
        raise Bad(f"{where}: the value '{text}' is not a number")
    return float(text)


def unescape(quoted):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), quoted[1:-1])


def parse(text):
    """Returns {(name, labels-as-written): value} and {name: type}; raises Bad."""
    if not text:
        raise Bad("the file is empty")
    if not text.endswith("\n"):
        raise Bad("the file does not end in a newline (a torn write?)")
    types, helps, series = {}, set(), {}
    done = set()  # families whose samples are over
    current = None
    for no, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {no} '{line}'"
        if line.startswith("#"):
            m = HELP.match(line) or TYPE.match(line)
            if not m:
                raise Bad(f"{where}: a comment that is neither HELP nor TYPE")
            name = m.group("name")
            if "type" in m.groupdict():
                if name in types:
                    raise Bad(f"{where}: a second TYPE for {name}")
                if name in done or name == current:
                    raise Bad(f"{where}: TYPE after samples of {name}")
                types[name] = m.group("type")
            else:
                if name in helps:
                    raise Bad(f"{where}: a second HELP for {name}")
                helps.add(name)
            continue
        m = SAMPLE.match(line)
        if not m:
            raise Bad(f"{where}: not a sample line")
        name, labels = m.group("name"), m.group("labels") or ""
        if name not in types:
            raise Bad(f"{where}: a sample without a preceding TYPE")
        if name != current:
            if name in done:
                raise Bad(f"{where}: the samples of {name} are not together")
            if current:
                done.add(current)
            current = name
        names = [k for k, _ in ONE_LABEL.findall(labels)]
        if len(names) != len(set(names)):
            raise Bad(f"{where}: a label given twice")
        if (name, labels) in series:
            raise Bad(f"{where}: the series appears twice")
        value = number(m.group("value"), where)
        if not name.startswith("haspool_"):
            raise Bad(f"{where}: the name does not start with haspool_")
        if types[name] == "counter" and (not name.endswith("_total") or value < 0 or math.isnan(value)):
            raise Bad(f"{where}: a counter must end in _total and not be negative")
        if types[name] == "gauge" and name.endswith("_total"):
            raise Bad(f"{where}: a gauge named like a counter")
        series[(name, labels)] = value
    for name in types:
        if name not in helps:
            raise Bad(f"{name} has a TYPE but no HELP")
    return series, types


def check(series, args):
    states = {unescape(ONE_LABEL.match(l).group(2)): v for (n, l), v in series.items() if n == "haspool_state"}
    if args.state:
        want = args.state.split(",")
        ones = [s for s, v in states.items() if v == 1]
        if any(v not in (0, 1) for v in states.values()) or len(ones) != 1:
            raise Bad(f"haspool_state is not one-hot: {states}")
        if ones[0] not in want:
            raise Bad(f"haspool_state says {ones[0]}, not one of {want}")
    if args.generation is not None:
        g = series.get(("haspool_generation", ""))
        if g != args.generation:
            raise Bad(f"haspool_generation is {g}, not {args.generation}")
    for e in args.expect:
        key, _, want = e.rpartition("=")
        m = re.fullmatch(rf"({NAME})(?:\{{(.*)\}})?", key)
        if not m:
            raise Bad(f"--expect {e}: not NAME{{LABELS}}=VALUE")
        got = series.get((m.group(1), m.group(2) or ""))
        if got is None:
            raise Bad(f"no series {key}")
        if got != float(want):
            raise Bad(f"{key} is {got}, not {want}")
    for name in args.present:
        if not any(n == name for n, _ in series):
            raise Bad(f"{name} is missing")
    for name in args.absent:
        if any(n == name for n, _ in series):
            raise Bad(f"{name} is present")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--state")
    p.add_argument("--generation", type=float)
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--present", action="append", default=[])
    p.add_argument("--absent", action="append", default=[])
    args = p.parse_args()
    try:
        with open(args.file) as f:
            text = f.read()
    except OSError as e:
        print(f"{args.file}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        series, _ = parse(text)
        check(series, args)
    except Bad as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return 1
    print(f"{args.file}: {len(series)} series, all valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
