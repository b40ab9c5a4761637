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
# # Why does my training loss jump up and down while my validation loss stays flat?
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/02_training_loss_oscillates.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/02_training_loss_oscillates.ipynb)
#
# A thread trained a CNN on **35 training and 10 validation images**, with a dense layer of
# **36M parameters** after `Flatten`, a sigmoid output and `BCELoss`. Its training loss
# oscillated wildly between epochs; its validation loss did not move at all. This lesson
# reproduces it (our dense layer has **3.9M** weights: smaller images, same story), finds the
# cause, and measures what each proposed fix really does, on a held-out test set of 400 images,
# because 10 validation images cannot tell fixes apart.

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
# Images of stripes at one of two orientations (48x80, one channel), two convs -> `Flatten(7680)`
# -> `Dense(512)` -> 1 -> sigmoid, `nn.BCELoss`, Adam at `lr=3e-2`, batches of 8, 30 epochs.

# %%
case = cases.get("oscillating-loss")
print(case.symptom)
failing = case.run(seed=SEED)
print("epoch training loss:", [round(v, 1) for v in failing.train_loss[:10]], "...")
print("validation loss    :", [round(v, 4) for v in failing.val_loss[:10]], "...")
fig = plots.compare([failing], ["big model, lr=3e-2"], per="step", title="The symptom")
plt.show()

# %%
steps = failing.step_loss
swing = sum(abs(a - b) for a, b in zip(steps, steps[1:])) / (len(steps) - 1)
print(f"mean jump between steps: {swing:.1f}; validation range after epoch 1: {max(failing.val_loss[1:]) - min(failing.val_loss[1:]):.1e}")
assert swing > 10                                                  # training loss jumps by tens
assert max(failing.val_loss[1:]) - min(failing.val_loss[1:]) < 1e-6  # validation exactly flat
assert failing.final["test_accuracy"] < 0.6                        # a coin flip on new images

# %% [markdown]
# ## Hypotheses
#
# 1. **The learning rate is too high**, so the loss bounces around a minimum.
# 2. **Too few images** (35) for a model this size: it overfits.
# 3. **The model is stuck**: a *bouncing* loss would move validation too, but ours is constant to
#    six decimals. A validation loss that does not change at all means the predictions do not change.
#
# A loss of exactly 50.0 is a clue: `BCELoss` clamps `log(0)` at -100, so each image answered
# with certainty and wrong costs exactly 100. Half the validation images wrong, with certainty:
# 50. The epoch training loss then only changes with how many of each class the shuffled batches
# held.
#
# ## Experiment: the same run with a loss that cannot saturate
#
# `BCEWithLogitsLoss` takes the raw output and computes the sigmoid inside the log, so its
# gradient never becomes exactly zero. Same model, same learning rate, 5 epochs:

# %%
logits = case.run(seed=SEED, loss="bce-logits", epochs=5)
frozen5 = failing.val_loss[1:5]
print("BCELoss validation         :", [round(v, 4) for v in failing.val_loss[:5]])
print("BCEWithLogitsLoss validation:", [round(v, 4) for v in logits.val_loss])
assert max(frozen5) - min(frozen5) < 1e-6                          # sigmoid + BCELoss: frozen
assert max(logits.val_loss[1:]) - min(logits.val_loss[1:]) > 1e-3  # same lr, logits: it moves

# %% [markdown]
# ## Cause
#
# The first few large Adam steps push the output unit so far that the sigmoid returns exactly
# 0 or 1 in float32. Its gradient is then exactly zero: nothing flows back, and the model is
# frozen into a constant answer. Validation loss is constant; training loss only jumps with the
# class mix of each batch. The learning rate triggers it, the saturating sigmoid + `BCELoss` pair
# keeps it there, and 35 images are too few to train a 3.9M-weight layer in any case.
#
# ## The fix, side by side
#
# With so few images, do not learn features from scratch: take a small backbone pretrained on a
# larger related set (here 2000 stripe images at four orientations), freeze it, and train only
# a new head.

# %%
pretrained = case.run(seed=SEED, **case.fix("pretrained backbone"))
fig = plots.compare([failing, pretrained], ["big model from scratch", "pretrained backbone"],
                    per="step", title="Big model from scratch vs a pretrained backbone")
plt.show()
print(f"pretrained: test accuracy {pretrained.final['test_accuracy']:.3f}, test loss {pretrained.final['test_loss']:.3f}")
assert not case.shows_symptom(pretrained)
assert pretrained.final["test_accuracy"] > 0.9

# %% [markdown]
# ## Every fix and what it really does
#
# Each fix the thread proposed, run to the end and scored on the 400 test images. Some stop the
# oscillation without producing a model that works.

# %%
runs = {"failing (defaults)": failing, "pretrained backbone": pretrained}
for name in case.fixes:
    if name not in runs:
        runs[name] = case.run(seed=SEED, **case.fix(name))
print(f"{'run':28s} {'symptom':>8s} {'train acc':>9s} {'test acc':>8s}")
for name, h in runs.items():
    print(f"{name:28s} {str(case.shows_symptom(h)):>8s} {h.train_metric[-1]:9.2f} {h.final['test_accuracy']:8.2f}")
test = {name: h.final["test_accuracy"] for name, h in runs.items()}

# %%
low = runs["lower learning rate"]
# a lower lr stops the collapse, but the big model memorises the 35 images: no better than a coin
assert not case.shows_symptom(low) and low.train_loss[-1] < 0.01 and test["lower learning rate"] < 0.6
# the small model alone is not stuck either, but on this seed it has not learned within 30 epochs
assert not case.shows_symptom(runs["small model"]) and test["small model"] < 0.7
# flips and shifts give the small model enough variety to learn the orientation
assert test["small model + augmentation"] > 0.85
# augmentation on the big model: no collapse, but it underfits and stays well below the pretrained one
big_aug = runs["big model + augmentation"]
assert not case.shows_symptom(big_aug) and big_aug.train_metric[-1] < 0.9
assert test["big model + augmentation"] < test["pretrained backbone"] - 0.1

# %%
fig = plots.compare([low, runs["small model + augmentation"]], ["lower lr (big model)", "small model + augmentation"],
                    title="Lower lr memorises; a small model with augmentation generalises")
plt.show()

# %% [markdown]
# Read the table, not just the curves: the **lower learning rate** removes the symptom but
# memorises (training accuracy 1, test accuracy about 0.5). The **pretrained backbone** and the
# **small model with augmentation** are the ones that work here.
#
# ## Your turn
#
# Find knob overrides `my_knobs` for which the model is not frozen **and** scores at least 0.9
# on the test images, without a pretrained backbone (`model` must stay `"big"` or `"small"`).

# %% [markdown]
# **Try it yourself first.** A frozen model needs smaller steps or a smaller model; a model that memorises needs fewer weights or more varied images. The next cell holds a reference answer, collapsed: overwrite it with your own value before you run it.

# %% jupyter={"source_hidden": true} tags=["solution"]
my_knobs = {"model": "small", "lr": 1e-2, "augment": True}

# %%
mine = case.run(seed=SEED, **my_knobs)
acc = mine.final["test_accuracy"]
if mine.knobs["model"] == "pretrained":
    print("Not yet: solve it without the pretrained backbone this time.")
elif case.shows_symptom(mine):
    print("Not yet: the model is frozen (validation loss flat). Hint: smaller steps, or a loss that cannot saturate.")
elif acc < 0.9:
    print(f"Not yet: not frozen, but test accuracy is {acc:.2f}. Hint: fewer weights, and random flips/shifts of the training images.")
else:
    print(f"Right: test accuracy {acc:.2f} from 35 training images.")
assert mine.knobs["model"] != "pretrained" and acc >= 0.9

# %% [markdown]
# ## Explore
#
# Change the learning rate, the model and the loss; turn augmentation on. Watch the validation
# loss: flat means frozen.

# %%
panel = labkit.explore("oscillating-loss", seed=SEED, runs=runs.values())
panel

# %%
panel.wait()  # blocks until the panel's current run has finished

# %% [markdown]
# ## Summary
#
# - A validation loss that is **exactly** constant means the predictions do not change: the model
#   is frozen, not "oscillating". Here a saturated sigmoid gives exactly zero gradient.
# - The training loss then jumps only with the class mix of each batch.
# - Prefer `BCEWithLogitsLoss` on raw outputs to sigmoid + `BCELoss`.
# - Judge fixes on enough held-out data: 10 validation images cannot tell them apart.
# - A lower learning rate stops the collapse but the big model memorises; with 35 images use a
#   pretrained backbone, or a small model with augmentation.
#
# ## Exercises
#
# 1. Find the largest learning rate at which the default big model does not freeze on seed 0.
# 2. Run `loss="bce-logits"` for 30 epochs at the default `lr`. Is the model still frozen? Does it generalise?
# 3. Run the small model with augmentation on seeds 0-4. How often does it reach 0.9 test accuracy?
