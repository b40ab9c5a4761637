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
# # How to read loss curves
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/00_reading_loss_curves.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/00_reading_loss_curves.ipynb)
#
# Before the five failures, the four shapes every training curve falls into: **healthy**,
# **underfitting**, **overfitting** and **divergence**. Each is a real labkit run of a few
# seconds; each shape is also checked by numbers, because "it looks like" is not a diagnosis.
#
# Solid lines are the training loss (mean over the epoch's batches), dashed lines the
# validation loss (after each epoch).

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

import labkit
from labkit import cases, plots

SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## Healthy
#
# Lesson 03's 3-class image task trained with `CrossEntropyLoss`: both losses fall together and
# flatten, validation close to training, accuracy high.

# %%
images = cases.get("negative-loss")
healthy = images.run(seed=SEED, loss="cross-entropy")
fig = plots.compare([healthy], ["healthy"], title="Healthy: both losses fall and level off together")
plt.show()
assert healthy.train_loss[-1] < 0.2 * healthy.train_loss[0]  # training loss falls
assert healthy.val_loss[-1] < 0.2 * healthy.val_loss[0]      # and validation follows it
assert healthy.val_loss[-1] < 3 * healthy.train_loss[-1] + 0.05  # with a small gap
assert healthy.val_metric[-1] > 0.95

# %% [markdown]
# ## Underfitting
#
# The same run with a learning rate of `1e-5`: both losses barely move, and the accuracy stays
# at chance level. The model has not learned yet: train longer, raise the learning rate, or
# use a bigger model. Underfitting shows on the **training** loss: it stays high.

# %%
under = images.run(seed=SEED, loss="cross-entropy", lr=1e-5)
fig = plots.compare([healthy, under], ["healthy", "lr=1e-5"], title="Underfitting: the training loss stays high")
plt.show()
assert under.train_loss[-1] > 0.9 * under.train_loss[0]   # it barely moves
assert under.train_loss[-1] > 10 * healthy.train_loss[-1]
assert under.val_metric[-1] < 0.6

# %% [markdown]
# ## Overfitting
#
# Lesson 02's 35 training images and a 3.9M-weight model at a low learning rate: the training
# loss goes to almost zero (the model memorises the 35 images), while the validation loss turns
# up after a couple of epochs. Overfitting is the **gap**: training keeps improving, validation
# does not.

# %%
few_images = cases.get("oscillating-loss")
over = few_images.run(seed=SEED, lr=3e-4, epochs=10)
fig = plots.compare([over], ["35 images, 3.9M weights"], title="Overfitting: training falls, validation turns up")
plt.show()
best = min(range(over.num_epochs), key=over.val_loss.__getitem__)
print(f"validation loss is lowest at epoch {best + 1}; training loss {over.train_loss[-1]:.3f} at the end")
assert over.train_loss[-1] < 0.1 * over.train_loss[0]       # memorised
assert over.val_loss[-1] > 1.1 * min(over.val_loss)          # validation rose from its best
assert best < over.num_epochs - 3                            # and the best was early

# %% [markdown]
# ## Divergence
#
# The update is too large and the weights blow up until the loss is `inf` or `NaN`. labkit
# stops a run at the first non-finite loss, records `diverged_step`, and the plots mark the
# point with an **X**. Here: lesson 03's setup (a loss with no floor) with momentum SGD at
# `lr=1.0`.

# %%
blown = images.run(seed=SEED, optimizer="momentum", lr=1.0, epochs=5)
print(f"diverged: {blown.diverged} at step {blown.diverged_step} (epoch {blown.diverged_epoch + 1})")
fig, ax = plt.subplots(figsize=(6, 3.5))
plots.plot_loss(blown, ax, per="step", scale="symlog", labels=["momentum, lr=1.0"])
ax.set_title("Divergence: the loss becomes NaN/inf")
plt.show()
assert blown.diverged and blown.diverged_step < 50   # NaN within a few dozen steps
assert not math.isfinite(blown.step_loss[-1])        # the last recorded loss is the bad one

# %% [markdown]
# ## Your turn
#
# Which shape is this? A run with training loss falling to near zero and validation loss
# ending 30 % above its minimum. Set `my_answer` to one of `"healthy"`, `"underfitting"`,
# `"overfitting"`, `"divergence"`. The check computes the answer from a real run.

# %% [markdown]
# **Try it yourself first.** Look at the two numbers in the description: which loss moves, and which way? The next cell holds a reference answer, collapsed: overwrite it with your own value before you run it.

# %% jupyter={"source_hidden": true} tags=["solution"]
my_answer = "overfitting"

# %%
mystery = few_images.run(seed=SEED, lr=3e-4, epochs=10)
def shape(h):
    """Return the curve shape of a run by the rules this lesson used."""
    if h.diverged:
        return "divergence"
    if h.train_loss[-1] > 0.9 * h.train_loss[0]:
        return "underfitting"
    if h.val_loss[-1] > 1.1 * min(h.val_loss):
        return "overfitting"
    return "healthy"
truth = shape(mystery)
if my_answer == truth:
    print(f"Right: training loss {mystery.train_loss[-1]:.3f}, validation {mystery.val_loss[-1] / min(mystery.val_loss):.2f}x its best: {truth}.")
else:
    print(f"Not yet: {my_answer!r} is not it. Hint: the training loss fell, so the model learns; what does validation do?")
assert my_answer == truth == "overfitting"
assert shape(healthy) == "healthy" and shape(under) == "underfitting" and shape(blown) == "divergence"

# %% [markdown]
# ## Summary
#
# - **Healthy**: both losses fall and level off, with a small gap.
# - **Underfitting**: the training loss stays high. Train longer, use a larger learning rate or
#   a bigger model.
# - **Overfitting**: training keeps falling while validation turns up. Use more data,
#   augmentation, a smaller model, or stop early.
# - **Divergence**: the loss becomes `NaN`/`inf`; labkit marks it with an X. Lower the
#   learning rate, check the loss.
# - Read the numbers as well as the picture: each shape above is a one-line check.
#
# ## Exercises
#
# 1. Rerun the healthy case with `epochs=30`. Does it start to overfit?
# 2. Find the largest learning rate for which `images.run(seed=SEED, loss="cross-entropy", optimizer="momentum", lr=...)` does not diverge.
# 3. Plot the overfitting run with `per="step"`. Why is the training curve noisier than per epoch?
