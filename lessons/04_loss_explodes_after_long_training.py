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
# # Why does my loss suddenly shoot up after 1500 good epochs?
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/04_loss_explodes_after_long_training.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/04_loss_explodes_after_long_training.ipynb)
#
# A thread trained with Adam: the loss was **fine for about 1500 epochs, then shot up and
# plateaued**. Changing Adam's `epsilon` made it go away, as did another loss. This lesson
# reproduces a jump of many orders of magnitude after a long smooth descent, shows why the
# default `eps=1e-8` allows it, and measures each fix.

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
from labkit.cases.adam_epsilon import jump_step

SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## The symptom
#
# The thread's own setup (softmax + cross-entropy on separable data) never reached a minimum it
# could overshoot in our prototypes, so this case uses the closest setup that fails reliably:
# 64 images of lines regressed onto one-hot targets with **MSE** (a loss that can reach zero),
# an MLP 1024-64-2, Adam, full batch, one step per epoch. The run's knobs:

# %%
case = cases.get("adam-epsilon")
print(case.symptom)
print(case.defaults)
failing = case.run(seed=SEED)
loss = failing.train_loss
best = min(range(len(loss)), key=loss.__getitem__)
jump = jump_step(loss)
peak = max(loss[jump:])
print(f"lowest loss {loss[best]:.1e} at epoch {best + 1}; jump starts at epoch {jump + 1}; "
      f"peak after it {peak:.1e} = {peak / loss[best]:.0e}x the lowest")

# %%
assert loss[best] < 1e-6 * loss[0]               # a very long, very deep descent
assert jump is not None and jump > 0.3 * len(loss)  # then a jump, late in the run
assert peak > 1e3 * loss[best]                    # by orders of magnitude
assert case.shows_symptom(failing)
fig = plots.compare([failing], ["Adam, eps=1e-8"], scale="log", title="The symptom, on a log axis")
plt.show()

# %% [markdown]
# On a linear axis the whole run is a drop from 0.5 to "zero" followed by nothing: the jump is a
# tiny fraction of the first loss. Zoom into the late part of the run and it is plain:

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
plots.plot_loss(failing, ax, labels=["Adam, eps=1e-8"])
ax.set_xlim(jump - 200, len(loss))
ax.set_ylim(0, 1.2 * peak)
ax.set_title("Linear axis, late part of the run")
plt.show()

# %% [markdown]
# ## Hypotheses
#
# 1. **The learning rate is too high.** But then the loss would never have got down to `1e-15`.
# 2. **Numerical noise at tiny losses.** Rounding would move the loss by its own size, not
#    by factors of a million.
# 3. **Adam's step does not shrink with the gradient.** Adam moves each weight by
#    `lr * m / (sqrt(v) + eps)`, where `m` and `v` are running averages of the gradient and of its
#    square. Near a minimum both shrink, so the divisor shrinks with the gradient and the
#    steps stay much larger than plain gradient descent would take, unless `eps` is larger
#    than `sqrt(v)`.
#
# ## Experiment: how small are the gradients at the bottom?
#
# labkit records the gradient norm of every step. If it has shrunk by orders of magnitude at
# the lowest loss, and the jump comes anyway, the step size is not following the gradient.

# %%
g = failing.grad_norm
print(f"gradient norm: first step {g[0]:.1e}, at the lowest loss {g[best]:.1e}, "
      f"largest after the jump {max(g[jump:]):.1e}")
assert g[best] < 1e-4 * g[0]            # at the bottom the gradients are 10,000x smaller...
assert max(g[jump:]) > 1e3 * g[best]    # ...and the jump is a burst of 1000x larger ones

# %% [markdown]
# ## Cause
#
# Adam's second-moment estimate `v` is an average of squared gradients over the last ~1000
# steps (`beta2 = 0.999`). As the gradients shrink by orders of magnitude, `v` follows them
# down, so the *effective* learning rate `lr / (sqrt(v) + eps)` keeps growing: with
# `eps = 1e-8`, `eps` is far below `sqrt(v)` for most of the run and caps nothing. Once the
# effective learning rate is too large for the curvature of the minimum, the minimum becomes
# unstable and one step throws the model out; the loss shoots up by orders of magnitude,
# settles, and can burst again. A larger `eps` caps the effective learning rate at `lr / eps`.
#
# ## The fix, side by side

# %%
larger = case.run(seed=SEED, **case.fix("larger epsilon"))
print(f"eps={larger.knobs['eps']:g}: lowest loss {min(larger.train_loss):.1e}, jump: {jump_step(larger.train_loss)}")
fig = plots.compare([failing, larger], ["eps=1e-8", f"eps={larger.knobs['eps']:g}"], scale="log",
                    title="Adam eps=1e-8 vs a larger eps (log axis)")
plt.show()
fig = plots.compare([failing, larger], ["eps=1e-8", f"eps={larger.knobs['eps']:g}"], scale="linear",
                    title="The same, linear axis")
plt.show()
assert min(larger.train_loss) < 1e-6 * larger.train_loss[0]   # still reaches a tiny loss
assert jump_step(larger.train_loss) is None                    # and stays there
assert not case.shows_symptom(larger)

# %% [markdown]
# ## Every fix and what it really does
#
# The thread also reported that changing the loss helped. Two candidates: cross-entropy on the
# outputs, and log-cosh.

# %%
ce = case.run(seed=SEED, **case.fix("cross-entropy loss"))
logcosh = case.run(seed=SEED, **case.fix("logcosh loss (does not help here)"))
for name, h in [("cross-entropy", ce), ("logcosh", logcosh)]:
    j = jump_step(h.train_loss)
    print(f"{name:14s} lowest loss {min(h.train_loss):.1e} at epoch {h.train_loss.index(min(h.train_loss)) + 1}, "
          f"jump at {'-' if j is None else j + 1}, symptom: {case.shows_symptom(h)}")
fig = plots.compare([failing, ce, logcosh], ["MSE", "cross-entropy", "logcosh"], scale="log",
                    title="Changing the loss")
plt.show()
# cross-entropy: the loss underflows to exactly 0, gradients vanish, nothing to overshoot
assert min(ce.train_loss) == 0.0 and not case.shows_symptom(ce)
# logcosh behaves like MSE near zero: it jumps too
assert case.shows_symptom(logcosh)

# %% [markdown]
# So: a **larger epsilon** is the fix; **cross-entropy** avoids it only because its loss falls
# to exactly zero in float32 and the gradients vanish (the thread's "it worked"); **log-cosh**,
# which looks like MSE near zero, does not help here.
#
# ## Your turn
#
# Set `my_eps` so that the default run reaches a loss below `1e-6` of its start **and** never
# jumps.

# %% [markdown]
# **Try it yourself first.** eps must be larger than sqrt(v) near the minimum, but not so large that Adam becomes a tiny-step SGD. The next cell holds a reference answer, collapsed: overwrite it with your own value before you run it.

# %% jupyter={"source_hidden": true} tags=["solution"]
my_eps = 1e-2

# %%
mine = case.run(seed=SEED, eps=my_eps)
low = min(mine.train_loss) < 1e-6 * mine.train_loss[0]
if jump_step(mine.train_loss) is not None:
    print(f"Not yet: with eps={my_eps:g} the loss still jumps at epoch {jump_step(mine.train_loss) + 1}. Hint: a larger eps.")
elif not low:
    print(f"Not yet: no jump, but the loss only gets to {min(mine.train_loss):.1e}. Hint: eps too large makes the steps tiny.")
else:
    print(f"Right: eps={my_eps:g} reaches {min(mine.train_loss):.1e} and stays there.")
assert low and jump_step(mine.train_loss) is None

# %% [markdown]
# ## Explore
#
# Move `eps` on its log slider, change the learning rate and the loss, and watch the late part
# of the run on the log axis.

# %%
panel = labkit.explore("adam-epsilon", seed=SEED, runs=[failing, larger, ce, logcosh])
panel

# %%
panel.wait()  # blocks until the panel's current run has finished

# %% [markdown]
# ## Summary
#
# - A loss that falls for a long time and then jumps by orders of magnitude, with Adam, points
#   at the optimiser, not the data.
# - Adam's step is `lr * m / (sqrt(v) + eps)`; with a tiny `eps` it does not shrink with the
#   gradient, so near a reachable minimum the effective learning rate keeps growing until the
#   minimum becomes unstable.
# - A larger `eps` (1e-3..1e-2) caps it. A loss with no reachable minimum hides the problem.
# - Look at tiny losses on a log axis: on a linear one the jump is invisible.
#
# ## Exercises
#
# 1. Run the failing case with `lr=3e-3`. Does the jump move later or go away?
# 2. Run it with `optimizer="sgd"`. Does plain SGD jump? Why not?
# 3. Plot `failing.grad_norm` on a log axis next to the loss. What happens to the gradient at the jump?
