import numpy as np, sys, time
from exp2 import run
from ana import signature
base = eval('dict(' + sys.argv[1] + ')'); epss = eval(sys.argv[2]); seeds = eval(sys.argv[3])
for eps in epss:
    out = []; t0 = time.time()
    for s in seeds:
        L = run(s, eps, **base); sg = signature(L); out.append(f"{'J' if sg['jump'] else '-'}@{sg['step']} min/L0={sg['min']/L[0]:.0e} pk/L0={sg['peak_init']:.3f} end/L0={sg['end']:.0e}")
    print(f"[{sys.argv[1]}] eps={eps:g} t/run={(time.time()-t0)/len(seeds):.1f} | " + " | ".join(out), flush=True)
