import numpy as np, sys
def signature(L, frac=0.3, ratio=1e3, abs_rel=1e-6):
    L = np.asarray(L, float); n = len(L); L0 = L[0]
    rm = np.minimum.accumulate(L)
    ok = (L > ratio*rm) & (L > abs_rel*L0) & (np.arange(n) >= int(frac*n))
    idx = np.flatnonzero(ok)
    if len(idx):
        js = int(idx[0]); lmin = L[:js].min(); peak = L[js:].max()
        # quiet stretch: steps before js with loss < 1e-6 L0 (converged region)
        return dict(jump=True, step=js, min=lmin, peak=peak, peak_min=peak/lmin, peak_init=peak/L0, end=L[-1]/L0)
    lmin = L.min(); peak = L[np.argmin(L):].max()
    return dict(jump=False, step=-1, min=lmin, peak=peak, peak_min=peak/max(lmin,1e-45), peak_init=L[int(frac*n):].max()/L0, end=L[-1]/L0)
if __name__ == '__main__':
    d = np.load(sys.argv[1])
    keys = sorted({k.rsplit('_',1)[0] for k in d.files if not k.startswith('t_')}, key=float)
    for e in keys:
        seeds = sorted(int(k.rsplit('_',1)[1]) for k in d.files if k.startswith(e+'_'))
        nj = 0; lines = []
        for s in seeds:
            L = d[f'{e}_{s}']; sg = signature(L); nj += sg['jump']
            lines.append(f"  s{s:2d} {'JUMP' if sg['jump'] else ' -  '} step={sg['step']:5d} min/L0={sg['min']/L[0]:.1e} peak/min={sg['peak_min']:.1e} peak/L0={sg['peak_init']:.4f} end/L0={sg['end']:.1e} t={d[f't_{e}_{s}']:.2f}s")
        print(f"eps={e}: jumps {nj}/{len(seeds)}"); print("\n".join(lines))
