"""Lesson 00's runs (its own ``train`` function, taken from the lesson's text twin): each shape's
numeric signature, the real divergence and its disappearance at a 10x smaller learning rate, the
mystery recipes."""

import math
from pathlib import Path

import jupytext
import pytest

LESSON = Path(__file__).resolve().parents[1] / "lessons" / "py" / "00_reading_loss_curves.py"


@pytest.fixture(scope="module")
def lesson():
    """Return the lesson's namespace after its imports cell, its `train` cell, the recipes and
    `shape`."""
    cells = [c.source for c in jupytext.read(LESSON).cells if c.cell_type == "code"]
    ns = {}
    exec(cells[1], ns)  # the imports and SEED cell
    for marker, cut in (
        ("def train(", None),
        ("MYSTERY_RECIPES = [", "recipe = "),
        ("def shape(", "display("),
    ):
        [source] = [c for c in cells if marker in c]
        exec(source.split(cut)[0] if cut else source, ns)
    return ns


def test_train_names_the_bad_argument(lesson):
    with pytest.raises(
        ValueError, match=r"model='huge' is not allowed; allowed: 'small', 'wide', 'linear'"
    ):
        lesson["train"](model="huge")
    with pytest.raises(
        ValueError, match=r"loss='hinge' is not allowed; allowed: 'cross-entropy', 'mse'"
    ):
        lesson["train"](loss="hinge")


def test_same_arguments_and_seed_give_the_same_run(lesson):
    a = lesson["train"](model="linear", loss="mse", optimizer="sgd", lr=0.01, epochs=1, seed=3)
    b = lesson["train"](model="linear", loss="mse", optimizer="sgd", lr=0.01, epochs=1, seed=3)
    assert a.step_loss == b.step_loss and a.val_loss == b.val_loss


@pytest.mark.parametrize("seed", [0, 1])
def test_divergence_is_recorded_and_goes_away_at_a_thirtieth_of_the_rate(lesson, seed):
    train = lesson["train"]
    blown = train(model="linear", loss="mse", optimizer="sgd", lr=0.3, epochs=3, seed=seed)
    finite = [v for v in blown.step_loss if math.isfinite(v)]
    assert blown.diverged and blown.diverged_step == len(blown.step_loss) - 1 < 40
    assert not math.isfinite(blown.step_loss[-1])  # stopped at the first non-finite step loss
    # a loss with a floor, climbing
    assert min(blown.step_loss[:1]) >= 0 and finite[-1] > 1e6 * finite[0]
    assert math.isnan(blown.train_loss[-1])
    calm = train(model="linear", loss="mse", optimizer="sgd", lr=0.01, epochs=3, seed=seed)
    assert not calm.diverged and calm.train_loss[-1] < 0.6 * calm.train_loss[0]


def test_underfitting_ends_near_or_below_chance_level(lesson):
    import torch

    for seed in (5, 13):  # seed 5 ends far below the majority share, seed 13 a few points above it
        under = lesson["train"](lr=1e-5, seed=seed)
        labels = lesson["imbalanced_images"](seed).y_val
        shares = (torch.bincount(labels) / len(labels)).tolist()
        assert under.train_loss[-1] > 0.9 * under.train_loss[0]
        assert abs(max(shares) - 0.54) < 0.005 and under.val_metric[-1] < max(shares) + 0.1


def test_overfitting_signature(lesson):
    over = lesson["train"](n_train=60, signal=0.1, model="wide", epochs=30, batch_size=16, seed=1)
    best = min(range(over.num_epochs), key=over.val_loss.__getitem__)
    assert over.train_loss[-1] < 0.01 and over.val_loss[-1] > 1.1 * min(over.val_loss)
    assert best < over.num_epochs // 2 and lesson["shape"](over) == "overfitting"


@pytest.mark.parametrize(
    "index,expected", list(enumerate(["healthy", "underfitting", "overfitting", "divergence"]))
)
def test_each_mystery_recipe_gives_its_shape(lesson, index, expected):
    for seed in (0, 1):
        assert (
            lesson["shape"](lesson["train"](seed=seed, **lesson["MYSTERY_RECIPES"][index]))
            == expected
        )


def test_a_healthy_loss_wobbling_near_zero_is_not_called_overfitting(lesson):
    # validation 0.024 at best, 0.029 at the end: +23 %, but only +0.006
    healthy = lesson["train"](seed=8)
    assert (
        healthy.val_loss[-1] > 1.1 * min(healthy.val_loss)
        and healthy.val_loss[-1] - min(healthy.val_loss) < 0.02
    )
    assert lesson["shape"](healthy) == "healthy"


def test_the_mystery_check_does_not_give_the_answer():
    cells = [c.source for c in jupytext.read(LESSON).cells if c.cell_type == "code"]
    [check] = [c for c in cells if "exercise.check(" in c]
    # no recipe -> shape mapping before the answer
    assert "[recipe]" not in check and "MYSTERY_RECIPES" not in check
    later = cells[cells.index(check) + 1 :]
    assert any("[recipe]" in c for c in later)  # the lesson checks the mapping after the exercise
