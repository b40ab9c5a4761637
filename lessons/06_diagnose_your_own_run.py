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
# # What went wrong in my training run? Diagnose your own loss curves
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/06_diagnose_your_own_run.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/06_diagnose_your_own_run.ipynb)
#
# Lessons 01-05 each reproduced one documented training failure. This one goes the other way:
# start from the curves of **your** run (a Keras `history.history`, a `CSVLogger` file,
# Lightning's `metrics.csv`, a pandas DataFrame, a labkit `History`) and let `labkit.diagnose`
# name the failure, show the numbers that gave it away, mark them on the plot, and point to the
# lesson that explains it. Nothing here trains for more than a second.

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
from torch import nn

import labkit
from labkit import cases, plots
from labkit import diagnose
from labkit.diagnosis import CODES, CURVE_CODES, load_run, plot_findings
from labkit.diagnosis.finding import lesson_for

SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## The symptom: a log file, and the question "what went wrong?"
#
# The package ships three example logs. `keras_csvlogger.csv` is what Keras' `CSVLogger`
# writes: one row per epoch. `diagnose` reads files with the `csv` and `json` modules only (no
# pickle, no eval) and returns a list of findings, most likely cause first.

# %%
import json
from importlib import resources

EXAMPLES = resources.files("labkit") / "examples"
keras_log = str(EXAMPLES / "keras_csvlogger.csv")
print("\n".join((EXAMPLES / "keras_csvlogger.csv").read_text().splitlines()[:4]), "...")
findings = diagnose(keras_log)
for finding in findings:
    print(finding)
assert [f.code for f in findings] == ["no-generalization"]

# %% [markdown]
# ## Hypotheses: one small rule per documented failure
#
# Each code is one hypothesis about the run, tested by a small pure function with named
# thresholds in `labkit/diagnosis/rules.py` (read them: every threshold has a comment). The
# curve codes, most likely cause first, and the lesson each one points to:

# %%
for code_ in CURVE_CODES:
    print(f"{code_:18s} -> {lesson_for(code_) or '(no lesson: NaN/inf, see the fixes)'}")
assert CURVE_CODES.index("flat-validation") < CURVE_CODES.index("oscillation")

# %% [markdown]
# ## Experiment: where does the evidence sit on the curves?
#
# A finding's `evidence` gives the numbers and epochs that triggered it, and `numbers` holds them
# by name. `plot_findings` draws the curves and a dotted line at the epoch each finding names.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_findings(keras_log, findings, ax)
plt.show()
best = findings[0].numbers["best_epoch"]
curves = load_run(keras_log)
print(f"validation loss lowest at epoch {best}: {curves.val_loss[best - 1]:.3f} -> {curves.val_loss[-1]:.3f} at the end")
assert best <= 2 and [line.get_xdata()[0] for line in ax.lines[2:]] == [best]  # the marked epoch
assert curves.val_loss[-1] > 1.5 * curves.val_loss[best - 1]   # validation climbs from there
assert curves.train_loss[-1] < 0.3 * curves.train_loss[0]      # while training keeps falling

# %% [markdown]
# ## Cause and fix: open the lesson the finding points to
#
# Every code maps to one lesson. `no-generalization` is lesson 01: there, scaling each sample on
# its own erased the signal that predicts the label, so nothing the model learned carried over
# to new data. The finding renders as HTML in a notebook (and as plain text with `print`):

# %%
print("open:", findings[0].lesson)
assert findings[0].lesson == cases.get("rising-val-loss").lesson
findings[0]

# %% [markdown]
# ## A dict log: the loss fell for 150 epochs, then exploded
#
# `late_explosion.json` holds a Keras-style `history.history` dict. On a linear axis the jump is
# a blip near zero; `plot_findings` switches to a log axis for curves spanning many orders of
# magnitude, and there it is a jump of about 7 orders that never comes back down.

# %%
history_dict = json.loads((EXAMPLES / "late_explosion.json").read_text())
findings = diagnose(history_dict)
print(findings[0].evidence)
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_findings(history_dict, findings, ax)
plt.show()
assert [f.code for f in findings] == ["late-explosion"] and ax.get_yscale() == "log"
assert findings[0].numbers["jump_epoch"] == 151 and findings[0].numbers["orders_after"] > 2
assert findings[0].lesson == cases.get("adam-epsilon").lesson

# %% [markdown]
# Lightning's `metrics.csv` has sparse rows (a row per logged step, one per validation, one per
# epoch); `diagnose` groups them by epoch and keeps the per-step losses too. This run overfits:
# validation loss turns up after its minimum while training loss keeps falling.

# %%
lightning_log = str(EXAMPLES / "lightning_metrics.csv")
findings = diagnose(lightning_log)
print(findings[0])
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_findings(lightning_log, findings, ax)
plt.show()
assert [f.code for f in findings] == ["overfitting"] and len(load_run(lightning_log).step_loss) == 80

# %% [markdown]
# ## A labkit run, before and after its fix
#
# A `History` works the same way. Lesson 03's failing run (NLLLoss on raw logits) and its main
# fix: the failing run is named, the fixed run gets no finding at all. Pass the model, criterion
# and optimizer too when you have them: `diagnose` then also checks the output layer against the
# criterion, dropout rates, the learning rate and Adam's `eps`.

# %%
case = cases.get("negative-loss")
failing = case.run(seed=SEED)
fixed = case.run(seed=SEED, **case.fix(next(iter(case.fixes))))
print([f.code for f in diagnose(failing)], "->", [f.code for f in diagnose(fixed)])
assert diagnose(failing)[0].code == "negative-loss" and diagnose(fixed) == []

model = nn.Sequential(nn.Flatten(), nn.Linear(256, 3))  # ends in Linear, not LogSoftmax
print(diagnose(fixed, model=model, criterion=nn.NLLLoss())[0])

# %% [markdown]
# ## Your turn
#
# Paste your own run into `my_run` (or set it to the path of your CSV log). Keys it understands:
# `loss`/`train_loss`, `val_loss`, `accuracy`/`acc`, `val_accuracy`/`val_acc`, `lr`. A run with
# none of the documented failures gives an empty list: no news is good news.

# %%
my_run = {
    "loss": [0.69, 0.52, 0.41, 0.35, 0.31, 0.29, 0.28, 0.27],
    "val_loss": [0.70, 0.55, 0.45, 0.40, 0.37, 0.36, 0.35, 0.35],
}
my_findings = diagnose(my_run)
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_findings(my_run, my_findings, ax)
plt.show()
for finding in my_findings:
    display(finding)
print(f"{len(my_findings)} finding(s):", [f.code for f in my_findings] or "no failure found")

# %% [markdown]
# A forum post: *"My loss went negative and keeps going down: -1.9, -72.7, -573.7, -2662.9,
# -8421.2."* The model ends in a `Linear` layer and the criterion is `NLLLoss`. Which code will
# `diagnose` put first? Set `answer` to it (one of `CODES`).

# %% [markdown]
# **Try it yourself first.** Look at the sign of the loss, and at what NLLLoss expects as input. The next cell holds a reference answer, collapsed: overwrite it with your own value before you run it.

# %% jupyter={"source_hidden": true} tags=["solution"]
answer = "negative-loss"

# %%
thread = {"loss": [-1.9, -72.7, -573.7, -2662.9, -8421.2]}
found = diagnose(thread, model=nn.Sequential(nn.Linear(16, 3)), criterion=nn.NLLLoss())
if answer == found[0].code:
    print(f"Right: {found[0].title}. Open {found[0].lesson}.")
elif answer in CODES:
    print(f"Not yet: {answer!r} is a real code, but look at the sign of the loss.")
else:
    print(f"Not yet: answer must be one of {CODES}.")
print(found[0])
assert answer == found[0].code == "negative-loss" and "LogSoftmax" in found[0].evidence

# %% [markdown]
# ## Summary
#
# - `labkit.diagnose(run)` takes a History, a dict of lists (Keras `history.history`), a pandas
#   DataFrame, or the path of a CSV/JSON log, and returns Findings, most likely cause first:
#   `code`, `title`, `evidence` (numbers and epochs), `explanation`, `fixes`, `lesson`.
# - The curve codes and their lessons: `no-generalization` → 01; `flat-validation` and
#   `oscillation` → 02; `negative-loss` → 03; `late-explosion` → 04; `train-loss-rises` and
#   `overfitting` → 05; `diverged` (NaN/inf) has no lesson.
# - A flat validation loss comes before oscillation: a model frozen on one answer makes the
#   training loss swing with each batch's class mix, so fix the collapse first.
# - Each rule is a small pure function with named thresholds, so you can read exactly why it fired.
#   A healthy run gets no finding.
#
# ## Exercises
#
# 1. Type in the numbers of a run of yours that went wrong. Does the first finding match what you
#    found out back then? If not, which threshold in `rules.py` kept it quiet?
# 2. Make `my_run`'s validation loss turn up after epoch 5 while its training loss keeps falling.
#    How far must it rise before `overfitting` fires?
# 3. Save `my_run` with `pandas.DataFrame(my_run).to_csv("my_run.csv", index_label="epoch")` and
#    diagnose the file. Is the answer the same?
# 4. Why does `late-explosion` need a log axis to be seen, and why does its rule compare powers
#    of ten instead of differences?
