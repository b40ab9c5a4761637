import numpy as np, time, sys, os
from exp2 import run
tag = sys.argv[1]; base = eval('dict(' + sys.argv[2] + ')')
epss = eval(sys.argv[3]); seeds = eval(sys.argv[4])
out = {}
for eps in epss:
    for s in seeds:
        t0 = time.time(); L = run(s, eps, **base); dt = time.time() - t0
        out[f'{eps:g}_{s}'] = L; out[f't_{eps:g}_{s}'] = dt
        np.savez(f'grid_{tag}.npz', **out)
print('done', tag)
