"""Generate lesson 06 (diagnose your own run) and its example log ``late_explosion.json``.

    python tools/make_diagnosis_lesson.py          # (re)write both files
    python tools/make_diagnosis_lesson.py --check  # exit 1 if a stored file differs from what would be written

The notebook is built from the shared cell helpers in tools/lessons/_nb.py (badges, setup cell, imports),
stored without outputs and with stable cell ids, so regenerating it is byte-identical when nothing changed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

import nbformat
import nbformat.v4 as nbf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from lessons._nb import Context, code, header, imports, md, setup, solution, try_first  # noqa: E402
from make_lessons import KERNELSPEC, repo_url  # noqa: E402

FILE = "06_diagnose_your_own_run.ipynb"
LESSON_PATH = ROOT / "lessons" / FILE
EXAMPLE_PATH = ROOT / "labkit" / "examples" / "late_explosion.json"

# The late-explosion example: a Keras ``history.history`` shaped like lesson 04's run, shortened to 200 epochs.
DESCENT_EPOCHS = 150  # smooth descent ...
FIRST_LOSS = 0.5  # ... from this loss ...
DESCENT_ORDERS = 8.5  # ... by this many powers of ten; then the loss jumps back up
BURSTS = ((150, 3e-2), (176, 1e-2))  # (epoch, loss) of each jump; after each it decays again ...
DECAY = 0.8  # ... by this factor per epoch
NOISE = 0.05  # relative epoch-to-epoch noise
LR = 1e-2  # Adam learning rate, logged as Keras' ReduceLROnPlateau / LearningRateScheduler would


def late_explosion_log(epochs: int = 200, seed: int = 0) -> dict[str, list[float]]:
    """Return a Keras-style history dict: a smooth 150-epoch descent, then jumps of ~7 orders of magnitude."""
    rng = random.Random(seed)
    loss = []
    for e in range(epochs):
        bursts = [(start, peak) for start, peak in BURSTS if start <= e]
        clean = (bursts[-1][1] * DECAY ** (e - bursts[-1][0]) if bursts
                 else FIRST_LOSS * 10 ** (-DESCENT_ORDERS * e / (DESCENT_EPOCHS - 1)))
        loss.append(float(f"{clean * (1 + NOISE * rng.uniform(-1, 1)):.4g}"))
    # Accuracy of the one-hot regression: perfect during the descent, broken by each burst.
    accuracy = [min(1.0, 0.5 + e / 20) if e < DESCENT_EPOCHS else round(1.0 - min(0.45, 8 * v), 3)
                for e, v in enumerate(loss)]
    return {"loss": loss, "accuracy": accuracy, "lr": [LR] * epochs}


def cells(ctx: Context) -> list:
    """Return the cells of lesson 06."""
    return [
        header(ctx, "What went wrong in my training run? Diagnose your own loss curves", """
            Lessons 01-05 each reproduced one documented training failure. This one goes the other way:
            start from the curves of **your** run (a Keras `history.history`, a `CSVLogger` file,
            Lightning's `metrics.csv`, a pandas DataFrame, a labkit `History`) and let `labkit.diagnose`
            name the failure, show the numbers that gave it away, mark them on the plot, and point to the
            lesson that explains it. Nothing here trains for more than a second.
            """),
        setup(ctx),
        imports("from torch import nn", """
            from labkit import diagnose
            from labkit.diagnosis import CODES, CURVE_CODES, load_run, plot_findings
            from labkit.diagnosis.finding import lesson_for
            """),
        md("""
            ## The symptom: a log file, and the question "what went wrong?"

            The package ships three example logs. `keras_csvlogger.csv` is what Keras' `CSVLogger`
            writes: one row per epoch. `diagnose` reads files with the `csv` and `json` modules only (no
            pickle, no eval) and returns a list of findings, most likely cause first.
            """),
        code('''
            import json
            from importlib import resources

            EXAMPLES = resources.files("labkit") / "examples"
            keras_log = str(EXAMPLES / "keras_csvlogger.csv")
            print("\\n".join((EXAMPLES / "keras_csvlogger.csv").read_text().splitlines()[:4]), "...")
            findings = diagnose(keras_log)
            for finding in findings:
                print(finding)
            assert [f.code for f in findings] == ["no-generalization"]
            '''),
        md("""
            ## Hypotheses: one small rule per documented failure

            Each code is one hypothesis about the run, tested by a small pure function with named
            thresholds in `labkit/diagnosis/rules.py` (read them: every threshold has a comment). The
            curve codes, most likely cause first, and the lesson each one points to:
            """),
        code('''
            for code_ in CURVE_CODES:
                print(f"{code_:18s} -> {lesson_for(code_) or '(no lesson: NaN/inf, see the fixes)'}")
            assert CURVE_CODES.index("flat-validation") < CURVE_CODES.index("oscillation")
            '''),
        md("""
            ## Experiment: where does the evidence sit on the curves?

            A finding's `evidence` gives the numbers and epochs that triggered it, and `numbers` holds them
            by name. `plot_findings` draws the curves and a dotted line at the epoch each finding names.
            """),
        code('''
            fig, ax = plt.subplots(figsize=(6, 3.5))
            plot_findings(keras_log, findings, ax)
            plt.show()
            best = findings[0].numbers["best_epoch"]
            curves = load_run(keras_log)
            print(f"validation loss lowest at epoch {best}: {curves.val_loss[best - 1]:.3f} -> {curves.val_loss[-1]:.3f} at the end")
            assert best <= 2 and [line.get_xdata()[0] for line in ax.lines[2:]] == [best]  # the marked epoch
            assert curves.val_loss[-1] > 1.5 * curves.val_loss[best - 1]   # validation climbs from there
            assert curves.train_loss[-1] < 0.3 * curves.train_loss[0]      # while training keeps falling
            '''),
        md("""
            ## Cause and fix: open the lesson the finding points to

            Every code maps to one lesson. `no-generalization` is lesson 01: there, scaling each sample on
            its own erased the signal that predicts the label, so nothing the model learned carried over
            to new data. The finding renders as HTML in a notebook (and as plain text with `print`):
            """),
        code('''
            print("open:", findings[0].lesson)
            assert findings[0].lesson == cases.get("rising-val-loss").lesson
            findings[0]
            '''),
        md("""
            ## A dict log: the loss fell for 150 epochs, then exploded

            `late_explosion.json` holds a Keras-style `history.history` dict. On a linear axis the jump is
            a blip near zero; `plot_findings` switches to a log axis for curves spanning many orders of
            magnitude, and there it is a jump of about 7 orders that never comes back down.
            """),
        code('''
            history_dict = json.loads((EXAMPLES / "late_explosion.json").read_text())
            findings = diagnose(history_dict)
            print(findings[0].evidence)
            fig, ax = plt.subplots(figsize=(6, 3.5))
            plot_findings(history_dict, findings, ax)
            plt.show()
            assert [f.code for f in findings] == ["late-explosion"] and ax.get_yscale() == "log"
            assert findings[0].numbers["jump_epoch"] == 151 and findings[0].numbers["orders_after"] > 2
            assert findings[0].lesson == cases.get("adam-epsilon").lesson
            '''),
        md("""
            Lightning's `metrics.csv` has sparse rows (a row per logged step, one per validation, one per
            epoch); `diagnose` groups them by epoch and keeps the per-step losses too. This run overfits:
            validation loss turns up after its minimum while training loss keeps falling.
            """),
        code('''
            lightning_log = str(EXAMPLES / "lightning_metrics.csv")
            findings = diagnose(lightning_log)
            print(findings[0])
            fig, ax = plt.subplots(figsize=(6, 3.5))
            plot_findings(lightning_log, findings, ax)
            plt.show()
            assert [f.code for f in findings] == ["overfitting"] and len(load_run(lightning_log).step_loss) == 80
            '''),
        md("""
            ## A labkit run, before and after its fix

            A `History` works the same way. Lesson 03's failing run (NLLLoss on raw logits) and its main
            fix: the failing run is named, the fixed run gets no finding at all. Pass the model, criterion
            and optimizer too when you have them: `diagnose` then also checks the output layer against the
            criterion, dropout rates, the learning rate and Adam's `eps`.
            """),
        code('''
            case = cases.get("negative-loss")
            failing = case.run(seed=SEED)
            fixed = case.run(seed=SEED, **case.fix(next(iter(case.fixes))))
            print([f.code for f in diagnose(failing)], "->", [f.code for f in diagnose(fixed)])
            assert diagnose(failing)[0].code == "negative-loss" and diagnose(fixed) == []

            model = nn.Sequential(nn.Flatten(), nn.Linear(256, 3))  # ends in Linear, not LogSoftmax
            print(diagnose(fixed, model=model, criterion=nn.NLLLoss())[0])
            '''),
        md("""
            ## Your turn

            Paste your own run into `my_run` (or set it to the path of your CSV log). Keys it understands:
            `loss`/`train_loss`, `val_loss`, `accuracy`/`acc`, `val_accuracy`/`val_acc`, `lr`. A run with
            none of the documented failures gives an empty list: no news is good news.
            """),
        code('''
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
            '''),
        md("""
            A forum post: *"My loss went negative and keeps going down: -1.9, -72.7, -573.7, -2662.9,
            -8421.2."* The model ends in a `Linear` layer and the criterion is `NLLLoss`. Which code will
            `diagnose` put first? Set `answer` to it (one of `CODES`).
            """),
        try_first("Look at the sign of the loss, and at what NLLLoss expects as input."),
        solution('answer = "negative-loss"'),
        code('''
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
            '''),
        md("""
            ## Summary

            - `labkit.diagnose(run)` takes a History, a dict of lists (Keras `history.history`), a pandas
              DataFrame, or the path of a CSV/JSON log, and returns Findings, most likely cause first:
              `code`, `title`, `evidence` (numbers and epochs), `explanation`, `fixes`, `lesson`.
            - The curve codes and their lessons: `no-generalization` → 01; `flat-validation` and
              `oscillation` → 02; `negative-loss` → 03; `late-explosion` → 04; `train-loss-rises` and
              `overfitting` → 05; `diverged` (NaN/inf) has no lesson.
            - A flat validation loss comes before oscillation: a model frozen on one answer makes the
              training loss swing with each batch's class mix, so fix the collapse first.
            - Each rule is a small pure function with named thresholds, so you can read exactly why it fired.
              A healthy run gets no finding.

            ## Exercises

            1. Type in the numbers of a run of yours that went wrong. Does the first finding match what you
               found out back then? If not, which threshold in `rules.py` kept it quiet?
            2. Make `my_run`'s validation loss turn up after epoch 5 while its training loss keeps falling.
               How far must it rise before `overfitting` fires?
            3. Save `my_run` with `pandas.DataFrame(my_run).to_csv("my_run.csv", index_label="epoch")` and
               diagnose the file. Is the answer the same?
            4. Why does `late-explosion` need a log axis to be seen, and why does its rule compare powers
               of ten instead of differences?
            """),
    ]


def build(url: str) -> str:
    """Return the notebook JSON text of lesson 06, without outputs."""
    nb = nbf.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nb.cells = cells(Context(repo_url=url, file=FILE))
    for i, cell in enumerate(nb.cells):
        cell.id = f"lesson06-{i:02d}"  # stable ids keep regeneration byte-identical
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def outputs() -> dict[Path, str]:
    """Return {path: text} of the files this script writes."""
    example = json.dumps(late_explosion_log(), separators=(",", ":")) + "\n"
    assert all(math.isfinite(v) for v in json.loads(example)["loss"])
    return {LESSON_PATH: build(repo_url()), EXAMPLE_PATH: example}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored files, write nothing")
    args = parser.parse_args(argv)
    files = outputs()
    if args.check:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run python tools/make_diagnosis_lesson.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
