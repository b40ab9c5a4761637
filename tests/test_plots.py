"""What the plots look like to a reader: legends off the data, readable log axes, and a text
alternative."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from labkit import History, plots  # noqa: E402


def run(name, loss, val=None, diverged_at=None):
    return History(
        case=name,
        metric_name="accuracy",
        steps_per_epoch=1,
        step_loss=list(loss),
        train_loss=list(loss),
        val_loss=list(val if val is not None else [v + 0.1 for v in loss]),
        train_metric=[0.5 + 0.05 * i for i in range(len(loss))],
        val_metric=[0.5 + 0.04 * i for i in range(len(loss))],
        diverged_step=diverged_at,
        diverged_epoch=diverged_at,
    )


FALLING = run("a", [1.0, 0.6, 0.4, 0.3, 0.25])
NEGATIVE = run("b", [0.1, -3.0, -400.0, -2e4, -1e6], val=[-1.0, -50.0, -800.0, -3e4, -2e6])


def overlaps(a, b):
    return not (a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0)


@pytest.mark.parametrize("count", [1, 4, 8])
def test_the_legend_sits_outside_the_plot_and_names_each_run_once(count):
    runs = [run(f"r{i}", [1.0 / (i + 1 + e) for e in range(5)]) for i in range(count)]
    fig, ax = plt.subplots(figsize=(6, 3))
    plots.plot_loss(runs, ax, labels=[f"run {i}" for i in range(count)])
    fig.set_layout_engine("constrained")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend()
    assert not overlaps(legend.get_window_extent(renderer), ax.get_window_extent(renderer))
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == [f"run {i}" for i in range(count)] + ["training", "validation"]
    plt.close(fig)


def test_a_legend_left_out_and_compare_draws_one_legend_for_both_plots():
    fig, ax = plt.subplots()
    plots.plot_loss(FALLING, ax, legend=False)
    assert ax.get_legend() is None
    fig = plots.compare([FALLING, NEGATIVE], ["a", "b"])
    left, right = fig.axes
    assert left.get_legend() is None and [t.get_text() for t in right.get_legend().get_texts()][
        :2
    ] == ["a", "b"]
    plt.close("all")


def test_a_symlog_axis_gets_few_spread_ticks_and_says_what_it_is():
    fig, ax = plt.subplots()
    # negative: log turns into symlog
    plots.plot_loss([FALLING, NEGATIVE], ax, scale="log", labels=["a", "b"])
    assert ax.get_yscale() == "symlog"
    ticks = list(ax.get_yticks())
    assert len(ticks) <= plots.MAX_TICKS and 0.0 in ticks
    assert min(ticks) <= -1e6 and max(ticks) >= 1.0  # both signs spanned
    linthresh = ax.yaxis.get_transform().linthresh
    assert linthresh not in ticks and -linthresh not in ticks  # nothing crowds 0
    assert "symlog y axis" in ax.get_xlabel()
    plt.close("all")
    fig, ax = plt.subplots()
    plots.plot_loss(FALLING, ax, scale="log")
    assert ax.get_yscale() == "log" and "log y axis" in ax.get_xlabel()
    plt.close("all")


def test_a_log_axis_over_about_a_decade_labels_its_ticks_short_and_inside_the_figure():
    # train-loss-rises' panel: a loss from 0.7 to 0.02 got "5 x 10^-1"-style minor labels, cut off
    # at the panel figure's left edge
    from labkit.panels import _figure

    fig = _figure()
    ax = fig.axes[0]
    plots.plot_loss(run("a", [0.7 * 0.93**i for i in range(50)]), ax, scale="log", legend=False)
    fig.canvas.draw()
    labels = [t for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True) if t.get_text()]
    texts = {t.get_text() for t in labels}
    assert {"0.1", "0.2", "0.03"} <= texts and not any("times" in t or "^" in t for t in texts)
    inside = [ax.yaxis.get_tightbbox().x0 >= 0] + [t.get_window_extent().x0 >= 0 for t in labels]
    assert all(inside)
    plt.close("all")


def test_symlog_ticks_use_one_stride_for_both_signs():
    ticks = plots.symlog_ticks([1e5, -1e-2, 3.0], 1e-3)
    assert ticks[0] < 0 < ticks[-1] and len(ticks) <= plots.MAX_TICKS
    positive = [round(math.log10(t)) for t in ticks if t > 0]
    assert {b - a for a, b in zip(positive, positive[1:])} == {2}, ticks  # equally spaced decades
    assert [t for t in ticks if t < 0] == [-0.01]  # the small side keeps its one decade


def test_describe_figure_says_what_each_curve_does():
    fig = plots.compare(
        [FALLING, run("d", [0.5, 0.4, float("nan"), float("nan"), float("nan")], diverged_at=2)],
        ["steady", "blown"],
        title="Two runs",
    )
    text = plots.describe_figure(fig)
    assert text.startswith("Two runs.")
    assert (
        "steady training loss: starts at 1, lowest 0.25 at epoch 5, highest 1 at epoch 1, ends at "
        "0.25"
    ) in text
    assert "blown training loss" in text and "NaN/inf from epoch 3" in text
    assert "accuracy against epoch" in text
    plt.close("all")


def test_show_displays_the_image_with_its_text_alternative(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig = plots.compare([FALLING], ["a"])
    assert plots.show(fig, "The loss falls.") is None  # nothing echoed twice as a cell's last line
    image = shown[0]
    assert image.png[:8] == b"\x89PNG\r\n\x1a\n" and image.alt.startswith("The loss falls. ")
    page = image._repr_html_()
    assert 'alt="The loss falls. ' in page and "text version of this figure" in page
    # closed: the inline backend does not show it a second time
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plots.show("figure")


def test_reference_lines_are_described_as_lines_not_curves():
    fig, ax = plt.subplots()
    plots.plot_loss(FALLING, ax, labels=["a"])
    ax.axvline(3, label="jump (epoch 3)")
    ax.axhline(0.5, label="chance")
    text = plots.describe_figure(fig)
    assert (
        "jump (epoch 3): a vertical line at epoch 3" in text
        and "chance: a horizontal line at 0.5" in text
    )
    plt.close(fig)
