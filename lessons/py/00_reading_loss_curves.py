# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # How to read loss curves
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/00_reading_loss_curves.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/00_reading_loss_curves.ipynb)
#
# On Binder, shut down a lesson's kernel when you move on to the next (*Kernel → Shut Down
# Kernel*): each lesson holds 0.4 to 0.7 GB, and Binder gives 2 GB in all.
#
# Before the five failures, the four shapes a training curve usually falls into: **healthy**,
# **underfitting**, **overfitting** and **divergence**. Each one below is a real training run of a
# few seconds, built in this notebook, and each shape is also checked by numbers, because "it looks
# like" is not a diagnosis.
#
# In every loss plot, solid lines are the training loss (the mean over the epoch's training images:
# each batch's loss weighted by its number of images, so a smaller last batch counts less) and dashed
# lines the validation loss (measured after each epoch).

# %%
# On Colab (or anywhere labkit is missing) install it; torch, numpy and matplotlib are left alone.
try:
    import labkit
except ModuleNotFoundError as error:
    if error.name != "labkit":  # labkit is installed but something it needs is missing: show that error
        raise
    get_ipython().run_line_magic("pip", 'install -q "labkit @ git+https://github.com/labkit-edu/labkit"')

# %%
import math
import os

import matplotlib.pyplot as plt
import torch

import labkit
from labkit import cases, plots
import labkit.exercise  # predict-first questions, answer checks, reference answers
from labkit.data import imbalanced_images
from labkit.device import seed_everything
from labkit.history import History
from labkit.metrics import accuracy
from labkit.models import conv2d_net, count_params, flat_conv2d_net
from labkit.runlock import deterministic
from labkit.train import Setup, TrainConfig, fit, make_loss

labkit.use_device("cpu")  # the claims below were checked on the CPU; on a GPU the same seed is another run
labkit.exercise.reopen_hint()  # reopened later, each widget says "run this cell again" instead of an error
SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## The runs
#
# Every run in this lesson is one call of `train` below: synthetic 16x16 images with 4 channels
# and 3 classes ([lesson 03](03_loss_goes_negative.ipynb)'s data: 54 %, 45 % and 1 % of the
# images; each class adds its own faint pattern to noise), a small CNN, `CrossEntropyLoss`,
# labkit's training loop (the divergence section swaps in a linear model and the squared error).
# Only the arguments change from one shape to the next. The data are made up, so every number below is ours, not
# anyone's report.

# %%
MODELS = ("small", "wide", "linear")  # small: convs -> global pooling -> dense(64); wide: convs -> flatten -> dense(256)
LOSSES = ("cross-entropy", "mse")        # mse: mean squared error between the 3 outputs and the one-hot label


class OneHotMSE(torch.nn.Module):
    """Mean squared error between the outputs and the one-hot label: never below 0, like cross-entropy."""

    def forward(self, out, y):
        return torch.nn.functional.mse_loss(out, torch.nn.functional.one_hot(y, out.shape[1]).float())


def train(lr=3e-3, optimizer="adam", epochs=10, n_train=1000, signal=0.6, model="small", loss="cross-entropy",
          batch_size=64, seed=SEED):
    """Train a model on synthetic 3-class images and return the run's History."""
    if model not in MODELS:
        raise ValueError(f"model={model!r} is not allowed; allowed: {', '.join(map(repr, MODELS))}")
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is not allowed; allowed: {', '.join(map(repr, LOSSES))}")
    generator = seed_everything(seed)  # fixes the data, the initial weights and the shuffling
    data = imbalanced_images(seed, n_train=n_train, signal=signal)
    net = {"small": lambda: conv2d_net(4, 3), "wide": lambda: flat_conv2d_net((4, 16, 16), 3, dense=256),
           "linear": lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 16 * 16, 3))}[model]()
    criterion = make_loss("cross-entropy") if loss == "cross-entropy" else OneHotMSE()
    config = TrainConfig(epochs=epochs, lr=lr, optimizer=optimizer, batch_size=batch_size)
    setup = Setup(net, criterion, data, config, {"accuracy": accuracy}, "accuracy")
    with deterministic(torch.device("cpu")):  # labkit's CPU threads (LABKIT_THREADS) and deterministic kernels
        return fit(setup, history=History(seed=seed), device=torch.device("cpu"), generator=generator)


def add_to_legend(ax, artist, label):
    """Add ``artist`` as ``label`` to the legend that labkit drew to the right of ``ax``."""
    legend = ax.get_legend()
    ax.legend([*legend.legend_handles, artist], [*(t.get_text() for t in legend.texts), label], **plots.LEGEND)

# %% [markdown]
# ## Healthy
#
# Adam at `lr=3e-3` on 1000 training images: both losses fall together and level off, the
# validation loss stays close to the training loss, and the validation accuracy is high.

# %%
healthy = train()
fig = plots.compare([healthy], ["lr=3e-3"], title="Healthy: both losses fall and level off together")
plots.show(fig, "Both losses fall to under a fifth of their first value, the validation loss (dashed) staying "
                f"close to the training loss (solid); the validation accuracy ends at {healthy.val_metric[-1]:.0%}.")
print(f"training loss {healthy.train_loss[0]:.3f} -> {healthy.train_loss[-1]:.3f}, "
      f"validation loss {healthy.val_loss[0]:.3f} -> {healthy.val_loss[-1]:.3f}, "
      f"validation accuracy {healthy.val_metric[-1]:.1%}")
assert healthy.train_loss[-1] < 0.2 * healthy.train_loss[0]      # training loss falls
assert healthy.val_loss[-1] < 0.2 * healthy.val_loss[0]          # and validation follows it
assert healthy.val_loss[-1] < 3 * healthy.train_loss[-1] + 0.05  # with a small gap
assert healthy.val_metric[-1] > 0.95

# %% [markdown]
# ## Underfitting
#
# The same run with a learning rate of `1e-5`, 300 times smaller: both losses barely move. Where
# does the accuracy sit? A model that answers the same class for every image scores that class's
# share of the images. The best such constant answer, always the largest class, is the **chance
# level**: on these unbalanced data the largest class's share, not one in three. Below it is
# computed from the validation labels; the run ends near it or below it, far below the healthy
# run. The model has not learned yet: train longer, raise the learning rate, or use a bigger model.
# Underfitting shows on the **training** loss: it stays high.

# %%
under = train(lr=1e-5)
labels = imbalanced_images(SEED).y_val
shares = torch.bincount(labels) / len(labels)  # each class's share of the validation images
majority = shares.max().item()                 # chance level: always answer the largest class
fig = plots.compare([healthy, under], ["lr=3e-3", "lr=1e-5"], title="Underfitting: the training loss stays high")
chance = fig.axes[1].axhline(majority, color="black", lw=1, ls=":")
add_to_legend(fig.axes[1], chance, "chance level")
plots.show(fig, f"At lr=1e-5 the training loss barely moves and the validation accuracy ends at {under.val_metric[-1]:.1%}, "
                f"near or below the dotted chance level ({majority:.1%}), while at lr=3e-3 the loss falls towards zero.")
print("class shares:", ", ".join(f"{v:.1%}" for v in shares.tolist()), f"-> chance level {majority:.1%}")
print(f"lr=1e-5: training loss {under.train_loss[0]:.3f} -> {under.train_loss[-1]:.3f}; "
      f"validation accuracy {under.val_metric[-1]:.1%}")
assert under.train_loss[-1] > 0.9 * under.train_loss[0]  # it barely moves
assert under.train_loss[-1] > 10 * healthy.train_loss[-1]
assert under.val_metric[-1] < majority + 0.1             # near or below chance level...
assert under.val_metric[-1] < healthy.val_metric[-1] - 0.3  # ...far below the healthy run

# %% [markdown]
# A barely trained model can end a few points above chance level (it has begun to pick up the
# pattern) or below it (it favours a smaller class, 45 % or 1 % of the images, or mixes its
# answers); which one depends on the seed. Either way, an accuracy near or below the largest class's
# share means the model has learned little or nothing useful yet.

# %% [markdown]
# ## Overfitting
#
# Now only 60 training images, a fainter pattern (`signal=0.1` instead of 0.6) and the "wide"
# model, whose dense layer sees every position (its weights are counted below: over 2000 per
# training image). The training loss goes to almost zero: the model memorises the 60 images. The
# validation loss falls for a few epochs, then turns up, and ends more than 10 % above its lowest
# point. Overfitting is that **gap**: training keeps improving, validation does not. The dotted line marks the best
# validation epoch.

# %%
over = train(n_train=60, signal=0.1, model="wide", epochs=30, batch_size=16)
best = min(range(over.num_epochs), key=over.val_loss.__getitem__)
fig = plots.compare([over], ["60 images, wide model"], title="Overfitting: training falls, validation turns up")
best_line = fig.axes[0].axvline(best + 1, color="gray", lw=0.8, ls=":")
add_to_legend(fig.axes[1], best_line, "best validation epoch")
plots.show(fig, "The training loss (solid) falls to almost zero while the validation loss (dashed) is lowest at "
                f"epoch {best + 1} (dotted line) and ends {over.val_loss[-1] / min(over.val_loss):.2f}x that.")
weights = count_params(flat_conv2d_net((4, 16, 16), 3, dense=256))
print(f"wide model: {weights} weights, {weights / 60:.0f} per training image")
print(f"validation loss lowest at epoch {best + 1} ({min(over.val_loss):.3f}), {over.val_loss[-1]:.3f} at epoch "
      f"{over.num_epochs} ({over.val_loss[-1] / min(over.val_loss):.2f}x); training loss {over.train_loss[-1]:.5f}")
assert weights > 2000 * 60                               # far more weights than images
assert over.train_loss[-1] < 0.01                        # memorised
assert over.val_loss[-1] > 1.1 * min(over.val_loss)      # validation rose from its best
assert min(over.val_loss) < 0.99 * over.val_loss[0]      # after it had improved first
assert best < over.num_epochs // 2                       # and the best was early

# %% [markdown]
# ## Divergence: the loss climbs to inf/NaN
#
# When each update is too large, the weights overshoot the minimum, the next gradient is larger
# still, and the loss grows until it overflows to `inf` or `NaN` (not a number). Here the loss is
# the mean squared error between a linear model's 3 outputs and the one-hot label: it cannot go
# below 0, so this climb is the real thing, not a loss running off below its floor (that is
# [lesson 03](03_loss_goes_negative.ipynb)). labkit stops a run at the first non-finite loss, records the step in
# `history.diverged_step`, and its plots mark the point with an **X**.
#
# Plain SGD (no momentum) learns these images with this model at `lr=0.01`. We try `lr=0.3`,
# thirty times larger, for 3 epochs of 16 steps (1000 images in batches of 64). Predict first:

# %%
q = labkit.exercise.predict(
    "Plain SGD at lr=0.3, 3 epochs of 16 steps each: when does the training loss stop being finite?",
    ["within the first epoch (16 steps)", "in the second or third epoch", "it stays finite for all 3 epochs"])
q

# %%
calm = train(model="linear", loss="mse", optimizer="sgd", lr=0.01, epochs=3)
blown = train(model="linear", loss="mse", optimizer="sgd", lr=0.3, epochs=3)
finite = [v for v in blown.step_loss if math.isfinite(v)]
growth = (finite[-1] / finite[0]) ** (1 / (len(finite) - 1))  # mean factor per step
fig, ax = plt.subplots(figsize=(8, 3.8))
plots.plot_loss([calm, blown], ax, per="step", scale="log", labels=["SGD lr=0.01", "SGD lr=0.3"])
ax.set_title("Divergence: at lr=0.3 the squared error climbs to inf")
ax.set_ylim(top=max(finite) * 1e6)  # room above the X for its label
plots.show(fig, "On the log axis the lr=0.3 run's loss climbs along a straight line by more than 30 powers of ten "
                "until it is no longer finite (the X), while the lr=0.01 run's loss falls.")
print(f"lr=0.3: loss {blown.step_loss[0]:.3f} at step 1, {finite[-1]:.3g} at step {len(finite)} "
      f"(x{growth:.0f} per step), then {blown.step_loss[-1]} at step {blown.diverged_step + 1}; "
      f"history.diverged_step = {blown.diverged_step}")
print(f"lr=0.01: loss {calm.step_loss[0]:.3f} -> {calm.step_loss[-1]:.3f} in {len(calm.step_loss)} steps, "
      f"diverged: {calm.diverged}")
if not blown.diverged:
    actual = q.options[2]
else:
    actual = q.options[0] if blown.diverged_step < blown.steps_per_epoch else q.options[1]
display(q.verdict(actual, f"The loss grew about {growth:.0f}x per step and became {blown.step_loss[-1]} "
                          f"at step {blown.diverged_step + 1}." if blown.diverged else ""))
assert blown.diverged and blown.diverged_step < blown.steps_per_epoch  # inf/NaN within the first epoch
assert not math.isfinite(blown.step_loss[-1])                # the last recorded loss is the bad one
assert finite[-1] > 1e30 * finite[0] and growth > 2          # after climbing by orders of magnitude
assert blown.val_loss == [] or not math.isfinite(blown.val_loss[0])  # before any finite validation
assert not calm.diverged and calm.train_loss[-1] < 0.6 * calm.train_loss[0]  # lr=0.01 learns
early = labkit.diagnose({"loss": finite[:10]})  # the first 10 steps, as if the log ended before the overflow
print("diagnose, first 10 steps of lr=0.3:", [f.code for f in early], "-", early[0].title)
assert [f.code for f in early] == ["rising-loss"]  # caught while the numbers are still finite

# %% [markdown]
# On the log axis (equal distances up are equal factors) the run at `lr=0.01` is the line that
# falls and levels off near the bottom; the run at `lr=0.3` climbs along a straight line (a
# constant factor per step) by more than 30 powers of ten before the X, and never gets a finite
# validation loss (so no dashed line). On a linear axis the climb would squash the healthy run
# flat against zero. Caught before the overflow, while every number is still finite, the same
# climb is what `labkit.diagnose` calls `rising-loss` (the last line printed above): a training loss
# that goes up from its first value on. Why a constant factor: for a squared error, each step multiplies the distance to the minimum by about
# `1 - lr x curvature`; once `lr` is more than twice `1 / curvature`, that factor is bigger than 1
# in size and the distance grows geometrically.

# %% [markdown]
# ## Your turn
#
# The run below is drawn at random (the seed picks it) from four recipes: none of them is a run
# shown above. Its plot (the loss at every step, on a linear axis; validation after each epoch)
# has no title: read the curves and name the shape.

# %%
MYSTERY_RECIPES = [
    dict(lr=1e-3, epochs=12),                                     # recipe A
    dict(optimizer="sgd", lr=1e-3, epochs=8),                     # recipe B
    dict(n_train=100, signal=0.1, model="wide", epochs=25, batch_size=20),  # recipe C
    dict(model="linear", loss="mse", optimizer="momentum", lr=0.05, epochs=4),  # recipe D
]
recipe = int(torch.randint(len(MYSTERY_RECIPES), (1,), generator=torch.Generator().manual_seed(SEED)))
mystery = train(**MYSTERY_RECIPES[recipe])
fig, ax = plt.subplots(figsize=(8, 3.8))
plots.plot_loss(mystery, ax, per="step", labels=["mystery"])  # every step, on a linear axis
ax.margins(x=0.1, y=0.2)  # room for a label next to the last point
plots.show(fig, "The mystery run, to be named: its training loss at every step (solid) and its validation loss "
                "after each epoch (dashed), on a linear axis.")

# %% [markdown]
# Read the curves in this order: does the run end in an X? Does the training loss end far below
# where it started (read the numbers on the axis, not only the slope)? Does the validation loss end clearly above its own lowest point (by more than
# 10 %, and more than 0.02: a loss near zero wobbles)? Then put one of `"healthy"`,
# `"underfitting"`, `"overfitting"`, `"divergence"` in `my_answer`, in place of the `...`, and run
# the two cells.

# %%
my_answer = ...  # one of "healthy", "underfitting", "overfitting", "divergence"

# %%
def shape(h):
    """Return the curve shape of a run by the rules this lesson used."""
    if h.diverged:
        return "divergence"
    if h.train_loss[-1] > 0.9 * h.train_loss[0]:
        return "underfitting"
    rise = h.val_loss[-1] - min(h.val_loss)  # how far validation ended above its best
    if rise > 0.1 * min(h.val_loss) and rise > 0.02:  # 10 % and 0.02: a tiny loss wobbling is no rise
        return "overfitting"
    return "healthy"


display(labkit.exercise.check(
    my_answer, lambda answer: answer == shape(mystery),
    right="Right. The reference answer below walks through the reading, and says how to see the recipe.",
    wrong="Not yet: go through the three questions above in order; the first one that says yes names the shape."))

# %% [markdown]
# Tried it? The reference answer explains how to read the curves, step by step:

# %%
labkit.exercise.reference("00-mystery")

# %%
# The lesson's own checks: `shape` names each run above as the lesson did, and the mystery recipes
# give the shapes they were written for.
assert shape(healthy) == "healthy" and shape(under) == "underfitting"
assert shape(over) == "overfitting" and shape(blown) == "divergence"
assert shape(mystery) == ["healthy", "underfitting", "overfitting", "divergence"][recipe]

# %% [markdown]
# ## Summary
#
# - **Healthy**: both losses fall and level off, with a small gap.
# - **Underfitting**: the training loss stays high and the accuracy stays near or below chance level,
#   which on unbalanced data is the largest class's share (54 % here), not one over the number of
#   classes.
#   Train longer, use a larger learning rate or a bigger model.
# - **Overfitting**: training keeps falling while validation turns up after its best epoch. Use
#   more data, augmentation, a smaller model, or stop early at the best validation epoch.
# - **Divergence**: a loss with a floor (here the squared error) climbs by orders of magnitude
#   until it is `inf`/`NaN`; labkit records `diverged_step` and marks
#   it with an X. Lower the learning rate (here 30x was the difference), or clip the gradients.
#   Use a log axis to see the climb.
# - Read the numbers as well as the picture: each shape above is a one-line check in `shape`.
#
# ## Exercises
#
# 1. Rerun the healthy case with `train(epochs=30)`. Does `shape` call it overfitting? Look at the
#    validation loss: how far does it move after epoch 10?
# 2. Find the largest learning rate for which `train(model="linear", loss="mse", optimizer="sgd",
#    lr=..., epochs=3)` does not diverge. Is it the same on another seed (`seed=1`)?
# 3. Plot the overfitting run with `per="step"`. Why is the training curve noisier than per epoch?
