import torch, numpy as np, sys
torch.set_num_threads(1)
from exp import make_lines
F = torch.nn.functional
def run(seed, eps, lr=1e-2, steps=3000, hidden=64, every=25, iters=20):
    X, y = make_lines(seed=seed); torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))
    T = F.one_hot(y, 2).float()
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=eps)
    ps = list(model.parameters()); rec = []; losses = []
    for s in range(steps):
        l = ((model(X) - T)**2).mean()
        opt.zero_grad(); l.backward()
        old = [p.detach().clone() for p in ps]
        opt.step()
        losses.append(l.item())
        if s % every == 0 or s == steps-1:
            bc2 = 1 - 0.999**(s+1)
            sv = torch.cat([(opt.state[p]['exp_avg_sq']/bc2).sqrt().flatten() for p in ps])
            u = torch.cat([(p.detach()-o).abs().flatten() for p, o in zip(ps, old)]) / lr
            nz = sv[sv > 0]
            # preconditioned sharpness: top eigenvalue of D^1/2 H D^1/2, D = lr/(sqrt(vhat)+eps) (bias-corr. of m ignored)
            D = [lr / ((opt.state[p]['exp_avg_sq']/bc2).sqrt() + eps) for p in ps]
            Dh = [d.sqrt() for d in D]
            l2 = ((model(X) - T)**2).mean()
            gr = torch.autograd.grad(l2, ps, create_graph=True)
            w = [torch.randn_like(p) for p in ps]
            lam = 0.0
            for _ in range(iters):
                nrm = torch.sqrt(sum((a*a).sum() for a in w)); w = [a/nrm for a in w]
                hv = torch.autograd.grad(gr, ps, grad_outputs=[a*d for a, d in zip(w, Dh)], retain_graph=True)
                hv = [h*d for h, d in zip(hv, Dh)]
                lam = float(sum((a*h).sum() for a, h in zip(w, hv))); w = hv
            rec.append((s, l.item(), float(nz.median()), float(nz.quantile(0.01)) if nz.numel() < 16e6 else 0., float(nz.min()), float((nz < eps).float().mean()), float(u.max()), float(u.median()), lam, float(lr/(nz.min()+eps))))
    return np.array(losses), np.array(rec)
if __name__ == '__main__':
    seed, eps, lr = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); steps = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
    L, R = run(seed, eps, lr=lr, steps=steps)
    np.savez(f'mech_{seed}_{eps:g}_{lr:g}.npz', L=L, R=R)
    print("step  loss  med_sqrtv  q01_sqrtv  min_sqrtv  frac(sqrtv<eps)  max|u|/lr  med|u|/lr  lam_max(PH)  lr/(min sqrtv+eps)")
    for r in R: print(f"{int(r[0]):5d} {r[1]:.2e} {r[2]:.1e} {r[3]:.1e} {r[4]:.1e} {r[5]:.3f} {r[6]:.2e} {r[7]:.1e} {r[8]:8.3f} {r[9]:.1e}")
