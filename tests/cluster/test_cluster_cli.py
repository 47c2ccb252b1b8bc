"""`mlxbench chat … --cluster local2` and `mlxbench pool plan … --cluster local2`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rank_processes import group_processes, rank_pids

from workbench.cli import main

pytestmark = pytest.mark.real

PROMPT = "Tell me a story about a dragon"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
        patch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
        patch.setenv("LMSTUDIO_MODELS_DIR", str(tmp_path / "lmstudio"))
        yield tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_pool_plan_names_each_host_and_its_share(capsys, tiny_llama_dir: Path) -> None:
    status, out, _ = run(capsys, "pool", "plan", str(tiny_llama_dir), "--cluster", "local2")
    assert status == 0
    lines = out.splitlines()
    assert lines[1] == "1. tiny-llama-tp @ local2: fits"
    assert lines[3].strip().startswith("cluster local2: 2 ranks, ring backend, tensor parallel;")
    assert lines[4].strip().startswith("rank 0  127.0.0.1 (this machine): 12.1 MB of ")
    assert lines[5].strip().startswith("rank 1  127.0.0.1 (this machine): 12.1 MB of ")
    status, out, _ = run(
        capsys, "pool", "plan", str(tiny_llama_dir), "--cluster", "local2", "--json"
    )
    plan = json.loads(out)["plans"][0]
    ranks = plan["cluster"]["ranks"]
    assert [(r["rank"], r["host"], r["this_machine"]) for r in ranks] == [
        (0, "127.0.0.1", True),
        (1, "127.0.0.1", True),
    ]
    assert plan["need_bytes"] == sum(r["share_bytes"] for r in ranks)


def test_pool_plan_refuses_smollm2_over_two_ranks_with_the_reason(
    capsys, smollm2_dir: Path
) -> None:
    status, out, err = run(capsys, "pool", "plan", str(smollm2_dir), "--cluster", "local2")
    assert status != 0 and out == ""
    assert "9 attention heads cannot be split over 2 ranks" in err
    assert len(err.strip().splitlines()) == 1


def test_chat_on_the_cluster_prints_the_same_reply_as_without(
    capsys, tiny_llama_dir: Path, no_leftovers: None
) -> None:
    flags = ("--temperature", "0", "--max-tokens", "30")
    status, alone, _ = run(capsys, "chat", str(tiny_llama_dir), PROMPT, *flags)
    assert status == 0 and alone.strip()
    status, together, err = run(
        capsys, "chat", str(tiny_llama_dir), PROMPT, *flags, "--cluster", "local2"
    )
    assert status == 0
    assert together == alone
    assert "reply 30 tokens" in err and "finish: length" in err
    assert group_processes(tiny_llama_dir) == []


def test_ranks_exit_when_the_pool_process_itself_is_killed(
    tiny_llama_dir: Path, isolated: Path, no_leftovers: None
) -> None:
    """No orphans even without a teardown: rank 0 sees its connection close and every rank
    follows it out (``mlx.launch`` then exits too)."""
    code = "import sys; from workbench.cli import main; sys.exit(main())"
    argv = ["chat", str(tiny_llama_dir), PROMPT, "--cluster", "local2", "--max-tokens", "5000"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    chat = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, env=env)
    try:
        assert chat.stdout is not None and chat.stdout.read(1)  # the reply has started
        assert len(rank_pids(tiny_llama_dir)) == 2
        chat.kill()
        chat.wait()
        deadline = time.monotonic() + 30
        while group_processes(tiny_llama_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert group_processes(tiny_llama_dir) == []
    finally:
        chat.kill()
        chat.wait()
