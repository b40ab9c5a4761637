import torch, numpy as np, time, sys
torch.set_num_threads(1)

def make_lines(n=64, size=32, gap=3, seed=0):
    g = np.random.default_rng(seed)
    X = np.zeros((n, size, size), np.float32); y = np.zeros(n, np.int64)
    for i in range(n):
        broken = i % 2
        # random line between two points on opposite borders
        while True:
            if g.random() < 0.5:
                p0 = (g.integers(0,size), 0); p1 = (g.integers(0,size), size-1)
            else:
                p0 = (0, g.integers(0,size)); p1 = (size-1, g.integers(0,size))
            L = int(max(abs(p1[0]-p0[0]), abs(p1[1]-p0[1]))) + 1
            break
        rr = np.round(np.linspace(p0[0], p1[0], L)).astype(int)
        cc = np.round(np.linspace(p0[1], p1[1], L)).astype(int)
        X[i, rr, cc] = 1.0
        if broken:
            s = g.integers(L//4, 3*L//4 - gap)
            X[i, rr[s:s+gap], cc[s:s+gap]] = 0.0
        y[i] = broken
    return torch.tensor(X), torch.tensor(y)

def run(seed, eps, lr=3e-3, steps=4000, loss='mse', hidden=64, out='linear', arch='mlp', data_seed=None, n=64, track=False):
    X, y = make_lines(n=n, seed=seed if data_seed is None else data_seed)
    torch.manual_seed(seed)
    if arch == 'mlp':
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))
    else:
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                    torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                    torch.nn.Flatten(), torch.nn.Linear(8*64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))
    if arch == 'mlp': Xin = X
    else: Xin = X[:, None]
    T = torch.nn.functional.one_hot(y, 2).float()
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=eps)
    L = np.empty(steps)
    for t in range(steps):
        z = model(Xin)
        if out == 'sigmoid': p = torch.sigmoid(z)
        elif out == 'softmax': p = torch.softmax(z, 1)
        else: p = z
        if loss == 'mse': l = ((p - T)**2).mean()
        elif loss == 'logcosh': d = p - T; l = (d + torch.nn.functional.softplus(-2*d) - np.log(2.)).mean()
        elif loss == 'ce': l = torch.nn.functional.cross_entropy(z, y)
        opt.zero_grad(); l.backward(); opt.step()
        L[t] = l.item()
    return L

def signature(L, frac=0.3):
    L = np.asarray(L); n = len(L)
    # running min up to step t; jump = first step after frac*n where L > 1e3 * running min
    rm = np.minimum.accumulate(L)
    start = int(frac*n)
    idx = np.where((L > 1e3*rm) & (np.arange(n) >= start))[0]
    jump = len(idx) > 0
    js = int(idx[0]) if jump else -1
    lmin = L[:js].min() if jump else L.min()
    peak = L[js:].max() if jump else L[start:].max()
    return dict(jump=jump, step=js, min=lmin, peak_min=peak/max(lmin,1e-45), peak_init=peak/L[0])

if __name__ == '__main__':
    kw = eval('dict(' + (sys.argv[1] if len(sys.argv) > 1 else '') + ')')
    seeds = range(int(kw.pop('s0', 0)), int(kw.pop('s1', 5)))
    for eps in kw.pop('epss', [1e-8, 1e-3]):
        for s in seeds:
            t0 = time.time(); L = run(s, eps, **kw); dt = time.time()-t0
            sg = signature(L)
            print(f"eps={eps:g} seed={s} jump={sg['jump']} step={sg['step']} min={sg['min']:.2e} pk/min={sg['peak_min']:.1e} pk/init={sg['peak_init']:.3f} L0={L[0]:.3f} Lend={L[-1]:.2e} t={dt:.2f}s", flush=True)
