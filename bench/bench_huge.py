#!/usr/bin/env python3
"""One huge generated-style Go file through goinstrument, run by hand (never part of the tests).

    python bench/bench_huge.py [--sizes 0.5,1,2,5,10] [--mode default,diff,...] [--keep DIR]

The file looks like the output of protoc-gen-go-grpc, grpc-gateway or mockgen
(many functions taking a context, most returning an error, string literals,
a few methods), but without the `// Code generated` header, so goinstrument
instruments it. Each size and mode runs `python -m goinstrument` as a
subprocess on a fresh copy, and the table prints wall time, CPU time and the
process's max RSS (getrusage of the child, 1 MB = 10^6 bytes). Growth per
size step says whether the cost is linear: a doubling of the size should
roughly double the time. Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000

MODES: dict[str, list[str]] = {
    "default": [],
    "diff": ["--diff"],
    "check": ["--check"],
    "remove": ["--remove"],  # on the instrumented output
    "line-directives": ["--line-directives"],
    "attributes-code": ["--attributes", "code"],
}

HEADER = """package huge

import (
\t"context"
\t"errors"
\t"fmt"
\t"io"
\t"strings"
)

// Service is the interface the generated client implements.
type Service interface {
\tGet(ctx context.Context, id string) (string, error)
}

type client struct {
\tname string
\tw    io.Writer
}

var errNotFound = errors.New("not found")

"""

# One "unit" of generated code: {i} is its number. Mixes the shapes goinstrument
# meets in generated files: a method with an error result, a function without
# one, a handler-like function with a closure, a mock-style method. Error results
# are named, so no signature changes and the stability check's --remove round
# trip runs too (the costliest path).
UNIT = """// Get{i} fetches item {i}.
func (c *client) Get{i}(ctx context.Context, id string, opts ...string) (path string, err error) {{
\tif id == "" {{
\t\treturn "", fmt.Errorf("get{i}: empty id: %w", errNotFound)
\t}}
\tparts := []string{{"item", "{i}", id}}
\tparts = append(parts, opts...)
\treturn strings.Join(parts, "/"), nil
}}

func list{i}(ctx context.Context, n int) []string {{
\tout := make([]string, 0, n)
\tfor k := 0; k < n; k++ {{
\t\tout = append(out, fmt.Sprint("list{i}-", k))
\t}}
\treturn out
}}

func handle{i}(ctx context.Context, req map[string]string) (resp map[string]string, err error) {{
\tresp = map[string]string{{}}
\tfor k, v := range req {{
\t\tresp[k] = strings.ToUpper(v)
\t}}
\tcheck := func(s string) bool {{ return s != "" }}
\tif !check(req["id"]) {{
\t\terr = errors.New("handle{i}: missing id")
\t}}
\treturn resp, err
}}

// MockGet{i} records a call, as mockgen would.
func (c *client) MockGet{i}(ctx context.Context, id string) (err error) {{
\t_, err = fmt.Fprintf(c.w, "%s get{i} %s\\n", c.name, id)
\treturn err
}}

"""


def generate(size: int) -> bytes:
    """A generated-style Go file of at least `size` bytes (whole units)."""
    out = [HEADER]
    total = len(HEADER)
    i = 0
    while total < size:
        unit = UNIT.format(i=i)
        out.append(unit)
        total += len(unit)
        i += 1
    return "".join(out)[:-1].encode()  # one line break at the end, as gofmt has it


def run_once(path: Path, args: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    """(wall s, cpu s, max RSS MB, exit code) of one goinstrument run on `path`, in a fresh child."""
    cmd = [sys.executable, "-m", "goinstrument", "--no-cache", *args, str(path)]
    # A launcher so this script's own RSS never carries into the child's ru_maxrss (see README).
    launcher = (
        "import os,resource,sys,time;t=time.perf_counter();p=os.fork()\n"
        "if p==0:\n os.execvp(sys.argv[1],sys.argv[1:])\n"
        "_,s=os.waitpid(p,0);w=time.perf_counter()-t;r=resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "sys.stderr.write('\\nLAUNCH %f %f %d %d\\n'%(w,r.ru_utime+r.ru_stime,r.ru_maxrss,os.waitstatus_to_exitcode(s)))"
    )
    # From the file's directory: `python -m` puts the current directory first on sys.path.
    proc = subprocess.run([sys.executable, "-S", "-c", launcher, *cmd], env=env, cwd=path.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = proc.stderr.decode(errors="replace").strip().splitlines()[-1].split()
    wall, cpu, rss_kb, code = float(last[1]), float(last[2]), int(last[3]), int(last[4])
    return wall, cpu, rss_kb * 1024 / MB, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.5,1,2,5,10", help="file sizes in MB, comma-separated")
    parser.add_argument("--mode", default="default,diff", help=f"comma-separated, of: {', '.join(MODES)}")
    parser.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    parser.add_argument("--write", type=Path, help="only write a file of the first size to this path")
    parser.add_argument("--tool-root", type=Path, default=REPO, help="time the goinstrument package of the checkout at DIR (default: this one)")
    ns = parser.parse_args()
    sizes = [float(s) for s in ns.sizes.split(",")]
    if ns.write:
        ns.write.write_bytes(generate(int(sizes[0] * MB)))
        return 0
    modes = ns.mode.split(",")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ns.tool_root), os.environ.get("PYTHONPATH")])))
    scratch = Path(ns.keep) if ns.keep else Path(tempfile.mkdtemp(prefix="goinstrument-huge-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"{'MB':>5} {'mode':<16} {'wall s':>8} {'cpu s':>8} {'max RSS MB':>11} {'cpu/MB':>7}  exit")
    try:
        for size in sizes:
            source = generate(int(size * MB))
            for mode in modes:
                path = scratch / f"huge_{size:g}MB_{mode}.go"
                path.write_bytes(source)
                if mode == "remove":  # remove what a default run added
                    subprocess.run(
                        [sys.executable, "-m", "goinstrument", "--no-cache", "--fast", str(path)],
                        env=env,
                        cwd=path.parent,
                        check=False,
                        capture_output=True,
                    )
                wall, cpu, rss, code = run_once(path, MODES[mode], env)
                print(f"{size:>5g} {mode:<16} {wall:>8.2f} {cpu:>8.2f} {rss:>11.0f} {cpu / size:>7.2f}  {code}", flush=True)
    finally:
        if not ns.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
