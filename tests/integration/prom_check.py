#!/usr/bin/env python3
"""prom_check.py FILE [NAME=VALUE ...] - checks a Prometheus text exposition
(format 0.0.4) line by line, as a scraper would parse it, and prints the
value of each NAME (a series, e.g. 'gitopsfs_objects{resource="configmaps"}').

Exit 1 with the offending line on: a line that is neither a HELP/TYPE
comment nor a sample, a sample of a family with no TYPE before it, a HELP
or TYPE given twice, a counter whose name does not end in _total, a
malformed label set, a value that is not a float, a duplicate series."""
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE = re.compile(r'^(%s)(\{(?:%s(?:,%s)*)?\})? (\S+)( -?\d+)?$' % (NAME, LABEL, LABEL))
HELP = re.compile(r'^# HELP (%s) (.*)$' % NAME)
TYPE = re.compile(r'^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$' % NAME)


def fail(n, line, why):
    print('line %d: %s: %r' % (n, why, line))
    sys.exit(1)


def main():
    text = open(sys.argv[1], encoding='utf-8').read()
    if not text.endswith('\n'):
        fail(0, text[-40:], 'the exposition must end with a newline')
    types, helps, series = {}, set(), {}
    for n, line in enumerate(text.split('\n')[:-1], 1):
        if line.startswith('#'):
            m = HELP.match(line) or TYPE.match(line)
            if not m:
                if line.startswith('# HELP') or line.startswith('# TYPE'):
                    fail(n, line, 'malformed HELP/TYPE line')
                continue
            name = m.group(1)
            if line.startswith('# HELP'):
                if name in helps:
                    fail(n, line, 'HELP given twice')
                helps.add(name)
            else:
                if name in types:
                    fail(n, line, 'TYPE given twice')
                if m.group(2) == 'counter' and not name.endswith('_total'):
                    fail(n, line, 'a counter must end in _total')
                types[name] = m.group(2)
            continue
        m = SAMPLE.match(line)
        if not m:
            fail(n, line, 'not a sample line')
        if m.group(1) not in types:
            fail(n, line, 'sample of a family with no TYPE before it')
        try:
            value = float(m.group(3))
        except ValueError:
            fail(n, line, 'value is not a float')
        key = m.group(1) + (m.group(2) or '')
        if key in series:
            fail(n, line, 'duplicate series')
        series[key] = value
    for want in sys.argv[2:]:
        v = series.get(want)
        print('%s %s' % (want, 'absent' if v is None else ('%.0f' % v if v == int(v) else v)))


main()
