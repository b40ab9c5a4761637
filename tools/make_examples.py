"""Write the example training logs that lesson 06 and labkit.diagnose's tests read, in
labkit/examples/.

    python tools/make_examples.py          # (re)write the three files
    python tools/make_examples.py --check  # exit 1 if a stored file differs from what would be
    written

- ``keras_csvlogger.csv``: what Keras' ``CSVLogger`` writes for a run that never generalises
  (validation loss lowest at epoch 1 and climbing while training loss falls): one row per epoch, csv
  module, CRLF.
- ``lightning_metrics.csv``: what Lightning's ``CSVLogger`` writes for a run that overfits: sparse
  rows, four logged training steps, one validation row and one epoch row per epoch.
- ``late_explosion.json``: a Keras ``history.history`` dict shaped like lesson 04's failing run (100
  epochs): the loss falls from 0.69 to about 3e-3 by epoch 45, jumps over epochs 46-49 and sits from
  epoch 50 on a plateau at 8.059 (Keras's clipped BCE with half the images stuck wrong: 16.118 / 2),
  repeated to the digit, while the accuracy falls to 0.5.

The two CSV logs are typed-in numbers (kept below as tables); the JSON log is computed from a seeded
``random.Random``. Every file is byte-identical from one run to the next.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "labkit" / "examples"
COMMAND = "python tools/make_examples.py"

# ---- keras_csvlogger.csv: Keras CSVLogger columns (alphabetical after epoch), one row per epoch
# ----

KERAS_COLUMNS = ("epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss")
KERAS_LR = 0.001
KERAS = {  # column: value per epoch (12 epochs)
    "accuracy": (0.52, 0.58, 0.66, 0.74, 0.81, 0.86, 0.91, 0.94, 0.96, 0.97, 0.98, 0.98),
    "loss": (
        0.402,
        0.351,
        0.288,
        0.214,
        0.163,
        0.121,
        0.0791,
        0.0549,
        0.0402,
        0.0341,
        0.0257,
        0.0219,
    ),
    "val_accuracy": (0.55, 0.57, 0.53, 0.54, 0.51, 0.52, 0.5, 0.52, 0.49, 0.51, 0.5, 0.5),
    "val_loss": (
        0.364,
        0.341,
        0.398,
        0.409,
        0.471,
        0.507,
        0.588,
        0.541,
        0.617,
        0.579,
        0.612,
        0.597,
    ),
}

# ---- lightning_metrics.csv: Lightning CSVLogger, 20 epochs of 196 steps, training loss logged
# every 49 ----

LIGHTNING_COLUMNS = ("epoch", "step", "train_loss_epoch", "train_loss_step", "val_acc", "val_loss")
LOG_EVERY = 49  # steps between logged training losses ...
LOGS_PER_EPOCH = 4  # ... four times per epoch
STEP_LOSS = (  # train_loss_step of each logged step, per epoch
    (1.1014, 1.0770, 1.1309, 1.0865),
    (0.8847, 0.9356, 1.0142, 0.9963),
    (0.8208, 0.7523, 0.7920, 0.7592),
    (0.6195, 0.6125, 0.6238, 0.6984),
    (0.5729, 0.5710, 0.5704, 0.5176),
    (0.4408, 0.4639, 0.4715, 0.4805),
    (0.4045, 0.3561, 0.3878, 0.3918),
    (0.3216, 0.3047, 0.3199, 0.3001),
    (0.2910, 0.2880, 0.2742, 0.2634),
    (0.2470, 0.2345, 0.2460, 0.2447),
    (0.1991, 0.1961, 0.2020, 0.1967),
    (0.1626, 0.1665, 0.1805, 0.1593),
    (0.1389, 0.1528, 0.1445, 0.1506),
    (0.1311, 0.1284, 0.1422, 0.1253),
    (0.1153, 0.1113, 0.1194, 0.1127),
    (0.1023, 0.1089, 0.1018, 0.1057),
    (0.1010, 0.0888, 0.0882, 0.0907),
    (0.0904, 0.0883, 0.0831, 0.0844),
    (0.0759, 0.0795, 0.0742, 0.0826),
    (0.0793, 0.0800, 0.0774, 0.0801),
)
# train_loss_epoch: the epoch's mean over all its steps, not only the four logged ones, so it can
# differ from the mean of the row above in the last digit.
EPOCH_LOSS = (
    1.0990,
    0.9577,
    0.7811,
    0.6385,
    0.5580,
    0.4642,
    0.3850,
    0.3116,
    0.2791,
    0.2431,
    0.1985,
    0.1672,
    0.1467,
    0.1317,
    0.1147,
    0.1047,
    0.0922,
    0.0865,
    0.0781,
    0.0792,
)
# lowest at 9
VAL_LOSS = (
    1.0500,
    0.9083,
    0.8067,
    0.7339,
    0.6818,
    0.6444,
    0.6177,
    0.5985,
    0.5847,
    0.5821,
    0.5882,
    0.6002,
    0.6168,
    0.6371,
    0.6605,
    0.6867,
    0.7153,
    0.7461,
    0.7789,
    0.8136,
)
# validation accuracy climbs by VAL_ACC_RISE per epoch up to here, then falls by VAL_ACC_FALL
BEST_EPOCH = 8
VAL_ACC_START, VAL_ACC_RISE, VAL_ACC_FALL = 0.5, 0.05, 0.004

# ---- late_explosion.json ----

DESCENT_EPOCHS = 45  # the loss falls for this many epochs ...
FIRST_LOSS = 0.69  # ... from this loss (ln 2: an untrained two-class model) ...
LOW_LOSS = 3e-3  # ... to about this one
NOISE = 0.15  # relative epoch-to-epoch noise of the descent
JUMP = (0.05, 0.9, 4.7, 7.2)  # epochs 46-49: the jump
# epochs 50-100: half the images stuck wrong under Keras's clip, -ln(1e-7) / 2, to the digit
PLATEAU = 8.059
LR = 1e-2  # Adam learning rate, logged as Keras' ReduceLROnPlateau / LearningRateScheduler would


def _csv(rows: list[list]) -> str:
    out = io.StringIO()
    # the csv module's default dialect ends rows with \r\n, as both loggers do
    csv.writer(out).writerows(rows)
    return out.getvalue()


def keras_csvlogger() -> str:
    """Return the text of keras_csvlogger.csv."""
    epochs = len(KERAS["loss"])
    assert all(len(values) == epochs for values in KERAS.values())
    rows = [list(KERAS_COLUMNS)]
    for e in range(epochs):
        rows.append(
            [
                e,
                KERAS["accuracy"][e],
                KERAS["loss"][e],
                KERAS_LR,
                KERAS["val_accuracy"][e],
                KERAS["val_loss"][e],
            ]
        )
    return _csv(rows)


def lightning_metrics() -> str:
    """Return the text of lightning_metrics.csv: per epoch, the logged steps, then validation, then
    the epoch row."""
    assert len(STEP_LOSS) == len(EPOCH_LOSS) == len(VAL_LOSS)
    rows = [list(LIGHTNING_COLUMNS)]
    for e, (steps, epoch_loss, val_loss) in enumerate(zip(STEP_LOSS, EPOCH_LOSS, VAL_LOSS)):
        assert len(steps) == LOGS_PER_EPOCH
        first = e * LOGS_PER_EPOCH * LOG_EVERY
        for k, loss in enumerate(steps, start=1):
            rows.append([e, first + k * LOG_EVERY, "", f"{loss:.4f}", "", ""])
        last = first + LOGS_PER_EPOCH * LOG_EVERY
        val_acc = (
            VAL_ACC_START + VAL_ACC_RISE * e
            if e <= BEST_EPOCH
            else VAL_ACC_START + VAL_ACC_RISE * BEST_EPOCH - VAL_ACC_FALL * (e - BEST_EPOCH)
        )
        rows.append([e, last, "", "", f"{val_acc:.4f}", f"{val_loss:.4f}"])
        rows.append([e, last, f"{epoch_loss:.4f}", "", "", ""])
    return _csv(rows)


def late_explosion_log(epochs: int = 100, seed: int = 0) -> dict[str, list[float]]:
    """Return a Keras-style history dict shaped like lesson 04's failing run: a descent, a jump, a
    flat plateau."""
    rng = random.Random(seed)
    fall = [
        FIRST_LOSS * (LOW_LOSS / FIRST_LOSS) ** (e / (DESCENT_EPOCHS - 1))
        for e in range(DESCENT_EPOCHS)
    ]
    loss = [float(f"{v * (1 + NOISE * rng.uniform(-1, 1)):.4g}") for v in fall]
    loss += list(JUMP) + [PLATEAU] * (epochs - DESCENT_EPOCHS - len(JUMP))
    # accuracy: climbs to 1 during the descent, then one class is answered for everything (0.5)
    accuracy = [round(min(1.0, 0.5 + e / 30), 3) for e in range(DESCENT_EPOCHS)]
    accuracy += [0.97, 0.8, 0.6, 0.52] + [0.5] * (epochs - DESCENT_EPOCHS - len(JUMP))
    return {"loss": loss, "accuracy": accuracy, "lr": [LR] * epochs}


def late_explosion() -> str:
    """Return the text of late_explosion.json."""
    text = json.dumps(late_explosion_log(), separators=(",", ":")) + "\n"
    assert all(math.isfinite(v) for v in json.loads(text)["loss"])
    return text


def outputs() -> dict[Path, str]:
    """Return {path: text} of every file this script writes."""
    return {
        EXAMPLES / "keras_csvlogger.csv": keras_csvlogger(),
        EXAMPLES / "lightning_metrics.csv": lightning_metrics(),
        EXAMPLES / "late_explosion.json": late_explosion(),
    }


def stale(files: dict[Path, str] | None = None) -> list[Path]:
    """Return the example files that are missing or differ from what this script writes."""
    files = outputs() if files is None else files
    # bytes, so the CSVs' \r\n line ends count
    return [
        p for p, text in files.items() if not p.exists() or p.read_bytes() != text.encode("utf-8")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the stored files, write nothing"
    )
    args = parser.parse_args(argv)
    files = outputs()
    if args.check:
        for p in stale(files):
            print(
                f"{p.relative_to(ROOT)} differs from what the script writes: run {COMMAND}",
                file=sys.stderr,
            )
        return 1 if stale(files) else 0
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_bytes(text.encode("utf-8"))
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
