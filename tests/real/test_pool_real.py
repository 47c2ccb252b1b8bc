"""The pool and runner on the real demo models: budgets, LRU, pins, measured sizes, memory.

SmolLM2-135M (4-bit, ~94 MB) and MiniLM-L6 (fp32, ~87 MB) are loaded through the real
runner on its owner thread; MLX's own active-memory counter is the witness that a refused
load allocates nothing, that an eviction gives everything back, and that the prompt cache
the pool counts (and drops to make room) is the memory MLX really holds.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.core.errors import InsufficientMemoryError
from workbench.core.models.resolve import model_from_path
from workbench.core.pool.budget import Budget
from workbench.core.protocol import Event, LoadStarted, ModelEvicted, TokenEvent
from workbench.core.runner.client import RunnerClient
from workbench.core.types import ChatMessage, ModelInfo, ModelKind, SamplingSettings

pytestmark = pytest.mark.real

MB = 1024**2
TINY = 4096


@pytest.fixture(scope="module", autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Never the user's folders, from the module's first fixture on."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLXBENCH_HOME", str(tmp_path_factory.mktemp("warm-up-home")))
        yield


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def models(isolated: None, smollm2_dir: Path, minilm_dir: Path) -> tuple[ModelInfo, ModelInfo]:
    """Both models, after one warm-up load each.

    The first load in a process imports mlx-lm / mlx-embeddings, which keep a few tiny
    global arrays (a random key: 8 bytes; 1 KB more on the embeddings path) for the rest of
    the process. Warming up first keeps those out of the figures below. A few bytes still
    come and go with the libraries' random-key state, hence ``TINY`` in the memory checks
    (4 KB against models of ~90 MB).
    """
    smol, mini = model_from_path(smollm2_dir), model_from_path(minilm_dir)
    assert (smol.kind, mini.kind) == (ModelKind.TEXT, ModelKind.EMBEDDINGS)
    with start((smol, mini), Budget(1024 * MB, 4), Recorded()) as client:
        client.load(smol.id)
        client.chat(smol.id, [ChatMessage("user", "Hi")], sampling=SamplingSettings(max_tokens=1))
        client.embed(mini.id, ["warm"])
    return smol, mini


class Recorded:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def evicted(self) -> list[tuple[str, str]]:
        return [(e.model_id, e.reason) for e in self.events if isinstance(e, ModelEvicted)]


def start(
    models: tuple[ModelInfo, ModelInfo], budget: Budget, events: Recorded
) -> Iterator[RunnerClient]:
    client = RunnerClient(catalog=list(models), budget=budget, on_event=events)
    client.start()
    return client


def active() -> int:
    import mlx.core as mx

    return int(mx.get_active_memory())


def test_both_fit_then_eviction_returns_memory_to_baseline(models, home: Path) -> None:
    smol, mini = models
    events = Recorded()
    with start(models, Budget(1024 * MB, 4), events) as client:
        baseline = active()
        loaded_smol = client.load(smol.id)
        loaded_mini = client.load(mini.id)
        snapshot = client.snapshot()
        assert [e.model_id for e in snapshot.entries] == [smol.id, mini.id]
        both = loaded_smol.measured_bytes + loaded_mini.measured_bytes
        assert abs(active() - baseline - both) <= TINY
        assert snapshot.used_bytes == both
        for info, loaded in ((smol, loaded_smol), (mini, loaded_mini)):
            # measured from mx.get_active_memory() vs the safetensors-header estimate
            assert loaded.measured_bytes == pytest.approx(info.estimated_bytes, rel=0.03)
        print(f"\nSmolLM2 estimated {smol.estimated_bytes} measured {loaded_smol.measured_bytes}")
        print(f"MiniLM  estimated {mini.estimated_bytes} measured {loaded_mini.measured_bytes}")
        client.unload(smol.id)
        client.unload(mini.id)
        assert abs(active() - baseline) <= TINY
        print(f"after eviction: {active() - baseline:+d} bytes against the baseline")
        assert events.evicted() == [(smol.id, "unload"), (mini.id, "unload")]
    # remembered for next time: a new pool knows the measured sizes before loading
    with start(models, Budget(1024 * MB, 4), Recorded()) as client:
        size = client.runner.pool.size_of(mini.id)
        assert size.measured_bytes == loaded_mini.measured_bytes
        assert size.estimated_bytes == mini.estimated_bytes
        (plan,) = client.plan([mini.id])
        assert plan.need_bytes == loaded_mini.measured_bytes
        assert plan.estimated_seconds is not None
    assert (home / "data" / "sizes.json").is_file()


def test_budget_for_one_evicts_the_other_in_lru_order(models) -> None:
    smol, mini = models
    assert smol.estimated_bytes + mini.estimated_bytes > 150 * MB
    events = Recorded()
    with start(models, Budget(150 * MB, 4), events) as client:
        baseline = active()
        client.load(smol.id)
        loaded = client.load(mini.id)
        assert events.evicted() == [(smol.id, "lru")]
        assert [e.model_id for e in client.snapshot().entries] == [mini.id]
        assert abs(active() - baseline - loaded.measured_bytes) <= TINY
        result = client.embed(mini.id, ["a cat", "a kitten"])
        assert len(result.vectors[0]) == 384
        done = client.chat(smol.id, [ChatMessage("user", "Hi")],
                           sampling=SamplingSettings(max_tokens=3))  # fmt: skip
        assert done.stats.generation_tokens >= 1
        assert events.evicted() == [(smol.id, "lru"), (mini.id, "lru")]
        assert [e.model_id for e in client.snapshot().entries] == [smol.id]
        # a load right after a generation: the reply's leftovers must not be counted
        # (or discounted, if they are freed while the next model loads)
        again = client.load(mini.id)
        assert again.measured_bytes == pytest.approx(mini.estimated_bytes, rel=0.03)
        assert abs(active() - baseline - again.measured_bytes) <= TINY


def test_a_load_right_after_a_reply_measures_the_model_alone(models) -> None:
    """A reply leaves arrays in reference cycles (nothing is evicted here to collect them);
    Python's collector may free them in the middle of the next load, which must not make
    that model look smaller (MiniLM once measured 82.7 MB instead of 86.6)."""
    smol, mini = models
    story = [ChatMessage("user", "Tell me a short story about a cat.")]
    with start(models, Budget(1024 * MB, 4), Recorded()) as client:
        alone = client.load(mini.id).measured_bytes
        client.unload(mini.id)
        client.load(smol.id)
        for _ in range(3):
            client.chat(smol.id, story, sampling=SamplingSettings(temperature=0.0, max_tokens=40))
            after_reply = client.load(mini.id).measured_bytes
            print(f"\nMiniLM alone {alone}, right after a reply {after_reply}")
            assert abs(after_reply - alone) <= TINY
            client.unload(mini.id)


def test_pinned_model_blocks_the_other_and_nothing_is_allocated(models) -> None:
    smol, mini = models
    events = Recorded()
    with start(models, Budget(150 * MB, 4), events) as client:
        client.load(mini.id, pin=True)
        before_memory, before_pool = active(), client.snapshot()
        with pytest.raises(InsufficientMemoryError) as info:
            client.load(smol.id)
        message = str(info.value)
        print(f"\n{message}")
        assert message.startswith(f"cannot load {smol.name}: needs ")
        assert "of the 150.0 MB budget can be freed" in message
        assert f"pinned: {mini.name}" in message and "\n" not in message
        assert active() == before_memory  # exact: nothing ran in between
        assert client.snapshot() == before_pool
        assert not any(isinstance(e, LoadStarted) and e.model_id == smol.id for e in events.events)
        client.pin(mini.id, pinned=False)
        client.load(smol.id)
        assert events.evicted() == [(mini.id, "lru")]


def settled_active() -> int:
    """Active memory once a finished reply's garbage is collected (the runner is idle).

    A reply leaves arrays in reference cycles (about 8 MB for a 40-token SmolLM2 turn)
    until the next collection; Python's cycle collector may run on any thread anyway.
    """
    gc.collect()
    return active()


def test_a_chats_cache_is_counted_and_dropped_to_make_room_before_any_eviction(models) -> None:
    smol, mini = models
    events = Recorded()
    with start(models, Budget(1024 * MB, 4), events) as client:
        baseline = settled_active()
        client.load(smol.id)
        question = [ChatMessage("user", "Tell me a short story about a cat.")]
        greedy = SamplingSettings(temperature=0.0, max_tokens=40)
        client.chat(smol.id, question, sampling=greedy, session_id="cats")  # keeps a cache
        (entry,) = client.snapshot().entries
        with client.runner.pool.acquire(smol.id, load=False) as engine:
            kept = engine.prompt_cache_bytes()
        assert entry.cache_bytes == kept > 0
        assert client.snapshot().used_bytes == entry.bytes + kept
        held = settled_active() - baseline
        print(f"\nSmolLM2 weights {entry.bytes}, cache {kept}, MLX holds {held} above baseline")
        assert abs(held - entry.bytes - kept) <= TINY  # the cache the pool counts is real

        (plan,) = client.plan([mini.id])
        budget = entry.bytes + plan.need_bytes + kept // 2  # MiniLM fits without the cache only
        client.set_budget(Budget(budget, 4))
        (plan,) = client.plan([mini.id])
        assert (plan.fits, plan.evict, plan.drop_caches) == (True, (), (smol.id,))
        before = settled_active()
        loaded = client.load(mini.id)
        after = active()
        snapshot = client.snapshot()
        assert events.evicted() == []
        assert [e.model_id for e in snapshot.entries] == [smol.id, mini.id]
        assert snapshot.cache_bytes == 0  # SmolLM2 stays loaded, without its cache
        assert snapshot.used_bytes == entry.bytes + loaded.measured_bytes <= budget
        fell = before + loaded.measured_bytes - after
        print(f"budget {budget}: MiniLM {loaded.measured_bytes} loaded; memory fell by {fell}")
        assert abs(fell - kept) <= TINY
        assert abs(after - baseline - entry.bytes - loaded.measured_bytes) <= TINY
        # the conversation goes on (its prompt recomputed); its new cache no longer fits
        # beside MiniLM, and the model just chatted with keeps it: MiniLM (LRU) goes
        sampling = SamplingSettings(temperature=0.0, max_tokens=4)
        done = client.chat(smol.id, question, sampling=sampling, session_id="cats")
        assert done.stats.cached_prompt_tokens == 0 and done.stats.generation_tokens >= 1
        client.load(smol.id)  # queued behind the turn's rebalance
        assert events.evicted() == [(mini.id, "budget")]
        (entry,) = client.snapshot().entries
        assert entry.cache_bytes > 0 and client.snapshot().over_budget is None


def test_a_vision_models_cache_counts_too_and_a_smaller_budget_drops_it(tiny_vlm_dir) -> None:
    vlm = model_from_path(tiny_vlm_dir)
    assert vlm.kind is ModelKind.VISION
    events = Recorded()
    hello = [ChatMessage("user", "Hello there, tiny model.")]
    greedy = SamplingSettings(temperature=0.0, max_tokens=6)
    with start((vlm,), Budget(1024 * MB, 4), events) as client:
        client.chat(vlm.id, hello, sampling=greedy)  # warm-up: no session, no cache kept
        baseline = settled_active()
        client.chat(vlm.id, hello, sampling=greedy, session_id="tiny")
        (entry,) = client.snapshot().entries
        with client.runner.pool.acquire(vlm.id, load=False) as engine:
            kept = engine.prompt_cache_bytes()
        assert entry.cache_bytes == kept > 0
        assert abs(settled_active() - baseline - kept) <= TINY
        print(f"\ntiny LLaVA: weights {entry.bytes}, cache {kept}")
        client.set_budget(Budget(entry.bytes + kept // 2, 4))
        (entry,) = client.snapshot().entries  # still loaded, cache gone
        assert entry.cache_bytes == 0 and events.evicted() == []
        assert abs(active() - baseline) <= TINY


def test_a_reply_whose_cache_could_outgrow_the_budget_is_refused_before_generating(
    models,
) -> None:
    """SmolLM2: 30 layers × 2 × 3 kv heads × 64 head dim × 4 bytes (fp32 keys)."""
    smol, _mini = models
    events = Recorded()
    question = [ChatMessage("user", "Tell me a short story about a cat.")]
    with start(models, Budget(1024 * MB, 4), events) as client:
        client.load(smol.id)
        with client.runner.pool.acquire(smol.id, load=False) as engine:
            per_token = engine.kv_bytes_per_token()
        assert per_token == 46080
        (entry,) = client.snapshot().entries
        budget = entry.bytes + 20 * MB  # room for 455 tokens of cache
        client.set_budget(Budget(budget, 4))
        before_memory, before_pool = settled_active(), client.snapshot()
        long = SamplingSettings(temperature=0.0, max_tokens=2000)
        with pytest.raises(InsufficientMemoryError) as info:
            client.chat(smol.id, question, sampling=long, session_id="cats")
        message = str(info.value)
        print(f"\nweights {entry.bytes}, budget {budget}: {message}")
        assert message.startswith("this reply could need 90.0 MB of prompt cache but only 20.0")
        assert message.endswith("lower max tokens or free memory") and "\n" not in message
        assert not any(isinstance(e, TokenEvent) for e in events.events)
        assert abs(active() - before_memory) <= TINY  # nothing was generated
        assert [(e.model_id, e.cache_bytes) for e in client.snapshot().entries] == [
            (e.model_id, e.cache_bytes) for e in before_pool.entries
        ]
        short = SamplingSettings(temperature=0.0, max_tokens=40)
        done = client.chat(smol.id, question, sampling=short, session_id="cats")
        assert done.stats.generation_tokens >= 1 and events.evicted() == []
        (entry,) = client.snapshot().entries
        print(f"a {done.stats.prompt_tokens}+{done.stats.generation_tokens}-token turn")
        assert entry.cache_bytes == 256 * 46080  # one allocation block: as estimated
