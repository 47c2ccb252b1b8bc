"""The budget comes from the device the models live on, and never exceeds its memory."""

from __future__ import annotations

import pytest

from workbench.commands.common import describe_budget
from workbench.core.pool.budget import make_budget
from workbench.core.pool.device import DeviceMemory, from_device_info

GB = 1024**3
RAM = 126 * GB
H200_INFO = {
    "total_memory": 150_754_820_096, "free_memory": 149_557_477_376,
    "architecture": "sm_90", "device_name": "NVIDIA H200",
}  # fmt: skip
METAL_INFO = {
    "memory_size": 128 * GB, "max_recommended_working_set_size": 107 * GB,
    "architecture": "applegpu_g16s", "device_name": "Apple M4 Max",
}  # fmt: skip
CPU_INFO = {"architecture": "x86_64", "device_name": "Intel(R) Xeon(R) Processor"}


def test_cuda_budget_is_a_share_of_gpu_memory_not_ram() -> None:
    device = from_device_info(H200_INFO, RAM)
    assert device == DeviceMemory(150_754_820_096, "gpu", "NVIDIA H200")
    budget = make_budget("60%", 4, device)
    assert budget.memory_limit_bytes == int(150_754_820_096 * 0.6)
    assert budget.device == "GPU memory (NVIDIA H200)"
    assert "GPU memory (NVIDIA H200)" in describe_budget(budget)


def test_metal_budget_is_a_share_of_the_recommended_working_set() -> None:
    device = from_device_info(METAL_INFO, 128 * GB)
    assert (device.total_bytes, device.kind) == (107 * GB, "metal")
    assert make_budget("50%", 2, device).memory_limit_bytes == int(107 * GB * 0.5)


def test_cpu_budget_is_a_share_of_ram() -> None:
    device = from_device_info(CPU_INFO, RAM)
    assert device == DeviceMemory(RAM, "ram")
    assert make_budget("25%", 2, device).memory_limit_bytes == RAM // 4
    assert describe_budget(make_budget("25%", 2, device)).startswith("31.50 GB of RAM")


def test_a_limit_beyond_the_device_is_capped_with_a_warning() -> None:
    device = DeviceMemory(80 * GB, "gpu", "NVIDIA H100")
    budget = make_budget("500GB", 4, device)
    assert budget.memory_limit_bytes == 80 * GB
    assert "500.00 GB" in budget.warning and "80.00 GB" in budget.warning
    assert "NVIDIA H100" in budget.warning and "\n" not in budget.warning


@pytest.mark.parametrize("limit", ["80GB", "100%", "12GB"])
def test_limits_within_the_device_are_kept_as_given(limit: str) -> None:
    budget = make_budget(limit, 4, DeviceMemory(80 * GB, "gpu", "NVIDIA H100"))
    assert budget.warning == ""
    assert budget.memory_limit_bytes <= 80 * GB
