#!/usr/bin/env python3
"""wrap_cu.py KERNEL.cu OUT.cpp [DEPFILE]: the kernel source as a C++ translation unit for the host C++
compiler, which builds it for the emulator (bench/emu).

The text is the source's own, under `#line 1 "<its absolute path>"` (so messages, __FILE__ and
__LINE__ name the .cu), with two changes that keep every line where it was:
  - `#include "x"` of a file next to the source names it by absolute path (the output lives in
    the build directory, where "x" would not be found first);
  - the body of every kernel declared `__launch_bounds__(ARGS)` starts with
    `ATTN_EMU_LAUNCH_BOUNDS(ARGS);` (emu.h), so that each emulated launch checks blockDim
    against the bound, evaluated in the kernel's scope (template parameters included); emu.h
    defines __launch_bounds__ itself as nothing.
  - a static `__shared__` declaration of several variables is split into one declaration per
    variable (on the same line), so that each gets its own guard in the AddressSanitizer
    build (emu.h): `__shared__ float a[N], b[M];` -> `__shared__ float a[N]; __shared__ float
    b[M];` (not when the type has a template argument list or a declarator is a pointer).
Comments, string and character literals are skipped when looking for any of these."""
import os
import re
import sys


def code_mask(text):
    """For each character, whether it is code (not inside a comment or a literal)."""
    mask = bytearray(b'\x01') * len(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            j = min(j + 1, n)
        else:
            i += 1
            continue
        for k in range(i, j):
            mask[k] = 0
        i = j
    return mask


def launch_bounds(text, mask):
    """(insert position, arguments) for each `__launch_bounds__(...)` that precedes a body."""
    out = []
    for m in re.finditer(r'\b__launch_bounds__\s*\(', text):
        if not mask[m.start()]:
            continue
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if mask[i]:
                depth += {'(': 1, ')': -1}.get(text[i], 0)
            i += 1
        args = ' '.join(text[m.end():i - 1].split())
        depth = 0
        while i < len(text):  # the first '{' or ';' outside the parameter list
            if mask[i]:
                c = text[i]
                if c in '([':
                    depth += 1
                elif c in ')]':
                    depth -= 1
                elif depth == 0 and c == ';':
                    break  # a declaration: its definition carries the bound
                elif depth == 0 and c == '{':
                    out.append((i + 1, args))
                    break
            i += 1
    return out


def split_shared(text, mask):
    """(from, to, replacement) edits that give each variable of a multi-variable static
    `__shared__` declaration a declaration of its own."""
    out = []
    for m in re.finditer(r'\b__shared__\b', text):
        if not mask[m.start()] or re.search(r'\bextern\s*$', text[max(0, m.start() - 40):m.start()]):
            continue
        depth, i, commas = 0, m.end(), []
        while i < len(text):
            if mask[i]:
                c = text[i]
                if c in '([{':
                    depth += 1
                elif c in ')]}':
                    depth -= 1
                elif depth == 0 and c == ',':
                    commas.append(i)
                elif depth == 0 and c == ';':
                    break
            i += 1
        if not commas:
            continue
        first = text[m.end():commas[0]]
        rest = [text[a + 1:b] for a, b in zip(commas, commas[1:] + [i])]
        d = re.match(r'^(.*?[\s)])([A-Za-z_]\w*\s*(?:\[[^\]]*\]\s*)*)$', first.rstrip(), re.S)
        if (not d or '<' in first or d.group(1).rstrip()[-1:] in ('*', '&')
                or any(r.lstrip()[:1] in ('*', '&') for r in rest)):
            continue
        spec = ' '.join(d.group(1).split())
        out += [(c, c + 1, '; __shared__ %s ' % spec) for c in commas]
    return out


def main():
    src, out = sys.argv[1], sys.argv[2]
    path = os.path.abspath(src)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    mask = code_mask(text)
    edits = [(pos, pos, ' ATTN_EMU_LAUNCH_BOUNDS(%s);' % args)  # (from, to, replacement)
             for pos, args in launch_bounds(text, mask)]
    edits += split_shared(text, mask)
    here = os.path.dirname(path)
    for m in re.finditer(r'^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"', text, re.M):
        target = os.path.join(here, m.group(1))
        if mask[m.start()] and os.path.isfile(target):
            edits.append((m.start(1) - 1, m.end(1) + 1, '"%s"' % quote(target)))
    pieces, at = [], 0
    for pos, end, repl in sorted(edits):
        pieces += [text[at:pos], repl]
        at = end
    pieces.append(text[at:])
    with open(out, 'w', encoding='utf-8') as f:
        f.write('/* Generated by bench/emu/wrap_cu.py from %s for the emulator. */\n'
                '#line 1 "%s"\n' % (os.path.basename(src), quote(path)))
        f.write(''.join(pieces))
    if len(sys.argv) > 3:  # the output depends on this script too
        with open(sys.argv[3], 'w', encoding='utf-8') as f:
            f.write('%s: %s %s\n' % (dep(out), dep(path), dep(os.path.abspath(__file__))))


def dep(p):
    return p.replace('\\', '\\\\').replace(' ', '\\ ').replace('$', '$$')


def quote(p):
    return os.path.normpath(p).replace('\\', '\\\\').replace('"', '\\"')


if __name__ == '__main__':
    main()
