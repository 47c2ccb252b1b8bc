"""Run ``mlxbench`` with every generated token time-stamped and the UI thread's work counted.

    python3 probe.py OUT.json -- bench --json --only decode,tui ...

Why: on the H200 a decode ratio of a few rounds moves more from one reply to the next than
anything the app costs. The time stamps show each reply's median step (the machine's pace
for that reply) apart from the stalls above it; the counts show what the UI thread did per
chat reply. Writes OUT.json at exit: ``replies`` (thread name, start, a time per token)
and ``ui`` (per chat reply: UI-thread CPU, wall time, layouts, paints and their CPU).
"""

import atexit
import importlib
import json
import sys
import threading
import time

OUT, ARGS = sys.argv[1], sys.argv[3:]
replies: list[dict] = []
ui_replies: list[dict] = []
lock = threading.Lock()
generate = importlib.import_module("mlx_lm.generate")
original_step = generate.generate_step


def generate_step(*args, **kwargs):
    times: list[float] = []
    reply = {"thread": threading.current_thread().name, "start": time.perf_counter(), "t": times}
    with lock:
        replies.append(reply)
    for item in original_step(*args, **kwargs):
        times.append(time.perf_counter())
        yield item


generate.generate_step = generate_step

from textual.screen import Screen  # noqa: E402

from workbench.tui.chat.pane import ChatPane  # noqa: E402

ui = {"layout": [0, 0.0], "paint": [0, 0.0]}  # calls, UI-thread CPU seconds


def counted(name: str, key: str) -> None:
    original = getattr(Screen, name)

    def wrapper(self, *args, **kwargs):
        started = time.thread_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            ui[key][0] += 1
            ui[key][1] += time.thread_time() - started

    setattr(Screen, name, wrapper)


counted("_refresh_layout", "layout")
counted("_compositor_refresh", "paint")  # also inside a layout: counted in both
original_begin, original_finish = ChatPane.begin_reply, ChatPane.finish_reply
mark: dict = {}


async def begin_reply(self, *args, **kwargs):
    mark.update(cpu=time.thread_time(), wall=time.perf_counter(), ui=json.loads(json.dumps(ui)))
    return await original_begin(self, *args, **kwargs)


async def finish_reply(self, *args, **kwargs):
    if mark:
        was = mark["ui"]
        ui_replies.append({
            "cpu": time.thread_time() - mark["cpu"], "wall": time.perf_counter() - mark["wall"],
            "layouts": ui["layout"][0] - was["layout"][0],
            "layout_cpu": ui["layout"][1] - was["layout"][1],
            "paints": ui["paint"][0] - was["paint"][0],
            "paint_cpu": ui["paint"][1] - was["paint"][1],
        })  # fmt: skip
    return await original_finish(self, *args, **kwargs)


ChatPane.begin_reply, ChatPane.finish_reply = begin_reply, finish_reply


@atexit.register
def dump() -> None:
    with open(OUT, "w") as file:
        json.dump({"replies": replies, "ui": ui_replies}, file)


from workbench.cli import main  # noqa: E402

sys.exit(main(ARGS))
