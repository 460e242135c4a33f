#!/usr/bin/env python3
"""own_kernel.py SOURCE_ROOT BUILD_DIR: follow docs/own-kernel.md as a user would.

Every ```sh block of the page must be preceded by a comment saying how the test treats it:
  <!-- test: exit N[, needs TOOL][, prints "TEXT"] -->  run it; it must exit N (the commands
      run under `set -e -o pipefail`, so an unexpected failure ends the block with its status)
      and, when given, print TEXT; a block that needs gnuplot or torch (PyTorch) is skipped,
      saying so, where that is missing
  <!-- test: skip (WHY) -->                             not run here (e.g. it needs a GPU)
The blocks run in order, in one fresh directory, as one session: variables a block exports
are seen by the next. ATTNBENCH is a copy of the checkout made of links, whose `attnbench` is
the build's binary (the ./attnbench wrapper would configure and build), and `attnbench` is on
PATH (and python3 is ATTNBENCH_PYTHON when that is set). Exit 0 when every block behaved, 1 naming the first that did not, 2 on bad usage."""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main(argv):
    if len(argv) != 2:
        print("usage: own_kernel.py SOURCE_ROOT BUILD_DIR", file=sys.stderr)
        return 2
    root, build = (os.path.abspath(a) for a in argv)
    page = os.path.join(root, "docs", "own-kernel.md")
    doc = open(page, encoding="utf-8").read()
    blocks = re.findall(r"<!-- test: (.*?) -->\n```sh\n(.*?)```", doc, re.S)
    nsh = len(re.findall(r"^```sh$", doc, re.M))
    if nsh != len(blocks) or not blocks:
        print("own_kernel: FAIL: %s has %d sh blocks, %d with a test comment before them"
              % (page, nsh, len(blocks)), file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="own-kernel.") as tmp:
        tree, bindir, work = (os.path.join(tmp, d) for d in ("tree", "bin", "work"))
        for d in (tree, bindir, work):
            os.mkdir(d)
        for e in os.listdir(root):
            if e not in (".git", "build", "attnbench"):
                os.symlink(os.path.join(root, e), os.path.join(tree, e))
        os.symlink(build, os.path.join(tree, "build"))
        binary = os.path.join(build, "attnbench")
        os.symlink(binary, os.path.join(tree, "attnbench"))
        os.symlink(binary, os.path.join(bindir, "attnbench"))
        if os.environ.get("ATTNBENCH_PYTHON"):  # e.g. a virtual environment with PyTorch
            os.symlink(os.environ["ATTNBENCH_PYTHON"], os.path.join(bindir, "python3"))
        env_file = os.path.join(tmp, "env")
        with open(env_file, "w") as f:
            f.write("export ATTNBENCH=%s\nexport PATH=%s:\"$PATH\"\n" % (tree, bindir))
        env = {k: v for k, v in os.environ.items() if k != "ATTNBENCH_PLUGINS"}
        ran = 0
        for n, (how, body) in enumerate(blocks, 1):
            first = body.strip().splitlines()[0]
            if how.startswith("skip"):
                print("block %d (%s): %s" % (n, first, how))
                continue
            need = re.search(r"needs (\w+)", how)
            if need and not have(need.group(1)):
                print("block %d (%s): skipped, %s is not available" % (n, first, need.group(1)))
                continue
            want = int(re.search(r"exit (\d+)", how).group(1))
            text = re.search(r'prints "(.*?)"', how)
            script = "set -e -o pipefail\nsource %s\n%s\nexport -p >%s\n" % (env_file, body,
                                                                              env_file)
            r = subprocess.run(["bash", "-c", script], cwd=work, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
            if r.returncode != want or (text and text.group(1) not in r.stdout):
                print("own_kernel: FAIL: docs/own-kernel.md block %d (%s): exit %d, want %d%s:\n%s"
                      % (n, first, r.returncode, want,
                         ", printing \"%s\"" % text.group(1) if text else "", r.stdout[-3000:]),
                      file=sys.stderr)
                return 1
            print("block %d (%s): exit %d as documented" % (n, first, want))
            ran += 1
    print("own_kernel: ok, %d blocks run" % ran)
    return 0


def have(tool):
    if tool == "torch":
        py = os.environ.get("ATTNBENCH_PYTHON", "python3")
        return subprocess.run([py, "-c", "import torch"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    return shutil.which(tool) is not None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
