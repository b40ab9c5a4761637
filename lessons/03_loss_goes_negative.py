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
# # Why is my loss negative and getting more negative every epoch?
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/03_loss_goes_negative.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/03_loss_goes_negative.ipynb)
#
# A classifier's loss printed **-1.9, -72.7, -573.7, -2662.9, -8421.2** over five epochs, while
# its accuracy got worse. This lesson reproduces that on small synthetic images, finds the
# cause with one experiment, and compares the two fixes the thread proposed.

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
import torch
from torch import nn

import labkit
from labkit import cases, plots

SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## The symptom
#
# Our data: 16x16 images of 3 classes in the proportions 54 % / 45 % / 1 % (like the thread's
# rare class), a small CNN that ends in `Linear(3)`, `nn.NLLLoss`, Adam. Ten epochs take about
# a second.

# %%
case = cases.get("negative-loss")
print(case.symptom)
failing = case.run(seed=SEED)
print("epoch training loss:", [round(v, 1) for v in failing.train_loss])
print("validation accuracy:", [round(v, 2) for v in failing.val_metric])

# %% [markdown]
# Same shape as the thread: negative from the first epoch and falling by a factor of several
# every epoch, down past -1000. The validation accuracy sits at the share of the largest class:
# the model answers one class for everything. Each claim is checked in code:

# %%
tl = failing.train_loss
assert tl[0] < 0 and all(b < a for a, b in zip(tl, tl[1:]))  # negative, and lower every epoch
assert min(failing.step_loss) < -1000                           # runs off by orders of magnitude
majority = max(failing.val_metric)
assert majority <= 0.56                                          # a predict-one-class model (54 %)
fig = plots.compare([failing], ["NLLLoss on logits"], per="step", scale="symlog",
                    title="The symptom: the loss runs off below zero")
plt.show()

# %% [markdown]
# ## Hypotheses
#
# 1. **The learning rate is too high** and the optimisation diverges.
# 2. **The data or labels are broken** (e.g. labels out of range).
# 3. **The loss gets inputs it was not designed for.** A classification loss is minus the log of
#    a probability, and a probability is at most 1, so a correct loss can never go below 0.
#    A negative loss means the loss is not computing `-log p`.
#
# Hypothesis 3 is already almost proven by the sign alone. Two experiments settle it.

# %% [markdown]
# ## Experiment 1: lower the learning rate
#
# If the learning rate were the cause, a 3x smaller one would keep the loss positive.

# %%
slow = case.run(seed=SEED, lr=1e-3)
print(f"lr=1e-3: lowest step loss {min(slow.step_loss):.1f}, best validation accuracy {max(slow.val_metric):.2f}")
assert min(slow.step_loss) < 0           # still negative: the lr only sets how fast it runs off
assert max(slow.val_metric) <= 0.56      # and still a one-class model

# %% [markdown]
# ## Experiment 2: what does `NLLLoss` compute?
#
# Feed it one made-up row of raw scores (logits), as our model's `Linear(3)` returns them:

# %%
logits = torch.tensor([[5.0, 1.0, -2.0]])
target = torch.tensor([0])
nll = nn.NLLLoss()(logits, target).item()
ce = nn.CrossEntropyLoss()(logits, target).item()
print(f"NLLLoss(logits) = {nll:.3f}   CrossEntropyLoss(logits) = {ce:.3f}")
assert nll == -5.0   # minus the target's score, nothing else
assert 0 < ce < 0.1  # -log softmax(logits)[0]: a real probability's loss

# %% [markdown]
# ## Cause
#
# `nn.NLLLoss` expects **log-probabilities** (the output of `log_softmax`) and returns minus the
# value at the target class. Fed raw logits, the cheapest way to lower it is to make the
# target class's logit huge, and that has no floor: the loss falls forever and Adam keeps making
# it larger in magnitude. The predictions stop meaning anything, so accuracy drops to "always the
# biggest class". The learning rate only sets how fast this happens.
#
# ## The fix, side by side
#
# `nn.CrossEntropyLoss` applies `log_softmax` itself (or keep `NLLLoss` and end the model with
# `nn.LogSoftmax(dim=1)`).

# %%
fixed = case.run(seed=SEED, **case.fix("cross-entropy"))
fig = plots.compare([failing, fixed], ["NLLLoss on logits", "CrossEntropyLoss"], per="step",
                    scale="symlog", title="NLLLoss on logits vs CrossEntropyLoss")
plt.show()
print(f"CrossEntropyLoss: lowest loss {min(fixed.step_loss):.4f}, final validation accuracy {fixed.val_metric[-1]:.3f}")
assert min(fixed.step_loss) >= 0                        # a loss that cannot go negative
assert fixed.val_metric[-1] > 0.95 > majority + 0.3     # far above the one-class model
assert not case.shows_symptom(fixed)

# %% [markdown]
# ## Every fix and what it really does
#
# The thread suggested two things. Cross-entropy removes the symptom; what about the 1 % class?
# Accuracy cannot tell: predicting the rare class never costs at most 1 %. Its **recall** can
# (the share of its images found), recorded per epoch in `extra["val_recall_minority"]`.

# %%
weighted = case.run(seed=SEED, **case.fix("class weights"))
recall = {name: h.extra["val_recall_minority"] for name, h in [("cross-entropy", fixed), ("class weights", weighted)]}
for name, h in [("cross-entropy", fixed), ("class weights", weighted)]:
    r = h.extra["val_recall_minority"]
    print(f"{name:14s} accuracy {h.val_metric[-1]:.3f}   minority recall, last 3 epochs: {[round(v, 2) for v in r[-3:]]}")
last3 = {name: sum(r[-3:]) / 3 for name, r in recall.items()}
assert last3["cross-entropy"] < 0.3                       # cross-entropy alone still ignores the 1 % class
assert last3["class weights"] > last3["cross-entropy"] + 0.3  # weighting by 1/frequency finds it
assert abs(weighted.val_metric[-1] - fixed.val_metric[-1]) < 0.03  # and accuracy barely moves

# %% [markdown]
# So: **cross-entropy** fixes the negative loss and the accuracy; **class weights** on top leave
# accuracy where it was but make the model find most of the rare class (its recall swings a lot
# from epoch to epoch: there are only about 20 rare images in validation).
#
# ## Your turn
#
# Pick knob overrides `my_knobs` (a dict, e.g. `{"lr": 1e-3}`) for this case so that the loss
# never goes negative **and** the rare class's recall averages at least 0.5 over the last three
# epochs. `case.knob_specs()` lists the knobs.

# %% [markdown]
# **Try it yourself first.** Which knob decides what the loss is computed from, and which one makes the rare class count? The next cell holds a reference answer, collapsed: overwrite it with your own value before you run it.

# %% jupyter={"source_hidden": true} tags=["solution"]
my_knobs = {"loss": "cross-entropy", "class_weights": True}

# %%
mine = case.run(seed=SEED, **my_knobs)
mine_recall = sum(mine.extra["val_recall_minority"][-3:]) / 3
if min(mine.step_loss) < 0:
    print("Not yet: the loss still goes negative. Hint: which criterion applies log_softmax itself?")
elif mine_recall < 0.5:
    print(f"Not yet: the loss is healthy but the rare class's recall is {mine_recall:.2f}. Hint: make each class count by 1/frequency.")
else:
    print(f"Right: the loss stays positive and the rare class's recall is {mine_recall:.2f}.")
assert min(mine.step_loss) >= 0 and mine_recall >= 0.5

# %% [markdown]
# ## Explore
#
# Switch the loss between `nll` and `cross-entropy`, change the learning rate, turn class
# weights on and off, and watch the loss curve (log-like y axis) and the accuracy.

# %%
panel = labkit.explore("negative-loss", seed=SEED, runs=[failing, slow, fixed, weighted])
panel

# %%
panel.wait()  # blocks until the panel's current run has finished

# %% [markdown]
# ## Summary
#
# - A classification loss (`-log p`) cannot be negative. A negative loss means the criterion is
#   getting the wrong kind of input.
# - `nn.NLLLoss` takes log-probabilities; on raw logits it is minus a logit, which has no floor.
#   Use `nn.CrossEntropyLoss` on logits, or `LogSoftmax` + `NLLLoss`.
# - A lower learning rate only slows the run-off: it does not fix it.
# - With a 1 % class, accuracy hides whether the class is found: look at its recall; class weights
#   make the loss see it.
#
# ## Exercises
#
# 1. Run the failing case with `optimizer="sgd"`. Does the loss still go negative? Why?
# 2. Set `loss="nll"` and `class_weights=True`. Is the loss still unbounded?
# 3. Plot `fixed.extra["val_recall_minority"]` over epochs for three seeds. How much does the
#    recall of a 1 % class move between epochs, and why?
# 4. Why is the cross-entropy run's validation accuracy about 0.99 even though it never finds
#    the rare class?
