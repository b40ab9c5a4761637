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
# # What went wrong in my training run? Diagnose your own loss curves
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/06_diagnose_your_own_run.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/06_diagnose_your_own_run.ipynb)
#
# On Binder, shut down a lesson's kernel when you move on to the next (*Kernel → Shut Down
# Kernel*): each lesson holds 0.4 to 0.7 GB, and Binder gives 2 GB in all.
#
# Lessons [01](01_validation_loss_rises_from_epoch_1.ipynb) to [05](05_training_loss_rises_later.ipynb)
# each reproduced one documented training failure, and [lesson 00](00_reading_loss_curves.ipynb)
# showed the four basic shapes of a loss curve. This one goes the other way: start from the curves
# of **your** run (a Keras `history.history`, a `CSVLogger` file, Lightning's `metrics.csv`, a
# pandas DataFrame, a labkit `History`, or a log pasted as text) and let `labkit.diagnose` name
# the failure, show the numbers that gave it away, mark them on the plot, and point to the lesson
# that explains it. Nothing here trains for more than a few seconds.

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
from IPython.display import Markdown, display
from torch import nn

import labkit
from labkit import cases, plots
import labkit.exercise  # predict-first questions, answer checks, reference answers
from labkit import diagnose
from labkit.diagnosis import CODES, CURVE_CODES, load_run, paste_box, plot_findings
from labkit.diagnosis.finding import lesson_for

labkit.use_device("cpu")  # the claims below were checked on the CPU; on a GPU the same seed is another run
labkit.exercise.reopen_hint()  # reopened later, each widget says "run this cell again" instead of an error
SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## The symptom: a log file, and the question "what went wrong?"
#
# The package ships three example logs in `labkit/examples`. **All three are synthetic**: nobody
# trained a model to get them. `keras_csvlogger.csv` and `lightning_metrics.csv` hold numbers
# typed in to look like what Keras' `CSVLogger` and Lightning's `CSVLogger` write (the tables are
# in `tools/make_examples.py`); `late_explosion.json` is computed there from a formula and a seeded
# random generator, shaped like lesson 04's run. They show what the file formats look like and
# what each finding looks like; the curves of your own runs come in the last sections.
#
# `keras_csvlogger.csv` has one row per epoch. `diagnose` reads files with the `csv` and `json`
# modules only (no pickle, no eval) and returns a list of findings, most likely cause first.

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


def link(finding):
    """Return a Markdown link to the lesson that teaches ``finding`` (or say that none does)."""
    if not finding.lesson:
        return Markdown(f"`{finding.code}`: no lesson covers it; see the fixes above.")
    return Markdown(f"`{finding.code}` is taught in [{finding.lesson}]({finding.lesson}) (opens next to this notebook).")

# %% [markdown]
# ## Hypotheses: one small rule per documented failure
#
# Each code is one hypothesis about the run, tested by a small pure function with named
# thresholds in `labkit/diagnosis` (read them: every threshold has a comment). The curve codes,
# most likely cause first, and the lesson that teaches each one:

# %%
TAUGHT_IN = {  # the lesson this notebook sends each curve finding to, checked against labkit below
    "negative-loss": "03_loss_goes_negative.ipynb",
    "flat-validation": "02_training_loss_oscillates.ipynb",
    "late-explosion": "04_loss_explodes_after_long_training.ipynb",
    "diverged": "00_reading_loss_curves.ipynb",
    "oscillation": "02_training_loss_oscillates.ipynb",
    "rising-loss": "00_reading_loss_curves.ipynb",
    "train-loss-rises": "05_training_loss_rises_later.ipynb",
    "no-generalization": "01_validation_loss_rises_from_epoch_1.ipynb",
    "overfitting": "00_reading_loss_curves.ipynb",
    "validation-oscillation": "02_training_loss_oscillates.ipynb",
}
rows = [f"| `{code}` | [{lesson_for(code)}]({lesson_for(code)}) |" for code in CURVE_CODES]
display(Markdown("| finding | lesson |\n|---|---|\n" + "\n".join(rows)))
assert {code: lesson_for(code) for code in CURVE_CODES} == TAUGHT_IN
assert CURVE_CODES.index("flat-validation") < CURVE_CODES.index("oscillation")

# %% [markdown]
# Three of them go to lesson 00, which has no thread of its own: `diverged` (the loss became NaN or
# inf) and `rising-loss` (a training loss that climbs from its first value, before it overflows),
# both in its "Divergence" section, and `overfitting` (training keeps falling while validation turns
# up: its "Overfitting" section). Overfitting does not go to lesson 05, which shows a *training*
# loss that rises, the opposite of overfitting, nor to lesson 01, whose validation loss rises from
# epoch 1 because the preprocessing removed the signal, and which rules overfitting out.

# %% [markdown]
# ## Experiment: where does the evidence sit on the curves?
#
# A finding's `evidence` gives the numbers and epochs that triggered it, and `numbers` holds them
# by name. `plot_findings` draws the curves and marks the epoch each finding names.

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
plot_findings(keras_log, findings, ax)
plots.show(fig, f"The dotted line marks epoch {findings[0].numbers['best_epoch']}, which the finding names: "
                f"{findings[0].evidence}.")
curves = load_run(keras_log)
best = min(range(len(curves.val_loss)), key=curves.val_loss.__getitem__) + 1
print(f"validation loss lowest at epoch {best}: {curves.val_loss[best - 1]:.3f} -> {curves.val_loss[-1]:.3f} at "
      f"epoch {len(curves.val_loss)}; training loss {curves.train_loss[0]:.3f} -> {curves.train_loss[-1]:.4f}")
assert best <= 2 and findings[0].numbers["best_epoch"] == best  # the epoch the finding names
assert curves.val_loss[-1] > 1.5 * curves.val_loss[best - 1]   # validation climbs from there
assert curves.train_loss[-1] < 0.3 * curves.train_loss[0]      # while training keeps falling

# %% [markdown]
# ## Cause and fix: open the lesson the finding points to
#
# `no-generalization` is [lesson 01](01_validation_loss_rises_from_epoch_1.ipynb): there, scaling
# each sample on its own erased the signal that predicts the label, so nothing the model learned
# carried over to new data. The finding renders as HTML in a notebook (and as plain text with
# `print`); the link below opens the lesson.

# %%
display(findings[0])
display(link(findings[0]))
assert findings[0].lesson == cases.get("rising-val-loss").lesson

# %% [markdown]
# ## A dict log: the loss fell for 45 epochs, then exploded onto a plateau
#
# `late_explosion.json` holds a Keras-style `history.history` dict (synthetic, see above), shaped
# like lesson 04's failing run: the loss falls to about 0.003, jumps over epochs 46-49 and then
# repeats 8.059 to the digit (half the images stuck wrong under Keras's clip). On a linear axis the descent
# is squashed against zero; `plot_findings` switches to a log axis for curves spanning several
# orders of magnitude, and there the jump of more than 3 orders of magnitude and the flat plateau
# after it are plain (the evidence gives the numbers).

# %%
history_dict = json.loads((EXAMPLES / "late_explosion.json").read_text())
findings = diagnose(history_dict)
print(findings[0].evidence)
fig, ax = plt.subplots(figsize=(7, 3.5))
plot_findings(history_dict, findings, ax)
plots.show(fig, f"On the log axis the dotted line marks epoch {findings[0].numbers['jump_epoch']}, which the finding "
                f"names: {findings[0].evidence}.")
display(link(findings[0]))
assert [f.code for f in findings] == ["late-explosion"] and ax.get_yscale() == "log"
assert findings[0].numbers["jump_epoch"] == 47 and findings[0].numbers["orders_after"] > 3
assert findings[0].numbers["plateau"] == 1.0          # it sits on a flat plateau, as in lesson 04
assert findings[0].lesson == cases.get("adam-epsilon").lesson

# %% [markdown]
# Lightning's `metrics.csv` (synthetic too) has sparse rows (a row per logged step, one per
# validation, one per epoch); `diagnose` groups them by epoch and keeps the per-step losses too.
# This run overfits: validation loss turns up after its minimum while training loss keeps falling,
# and the finding sends you to [lesson 00](00_reading_loss_curves.ipynb)'s "Overfitting" section.

# %%
lightning_log = str(EXAMPLES / "lightning_metrics.csv")
findings = diagnose(lightning_log)
print(findings[0])
fig, ax = plt.subplots(figsize=(7, 3.5))
plot_findings(lightning_log, findings, ax)
plots.show(fig, f"The dotted line marks epoch {findings[0].numbers['best_epoch']}, which the finding names: "
                f"{findings[0].evidence}.")
display(link(findings[0]))
assert [f.code for f in findings] == ["overfitting"] and len(load_run(lightning_log).step_loss) == 80
assert findings[0].lesson == "00_reading_loss_curves.ipynb"

# %% [markdown]
# ## A labkit run, before and after its fix
#
# A `History` works the same way. Lesson 03's failing run (NLLLoss on raw logits) and its main
# fix, `CrossEntropyLoss`, both trained here on your seed. The failing run is named. Predict first:
# what does `diagnose` say about the fixed run?

# %%
q = labkit.exercise.predict(
    "Lesson 03's run after its fix (CrossEntropyLoss instead of NLLLoss on raw logits): what does diagnose return?",
    ["the same finding as the failing run", "a different finding", "no finding at all"])
q

# %%
case = cases.get("negative-loss")
failing = case.run(seed=SEED)
fixed = case.run(seed=SEED, **case.overrides(next(iter(case.fixes))))
before, after = [f.code for f in diagnose(failing)], [f.code for f in diagnose(fixed)]
print(f"failing run: {before}; fixed run: {after or 'no finding'}")
if not after:
    actual = "no finding at all"
else:
    actual = "the same finding as the failing run" if after[0] == before[0] else "a different finding"
display(q.verdict(actual, f"The fixed run's loss ends at {fixed.train_loss[-1]:.3f}, "
                          f"validation accuracy {fixed.val_metric[-1]:.1%}: nothing in its curves matches a rule."
                  if not after else f"diagnose found {after}."))
assert before[0] == "negative-loss" and after == []

# %% [markdown]
# Pass the model, criterion and optimizer too when you have them: `diagnose` then also checks the
# output layer against the criterion, dropout rates, the learning rate and Adam's `eps`. Here the
# fixed run's curves are fine, but a model that ends in `Linear` fed to `NLLLoss` is flagged:

# %%
model = nn.Sequential(nn.Flatten(), nn.Linear(256, 3))  # ends in Linear, not LogSoftmax
setup_findings = diagnose(fixed, model=model, criterion=nn.NLLLoss())
print(setup_findings[0])
assert setup_findings[0].code == "nll-without-log-softmax"

# %% [markdown]
# ## Paste a log
#
# Paste the output of your training (Keras' progress lines, a PyTorch printout, a CSV or JSON log)
# into the box and press **Diagnose**. Below it is filled with a short Keras printout, typed in for
# this lesson (synthetic), and pressed once so you see what comes back.

# %%
box = paste_box()
box.text.value = """Epoch 1/6
32/32 - 1s - loss: 0.6931 - accuracy: 0.5000 - val_loss: 0.6927 - val_accuracy: 0.5100
Epoch 2/6
32/32 - 0s - loss: 0.5120 - accuracy: 0.7400 - val_loss: 0.5310 - val_accuracy: 0.7300
Epoch 3/6
32/32 - 0s - loss: 0.3904 - accuracy: 0.8300 - val_loss: 0.4420 - val_accuracy: 0.8000
Epoch 4/6
32/32 - 0s - loss: 0.2811 - accuracy: 0.8900 - val_loss: 0.4650 - val_accuracy: 0.8000
Epoch 5/6
32/32 - 0s - loss: 0.1905 - accuracy: 0.9400 - val_loss: 0.5380 - val_accuracy: 0.7900
Epoch 6/6
32/32 - 0s - loss: 0.1102 - accuracy: 0.9700 - val_loss: 0.6470 - val_accuracy: 0.7800"""
box.run()
box

# %% [markdown]
# Its validation loss is lowest at epoch 3 and then climbs, but before that it fell by more than a
# third and the validation accuracy rose from 0.51 to 0.80: the model learnt something that carries
# over to new images. That is ordinary **overfitting** (stop at the best epoch), not the
# no-generalization of lesson 01, where validation never improves at all.

# %%
pasted = [f.code for f in diagnose(box.text.value)]
print("the printout's findings:", pasted)
assert pasted == ["overfitting"]

# %% [markdown]
# ## Your turn
#
# Put your own run into `my_run`: a dict of lists (keys such as `loss`/`train_loss`, `val_loss`,
# `accuracy`/`acc`, `val_accuracy`/`val_acc`, `lr`), the path of your CSV or JSON log, or the text
# of a printout. A run with none of the documented failures gives an empty list: no news is good
# news.

# %%
my_run = ...  # your run: a dict of lists, a file path, or pasted text

if my_run is ...:
    print("Not answered yet: put your run in my_run (or paste it into the box above), then run this cell again.")
else:
    my_findings = diagnose(my_run)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    plot_findings(my_run, my_findings, ax)
    plots.show(fig, "Your run's losses, with a dotted line at each epoch a finding names: "
                    + ("; ".join(f.evidence for f in my_findings) or "no failure found") + ".")
    for finding in my_findings:
        display(finding, link(finding))
    print(f"{len(my_findings)} finding(s):", [f.code for f in my_findings] or "no failure found")

# %% [markdown]
# A quiz. Someone posts the numbers of their run below. Which code will `diagnose` put first?
# Read the numbers before you answer: what moves, what does not?

# %%
posted = {
    "loss":     [0.6931, 0.6412, 0.7105, 0.6327, 0.7218, 0.6204, 0.7010, 0.6398],
    "val_loss": [0.6931, 0.6931, 0.6931, 0.6931, 0.6931, 0.6931, 0.6931, 0.6931],
}
print("codes:", ", ".join(CURVE_CODES))

# %% [markdown]
# Set `answer` to one of the codes printed above, in place of the `...`, then run the check.

# %%
answer = ...  # one of the codes printed above, as a string

# %%
found = diagnose(posted)
display(labkit.exercise.check(
    answer, lambda a: a == found[0].code,
    right=f"Right: {found[0].title}. Open {found[0].lesson}. Evidence: {found[0].evidence}",
    wrong="Not yet: compare the two rows number by number. Which one never changes, and what does that say "
          "about the model's answers?" if answer in CODES else f"Not yet: answer must be one of {CURVE_CODES}."))

# %% [markdown]
# Tried it? The reference answer gives the code and the reasoning:

# %%
labkit.exercise.reference("06-quiz")

# %%
# The lesson's own check on the quiz, after the exercise so that it does not give the answer away.
assert found[0].code == "flat-validation" and "oscillation" in [f.code for f in found]

# %% [markdown]
# ## Summary
#
# - `labkit.diagnose(run)` takes a History, a dict of lists (Keras `history.history`), a pandas
#   DataFrame, the path of a CSV/JSON log, or pasted text, and returns Findings, most likely cause
#   first: `code`, `title`, `evidence` (numbers and epochs), `explanation`, `fixes`, `lesson`.
# - The curve codes and their lessons: `no-generalization` →
#   [01](01_validation_loss_rises_from_epoch_1.ipynb); `flat-validation`, `oscillation` and
#   `validation-oscillation` → [02](02_training_loss_oscillates.ipynb); `negative-loss` →
#   [03](03_loss_goes_negative.ipynb); `late-explosion` → [04](04_loss_explodes_after_long_training.ipynb);
#   `train-loss-rises` → [05](05_training_loss_rises_later.ipynb); `overfitting`, `rising-loss` and
#   `diverged` (NaN/inf) → [00](00_reading_loss_curves.ipynb).
# - A flat validation loss comes before oscillation: a model frozen on one answer makes the
#   training loss swing with each batch, so fix the collapse first.
# - The example logs in `labkit/examples` are synthetic: they show the formats, not anyone's run.
# - Each rule is a small pure function with named thresholds, so you can read exactly why it fired.
#   `labkit.verdict(run)` is the one judge the panels and lessons use: for a run of a case it also
#   reads the case's health criteria, and `diagnose` returns nothing exactly when it says healthy.
#
# ## Exercises
#
# 1. Type in the numbers of a run of yours that went wrong. Does the first finding match what you
#    found out back then? If not, which threshold in `labkit/diagnosis` kept it quiet?
# 2. Make a run whose validation loss turns up after epoch 5 while its training loss keeps
#    falling. How far must it rise before `overfitting` fires?
# 3. Save a run with `pandas.DataFrame(run).to_csv("my_run.csv", index_label="epoch")` and
#    diagnose the file. Is the answer the same?
# 4. Why does `late-explosion` need a log axis to be seen, and why does its rule compare powers
#    of ten instead of differences?
