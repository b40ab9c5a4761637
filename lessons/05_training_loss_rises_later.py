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
# # Why do my training loss and accuracy get worse after some epoch?
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/05_training_loss_rises_later.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/05_training_loss_rises_later.ipynb)
#
# Training went well for a long time, then, with nothing changed, the **training** loss jumped
# up and the training accuracy dropped. Not validation: training. This lesson reproduces it
# with a small 1-D CNN with batch norm, tests which part of the setup causes it, and measures
# the four fixes the thread proposed, including two that do not do what you might expect.

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
# ## The symptom
#
# 300 noisy signals of two classes, three conv layers with batch norm, SGD with momentum at a
# constant `lr=0.1`, weight decay, full batch, 250 epochs.

# %%
case = cases.get("train-loss-rises")
print(case.symptom)
failing = case.run(seed=SEED)

def worst_rise(h, after=50):
    """Return (factor, epoch): the largest jump of the training loss above its best so far."""
    best, rise = h.train_loss[0], (1.0, 0)
    for i, v in enumerate(h.train_loss):
        if i >= after and v / best > rise[0]:
            rise = (v / best, i)
        best = min(best, v)
    return rise

factor, at = worst_rise(failing)
print(f"training loss jumps to {factor:.0f}x its best so far at epoch {at + 1}; "
      f"training accuracy falls to {min(failing.train_metric[50:]):.2f} after reaching 1.0")
fig = plots.compare([failing], ["constant lr"], scale="log", title="The symptom: training loss jumps late")
plt.show()
assert factor > 10 and at > 50                 # a late jump by an order of magnitude
assert max(failing.train_metric[:at]) == 1.0    # the model had fit the training set...
assert min(failing.train_metric[at:]) < 0.95    # ...and loses it
assert case.shows_symptom(failing)

# %% [markdown]
# ## Hypotheses
#
# 1. **Bad data in some batch.** Not here: every step sees all 300 signals (full batch), the
#    same data every epoch.
# 2. **Overfitting.** Overfitting makes *validation* worse; it never makes the *training* loss
#    rise.
# 3. **The steps become too large late in training**, even though `lr` never changes. With
#    batch norm after a conv, scaling that conv's weights does not change the output, so weight
#    decay shrinks them freely, and the same `lr` then moves them *relatively* further: the
#    effective learning rate (about `lr / |w|^2`) keeps growing. Near a sharp minimum the steps
#    overshoot.
#
# ## Experiment: decay the learning rate
#
# If growing step sizes cause the jump, the same run with a learning rate that decays over the
# run (a cosine schedule, to 1 % of `lr`) must not jump, with everything else identical.

# %%
cosine = case.run(seed=SEED, **case.fix("schedule"))
c_factor, _ = worst_rise(cosine)
print(f"cosine schedule: lr {cosine.lr[0]:g} -> {cosine.lr[-1]:.2g}, worst rise {c_factor:.1f}x, "
      f"training accuracy after epoch 50 >= {min(cosine.train_metric[50:]):.2f}")
assert cosine.lr[-1] < 0.02 * cosine.lr[0]
assert c_factor < 3 and min(cosine.train_metric[50:]) > 0.99   # no jump, the training set stays fit
assert not case.shows_symptom(cosine)

# %% [markdown]
# ## Cause
#
# Under a constant learning rate the effective step keeps growing (batch norm + weight decay)
# until, late in the run, it is too large for the minimum the model sits in, and one step
# throws it out: training loss jumps, training accuracy drops, then it slowly recovers and can
# jump again. Decaying the learning rate keeps the effective step in check.
#
# ## The fix, side by side

# %%
fig = plots.compare([failing, cosine], ["constant lr", "cosine schedule"], scale="log",
                    title="Constant lr vs a cosine schedule")
plt.show()
fig = plots.compare([failing, cosine], ["constant lr", "cosine schedule"], title="The same, linear axis")
plt.show()
print(f"final validation accuracy: constant {failing.val_metric[-1]:.3f}, cosine {cosine.val_metric[-1]:.3f}")
assert cosine.val_metric[-1] >= failing.val_metric[-1] - 0.02

# %% [markdown]
# ## Every fix and what it really does
#
# The thread also suggested a step schedule, reducing the learning rate on a plateau, and early
# stopping.

# %%
step = case.run(seed=SEED, **case.fix("step schedule (decays too late here)"))
plateau = case.run(seed=SEED, **case.fix("reduce on plateau"))
stopped = case.run(seed=SEED, **case.fix("early stopping"))
first_drop = next(i for i, lr in enumerate(step.lr) if lr < step.lr[0])
print(f"step schedule  : first lr drop at epoch {first_drop + 1}, jump {worst_rise(step)[0]:.0f}x, symptom: {case.shows_symptom(step)}")
print(f"reduce on plat.: final lr {plateau.lr[-1]:.1e}, final training loss {plateau.train_loss[-1]:.3f} "
      f"(cosine {cosine.train_loss[-1]:.3f}), validation accuracy {plateau.val_metric[-1]:.3f}")
print(f"early stopping : stopped after epoch {stopped.stopped_epoch + 1}, best validation at epoch "
      f"{stopped.best_epoch + 1} with accuracy {stopped.val_metric[stopped.best_epoch]:.3f}")
fig = plots.compare([failing, step, plateau, stopped], ["constant", "step", "plateau", "early stopping"],
                    scale="log", title="The other fixes")
plt.show()

# %%
# step schedule: its first drop (half-way) comes after the jump, so the symptom is still there
assert first_drop > at and case.shows_symptom(step)
# reduce on plateau: no jump, but it cut the lr so early that the model stays underfit
assert not case.shows_symptom(plateau)
assert plateau.train_loss[-1] > 5 * cosine.train_loss[-1]
assert plateau.val_metric[-1] < cosine.val_metric[-1] - 0.03
# early stopping: ends the run before the jump; the model of its best epoch is a good one
assert stopped.stopped_epoch < at and not case.shows_symptom(stopped)
assert stopped.val_metric[stopped.best_epoch] > 0.85

# %% [markdown]
# So: a **cosine schedule** removes the jump and trains best; a **step schedule** works only
# when its first drop comes before the jump (here it comes after); **reduce on plateau**
# removes the jump but decays too early and underfits; **early stopping** does not fix
# anything, it only stops before the damage (keep the best epoch's weights).
#
# ## Your turn
#
# Set `my_patience` (epochs without a new best validation loss before stopping, `early_stopping`
# knob) so that the constant-lr run stops **before** the jump and its best epoch reaches at
# least 0.85 validation accuracy.

# %% [markdown]
# **Try it yourself first.** Too small and the run stops while still learning; too large and it runs into the jump. The next cell holds a reference answer, collapsed: overwrite it with your own value before you run it.

# %% jupyter={"source_hidden": true} tags=["solution"]
my_patience = 30

# %%
mine = case.run(seed=SEED, early_stopping=my_patience)
if mine.stopped_epoch is None or mine.stopped_epoch >= at:
    print(f"Not yet: the run went past epoch {at + 1}, where the loss jumps. Hint: a smaller patience.")
elif mine.val_metric[mine.best_epoch] < 0.85:
    print(f"Not yet: it stopped at epoch {mine.stopped_epoch + 1}, before the model was good. Hint: a larger patience.")
else:
    print(f"Right: stopped at epoch {mine.stopped_epoch + 1}, best validation accuracy {mine.val_metric[mine.best_epoch]:.2f}.")
assert mine.stopped_epoch is not None and mine.stopped_epoch < at and mine.val_metric[mine.best_epoch] >= 0.85

# %% [markdown]
# ## Explore
#
# Change the schedule, the learning rate and the weight decay (try `weight_decay=0`), and watch
# whether and when the training loss jumps.

# %%
panel = labkit.explore("train-loss-rises", seed=SEED, runs=[failing, cosine, step, plateau, stopped])
panel

# %%
panel.wait()  # blocks until the panel's current run has finished

# %% [markdown]
# ## Summary
#
# - A **training** loss that rises late is an optimisation problem, not overfitting.
# - With batch norm, weight decay keeps shrinking the weights, so a constant learning rate acts
#   like a growing one; late in training the steps overshoot.
# - Decay the learning rate over the run (cosine); a step schedule must decay before the trouble
#   starts; reduce-on-plateau can decay too early.
# - Early stopping hides the problem by stopping before it: keep the best epoch's weights.
#
# ## Exercises
#
# 1. Run the failing case with `weight_decay=0`. Does the training loss still jump? What does
#    that tell you about the cause?
# 2. Move the jump: how does it change with `lr=0.05` and `lr=0.2`?
# 3. Run the step schedule with `epochs=150`. Does its first drop now come before the jump?
