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
# # Why does my training loss jump up and down while my validation loss stays flat?
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkit-edu/labkit/blob/main/lessons/02_training_loss_oscillates.ipynb) [![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/labkit-edu/labkit/main?urlpath=lab/tree/lessons/02_training_loss_oscillates.ipynb)
#
# On Binder, shut down a lesson's kernel when you move on to the next (*Kernel → Shut Down
# Kernel*): each lesson holds 0.4 to 0.7 GB, and Binder gives 2 GB in all.
#
# **The thread.** A Q&A thread from August 2019 (its copy here records no site or address) asks what an
# oscillating training-loss curve means and why the validation loss is constant. The asker had **35
# training and 10 test images** of 80x130 pixels, one channel, for a binary task, and a Keras CNN: two
# blocks of two `Conv2D` layers, max-pooling and `Dropout`, then `Flatten` (71,424 values) into a
# `Dense(512)` of **36,569,600 parameters**, a third `Dropout` and a one-unit output. The post shows a
# plot (not copied here) and the model summary; it does not give the loss function (a commenter
# asked; nobody answered), the dropout rates, the optimizer, the batch size or whether the pixels were
# scaled. In a comment the asker reports that lowering the learning rate (0.1, 0.01, 0.005, even
# 0.001) did not help. Four answers and four comments suggest causes and fixes; the table near the
# end goes through every one of them.
#
# **This lesson** rebuilds the run from those ingredients on small synthetic images, finds the
# mechanism that makes the training loss swing while the validation loss stays flat, and runs every
# suggestion against the fix on the same training budget, scored on 400 held-out test images (10
# validation images cannot tell fixes apart).

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
import labkit.exercise  # the predict-first and your-turn widgets
from labkit.cases.oscillating_loss import WRONG_COST, train_swing
from labkit.data import stripe_images

labkit.use_device("cpu")  # the claims below were checked on the CPU; on a GPU the same seed is another run
labkit.exercise.reopen_hint()  # reopened later, each widget says "run this cell again" instead of an error
SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED for another draw

# %% [markdown]
# ## The symptom, rebuilt
#
# The images: a faint patch of stripes in noise, horizontal (class 0) or vertical (class 1), 48x80
# pixels, standardized; 35 for training, 10 for validation, plus 400 test images. The two classes are
# drawn half and half, so **chance**, the accuracy of always answering the more common class, is 0.5
# here (a draw of 400 test images can tilt it by a few hundredths). The model keeps the
# asker's ingredients at a smaller size: two stride-2 convolutions (16 channels, `Dropout(0.25)` after
# each) -> `Flatten` (3,840 values) -> `Dense(512)` (**2.0M weights**) -> `Dropout` -> `Dense(1)` ->
# sigmoid, initialised as Keras does (Glorot-uniform weights, zero biases). Adam at `lr=0.1`, the
# largest rate the asker lists; batches of 32, Keras's default, so an epoch is a batch of 32 and one of 3.
#
# **Which loss?** The thread never says. A Keras model with one sigmoid output is normally compiled
# with `binary_crossentropy`, and one answer recommends exactly that, so the lesson uses Keras 2.x's
# version: it clips the probability to [1e-7, 1 - 1e-7] before the log. An answer that is confidently
# wrong therefore costs -log(1e-7) = 16.12 and, beyond the clip, gets **exactly zero gradient**
# (PyTorch's `nn.BCELoss` instead caps the log at -100: a cost of 100). The `loss` knob offers both,
# and `BCEWithLogitsLoss`.
#
# **Which dropout?** The rates are not given either. The asker's layer sequence (two convolutions, the
# first with "same" and the second with "valid" padding, pooling, dropout; twice; then `Dense(512)`,
# dropout) is that of Keras's CIFAR-10 example, which uses 0.25, 0.25 and 0.5: likely, but not stated.
# The lesson keeps 0.25 after the convolutions and sets **0.9** before the output. Why 0.9, and what
# 0.5 does, is the experiment below.

# %%
case = cases.get("oscillating-loss")
print(case.symptom)
failing = case.run(seed=SEED)
late_val = failing.val_loss[-10:]  # the last 10 epochs
spread, reversals = train_swing(failing)
fig = plots.compare([failing], ["big model, lr=0.1"], per=case.view.per, scale=case.view.scale,
                    title="The symptom: training loss swings, validation loss is a flat line")
plots.show(fig, f"The epoch training loss (solid) zig-zags, changing direction {reversals} times over a range of "
                f"{spread:.0%} of its mean, while the validation loss (dashed) lies on a flat line, at the latest "
                "over the last 10 epochs.")
print(f"epoch training loss from epoch 2: {min(failing.train_loss[1:]):.2f} to {max(failing.train_loss[1:]):.2f} "
      f"(range {spread:.0%} of its mean), {reversals} changes of direction in {failing.num_epochs - 1} epochs")
print(f"validation loss: {failing.val_loss[-1]:.4f}, range over epochs {failing.num_epochs - 9}-"
      f"{failing.num_epochs}: {max(late_val) - min(late_val):.1e}")
print(f"test accuracy on 400 new images: {failing.final['test_accuracy']:.3f}")
print("verdict:", labkit.verdict(failing))
assert labkit.verdict(failing).code == "flat-validation"   # the frozen model named first (every seed 0-29)
assert spread > 0.1 and reversals >= 6                   # swings up and down, by a tenth of its level or more
assert max(late_val) - min(late_val) < 1e-6              # validation: a flat line
assert failing.final["test_accuracy"] < 0.6              # near chance (0.5) on new images

# %% [markdown]
# Left: the epoch training loss (solid) zig-zags, up and down every few epochs (its range is printed
# below the plot), while the validation loss (dashed) is a horizontal line; right: the training accuracy (measured on the epoch's batches) moves,
# the validation accuracy does not. This is what the asker describes.
#
# ## Hypotheses
#
# 1. **The learning rate is too high** (two answers): the steps overshoot a minimum and bounce. But then
#    the weights move, and the validation loss would move with them.
# 2. **The model is far too big for 35 images** (a comment and two answers). True, but too big models
#    *memorise*: their training loss falls, it does not swing.
# 3. **The model is frozen**, and something that acts only while training changes its answers. A
#    validation loss that does not move at all means the validation answers do not change, so the
#    weights do not change. In Keras (and here) dropout is active while training and off while
#    evaluating.
#
# ## Is the model learning at all?
#
# A probe records after every epoch, in evaluation mode, how many of the 35 training images the model
# gets wrong, how many of those are beyond the clip (no gradient) and the largest output logit.

# %%
grads = failing.grad_norm[-failing.steps_per_epoch * 20:]  # the last 20 epochs' steps
zero = sum(g == 0 for g in grads)
eval_wrong = failing.extra["eval_wrong"]
print(f"largest |logit| after epoch 1: {failing.extra['max_abs_logit'][0]:.1e}, after epoch {failing.num_epochs}: "
      f"{failing.extra['max_abs_logit'][-1]:.1e} (the clipped loss has no gradient beyond |logit| = 16.1)")
print(f"gradient norm over the last 20 epochs: exactly 0 on {zero} of {len(grads)} steps, at most {max(grads):.1e}")
last_flip = max((e + 1 for e in range(1, len(eval_wrong)) if eval_wrong[e] != eval_wrong[e - 1]), default=1)
print(f"training images wrong in evaluation mode, epochs 26-30: {min(eval_wrong[-5:]):.0f} to {max(eval_wrong[-5:]):.0f}"
      f" of 35 (the count last changed at epoch {last_flip}); of those beyond the clip (no gradient): "
      f"{failing.extra['stuck_wrong'][-1]:.0f}")
assert failing.extra["max_abs_logit"][-1] > 100          # the output sits far past saturation ...
assert failing.extra["max_abs_logit"][-1] > failing.extra["max_abs_logit"][0]  # ... further than after epoch 1
assert zero >= 0.9 * len(grads) and max(grads) < 1e-2    # exactly zero gradient, but for a rare tiny one
assert min(eval_wrong[-5:]) == max(eval_wrong[-5:]) > 0  # the same images wrong, epoch after epoch
assert failing.extra["stuck_wrong"][-1] == eval_wrong[-1]  # every wrong one is beyond the clip

# %% [markdown]
# The model is frozen: after the first steps the logit is huge (and still grows for a while: Adam's
# momentum keeps stepping in the last direction after the gradient has gone, and those steps can
# still flip an answer: the count of wrong images last changes by epoch 6 on 29 of seeds 0-29, but
# at epoch 21 on seed 10 with one CPU thread and at epoch 24 with two, torch 2.11, 2.13 and 2.14.1 alike,
# `benchmarks/lesson_margins.py`;
# which is why the check looks at the last 5 epochs),
# the clipped loss gives exactly zero gradient on (almost) every step, and the same training images
# stay wrong. (On a rare step a dropout
# draw leaves an output inside the clip and a tiny gradient flows; the printout gives the largest.) **The validation loss is a count.** Each
# saturated wrong answer costs 16.12 and each right one almost nothing, so the validation loss is
# about 16.12 x (wrong validation images) / 10: a frozen model's loss comes in steps of 1.6.

# %%
val_wrong = round((1 - failing.val_metric[-1]) * 10)
print(f"validation: {val_wrong} of 10 wrong; 16.12 x {val_wrong} / 10 = {WRONG_COST * val_wrong / 10:.2f}; "
      f"measured validation loss {failing.val_loss[-1]:.2f}")
assert abs(failing.val_loss[-1] - WRONG_COST * val_wrong / 10) < WRONG_COST / 10  # within one image's cost

# %% [markdown]
# ## What makes a frozen model's training loss swing?
#
# The weights do not change, yet the training loss moves. The three hypotheses above predict different
# things for the experiment below: commit to one before running it.

# %%
q = labkit.exercise.predict(
    "Same frozen run, but with every Dropout layer removed (rates 0). What does the epoch training loss do?",
    ["it swings as before", "it becomes a flat line, like the validation loss", "it falls: the model learns"])
q

# %%
no_dropout = case.run(seed=SEED, **case.overrides("no dropout"))
asker_rates = case.run(seed=SEED, dense_dropout=0.5)   # Keras's CIFAR-10 example: 0.25, 0.25, 0.5
flat_range = max(no_dropout.train_loss[10:]) - min(no_dropout.train_loss[10:])
if no_dropout.val_loss[-1] < 0.5 * failing.val_loss[-1]:
    actual = "it falls: the model learns"
else:
    actual = "it becomes a flat line, like the validation loss" if flat_range < 1e-4 else "it swings as before"
display(q.verdict(actual, f"Without dropout the epoch training loss moves by {flat_range:.1e} over epochs 11-30."))

train_wrong = [(1 - a) * 35 for a in failing.train_metric]  # wrong images on the epoch's batches (training mode)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
epochs = range(1, failing.num_epochs + 1)
left.plot(epochs, no_dropout.train_loss, color="#98df8a", lw=4, label="no dropout: training")  # thick light green
left.plot(epochs, asker_rates.train_loss, color="C1", label="dropout 0.5: training")
left.plot(epochs, failing.train_loss, color="C0", label="dropout 0.9: training")
left.plot(epochs, failing.val_loss, "k--", label="dropout 0.9: validation")
left.set(xlabel="epoch", ylabel="loss", title="Epoch losses of the frozen model")
right.plot(epochs, train_wrong, "o-", ms=3, label="training mode (dropout on)")
right.plot(epochs, eval_wrong, "s-", ms=3, label="evaluation mode")
right.set(xlabel="epoch", ylabel="wrong training images (of 35)", title="Dropout 0.9: wrong answers")
for ax in (left, right):
    ax.legend(**plots.LEGEND)
plots.show(fig, "Left: without dropout the frozen model's training loss is, after its first epochs, as flat as its "
                "validation loss, while with dropout 0.9 it zig-zags; right: in evaluation mode the same "
                f"{eval_wrong[-1]:.0f} training images are wrong every epoch, in training mode the count moves between "
                f"{min(train_wrong[10:]):.0f} and {max(train_wrong[10:]):.0f} from epoch 11 on.")
implied = [WRONG_COST * w / 35 for w in train_wrong]
gaps = sorted(abs(a - b) for a, b in zip(implied[1:], failing.train_loss[1:]))  # from epoch 2 on
print(f"dropout 0.9: {min(train_wrong[10:]):.0f} to {max(train_wrong[10:]):.0f} images wrong in training mode, "
      f"always {eval_wrong[-1]:.0f} in evaluation mode; from epoch 2 on, 16.12 x wrong / 35 matches the epoch "
      f"loss to {gaps[len(gaps) // 2]:.2f} (median), {gaps[-1]:.2f} at worst")
print(f"range of the epoch training loss over epochs 11-30: dropout 0.9 {max(failing.train_loss[10:]) - min(failing.train_loss[10:]):.2f}, "
      f"dropout 0.5 {max(asker_rates.train_loss[10:]) - min(asker_rates.train_loss[10:]):.2f}, no dropout {flat_range:.1e}")
assert flat_range < 1e-4                                  # no dropout: the frozen model's loss is a flat line
assert max(no_dropout.val_loss[10:]) - min(no_dropout.val_loss[10:]) < 1e-6  # ... and it is as frozen
assert max(asker_rates.val_loss[10:]) - min(asker_rates.val_loss[10:]) < 1e-6  # dropout 0.5: frozen too
assert max(train_wrong[10:]) > min(train_wrong[10:])     # dropout 0.9: the wrong count moves
assert gaps[len(gaps) // 2] < 0.15 and gaps[-1] < WRONG_COST / 35 * 3  # loss = 16.12 x wrong / 35

# %% [markdown]
# **Cause.** Left: without dropout (thick green) the frozen model's training loss is as flat as its
# validation loss (black, dashed); with dropout 0.9 (blue) it zig-zags; with 0.5 (orange) it lies on
# the green line on most seeds (the printout gives this seed's range). Right: in evaluation mode
# (orange) the same images are wrong every epoch; in training mode (blue) dropout keeps a random tenth
# of the 512 dense units at every step and scales them up tenfold, and that redraw flips the sign of
# some saturated outputs, so the count of wrong images, and the loss (16.12 x wrong / 35), jumps from
# epoch to epoch. Each extra wrong image adds 0.46 to the epoch loss (the rare epoch where dropout
# leaves an output inside the clip costs a fraction of that: the "at worst" gap above).
#
# **The 0.9 is this lesson's choice, not the asker's.** The thread gives no dropout rates. With the
# rate of Keras's example, 0.5, the random half of the units that survives rarely flips a saturated
# output: the model is just as frozen (asserted above), but its training loss is flat on most seeds;
# the printout gives this seed's range. Over seeds 0-29 (runs outside this notebook:
# `benchmarks/lesson02_budget.py --dropout`, figures in `benchmarks/RESULTS.md`) the frozen model's training loss passed the symptom check (a swing over a
# flat validation loss) on 4 of 30 seeds with dropout 0.5, on 29 of 30 with dropout 0.9. So
# what this lesson shows is *a* way to get the asker's picture: a frozen model plus strong dropout. If
# the asker's model was frozen like this one, its swing needed strong dropout too, or outputs that sit
# closer to the decision boundary than ours; the thread does not let us tell.
#
# **An averaging trap.** An epoch here is a batch of 32 and a batch of 3. If the epoch loss were the
# plain mean of the two batch losses, the 3-image batch would weigh as much as the 32-image one, and
# even the dropout-free frozen model would show a swing that only says which 3 images came last.
# labkit (like Keras) weights each batch by its size:

# %%
steps = no_dropout.step_loss
pairs = [steps[i:i + 2] for i in range(0, len(steps), 2)]
plain = [sum(p) / 2 for p in pairs]
weighted = [(32 * p[0] + 3 * p[1]) / 35 for p in pairs]
print(f"no dropout, epochs 11-30: plain mean of batch losses ranges {max(plain[10:]) - min(plain[10:]):.2f}, "
      f"sample-weighted mean {max(weighted[10:]) - min(weighted[10:]):.1e}")
assert no_dropout.steps_per_epoch == 2
assert max(abs(a - b) for a, b in zip(weighted, no_dropout.train_loss)) < 1e-5  # what labkit records
assert max(plain[10:]) - min(plain[10:]) > 1.0            # the unweighted mean would swing by itself

# %% [markdown]
# ## The asker's comment: a lower learning rate did not help
#
# The asker tried 0.1, 0.01, 0.005 and 0.001. We run the three lower rates at the failing run's other
# settings (batch 32, dropout 0.25 and 0.9), and 0.001 once more on raw 0-255 grey levels instead of
# standardized pixels, since the thread does not say whether the images were scaled.

# %%
lower = {lr: case.run(seed=SEED, lr=lr) for lr in (0.01, 0.005, 0.001)}
raw = case.run(seed=SEED, lr=0.001, pixels="0-255")


def frozen(h):
    """Return True when the validation loss did not move over the last two thirds of the run."""
    tail = h.val_loss[len(h.val_loss) // 3:]
    return max(tail) - min(tail) < 1e-6


print(f"{'run':28s} {'frozen':>6s} {'train acc':>9s} {'test acc':>8s}")
for name, h in [*((f"lr={lr}", h) for lr, h in lower.items()), ("lr=0.001, raw 0-255 pixels", raw)]:
    print(f"{name:28s} {str(frozen(h)):>6s} {h.train_metric[-1]:9.2f} {h.final['test_accuracy']:8.3f}")
assert not any(frozen(h) for h in lower.values())        # standardized: a lower rate unfreezes the model ...
assert all(h.final["test_accuracy"] < 0.7 for h in lower.values())  # ... but it does not learn the task
assert lower[0.001].train_metric[-1] > 0.8                # it fits the training images instead
assert raw.final["test_accuracy"] < 0.55                  # raw pixels: at chance even at 0.001

# %% [markdown]
# **We agree with the asker, in both readings.** On standardized images every lower rate unfreezes the
# big model, but it fits the 35 training images (training accuracy printed above: above 0.8 at 0.001)
# and stays below 0.7 on new ones, near chance (0.5): "did not help". On raw 0-255 pixels the inputs are
# about 40 times larger, the first steps can push the output into saturation even at 0.001 (the
# "frozen" column says whether the validation loss stopped moving), and the test accuracy stays at
# chance, as at 0.1. The
# learning rate is the trigger of the freeze, not the cure for a model this size.
#
# ## Every suggestion against the fix, on the same budget
#
# The fix (a backbone pretrained on other images, frozen, with a new one-unit head) trains best with
# small batches and no dropout; the failing run's batch 32 and dropout 0.9 would handicap the
# suggestions. So every suggestion and the fix get **the same budget**: batches of 8, no dropout
# anywhere, 30 epochs (150 steps on 35 images), and the same small search over the learning rate, three
# rates each (0.001, 0.003 and 0.01 for Adam; ten times those for SGD with momentum, which needs larger
# steps). Of the three runs the one with the best **validation** accuracy is kept (the lower validation
# loss breaks ties); the 400 test images score only that one, so the test set picks nothing. The
# 1,000-image row makes one pass over its images: 125 steps, the nearest whole epoch to 150.

# %%
BUDGET = dict(batch_size=8, conv_dropout=0.0, dense_dropout=0.0, epochs=30)
ADAM, SGD = (1e-3, 3e-3, 1e-2), (1e-2, 3e-2, 1e-1)
SUGGESTIONS = {  # name: (knobs, learning rates searched)
    "big net, nothing else": ({}, ADAM),
    "big net + flips and shifts": (dict(augment=True), ADAM),
    "big net + random resized crop": (dict(crop=True), ADAM),
    "big net, SGD with momentum": (dict(optimizer="momentum"), SGD),
    "no first dense layer": (dict(dense=0), ADAM),
    "no dense layer, downscaled x4": (dict(dense=0, downscale=4), ADAM),
    "1,000 training images": (dict(n_train=1000, epochs=1), ADAM),
    "autoencoder's encoder + head": (dict(model="autoencoder"), ADAM),
    "small model (3,600 weights)": (dict(model="small"), ADAM),
    "pretrained backbone (the fix)": (dict(model="pretrained"), ADAM),
}


def pick(runs):
    """Return (lr, run) of the run with the best validation accuracy; the lower validation loss breaks ties."""
    return min(runs.items(), key=lambda item: (-item[1].val_metric[-1], item[1].val_loss[-1]))


best = {name: pick({lr: case.run(seed=SEED, **{**BUDGET, **knobs, "lr": lr}) for lr in rates})
        for name, (knobs, rates) in SUGGESTIONS.items()}
test = {name: h.final["test_accuracy"] for name, (_, h) in best.items()}
print(f"{'suggestion (batch 8, no dropout, 30 epochs)':44s} {'best lr':>7s} {'val acc':>7s} {'test acc':>8s}  "
      f"{'frozen':6s}  verdict")
for name, (lr, h) in best.items():
    v = labkit.verdict(h)
    still = str(frozen(h)) if h.num_epochs >= 3 else "-"  # one pass (1,000 images): no curve to judge
    print(f"{name:44s} {lr:7g} {h.val_metric[-1]:7.1f} {test[name]:8.3f}  {still:6s}  "
          f"{v.state}{f' ({v.code})' if v.code else ''}")

# %%
FIX, AUGMENTED = "pretrained backbone (the fix)", ("big net + flips and shifts", "big net + random resized crop")
NEAR_CHANCE = ("big net, nothing else", "big net, SGD with momentum", "no first dense layer", "autoencoder's encoder + head")
assert test[FIX] >= 0.9                                   # the fix
assert all(test[name] < 0.75 for name in NEAR_CHANCE), {n: test[n] for n in NEAR_CHANCE}  # they do not learn it
assert max(test[n] for n in AUGMENTED) >= 0.85             # augmentation does (one of the two, at least)
assert max(test[n] for n in AUGMENTED) > max(test[n] for n in NEAR_CHANCE) + 0.15

# %% [markdown]
# **At the same budget the fix is not alone.** Augmentation that keeps the label (flips and shifts, or
# a random resized crop) lets the big 2M-weight network itself learn the task, and so, on most seeds,
# do 1,000 training images; this seed's test accuracies are in the table. Without them the big network
# stays below 0.75 (asserted for the plain net, momentum SGD, the net without its dense layer and the
# head on an autoencoder's features learnt from the same 35 images), near chance (0.5) on most seeds;
# downscaled without a dense layer it lands in between. One seed proves little. The same rows over
# more seeds, run outside this notebook with the rate picked on validation exactly as here
# (`benchmarks/lesson02_budget.py`, figures in `benchmarks/RESULTS.md`; the slower rows on seeds 0-9 only):
#
# | row | seeds | test accuracy: lowest / median / highest | 0.9 or more on |
# |---|---|---|---|
# | big net, nothing else | 0-9 | 0.49 / 0.50 / 0.57 | 0 of 10 |
# | big net + flips and shifts | 0-29 | 0.50 / 0.99 / 1.00 | 26 of 30 |
# | big net + random resized crop | 0-29 | 0.87 / 0.97 / 1.00 | 28 of 30 |
# | big net, SGD with momentum | 0-9 | 0.46 / 0.50 / 0.51 | 0 of 10 |
# | no first dense layer | 0-29 | 0.46 / 0.50 / 0.66 | 0 of 30 |
# | no dense layer, downscaled x4 | 0-29 | 0.48 / 0.63 / 0.84 | 0 of 30 |
# | 1,000 training images | 0-9 | 0.53 / 0.99 / 1.00 | 9 of 10 |
# | autoencoder's encoder + head | 0-29 | 0.47 / 0.49 / 0.50 | 0 of 30 |
# | small model (3,600 weights) | 0-29 | 0.65 / 0.92 / 1.00 | 18 of 30 |
# | pretrained backbone (the fix) | 0-29 | 0.98 / 1.00 / 1.00 | 30 of 30 |
#
# So the fix is the one row that reached 0.9 on every seed, but two suggestions of the thread come
# close. The search kept the fix at 0.01, the top of its three rates, on every seed, and flips and
# shifts mostly at 0.001, the bottom: a wider search could move both (we did not run one).
#
# The verdict column judges the curves, not only the test score: on the augmented rows it can report
# "train-loss-rises", because each batch is a new random transform and the last epochs' training loss
# moves with them; their test accuracy is the measure that counts here.
#
# What each row means for the asker:
#
# - **A pretrained backbone**: two convolutions trained on 1,500 stripe images at four *other*
#   orientations (22.5, 67.5, 112.5 and 157.5 degrees, none of them our two classes), frozen, with a
#   new one-unit head: only 33 weights learnt from the 35 images. **This pretraining set is the
#   lesson's own and is kinder than real life**: it is the same kind of picture as the task (stripes in
#   noise), so the features it teaches are exactly the ones needed. A network pretrained on, say,
#   everyday photos meets the asker's images as a stranger, and transfer is less certain there.
# - **Augmentation** works here because flips and shifts keep a stripe's orientation, the one thing
#   that decides the label. A 90-degree rotation would swap our two classes, so we do not use it.
# - **More data**, where it can be had: one pass over 1,000 images reached 0.9 or more on 9 of 10
#   seeds.
# - **A small model** (3,600 weights, global pooling, no dense layer) learns the task on some seeds
#   and not others (its rows above).

# %%
pretrained = best[FIX][1]
fig = plots.compare([failing, pretrained], ["big model from scratch", "pretrained backbone"],
                    per=case.view.per, scale=case.view.scale, title="From scratch vs a pretrained backbone")
plots.show(fig, "With the pretrained backbone both losses fall to under half their first value, while the big model "
                "from scratch keeps its zig-zagging training loss over a flat validation loss.")
print(f"pretrained backbone: test accuracy {pretrained.final['test_accuracy']:.3f}, test loss "
      f"{pretrained.final['test_loss']:.3f}; verdict: {labkit.verdict(pretrained)}")
assert labkit.verdict(pretrained).state == "healthy" and pretrained.final["test_loss"] < 0.5
assert pretrained.train_loss[-1] < 0.5 * pretrained.train_loss[0] and pretrained.val_loss[-1] < 0.5 * pretrained.val_loss[0]

# %% [markdown]
# With the pretrained backbone (orange) both losses fall and the validation accuracy climbs to the
# top (printed: the test accuracy); the big model from scratch (blue) stays a zig-zag over a flat line.
#
# **Too few neurons?** An answer's second cause. At the failing run's knobs, shrink the dense layer
# from 512 units to 16:

# %%
narrow = case.run(seed=SEED, dense=16)
print(f"Dense(16): training loss range {train_swing(narrow)[0]:.0%} of its mean, validation loss frozen: "
      f"{frozen(narrow)}, test accuracy {narrow.final['test_accuracy']:.3f}")
assert train_swing(narrow)[0] > 0.2 and narrow.final["test_accuracy"] < 0.6

# %% [markdown]
# With `Dense(16)` the training loss swings just the same (by more than a fifth of its level), and
# the test accuracy stays at chance, while the 3,600-weight small model,
# with far fewer weights than either, can learn: too few neurons is not what makes this curve.
#
# **Classical computer vision** (an answer's first idea). Stripes are edges: horizontal stripes change
# from row to row, vertical ones from column to column. The log-ratio of the mean squared horizontal
# and vertical pixel differences, with a threshold halfway between the two class means of the 35
# training images, needs no network at all. (This draws fresh images of the same kind.)

# %%
def edge_feature(x):
    """Return log(mean squared horizontal difference / mean squared vertical difference) of each image."""
    gx = (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean(dim=(1, 2, 3))
    gy = (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean(dim=(1, 2, 3))
    return (gx / gy).log()


data = stripe_images(SEED)
f, y = edge_feature(data.x_train), data.y_train[:, 0]
mean0, mean1 = f[y == 0].mean(), f[y == 1].mean()
predicted = (edge_feature(data.x_test) - (mean0 + mean1) / 2) * torch.sign(mean1 - mean0) > 0
edge_acc = float((predicted.float() == data.y_test[:, 0]).float().mean())
print(f"edge feature + threshold from 35 images: test accuracy {edge_acc:.3f}")
print(f"class 1 share: training {int(y.sum())}/35, validation {int(data.y_val.sum())}/10, "
      f"test {int(data.y_test.sum())}/400")
assert edge_acc > 0.8
assert 1 <= int(data.y_val.sum()) <= 9 and 10 <= int(y.sum()) <= 25  # mixed splits, but not always 50/50

# %% [markdown]
# Two hand-made numbers per image and one threshold score above 0.8 on the test images, far better than
# the 2M-weight network trained from scratch without augmentation. The last line checks an answer's
# advice to compare the class mix of the splits: ours are random draws from a 50/50 pool, so a split of
# 10 validation images can be far from 5 and 5 (this seed's counts are printed), and a frozen model
# that answers one class gets a validation loss set by that draw, in steps of 1.6.
#
# ## What the thread said
#
# | who | what | what happens here |
# |---|---|---|
# | asker | 35 training, 10 test images (80x130), binary, Keras CNN, three `Dropout` layers, `Dense(512)` of 36.5M weights; training loss oscillates, validation loss constant | **reproduced** at 48x80 with a 2.0M-weight `Dense(512)`: the model freezes, dropout 0.9 (our choice) makes the training loss swing, validation stays flat |
# | asker | loss function, dropout rates, optimizer, batch size, pixel scaling | **not stated**; we pick Keras's `binary_crossentropy`, 0.25/0.25/0.9, Adam, batch 32, standardized pixels, and say so; at Keras's usual 0.5 the frozen model's loss is flat on most seeds |
# | comment (mshlis) | which loss? the model is far too large for so little data | loss: unknown (no reply); size: **run**, the big net from scratch stays near chance unless augmented; a 3,600-weight one can learn |
# | answer 1 | the real problem is learning so big a model from scratch on so few images (besides fixing the learning rate) | **partly**: without augmentation or more data, every big-net variant stays below 0.75 test accuracy at the fix's budget; with label-keeping augmentation the same big net learns the task |
# | answer 1 | data augmentation with transforms that keep the label (e.g. rotation) | **run, works here**: flips + shifts on the big net at the fix's budget, 0.9 or more on 26 of seeds 0-29; a 90-degree rotation would swap our two classes, so we do not use it |
# | answer 1 | transfer learning: a conv backbone pretrained on a bigger set of a different task (MNIST, were the data digit-like), frozen; train the dense part only | **run**: the fix, test accuracy >= 0.9 (on all of seeds 0-29); its pretraining set (stripes at four other angles) is closer to the task than real pretraining data would be |
# | answer 1 | shrink the bottleneck; downscale the input (e.g. to 28x28) | **run**: downscale x4 without a dense layer, between chance and the fix (0.48 to 0.84 over seeds 0-29) |
# | answer 1 | remove the first dense layer (their MNIST-style net) | **run**: no dense layer, below 0.75 at the fix's budget |
# | answer 1 | compile with `binary_crossentropy`, try Adam | our failing run **already uses both** |
# | answer 1 | last resort: pretrain an autoencoder, transfer its encoder | **run**: encoder trained to reconstruct the 35 images, head on top: below 0.75 |
# | comment (user35986) | could the small sample cause the oscillations? | **partly**: each image is 1/35 of the epoch loss, so one flipped answer moves it by 0.46; the flips themselves come from dropout |
# | answer 2 | lower the learning rate (overshooting) | **run**: at 0.01, 0.005, 0.001 the model unfreezes, fits the 35 images, stays below 0.7; at the fix's budget the best of three rates stays below 0.75 |
# | asker (comment) | lowering to 0.1, 0.01, 0.005 or 0.001 did not help | **agreed**: standardized pixels, it memorises; raw 0-255 pixels, it stays at chance even at 0.001 |
# | answer 2 | a momentum optimizer | **run**: SGD with momentum 0.9, best of three rates, below 0.75 |
# | answer 2 | more data (~1,000 images) or a pretrained conv net | **run, both work here**: 1,000 images in one pass at the fix's budget, 0.9 or more on 9 of seeds 0-9; pretrained: the fix |
# | answer 3 | consider classical computer vision (edge detection, OpenCV) | **run**: an edge-energy feature and a threshold, test accuracy > 0.8 |
# | answer 3 | little data + many weights overfit; use transfer learning | **run**: lower lr memorises (training accuracy above 0.8, test below 0.7); transfer: the fix |
# | answer 3 | resize, random resized square crop | **run, works here**: random resized crop (60-100 % of each side) on the big net at the fix's budget, 0.9 or more on 28 of seeds 0-29 |
# | answer 3 | only augmentations that make sense | **mentioned**: flips keep our labels, 90-degree rotations would not |
# | answer 3 | lower the learning rate, or different rates per part of the network when transferring | lower: **run** above; per-layer: **not covered** beyond its limit case, the frozen backbone (rate 0) under a trained head; the loop has one rate for all trained weights |
# | answer 3 | check that train and test have the same class mix | **run**: printed above; random draws from a 50/50 pool, 10 images can be far from 5 and 5 |
# | answer 3 | try Adam | the failing run **already uses Adam** |
# | answer 4 | too high a learning rate | **run**: it triggers the freeze, but lowering it does not fix the task |
# | answer 4 | too few neurons to fit, so it oscillates | **contradicted**: with `Dense(16)` the loss swings the same and the test accuracy stays at chance; the 3,600-weight small model can learn |
# | comment (user35986) | asks answer 4 to explain "too few neurons" | no reply in the thread |

# %% [markdown]
# ## Your turn
#
# The lesson's loss is Keras's. Had the asker used PyTorch's `nn.BCELoss` on the sigmoid, a confidently
# wrong answer would cost 100 instead of 16.12. Suppose the frozen model gets exactly the same
# validation images wrong as `failing` does. What validation loss would `nn.BCELoss` report? Compute
# it from `failing` (not a constant typed in), and put it in `my_val_loss`.

# %% [markdown]
# **Try it yourself first.** Count the wrong validation images from the run's validation accuracy,
# then price each one. Replace the `...` below with your expression; the check after it says whether
# it is right, and the button shows the reference answer when you want it.

# %%
my_val_loss = ...  # a number computed from `failing`
labkit.exercise.reference("02-bce-cost")

# %%
# The reference answer's code (kept out of this notebook) computes the value for `failing`, so this cell does not show it.
expected = labkit.exercise.run_answer("02-bce-cost", failing=failing)["my_val_loss"]
display(labkit.exercise.check(
    my_val_loss, lambda answer: abs(float(answer) - expected) < 0.5,
    right="Right: that is what nn.BCELoss reports for these saturated answers.",
    wrong="Not yet: how many of the 10 validation images are wrong, and what does each cost under BCELoss?"))
assert 0 < expected <= 100

# %% [markdown]
# ## Explore
#
# Change the learning rate, the dropout before the output, the model and the loss; turn augmentation
# on. Watch the validation loss: a flat line means a frozen model. The status line gives the verdict
# of `labkit.verdict`: healthy means a test accuracy of at least 0.9 and no diagnosis rule firing.
# The pretrained backbone is the "fix:" button; the small model, the lower learning rate and no
# dropout are "try:" buttons: over seeds 0-29 the small model reached it on 20, the other two on none
# (`benchmarks/RESULTS.md`).

# %%
panel = labkit.explore("oscillating-loss", seed=SEED, runs=[failing, no_dropout, pretrained])
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
# | failing defaults | the asker's failure | 26 of 30 | 28 of 30 | 29 of 30 |
# | fix: pretrained backbone | healthy | 30 of 30 | 30 of 30 | 30 of 30 |
#
# The fix holds everywhere. The swing of a frozen model is the fragile part: seed 24 has no swing
# at any of these settings (it is also the one miss at the defaults, 29 of 30), nor has seed 14 at
# lr x 0.75; on seeds 7 and 15 (lr x 0.75) and 15 (lr x 1.25) the training loss swings but the
# validation loss moves a little, so the model is not wholly frozen. The swing also needs this
# lesson's dropout 0.9 (above).

# %% [markdown]
# ## Summary
#
# - A validation loss that is **exactly** constant means the answers do not change: the model is
#   frozen. Here the first large Adam steps saturate the sigmoid beyond Keras's clip, where the gradient
#   is exactly zero.
# - A frozen model's training loss swings only through what differs in training mode: here
#   **dropout**. At 0.9, this lesson's choice (the thread gives no rate), it flips saturated answers and
#   the wrong count (16.12 x wrong / 35) jumps; without dropout the line is flat; at Keras's usual 0.5
#   it is flat on most seeds. Strong dropout on a frozen model is one way to get the asker's picture,
#   not a proven account of the asker's run.
# - Weight each batch by its size in the epoch loss, or a short last batch makes its own swing.
# - A lower learning rate unfreezes the model (on standardized inputs) but 35 images cannot train 2M
#   weights: it memorises. With raw 0-255 pixels it stays at chance even at 0.001. Either way it did
#   not help, as the asker found.
# - At the same budget (batch 8, no dropout, three rates each, picked on validation), what works with
#   35 images: a pretrained, frozen backbone (test accuracy >= 0.9), label-keeping augmentation of the
#   big net itself, more data, a hand-made feature, or, less reliably, a small model. The pretraining
#   set here is the same kind of image as the task, which makes transfer look surer than it is on
#   real data.
#
# ## Exercises
#
# 1. Find the smallest `dense_dropout` at which the frozen model's training loss still swings (the
#    symptom check holds) on seeds 0-4.
# 2. Run `loss="bce"` at the default knobs. Is the model frozen? Does the validation loss match your
#    answer above?
# 3. Run the small model with `augment=True` (batch 8, no dropout) on seeds 0-4. How often does it beat
#    0.9 test accuracy?
