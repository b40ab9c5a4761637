# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# A thread turned **28 features x 28-day windows** of a time series into 28x28 "images",
# **min-max scaled each window on its own**, and trained a CNN to predict a target in **[-1, 1]
# whose sign matters**. Training loss fell; validation loss rose from the very first epoch,
# though there were thousands of windows. This lesson reproduces it, tests the usual
# suspects, finds the cause in the data, and shows a tempting "fix" that only hides it.

# %%
# On Colab (or anywhere labkit is missing) install it; torch, numpy and matplotlib are left alone.
try:
    import labkit
except ImportError:
    get_ipython().run_line_magic("pip", 'install -q "labkit @ git+https://github.com/labkit-edu/labkit"')

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np

import labkit
from labkit import cases, plots
from labkit.data import window_images

SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## The symptom
#
# Our data: 28 slowly drifting features in different units plus daily noise; the label of a
# window is `tanh(-1.5 x the window's mean level of one feature)`. Windows are scaled as in the
# thread, and validation is the latest 20 % of time (a chronological split).

# %%
case = cases.get("rising-val-loss")
print(case.symptom)
failing = case.run(seed=SEED)
baseline = failing.final["baseline_val_loss"]  # validation loss of always predicting the training mean
print("training loss  :", [round(v, 3) for v in failing.train_loss])
print("validation loss:", [round(v, 3) for v in failing.val_loss], f"(predict-the-mean: {baseline:.3f})")
fig = plots.compare([failing], ["per-window scaling"], title="The symptom: validation rises from the start")
plt.show()

# %%
best = min(range(failing.num_epochs), key=failing.val_loss.__getitem__)
assert failing.train_loss[-1] < 0.5 * failing.train_loss[0]   # training loss more than halves
assert failing.val_loss[-1] > failing.val_loss[0]              # validation ends above epoch 1
assert best < 3                                                # its best is in the first epochs
assert failing.val_loss[-1] > baseline                         # worse than predicting the mean
assert failing.val_metric[-1] < 0.7                            # the sign is barely better than a coin

# %% [markdown]
# Worse than useless: after 12 epochs the model's validation loss is above what a constant
# prediction (the training mean) gets.
#
# ## Hypotheses
#
# 1. **Overfitting: the model is too big for the data.** Then regularisation (dropout) would
#    bring validation down.
# 2. **Too few data.** There are about 3000 windows: more than enough for this small net.
# 3. **The inputs do not contain what predicts the label** on unseen data, so anything the net
#    learns is noise. Then no model change helps, and the inputs themselves will show it.
#
# ## Experiment 1: regularise
#
# Dropout 0.5 before the dense layers attacks hypothesis 1 head on.

# %%
dropout = case.run(seed=SEED, dropout=0.5)
print(f"dropout 0.5: validation {dropout.val_loss[0]:.3f} -> {dropout.val_loss[-1]:.3f} (baseline {baseline:.3f})")
assert dropout.val_loss[-1] > 0.9 * baseline   # no better than predicting the mean: not a capacity problem


# %% [markdown]
# ## Experiment 2: look at the inputs, no training
#
# The label depends on the *level* of feature 5 in the window. Correlate the mean of row 5 of
# every window with its label, once scaled per window (as in the thread) and once scaled with
# statistics of the training split ("global").

# %%
def level_vs_label(normalization):
    """Return the correlation of row 5's window mean with the label on the validation split."""
    data = window_images(SEED, normalization=normalization)
    level = data.x_val[:, 0, 5, :].mean(dim=1).numpy()
    return float(np.corrcoef(level, data.y_val.view(-1).numpy())[0, 1])

corr = {norm: level_vs_label(norm) for norm in ("window", "global")}
print({norm: round(c, 3) for norm, c in corr.items()})
assert abs(corr["window"]) < 0.2   # per-window scaling: the level no longer predicts the label
assert abs(corr["global"]) > 0.8   # training-split scaling keeps it

# %% [markdown]
# ## Cause
#
# Min-max scaling each row *inside its own window* maps every row to [0, 1] whatever its level.
# The one thing that predicts the label, the level, is erased. What is left (the shape of the
# noise inside the window) does not carry over from training time to later time, so every
# epoch the net fits more noise, training loss falls and validation loss rises. Lots of data
# does not help when the data no longer contains the signal.
#
# ## The fix, side by side
#
# Scale each feature with statistics computed on the **training split** only (mean and standard
# deviation per feature), and apply the same numbers to validation.

# %%
fixed = case.run(seed=SEED, **case.fix("global normalization"))
fig = plots.compare([failing, fixed], ["per-window scaling", "training-split scaling"],
                    title="Per-window vs training-split scaling")
plt.show()
print(f"validation loss {fixed.val_loss[-1]:.4f} (baseline {baseline:.3f}), sign accuracy {fixed.val_metric[-1]:.3f}")
assert fixed.val_loss[-1] < 0.5 * baseline    # far better than predicting the mean
assert fixed.val_metric[-1] > 0.85            # the sign is right on most later windows
assert not case.shows_symptom(fixed)

# %% [markdown]
# ## Every fix and what it really does
#
# The thread's other suggestion was to shuffle the windows before splitting. Validation then
# falls nicely. But overlapping windows share 27 of their 28 days, so a shuffled validation
# window has near-copies in training: the split **leaks**, and the score says nothing about
# the future. Evaluate the same kind of model on the honest, chronological split and the
# failure is still there.

# %%
leaky = case.run(seed=SEED, **case.fix("shuffled split (hides it)"))
fig = plots.compare([failing, leaky], ["chronological split", "shuffled split (leaks)"],
                    title="A shuffled split hides the failure")
plt.show()
print(f"shuffled split: validation {leaky.val_loss[0]:.3f} -> {leaky.val_loss[-1]:.3f}, sign accuracy {leaky.val_metric[-1]:.3f}")
print(f"chronological : validation {failing.val_loss[0]:.3f} -> {failing.val_loss[-1]:.3f}, sign accuracy {failing.val_metric[-1]:.3f}")
assert leaky.val_loss[-1] < leaky.val_loss[0]                 # looks healthy...
assert min(leaky.val_loss) < 0.6 * min(failing.val_loss)     # ...far better than the honest split
assert leaky.val_metric[-1] > failing.val_metric[-1] + 0.2   # though the inputs are just as scaled

# %% [markdown]
# So: **training-split scaling** is the fix; the **shuffled split** changes nothing about the
# model and only makes the measurement leak.
#
# ## Your turn
#
# Choose a split and a normalization (`my_split` in `"chronological"`, `"shuffled"`;
# `my_normalization` in `"window"`, `"global"`, `"none"`) so that the validation score is both
# **honest** and **good**: validation loss below half the predict-the-mean baseline.

# %% [markdown]
# **Try it yourself first.** Which split can you trust with overlapping windows, and which scaling keeps the level? The next cell holds a reference answer, collapsed: overwrite it with your own value before you run it.

# %% jupyter={"source_hidden": true} tags=["solution"]
my_split = "chronological"
my_normalization = "global"

# %%
mine = case.run(seed=SEED, split=my_split, normalization=my_normalization)
ratio = mine.val_loss[-1] / mine.final["baseline_val_loss"]
if my_split != "chronological":
    print("Not yet: a shuffled split of overlapping windows leaks. Hint: validate on later time only.")
elif ratio >= 0.5:
    print(f"Not yet: validation loss is {ratio:.2f}x the baseline. Hint: keep each feature's level; scale with training-split numbers.")
else:
    print(f"Right: honest split, validation loss {ratio:.2f}x the baseline, sign accuracy {mine.val_metric[-1]:.2f}.")
assert my_split == "chronological" and ratio < 0.5

# %% [markdown]
# ## Explore
#
# Switch the normalization and the split, add dropout or early stopping, and watch whether
# validation loss falls below the dashed baseline.

# %%
panel = labkit.explore("rising-val-loss", seed=SEED, runs=[failing, dropout, fixed, leaky])
panel

# %%
panel.wait()  # blocks until the panel's current run has finished

# %% [markdown]
# ## Summary
#
# - Validation loss that rises **from the first epoch** (not after a while) points at the data,
#   not at the model: the inputs do not carry over to the validation data.
# - Per-window min-max scaling erases each feature's level; when the level is the signal, the
#   net can only memorise noise. Scale with statistics of the training split.
# - Compare with a predict-the-mean baseline: a model worse than a constant learned nothing.
# - Never split overlapping windows at random: validation leaks and looks good. Split by time.
#
# ## Exercises
#
# 1. Try `normalization="none"`. Why does it work here, and when would it not?
# 2. With per-window scaling, does `early_stopping=2` make the model useful? Compare with the baseline.
# 3. Add a second input channel holding the window's raw mean per feature, scaled globally.
#    Which of the two channels carries the signal?
