import torch, numpy as np, time, sys
torch.set_num_threads(1)
from exp import make_lines, signature
F = torch.nn.functional

def run(seed, eps, lr=1e-2, steps=3000, loss='mse', hidden=64, out='linear', arch='mlp', lo=0.0, hi=1.0, n=64, beta2=0.999, dtype=torch.float32, batch=None):
    X, y = make_lines(n=n, seed=seed)
    torch.manual_seed(seed)
    if arch == 'mlp':
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))
        Xin = X
    else:
        c = arch[1] if isinstance(arch, tuple) else 8
        model = torch.nn.Sequential(torch.nn.Conv2d(1, c, 5, stride=2, padding=2), torch.nn.ReLU(),
                                    torch.nn.Conv2d(c, c, 3, stride=2, padding=1), torch.nn.ReLU(),
                                    torch.nn.Flatten(), torch.nn.Linear(c*64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))
        Xin = X[:, None]
    model = model.to(dtype); Xin = Xin.to(dtype)
    T = (lo + (hi-lo)*F.one_hot(y, 2)).to(dtype)
    floor = 0.0
    if loss in ('bce',):
        t = T.clamp(1e-12, 1-1e-12); floor = float(-(t*t.log() + (1-t)*(1-t).log()).mean())
    if loss == 'ce':
        t = T/T.sum(1, keepdim=True); floor = float(-(t*t.clamp_min(1e-12).log()).sum(1).mean())
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=eps, betas=(0.9, beta2))
    L = np.empty(steps)
    gen = torch.Generator().manual_seed(seed); Xfull, Tfull, Tc = Xin, T, y
    for s in range(steps):
        if batch:
            if s % (n // batch) == 0: perm = torch.randperm(n, generator=gen)
            b = perm[(s % (n//batch))*batch:((s % (n//batch))+1)*batch]; Xin, T, y = Xfull[b], Tfull[b], Tc[b]
        z = model(Xin)
        p = torch.sigmoid(z) if out == 'sigmoid' else torch.softmax(z, 1) if out == 'softmax' else z
        if loss == 'mse': l = ((p - T)**2).mean()
        elif loss == 'logcosh': d = p - T; a = d.abs(); l = torch.where(a < 1e-2, d*d/2 - d**4/12, torch.log(torch.cosh(d.clamp(-20, 20)))).mean()
        elif loss == 'bce': l = F.binary_cross_entropy(p, T)
        elif loss == 'ce': l = -(T/T.sum(1, keepdim=True) * F.log_softmax(z, 1)).sum(1).mean()
        opt.zero_grad(); l.backward(); opt.step()
        L[s] = l.item() - floor
    return L

if __name__ == '__main__':
    base = eval('dict(' + sys.argv[1] + ')')
    seeds = range(int(base.pop('s0', 0)), int(base.pop('s1', 3)))
    epss = base.pop('epss', [1e-8, 1e-3])
    tag = sys.argv[1]
    for eps in epss:
        res = []
        t0 = time.time()
        for s in seeds:
            L = run(s, eps, **base); sg = signature(L); res.append((sg, L))
        dt = (time.time()-t0)/len(seeds)
        print(f"[{tag}] eps={eps:g} t/run={dt:.1f}s | " + " | ".join(
            f"{'J' if sg['jump'] else '-'}@{sg['step']} min={sg['min']:.0e} pm={sg['peak_min']:.0e} pi={sg['peak_init']:.3f} end/L0={L[-1]/L[0]:.0e}" for sg, L in res), flush=True)
