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
# # Why does my validation loss rise from the first epoch, even with lots of data?
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/01_validation_loss_rises_from_epoch_1.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/01_validation_loss_rises_from_epoch_1.ipynb)
#
# On Binder, shut down a lesson's kernel when you move on to the next (*Kernel → Shut Down
# Kernel*): each lesson holds 0.4 to 0.7 GB, and Binder gives 2 GB in all.
#
# **The thread** ([datascience.stackexchange.com/q/82054](https://datascience.stackexchange.com/q/82054)):
# the asker made 28x28 "images" out of a time series, one row per feature (**28 features**) and one
# column per day (**28-day windows**), min-max scaled **each row inside its own window**, and trained an
# MNIST-style CNN with **MSE and Adadelta** to predict a label between **-1 and 1 whose sign matters**.
# Training loss fell, but validation loss went up from the very first epoch, with about **60,000**
# windows and again with more than **250,000**, over **100 to 3000 epochs** and batch sizes from **32 to
# 3500**. Dropout up or down, more data, `tanh` in a dense layer, scaling each feature over its whole
# series (fit on the training split: "about the same"), first differences, Adam, a lower Adadelta
# rate: nothing changed it, although the same model learned MNIST to 98 %.
#
# We cannot see the asker's data, so this lesson builds two small synthetic worlds from one data
# builder and runs the same checks on both. They lead to different answers, and the checks that tell
# them apart are ones you can run on your own data.

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

import labkit
from labkit import cases, plots
from labkit import exercise
from labkit.cases.rising_val_loss import effective_samples, model
from labkit.data import window_images

labkit.use_device("cpu")  # the claims below were checked on the CPU; on a GPU the same seed is another run
labkit.exercise.reopen_hint()  # reopened later, each widget says "run this cell again" instead of an error
SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## The data and the model
#
# 28 features in very different units (offsets from 1 to 1000, spreads from 0.1 to 100), each a
# hidden level that drifts slowly (it forgets over about 12 days) plus daily noise; window `s` shows
# days `s+1 .. s+28` as a 28x28 image. 2500 overlapping windows; validation is the latest 20 % of
# time (a chronological split, with a 27-window gap so no day is in both). The model is the thread's,
# shrunk to train in seconds on a laptop CPU: two convolutions, Flatten, Dense(128), Dense(64), one linear
# output, MSE, Adam (lr 2e-3), batch 64, 10 epochs. Two worlds differ only in the label:
#
# - **world "level"**: the label is `tanh(-1.5 x the window's mean level of feature 5)`. Per-window
#   min-max scaling maps every row to [0, 1], whatever its level.
# - **world "no-signal"**: feature 5 is a random walk (a trend, like the asker's features) and the
#   label is `tanh(1.5 x its next day's move)`, the random walk's next step.
#
# Every plot draws two baselines that need no model: **predict the mean** (always answer the training
# labels' mean) and **persistence** (answer each window with the previous window's label).

# %%
case = cases.get("rising-val-loss")
print(case.symptom)


def add_to_legend(ax, *lines):
    """Add ``lines``, under their labels, to the legend that labkit drew to the right of ``ax``."""
    legend = ax.get_legend()
    handles, names = (list(legend.legend_handles), [t.get_text() for t in legend.texts]) if legend else ([], [])
    ax.legend(handles + list(lines), names + [line.get_label() for line in lines], **plots.LEGEND)


def level_line(ax, runs, value, label, **style):
    """Draw ``value`` as a horizontal line over the epochs of ``runs`` and return it."""
    (line,) = ax.plot([1, max(h.num_epochs for h in runs)], [value, value], lw=1, label=label, **style)
    return line


def loss_panel(ax, runs, labels, title, legend=True):
    """Draw training (solid) and validation (dashed) loss of ``runs`` on ``ax``, with both baselines; return those."""
    plots.plot_loss(runs, ax, per=case.view.per, scale=case.view.scale, labels=labels, legend=legend)
    mean = level_line(ax, runs, runs[0].final["baseline_val_loss"], "predict the mean", color="black", ls=":")
    persistence = level_line(ax, runs, runs[0].final["persistence_val_loss"], "persistence", color="gray", ls="-.")
    ax.set_title(title, fontsize="medium")
    if legend:
        add_to_legend(ax, mean, persistence)
    return mean, persistence


def ratio(h, value):
    """Return ``value`` as a multiple of the run's predict-the-mean validation loss."""
    return value / h.final["baseline_val_loss"]


# %% [markdown]
# ## The symptom, in world "level" with the thread's per-window scaling

# %%
failing = case.run(seed=SEED)
base = failing.final["baseline_val_loss"]
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 3.8))
baselines = loss_panel(left, [failing], ["per-window scaling"], "Loss (world 'level')", legend=False)
plots.plot_metric([failing], right, labels=["per-window scaling"])  # one legend, at the right, for both plots
add_to_legend(right, *baselines, level_line(right, [failing], 0.5, "a coin (sign accuracy)", color="black", ls=":"))
right.set_title("Sign accuracy", fontsize="medium")
plots.show(fig, "Left: the training loss (solid) falls to under half its start while the validation loss (dashed) "
                "ends above its epoch-1 value and above the dotted predict-the-mean line; right: the validation sign "
                f"accuracy ends at {failing.val_metric[-1]:.2f}, near the dotted coin's 0.5.")
print(f"training loss  : {failing.train_loss[0]:.3f} -> {failing.train_loss[-1]:.3f}")
print(f"validation loss: {failing.val_loss[0]:.3f} -> {failing.val_loss[-1]:.3f}, lowest {min(failing.val_loss):.3f}; "
      f"predict the mean {base:.3f}, persistence {failing.final['persistence_val_loss']:.4f}")
print(f"validation sign accuracy at the end: {failing.val_metric[-1]:.2f}")

# %%
assert failing.train_loss[-1] < 0.5 * failing.train_loss[0]   # training loss more than halves
assert failing.val_loss[-1] > failing.val_loss[0]              # validation ends above epoch 1
assert min(failing.val_loss) > 0.85 * failing.val_loss[0]      # never more than 15 % below epoch 1
assert failing.val_loss[-1] > base                             # worse than predicting the mean
assert 0.8 < failing.val_loss[0] / base < 1.2                  # after epoch 1: about the mean's loss
assert abs(failing.val_metric[-1] - 0.5) < 0.2                 # the sign: about half right, a coin

# %% [markdown]
# Left: the training loss (solid) falls towards zero while the validation loss (dashed) never gets
# more than 15 % below its first value (its lowest is printed), climbs, and ends above the dotted line, the loss of always
# predicting the mean (persistence, the dash-dotted line near zero, comes up below). Right: the
# sign of the label is right on about half of the later windows, like a coin (dotted). The thread's
# picture, in 10 epochs.
#
# ## Two worlds, one symptom
#
# One of the asker's attempts was to scale each feature over its whole series, with the scaler fit on
# the training split. Here that is `normalization="global"`: each feature standardised with the mean
# and spread of the training days, the same numbers applied to validation. First world "level", then
# world "no-signal", each with both scalings.

# %%
q = exercise.predict(
    "Training-split scaling keeps each feature's level. In world 'no-signal', what will it do?",
    ["validation loss falls below the predict-the-mean line",
     "validation loss still rises from the first epochs, never clearly below the line"])
q

# %%
fixed = case.run(seed=SEED, normalization="global")
flat = case.run(seed=SEED, world="no-signal")
flat_global = case.run(seed=SEED, world="no-signal", normalization="global")
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 3.8))
loss_panel(left, [failing, fixed], ["per-window", "training-split"], "World 'level'", legend=False)
loss_panel(right, [flat, flat_global], ["per-window", "training-split"], "World 'no-signal'")
plots.show(fig, "In world 'level' (left) the training-split run's validation loss (dashed) drops far below the "
                "dotted predict-the-mean line and the per-window run's does not; in world 'no-signal' (right) "
                "neither run's validation loss gets more than 5 % below that line.")
for name, h in [("level, per-window", failing), ("level, training-split", fixed),
                ("no-signal, per-window", flat), ("no-signal, training-split", flat_global)]:
    print(f"{name:26s} validation: lowest {ratio(h, min(h.val_loss)):.2f}x, last {ratio(h, h.val_loss[-1]):.2f}x "
          f"the predict-the-mean loss; sign accuracy {h.val_metric[-1]:.2f}")
no_signal_falls = ratio(flat_global, min(flat_global.val_loss)) < 0.9
q.verdict(q.options[0] if no_signal_falls else q.options[1],
          f"In world 'no-signal' its lowest validation loss is {ratio(flat_global, min(flat_global.val_loss)):.2f}x "
          f"the predict-the-mean loss and its last {ratio(flat_global, flat_global.val_loss[-1]):.2f}x: "
          "no scaling can bring back a signal that was never in the window.")

# %%
assert ratio(fixed, fixed.val_loss[-1]) < 0.5 and fixed.val_metric[-1] > 0.75   # world "level": fixed
print("global normalization, world 'level':", labkit.verdict(fixed))               # the panel's judge, in words
assert labkit.verdict(fixed).state == "healthy"
for h in (flat, flat_global):                                                      # world "no-signal": not
    assert ratio(h, min(h.val_loss)) > 0.95 and h.val_loss[-1] > h.val_loss[0]
    assert 0.35 < h.val_metric[-1] < 0.65
    assert ratio(h, h.val_loss[0]) < 1.15                                         # starts near the mean's loss

# %% [markdown]
# Left, world "level": with training-split scaling the validation loss drops far below the dotted
# line and stays there (the sign is right on most later windows); per-window scaling had erased the
# one thing that predicts the label. Right, world "no-signal": both scalings give the thread's
# curve. Validation starts near the predict-the-mean loss (after one epoch the net answers close to
# the mean) and only climbs from there: what training fits does not carry over to later time.
#
# **Where this disagrees with the asker.** The asker reports that training-split scaling gave about
# the same curves. Our world "level" does not: there it is the fix. The asker's report fits world
# "no-signal" (the past 28 days hold little or nothing about the label), or a cause beyond scaling
# that we cannot see from the thread. So "use global scaling" is not a safe answer to the thread; the
# checks below are.
#
# ## Three checks that tell the worlds apart
#
# None needs anything but your own data and model.
#
# **1. Baselines without a model.** Predict-the-mean is the loss of knowing nothing but the label's
# average; a model above it has learned nothing that carries over. Persistence asks whether the label
# itself moves slowly: if yesterday's label is a good guess for today's, something in the past does
# predict it.

# %%
for name, h in [("level", failing), ("no-signal", flat)]:
    print(f"world {name:10s}: predict the mean {h.final['baseline_val_loss']:.3f}, "
          f"persistence {h.final['persistence_val_loss']:.4f} ({ratio(h, h.final['persistence_val_loss']):.3f}x the mean's)")
assert ratio(failing, failing.final["persistence_val_loss"]) < 0.1   # "level": the label persists
assert ratio(flat, flat.final["persistence_val_loss"]) > 1.5         # "no-signal": it does not

# %% [markdown]
# In world "level" the previous window's label is an almost perfect guess (windows share 27 of their
# 28 days): something in the past does predict the label. In world "no-signal" persistence is about
# twice the mean's loss: consecutive labels are unrelated. (Persistence uses past labels, not the
# images, so it does not prove that the *images* hold the signal; the next check does.)
#
# **2. The shuffled-label control.** Train the same model on the same images with the training labels
# shuffled among the windows (validation keeps the true labels). That model cannot learn anything
# real. If the real model gets no closer to the validation labels than this control, there is nothing
# the model can learn from these inputs as they are prepared.

# %%
control = {
    "level, per-window": (failing, case.run(seed=SEED, shuffle_labels=True)),
    "level, training-split": (fixed, case.run(seed=SEED, normalization="global", shuffle_labels=True)),
    "no-signal, training-split": (flat_global, case.run(seed=SEED, world="no-signal", normalization="global",
                                                         shuffle_labels=True)),
}
fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
for ax, (name, (real, shuffled)) in zip(axes, control.items()):
    ax.plot(range(1, real.num_epochs + 1), real.val_loss, "C0--", label="true labels")
    ax.plot(range(1, shuffled.num_epochs + 1), shuffled.val_loss, "C3--", label="shuffled labels")
    level_line(ax, [real], real.final["baseline_val_loss"], "predict the mean", color="black", ls=":")
    ax.set(title=name, xlabel="epoch", ylabel="validation loss")
    ax.title.set_fontsize("medium")
    ax.set_ylim(bottom=0)
axes[-1].legend(**plots.LEGEND)
gap = {name: min(real.val_loss) / min(shuffled.val_loss) for name, (real, shuffled) in control.items()}
plots.show(fig, "Only with training-split scaling in world 'level' (middle) does the validation loss with true labels "
                "get far below the shuffled-label control (lowest loss "
                f"{gap['level, training-split']:.2f}x the control's); in the other two panels it gets no lower than "
                f"{min(gap['level, per-window'], gap['no-signal, training-split']):.2f}x.")
for name, g in gap.items():
    print(f"{name:26s}: lowest validation loss, true labels / shuffled labels = {g:.2f}")
assert gap["level, training-split"] < 0.5       # a real signal: far below the control
assert gap["level, per-window"] > 0.8           # per-window scaling left nothing to learn
assert gap["no-signal, training-split"] > 0.9   # nothing to learn at all

# %% [markdown]
# The three panels show validation loss only (dashed): true labels in blue, shuffled in red. With
# training-split scaling in world "level" the true labels go far below the control. In the two other
# panels the true labels do hardly better than shuffled ones (ratio 0.8 or more): the model learns
# nothing real. Run on the
# asker's data with both scalings, this control says which world they are in: if the true labels beat
# the control with training-split scaling, the scaling was the problem; if they never do, the 28 days
# before the label do not predict it (or the labels are wrong).
#
# **3. How many independent samples?** Windows that overlap in 27 of 28 days are not 27 new
# samples. A rough count: the number of windows that share no day, and the *effective* number of
# labels, `n / (1 + 2 x the sum of the label's autocorrelations)`: neighbours that repeat each other
# count once.

# %%
for world in ("level", "no-signal"):
    data = window_images(SEED, n_windows=2500, world=world)
    n = len(data.y_train)
    print(f"world {world:10s}: {n} training windows, {math.ceil(n / 28)} that share no day, "
          f"about {effective_samples(data.y_train):.0f} independent labels")
level = window_images(SEED, n_windows=2500, world="level")
assert effective_samples(level.y_train) < 0.05 * len(level.y_train)   # fewer than 1 in 20
weights = sum(p.numel() for p in model().parameters())
print(f"the model's weights: {weights}")
assert weights > 100_000

# %% [markdown]
# In world "level" the ~2000 training windows hold fewer than one independent label in 20 (a few
# dozen): the label moves slowly, so thousands of windows repeat a few dozen facts, for a net with
# over 100,000 weights. "Lots of data" counts windows; what a model can generalise from is closer to
# the number of independent labels. (In world "no-signal" the labels are independent, but there is
# nothing in the windows to learn them from.)
#
# ## What the asker tried, run in world "level" with per-window scaling
#
# Each row changes one thing in the failing run above. "lowest" and "last" are the validation loss as
# a multiple of the predict-the-mean loss; "train" is the last training loss over the first.

# %%
tries = {
    "as above (Adam 2e-3, no dropout)": {},
    "dropout 0.25 (the thread's first rate)": {"dropout": 0.25},
    "more dropout: 0.5": {"dropout": 0.5},
    "tanh on Dense(64) (a comment's idea)": {"activation": "tanh"},
    "4x the windows: 10,000": {"n_windows": 10_000},
    "first differences, per-window": {"differences": True},
    "first differences, training-split": {"differences": True, "normalization": "global"},
    "Adadelta lr 1.0 (standalone Keras's default)": {"optimizer": "adadelta", "lr": 1.0},
    "Adadelta lr 1e-3 (tf.keras's default)": {"optimizer": "adadelta", "lr": 1e-3},
    "Adadelta lr 1e-4": {"optimizer": "adadelta", "lr": 1e-4},
}
tried = {name: (failing if not knobs else case.run(seed=SEED, **knobs)) for name, knobs in tries.items()}
print(f"{'change':46s} {'lowest':>7s} {'last':>6s} {'train':>6s}")
for name, h in tried.items():
    print(f"{name:46s} {ratio(h, min(h.val_loss)):7.2f} {ratio(h, h.val_loss[-1]):6.2f} "
          f"{h.train_loss[-1] / h.train_loss[0]:6.2f}")

# %%
for name, h in tried.items():
    assert ratio(h, min(h.val_loss)) > 0.7, name   # none gets far below predicting the mean, at any epoch
learners = [n for n in tried if not n.startswith("Adadelta lr 1e-")]
# and each that learns ends near or above it (first differences, per-window, measured on seeds 0-29 with one
# and two threads: 0.88x on seed 3 with two threads, 0.99x or more on every other run)
for name in learners:
    assert ratio(tried[name], tried[name].val_loss[-1]) > 0.8, name
assert tried["more dropout: 0.5"].train_loss[-1] > 5 * failing.train_loss[-1]   # dropout: training falls more slowly
for name in ("Adadelta lr 1e-3 (tf.keras's default)", "Adadelta lr 1e-4"):
    assert tried[name].train_loss[-1] > 0.9 * tried[name].train_loss[0], name   # hardly moves in 10 epochs

# %% [markdown]
# None of them fixes it, as the asker found: at no epoch does any of them get below 0.7x the
# predict-the-mean loss (training-split scaling got below 0.5x), and those that learn end near or
# above it. With dropout the training loss falls more slowly (the "train" column), but validation
# stays near or above the mean's loss. `tanh`, four times the windows and Adadelta at a rate where it learns (1.0)
# give the same picture. First differences lose the level too: a window of day-to-day changes says
# how each feature moved during those 28 days, not where it was, so even training-split scaling of
# the differences does not help. Adadelta at 1e-3 and 1e-4 hardly changes the training loss in our
# 10 epochs: it takes tiny steps. The asker ran 100 to 3000 epochs, where 1e-3 did learn and 1e-4
# did not; we did not run that long, so only "1e-4 barely learns" is reproduced here.
#
# ## This lesson's own addition: a shuffled split hides the failure
#
# The thread does not say how validation windows were chosen (the images were "split and then
# shuffled"). If the windows are shuffled *before* the split, a validation window's neighbours,
# which share 27 of its 28 days, sit in the training split. Same per-window scaling, same model:

# %%
leaky = case.run(seed=SEED, split="shuffled")
fig, ax = plt.subplots(figsize=(7, 3.8))
loss_panel(ax, [failing, leaky], ["chronological split", "shuffled split (leaks)"], "World 'level', per-window scaling")
plots.show(fig, "With the shuffled split the validation loss (dashed) falls well below the dotted predict-the-mean "
                "line, while with the chronological split it ends above it.")
print(f"shuffled split: validation {ratio(leaky, leaky.val_loss[0]):.2f}x -> {ratio(leaky, leaky.val_loss[-1]):.2f}x "
      f"the predict-the-mean loss, sign accuracy {leaky.val_metric[-1]:.2f}")
assert leaky.val_loss[-1] < 0.6 * leaky.val_loss[0]            # looks healthy...
assert ratio(leaky, leaky.val_loss[-1]) < 0.5                  # well below the mean's line
assert min(leaky.val_loss) < 0.6 * min(failing.val_loss)      # ...far better than the honest split
assert leaky.val_metric[-1] > failing.val_metric[-1] + 0.2   # with the same erased inputs
print("shuffled split:", labkit.verdict(leaky))              # not healthy: validated on leaked windows
assert labkit.verdict(leaky).state == "another failure"

# %% [markdown]
# With the shuffled split (orange) the validation loss falls well below the mean's line (the lines
# drawn are the chronological split's; the printed ratio uses the shuffled split's own), with inputs
# that we just saw carry nothing that generalises to later time: the model recognises near-copies of
# its training windows. A chronological split is the honest one for overlapping windows.
#
# ## What the thread said
#
# The thread as we have it holds the question and the asker's edits; no answer is included. One
# commenter (etiennedm) is named in the edits, as the source of the `tanh` idea.
#
# | who | what | what happens here |
# |---|---|---|
# | asker | 28 features x 28-day windows, each row min-max scaled inside its window; MSE, Adadelta; validation rises from epoch 1 | run: reproduced in world "level" (and in world "no-signal" with any scaling) |
# | asker | more dropout | run: 0.25 and 0.5, validation still ends above the mean's loss |
# | asker | no dropout (tried before the comment) | run: our default has none; the symptom is there |
# | asker | more data: about 60,000, then over 250,000 windows | run: 2500 -> 10,000 windows, no change; the knob reaches 250,000; check 3 explains why window counts mislead |
# | asker | 100-3000 epochs, batch sizes 32-3500 | mentioned: our runs use 10 epochs of batch 64; the panel's knobs reach those values; we did not run longer |
# | asker | framed as classification (the label's sign): same problem | not covered: this case regresses; the sign accuracy printed above is the classification view, about 0.5 |
# | asker | scaling each feature over its whole series, fit on the training split: "about the same" | run: fixes world "level", changes nothing in world "no-signal"; **disagrees with the asker in world "level"**: their report fits "no-signal" or a cause beyond scaling |
# | asker | first differences, then scaled over the dataset or per window | run: both fail, as the asker found: differences drop the level |
# | asker | the model learns MNIST to 98 % | mentioned: our shrunken model learns world "level" once the level is kept, so the model can learn when the inputs hold the signal |
# | asker | Adam instead of Adadelta | run: Adam is our default; Adadelta at 1.0 gives the same curves |
# | asker | Adadelta rate 0.001 -> 0.0001 stops learning | run: 1e-4 barely moves, agrees; 1e-3 barely moves in our 10 epochs too, where the asker's learned over 100+ epochs |
# | asker | loss per batch, to catch overfitting in the first epochs | mentioned: labkit measures validation once per epoch; after epoch 1 (about 30 steps) it is already at about the mean's loss, so there is no early good phase to catch |
# | asker | features grouped by clustering for locality | not covered: the signal here is one feature's level, which no row order changes |
# | asker | theory: images not normalised well | run: true in world "level", false in world "no-signal"; the shuffled-label control tells which |
# | asker | theory: validation images differ from training images | mentioned: a chronological split validates on later time; in world "no-signal" there is nothing to differ |
# | asker | theory: still overfitting, needs more data or dropout | run: neither helps (table above) |
# | comment (etiennedm) | `tanh` on the Dense(64) layer | run: same curves |
# | this lesson | predict-the-mean and persistence baselines, shuffled-label control, independent-sample count, shuffled split | our additions, not from the thread |

# %% [markdown]
# ## Your turn
#
# The asker had about **60,000** windows. Suppose their label behaved like world "level"'s (a
# slowly moving level, averaged over the window). About how many independent labels would 60,000
# such windows hold? Use `window_images` and `effective_samples` (or reason from the numbers above);
# an answer within 30 % counts.

# %%
my_independent = ...  # your estimate: independent labels in 60,000 windows of world "level"

# %%
# The reference answer's code (kept out of this notebook) computes this seed's count, so this cell does not show it.
expected = exercise.run_answer("01-independent-labels", SEED=SEED)["my_independent"]
exercise.check(
    my_independent, lambda v: 0.7 * expected <= float(v) <= 1.3 * expected,
    right="Right: within 30 % of the reference count. The reference answer below says how it is computed.",
    wrong="Not yet: count what repeats. Build 60,000 windows and call effective_samples on the training labels, "
          "or scale the 2500-window count above by the ratio of the series' lengths.")

# %% [markdown]
# Stuck, or want to compare? The reference answer stays hidden until you press the button.

# %%
exercise.reference("01-independent-labels")

# %% [markdown]
# ## Explore
#
# Switch the world, the scaling, the split and the label control; add dropout or more windows, and
# compare the validation loss with the predict-the-mean loss printed above for each world (the panel
# does not draw it). The status line gives the verdict of `labkit.verdict`: healthy means the
# validation loss ends below the predict-the-mean baseline on a chronological split and no diagnosis
# rule fires. So the shuffled split is a "try:" button, not a fix: its validation looks good only
# because it leaks (this lesson's own addition, above).

# %%
panel = labkit.explore("rising-val-loss", seed=SEED, runs=[failing, fixed, flat_global, leaky])
panel

# %%
panel.wait()  # blocks until the panel's current run has finished

# %% [markdown]
# ## How far these results hold
#
# Precomputed, not run here: `python benchmarks/robustness.py` judged the failing defaults and
# the fix on seeds 0-29 (torch 2.13, one thread) with the learning rate moved 25 % either way
# and with 25 % more epochs (180 runs; benchmarks/RESULTS.md).
#
# | run | judged | lr x 0.75 | lr x 1.25 | epochs x 1.25 |
# |---|---|---|---|---|
# | failing defaults | the asker's failure | 29 of 30 | 28 of 30 | 30 of 30 |
# | fix: global normalization | healthy | 29 of 30 | 30 of 30 | 30 of 30 |
#
# The misses sit at the edge of the symptom, not at its opposite: on seed 21 (lr x 0.75) and seed 11
# (lr x 1.25) the validation loss first improves and then rises, which is overfitting (lesson 00),
# and on seed 4 (lr x 1.25) it gets 10 % below epoch 1 before it rises; the fix at lr x 0.75 on
# seed 28 learns, but its validation loss swings. At the defaults both hold on all 30 seeds with
# torch 2.11, 2.13 and 2.14, one thread, and with torch 2.13, two threads.

# %% [markdown]
# ## Summary
#
# - A validation loss that rises from the first epoch and stays above the predict-the-mean loss says
#   the model learned nothing that carries over to the validation data. It does not say why: the
#   inputs may have lost the signal (world "level" with per-window scaling), may never have had it
#   (world "no-signal"), or something else may be wrong.
# - Draw the predict-the-mean and persistence baselines; run the shuffled-label control with each
#   scaling you try. True labels that never beat shuffled ones mean there is nothing to learn from the
#   inputs as prepared.
# - Per-window min-max scaling erases each feature's level; when the level is the signal, scale with
#   training-split statistics instead. When the past holds no signal, no scaling, dropout, optimizer
#   or amount of data helps.
# - Overlapping windows of a slowly moving label hold far fewer independent samples than windows.
# - Never split overlapping windows at random: validation leaks and looks good. Split by time.
#
# ## Exercises
#
# 1. Try `normalization="none"` in world "level" (raw values, offsets up to 1000). Does the model find
#    the level? Why or why not?
# 2. With per-window scaling, does `early_stopping=2` make the model useful? Compare its validation
#    loss with the predict-the-mean loss.
# 3. In world "no-signal", train with `split="shuffled"`. Does the leak help here too? Why?

# %%
exercise.reference("01-no-scaling")

# %%
exercise.reference("01-early-stopping")

# %%
exercise.reference("01-leak-no-signal")
