"""Case.sweep: every combination of a grid, each exactly the Case.run with its knobs and seed."""

import itertools

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from labkit import cases, plots  # noqa: E402


def without_wall_time(history):
    d = history.to_dict()
    d.pop("wall_time")
    return d


def test_each_swept_run_is_case_run_and_keys_follow_the_grid_order():
    case = cases.get("negative-loss")
    result = case.sweep(lr=[1e-3, 3e-3], seeds=[0, 1], epochs=[1], device="cpu")
    assert list(result) == list(itertools.product([1e-3, 3e-3], [0, 1], [1]))
    for (lr, seed, epochs), history in result.items():
        assert history.seed == seed and history.knobs["lr"] == lr
        assert without_wall_time(history) == without_wall_time(
            case.run(seed=seed, device="cpu", lr=lr, epochs=epochs)
        )


def test_structural_knobs_and_the_default_seed():
    case = cases.get("negative-loss")
    result = case.sweep(seed=2, loss=["nll", "cross-entropy"], epochs=[1], device="cpu")
    assert list(result) == [("nll", 1), ("cross-entropy", 1)]
    for (loss, _), history in result.items():
        assert history.seed == 2
        assert without_wall_time(history) == without_wall_time(
            case.run(seed=2, device="cpu", loss=loss, epochs=1)
        )


def test_a_probed_case_sweeps_with_its_probe():
    case = cases.get("adam-epsilon")
    result = case.sweep(epochs=[2], eps=[1e-7, 1e-2], device="cpu")
    for (_, eps), h in result.items():
        single = case.run(device="cpu", epochs=2, eps=eps)
        assert h.extra and h.step_loss == single.step_loss and h.extra == single.extra


def test_progress_bar_does_not_change_results():
    case = cases.get("negative-loss")
    quiet = case.sweep(epochs=[1], lr=[1e-3, 3e-3], device="cpu")
    loud = case.sweep(epochs=[1], lr=[1e-3, 3e-3], device="cpu", progress=True)
    assert [h.step_loss for h in quiet.values()] == [h.step_loss for h in loud.values()]


def test_swept_histories_plot_like_single_runs():
    result = cases.get("negative-loss").sweep(epochs=[2], lr=[1e-3, 1e-2], device="cpu")
    fig = plots.compare(list(result.values()), labels=[f"lr={k[1]:g}" for k in result])
    fig.canvas.draw()
    plt.close(fig)


@pytest.mark.parametrize(
    "grid, pattern",
    [
        ({}, "grid: give each knob"),
        ({"lr": []}, "lr must be a non-empty list"),
        ({"lr": 1e-3}, "lr must be a non-empty list"),
        ({"loss": "mse"}, "loss must be a non-empty list"),
        ({"learning_rate": [1e-3]}, "unknown knob"),
        ({"lr": [1e-3, 5.0]}, "lr=5.0 is out of range"),
        ({"lr": [1e-3], "seeds": [0, -1]}, r"seed must be in \[0, 2\*\*32\), got -1"),
    ],
)
def test_bad_grids_are_named_before_anything_trains(grid, pattern, monkeypatch):
    case = cases.get("adam-epsilon")
    monkeypatch.setattr(type(case), "run", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=pattern):
        case.sweep(device="cpu", **grid)
