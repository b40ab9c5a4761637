import torch, numpy as np, time, sys
torch.set_num_threads(1)
from exp import make_lines, signature
F = torch.nn.functional
def run(seed, eps, lr=1e-2, steps=3000, hidden=64):
    X, y = make_lines(seed=seed); torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))
    T = F.one_hot(y, 2).float()
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=eps)
    ps = list(model.parameters()); rec = []
    for s in range(steps):
        l = ((model(X) - T)**2).mean()
        opt.zero_grad(); l.backward()
        g = torch.cat([p.grad.flatten() for p in ps])
        old = torch.cat([p.detach().flatten() for p in ps])
        opt.step()
        new = torch.cat([p.detach().flatten() for p in ps])
        v = torch.cat([opt.state[p]['exp_avg_sq'].flatten() for p in ps]) / (1 - 0.999**(s+1))
        u = (new - old).abs() / lr
        rec.append((l.item(), g.abs().median().item(), g.abs().max().item(), v.sqrt().median().item(), (v.sqrt() < eps).float().mean().item(), u.median().item(), u.max().item(), (u > 0.5).float().mean().item(), (new-old).norm().item()))
    return np.array(rec)
if __name__ == '__main__':
    seed = int(sys.argv[1]); eps = float(sys.argv[2]); lr=float(sys.argv[3])
    R = run(seed, eps, lr=lr)
    np.save(f'instr_{seed}_{eps:g}_{lr:g}.npy', R)
    sg = signature(R[:,0]); print(sg)
    js = sg['step'] if sg['jump'] else 2000
    for s in list(range(0, js-20, max(1,(js-20)//12))) + list(range(js-5, min(js+40, len(R)))) + list(range(js+40, len(R), 100)):
        r = R[s]; print(f"{s:5d} L={r[0]:.2e} med|g|={r[1]:.1e} max|g|={r[2]:.1e} med sqrt(v)={r[3]:.1e} frac sqrtv<eps={r[4]:.2f} med|u|/lr={r[5]:.2e} max|u|/lr={r[6]:.2f} frac|u|>.5lr={r[7]:.3f} |du|={r[8]:.2e}")
