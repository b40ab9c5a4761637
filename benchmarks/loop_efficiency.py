"""labkit's training loop vs a bare loop and vs the idiomatic DataLoader loop, per case, side by
side.

Three loops train the same model (same initial weights) on the same data with the same optimizer:
- labkit: ``train.fit`` with History recording (step losses, grad norms, metrics, validation);
- bare: forward / backward / step over the same pre-stacked tensors, nothing recorded (the ceiling);
- bare+val: the bare loop plus the validation pass labkit makes after every epoch (same work as
  labkit's loop without its recording: shows what the recording itself costs);
- dataloader: a per-sample ``Dataset`` + ``DataLoader(shuffle=True, num_workers=2)``, as in most
  tutorials.
Prints training samples per second and the ratios labkit/bare (goal >= 0.8), labkit/bare+val and
labkit/dataloader (goal >= 2 on 2 cores). Usage: python benchmarks/loop_efficiency.py [--device
cpu|cuda] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy

import torch
from _common import best_of, header, load_now, set_threads
from torch.utils.data import DataLoader, Dataset

from labkit import cases
from labkit.device import seed_everything
from labkit.history import History
from labkit.train import evaluate, fit, make_optimizer

EPOCHS = {  # timed epochs per case: about a second of labkit's loop on one CPU thread
    "rising-val-loss": 2,
    "oscillating-loss": 10,
    "negative-loss": 3,
    "adam-epsilon": 300,
    "train-loss-rises": 40,
}
DATALOADER_EPOCHS = 10  # at most this many: DataLoader starts its workers every epoch (~0.1 s each)


class PerSample(Dataset):
    """The tutorial way: one (x, y) pair per __getitem__."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


def bare_loop(
    setup, epochs: int, device: torch.device, generator: torch.Generator, validate: bool = False
) -> None:
    model, loss_fn = setup.model.to(device), setup.loss_fn.to(device)
    x_val = setup.data.x_val.to(device) if validate and setup.data.x_val is not None else None
    y_val = setup.data.y_val.to(device) if x_val is not None else None
    x, y = setup.data.x_train.to(device), setup.data.y_train.to(device)
    opt = make_optimizer(
        [p for p in (setup.params or model.parameters()) if p.requires_grad], setup.train
    )
    n = len(x)
    bs = n if setup.train.batch_size == 0 else min(setup.train.batch_size, n)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(device)
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            xb = x[idx] if setup.augment is None else setup.augment(x[idx], generator)
            loss = loss_fn(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if x_val is not None:
            evaluate(model, loss_fn, x_val, y_val, setup.metrics)


def dataloader_loop(setup, epochs: int, device: torch.device, generator: torch.Generator) -> None:
    model, loss_fn = setup.model.to(device), setup.loss_fn.to(device)
    opt = make_optimizer(
        [p for p in (setup.params or model.parameters()) if p.requires_grad], setup.train
    )
    n = len(setup.data.x_train)
    bs = n if setup.train.batch_size == 0 else min(setup.train.batch_size, n)
    loader = DataLoader(
        PerSample(setup.data.x_train, setup.data.y_train),
        batch_size=bs,
        shuffle=True,
        num_workers=2,
        generator=generator,
    )
    for _ in range(epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            if setup.augment is not None:
                xb = setup.augment(xb, generator)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cases", default=",".join(cases.names()))
    args = parser.parse_args()
    set_threads(args.threads)
    dev = header(
        "loop efficiency: training samples/s of labkit's fit vs a bare loop vs "
        "DataLoader(workers=2)",
        args.device,
    )
    print(
        f"{'case':17s} {'labkit/s':>9s} {'bare/s':>9s} {'b+val/s':>9s} {'loader/s':>9s} "
        f"{'vs bare':>8s} {'vs b+val':>8s} {'vs loader':>9s}  load"
    )
    for name in args.cases.split(","):
        case = cases.get(name)
        epochs = EPOCHS[name]
        setup = case.build(case.knobs(epochs=epochs), seed_everything(0))
        n = len(setup.data.x_train)
        fresh = copy.deepcopy(setup.model.state_dict())

        def run(loop, e):
            setup.model.load_state_dict(fresh)
            loop(setup, e)

        def labkit_loop(s, e):
            fit(s, history=History(), device=dev, generator=torch.Generator().manual_seed(0))

        t_lab = best_of(lambda: run(labkit_loop, epochs), args.repeats, dev)
        t_bare = best_of(
            lambda: run(
                lambda s, e: bare_loop(s, e, dev, torch.Generator().manual_seed(0)), epochs
            ),
            args.repeats,
            dev,
        )
        t_bare_val = best_of(
            lambda: run(
                lambda s, e: bare_loop(s, e, dev, torch.Generator().manual_seed(0), True), epochs
            ),
            args.repeats,
            dev,
        )
        dl_epochs = min(epochs, DATALOADER_EPOCHS)
        t_dl = best_of(
            lambda: run(
                lambda s, e: dataloader_loop(s, e, dev, torch.Generator().manual_seed(0)), dl_epochs
            ),
            1,
            dev,
        )
        lab, bare, bare_val, dl = (
            epochs * n / t_lab,
            epochs * n / t_bare,
            epochs * n / t_bare_val,
            dl_epochs * n / t_dl,
        )
        print(
            f"{name:17s} {lab:9.0f} {bare:9.0f} {bare_val:9.0f} {dl:9.0f} {lab / bare:7.2f}x "
            f"{lab / bare_val:7.2f}x {lab / dl:8.2f}x  {load_now()}",
            flush=True,
        )


if __name__ == "__main__":
    main()
