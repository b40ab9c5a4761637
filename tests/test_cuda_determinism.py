"""Same seed on CUDA, same History: checked here without a GPU.

A CUDA run can only differ from a rerun with the same seed where a kernel is nondeterministic
(atomic adds whose order changes). ``Case.run`` turns on cuDNN's deterministic convolutions and
``torch.use_deterministic_algorithms``; what remains is to make sure no case runs an op that PyTorch
lists as nondeterministic on CUDA. These tests record every ATen op each case runs (forward,
backward, optimizer, metrics) on the CPU and compare them with that list, taken
from the docstring of ``torch.use_deterministic_algorithms`` (torch 2.13). The run on a real GPU is
tests/test_core.py::test_same_seed_on_cuda_agrees_within_tolerance.
"""

import collections
import os

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from labkit import cases
from labkit.runlock import deterministic

# ATen ops with no deterministic CUDA kernel (use_deterministic_algorithms raises or warns for
# them).
NO_DETERMINISTIC_CUDA_KERNEL = {
    "avg_pool3d_backward",
    "_adaptive_avg_pool2d_backward",
    "_adaptive_avg_pool3d_backward",
    "adaptive_max_pool2d_backward",
    "fractional_max_pool2d_backward",
    "fractional_max_pool3d_backward",
    "max_unpool2d",
    "max_unpool3d",
    "upsample_linear1d_backward",
    "upsample_bilinear2d_backward",
    "upsample_bicubic2d_backward",
    "upsample_trilinear3d_backward",
    "_upsample_bilinear2d_aa_backward",
    "_upsample_bicubic2d_aa_backward",
    "reflection_pad1d_backward",
    "reflection_pad2d_backward",
    "reflection_pad3d_backward",
    "_ctc_loss_backward",
    "_embedding_bag_backward",
    "_embedding_bag_dense_backward",
    "put_",
    "put",
    "histc",
    "grid_sampler_2d_backward",
    "grid_sampler_3d_backward",
    "median",
    "nanmedian",
}
# Nondeterministic on CUDA unless use_deterministic_algorithms is on (labkit turns it on, but a
# learner's own code calling a case's model might not): none of these should be needed either.
DETERMINISTIC_ONLY_IN_DETERMINISTIC_MODE = {
    "replication_pad1d_backward",
    "replication_pad2d_backward",
    "replication_pad3d_backward",
    "scatter_add",
    "scatter_add_",
    "scatter_reduce",
    "scatter_reduce_",
    "index_add",
    "index_add_",
    "index_copy",
    "index_copy_",
    "index_put",
    "index_put_",
    "_index_put_impl_",
    "index_select_backward",
    "gather_backward",
    "max_pool3d_with_indices_backward",
    "embedding_dense_backward",
}


def _why_nondeterministic(name: str, args: tuple, kwargs: dict) -> str | None:
    """Return why op ``name`` called with ``args`` is nondeterministic on CUDA, or None."""
    if name in NO_DETERMINISTIC_CUDA_KERNEL:
        return "no deterministic CUDA kernel"
    if name in DETERMINISTIC_ONLY_IN_DETERMINISTIC_MODE:
        return "nondeterministic on CUDA outside deterministic mode"
    if name in ("cumsum", "cumsum_") and args[0].is_floating_point():
        return "floating-point cumsum has no deterministic CUDA kernel"
    if name == "bincount" and (
        len(args) > 1 and args[1] is not None or kwargs.get("weights") is not None
    ):
        return "bincount with weights has no deterministic CUDA kernel"
    if (
        name in ("nll_loss2d_forward",)
        and (args[3] if len(args) > 3 else kwargs.get("reduction", 1)) != 0
    ):
        return "reduced nll_loss2d has no deterministic CUDA kernel"
    if name in ("scatter", "scatter_") and len(args) > 3 and isinstance(args[3], torch.Tensor):
        return "scatter with a tensor src is nondeterministic on CUDA"
    return None


class OpRecorder(TorchDispatchMode):
    """Record every ATen op that reaches the dispatcher, and those nondeterministic on CUDA."""

    def __init__(self):
        super().__init__()
        self.ops = collections.Counter()
        self.nondeterministic = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        self.ops[name] += 1
        why = _why_nondeterministic(name, args, kwargs)
        if why is not None:
            self.nondeterministic[name] = why
        return func(*args, **kwargs)


def test_the_recorder_catches_nondeterministic_ops():
    """The audit below can fail: a model with adaptive pooling to 2x2 and an index_add is caught."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(2), nn.Flatten())
    x = torch.randn(4, 1, 8, 8)
    with OpRecorder() as rec:
        out = model(x)
        out = out.index_add(0, torch.tensor([0, 0]), out[:2])
        out.sum().backward()
    assert set(rec.nondeterministic) == {"_adaptive_avg_pool2d_backward", "index_add"}
    assert rec.ops["convolution_backward"] == 1


def _runs():
    for name in cases.names():
        case = cases.get(name)
        yield pytest.param(name, {}, id=f"{name}-failure")
        for fix, knobs in case.fixes.items():
            yield pytest.param(name, knobs, id=f"{name}-{fix}")


@pytest.mark.parametrize("name, knobs", list(_runs()))
def test_no_case_runs_an_op_that_is_nondeterministic_on_cuda(name, knobs):
    with OpRecorder() as rec:
        history = cases.get(name).run(seed=3, device="cpu", **{"epochs": 2, **knobs})
    assert len(history.train_loss) >= 1
    assert rec.ops["convolution_backward"] + rec.ops["mm"] > 0, "the recorder saw no training"
    assert rec.nondeterministic == {}


def test_a_cuda_run_turns_on_deterministic_kernels_and_restores_the_callers_settings(monkeypatch):
    """Only flags are set on entry, so this runs without a GPU."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    assert before[0] is False
    torch.backends.cudnn.benchmark = True
    try:
        with deterministic(torch.device("cuda")):
            assert torch.are_deterministic_algorithms_enabled()
            # warn, never stop a learner's run
            assert torch.is_deterministic_algorithms_warn_only_enabled()
            assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
            assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert not torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark and torch.backends.cudnn.deterministic == before[2]
        with deterministic(torch.device("cpu")):
            assert torch.are_deterministic_algorithms_enabled()
            # on the CPU every op has one
            assert not torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.backends.cudnn.benchmark = before[3]
    assert not torch.are_deterministic_algorithms_enabled()


def test_a_users_cublas_setting_is_kept(monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    with deterministic(torch.device("cuda")):
        pass
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
