#!/usr/bin/env python3
"""tools/sass_report.py on constructed SASS: each check below plants one fault (a spill, a loop
over its budget, too few CTAs, a budget that names no kernel, unreadable budgets) and shows the
report catches it, next to the clean case that passes; the counting rules are pinned on a toy
whose counts are known by hand. With the kernels library as argument (and cuobjdump found), also
a too-tight budget on the real mhsa fused object fails. Exit 0 all pass, 1 a check failed."""
import csv
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, '..', 'tools', 'sass_report.py')

# A prologue loop (1 HMMA, 3 instructions) and the main loop 0x40-0xc0 (1 HMMA, 9 instructions):
# a predicated branch at 0x60 skips a 2-instruction masking block, so one steady iteration is
# 0x40 0x50 0x60 0x90 0xa0 0xb0 0xc0: 7 instructions, 1 MMA, 1 LDSM.x4 (512 B) and 1 LDGSTS.128
# (32 lanes x 16 B = 512 B), 2 integer ops. SPILL is planted after the loop.
TOY = """
Fatbin elf code:
================
arch = sm_90
identifier = ../kernels/toy/fused.cu

	code for sm_90
		Function : _Z10toy_kernelPf
	.headerflags	@"EF_CUDA_SM90 EF_CUDA_VIRTUAL_SM(EF_CUDA_SM90)"
        /*0000*/                   LDC R1, c[0x0][0x28] ;
        /*0010*/                   HMMA.16816.F32.BF16 R20, R4, R6, R20 ;
        /*0020*/                   ISETP.NE.AND P2, PT, R2, R5, PT ;
        /*0030*/               @P2 BRA 0x10 ;
        /*0040*/                   LDSM.16.M88.4 R4, [R2] ;
        /*0050*/                   HMMA.16816.F32.BF16 R8, R4, R6, R8 ;
        /*0060*/               @P1 BRA 0x90 ;
        /*0070*/                   FMNMX R9, R9, -INF , !PT ;
        /*0080*/                   FSEL R10, R10, -INF , P3 ;
        /*0090*/                   LDGSTS.E.BYPASS.128 [R3], desc[UR4][R10.64] ;
        /*00a0*/                   IADD3 R2, R2, 0x10, RZ ;
        /*00b0*/                   ISETP.NE.AND P0, PT, R2, R5, PT ;
        /*00c0*/               @P0 BRA 0x40 ;
SPILL
        /*00e0*/                   EXIT ;
        /*00f0*/                   BRA 0xf0;
		Function : _Z8toy_flatPf
        /*0000*/                   LDG.E R2, desc[UR4][R4.64] ;
        /*0010*/                   FMUL R2, R2, 2 ;
        /*0020*/                   STG.E desc[UR4][R4.64], R2 ;
        /*0030*/                   EXIT ;
		Function : _Z10toy_nestedPf
        /*0000*/                   MOV R2, RZ ;
        /*0010*/                   LDG.E R3, desc[UR4][R4.64] ;
        /*0020*/                   HMMA.16816.F32.BF16 R8, R4, R6, R8 ;
        /*0030*/                   ISETP.NE.AND P0, PT, R2, R5, PT ;
        /*0040*/               @P0 BRA 0x20 ;
        /*0050*/                   IADD3 R2, R2, 0x1, RZ ;
        /*0060*/                   ISETP.NE.AND P1, PT, R2, R7, PT ;
        /*0070*/               @P1 BRA 0x10 ;
        /*0080*/                   EXIT ;
		Function : _Z6toy_ewPf
        /*0000*/                   MOV R2, RZ ;
        /*0010*/                   LDG.E R3, desc[UR4][R4.64] ;
        /*0020*/                   STG.E.128 desc[UR4][R8.64], R12 ;
        /*0030*/                   STG.E.128 desc[UR4][R8.64+0x10], R12 ;
        /*0040*/                   ISETP.NE.AND P0, PT, R2, R5, PT ;
        /*0050*/               @P0 BRA 0x20 ;
        /*0060*/                   IADD3 R2, R2, 0x1, RZ ;
        /*0070*/               @P1 BRA 0x10 ;
        /*0080*/                   EXIT ;
		Function : _Z9toy_wgmmaPf
        /*0000*/                   MOV R2, RZ ;
        /*0010*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR4], R24 ;
        /*0020*/                   IADD3 R2, R2, 0x1, RZ ;
        /*0030*/                   ISETP.NE.AND P0, PT, R2, R5, PT ;
        /*0040*/               @P0 BRA 0x10 ;
        /*0050*/                   EXIT ;
		Function : _Z8toy_spinPf
        /*0000*/                   MOV R2, RZ ;
        /*0010*/                   SYNCS.PHASECHK.TRANS64.TRYWAIT P0, [R3], R4 ;
        /*0020*/              @!P0 BRA 0x80 ;
        /*0030*/                   HGMMA.64x128x16.F32.BF16 R24, gdesc[UR4], R24 ;
        /*0040*/                   IADD3 R2, R2, 0x1, RZ ;
        /*0050*/                   ISETP.NE.AND P1, PT, R2, R5, PT ;
        /*0060*/               @P1 BRA 0x10 ;
        /*0070*/                   EXIT ;
        /*0080*/                   SYNCS.PHASECHK.TRANS64.TRYWAIT P0, [R3], R4 ;
        /*0090*/              @!P0 BRA 0x80 ;
        /*00a0*/                   BRA 0x30 ;

Resource usage:
 Function _Z10toy_kernelPf:
  REG:40 STACK:0 SHARED:0 LOCAL:0 CONSTANT[0]:552 TEXTURE:0 SURFACE:0 SAMPLER:0
 Function _Z8toy_flatPf:
  REG:16 STACK:0 SHARED:0 LOCAL:0 CONSTANT[0]:552 TEXTURE:0 SURFACE:0 SAMPLER:0
"""
SPILL_LINE = '        /*00d0*/                   STL [R1], R8 ;'
NOSPILL_LINE = '        /*00d0*/                   MOV R8, R9 ;'

failures = 0


def run(args, want, needle=None):
    global failures
    r = subprocess.run([sys.executable, TOOL] + args, capture_output=True, text=True)
    ok = r.returncode == want and (needle is None or needle in r.stderr + r.stdout)
    print(('ok   ' if ok else 'FAIL ') + f'exit {r.returncode} (want {want}'
          + (f", '{needle}'" if needle else '') + '): ' + ' '.join(args[1:]))
    if not ok:
        failures += 1
        print(r.stdout + r.stderr)
    return r


def check(what, got, want):
    global failures
    ok = got == want
    print(('ok   ' if ok else 'FAIL ') + f'{what}: {got!r}' + ('' if ok else f' (want {want!r})'))
    failures += not ok


with tempfile.TemporaryDirectory() as tmp:
    clean = os.path.join(tmp, 'clean.sass')
    spill = os.path.join(tmp, 'spill.sass')
    with open(clean, 'w') as f:
        f.write(TOY.replace('SPILL', NOSPILL_LINE))
    with open(spill, 'w') as f:
        f.write(TOY.replace('SPILL', SPILL_LINE))

    # The counting rules, by hand (docstring of tools/sass_report.py).
    r = run([clean, '--format', 'csv', '--budget', 'toy_kernel: threads=128 elems=7'], 0)
    rows = {x['kernel']: x for x in csv.DictReader(io.StringIO(r.stdout))}
    t = rows.get('toy_kernel', {})
    for k, v in dict(loop='0x40-0xc0', body='9', instr='7', mma='1', ldsm='1', ldgsts='1',
                     int='2', smem_B='1024', spills='0', ctas='12', warps='48', limit='regs',
                     **{'instr/mma': '7.00', 'smem_B/mma': '1024.00',
                        'instr/elem': '1.00'}).items():
        check(f'toy_kernel {k}', t.get(k), v)
    check('source from the fatbin identifier', t.get('source'), 'kernels/toy/fused.cu')
    # An HGMMA is one MMA of its warp: a quarter of m64n128k16 (65536 FLOPs) at wgmma's rate,
    # 4096 FLOP/clk/SM: 16 clocks, tensor-bound, the H100's 989 TFLOP/s
    w = rows.get('toy_wgmma', {})
    check('toy_wgmma: HGMMA counted as an MMA at wgmma rate',
          (w.get('mma'), w.get('instr/mma'), w.get('clk/mma'), w.get('bound')),
          ('1', '4.00', '16.00', 'tensor'))
    # An mbarrier wait's retry placed after the function's EXIT jumps back into the loop: that
    # region (0x30-0xa0, as many MMAs and later) is no loop; the tile loop is 0x10-0x60
    check('toy_spin: the loop, not the retry block\'s jump back',
          rows.get('toy_spin', {}).get('loop'), '0x10-0x60')
    flat = rows.get('toy_flat', {})
    check('toy_flat: no loop, measured whole', (flat.get('loop'), flat.get('instr')), ('-', '4'))

    # Nested loops: the innermost holding all the MMAs; without MMAs, the innermost loop with the
    # most memory instructions, and instr/elem from its stores (2 x 16 B, elem_bytes=2: 16).
    r = run([clean, '--format', 'csv', '--kernel', 'toy_(nested|ew)', '--budget',
             'toy_ew: elem_bytes=2 instr/elem<=0.25'], 0)
    rows = {x['kernel']: x for x in csv.DictReader(io.StringIO(r.stdout))}
    check('toy_nested: the inner loop', (rows.get('toy_nested', {}).get('loop'),
                                         rows.get('toy_nested', {}).get('instr')), ('0x20-0x40', '3'))
    check('toy_ew: the inner store loop', (rows.get('toy_ew', {}).get('loop'),
                                           rows.get('toy_ew', {}).get('gst_B'),
                                           rows.get('toy_ew', {}).get('instr/elem')),
          ('0x20-0x50', '32', '0.25'))
    run([clean, '--kernel', 'toy_ew', '--budget', 'toy_ew: elem_bytes=2 instr/elem<=0.2'], 1,
        'instr/elem 0.25 violates')

    # Budgets that hold, then the same with one fault planted each.
    run([clean, '--budget', 'toy_kernel: threads=128 instr/mma<=7 ldsm/mma<=1 spills=0 ctas>=12',
         '--default', 'spills=0'], 0)
    run([clean, '--budget', 'toy_kernel: instr/mma<=6.9'], 1, 'instr/mma 7.00 violates')
    run([clean, '--budget', 'toy_kernel: ldsm/mma<=0.35'], 1, 'ldsm/mma')
    run([clean, '--budget', 'toy_kernel: smem_B/mma<=512'], 1, 'smem_B/mma')
    run([spill, '--default', 'spills=0'], 1, 'spills 1 violates spills=0')
    run([spill, '--budget', 'toy_kernel: spills<=1', '--default', 'spills=0'], 0)
    run([clean, '--budget', 'toy_kernel: threads=128 dsmem=100000 ctas>=3'], 1,
        'ctas 2 violates ctas>=3')
    run([clean, '--budget', 'toy_flat: instr/mma<=100'], 1, 'instr/mma n/a')
    run([clean, '--budget', 'toy_kernel<64>: spills=0'], 1, "'toy_kernel<64>' matched no kernel")

    # Budgets from a `list_kernels --budgets` file: scoped to their kernel file, each file found.
    tsv = os.path.join(tmp, 'b.tsv')
    with open(tsv, 'w') as f:
        f.write('kernels/toy/fused.cu\ttoy_kernel: instr/mma<=7\nkernels/host_only.cu\t-\n')
    run([clean, '--budgets', tsv], 0)
    with open(tsv, 'w') as f:
        f.write('kernels/other/fused.cu\ttoy_kernel: instr/mma<=1\n')
    run([clean, '--budgets', tsv], 1, 'kernels/other/fused.cu: no kernel compiled from it')

    # Bad usage: a clear message naming the bad value, exit 2; nothing matched: exit 3.
    run([clean, '--budget', 'toy_kernel: instr/mma<4'], 2, "'toy_kernel: instr/mma<4'")
    run([clean, '--budget', 'toy_kernel: foo<=4'], 2, "unknown metric 'foo'")
    run([clean, '--budget', '(: spills=0'], 2, "budget pattern '('")
    run([clean, '--default', 'threads=128'], 2, 'limits only')
    run([clean, '--kernel', 'nothing_here'], 3, "matching 'nothing_here'")
    run([os.path.join(tmp, 'absent.o')], 2, 'cannot read')

    # The real code: mhsa fused at d = 64 does not fit one instruction per MMA.
    if len(sys.argv) > 1:
        # only the mhsa fused member of a thin archive, when it is one: dumping every object
        # would take half a minute on two cores
        lib, obj = sys.argv[1], sys.argv[1]
        with open(lib, 'rb') as f:
            thin = f.read(8).startswith(b'!<thin>')
        if thin:
            names = subprocess.run(['ar', 't', lib], capture_output=True, text=True).stdout.split()
            for m in names:
                if m.endswith('mhsa_fused.cu.o'):
                    obj = m if os.path.isfile(m) else os.path.join(os.path.dirname(lib), m)
        r = subprocess.run([sys.executable, TOOL, obj, '--kernel',
                            r'mhsa_fused_kernel<__nv_bfloat16, 64, 2, 64, 4>', '--budget',
                            r'mhsa_fused_kernel<__nv_bfloat16, 64, 2, 64, 4>: instr/mma<=1'],
                           capture_output=True, text=True)
        if r.returncode == 77:
            print('skip the real-object check: ' + r.stderr.strip())
        else:
            ok = r.returncode == 1 and 'instr/mma' in r.stderr
            print(('ok   ' if ok else 'FAIL ') + f'mhsa fused<64, 2, 64, 4> over a too-tight budget: '
                  f'exit {r.returncode}')
            failures += not ok

print(f'sass_report_test: {failures} failure(s)')
sys.exit(1 if failures else 0)
