#!/usr/bin/env python3
"""SASS report: what the compiler made of each GPU kernel, read from the built code (no GPU).

usage: sass_report.py OBJ_OR_LIB_OR_SASS... [--kernel REGEX] [--arch sm_90] [--format md|csv]
                      [--budget 'PATTERN: key<=x ...; PATTERN: ...']... [--budgets FILE]
                      [--default 'spills=0'] [--columns kernel,regs,...] [-o FILE]

Input: an object file, a static library (thin or regular archive, as Meson builds
libattn_kernels.a) or a text file holding `cuobjdump -sass` output, optionally followed by
`cuobjdump --dump-resource-usage` output (how the tests plant constructed SASS). cuobjdump and
nvdisasm are looked up in PATH, /usr/local/cuda/bin, $CUDA_HOME/bin, $ATTNBENCH_TOOLS/nvidia/*/bin.

Per kernel function (one row each):
  regs, stack        registers per thread and stack frame bytes (cuobjdump --dump-resource-usage)
  spills             LDL + STL instructions in the whole function (local-memory traffic: register
                     spills, or a local array the compiler could not keep in registers)
  smem               static shared bytes (resource usage); dsmem: the dynamic shared bytes a
                     budget declares (`dsmem=N`, the launch's value; the object cannot know it)
  threads            threads per CTA: a budget's `threads=N`, else __launch_bounds__' maximum
  ctas, warps        resident CTAs and warps per SM from regs, threads and shared memory, with the
                     sm_90 limits below; `limit` names what binds
  loop               the main loop, of the regions [target, BRA] closed by a backward branch: those
                     with the most tensor-core instructions, innermost (one holding another of
                     them is left out), then the last in the code (the steady tile loop, not a
                     prologue loop or a loop of peeled edge tiles before it with as many MMAs);
                     without MMAs, of the innermost loops the one with the most memory
                     instructions, then the largest. A region holding an unpredicated EXIT
                     is no loop (an out-of-line try-wait retry's jump back closes it). A
                     function without a backward branch is measured whole ("-" in loop).
  body               instructions in that region (static count, NOP excluded)
  instr ... smem_B   counts along one steady-state iteration of it: of the paths from the loop
                     head to its backward branch, the one with the most tensor-core instructions,
                     then the most global loads (LDGSTS, LDG: a steady iteration fetches the next
                     tile), then the fewest instructions, so a guarded block with neither (the
                     masking of a diagonal or last tile, a tail's zero fill) is left out. A
                     predicated forward branch may go either way, an unpredicated one is taken;
                     inner backward branches are not followed (an inner loop's body counts once).
                     Predicated instructions on the path count (they issue), @!PT padding too
  mma                tensor-core instructions (opcode ending in MMA: HMMA, HGMMA, IMMA, ...), as
                     each warp issues them: a wgmma is one HGMMA in each of its warpgroup's four
                     warps, so in a wgmma kernel every per-MMA ratio below is per HGMMA (a
                     64xNx16 HGMMA is a warp's quarter of the m64nNk16: N/8 HMMA.16816's work)
  ldsm ldgsts mufu   ldmatrix, cp.async (global -> shared), special-function (ex2, rcp, ...)
  int                integer/address ops: IADD3 IMAD* LEA SHF LOP3 ISETP IMNMX SEL VIADD ... and
                     their uniform-datapath forms (UIADD3, ULEA, ...)
  smem_B             shared-memory bytes moved per warp by the region, per instruction: LDSM .x1/.x2
                     /.x4 = 128/256/512 B, LDS/STS/LDGSTS/ATOMS = access width x 32 lanes (all lanes
                     assumed active); LDGSTS counts as the shared write it is; `@!PT` padding
                     (never executes) and a predicated store of RZ (a tail's zero fill) move none
  instr/mma ldsm/mma int/mma smem_B/mma   the ratios (empty without MMAs)
  gst_B              global bytes one lane stores along that iteration (STG width; @!PT: none)
  instr/elem         for element-wise kernels: instr / the elements one lane writes per
                     iteration, gst_B / the budget's `elem_bytes=N` (2 for bf16 output), or its
                     `elems=N` when given
  clk/mma bound TFLOP/s  the model (MODEL below, kernels/PERF-NOTES.md): one MMA of the main loop
                     costs an SM max(instr/mma / 4 issue slots, its FLOPs / 2048 (mma.sync at
                     half wgmma's rate; HGMMA: / 4096), smem_B/mma / 128 B) clocks (an HGMMA's
                     operands read through descriptors are not in smem_B: the tensor cores
                     fetch them); `bound` names the largest;
                     TFLOP/s = FLOPs per MMA / clk/mma x 132 SMs x 1.83 GHz (H100 SXM): a
                     ceiling for a kernel that spends all its time in that loop at full occupancy

sm_90 limits used for occupancy (CUDA occupancy calculator, compute capability 9.0): 65536
registers per SM in 4 sub-partitions, allocated per warp in units of 256; at most 64 warps and 32
CTAs per SM; 228 KB (233472 B) shared memory per SM, 227 KB per CTA, plus 1 KB reserved per CTA,
allocated in units of 128 B.

Budgets: clauses `PATTERN: item item ...` separated by ';'. PATTERN is a Python regular expression
searched in the demangled name (mangled also tried); a kernel matching no clause is unchecked, one
matching several gets all their items. Items: `threads=N` and `dsmem=N` (launch facts for the
occupancy), `elem_bytes=N` or `elems=N` (for instr/elem), and limits `METRIC<=X`, `METRIC>=X` or `METRIC=X` with
METRIC one of the columns above (spills, stack, regs, instr/mma, ldsm/mma, int/mma, smem_B/mma,
instr/elem, ctas, warps, mma, ...). A limit on a ratio a kernel does not have (no MMA) fails.
--budgets FILE takes lines 'SOURCE<TAB>CLAUSES' (`list_kernels --budgets`): the clauses apply to
the kernels compiled from SOURCE's directory only (a row runs its suite's shared kernels too,
e.g. kernels/halo/common.cu's), and a SOURCE with clauses must be found ('-': none). --default ITEMS
applies to every kernel reported whose budget does not set that metric. A budget pattern that
matches no kernel fails too (a renamed kernel must not slip out of its budget).

Exit: 0 report written and every budget holds; 1 a budget is exceeded (each printed as
`BUDGET FAIL kernel: metric value > limit` on stderr); 2 bad usage or unreadable input; 3 no
kernel function matched; 77 cuobjdump/nvdisasm not found (an input needing them was given).
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The throughput model (kernels/PERF-NOTES.md), per SM and clock: 4 instructions issued (one per
# sub-partition); mma.sync at half wgmma's dense rate (H100 SXM: 989 TFLOP/s bf16 at 1.83 GHz over
# 132 SMs = 4096 FLOP/clk/SM for wgmma, 2048 for mma.sync: one m16n8k16 per 2 clocks); 128 B of
# shared memory. One MMA of the main loop then costs max(instr/mma / 4, flops/2048,
# smem_B/mma / 128) clocks of an SM, whichever binds; TFLOP/s = flops / that x SMS x GHZ.
MODEL = dict(issue=4, mma_flops_per_clk=2048, smem_bytes_per_clk=128, sms=132, ghz=1.83)

SM90 = dict(regs_per_sm=65536, subpartitions=4, reg_unit=256, max_regs=255, max_warps=64,
            max_ctas=32, max_threads=1024, smem_per_sm=233472, smem_per_cta=232448,
            smem_reserved=1024, smem_unit=128)

INT_OPS = {'IADD3', 'IADD', 'IMAD', 'IMUL', 'IMNMX', 'VIMNMX', 'VIADD', 'VIADDMNMX', 'ISCADD',
           'LEA', 'LOP3', 'LOP', 'SHF', 'SHL', 'SHR', 'ISETP', 'IABS', 'POPC', 'FLO', 'BREV',
           'BMSK', 'SGXT', 'SEL', 'IDP', 'IDP4A'}
MEM_OPS = {'LDG', 'STG', 'LDS', 'STS', 'LDSM', 'STSM', 'LDGSTS', 'LDL', 'STL', 'LD', 'ST',
           'ATOM', 'ATOMG', 'ATOMS', 'RED', 'UBLKCP', 'UTMALDG', 'UTMASTG'}
CONTROL_ALWAYS_LIMITS = ('spills', 'stack', 'regs')

COLUMNS = ['source', 'kernel', 'regs', 'stack', 'spills', 'smem', 'dsmem', 'threads', 'ctas',
           'warps', 'limit', 'loop', 'body', 'instr', 'mma', 'ldsm', 'ldgsts', 'mufu', 'int', 'smem_B',
           'gst_B', 'instr/mma', 'ldsm/mma', 'int/mma', 'smem_B/mma', 'instr/elem', 'clk/mma', 'bound',
           'TFLOP/s']
RATIOS = {'instr/mma': ('instr', 'mma'), 'ldsm/mma': ('ldsm', 'mma'), 'int/mma': ('int', 'mma'),
          'smem_B/mma': ('smem_B', 'mma'), 'mufu/mma': ('mufu', 'mma')}


class Usage(Exception):
    pass


class NoTools(Exception):
    pass


# ---- tools ---------------------------------------------------------------------------------

def find_tool(name):
    p = shutil.which(name)
    if p:
        return p
    dirs = ['/usr/local/cuda/bin']
    if os.environ.get('CUDA_HOME'):
        dirs.append(os.path.join(os.environ['CUDA_HOME'], 'bin'))
    tools = os.environ.get('ATTNBENCH_TOOLS')
    if tools and os.path.isdir(os.path.join(tools, 'nvidia')):
        for d in sorted(os.listdir(os.path.join(tools, 'nvidia'))):
            dirs.append(os.path.join(tools, 'nvidia', d, 'bin'))
    for d in dirs:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def short(name):
    """'void f<64, 1>(int, float)' -> 'f<64, 1>': the name a report row shows."""
    if name.startswith('void '):
        name = name[5:]
    if name.endswith(')'):
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {')': 1, '(': -1}.get(name[i], 0)
            if depth == 0:
                return name[:i] or name
    return name


def demangle(names):
    """Demangled names through c++filt when present; the mangled name otherwise."""
    names = list(names)
    filt = shutil.which('c++filt') or find_tool('cu++filt')
    if not filt or not names:
        return {n: n for n in names}
    try:
        out = subprocess.run([filt], input='\n'.join(names) + '\n', capture_output=True,
                             text=True, check=True).stdout.split('\n')
    except (OSError, subprocess.CalledProcessError):
        return {n: n for n in names}
    return {n: (out[i] if i < len(out) and out[i] else n) for i, n in enumerate(names)}


# ---- inputs --------------------------------------------------------------------------------

def objects_of(path, tmp):
    """The objects a library or object file holds (an object is its own single member)."""
    with open(path, 'rb') as f:
        head = f.read(8)
    if head.startswith(b'!<thin>'):
        members = subprocess.run(['ar', 't', path], capture_output=True, text=True, check=True)
        objs = []
        for m in members.stdout.split():
            p = m if os.path.isfile(m) else os.path.join(os.path.dirname(path), m)
            if not os.path.isfile(p):
                raise Usage(f'thin archive {path}: member {p} not found')
            objs.append(p)
        return objs
    if head.startswith(b'!<arch>'):
        d = tempfile.mkdtemp(dir=tmp)
        subprocess.run(['ar', 'x', os.path.abspath(path)], cwd=d, check=True)
        return [os.path.join(d, m) for m in sorted(os.listdir(d))]
    return [path]


def is_text(path):
    with open(path, 'rb') as f:
        chunk = f.read(4096)
    if b'\0' in chunk:
        return False
    try:
        chunk.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return True


def dump(obj, arch):
    """(sass text, resource text, elf text) of one object; None when it has no ARCH code."""
    cuobjdump = find_tool('cuobjdump')
    nvdisasm = find_tool('nvdisasm')
    if not cuobjdump or not nvdisasm:
        raise NoTools('cuobjdump and nvdisasm are needed (PATH, /usr/local/cuda/bin, '
                      '$CUDA_HOME/bin, $ATTNBENCH_TOOLS/nvidia/*/bin); install with: python3 -m '
                      'pip install --target "$ATTNBENCH_TOOLS" nvidia-cuda-cuobjdump '
                      'nvidia-cuda-nvdisasm')
    env = dict(os.environ, PATH=os.path.dirname(nvdisasm) + os.pathsep + os.environ.get('PATH', ''))
    out = []
    for flag in ('-sass', '--dump-resource-usage', '-elf'):
        r = subprocess.run([cuobjdump, flag, '-arch', arch, obj], capture_output=True, text=True,
                           env=env)
        if r.returncode != 0:
            if 'does not contain device code' in r.stderr or 'no device code' in r.stderr.lower():
                return None
            raise Usage(f'cuobjdump {flag} -arch {arch} {obj}: {r.stderr.strip()}')
        out.append(r.stdout)
    return out


# ---- parsing -------------------------------------------------------------------------------

INSN = re.compile(r'^\s*/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;')
TARGET = re.compile(r'0x([0-9a-f]+)')


def parse_sass(text):
    """{function: [(addr, pred, opcode, operands)]} and the first fatbin identifier."""
    funcs, cur, ident = {}, None, None
    for line in text.split('\n'):
        if ident is None and line.startswith('identifier = '):
            ident = line.split('=', 1)[1].strip()
        m = re.search(r'Function : (\S+)', line)
        if m:
            cur = m.group(1)
            funcs[cur] = []
            continue
        m = INSN.match(line)
        if m and cur is not None:
            body = m.group(2).split()
            pred = ''
            if body and body[0].startswith('@'):
                pred = body.pop(0)
            if not body:
                continue
            funcs[cur].append((int(m.group(1), 16), pred, body[0], ' '.join(body[1:])))
    return funcs, ident


def parse_resources(text):
    res, cur = {}, None
    for line in text.split('\n'):
        m = re.match(r'\s*Function (\S+?):\s*$', line)
        if m:
            cur = m.group(1)
            continue
        if cur and 'REG:' in line:
            kv = dict(re.findall(r'(\w+(?:\[\d+\])?):(\d+)', line))
            res[cur] = {k: int(v) for k, v in kv.items()}
            cur = None
    return res


def parse_max_threads(text):
    """__launch_bounds__ maxima from `cuobjdump -elf`'s .nv.info.<function> attributes."""
    out, cur, want = {}, None, False
    for line in text.split('\n'):
        if line.startswith('.nv.info.'):
            cur = line[len('.nv.info.'):].strip()
            continue
        if line.startswith('.') and not line.startswith('.nv.info'):
            cur = None
        if 'EIATTR_MAX_THREADS' in line or 'EIATTR_REQNTID' in line:
            want = True
            continue
        if want and line.strip().startswith('Value:'):
            vals = [int(v, 16) for v in re.findall(r'0x[0-9a-f]+', line)]
            if cur and vals:
                n = 1
                for v in vals:
                    n *= v
                out[cur] = n
            want = False
    return out


def base(op):
    return op.split('.', 1)[0]


def shared_bytes(op):
    b = base(op)
    parts = op.split('.')
    if b in ('LDSM', 'STSM'):
        n = 4 if parts[-1] == '4' else 2 if parts[-1] == '2' else 1
        return 128 * n
    if b in ('LDS', 'STS', 'LDGSTS', 'ATOMS'):
        width = 4
        for p in parts[1:]:
            if p in ('U8', 'S8'):
                width = 1
            elif p in ('U16', 'S16'):
                width = 2
            elif p in ('64', '128'):
                width = int(p) // 8
        return width * 32
    return 0


def access_width(op):
    """Bytes one lane moves with a global or local access (STG.E.128: 16, STG.E.U16: 2)."""
    parts = op.split('.')
    for p in parts[1:]:
        if p in ('U8', 'S8'):
            return 1
        if p in ('U16', 'S16'):
            return 2
        if p in ('64', '128'):
            return int(p) // 8
    return 4


def mix(insns):
    c = dict(gst_B=0, flops=0, tclk=0.0, instr=0, mma=0, ldsm=0, ldgsts=0, mufu=0, int=0, smem_B=0, mem=0,
             spills=0)
    for _, pred, op, args in insns:
        b = base(op)
        if b == 'NOP':
            continue
        c['instr'] += 1
        if b.endswith('MMA'):
            c['mma'] += 1
            c['flops'] += mma_flops(op)
            c['tclk'] += mma_flops(op) / (MODEL['mma_flops_per_clk'] * (2 if b == 'HGMMA' else 1))
        if b == 'LDSM':
            c['ldsm'] += 1
        if b == 'LDGSTS':
            c['ldgsts'] += 1
        if b == 'MUFU':
            c['mufu'] += 1
        if b in INT_OPS or (b.startswith('U') and b[1:] in INT_OPS):
            c['int'] += 1
        if b in MEM_OPS:
            c['mem'] += 1
        if b in ('LDL', 'STL'):
            c['spills'] += 1
        if b == 'STG' and pred != '@!PT':
            c['gst_B'] += access_width(op)
        if pred != '@!PT' and not (pred and b == 'STS' and args.rstrip().endswith('RZ')):
            c['smem_B'] += shared_bytes(op)    # never-executed padding and tail zero fills: none
    return c


def weight(insn, acc):
    """Path value after insn: (tensor-core ops, global->shared/global loads, -instructions)."""
    b = base(insn[2])
    return (acc[0] + (1 if b.endswith('MMA') else 0),
            acc[1] + (1 if b in ('LDGSTS', 'LDG', 'UBLKCP', 'UTMALDG') else 0),
            acc[2] - (0 if b == 'NOP' else 1))


def steady_path(body):
    """The instructions of one steady-state iteration: of the paths from the loop head to its
    backward branch, the one with the most tensor-core instructions, then the most global loads
    (cp.async and LDG: a steady iteration fetches the next tile), then the fewest instructions
    (a guarded block without either, such as masking or a tail's zero fill, is skipped). A
    predicated forward branch inside the loop may go either way, an unpredicated one is taken;
    branches leaving the loop and inner backward branches are not followed (an inner loop's body
    counts once). None when the back branch is unreachable that way."""
    index = {x[0]: i for i, x in enumerate(body)}
    best = [None] * len(body)    # (mma, loads, -instr, predecessor)
    first = body[0]
    best[0] = weight(first, (0, 0, 0)) + (-1,)
    for i, (addr, pred, op, args) in enumerate(body):
        if best[i] is None or i == len(body) - 1:
            continue
        b = base(op)
        succ = []
        if b in ('BRA', 'JMP'):
            m = TARGET.search(args)
            t = int(m.group(1), 16) if m else None
            if t is not None and addr < t <= body[-1][0] and t in index:
                succ.append(index[t])          # forward, inside the loop
            if pred or t is None:
                succ.append(i + 1)             # not taken (or an indirect branch)
        elif b in ('EXIT', 'RET', 'BRX', 'JMX', 'KILL'):
            if pred:
                succ.append(i + 1)
        else:
            succ.append(i + 1)
        for j in succ:
            cand = weight(body[j], best[i][:3]) + (i,)
            if best[j] is None or cand[:3] > best[j][:3]:
                best[j] = cand
    if best[-1] is None:
        return None
    path, i = [], len(body) - 1
    while i >= 0:
        path.append(body[i])
        i = best[i][3]
    return path[::-1]


def main_loop(insns):
    """(start, end, steady-path counts, whole-body counts) of the main loop, or (None, None,
    counts, counts) of the whole function when it has no backward branch. The loops with the
    most MMAs, innermost (a loop holding another of them is left out), then the last in the code
    (the steady tile loop: a prologue loop, or a loop over masked edge tiles peeled off before
    it, may hold as many MMAs); without MMAs, of the innermost loops the one with the most
    memory instructions, then the largest."""
    loops = []
    for i, (addr, _, op, args) in enumerate(insns):
        if base(op) not in ('BRA', 'JMP'):
            continue
        m = TARGET.search(args)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target >= addr:      # forward, or the self-branch that pads every function's end
            continue
        body = [x for x in insns[:i + 1] if x[0] >= target]
        # a region holding the function's unpredicated EXIT is no loop: its branch is the jump
        # back of an out-of-line block (an mbarrier try-wait retry placed after the body)
        if any(base(x[2]) in ('EXIT', 'RET') and not x[1] for x in body):
            continue
        loops.append((target, addr, body, mix(body)))
    if not loops:
        c = mix(insns)
        return None, None, c, c

    def inside(a, b):           # a strictly inside b
        return b[0] <= a[0] and a[1] <= b[1] and (a[0], a[1]) != (b[0], b[1])

    top = max(lp[3]['mma'] for lp in loops)
    if top:
        cand = [lp for lp in loops if lp[3]['mma'] == top]
    else:
        cand = [lp for lp in loops if not any(inside(o, lp) for o in loops)]
        most = max(lp[3]['mem'] for lp in cand)
        cand = [lp for lp in cand if lp[3]['mem'] == most]
    cand = [lp for lp in cand if not any(inside(o, lp) for o in cand)]
    if top:
        start, end, body, c = max(cand, key=lambda lp: lp[0])
    else:
        start, end, body, c = max(cand, key=lambda lp: len(lp[2]))
    path = steady_path(body)
    return start, end, (mix(path) if path else c), c


def mma_flops(op):
    """FLOPs of one warp's MMA from its shape suffix (HMMA.16816 = m16 n8 k16: 4096;
    HGMMA.64x128x16 = a warpgroup's m64 n128 k16, a quarter of it per warp: 65536)."""
    for p in op.split('.')[1:]:
        if p.isdigit() and len(p) in (4, 5) and p.startswith('168'):
            return 2 * 16 * 8 * int(p[3:])
        m = re.fullmatch(r'(\d+)x(\d+)x(\d+)', p)
        if m:
            return 2 * int(m.group(1)) * int(m.group(2)) * int(m.group(3)) // 4
    return 4096


def model(c):
    """(clocks of one SM per MMA, what binds, TFLOP/s) of the main loop; Nones without MMAs."""
    if not c['mma']:
        return None, '', None
    flops = c['flops'] / c['mma']
    t = {'issue': c['instr'] / c['mma'] / MODEL['issue'],
         'tensor': c['tclk'] / c['mma'],
         'smem': c['smem_B'] / c['mma'] / MODEL['smem_bytes_per_clk']}
    which = max(t, key=lambda k: t[k])
    return t[which], which, flops / t[which] * MODEL['sms'] * MODEL['ghz'] / 1e3


def occupancy(regs, threads, smem_total):
    L = SM90
    if not threads or threads > L['max_threads']:
        return None, None, '?'
    wpc = -(-threads // 32)
    per_warp = -(-max(regs, 1) * 32 // L['reg_unit']) * L['reg_unit']
    warps_by_regs = (L['regs_per_sm'] // L['subpartitions'] // per_warp) * L['subpartitions']
    limits = {'regs': warps_by_regs // wpc, 'warps': L['max_warps'] // wpc, 'ctas': L['max_ctas']}
    if smem_total is not None:
        need = -(-(smem_total + L['smem_reserved']) // L['smem_unit']) * L['smem_unit']
        limits['smem'] = 0 if smem_total > L['smem_per_cta'] else L['smem_per_sm'] // need
    which = min(limits, key=lambda k: limits[k])
    ctas = limits[which]
    return ctas, ctas * wpc, which


# ---- budgets -------------------------------------------------------------------------------

ITEM = re.compile(r'^([A-Za-z_]+(?:/[A-Za-z_]+)?)\s*(<=|>=|=)\s*([0-9.]+)$')
FACTS = ('threads', 'dsmem', 'elems', 'elem_bytes')


def parse_budget(text, source=None):
    """[(pattern, regex, facts, [(metric, op, value)], source)]; Usage on anything unreadable.
    source: None, or the kernel file the clauses are for (only its kernels match)."""
    out = []
    for clause in text.split(';'):
        clause = clause.strip()
        if not clause:
            continue
        pat, items = split_clause(clause)
        pat = pat.strip()
        try:
            rx = re.compile(pat)
        except re.error as e:
            raise Usage(f"budget pattern '{pat}': {e}")
        facts, limits = {}, []
        for it in items.split():
            m = ITEM.match(it)
            if not m:
                raise Usage(f"budget item '{it}' (in '{clause}'): want METRIC<=X, METRIC>=X "
                            f"or METRIC=X")
            key, op, val = m.group(1), m.group(2), float(m.group(3))
            if key in FACTS:
                if op != '=' or val <= 0 or val != int(val):
                    raise Usage(f"budget item '{it}': {key} takes '=' and a positive integer")
                facts[key] = int(val)
                continue
            if key not in METRICS:
                raise Usage(f"budget item '{it}': unknown metric '{key}' "
                            f"(known: {', '.join(sorted(METRICS))})")
            limits.append((key, op, val))
        if not facts and not limits:
            raise Usage(f"budget clause '{clause}' has no items")
        out.append((pat, rx, facts, limits, source))
    return out


def parse_budget_file(path):
    """Budget lines: 'CLAUSES' (every kernel) or 'SOURCE<TAB>CLAUSES' (the kernels compiled from
    SOURCE, which must be found; CLAUSES '-': none, e.g. a file of host code only). '#' comments
    and blank lines are skipped. Returns (budgets, sources with budgets)."""
    try:
        with open(path) as f:
            lines = f.read().split('\n')
    except OSError as e:
        raise Usage(f'--budgets {path}: {e.strerror}')
    budgets, sources = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        src, text = line.split('\t', 1) if '\t' in line else (None, line)
        if src is not None:
            src = src.strip()
            if not src:
                raise Usage(f'--budgets {path}:{n}: empty source before the tab')
        if text.strip() == '-':
            continue
        if src is not None and src not in sources:
            sources.append(src)
        try:
            budgets += parse_budget(text, src)
        except Usage as e:
            raise Usage(f'--budgets {path}:{n}: {e}')
    return budgets, sources


def source_matches(row_source, obj, source, same_dir=False):
    """A kernel file (relative to the repository root) against an object's fatbin identifier,
    else Meson's object name (kernels/mhsa/naive.cu -> mhsa_naive.cu.o). same_dir: any file of
    the kernel file's directory (a row also runs its suite's shared kernels, e.g. common.cu)."""
    if row_source != obj:
        if same_dir:
            d = os.path.dirname(source)
            return os.path.dirname(row_source) == d or os.path.dirname(row_source).endswith('/' + d)
        return row_source == source or row_source.endswith('/' + source)
    flat = source.replace('/', '_')
    flat = flat[len('kernels_'):] if flat.startswith('kernels_') else flat
    if same_dir:
        return obj.startswith(flat[:-len(os.path.basename(source))])
    return obj in (flat + '.o', os.path.basename(source) + '.o')


def split_clause(clause):
    """PATTERN and items: split at the first ':' after which every word is an item (a pattern
    may hold ':', as in a namespace)."""
    for i, ch in enumerate(clause):
        if ch == ':':
            rest = clause[i + 1:].split()
            if rest and all(ITEM.match(x) for x in rest):
                return clause[:i], clause[i + 1:]
    raise Usage(f"budget clause '{clause}': want 'PATTERN: item ...' with items METRIC<=X, "
                f"METRIC>=X or METRIC=X")


METRICS = {'gst_B', 'clk/mma', 'TFLOP/s', 'body', 'regs', 'stack', 'spills', 'smem', 'dsmem', 'threads', 'ctas', 'warps', 'instr',
           'mma', 'ldsm', 'ldgsts', 'mufu', 'int', 'smem_B', 'instr/elem'} | set(RATIOS)


def holds(value, op, limit):
    if op == '<=':
        return value <= limit + 1e-9
    if op == '>=':
        return value >= limit - 1e-9
    return abs(value - limit) <= 1e-9


# ---- report --------------------------------------------------------------------------------

def analyse(source, obj, funcs, res, maxthr, names, budgets, defaults):
    rows = []
    for fn, insns in funcs.items():
        if not insns:
            continue
        full = names.get(fn, fn)
        name = short(full)
        facts, limits, pats = {}, [], []
        for pat, rx, f, lim, src in budgets:
            if src is not None and not source_matches(source, obj, src, same_dir=True):
                continue
            if rx.search(full) or rx.search(fn):
                facts.update(f)
                limits += lim
                pats.append(pat)
        limits += [d for d in defaults if not any(x[0] == d[0] for x in limits)]
        r = res.get(fn, {})
        start, end, c, static = main_loop(insns)
        whole = mix(insns)
        threads = facts.get('threads') or maxthr.get(fn)
        smem = r.get('SHARED')
        dsmem = facts.get('dsmem')
        total = None if smem is None else smem + (dsmem or 0)
        ctas, warps, lim = occupancy(r.get('REG', 0), threads, total) if 'REG' in r \
            else (None, None, '?')
        row = dict(source=source, obj=obj, kernel=name, mangled=fn, full=full, regs=r.get('REG'),
                   stack=r.get('STACK'), spills=whole['spills'], smem=smem, dsmem=dsmem,
                   threads=threads, ctas=ctas, warps=warps, limit=lim,
                   loop='-' if start is None else f'{start:#x}-{end:#x}')
        for k in ('instr', 'mma', 'ldsm', 'ldgsts', 'mufu', 'int', 'smem_B'):
            row[k] = c[k]
        row['body'] = static['instr']
        for k, (a, b) in RATIOS.items():
            row[k] = c[a] / c[b] if c[b] else None
        elems = facts.get('elems')
        if not elems and facts.get('elem_bytes') and c['gst_B']:
            elems = c['gst_B'] / facts['elem_bytes']
        row['gst_B'] = c['gst_B']
        row['instr/elem'] = c['instr'] / elems if elems else None
        row['clk/mma'], row['bound'], row['TFLOP/s'] = model(c)
        row['budget'], row['verdicts'] = ' ; '.join(pats), []
        for metric, op, val in limits:
            v = row.get(metric)
            ok = v is not None and holds(v, op, val)
            row['verdicts'].append((metric, op, val, v, ok))
        rows.append(row)
    return rows


def fmt(v):
    if v is None:
        return ''
    if isinstance(v, float):
        return f'{v:.2f}'
    return str(v)


def write(rows, form, out, columns=None):
    cols = columns or COLUMNS + ['budget', 'verdict']
    cells = []
    for r in rows:
        bad = [f'{m} {fmt(v) or "n/a"} !{op} {val:g}' for m, op, val, v, ok in r['verdicts'] if not ok]
        verdict = ('FAIL: ' + ', '.join(bad)) if bad else ('ok' if r['verdicts'] else '')
        r = dict(r, verdict=verdict)
        cells.append([fmt(r[c]) for c in cols])
    if form == 'csv':
        def q(s):
            return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ',"\n') else s
        out.write(','.join(cols) + '\n')
        for c in cells:
            out.write(','.join(q(x) for x in c) + '\n')
        return
    out.write('| ' + ' | '.join(cols) + ' |\n')
    out.write('|' + '|'.join('---' for _ in cols) + '|\n')
    for c in cells:
        out.write('| ' + ' | '.join(x.replace('|', '\\|') for x in c) + ' |\n')


def main(argv):
    ap = argparse.ArgumentParser(
        prog='sass_report.py', description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n', 2)[2])
    ap.add_argument('inputs', nargs='+', metavar='OBJ_OR_LIB')
    ap.add_argument('--kernel', help='regular expression on the (demangled) kernel name')
    ap.add_argument('--arch', default='sm_90')
    ap.add_argument('--format', choices=('md', 'csv'), default='md')
    ap.add_argument('--budget', action='append', default=[],
                    help="budget clauses 'PATTERN: key<=x ...; ...' (repeatable)")
    ap.add_argument('--budgets', help="file of budget lines: 'CLAUSES' or 'SOURCE<TAB>CLAUSES' "
                    "(what `list_kernels --budgets` prints)")
    ap.add_argument('--default', default='', metavar='ITEMS',
                    help="limits for every kernel whose budget does not set that metric, "
                    "e.g. 'spills=0'")
    ap.add_argument('-o', '--output', help='write the report here (default stdout)')
    ap.add_argument('--columns', help='comma-separated columns to print (default: all)')
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        if not re.fullmatch(r'sm_\d+[a-z]?', a.arch):
            raise Usage(f"--arch '{a.arch}': want sm_NN, e.g. sm_90")
        if a.arch != 'sm_90':
            print(f'sass_report: note: occupancy uses sm_90 limits, not {a.arch}\'s',
                  file=sys.stderr)
        try:
            krx = re.compile(a.kernel) if a.kernel else None
        except re.error as e:
            raise Usage(f"--kernel '{a.kernel}': {e}")
        columns = None
        if a.columns:
            columns = [c.strip() for c in a.columns.split(',')]
            bad = [c for c in columns if c not in COLUMNS + ['budget', 'verdict']]
            if bad:
                raise Usage(f"--columns: unknown column '{bad[0]}' (known: "
                            f"{', '.join(COLUMNS + ['budget', 'verdict'])})")
        budgets, sources = [], []
        for t in a.budget:
            budgets += parse_budget(t)
        if a.budgets:
            b, sources = parse_budget_file(a.budgets)
            budgets += b
        defaults = []
        if a.default.strip():
            for pat, rx, f, lim, src in parse_budget('.: ' + a.default):
                if f:
                    raise Usage(f"--default '{a.default}': limits only, not {', '.join(f)}")
                defaults = lim
        rows = []
        with tempfile.TemporaryDirectory(prefix='sass_report.') as tmp:
            for path in a.inputs:
                if not os.path.isfile(path) or not os.access(path, os.R_OK):
                    raise Usage(f'cannot read {path}')
                if is_text(path):
                    with open(path) as f:
                        text = f.read()
                    dumps = [(os.path.basename(path), (text, text, text))]
                else:
                    objs = objects_of(path, tmp)
                    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as ex:
                        got = list(ex.map(lambda o: dump(o, a.arch), objs))
                    dumps = [(os.path.basename(o), d) for o, d in zip(objs, got) if d is not None]
                for name, (sass, resu, elf) in dumps:
                    funcs, ident = parse_sass(sass)
                    if krx:
                        dm = demangle(funcs)
                        funcs = {k: v for k, v in funcs.items() if krx.search(dm[k]) or krx.search(k)}
                    if not funcs:
                        continue
                    src = ident or name
                    src = re.sub(r'^(\.\./)+', '', src)
                    rows += analyse(src, name, funcs, parse_resources(resu),
                                    parse_max_threads(elf), demangle(funcs), budgets, defaults)
    except Usage as e:
        print(f'sass_report: {e}', file=sys.stderr)
        return 2
    except NoTools as e:
        print(f'sass_report: SKIP: {e}', file=sys.stderr)
        return 77
    except subprocess.CalledProcessError as e:
        print(f'sass_report: {" ".join(e.cmd)} failed (exit {e.returncode})', file=sys.stderr)
        return 2
    if not rows:
        print('sass_report: no kernel function found' + (f" matching '{a.kernel}'" if a.kernel
              else ''), file=sys.stderr)
        return 3
    rows.sort(key=lambda r: (r['source'], r['kernel']))
    if a.output:
        with open(a.output, 'w') as f:
            write(rows, a.format, f, columns)
    else:
        write(rows, a.format, sys.stdout, columns)
    fails = 0
    for r in rows:
        for m, op, val, v, ok in r['verdicts']:
            if not ok:
                fails += 1
                print(f"BUDGET FAIL {r['kernel']} ({r['source']}): {m} "
                      f"{fmt(v) or 'n/a'} violates {m}{op}{val:g}", file=sys.stderr)
    checked = sum(1 for r in rows if r['verdicts'])
    for p, rx, f, lim, src in ([] if krx else budgets):
        if not any((src is None or source_matches(r['source'], r['obj'], src, same_dir=True)) and
                   (rx.search(r['full']) or rx.search(r['mangled'])) for r in rows):
            where = f' in {src}' if src else ''
            print(f"BUDGET FAIL pattern '{p}'{where} matched no kernel", file=sys.stderr)
            fails += 1
    for src in ([] if krx else sources):
        if not any(source_matches(r['source'], r['obj'], src) for r in rows):
            print(f'BUDGET FAIL {src}: no kernel compiled from it found', file=sys.stderr)
            fails += 1
    if budgets or sources or defaults:
        print(f'sass_report: {len(rows)} kernels, {checked} checked, {fails} budget failures',
              file=sys.stderr)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
